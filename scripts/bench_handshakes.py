#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Validation handshakes as fast as PROCS processes can make them, for
DURATION seconds: TLS 1.3, ALPN acme-tls/1 only, SNI rotating over NAMES.
Prints {"handshakes": N, "failures": N, "seconds": S}.  Test networks only.

  bench_handshakes.py HOST DURATION PROCS NAME...
"""
import json, multiprocessing as mp, socket, ssl, sys, time


def worker(host, end, names, q):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(['acme-tls/1'])
    ok = bad = i = 0
    while time.time() < end:
        name = names[i % len(names)]
        i += 1
        try:
            with socket.create_connection((host, 443), timeout=5) as s:
                with ctx.wrap_socket(s, server_hostname=name) as t:
                    if t.selected_alpn_protocol() == 'acme-tls/1':
                        ok += 1
                    else:
                        bad += 1
        except OSError:
            bad += 1
    q.put((ok, bad))


def main():
    host, dur, procs, names = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
    if not (host.startswith('198.18.') or host.startswith('fd')):
        sys.exit('refusing ' + host)
    q = mp.Queue()
    t0 = time.time()
    ps = [mp.Process(target=worker, args=(host, t0 + dur, names, q)) for _ in range(procs)]
    for p in ps:
        p.start()
    res = [q.get() for _ in ps]
    for p in ps:
        p.join()
    print(json.dumps({'handshakes': sum(r[0] for r in res),
                      'failures': sum(r[1] for r in res),
                      'seconds': round(time.time() - t0, 2)}))


if __name__ == '__main__':
    main()
