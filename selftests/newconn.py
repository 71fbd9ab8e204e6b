#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""New-connection HTTPS GETs for the field selftests (client netns).

  newconn.py --host H [--host H6] --count N [--threads T] [--timeout S]
             [--hold S]
      N GET / over N new TLS connections (hosts in turn), T at a time; each
      must be answered (hello-from-nginx) within S seconds.  Prints one JSON
      line: requests, answered, failures, errors by kind, the slowest
      answer, and for the first hung connections the client's address and
      how far it got (connected / handshaken / request sent).  --hold S
      keeps the hung sockets open S seconds more after printing, so the
      test can look at them on the server (ss, the conns map).
  ST_TFO=1 in the environment: every connection uses TCP Fast Open.
"""
import argparse, json, os, socket, ssl, struct, sys, threading, time
from concurrent.futures import ThreadPoolExecutor

from tfossl import TFO, use_tfo

CTX = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE
CTX.set_alpn_protocols(['http/1.1'])
use_tfo(CTX)
BODY = b'hello-from-nginx\n'
HUNG = []
LOCK = threading.Lock()


def one(host, timeout):
    fam = socket.AF_INET6 if ':' in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    if TFO:
        # blocking, with the kernel's time limits: see loadgen.py
        tv = struct.pack('ll', int(timeout), int((timeout % 1) * 1e6))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)
    else:
        s.settimeout(timeout)
    end = time.monotonic() + timeout
    stage, t0, cur = 'connect', time.monotonic(), s
    try:
        if TFO:
            s.setsockopt(socket.IPPROTO_TCP, 30, 1)  # TCP_FASTOPEN_CONNECT
        s.connect((host, 443))
        stage = 'handshake'
        t = CTX.wrap_socket(s, server_hostname='newconn.test',
                                       do_handshake_on_connect=False)
        cur = t  # wrap_socket took s's descriptor
        if not TFO:
            t.settimeout(max(0.01, end - time.monotonic()))
        t.do_handshake()
        stage = 'answer'
        t.sendall(b'GET / HTTP/1.1\r\nHost: newconn.test\r\n'
                  b'Connection: close\r\n\r\n')
        reply = b''
        while True:
            if not TFO:
                t.settimeout(max(0.01, end - time.monotonic()))
            b = t.recv(65536)
            if not b:
                break
            reply += b
        if not reply.endswith(BODY):
            return 'bad answer', time.monotonic() - t0
        t.close()
        return None, time.monotonic() - t0
    except (socket.timeout, BlockingIOError, ssl.SSLWantReadError):
        with LOCK:
            try:
                local = cur.getsockname()[:2]
            except OSError:
                local = None
            HUNG.append((cur, {'stage': stage, 'local': local, 'host': host}))
        return 'timeout in ' + stage, time.monotonic() - t0
    except Exception as e:
        cur.close()
        return '%s in %s: %s' % (type(e).__name__, stage, str(e)[:60]), \
            time.monotonic() - t0


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--host', action='append', required=True)
    p.add_argument('--count', type=int, default=3000)
    p.add_argument('--threads', type=int, default=8)
    p.add_argument('--timeout', type=float, default=5)
    p.add_argument('--hold', type=float, default=0)
    a = p.parse_args()
    for h in a.host:  # only the test networks, never anything else
        if not (h.startswith('198.18.') or h.startswith('198.19.') or
                h.startswith('fd') or h.startswith('127.')):
            sys.exit('newconn: refusing host ' + h)
    t0 = time.monotonic()
    with ThreadPoolExecutor(a.threads) as ex:
        res = list(ex.map(lambda i: one(a.host[i % len(a.host)], a.timeout),
                          range(a.count)))
    errors = {}
    for err, _ in res:
        if err:
            errors[err] = errors.get(err, 0) + 1
    lat = sorted(x for _, x in res)
    out = {'requests': a.count,
           'answered': sum(1 for e, _ in res if e is None),
           'failures': sum(1 for e, _ in res if e),
           'errors': errors,
           'slowest_s': round(lat[-1], 3) if lat else 0,
           'p99_s': round(lat[int(len(lat) * 0.99) - 1], 3) if lat else 0,
           'seconds': round(time.monotonic() - t0, 1),
           'hung': [h for _, h in HUNG[:10]]}
    print(json.dumps(out), flush=True)
    if HUNG and a.hold:
        time.sleep(a.hold)
    for s, _ in HUNG:
        s.close()
    return 1 if out['failures'] else 0


if __name__ == '__main__':
    sys.exit(main())
