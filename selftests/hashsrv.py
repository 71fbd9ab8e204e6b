#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Upstream of the webserver's /upload: answers "<length> <sha256>" of the
body, so the loss test checks every uploaded byte that crossed the
webserver's socket.  hashsrv.py PORT [ROOT]: with ROOT, GETs are answered
from that directory too (behind HAProxy, which serves no files).
"""
import hashlib, http.server, os, socketserver, sys

ROOT = sys.argv[2] if len(sys.argv) > 2 else None


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

    def do_GET(self):
        name = self.path.split('?', 1)[0].lstrip('/') or 'index.html'
        path = os.path.join(ROOT, os.path.basename(name)) if ROOT else None
        if not path or not os.path.isfile(path):
            self.send_error(404)
            return
        with open(path, 'rb') as f:
            self.send_response(200)
            self.send_header('Content-Length', str(os.fstat(f.fileno()).st_size))
            self.end_headers()
            while True:
                b = f.read(262144)
                if not b:
                    break
                self.wfile.write(b)

    def log_message(self, *a):
        pass


class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # HAProxy resets idle keep-alive connections to its backend: no
        # traceback for a peer that went away
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


S(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
