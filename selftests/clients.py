#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Test clients for the alpnsteer selftests (run inside the client netns).

  clients.py tls HOST [--alpn a,b] [--sni NAME] [--trickle] [--pad N]
      One TLS handshake; prints one JSON line: {"ok", "cn", "alpn",
      "version", "error", "hello_len"}.  --trickle sends the ClientHello one
      byte per segment (TCP_NODELAY, 2 ms apart), --pad N adds ALPN entries
      until the hello is at least N bytes.
  clients.py raw HOST DATA_HEX
      Sends raw bytes, prints {"reply": first 200 bytes as text}.
  clients.py hold HOST --alpn acme-tls/1 --sni NAME --seconds S
      Sends an acme-tls/1 hello and holds the connection open, silent.
  ST_TFO=1 in the environment: every connection uses TCP Fast Open.
"""
import argparse, json, os, socket, ssl, sys, time

# TCP_FASTOPEN_CONNECT: connect() returns at once and the first write
# (the ClientHello) rides in the SYN once the client holds a cookie.
TFO = os.environ.get('ST_TFO') == '1'


def connect(host, timeout=10):
    fam = socket.AF_INET6 if ':' in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if TFO:
        s.setsockopt(socket.IPPROTO_TCP, 30, 1)
    s.connect((host, 443))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def context(alpn):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


def cn_of(der):
    """Subject CN of a DER certificate, without trusting it."""
    try:
        from cryptography import x509
        from cryptography.x509.oid import NameOID
        c = x509.load_der_x509_certificate(der)
        a = c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return a[0].value if a else ''
    except ImportError:
        import subprocess
        out = subprocess.run(['openssl', 'x509', '-inform', 'DER', '-noout',
                              '-subject', '-nameopt', 'multiline'],
                             input=der, capture_output=True).stdout.decode()
        for line in out.splitlines():
            if 'commonName' in line:
                return line.split('=', 1)[1].strip()
        return ''


def handshake(args):
    alpn = [a for a in (args.alpn or '').split(',') if a]
    if args.pad:
        # Filler protocol names (never selected) until the hello is big.
        alpn = alpn + ['x-pad-%03d-%s' % (i, 'p' * 40)
                       for i in range(args.pad // 52 + 1)][:60]
    res = {'ok': False, 'cn': '', 'alpn': None, 'version': None,
           'error': None, 'hello_len': 0}
    ctx = context(alpn)
    sock = connect(args.host)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_side=False,
                       server_hostname=args.sni or None)
    first = True
    try:
        while True:
            try:
                obj.do_handshake()
                done = True
            except ssl.SSLWantReadError:
                done = False
            data = out.read()
            if data:
                if first:
                    res['hello_len'] = len(data)
                if first and args.trickle:
                    for i in range(len(data)):
                        sock.send(data[i:i + 1])
                        time.sleep(0.002)
                else:
                    sock.sendall(data)
                first = False
            if done:
                break
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError('EOF during handshake')
            inc.write(chunk)
        res['ok'] = True
        res['alpn'] = obj.selected_alpn_protocol()
        res['version'] = obj.version()
        der = obj.getpeercert(binary_form=True)
        res['cn'] = cn_of(der) if der else ''
    except Exception as e:  # the test decides what an error means
        res['error'] = type(e).__name__ + ': ' + str(e)[:120]
    finally:
        sock.close()
    print(json.dumps(res))
    return 0


def raw(args):
    s = connect(args.host)
    s.sendall(bytes.fromhex(args.data))
    reply = b''
    try:
        while len(reply) < 200:
            b = s.recv(200 - len(reply))
            if not b:
                break
            reply += b
    except socket.timeout:
        pass
    s.close()
    print(json.dumps({'reply': reply.decode('latin-1')}))
    return 0


def hold(args):
    ctx = context([args.alpn])
    sock = connect(args.host)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=args.sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    sock.sendall(out.read())
    print(json.dumps({'holding': True}), flush=True)
    time.sleep(args.seconds)
    sock.close()
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument('mode', choices=['tls', 'raw', 'hold'])
    p.add_argument('host')
    p.add_argument('data', nargs='?')
    p.add_argument('--alpn', default='')
    p.add_argument('--sni', default='')
    p.add_argument('--trickle', action='store_true')
    p.add_argument('--pad', type=int, default=0)
    p.add_argument('--seconds', type=float, default=30)
    a = p.parse_args()
    return {'tls': handshake, 'raw': raw, 'hold': hold}[a.mode](a)


if __name__ == '__main__':
    sys.exit(main())
