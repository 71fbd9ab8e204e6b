#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""etcdput.py - many writes to the fleet's etcd as one of its users, over
the v3 JSON gateway on one kept-alive TLS connection (etcdctl would take a
process per key): a tenant filling every node (test_fleet_tenant.sh).

  etcdput.py --endpoint HOST:PORT --ca CA --cert CERT --key KEY \
      --user USER --password-file FILE entries N DOMAIN TTL
      (n0.DOMAIN .. n{N-1}.DOMAIN, valid entries expiring in TTL s)
  ... big N SIZE KEYPREFIX   (N values of SIZE bytes under KEYPREFIX)
"""
import argparse
import base64
import http.client
import json
import ssl
import sys
import time

PREFIX = "/alpnsteer/v1/chal/"
DIGEST = "0123456789abcdef" * 4


def b64(s):
    if isinstance(s, str):
        s = s.encode()
    return base64.b64encode(s).decode()


def dns_key(name):
    return PREFIX + "dns/" + "".join(l + "." for l in reversed(name.split(".")))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password-file", required=True)
    ap.add_argument("what", nargs="+")
    a = ap.parse_args()
    ctx = ssl.create_default_context(cafile=a.ca)
    ctx.load_cert_chain(a.cert, a.key)
    host, port = a.endpoint.rsplit(":", 1)
    conn = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=30)

    def post(path, body, token=None):
        h = {"Content-Type": "application/json"}
        if token:
            h["Authorization"] = token
        conn.request("POST", path, json.dumps(body), h)
        r = conn.getresponse()
        data = r.read()
        if r.status != 200:
            sys.exit("etcdput: %s: HTTP %d %s" % (path, r.status, data[:200]))
        return json.loads(data)

    pw = open(a.password_file).read().strip()
    token = post("/v3/auth/authenticate", {"name": a.user, "password": pw})["token"]
    t0 = time.time()
    if a.what[0] == "entries":
        n, dom, ttl = int(a.what[1]), a.what[2], int(a.what[3])
        now = int(time.time())
        for i in range(n):
            name = "n%d.%s" % (i, dom)
            v = json.dumps({"ident": name, "digest": DIGEST,
                            "expires": now + ttl, "added": now})
            post("/v3/kv/put", {"key": b64(dns_key(name)), "value": b64(v)}, token)
    elif a.what[0] == "big":
        n, size, kp = int(a.what[1]), int(a.what[2]), a.what[3]
        v = b64(b"x" * size)
        for i in range(n):
            post("/v3/kv/put", {"key": b64("%sbig%d." % (kp, i)), "value": v}, token)
    else:
        sys.exit("etcdput: entries N DOMAIN TTL | big N SIZE KEYPREFIX")
    print("%d puts in %.1f s" % (int(a.what[1]), time.time() - t0))


if __name__ == "__main__":
    main()
