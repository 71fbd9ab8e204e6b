// SPDX-License-Identifier: GPL-2.0-only
/*
 * ipc.c - the monitor <-> TLS worker messages: build, send, receive, and
 * the checks each end makes before it believes a message.
 *
 * The worker parses TLS from the Internet, so the monitor treats whatever
 * it sends as hostile (docs/design.md, "Privilege separation"): a packet
 * of the wrong size or type, lengths that do not add up, a name outside
 * the characters of an SNI, descriptors where none belong, or a slot
 * never handed over are protocol violations, and the monitor kills the
 * worker for them.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "ipc.h"

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.' || c == '_';
}

/* Which parts each type carries: the others must be empty. */
#define P_NAME 1
#define P_CERT 2
#define P_KEY 4
#define P_TEXT 8

static const struct {
	enum ipc_end at;
	unsigned int parts;
	int min_fds, max_fds;
} types[IPC__MAX] = {
	[IPC_SLOT] = { IPC_AT_WORKER, 0, 1, 2 },
	[IPC_CANCEL] = { IPC_AT_WORKER, 0, 0, 0 },
	[IPC_CHAL_ADD] = { IPC_AT_WORKER, P_NAME | P_CERT | P_KEY, 0, 0 },
	[IPC_CHAL_DEL] = { IPC_AT_WORKER, P_NAME, 0, 0 },
	[IPC_SHUTDOWN] = { IPC_AT_WORKER, 0, 0, 0 },
	[IPC_DONE] = { IPC_AT_MONITOR, P_NAME, 0, 0 },
	[IPC_LOG] = { IPC_AT_MONITOR, P_TEXT, 0, 0 },
};

int ipc_parse(const void *buf, size_t len, int nfds, bool truncated,
	      enum ipc_end at, struct ipc_view *out)
{
	const unsigned char *p = buf;
	struct ipc_hdr h;
	unsigned int parts, res;
	size_t i, need;

	if (truncated || len < sizeof(h) || len > IPC_MAX_MSG)
		return -EPROTO;
	memcpy(&h, p, sizeof(h));
	if (!h.type || h.type >= IPC__MAX || types[h.type].at != at)
		return -EPROTO;
	if (nfds < types[h.type].min_fds || nfds > types[h.type].max_fds)
		return -EPROTO;
	parts = types[h.type].parts;
	if ((!(parts & P_NAME) && h.name_len) ||
	    (!(parts & P_CERT) && h.cert_len) ||
	    (!(parts & P_KEY) && h.key_len) ||
	    (!(parts & P_TEXT) && h.text_len))
		return -EPROTO;
	if (h.name_len > IPC_NAME_MAX || h.cert_len > IPC_DER_MAX ||
	    h.key_len > IPC_DER_MAX || h.text_len > IPC_TEXT_MAX)
		return -EPROTO;
	need = sizeof(h) + h.name_len + h.cert_len + h.key_len + h.text_len;
	if (len != need)
		return -EPROTO;
	switch (h.type) {
	case IPC_CHAL_ADD:
		if (!h.cert_len || !h.key_len)
			return -EPROTO;
		/* fall through */
	case IPC_CHAL_DEL:
		if (!h.name_len || h.arg || h.idx || h.gen)
			return -EPROTO;
		break;
	case IPC_DONE:
		res = IPC_DONE_RESULT(h.arg);
		if (res < IPC_ANSWERED || res > IPC_GONE)
			return -EPROTO;
		/* An alert only with an ended handshake, one way, no other
		 * bit. */
		if ((h.arg & 0xc0) ||
		    (h.arg & (IPC_DONE_ALERT_SENT | IPC_DONE_ALERT_RECV)) ==
			    (IPC_DONE_ALERT_SENT | IPC_DONE_ALERT_RECV) ||
		    (res != IPC_ENDED && h.arg != res))
			return -EPROTO;
		/* An answer names the SNI it was for; nothing else does. */
		if ((res == IPC_ANSWERED) != (h.name_len > 0))
			return -EPROTO;
		break;
	case IPC_SLOT:
		/* Handed free: a slot socket alone. */
		if (h.arg > IPC_SLOT_FREE ||
		    (h.arg == IPC_SLOT_FREE && nfds != 1))
			return -EPROTO;
		break;
	case IPC_LOG:
		if ((h.arg != IPC_INFO && h.arg != IPC_WARN) || !h.text_len ||
		    h.idx || h.gen)
			return -EPROTO;
		break;
	default:
		if (h.arg)
			return -EPROTO;
		break;
	}
	p += sizeof(h);
	for (i = 0; i < h.name_len; i++)
		if (!name_char(p[i]))
			return -EPROTO;
	memset(out, 0, sizeof(*out));
	out->h = h;
	memcpy(out->name, p, h.name_len);
	out->name[h.name_len] = '\0';
	p += h.name_len;
	out->cert = h.cert_len ? p : NULL;
	p += h.cert_len;
	out->key = h.key_len ? p : NULL;
	p += h.key_len;
	out->text = h.text_len ? (const char *)p : NULL;
	return 0;
}

enum ipc_verdict ipc_done_verdict(__u32 idx, __u32 gen, __u32 size,
				  __u32 cur_gen, bool handed, __u32 taken_gen)
{
	if (idx >= size || !gen || gen > cur_gen)
		return IPC_VIOLATION;
	/* This handing, still the worker's; or taken back (timeout, client
	 * gone) while the worker's answer was on its way: the handshake it
	 * reports did happen, with this slot's client, so it is counted.
	 * The renewed slot is handed again at once (free, in advance), so
	 * the handing taken back is no longer the last one. */
	if (gen == cur_gen)
		return handed ? IPC_ACCEPT : IPC_LATE;
	if (gen == taken_gen)
		return IPC_LATE;
	return IPC_STALE;
}

enum ipc_client ipc_done_client(bool known, __u64 kernel_owner)
{
	if (known)
		return IPC_CLIENT_KNOWN;
	/* The verdict claims the slot before it redirects a byte to it, so
	 * a worker with a hello to answer finds an owner here. */
	return kernel_owner ? IPC_CLIENT_KERNEL : IPC_CLIENT_NONE;
}

int ipc_build(void *buf, const struct ipc_hdr *h, const char *name,
	      const void *cert, const void *key, const char *text)
{
	unsigned char *p = buf;
	struct ipc_hdr hh = *h;

	hh.name_len = name ? strlen(name) : 0;
	hh.text_len = text ? strnlen(text, IPC_TEXT_MAX + 1) : 0;
	if (hh.name_len > IPC_NAME_MAX || hh.text_len > IPC_TEXT_MAX ||
	    hh.cert_len > IPC_DER_MAX || hh.key_len > IPC_DER_MAX)
		return -E2BIG;
	if (!cert)
		hh.cert_len = 0;
	if (!key)
		hh.key_len = 0;
	memcpy(p, &hh, sizeof(hh));
	p += sizeof(hh);
	memcpy(p, name, hh.name_len);
	p += hh.name_len;
	if (hh.cert_len)
		memcpy(p, cert, hh.cert_len);
	p += hh.cert_len;
	if (hh.key_len)
		memcpy(p, key, hh.key_len);
	p += hh.key_len;
	memcpy(p, text, hh.text_len);
	p += hh.text_len;
	return p - (unsigned char *)buf;
}

int ipc_send(int fd, const void *buf, size_t len, const int *fds, int nfds,
	     bool wait)
{
	union {
		char buf[CMSG_SPACE(IPC_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	ssize_t n;

	if (nfds > IPC_MAX_FDS)
		return -EINVAL;
	if (nfds > 0) {
		memset(&u, 0, sizeof(u));
		m.msg_control = u.buf;
		m.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	do
		n = sendmsg(fd, &m, MSG_NOSIGNAL | (wait ? 0 : MSG_DONTWAIT));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

int ipc_recv(int fd, void *buf, size_t size, int *fds, int *nfds,
	     bool *truncated)
{
	union {
		char buf[CMSG_SPACE(IPC_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	struct msghdr m = { .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c;
	ssize_t n;
	int k;

	*nfds = 0;
	*truncated = false;
	do
		n = recvmsg(fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (k = 0;
		     (size_t)k < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		     k++) {
			int f;

			memcpy(&f, CMSG_DATA(c) + k * sizeof(int), sizeof(f));
			if (*nfds < IPC_MAX_FDS)
				fds[(*nfds)++] = f;
			else {
				close(f);
				*truncated = true;
			}
		}
	}
	if (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		*truncated = true;
	return n;
}
