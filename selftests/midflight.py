#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""A TLS-ALPN-01 validation held in the middle of its handshake.

  midflight.py HOST IDENT KEYAUTH

At a first line on stdin, sends a ClientHello offering only acme-tls/1
with SNI = IDENT and prints "sent"; at a second line, reads the server's
flight and finishes the handshake.  (Started early, its start-up cost
overlaps the test's other steps.)  This lets a test start `alpnsteer detach`
while the validation is certainly in flight (already steered, not done).
Then checks what a CA checks first: ALPN acme-tls/1, the one SAN is IDENT,
the critical acmeIdentifier holds SHA-256(KEYAUTH).  Prints one JSON line;
exit 1 on any failure.
"""
import hashlib, json, socket, ssl, sys

from cryptography import x509

ACME_OID = x509.ObjectIdentifier('1.3.6.1.5.5.7.1.31')


def main():
    host, ident, keyauth = sys.argv[1:4]
    sys.stdin.readline()
    fam = socket.AF_INET6 if ':' in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect((host, 443))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(['acme-tls/1'])
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inc, out, server_hostname=ident)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    s.sendall(out.read())
    print('sent', flush=True)
    sys.stdin.readline()
    res = {'ok': False}
    try:
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                pending = out.read()
                if pending:
                    s.sendall(pending)
                data = s.recv(65536)
                if not data:
                    raise EOFError('server closed during the handshake')
                inc.write(data)
        s.sendall(out.read())  # our Finished: the validation completes
        cert = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        ext = cert.extensions.get_extension_for_oid(ACME_OID)
        want = b'\x04\x20' + hashlib.sha256(keyauth.encode()).digest()
        res['alpn'] = tls.selected_alpn_protocol()
        res['san'] = san.value.get_values_for_type(x509.DNSName)
        res['ok'] = (res['alpn'] == 'acme-tls/1' and res['san'] == [ident] and
                     ext.critical and ext.value.value == want)
    except Exception as e:
        res['error'] = type(e).__name__ + ': ' + str(e)[:80]
    s.close()
    print(json.dumps(res), flush=True)
    return 0 if res['ok'] else 1


if __name__ == '__main__':
    sys.exit(main())
