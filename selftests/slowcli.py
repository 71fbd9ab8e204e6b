#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Clients that pause between two requests (client netns).

  slowcli.py HOST PORT COUNT [--pause S] [--threads T]

Each connection sends a line, reads its echo, waits S seconds (default
0.06), sends a second line and reads it.  Its ACKs are delayed
(TCP_QUICKACK off, the delayed-ACK timer's 40 ms): the ACK of the echo
reaches the server after the server went back to recv() and well before
the next bytes, as over a real path (over a bare veth an immediate ACK
comes back inside the server's own send).  Prints one JSON
line: connections, answered, failures.
"""
import json, socket, sys, time
from concurrent.futures import ThreadPoolExecutor


def one(host, port, pause):
    try:
        s = socket.create_connection((host, port), timeout=10)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 0)
        for i, line in enumerate((b'first line\n', b'second line\n')):
            if i:
                time.sleep(pause)
            s.sendall(line)
            got = b''
            while not got.endswith(b'\n'):
                b = s.recv(4096)
                if not b:
                    return False
                got += b
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 0)
            if got != line:
                return False
        s.close()
        return True
    except OSError:
        return False


def main():
    host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if not (host.startswith('198.18.') or host.startswith('fd')):
        sys.exit('slowcli: refusing host ' + host)
    pause = float(sys.argv[sys.argv.index('--pause') + 1]) if '--pause' in sys.argv else 0.06
    t = int(sys.argv[sys.argv.index('--threads') + 1]) if '--threads' in sys.argv else 8
    with ThreadPoolExecutor(t) as ex:
        res = list(ex.map(lambda i: one(host, port, pause), range(n)))
    print(json.dumps({'connections': n, 'answered': sum(res),
                      'failures': n - sum(res)}))


if __name__ == '__main__':
    main()
