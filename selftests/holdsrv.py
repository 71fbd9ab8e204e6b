#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A blocking webserver that keeps a connection a while after its client's
FIN (server netns), one thread per connection, plain blocking recv().

  holdsrv.py PORT STATS_FILE [HOLD_S] [--strict]

It reads until end of stream, then holds its descriptor HOLD_S seconds
(default 3) before closing it, as a webserver with a lingering close or a
busy queue does; it never writes.  nginx closes at the client's FIN, which
races with the responder's answer to a client that half-closes; this
server leaves the responder the time to answer.

A recv() that fails with EAGAIN (on this blocking socket: it must not) is
counted, and the server reads on; with --strict it ends the connection at
once instead, as plain Python or C code that does not expect it does.  An
EAGAIN followed by the end of the stream within 0.1 s is counted as one
the client's FIN woke (eagain_fin), any other as eagain.  STATS_FILE gets
one JSON line after each connection: connections, eof, eagain,
eagain_fin.
"""
import json, socket, sys, threading, time

STATS = {'connections': 0, 'eof': 0, 'eagain': 0, 'eagain_fin': 0}
LOCK = threading.Lock()


def serve(c, path, hold, strict):
    eof = eagain = eagain_fin = 0
    last = None
    try:
        while True:
            try:
                b = c.recv(4096)
            except BlockingIOError:
                if strict:
                    eagain += 1
                    break
                if last is not None:
                    eagain += 1
                last = time.monotonic()
                continue
            if last is not None:
                if not b and time.monotonic() - last < 0.1:
                    eagain_fin += 1
                else:
                    eagain += 1
                last = None
            if not b:
                eof = 1
                time.sleep(hold)
                break
    except OSError:
        pass
    c.close()
    with LOCK:
        STATS['connections'] += 1
        STATS['eof'] += eof
        STATS['eagain'] += eagain
        STATS['eagain_fin'] += eagain_fin
        with open(path, 'w') as f:
            f.write(json.dumps(STATS) + '\n')


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    args = [a for a in sys.argv[3:] if a != '--strict']
    hold = float(args[0]) if args else 3.0
    strict = '--strict' in sys.argv
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(('::', port))
    s.listen(128)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c, path, hold, strict),
                         daemon=True).start()


if __name__ == '__main__':
    main()
