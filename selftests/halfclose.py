#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A TLS 1.3 client that half-closes after its hello (client netns).

  halfclose.py HOST SNI [--port N] [--count N] [--pause S]

Sends one ClientHello (SNI, ALPN acme-tls/1, an x25519 key share), then
shutdown(SHUT_WR): the client's FIN follows its hello at once (or S
seconds later), as a client that has nothing more to say until the server
answers.  Reads what
comes back and prints one word per connection:
  serverhello  the server answered with its ServerHello (in TLS 1.3 its
               Certificate follows in the same flight)
  alert:N      a fatal alert N
  closed       the connection closed (or was reset) with nothing
  timeout      nothing within 10 s
With --count N, N connections one after the other and a JSON line with
how many got each answer.
"""
import json, os, socket, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hrr import client_hello, read_record  # noqa: E402


def one(host, port, sni, pause):
    fam = socket.AF_INET6 if ':' in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        s.connect((host, port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(client_hello(os.urandom(32), sni, 'acme-tls/1',
                               os.urandom(32)))
        if pause:
            time.sleep(pause)
        s.shutdown(socket.SHUT_WR)
        typ, body = read_record(s)
    except socket.timeout:
        return 'timeout'
    except OSError:
        return 'closed'
    finally:
        s.close()
    if typ is None:
        return 'closed'
    if typ == 0x15 and body:
        return 'alert:%d' % body[1]
    if typ == 0x16 and body and body[0] == 2:
        return 'serverhello'
    return 'record:%d' % typ


def main():
    host, sni = sys.argv[1], sys.argv[2]
    if not (host.startswith('198.18.') or host.startswith('fd')):
        sys.exit('halfclose: refusing host ' + host)
    port = int(sys.argv[sys.argv.index('--port') + 1]) if '--port' in sys.argv else 443
    pause = float(sys.argv[sys.argv.index('--pause') + 1]) if '--pause' in sys.argv else 0
    if '--count' not in sys.argv:
        print(one(host, port, sni, pause))
        return
    n = int(sys.argv[sys.argv.index('--count') + 1])
    res = {}
    for _ in range(n):
        r = one(host, port, sni, pause)
        res[r] = res.get(r, 0) + 1
    print(json.dumps(res, sort_keys=True))


if __name__ == '__main__':
    main()
