// SPDX-License-Identifier: GPL-2.0-only
/*
 * worker.c - the TLS worker: every byte from a steered client is read
 * here, and nowhere else (docs/design.md, "Privilege separation").
 *
 * The monitor forks it, hands it slot sockets (SCM_RIGHTS): each free
 * slot as it is made, so that a steered hello is answered without a word
 * from the monitor (with --forward, each busy slot as the kernel steers a
 * hello to it, with its upstream), and the validation certificates and keys of the
 * pending names (DER); the worker answers the handshakes (or, with
 * --forward, relays the bytes to an upstream socket the monitor
 * connected) and says when each slot is done.  It holds no map, no
 * capability and no file; seccomp keeps it to the calls of this loop.
 * It never logs by itself: its lines go to the monitor, which escapes
 * them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <signal.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "ipc.h"
#include "ldpages.h"
#include "ossl_init.h"
#include "relay.h"
#include "responder.h"
#include "sandbox.h"
#include "worker.h"

enum wkey {
	WK_IPC = 1,
	WK_SLOT,
	WK_UP,
};

struct wslot {
	int fd, up_fd; /* -1: none */
	__u32 gen;
	bool ready; /* fd and relay set up: the slot was handed once */
	bool busy; /* handed to us (fd held) */
	bool started; /* its handshake or relay begun: a free slot's at
		       * its first byte */
	struct tls_conn tls;
	struct relay relay;
};

struct worker {
	int ipc, epfd;
	bool forward;
	__u32 max;
	struct wslot *slot;
	struct responder resp;
	unsigned char buf[IPC_MAX_MSG];
};

static __u64 wk(enum wkey k, __u32 idx)
{
	return (__u64)k << 32 | idx;
}

static void ep(struct worker *w, int op, int fd, unsigned int events, __u64 key)
{
	struct epoll_event ev = { .events = events, .data.u64 = key };

	epoll_ctl(w->epfd, op, fd, &ev);
}

static void say(struct worker *w, enum ipc_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(struct worker *w, enum ipc_level lvl, const char *fmt, ...)
{
	struct ipc_hdr h = { .type = IPC_LOG, .arg = lvl };
	char text[IPC_TEXT_MAX + 1];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text) - 1, fmt, ap);
	va_end(ap);
	n = ipc_build(w->buf, &h, NULL, NULL, NULL, text);
	if (n > 0)
		ipc_send(w->ipc, w->buf, n, NULL, 0, true);
}

/* The slot's fds leave epoll by hand: the monitor holds the same open
 * files, so a close here would leave their registrations behind. */
static void slot_close(struct worker *w, struct wslot *s)
{
	if (s->fd >= 0) {
		epoll_ctl(w->epfd, EPOLL_CTL_DEL, s->fd, NULL);
		close(s->fd);
	}
	if (s->relay.up_fd >= 0)
		epoll_ctl(w->epfd, EPOLL_CTL_DEL, s->relay.up_fd, NULL);
	relay_close(&s->relay);
	if (s->started)
		tls_conn_close(&s->tls);
	s->fd = -1;
	s->busy = false;
	s->started = false;
}

static void slot_done(struct worker *w, __u32 idx, enum ipc_result res)
{
	struct wslot *s = &w->slot[idx];
	struct ipc_hdr h = {
		.type = IPC_DONE, .arg = res, .idx = idx, .gen = s->gen
	};
	int n;

	if (res == IPC_ENDED && s->tls.alert_dir)
		h.arg |= s->tls.alert_dir | s->tls.alert << 8;
	n = ipc_build(w->buf, &h, res == IPC_ANSWERED ? s->tls.sni : NULL, NULL,
		      NULL, NULL);
	slot_close(w, s);
	if (n > 0)
		ipc_send(w->ipc, w->buf, n, NULL, 0, true);
}

static void slot_pump(struct worker *w, __u32 idx)
{
	struct wslot *s = &w->slot[idx];
	unsigned int p_ev, up_ev = 0;

	if (!s->busy)
		return;
	/* A slot handed free: its client's first bytes are here. */
	if (!s->started) {
		int err = tls_conn_start(&w->resp, &s->tls, s->fd);

		if (err) {
			say(w, IPC_WARN, "slot %u: cannot start: %s", idx,
			    strerror(-err));
			slot_done(w, idx, IPC_ENDED);
			return;
		}
		s->started = true;
	}
	switch (w->forward ? relay_pump(&s->relay, s->fd) :
			     tls_conn_pump(&s->tls)) {
	case SLOT_CONTINUE:
		if (w->forward)
			relay_interest(&s->relay, &p_ev, &up_ev);
		else
			p_ev = tls_conn_events(&s->tls);
		ep(w, EPOLL_CTL_MOD, s->fd, p_ev, wk(WK_SLOT, idx));
		if (s->relay.up_fd >= 0)
			ep(w, EPOLL_CTL_MOD, s->relay.up_fd, up_ev,
			   wk(WK_UP, idx));
		break;
	case SLOT_CLIENT_GONE:
		slot_done(w, idx, IPC_GONE);
		break;
	case SLOT_DONE:
		slot_done(w, idx,
			  !w->forward && s->tls.answered ? IPC_ANSWERED :
							   IPC_ENDED);
		break;
	}
}

static void on_slot(struct worker *w, const struct ipc_view *v, int *fds,
		    int nfds)
{
	__u32 idx = v->h.idx;
	bool free_slot = v->h.arg == IPC_SLOT_FREE;
	struct wslot *s;
	int err;

	/* A free slot comes alone, and only without --forward. */
	if (idx >= w->max || nfds != (w->forward && !free_slot ? 2 : 1) ||
	    (free_slot && w->forward)) {
		say(w, IPC_WARN, "slot %u: refused (%d descriptors)", idx,
		    nfds);
		while (nfds)
			close(fds[--nfds]);
		return;
	}
	s = &w->slot[idx];
	/* Set up when first handed (worker_run()). */
	if (!s->ready) {
		s->fd = -1;
		relay_init(&s->relay);
		s->ready = true;
	}
	if (s->busy)
		slot_close(w, s);
	s->fd = fds[0];
	s->gen = v->h.gen;
	s->busy = true;
	s->started = false;
	if (free_slot) {
		/* Nothing to do until a client's hello arrives: then
		 * slot_pump() starts the handshake, with no word from the
		 * monitor in between. */
		ep(w, EPOLL_CTL_ADD, s->fd, EPOLLIN, wk(WK_SLOT, idx));
		return;
	}
	s->started = true;
	if (w->forward)
		err = relay_adopt(&s->relay, fds[1]);
	else
		err = tls_conn_start(&w->resp, &s->tls, s->fd);
	if (err) {
		say(w, IPC_WARN, "slot %u: cannot start: %s", idx,
		    strerror(-err));
		slot_done(w, idx, IPC_ENDED);
		return;
	}
	ep(w, EPOLL_CTL_ADD, s->fd, EPOLLIN, wk(WK_SLOT, idx));
	if (s->relay.up_fd >= 0)
		ep(w, EPOLL_CTL_ADD, s->relay.up_fd, EPOLLIN | EPOLLOUT,
		   wk(WK_UP, idx));
	/* The hello is usually there already. */
	slot_pump(w, idx);
}

static void on_chal_add(struct worker *w, const struct ipc_view *v)
{
	const unsigned char *p = v->cert;
	X509 *cert = d2i_X509(NULL, &p, v->h.cert_len);
	EVP_PKEY *key;
	int err;

	p = v->key;
	key = d2i_AutoPrivateKey(NULL, &p, v->h.key_len);
	if (!cert || !key) {
		ERR_clear_error();
		X509_free(cert);
		EVP_PKEY_free(key);
		say(w, IPC_WARN, "challenge %s: unreadable certificate or key",
		    v->name);
		return;
	}
	err = responder_add(&w->resp, v->name, cert, key);
	if (err)
		say(w, IPC_WARN, "challenge %s: certificate and key refused",
		    v->name);
}

/* false: the monitor is gone or said so; the worker exits. */
static bool on_ipc(struct worker *w)
{
	struct ipc_view v;
	int fds[IPC_MAX_FDS], nfds, n;
	bool trunc;

	for (;;) {
		n = ipc_recv(w->ipc, w->buf, sizeof(w->buf), fds, &nfds,
			     &trunc);
		if (n == -EAGAIN)
			return true;
		if (n <= 0)
			return false;
		if (ipc_parse(w->buf, n, nfds, trunc, IPC_AT_WORKER, &v)) {
			while (nfds)
				close(fds[--nfds]);
			return false;
		}
		switch (v.h.type) {
		case IPC_SLOT:
			on_slot(w, &v, fds, nfds);
			break;
		case IPC_CANCEL:
			if (v.h.idx < w->max && w->slot[v.h.idx].busy &&
			    w->slot[v.h.idx].gen == v.h.gen)
				slot_close(w, &w->slot[v.h.idx]);
			break;
		case IPC_CHAL_ADD:
			on_chal_add(w, &v);
			break;
		case IPC_CHAL_DEL:
			responder_remove(&w->resp, v.name);
			break;
		case IPC_SHUTDOWN:
			return false;
		}
	}
}

static void loop(struct worker *w)
{
	struct epoll_event evs[64];
	int n, i;

	for (;;) {
		n = epoll_wait(w->epfd, evs, 64, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return;
		for (i = 0; i < n; i++) {
			__u64 key = evs[i].data.u64;
			__u32 idx = (__u32)key;

			switch ((enum wkey)(key >> 32)) {
			case WK_IPC:
				if (!on_ipc(w))
					return;
				break;
			case WK_SLOT:
			case WK_UP:
				if (idx < w->max)
					slot_pump(w, idx);
				break;
			}
		}
	}
}

/* The monitor's mappings of BPF maps went with the fork: the ring buffer
 * (its consumer page writable: the worker could make the monitor skip
 * events, and read who was steered) and any mmap-able map.  None stays. */
static void unmap_bpf(void)
{
	char line[512];
	unsigned long lo, hi;
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "anon_inode:bpf") &&
		    sscanf(line, "%lx-%lx", &lo, &hi) == 2)
			munmap((void *)lo, hi - lo);
	fclose(f);
}

/* Only the monitor's socket, and /dev/null on 0-2 (nothing of the
 * monitor's log: the worker's lines go through the monitor). */
static int own_fds_only(int ipc_fd)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC), fd = 3;

	if (null < 0)
		return -errno;
	dup2(null, 0);
	dup2(null, 1);
	dup2(null, 2);
	if (null > 2)
		close(null);
	if (ipc_fd != fd) {
		if (dup2(ipc_fd, fd) < 0)
			return -errno;
		close(ipc_fd);
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	syscall(SYS_close_range, fd + 1, ~0U, 0);
	return fd;
}

int worker_run(int ipc_fd, bool forward, __u32 pool_max)
{
	struct worker *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return 1;
	w->forward = forward;
	w->max = pool_max;
	/* In pages of its own, zero and untouched until a slot is first
	 * handed (on_slot()): from the heap, calloc() cleared them all, 90
	 * KiB of the worker's RSS at the default --pool-max 256. */
	w->slot = mmap(NULL, (size_t)pool_max * sizeof(*w->slot),
		       PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		       0);
	if (w->slot == MAP_FAILED)
		return 1;
	w->ipc = own_fds_only(ipc_fd);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->ipc < 0 || w->epfd < 0)
		return 1;
	unmap_bpf();
	/* Before the filter: OpenSSL reads its configuration here. */
	if (ossl_init_daemon() || responder_init(&w->resp))
		return 1;
	ep(w, EPOLL_CTL_ADD, w->ipc, EPOLLIN, wk(WK_IPC, 0));
	/* What the monitor freed before the fork need not stay resident. */
	malloc_trim(0);
	/* A slot socket (and its upstream) each, and a few to spare. */
	err = sandbox_worker(w->ipc, 2 * pool_max + 16);
	if (err) {
		say(w, IPC_WARN, "cannot confine the TLS worker: %s",
		    strerror(-err));
		return 1;
	}
	/* Set up and bound (-z now): the linker's tables are read no more,
	 * nor is libseccomp, and madvise is among the loop's calls
	 * (malloc's). */
	ld_pages_release();
	ld_object_release("libseccomp.so");
	loop(w);
	return 0;
}

int worker_exec_main(int argc, char **argv)
{
	int type = 0;
	socklen_t len = sizeof(type);
	unsigned long max;
	char *end;
	long mon;

	if (argc != 5)
		return 2;
	max = strtoul(argv[3], &end, 10);
	if (*end || !max || max > 65536)
		return 2;
	mon = strtol(argv[4], &end, 10);
	if (*end || mon <= 1)
		return 2;
	/* Its monitor gone, nobody would hand it anything (set again: only
	 * a change of credentials clears it at exec, but say it here). */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != (pid_t)mon)
		return 1;
	/* Run by hand, fd 3 is not the monitor's packet socket: refuse. */
	if (getsockopt(WORKER_IPC_FD, SOL_SOCKET, SO_TYPE, &type, &len) ||
	    type != SOCK_SEQPACKET)
		return 2;
	return worker_run(WORKER_IPC_FD, !strcmp(argv[2], "1"), (__u32)max);
}
