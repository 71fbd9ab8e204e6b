#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Hostile clients for the hardening selftest (test networks only).

  abuse.py hold HOST NAME SECONDS [--source ADDR] [--done]
      An acme-tls/1 hello for NAME, then silence for SECONDS (--done: the
      whole validation handshake first, then silence, still connected).
      Prints one line once the hello (or handshake) is out.
  abuse.py hello HOST SNI_HEX ALPN[,ALPN...] [--alpn-twice]
      A hand-made ClientHello: SNI from hex bytes (any bytes at all),
      ALPN extension(s) as given (--alpn-twice: the list is split in two
      ALPN extensions, the first name in the first).  Prints
      {"reply": HEX of the first bytes answered, "eof": bool}.
  abuse.py burst HOST N SOURCES NAME...
      N validation handshakes at the same instant (threads behind a
      barrier), from the comma-separated local SOURCES in turn, SNI over
      NAMES.  Prints {"ok": N, "failed": N}; ok means acme-tls/1 agreed
      and a certificate with the acmeIdentifier extension shown.
  abuse.py ctl-idle PATH SECONDS
      Connects to the control socket and says nothing for SECONDS.
"""
import json, os, socket, ssl, struct, sys, time


def test_net(host):
    if not (host.startswith('198.18.') or host.startswith('198.19.') or
            host.startswith('fd') or host.startswith('127.')):
        sys.exit('refusing ' + host)


def connect(host, source=None, timeout=10):
    test_net(host)
    fam = socket.AF_INET6 if ':' in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if source:
        s.bind((source, 0))
    s.connect((host, 443))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def hold(args):
    host, name, seconds = args[0], args[1], float(args[2])
    source = args[args.index('--source') + 1] if '--source' in args else None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(['acme-tls/1'])
    sock = connect(host, source)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=name)
    res = {'holding': True, 'done': False}
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    sock.sendall(out.read())
    if '--done' in args:
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                inc.write(data)
                try:
                    obj.do_handshake()
                    sock.sendall(out.read())
                    res['done'] = obj.selected_alpn_protocol() == 'acme-tls/1'
                    break
                except ssl.SSLWantReadError:
                    sock.sendall(out.read())
        except (OSError, ssl.SSLError) as e:
            res['error'] = str(e)[:80]
    print(json.dumps(res), flush=True)
    time.sleep(seconds)
    sock.close()


def ext(t, body):
    return struct.pack('!HH', t, len(body)) + body


def alpn_ext(names):
    lst = b''.join(bytes([len(n)]) + n.encode() for n in names)
    return ext(16, struct.pack('!H', len(lst)) + lst)


def hello(args):
    host, sni, alpns = args[0], bytes.fromhex(args[1]), args[2].split(',')
    sni_list = b'\x00' + struct.pack('!H', len(sni)) + sni
    exts = ext(0, struct.pack('!H', len(sni_list)) + sni_list)
    if '--alpn-twice' in args:
        exts += alpn_ext(alpns[:1]) + alpn_ext(alpns[1:])
    else:
        exts += alpn_ext(alpns)
    # supported_versions (TLS 1.2 only), groups, signature algorithms
    exts += ext(43, b'\x02\x03\x03') + ext(10, b'\x00\x02\x00\x17')
    exts += ext(13, b'\x00\x04\x04\x03\x08\x04')
    body = (b'\x03\x03' + os.urandom(32) + b'\x00' +
            b'\x00\x04\xc0\x2b\xc0\x2f' + b'\x01\x00' +
            struct.pack('!H', len(exts)) + exts)
    hs = b'\x01' + struct.pack('!I', len(body))[1:] + body
    rec = b'\x16\x03\x01' + struct.pack('!H', len(hs)) + hs
    s = connect(host, timeout=5)
    s.sendall(rec)
    reply, eof = b'', False
    try:
        while len(reply) < 64:
            b = s.recv(64 - len(reply))
            if not b:
                eof = True
                break
            reply += b
    except socket.timeout:
        pass
    s.close()
    print(json.dumps({'reply': reply.hex(), 'eof': eof}))


def burst(args):
    import threading
    host, n, sources, names = args[0], int(args[1]), args[2].split(','), args[3:]
    barrier = threading.Barrier(n)
    res = []

    def one(i):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(['acme-tls/1'])
        ok = False
        try:
            barrier.wait(30)
            s = connect(host, sources[i % len(sources)], timeout=15)
            with ctx.wrap_socket(s, server_hostname=names[i % len(names)]) as t:
                der = t.getpeercert(binary_form=True) or b''
                # id-pe-acmeIdentifier, 1.3.6.1.5.5.7.1.31, in DER
                ok = (t.selected_alpn_protocol() == 'acme-tls/1' and
                      bytes.fromhex('2b0601050507011f') in der)
        except (OSError, ssl.SSLError, threading.BrokenBarrierError):
            pass
        res.append(ok)

    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(json.dumps({'ok': sum(res), 'failed': len(res) - sum(res)}))


def ctl_idle(args):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(args[0])
    print(json.dumps({'idle': True}), flush=True)
    end = time.time() + float(args[1])
    s.settimeout(0.2)
    closed = False
    while time.time() < end:
        try:
            if s.recv(1) == b'':
                closed = True
                break
        except socket.timeout:
            pass
    print(json.dumps({'closed_by_daemon': closed}), flush=True)
    s.close()


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    {'hold': hold, 'hello': hello, 'burst': burst, 'ctl-idle': ctl_idle}[cmd](args)


if __name__ == '__main__':
    main()
