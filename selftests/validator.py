#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""A multi-perspective ACME validator, the way Boulder validates
TLS-ALPN-01 since the CA/Browser Forum's multi-perspective rules (test
networks only: 198.18.0.0/15 and fd00::/8).

  validator.py --v4 HOST4 --v6 HOST6 --primary SRC --remote SRC[/OPT] ...
               [--parallel N] [--keyauth-prefix P] NAME...

For each NAME: one dial from the primary perspective, then one from every
remote at once (threads behind a barrier), like Boulder's VA (primary
first, then the remotes in parallel).  Up to --parallel names are
validated at the same time (an ACME client answers an order's challenges
in turn, a few at once).  The key authorization of NAME is P + NAME.  A
source address of either family dials the server address of that family.

Remote options:
  /mss=N   TCP_MAXSEG N before connect: every segment it sends holds at
           most N bytes.  Its hello is made bigger with a long cipher list
           (before the extensions): with a long NAME (164 characters: 601
           bytes) it spans two segments at N 536, SNI and ALPN in the
           first, as a Go validator's 1.5 KB hello does at MTU 1500.
  /split   the hello is sent in two writes 300 ms apart, cut just before
           its ALPN extension (SNI in the first part): alpnsteer must leave
           it to the webserver and call it `split`.

Each dial is checked as a CA does: acme-tls/1 agreed, the one SAN the
identifier, the acmeIdentifier extension the SHA-256 of the key
authorization.  Prints one JSON object: {"dials": [{name, role, source,
ok, why, hello_len, alpn_off, segments}], "ok": N, "failed": N}.
"""
import argparse, hashlib, ipaddress, json, socket, ssl, sys, threading, time
from concurrent.futures import ThreadPoolExecutor

from cryptography import x509

ACME_OID = x509.ObjectIdentifier('1.3.6.1.5.5.7.1.31')


def test_net(addr):
    a = ipaddress.ip_address(addr)
    if not (a in ipaddress.ip_network('198.18.0.0/15') or
            a in ipaddress.ip_network('fd00::/8') or a.is_loopback):
        sys.exit('refusing ' + addr)


def sni_for(ident):
    try:
        return ipaddress.ip_address(ident).reverse_pointer
    except ValueError:
        return ident.lower()


def alpn_offset(hello):
    """Offset of the ALPN extension (type 16) in a ClientHello record."""
    off = 5 + 4 + 2 + 32
    off += 1 + hello[off]
    off += 2 + int.from_bytes(hello[off:off + 2], 'big')
    off += 1 + hello[off]
    end = off + 2 + int.from_bytes(hello[off:off + 2], 'big')
    off += 2
    while off + 4 <= end:
        t = int.from_bytes(hello[off:off + 2], 'big')
        n = int.from_bytes(hello[off + 2:off + 4], 'big')
        if t == 16:
            return off
        off += 4 + n
    return -1


def check(der, alpn, ident, keyauth):
    if alpn != 'acme-tls/1':
        return 'acme-tls/1 not agreed (%s)' % alpn
    cert = x509.load_der_x509_certificate(der)
    san = list(cert.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value)
    try:
        want = x509.IPAddress(ipaddress.ip_address(ident))
    except ValueError:
        want = x509.DNSName(ident.lower())
    if san != [want]:
        return 'SAN %r' % san
    try:
        ext = cert.extensions.get_extension_for_oid(ACME_OID)
    except x509.ExtensionNotFound:
        return 'no acmeIdentifier'
    if not ext.critical or ext.value.value[2:] != hashlib.sha256(
            keyauth.encode()).digest():
        return 'acmeIdentifier does not match'
    return None


def dial(host, source, name, keyauth, mss=None, split=False):
    test_net(host)
    fam = socket.AF_INET6 if ':' in host else socket.AF_INET
    res = {'name': name, 'source': source, 'ok': False, 'why': None}
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        s.bind((source, 0))
        if mss:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, mss)
        s.connect((host, 443))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(['acme-tls/1'])
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if mss:
            ctx.set_ciphers('ALL:@SECLEVEL=0')
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = ctx.wrap_bio(inc, out, server_hostname=sni_for(name))
        try:
            obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        hello = out.read()
        res['hello_len'] = len(hello)
        res['alpn_off'] = alpn_offset(hello)
        if split:
            cut = res['alpn_off']
            s.sendall(hello[:cut])
            time.sleep(0.3)
            s.sendall(hello[cut:])
            res['segments'] = 2
        else:
            s.sendall(hello)
            res['segments'] = -(-len(hello) // mss) if mss else 1
        while True:
            data = s.recv(65536)
            if not data:
                raise ConnectionError('closed by the server')
            inc.write(data)
            try:
                obj.do_handshake()
                s.sendall(out.read())
                break
            except ssl.SSLWantReadError:
                s.sendall(out.read())
        res['why'] = check(obj.getpeercert(binary_form=True),
                           obj.selected_alpn_protocol(), name, keyauth)
        res['ok'] = res['why'] is None
    except (OSError, ssl.SSLError, ValueError) as e:
        res['why'] = str(e)[:100]
    finally:
        s.close()
    return res


def validate(args, name):
    keyauth = args.keyauth_prefix + name
    host = lambda src: args.v6 if ':' in src else args.v4
    out = []
    r = dial(host(args.primary), args.primary, name, keyauth)
    r['role'] = 'primary'
    out.append(r)
    barrier = threading.Barrier(len(args.remote))

    def remote(spec):
        src, *opts = spec.split('/')
        mss = next((int(o[4:]) for o in opts if o.startswith('mss=')), None)
        barrier.wait()
        r = dial(host(src), src, name, keyauth, mss=mss, split='split' in opts)
        r['role'] = 'remote' + ''.join('/' + o for o in opts)
        return r

    with ThreadPoolExecutor(len(args.remote)) as ex:
        out += list(ex.map(remote, args.remote))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--v4', required=True)
    ap.add_argument('--v6', required=True)
    ap.add_argument('--primary', required=True)
    ap.add_argument('--remote', action='append', required=True)
    ap.add_argument('--parallel', type=int, default=1)
    ap.add_argument('--keyauth-prefix', default='ka-')
    ap.add_argument('names', nargs='+')
    args = ap.parse_args()
    dials = []
    with ThreadPoolExecutor(args.parallel) as ex:
        for r in ex.map(lambda n: validate(args, n), args.names):
            dials += r
    ok = sum(d['ok'] for d in dials)
    print(json.dumps({'dials': dials, 'ok': ok, 'failed': len(dials) - ok}))


if __name__ == '__main__':
    main()
