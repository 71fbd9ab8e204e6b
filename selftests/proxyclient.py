#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A client behind a PROXY protocol header, as a load balancer would send it.

  proxyclient.py HOST PORT --header v1|v2|bad|big|none [--client ADDR:PORT]
                 [--split] [--alpn a,b] [--sni NAME] [--get PATH]
      Connects to HOST:PORT, sends the header naming --client, then a TLS
      ClientHello: in the same segment as the header, or with --split in a
      segment of its own (50 ms later, as HAProxy does once the client's
      bytes come).  Finishes the handshake; with --get, sends one HTTP/1.1
      GET and reads the answer.  Prints one JSON line: {"ok", "alpn",
      "acme_cert" (the certificate carries the acmeIdentifier extension),
      "body", "error"}.
      --bind ADDR connects from ADDR (a peer that is or is not one of
      --proxy-from).  --hold SECONDS sends the header and the hello, keeps
      the connection open that long without another byte (a slot holder)
      and prints {"ok", "answered" (the server sent anything)}.
"""
import argparse, ipaddress, json, socket, ssl, struct, time

ACME_OID = '1.3.6.1.5.5.7.1.31'


def header(kind, client, server):
    cip, cport = client
    sip, sport = server
    v6 = ipaddress.ip_address(cip).version == 6
    if kind == 'v1':
        return ('PROXY %s %s %s %d %d\r\n' % ('TCP6' if v6 else 'TCP4', cip, sip,
                                            cport, sport)).encode()
    if kind in ('v2', 'big'):
        tlv = b''
        if kind == 'big':  # a TLV larger than alpnsteer takes (256 bytes)
            tlv = struct.pack('!BH', 0x04, 300) + b'\0' * 300
        a = ipaddress.ip_address(cip).packed + ipaddress.ip_address(sip).packed
        addr = a + struct.pack('!HH', cport, sport)
        body = addr + tlv
        return (b'\r\n\r\n\0\r\nQUIT\n' + bytes([0x21, 0x21 if v6 else 0x11]) +
                struct.pack('!H', len(body)) + body)
    if kind == 'bad':
        return b'PROXY TCP4 not-an-address 198.18.4.1 1 443\r\n'
    return b''


def has_acme_ext(der):
    try:
        from cryptography import x509
        c = x509.load_der_x509_certificate(der)
        return any(e.oid.dotted_string == ACME_OID for e in c.extensions)
    except ImportError:
        import subprocess
        out = subprocess.run(['openssl', 'x509', '-inform', 'DER', '-noout',
                              '-text'], input=der, capture_output=True).stdout
        return b'1.3.6.1.5.5.7.1.31' in out or b'acmeIdentifier' in out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('host')
    ap.add_argument('port', type=int)
    ap.add_argument('--header', default='v1')
    ap.add_argument('--client', default='198.51.100.7:40000')
    ap.add_argument('--split', action='store_true')
    ap.add_argument('--alpn', default='')
    ap.add_argument('--sni', default='')
    ap.add_argument('--get', default='')
    ap.add_argument('--bind', default='')
    ap.add_argument('--hold', type=float, default=0)
    a = ap.parse_args()
    res = {'ok': False, 'alpn': None, 'acme_cert': False, 'body': '', 'error': ''}
    cip, cport = a.client.rsplit(':', 1)
    cip = cip.strip('[]')
    fam = socket.AF_INET6 if ':' in a.host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        if a.bind:
            s.bind((a.bind, 0))
        s.connect((a.host, a.port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if a.alpn:
            ctx.set_alpn_protocols(a.alpn.split(','))
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = ctx.wrap_bio(inc, out, server_side=False,
                           server_hostname=a.sni or None)
        try:
            tls.do_handshake()
        except ssl.SSLWantReadError:
            pass
        hello = out.read()
        hdr = header(a.header, (cip, int(cport)), (a.host, a.port))
        if a.hold:
            s.sendall(hdr + hello)
            s.settimeout(a.hold)
            try:
                res['answered'] = bool(s.recv(65536))
            except socket.timeout:
                res['answered'] = False
            time.sleep(max(0.0, a.hold - 0.1))
            res['ok'] = True
            print(json.dumps(res))
            return
        if a.split:
            s.sendall(hdr)
            time.sleep(0.05)
            s.sendall(hello)
        else:
            s.sendall(hdr + hello)  # one segment: well under the MSS
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
                    raise ConnectionError('closed during the handshake')
                inc.write(data)
        pending = out.read()
        if pending:
            s.sendall(pending)
        res['alpn'] = tls.selected_alpn_protocol()
        der = tls.getpeercert(binary_form=True)
        res['acme_cert'] = bool(der) and has_acme_ext(der)
        if a.get:
            tls.write(('GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n'
                       % (a.get, a.sni or 'x')).encode())
            s.sendall(out.read())
            buf = b''
            while True:
                try:
                    chunk = tls.read(65536)
                    if not chunk:
                        break
                    buf += chunk
                    continue
                except ssl.SSLWantReadError:
                    pass
                except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                    break
                data = s.recv(65536)
                if not data:
                    break
                inc.write(data)
            res['body'] = buf.split(b'\r\n\r\n', 1)[-1].decode(errors='replace')
        res['ok'] = True
    except Exception as e:  # the JSON line says what went wrong
        res['error'] = '%s: %s' % (type(e).__name__, e)
    finally:
        s.close()
    print(json.dumps(res))


if __name__ == '__main__':
    main()
