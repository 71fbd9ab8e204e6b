#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Upstream of nginx's /upload: answers "<length> <sha256>" of the body, so
the loss test checks every uploaded byte that crossed nginx's socket."""
import hashlib, http.server, socketserver, sys


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def do_POST(self):
        n = int(self.headers.get('Content-Length', 0))
        h, left = hashlib.sha256(), n
        while left:
            b = self.rfile.read(min(left, 65536))
            if not b:
                break
            h.update(b)
            left -= len(b)
        body = ('%d %s\n' % (n - left, h.hexdigest())).encode()
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


S(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
