#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""New TCP connections as fast as a few threads can open them (client netns).

  synchurn.py HOST PORT SECONDS [--threads T] [--batch B]

Each thread opens B non-blocking connects at once, waits for them to be
established (or not), closes them all, and starts again: every connect is a
SYN, hence a request socket inserted into the server's established hash
(reqsk_queue_hash_req()), which is what the drain's reaper must never race
with (docs/design.md, "Release points").  Prints one JSON line: connects
started and how many were established.
"""
import argparse, json, select, socket, sys, threading, time

COUNT = {'started': 0, 'established': 0}
LOCK = threading.Lock()


def run(host, port, until, batch):
    fam = socket.AF_INET6 if ':' in host else socket.AF_INET
    started = est = 0
    while time.monotonic() < until:
        socks = []
        for _ in range(batch):
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.connect((host, port))
            except BlockingIOError:
                pass
            except OSError:
                s.close()
                continue
            socks.append(s)
        started += len(socks)
        p = select.poll()
        for s in socks:
            p.register(s, select.POLLOUT)
        deadline = time.monotonic() + 1
        left = len(socks)
        while left and time.monotonic() < deadline:
            ev = p.poll(100)
            for fd, e in ev:
                p.unregister(fd)
                left -= 1
                if not e & (select.POLLERR | select.POLLHUP):
                    est += 1
        for s in socks:
            s.close()
    with LOCK:
        COUNT['started'] += started
        COUNT['established'] += est


def main():
    a = argparse.ArgumentParser()
    a.add_argument('host')
    a.add_argument('port', type=int)
    a.add_argument('seconds', type=float)
    a.add_argument('--threads', type=int, default=2)
    a.add_argument('--batch', type=int, default=64)
    o = a.parse_args()
    if not (o.host.startswith('198.18.') or o.host.startswith('198.19.') or
            o.host.startswith('fd') or o.host.startswith('127.')):
        sys.exit('synchurn: refusing host ' + o.host)
    until = time.monotonic() + o.seconds
    ts = [threading.Thread(target=run, args=(o.host, o.port, until, o.batch))
          for _ in range(o.threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(json.dumps(COUNT), flush=True)


if __name__ == '__main__':
    main()
