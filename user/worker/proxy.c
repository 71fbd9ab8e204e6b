// SPDX-License-Identifier: GPL-2.0-only
/*
 * proxy.c - the responder's side of --proxy-protocol (docs/design.md,
 * "PROXY protocol"): the verdict leaves the skb whole, so the header that
 * came with a steered hello is consumed here, by the same parser the
 * verdict ran (include/proxyhdr.h).
 */
#include <errno.h>
#include <sys/socket.h>

#include "proxyhdr.h"
#include "proxy.h"

int proxy_consume(int fd)
{
	__u8 buf[ALPNSTEER_PROXY_MAX];
	struct ph_info ph = {};
	ch_src_t src = { .data = buf };
	ssize_t n;
	int rc;

	n = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	if (n == 0)
		return -ECONNRESET;
	if (buf[0] == TLS_CT_HANDSHAKE)
		return 1;
	src.len = n;
	rc = ph_parse(&src, n, &ph);
	if (rc == PH_PARTIAL && n < (ssize_t)sizeof(buf))
		return 0;
	if (rc != PH_OK)
		return -EPROTO;
	/* The peeked bytes are still there: this read takes exactly them. */
	n = recv(fd, buf, ph.len, MSG_DONTWAIT);
	return n == (ssize_t)ph.len ? 1 : -EIO;
}
