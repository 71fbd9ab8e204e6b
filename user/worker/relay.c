// SPDX-License-Identifier: GPL-2.0-only
/*
 * relay.c - relay a steered connection, byte for byte, to an external
 * TLS-ALPN-01 responder (lego --tls.address, 4.9.1's --tls.port, acme.sh
 * --tlsport, ...).
 *
 * The slot socket carries the client's bytes in and, through the reply
 * program, the responder's bytes out on the client's own connection.  The
 * client's FIN never reaches the slot socket, so a relay ends when the
 * upstream closes or when a write towards the client fails with EACCES or
 * EPIPE, which is how a vanished client shows itself (docs/design.md,
 * "Steered connections").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>

#include "proxy.h"
#include "relay.h"

void relay_init(struct relay *r)
{
	memset(r, 0, sizeof(*r));
	r->up_fd = -1;
}

/* The monitor connects (the worker may not), the worker relays: the
 * connection is started here, non-blocking, and handed over at once. */
int relay_connect(const struct sockaddr *to, socklen_t len)
{
	int fd, err;

	fd = socket(to->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -errno;
	if (connect(fd, to, len) && errno != EINPROGRESS) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int relay_adopt(struct relay *r, int up_fd)
{
	relay_close(r);
	r->to_up.data = malloc(RELAY_BUF);
	r->to_client.data = malloc(RELAY_BUF);
	if (!r->to_up.data || !r->to_client.data) {
		close(up_fd);
		relay_close(r);
		return -ENOMEM;
	}
	r->up_fd = up_fd;
	return 0;
}

int relay_start(struct relay *r, const struct sockaddr *to, socklen_t len)
{
	int fd = relay_connect(to, len);

	return fd < 0 ? fd : relay_adopt(r, fd);
}

void relay_close(struct relay *r)
{
	if (r->up_fd >= 0)
		close(r->up_fd);
	free(r->to_up.data);
	free(r->to_client.data);
	relay_init(r);
}

/* Read into an empty buffer: 1 moved, 0 nothing now, -1 EOF or error. */
static int fill(struct rbuf *b, int fd)
{
	ssize_t n;

	if (b->len)
		return 0;
	n = read(fd, b->data, RELAY_BUF);
	if (n > 0) {
		b->off = 0;
		b->len = n;
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	return -1;
}

/* Write out a buffer: 1 moved, 0 nothing now, -errno on failure. */
static int flush(struct rbuf *b, int fd)
{
	ssize_t n;

	if (!b->len)
		return 0;
	n = send(fd, b->data + b->off, b->len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	b->off += n;
	b->len -= n;
	return 1;
}

/* false: the connection to the upstream failed. */
static bool finish_connect(struct relay *r)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);
	int err = 0;

	if (r->connected)
		return true;
	if (getpeername(r->up_fd, (struct sockaddr *)&ss, &l) == 0) {
		r->connected = true;
		return true;
	}
	l = sizeof(err);
	if (getsockopt(r->up_fd, SOL_SOCKET, SO_ERROR, &err, &l) || err)
		return false;
	return true; /* still in progress */
}

enum slot_step relay_pump(struct relay *r, int p_fd)
{
	int moved, rc;

	if (r->up_fd < 0)
		return SLOT_DONE;
	if (!finish_connect(r))
		return SLOT_DONE;
	/* The external responder is no load balancer's backend: it gets
	 * the hello, never the header. */
	if (!r->hello_next) {
		rc = proxy_consume(p_fd);
		if (rc < 0)
			return SLOT_DONE;
		if (!rc)
			return SLOT_CONTINUE;
		r->hello_next = true;
	}
	do {
		moved = 0;
		rc = fill(&r->to_up, p_fd);
		if (rc > 0)
			moved = 1;
		if (r->connected) {
			rc = flush(&r->to_up, r->up_fd);
			if (rc < 0)
				return SLOT_DONE;
			moved |= rc;
			rc = fill(&r->to_client, r->up_fd);
			if (rc < 0 && !r->to_client.len)
				return SLOT_DONE;
			moved |= rc > 0;
		}
		rc = flush(&r->to_client, p_fd);
		if (rc == -EACCES || rc == -EPIPE || rc == -ECONNRESET)
			return SLOT_CLIENT_GONE;
		if (rc < 0)
			return SLOT_DONE;
		moved |= rc;
	} while (moved);
	return SLOT_CONTINUE;
}

void relay_interest(const struct relay *r, unsigned int *p_ev,
		    unsigned int *up_ev)
{
	*p_ev = EPOLLIN;
	if (r->to_client.len)
		*p_ev |= EPOLLOUT;
	*up_ev = 0;
	if (r->up_fd < 0)
		return;
	if (!r->connected || r->to_up.len)
		*up_ev |= EPOLLOUT;
	if (!r->to_client.len)
		*up_ev |= EPOLLIN;
}
