#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Capture real ClientHellos (the first TLS record) from real clients into
# hello/*.bin for the parser's unit tests and the fuzzer's seed corpus.
# Runs on 127.0.0.1 only; re-run it to refresh the files.
set -euo pipefail
cd "$(dirname "$0")"
out=hello
mkdir -p $out
port=${PORT:-44300}

# capture NAME CLIENT-COMMAND...: save the first record the client sends.
capture() {
	local name=$1
	shift
	python3 - "$port" "$out/$name.bin" <<'PY' &
import socket, sys
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(('127.0.0.1', int(sys.argv[1]))); ls.listen(1)
ls.settimeout(10)
c, _ = ls.accept()
c.settimeout(5)
buf = b''
while len(buf) < 5 or len(buf) < 5 + int.from_bytes(buf[3:5], 'big'):
    b = c.recv(65536)
    if not b:
        break
    buf += b
if buf[:1] == b'\x16':
    buf = buf[:5 + int.from_bytes(buf[3:5], 'big')]
open(sys.argv[2], 'wb').write(buf)
c.close()
PY
	local srv=$!
	sleep 0.3
	timeout 5 "$@" >/dev/null 2>&1 </dev/null || true
	wait $srv
	echo "$name: $(stat -c %s "$out/$name.bin") bytes"
}

S="openssl s_client -connect 127.0.0.1:$port"
capture acme_openssl $S -alpn acme-tls/1 -servername example.com
capture noalpn_openssl $S -servername example.com
capture h2_openssl $S -alpn h2,http/1.1 -servername example.com
capture acme_tls12_openssl $S -tls1_2 -alpn acme-tls/1 -servername example.com
capture curl curl -sk --max-time 3 https://localhost:$port/
capture acme_python_upper python3 -c "
import socket, ssl
c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); c.check_hostname = False
c.verify_mode = ssl.CERT_NONE; c.set_alpn_protocols(['acme-tls/1'])
c.wrap_socket(socket.create_connection(('127.0.0.1', $port)), server_hostname='Mixed.Example.COM')"
alpn36=$(for i in $(seq 1 35); do printf 'proto-%02d,' $i; done)acme-tls/1,$(for i in $(seq 37 40); do printf 'proto-%02d,' $i; done)
capture acme_36th $S -alpn "${alpn36%,}" -servername example.com
capture acme_ip_reverse $S -alpn acme-tls/1 -servername 4.3.2.1.in-addr.arpa

# A hello padded past 2 KiB: the captured acme hello with a padding
# extension (type 21) added and every enclosing length fixed.
python3 - "$out/acme_openssl.bin" "$out/acme_padded_2k.bin" <<'PY'
import sys
h = bytearray(open(sys.argv[1], 'rb').read())
pad = 2100
off = 5 + 4 + 2 + 32
off += 1 + h[off]
off += 2 + int.from_bytes(h[off:off + 2], 'big')
off += 1 + h[off]
ext_len_at = off
ext = b'\x00\x15' + pad.to_bytes(2, 'big') + bytes(pad)
h += ext
h[ext_len_at:ext_len_at + 2] = (int.from_bytes(h[ext_len_at:ext_len_at + 2], 'big') + len(ext)).to_bytes(2, 'big')
h[6:9] = (int.from_bytes(h[6:9], 'big') + len(ext)).to_bytes(3, 'big')
h[3:5] = (int.from_bytes(h[3:5], 'big') + len(ext)).to_bytes(2, 'big')
open(sys.argv[2], 'wb').write(h)
print('acme_padded_2k: %d bytes' % len(h))
PY
printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' > $out/http_get.bin
printf '\x00\xff\x13\x37garbage\r\n' > $out/garbage.bin
# An SSLv2-style hello: not a TLS handshake record.
printf '\x80\x2e\x01\x00\x02\x00\x15\x00\x00\x00\x10' > $out/sslv2.bin
