#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Connections that send nothing, for the field selftests (client netns).

  probes.py close HOST --count N     connect, close without a byte (FIN)
  probes.py reset HOST --count N     connect, close with SO_LINGER 0 (RST)
  probes.py health HOST --every S    connect+close every S seconds until
                                     killed; one line per failed connect
  probes.py silent HOST --count N    open N connections and send nothing;
      prints {"open": N} and waits for a line on stdin, then sends a TLS
      ClientHello and GET / on each and prints {"answered", "failures",
      "errors"} (a silent client must lose nothing to a detach).
Hosts alternate between every HOST given (comma-separated).
"""
import argparse, json, socket, ssl, struct, sys, time

BODY = b'hello-from-nginx\n'


def connect(host, timeout=5):
    fam = socket.AF_INET6 if ':' in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((host, 443))
    return s


def probe(args, reset):
    hosts = args.host.split(',')
    for i in range(args.count):
        s = connect(hosts[i % len(hosts)])
        if reset:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack('ii', 1, 0))
        s.close()
    print(json.dumps({'probes': args.count}), flush=True)
    return 0


def health(args):
    hosts = args.host.split(',')
    i = 0
    while True:
        try:
            connect(hosts[i % len(hosts)], timeout=2).close()
        except OSError as e:
            print(json.dumps({'health_fail': str(e)}), flush=True)
        i += 1
        time.sleep(args.every)


def silent(args):
    hosts = args.host.split(',')
    socks = [connect(hosts[i % len(hosts)]) for i in range(args.count)]
    print(json.dumps({'open': len(socks)}), flush=True)
    sys.stdin.readline()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(['http/1.1'])
    answered, errors = 0, {}
    for s in socks:
        try:
            t = ctx.wrap_socket(s, server_hostname='silent.test')
            t.sendall(b'GET / HTTP/1.1\r\nHost: silent.test\r\n'
                      b'Connection: close\r\n\r\n')
            reply = b''
            while True:
                b = t.recv(65536)
                if not b:
                    break
                reply += b
            t.close()
            if reply.endswith(BODY):
                answered += 1
            else:
                errors['bad answer'] = errors.get('bad answer', 0) + 1
        except Exception as e:
            k = type(e).__name__ + ': ' + str(e)[:50]
            errors[k] = errors.get(k, 0) + 1
            s.close()
    print(json.dumps({'answered': answered, 'failures': len(socks) - answered,
                      'errors': errors}), flush=True)
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument('mode', choices=['close', 'reset', 'health', 'silent'])
    p.add_argument('host')
    p.add_argument('--count', type=int, default=20)
    p.add_argument('--every', type=float, default=1)
    a = p.parse_args()
    for h in a.host.split(','):  # only the test networks
        if not (h.startswith('198.18.') or h.startswith('fd') or
                h.startswith('127.')):
            sys.exit('probes: refusing host ' + h)
    if a.mode == 'health':
        return health(a)
    if a.mode == 'silent':
        return silent(a)
    return probe(a, a.mode == 'reset')


if __name__ == '__main__':
    sys.exit(main())
