#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A TLS 1.3 client that forces a HelloRetryRequest, then changes its hello.

  hrr.py HOST SNI MODE
      First ClientHello: SNI, ALPN acme-tls/1, x25519 only and an empty
      key_share, so a TLS 1.3 server must answer with a HelloRetryRequest.
      The second ClientHello carries an x25519 key share and, by MODE:
        same     SNI and acme-tls/1 again (what a real client sends)
        noalpn   SNI, no ALPN
        bare     no SNI, no ALPN
        othersni another SNI (other.MODE.invalid), acme-tls/1
      Prints one word: what the server sent after the second hello:
        serverhello  the handshake went on: in TLS 1.3 without a PSK the
                     server's Certificate follows in the same flight, so
                     the certificate was shown
        alert:N      a fatal alert N (120 no_application_protocol,
                     112 unrecognized_name, ...)
        closed       the connection closed with nothing
        nohrr        the server did not ask for a retry (test is void)
"""
import os, socket, struct, sys

HRR_RANDOM = bytes.fromhex(
    'cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c')


def ext(typ, body):
    return struct.pack('!HH', typ, len(body)) + body


def client_hello(sid, sni, alpn, share):
    exts = b''
    if sni:
        name = sni.encode()
        exts += ext(0, struct.pack('!HBH', len(name) + 3, 0, len(name)) + name)
    exts += ext(10, struct.pack('!HH', 2, 0x001d))  # supported_groups
    sigs = [0x0403, 0x0503, 0x0804, 0x0805, 0x0401, 0x0501, 0x0807]
    exts += ext(13, struct.pack('!H', 2 * len(sigs)) +
                b''.join(struct.pack('!H', s) for s in sigs))
    exts += ext(43, b'\x02\x03\x04')  # supported_versions: TLS 1.3
    exts += ext(45, b'\x01\x01')  # psk_key_exchange_modes: psk_dhe_ke
    if share:
        ks = struct.pack('!HH', 0x001d, len(share)) + share
    else:
        ks = b''
    exts += ext(51, struct.pack('!H', len(ks)) + ks)
    if alpn:
        p = alpn.encode()
        exts += ext(16, struct.pack('!HB', len(p) + 1, len(p)) + p)
    body = (b'\x03\x03' + os.urandom(32) + bytes([len(sid)]) + sid +
            struct.pack('!HHHH', 6, 0x1301, 0x1302, 0x1303) + b'\x01\x00' +
            struct.pack('!H', len(exts)) + exts)
    hs = b'\x01' + struct.pack('!I', len(body))[1:] + body
    return b'\x16\x03\x01' + struct.pack('!H', len(hs)) + hs


def read_exact(s, n):
    b = b''
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            return None
        b += c
    return b


def read_record(s):
    h = read_exact(s, 5)
    if h is None:
        return None, None
    body = read_exact(s, struct.unpack('!H', h[3:5])[0])
    return h[0], body


def main():
    host, sni, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    fam = socket.AF_INET6 if ':' in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect((host, int(os.environ.get('HRR_PORT', '443'))))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sid = os.urandom(32)
    s.sendall(client_hello(sid, sni, 'acme-tls/1', None))
    typ, body = read_record(s)
    if typ != 0x16 or not body or body[0] != 2 or body[6:38] != HRR_RANDOM:
        print('nohrr' if typ != 0x15 else 'alert:%d' % body[1])
        return
    sni2 = {'same': sni, 'noalpn': sni, 'bare': None,
            'othersni': 'other.%s.invalid' % mode}[mode]
    alpn2 = 'acme-tls/1' if mode in ('same', 'othersni') else None
    # Any 32 bytes but a few low-order points make an x25519 public key.
    s.sendall(client_hello(sid, sni2, alpn2, os.urandom(32)))
    try:
        while True:
            typ, body = read_record(s)
            if typ is None:
                print('closed')
                return
            if typ == 0x14:  # middlebox-compatibility ChangeCipherSpec
                continue
            if typ == 0x15:
                print('alert:%d' % body[1])
                return
            if typ == 0x16 and body and body[0] == 2:
                print('serverhello')
                return
            print('record:%d' % typ)
            return
    except (ConnectionResetError, socket.timeout):
        print('closed')


if __name__ == '__main__':
    main()
