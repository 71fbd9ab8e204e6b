#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Validation handshakes as fast as PROCS processes can make them, for
DURATION seconds: TLS 1.3, ALPN acme-tls/1 only, SNI rotating over NAMES.
Each process makes one handshake at a time: PROCS is the number of
concurrent clients.  Prints {"handshakes": N, "failures": N, "seconds": S,
"p50_ms": X, "p99_ms": Y}: the latency of a handshake as its client sees
it, from before connect() to the handshake's end (successful ones only).
Test networks only.

  bench_handshakes.py HOST DURATION PROCS NAME...
"""
import json, multiprocessing as mp, socket, ssl, sys, time


def worker(host, start, end, names, q):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(['acme-tls/1'])
    ok = bad = i = 0
    lat = []
    # All start together: a process that is slow to start must not make
    # the first second a run of fewer clients.
    time.sleep(max(0.0, start - time.time()))
    while time.time() < end:
        name = names[i % len(names)]
        i += 1
        t0 = time.perf_counter()
        try:
            with socket.create_connection((host, 443), timeout=5) as s:
                with ctx.wrap_socket(s, server_hostname=name) as t:
                    if t.selected_alpn_protocol() == 'acme-tls/1':
                        ok += 1
                        lat.append(time.perf_counter() - t0)
                    else:
                        bad += 1
        except OSError:
            bad += 1
    q.put((ok, bad, lat))


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return round(1000 * xs[min(len(xs) - 1, int(p / 100 * len(xs)))], 3)


def main():
    host, dur, procs, names = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
    if not (host.startswith('198.18.') or host.startswith('fd')):
        sys.exit('refusing ' + host)
    q = mp.Queue()
    # Room for the processes to start (32 of them take a while here).
    start = time.time() + 0.2 + 0.02 * procs
    ps = [mp.Process(target=worker, args=(host, start, start + dur, names, q)) for _ in range(procs)]
    for p in ps:
        p.start()
    res = [q.get() for _ in ps]
    for p in ps:
        p.join()
    lat = [x for r in res for x in r[2]]
    print(json.dumps({'handshakes': sum(r[0] for r in res),
                      'failures': sum(r[1] for r in res),
                      'seconds': round(max(time.time(), start + dur) - start, 2),
                      'p50_ms': pct(lat, 50), 'p99_ms': pct(lat, 99)}))


if __name__ == '__main__':
    main()
