#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A burst of validations, the way a CA validates a many-name order from
several perspectives at once: every NAME dialed once from every SOURCE
address (IPv4 and IPv6 mixed), all the dials started within SPREAD_MS of
one instant.  Each dial is checked as a CA does (selftests/validator.py's
dial(): acme-tls/1, the SAN, the acmeIdentifier of key authorization
PREFIX + NAME).  Test networks only.

  bench_burst.py HOST4 HOST6 PREFIX SPREAD_MS SOURCES NAME...
     (SOURCES: comma-separated source addresses)

Prints {"dials": N, "answered": N, "failed": N, "why": {...},
"start_spread_ms": X, "last_answer_ms": Y, "p50_ms": .., "p99_ms": ..}:
last_answer_ms is from the burst's first start to its last answer.
"""
import json, multiprocessing as mp, os, sys, threading, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'selftests'))
import validator  # noqa: E402

PROCS = 8


def proc(jobs, t0, prefix, q):
    out = []

    def one(host, src, name, at):
        time.sleep(max(0.0, at - time.time()))
        s = time.time()
        r = validator.dial(host, src, name, prefix + name)
        out.append((s, time.time(), r['ok'], r.get('why')))

    ts = [threading.Thread(target=one, args=j) for j in jobs]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    q.put(out)


def main():
    h4, h6, prefix, spread = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]) / 1000
    sources, names = sys.argv[5].split(','), sys.argv[6:]
    for h in (h4, h6):
        validator.test_net(h)
    t0 = time.time() + 1.0
    dials = [(h6 if ':' in src else h4, src, name)
             for name in names for src in sources]
    n = len(dials)
    # Start instants spread evenly over SPREAD_MS, dealt round-robin to
    # the processes so that each has starts over the whole spread.
    jobs = [[] for _ in range(PROCS)]
    for i, d in enumerate(dials):
        jobs[i % PROCS].append(d + (t0 + spread * i / max(1, n - 1),))
    q = mp.Queue()
    ps = [mp.Process(target=proc, args=(j, t0, prefix, q)) for j in jobs]
    for p in ps:
        p.start()
    res = [x for _ in ps for x in q.get()]
    for p in ps:
        p.join()
    ok = [r for r in res if r[2]]
    why = {}
    for r in res:
        if not r[2]:
            why[str(r[3])] = why.get(str(r[3]), 0) + 1
    first = min(r[0] for r in res)
    lat = sorted(r[1] - r[0] for r in ok)
    pct = lambda p: round(1000 * lat[min(len(lat) - 1, int(p / 100 * len(lat)))], 1) if lat else None
    print(json.dumps({
        'dials': n, 'answered': len(ok), 'failed': n - len(ok), 'why': why,
        'start_spread_ms': round(1000 * (max(r[0] for r in res) - first), 1),
        'last_answer_ms': round(1000 * (max(r[1] for r in ok) - first), 1) if ok else None,
        'p50_ms': pct(50), 'p99_ms': pct(99)}))


if __name__ == '__main__':
    main()
