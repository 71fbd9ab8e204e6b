# SPDX-License-Identifier: GPL-2.0-only
"""TCP Fast Open for the selftests' TLS clients (ST_TFO=1)."""
import os
import ssl

TFO = os.environ.get('ST_TFO') == '1'


class TFOSSLSocket(ssl.SSLSocket):
    """wrap_socket asks getpeername() whether the socket is connected (and
    peeks with a non-blocking recv, EAGAIN, when not): a TCP_FASTOPEN_CONNECT
    socket is not until its first write, the ClientHello, sends the SYN."""
    def getpeername(self):
        try:
            return super().getpeername()
        except OSError:
            return None


def use_tfo(ctx):
    """With ST_TFO=1, @ctx wraps sockets that may not be connected yet."""
    if TFO:
        ctx.sslsocket_class = TFOSSLSocket
