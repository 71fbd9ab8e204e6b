#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Validate a TLS-ALPN-01 answer the way a CA does, independently of
alpnsteer's own code (python3-cryptography and Python's ssl module).

  check_cert.py HOST IDENT KEYAUTH [--tls 1.2|1.3] [--source ADDR]

Makes one handshake offering only acme-tls/1 with SNI = IDENT (or its
RFC 8738 reverse name), then checks the certificate against RFC 8737 and
Boulder's rules.  Prints one line per rule; exits 1 if any fails.
"""
import hashlib, ipaddress, socket, ssl, sys

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

ACME_OID = x509.ObjectIdentifier('1.3.6.1.5.5.7.1.31')


def sni_for(ident):
    try:
        return ipaddress.ip_address(ident).reverse_pointer
    except ValueError:
        return ident.lower()


def verify_self_signed(cert):
    pub = cert.public_key()
    if isinstance(pub, ec.EllipticCurvePublicKey):
        pub.verify(cert.signature, cert.tbs_certificate_bytes,
                   ec.ECDSA(cert.signature_hash_algorithm))
    elif isinstance(pub, rsa.RSAPublicKey):
        pub.verify(cert.signature, cert.tbs_certificate_bytes,
                   padding.PKCS1v15(), cert.signature_hash_algorithm)
    else:
        raise ValueError('unexpected key type')


def main():
    argv = sys.argv[:]
    source = None
    if '--source' in argv:  # connect from this local address
        i = argv.index('--source')
        source = (argv[i + 1], 0)
        del argv[i:i + 2]
    host, ident, keyauth = argv[1:4]
    tls = argv[5] if len(argv) > 5 and argv[4] == '--tls' else None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(['acme-tls/1'])
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if tls == '1.2':
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    elif tls == '1.3':
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    fam = socket.AF_INET6 if ':' in host else socket.AF_INET
    with socket.create_connection((host, 443), timeout=10,
                                  source_address=source) as raw:
        with ctx.wrap_socket(raw, server_hostname=sni_for(ident)) as s:
            alpn, version = s.selected_alpn_protocol(), s.version()
            der = s.getpeercert(binary_form=True)
    cert = x509.load_der_x509_certificate(der)
    results = []

    def rule(name, ok, detail=''):
        results.append(ok)
        print('%s %s %s' % ('pass' if ok else 'FAIL', name, detail))

    rule('alpn_acme_tls_1', alpn == 'acme-tls/1', str(alpn))
    rule('tls_1_2_or_later', version in ('TLSv1.2', 'TLSv1.3'), str(version))
    rule('subject_is_issuer', cert.subject == cert.issuer)
    try:
        verify_self_signed(cert)
        rule('self_signature_verifies', True)
    except Exception as e:
        rule('self_signature_verifies', False, str(e))
    oids = [e.oid for e in cert.extensions]
    rule('no_duplicate_extensions', len(oids) == len(set(oids)))
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    names = list(san)
    rule('exactly_one_san', len(names) == 1, repr(names))
    try:
        want = x509.IPAddress(ipaddress.ip_address(ident))
    except ValueError:
        want = x509.DNSName(ident.lower())
    rule('san_is_identifier', names == [want], repr(names))
    try:
        ext = cert.extensions.get_extension_for_oid(ACME_OID)
    except x509.ExtensionNotFound:
        ext = None
    rule('acme_identifier_present', ext is not None)
    if ext is not None:
        rule('acme_identifier_critical', ext.critical)
        val = ext.value.value  # UnrecognizedExtension: raw extnValue
        digest = hashlib.sha256(keyauth.encode()).digest()
        rule('acme_identifier_is_der_octet_string_32',
             len(val) == 34 and val[0] == 0x04 and val[1] == 32)
        rule('acme_identifier_matches_keyauth', val[2:] == digest)
    return 0 if all(results) else 1


if __name__ == '__main__':
    sys.exit(main())
