#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""acme-tls/1 validations whose hello ends one byte per TCP segment
(client netns).

  trickle.py HOST NAME SECONDS [--threads T]

Each connection sends its ClientHello up to the end of the ALPN extension
at once (so that the verdict steers it) and the rest one byte per segment,
then completes the handshake: every byte after the first skb is one more
skb the kernel hands to the responder's slot while the worker reads it.
Prints one JSON line: connections, validated.
"""
import json, socket, ssl, sys, threading, time

RES = {'connections': 0, 'validated': 0}
LOCK = threading.Lock()


def one(host, name):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(['acme-tls/1'])
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=name)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    cut = hello.find(b'acme-tls/1') + len(b'acme-tls/1')
    s = socket.create_connection((host, 443), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    ok = False
    try:
        s.sendall(hello[:cut])
        for i in range(cut, len(hello)):
            s.send(hello[i:i + 1])
            time.sleep(0.0005)
        while True:
            data = s.recv(65536)
            if not data:
                break
            inc.write(data)
            try:
                obj.do_handshake()
                s.sendall(out.read())
                ok = obj.selected_alpn_protocol() == 'acme-tls/1'
                break
            except ssl.SSLWantReadError:
                s.sendall(out.read())
    except (OSError, ssl.SSLError):
        pass
    s.close()
    return ok


def run(host, name, until):
    n = v = 0
    while time.monotonic() < until:
        n += 1
        v += one(host, name)
    with LOCK:
        RES['connections'] += n
        RES['validated'] += v


def main():
    host, name, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
    if not (host.startswith('198.18.') or host.startswith('fd')):
        sys.exit('trickle: refusing host ' + host)
    t = int(sys.argv[sys.argv.index('--threads') + 1]) if '--threads' in sys.argv else 8
    until = time.monotonic() + secs
    ts = [threading.Thread(target=run, args=(host, name, until)) for _ in range(t)]
    for x in ts:
        x.start()
    for x in ts:
        x.join()
    print(json.dumps(RES), flush=True)


if __name__ == '__main__':
    main()
