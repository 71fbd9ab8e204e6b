#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""HTTPS load for the alpnsteer loss tests (bounded in time and count).

Kinds of work, each in its own threads, against every --host in turn:
  gets      keep-alive connections, 1..20 GET / each, body checked
  downloads GET /big.bin, sha256 checked against --big-sha256
  uploads   POST 2 MiB of random bytes to /upload, whose answer is
            "<length> <sha256>" from the hashing upstream
  storms    a new TLS connection for every GET /
Prints one JSON line of counts at the end; exits 1 on any failure.
ST_TFO=1 in the environment: every connection uses TCP Fast Open.
"""
import argparse, hashlib, http.client, json, os, random, socket, ssl, struct, sys, threading, time

from tfossl import TFO, use_tfo

CTX = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE
BODY = b'hello-from-nginx\n'
use_tfo(CTX)


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.c = {'gets': 0, 'downloads': 0, 'uploads': 0, 'conns': 0,
                  'bytes_hashed': 0, 'failures': 0, 'corrupted': 0}
        self.errors = {}

    def add(self, key, n=1):
        with self.lock:
            self.c[key] += n

    def fail(self, what, corrupted=False):
        with self.lock:
            self.c['failures'] += 1
            if corrupted:
                self.c['corrupted'] += 1
            self.errors[what] = self.errors.get(what, 0) + 1


def tfo_connection(address, timeout, source_address=None):
    """socket.create_connection with TCP_FASTOPEN_CONNECT: the ClientHello
    goes in the SYN once the kernel holds the server's cookie.  Blocking,
    with the kernel's SO_RCVTIMEO/SO_SNDTIMEO for the time limit: OpenSSL
    writing to a non-blocking TFO socket still in SYN-SENT gets EAGAIN,
    which Python's ssl then raises instead of waiting."""
    host, port = address
    fam = socket.AF_INET6 if ':' in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    tv = struct.pack('ll', int(timeout), int((timeout % 1) * 1e6))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)
    s.setsockopt(socket.IPPROTO_TCP, 30, 1)  # TCP_FASTOPEN_CONNECT
    s.connect((host, port))
    return s


def conn(host):
    c = http.client.HTTPSConnection(host, 443, context=CTX, timeout=20)
    if TFO:
        c._create_connection = tfo_connection
    return c


def run(fn, st, hosts, end, maxn):
    i = 0
    while time.time() < end and i < maxn:
        host = hosts[i % len(hosts)]
        i += 1
        try:
            fn(st, host)
        except Exception as e:
            st.fail(type(e).__name__ + ': ' + str(e)[:60])


def gets(st, host):
    c = conn(host)
    st.add('conns')
    for _ in range(random.randint(1, 20)):
        c.request('GET', '/')
        b = c.getresponse().read()
        if b != BODY:
            st.fail('body', corrupted=True)
        else:
            st.add('gets')
        time.sleep(random.random() * 0.02)
    c.close()


def storms(st, host):
    c = conn(host)
    st.add('conns')
    c.request('GET', '/', headers={'Connection': 'close'})
    if c.getresponse().read() != BODY:
        st.fail('body', corrupted=True)
    else:
        st.add('gets')
    c.close()


def make_downloads(sha):
    def downloads(st, host):
        c = conn(host)
        st.add('conns')
        c.request('GET', '/big.bin')
        r = c.getresponse()
        h, n = hashlib.sha256(), 0
        while True:
            b = r.read(65536)
            if not b:
                break
            h.update(b)
            n += len(b)
        c.close()
        st.add('bytes_hashed', n)
        if h.hexdigest() != sha:
            st.fail('download sha256', corrupted=True)
        else:
            st.add('downloads')
    return downloads


def uploads(st, host):
    data = os.urandom(2 * 1024 * 1024)
    c = conn(host)
    st.add('conns')
    c.request('POST', '/upload', body=data,
              headers={'Content-Type': 'application/octet-stream'})
    r = c.getresponse()
    reply = r.read().decode().split()
    c.close()
    st.add('bytes_hashed', len(data))
    if r.status != 200 or reply != [str(len(data)),
                                    hashlib.sha256(data).hexdigest()]:
        st.fail('upload sha256', corrupted=True)
    else:
        st.add('uploads')


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--host', action='append', required=True)
    p.add_argument('--duration', type=float, default=30)
    p.add_argument('--big-sha256', required=True)
    p.add_argument('--gets', type=int, default=3)
    p.add_argument('--downloads', type=int, default=1)
    p.add_argument('--uploads', type=int, default=1)
    p.add_argument('--storms', type=int, default=1)
    p.add_argument('--max', type=int, default=100000,
                   help='at most this many units of work per thread')
    a = p.parse_args()
    for h in a.host:  # only the test networks, never anything else
        if not (h.startswith('198.18.') or h.startswith('198.19.') or
                h.startswith('fd') or h.startswith('127.')):
            sys.exit('loadgen: refusing host ' + h)
    st = Stats()
    end = time.time() + a.duration
    kinds = ([gets] * a.gets + [make_downloads(a.big_sha256)] * a.downloads +
             [uploads] * a.uploads + [storms] * a.storms)
    ts = [threading.Thread(target=run, args=(k, st, a.host, end, a.max))
          for k in kinds]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out = dict(st.c)
    out['errors'] = st.errors
    print(json.dumps(out), flush=True)
    return 1 if st.c['failures'] else 0


if __name__ == '__main__':
    sys.exit(main())
