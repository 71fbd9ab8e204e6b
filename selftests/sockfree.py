#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Count slot sockets destroyed with sk_forward_alloc != 0 (root).

  sockfree.py OBJ NETNS_PATH

Loads OBJ (sockfree.bpf.c, compiled) with libbpf, filters on the network
namespace at NETNS_PATH, prints "ready" and counts until stdin closes; then
prints one JSON line: freed, nonzero, last.
"""
import ctypes, json, os, struct, sys

lib = ctypes.CDLL('libbpf.so.1', use_errno=True)
for f, res in (('bpf_object__open_file', ctypes.c_void_p),
               ('bpf_object__load', ctypes.c_int),
               ('bpf_object__next_map', ctypes.c_void_p),
               ('bpf_object__next_program', ctypes.c_void_p),
               ('bpf_map__name', ctypes.c_char_p),
               ('bpf_map__fd', ctypes.c_int),
               ('bpf_program__attach', ctypes.c_void_p),
               ('bpf_map_update_elem', ctypes.c_int),
               ('bpf_map_lookup_elem', ctypes.c_int),
               ('libbpf_get_error', ctypes.c_long)):
    getattr(lib, f).restype = res
for f in ('bpf_object__load', 'bpf_object__next_map', 'bpf_object__next_program',
          'bpf_map__name', 'bpf_map__fd', 'bpf_program__attach'):
    getattr(lib, f).argtypes = [ctypes.c_void_p] * (
        2 if f.startswith('bpf_object__next') else 1)
lib.bpf_object__open_file.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
lib.bpf_map_update_elem.argtypes = [ctypes.c_int, ctypes.c_void_p,
                                    ctypes.c_void_p, ctypes.c_ulonglong]
lib.bpf_map_lookup_elem.argtypes = [ctypes.c_int, ctypes.c_void_p,
                                    ctypes.c_void_p]
FMT = '=IIQQq'


def main():
    obj = lib.bpf_object__open_file(sys.argv[1].encode(), None)
    if not obj or lib.bpf_object__load(obj):
        sys.exit('sockfree: cannot load %s: %s' % (
            sys.argv[1], os.strerror(ctypes.get_errno())))
    m, bss = None, -1
    while True:
        m = lib.bpf_object__next_map(obj, m)
        if not m:
            break
        if lib.bpf_map__name(m).endswith(b'.bss'):
            bss = lib.bpf_map__fd(m)
    ino = os.stat(sys.argv[2]).st_ino
    key = ctypes.c_uint32(0)
    buf = ctypes.create_string_buffer(struct.pack(FMT, ino, 0, 0, 0, 0))
    if bss < 0 or lib.bpf_map_update_elem(bss, ctypes.byref(key), buf, 0):
        sys.exit('sockfree: cannot set the namespace')
    prog = lib.bpf_object__next_program(obj, None)
    link = lib.bpf_program__attach(prog)
    if not link or lib.libbpf_get_error(ctypes.c_void_p(link)):
        sys.exit('sockfree: cannot attach: %s' % os.strerror(ctypes.get_errno()))
    print('ready', flush=True)
    sys.stdin.read()
    lib.bpf_map_lookup_elem(bss, ctypes.byref(key), buf)
    _, _, freed, nonzero, last = struct.unpack(FMT, buf.raw[:struct.calcsize(FMT)])
    print(json.dumps({'freed': freed, 'nonzero': nonzero, 'last': last}),
          flush=True)


if __name__ == '__main__':
    main()
