#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A line echo server doing blocking recv() (server netns), one thread per
connection: the way a C server calling recv() directly, or Python's plain
socket.recv(), reads.  A webserver built on epoll never sleeps in recv();
this one sleeps in tcp_bpf_recvmsg_parser() while a socket is caught.

  blocksrv.py PORT STATS_FILE

Every recv() that fails with EAGAIN on the blocking socket (it must not)
is counted, and the connection goes on; STATS_FILE gets one JSON line
after each connection: connections, eagain.
"""
import json, socket, sys, threading

STATS = {'connections': 0, 'eagain': 0}
LOCK = threading.Lock()


def serve(c, path):
    eagain = 0
    try:
        while True:
            try:
                b = c.recv(4096)
            except BlockingIOError:
                eagain += 1
                continue
            if not b:
                break
            c.sendall(b)
    except OSError:
        pass
    c.close()
    with LOCK:
        STATS['connections'] += 1
        STATS['eagain'] += eagain
        with open(path, 'w') as f:
            f.write(json.dumps(STATS) + '\n')


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(('::', port))
    s.listen(512)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c, path), daemon=True).start()


if __name__ == '__main__':
    main()
