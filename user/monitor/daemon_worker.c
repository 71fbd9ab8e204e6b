// SPDX-License-Identifier: GPL-2.0-only
/*
 * daemon_worker.c - the monitor's side of the TLS worker (docs/design.md,
 * "Privilege separation").
 *
 * The monitor forks the worker once it has given up root, hands it each
 * free slot's socket in advance (each busy one's with --forward) and the
 * certificates of the pending names, and
 * believes nothing it sends back without checking: a message that does
 * not parse, or a slot that was never handed over, kills the worker.
 * When the worker dies, for whatever reason, its slots are recycled (the
 * kernel drops what their clients still send) and a new worker is
 * started, at once the first time, later after one that died young; the
 * monitor, the maps and the webserver's connections are not touched.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <limits.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <openssl/x509.h>

#include "daemon_int.h"
#include "ipc.h"
#include "log.h"
#include "relay.h"
#include "worker.h"

/* Messages the worker has not read yet: past this it is not reading. */
#define WQ_MAX_BYTES (8u << 20)
/* Log lines it may send per tick (100 ms); the rest are dropped. */
#define WLOG_PER_TICK 20
/* Messages read from the worker per wake-up, and the time they may take:
 * a count alone let a flooding worker keep the monitor at 92 % CPU (each
 * message can cost a log line or a slot's recycling), so past the budget
 * the monitor goes back to epoll, which reports the socket again. */
#define WK_BATCH 64
#define WK_BUDGET_NS 2000000L /* 2 ms */
/* A worker that lived less than this is restarted after a delay. */
#define WYOUNG_MS 5000

static long ms_between(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000 +
	       (b->tv_nsec - a->tv_nsec) / 1000000;
}

static void wq_free(struct wk_msg *m)
{
	int i;

	for (i = 0; i < m->nfds; i++)
		close(m->fds[i]);
	free(m);
}

static void wk_kill(struct daemon *d, const char *why);

/* Send what is queued; wait for EPOLLOUT when the socket is full. */
static void wk_flush(struct daemon *d)
{
	struct wk_msg *m;
	int err;

	while ((m = d->wq)) {
		err = ipc_send(d->wfd, m->data, m->len, m->fds, m->nfds, false);
		if (err == -EAGAIN) {
			ep_set(d, EPOLL_CTL_MOD, d->wfd, EPOLLIN | EPOLLOUT,
			       ev_key(EV_WORKER, 0));
			return;
		}
		if (err) {
			wk_kill(d, strerror(-err));
			return;
		}
		d->wq = m->next;
		if (!d->wq)
			d->wq_tail = &d->wq;
		d->wq_bytes -= m->len;
		wq_free(m);
	}
	ep_set(d, EPOLL_CTL_MOD, d->wfd, EPOLLIN, ev_key(EV_WORKER, 0));
}

/* Queue one message; @fds are the monitor's own to give (closed here). */
static void wk_send(struct daemon *d, const struct ipc_hdr *h, const char *name,
		    const void *cert, const void *key, const int *fds, int nfds)
{
	struct wk_msg *m;
	int i, n;

	static unsigned char scratch[IPC_MAX_MSG];

	if (d->wfd < 0)
		goto drop;
	/* Queued at its own size: a worker restarted with 1,024 names
	 * pending is sent 1,024 certificates at once. */
	n = ipc_build(scratch, h, name, cert, key, NULL);
	if (n < 0)
		goto drop;
	m = malloc(sizeof(*m) + n);
	if (!m)
		goto drop;
	memcpy(m->data, scratch, n);
	m->len = n;
	m->nfds = nfds;
	for (i = 0; i < nfds; i++)
		m->fds[i] = fds[i];
	m->next = NULL;
	*d->wq_tail = m;
	d->wq_tail = &m->next;
	d->wq_bytes += n;
	if (d->wq_bytes > WQ_MAX_BYTES) {
		wk_kill(d, "it stopped reading its socket");
		return;
	}
	wk_flush(d);
	return;
drop:
	for (i = 0; i < nfds; i++)
		close(fds[i]);
}

static void send_cert(struct daemon *d, struct challenge *c)
{
	struct ipc_hdr h = { .type = IPC_CHAL_ADD };
	unsigned char *cert = NULL, *key = NULL;
	int cl, kl;

	cl = i2d_X509(c->cert, &cert);
	kl = i2d_PrivateKey(c->key, &key);
	if (cl <= 0 || kl <= 0 || cl > IPC_DER_MAX || kl > IPC_DER_MAX) {
		p_warn("challenge %s: certificate or key too large for the TLS worker",
		       c->ident);
	} else {
		h.cert_len = cl;
		h.key_len = kl;
		wk_send(d, &h, c->sni, cert, key, NULL, 0);
		c->in_worker = true;
	}
	OPENSSL_free(cert);
	OPENSSL_clear_free(key, kl > 0 ? kl : 0);
}

void wk_sync(struct daemon *d)
{
	struct challenge *c;

	/* A relay needs no certificate; --domain names have none. */
	if (forwarding(d) || d->wfd < 0)
		return;
	for (c = d->store.head; c; c = c->next)
		if (!c->in_worker)
			send_cert(d, c);
}

static void on_remove(void *arg, const struct challenge *c)
{
	struct daemon *d = arg;
	struct ipc_hdr h = { .type = IPC_CHAL_DEL };

	if (c->in_worker)
		wk_send(d, &h, c->sni, NULL, NULL, NULL, 0);
}

bool wk_hand(struct daemon *d, __u32 idx)
{
	struct slot *s = &d->pool.slot[idx];
	struct ipc_hdr h = { .type = IPC_SLOT, .idx = idx };
	int fds[2], n = 1;

	if (d->wfd < 0)
		return false;
	fds[0] = fcntl(s->p_fd, F_DUPFD_CLOEXEC, 3);
	if (fds[0] < 0)
		return false;
	if (forwarding(d)) {
		/* The monitor connects; the worker may not. */
		fds[1] = relay_connect((struct sockaddr *)&d->o->fwd_addr,
				       d->o->fwd_len);
		if (fds[1] < 0) {
			p_warn("slot %u: cannot reach %s: %s", idx,
			       d->o->a.forward, strerror(-fds[1]));
			close(fds[0]);
			return false;
		}
		n = 2;
	}
	/* The worker reads it from now on, not us. */
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, s->p_fd, NULL);
	h.gen = ++s->gen;
	s->handed = true;
	/* Should the worker be killed on the way, the slot is recycled
	 * with its other ones: it is handled either way. */
	wk_send(d, &h, NULL, NULL, NULL, fds, n);
	return true;
}

bool wk_hand_free(struct daemon *d, __u32 idx)
{
	struct slot *s = &d->pool.slot[idx];
	struct ipc_hdr h = { .type = IPC_SLOT,
			     .arg = IPC_SLOT_FREE,
			     .idx = idx };
	int fd;

	/* --forward needs an upstream per client, connected by us once one
	 * is there: those slots are handed busy, as they always were. */
	if (d->wfd < 0 || forwarding(d) || s->p_fd < 0 || s->handed ||
	    s->state != SLOT_FREE)
		return false;
	fd = fcntl(s->p_fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return false;
	/* The worker reads it from now on, not us. */
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, s->p_fd, NULL);
	h.gen = ++s->gen;
	s->handed = true;
	wk_send(d, &h, NULL, NULL, NULL, &fd, 1);
	return true;
}

/* A new worker is handed every free slot: the old one's went with it. */
static void hand_free_slots(struct daemon *d)
{
	__u32 i;

	for (i = 0; i < d->pool.size && d->wfd >= 0; i++)
		wk_hand_free(d, i);
}

void wk_cancel(struct daemon *d, __u32 idx)
{
	struct slot *s = &d->pool.slot[idx];
	struct ipc_hdr h = { .type = IPC_CANCEL, .idx = idx, .gen = s->gen };

	if (!s->handed)
		return;
	s->handed = false;
	wk_send(d, &h, NULL, NULL, NULL, NULL, 0);
}

static const char *sig_name(int sig)
{
	return sig == SIGSYS ?
		       " (SIGSYS: a system call outside its seccomp allow-list)" :
	       sig == SIGKILL ? " (SIGKILL)" :
				"";
}

/* The worker is gone (reaped, status @st): recycle its slots, forget
 * what it had, and plan the next one. */
static void wk_lost(struct daemon *d, int st)
{
	struct challenge *c;
	struct timespec now;
	struct wk_msg *m;
	long lived;
	__u32 i, n = 0;

	if (WIFSIGNALED(st))
		p_warn("TLS worker %d killed by signal %d%s", (int)d->wpid,
		       WTERMSIG(st), sig_name(WTERMSIG(st)));
	else
		p_info("TLS worker %d exited with status %d", (int)d->wpid,
		       WEXITSTATUS(st));
	d->wpid = 0;
	if (d->wfd >= 0) {
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, d->wfd, NULL);
		close(d->wfd);
		d->wfd = -1;
	}
	while ((m = d->wq)) {
		d->wq = m->next;
		wq_free(m);
	}
	d->wq_tail = &d->wq;
	d->wq_bytes = 0;
	/* Who was steered where, before its slots are sorted out: a free
	 * slot handed in advance may have a client we have not heard of. */
	rb_consume(d);
	for (i = 0; i < d->pool.size; i++) {
		if (!d->pool.slot[i].handed)
			continue;
		if (d->pool.slot[i].state == SLOT_FREE) {
			slot_unhand_free(d, i);
			continue;
		}
		d->pool.slot[i].handed = false;
		slot_recycle(d, i);
		n++;
	}
	for (c = d->store.head; c; c = c->next)
		c->in_worker = false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	lived = ms_between(&d->wstarted, &now);
	d->wquick = lived < WYOUNG_MS ? d->wquick + 1 : 0;
	d->wrestart_at = now;
	if (d->wquick) {
		long delay = 100L << (d->wquick < 6 ? d->wquick : 6);

		d->wrestart_at.tv_sec += delay / 1000;
		d->wrestart_at.tv_nsec += (delay % 1000) * 1000000L;
	}
	d->wrestart = !d->stop;
	p_info("%u slots in flight recycled; %s", n,
	       d->wrestart ? "a new TLS worker follows" : "stopping");
}

/* A protocol violation, or a worker that does not read: it goes now.
 * @why NULL: its socket closed, it is exiting (or says so: it goes all
 * the same); a SIGKILL does not change the status of an exiting task. */
static void wk_kill(struct daemon *d, const char *why)
{
	int st = 0;
	pid_t pid = d->wpid;

	if (pid <= 0)
		return;
	if (why)
		p_warn("TLS worker %d: %s: killed", (int)pid, why);
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	wk_lost(d, st);
}

void wk_on_sigchld(struct daemon *d)
{
	int st;

	if (d->wpid > 0 && waitpid(d->wpid, &st, WNOHANG) == d->wpid)
		wk_lost(d, st);
}

static void on_log(struct daemon *d, const struct ipc_view *v)
{
	char text[4 * IPC_TEXT_MAX + 1];

	if (d->wlog_budget <= 0)
		return;
	d->wlog_budget--;
	/* Its words, not ours: escaped like a client's SNI. */
	log_escape(v->text, v->h.text_len, text, sizeof(text));
	if (v->h.arg == IPC_WARN)
		p_warn("worker: %s", text);
	else
		p_info("worker: %s", text);
}

/* A DONE about a slot the monitor gave it no business with: the worker
 * goes (false, for on_msg() to return). */
static bool slot_violation(struct daemon *d, const struct ipc_view *v,
			   const char *what)
{
	char why[128];

	snprintf(why, sizeof(why),
		 "protocol violation (slot %u, handing %u: %s)", v->h.idx,
		 v->h.gen, what);
	wk_kill(d, why);
	return false;
}

/* One message from the worker; false: a violation (it was killed). */
static bool on_msg(struct daemon *d, const void *buf, int n, int *fds, int nfds,
		   bool trunc)
{
	struct ipc_view v;
	struct slot *s;
	char why[96];

	if (ipc_parse(buf, n, nfds, trunc, IPC_AT_MONITOR, &v)) {
		while (nfds)
			close(fds[--nfds]);
		snprintf(why, sizeof(why),
			 "protocol violation (a malformed message of %d bytes)",
			 n);
		wk_kill(d, why);
		return false;
	}
	if (v.h.type == IPC_LOG) {
		on_log(d, &v);
		return true;
	}
	switch (ipc_done_verdict(
		v.h.idx, v.h.gen, d->pool.size,
		v.h.idx < d->pool.size ? d->pool.slot[v.h.idx].gen : 0,
		v.h.idx < d->pool.size && d->pool.slot[v.h.idx].handed,
		v.h.idx < d->pool.size ? d->pool.slot[v.h.idx].taken_gen : 0)) {
	case IPC_VIOLATION:
		return slot_violation(d, &v, "never handed over");
	case IPC_STALE:
		return true;
	case IPC_LATE:
		s = &d->pool.slot[v.h.idx];
		/* Once: a second DONE for it is stale. */
		if (v.h.gen == s->taken_gen && v.h.gen != s->gen)
			s->taken_gen = 0;
		if (v.h.arg == IPC_ANSWERED) {
			slot_answered(d, v.h.idx, &s->taken_ev, v.name);
			/* Traced failed at the take-back: it was not. */
			dtrace_late_answer(d, &s->taken_ev);
		}
		return true;
	case IPC_ACCEPT:
		break;
	}
	s = &d->pool.slot[v.h.idx];
	/* Handed free, it may be done before we read who its client was. */
	if (s->state == SLOT_FREE && slot_client(d, v.h.idx) == IPC_CLIENT_NONE)
		return slot_violation(d, &v, "no client was steered to it");
	/* Reading the ring buffer can have cost this worker its life (a
	 * queue past its limit): nothing of it is to be believed then. */
	if (d->wfd < 0 || !s->handed)
		return false;
	s->handed = false;
	if (IPC_DONE_RESULT(v.h.arg) == IPC_GONE)
		p_info("slot %u: client gone", v.h.idx);
	slot_answered(d, v.h.idx, &s->ev,
		      IPC_DONE_RESULT(v.h.arg) == IPC_ANSWERED ? v.name : NULL);
	dtrace_done(d, v.h.idx, v.h.arg);
	slot_recycle(d, v.h.idx);
	return true;
}

void wk_on_io(struct daemon *d, unsigned int events)
{
	static unsigned char buf[IPC_MAX_MSG];
	int fds[IPC_MAX_FDS], nfds, n, i;
	struct timespec t0, t;
	bool trunc;

	if (d->wfd < 0)
		return;
	if (events & EPOLLOUT)
		wk_flush(d);
	/* A batch at a time: a worker that floods its socket must not keep
	 * the monitor from its other events (epoll says again). */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < WK_BATCH && d->wfd >= 0; i++) {
		if (i && !(i & 7)) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			if ((t.tv_sec - t0.tv_sec) * 1000000000L + t.tv_nsec -
				    t0.tv_nsec >
			    WK_BUDGET_NS)
				return;
		}
		n = ipc_recv(d->wfd, buf, sizeof(buf), fds, &nfds, &trunc);
		if (n == -EAGAIN)
			return;
		if (n <= 0) {
			/* Its end closed: it is exiting, or gone. */
			wk_kill(d, n ? strerror(-n) : NULL);
			return;
		}
		if (!on_msg(d, buf, n, fds, nfds, trunc))
			return;
	}
}

/* @path, if it is a worker image root may trust: a regular file owned by
 * root (or by us) that nobody else may write.  Opened as root, so a file
 * anyone could replace would be an easy way into the worker. */
static int image_open(const char *path)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    (st.st_uid && st.st_uid != geteuid()) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		p_warn("%s: not a root-owned file only root may write; not used",
		       path);
		close(fd);
		return -EPERM;
	}
	return fd;
}

int worker_image_open(void)
{
	/* Beside our binary (the build tree); PREFIX/sbin/alpnsteer and
	 * PREFIX/libexec/alpnsteer/alpnsteer-worker, as make install and
	 * the package lay them out. */
	static const char *const where[] = {
		"alpnsteer-worker",
		"../libexec/alpnsteer/alpnsteer-worker",
	};
	char self[PATH_MAX], path[PATH_MAX + 64], *slash;
	ssize_t n;
	size_t i;
	int fd;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash)
			*slash = '\0';
		for (i = 0; slash && i < sizeof(where) / sizeof(where[0]);
		     i++) {
			snprintf(path, sizeof(path), "%s/%s", self, where[i]);
			fd = image_open(path);
			if (fd >= 0)
				return fd;
		}
	}
	/* Not installed with it: our own binary's worker mode
	 * (WORKER_ARGV1), the same code with every library mapped. */
	p_info("no alpnsteer-worker beside %s: the TLS worker is exec'd from alpnsteer itself",
	       n > 0 ? self : "/proc/self/exe");
	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/*
 * In the child: become the worker by exec'ing its image
 * (worker_image_open(); worker_exec_main()).  A fork alone left it a copy of everything the
 * monitor held, and in agent mode everything the agent held before the
 * keeper's fork: every key authorization was found in its memory.
 */
static void __attribute__((noreturn))
wk_exec(const struct daemon *d, int sock, pid_t monitor)
{
	extern char **environ;
	char fwd[2] = { forwarding(d) ? '1' : '0', 0 }, max[16], mon[16];
	char *argv[] = { "alpnsteer", WORKER_ARGV1, fwd, max, mon, NULL };
	int exe = d->exe_fd;
	sigset_t none;

	/* The monitor gone, nobody would hand it anything. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != monitor)
		_exit(1);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	snprintf(max, sizeof(max), "%u", d->pool.max);
	snprintf(mon, sizeof(mon), "%d", (int)monitor);
	/* Its socket on fd 3, open across the exec (the binary's fd is
	 * never 3: daemon_run()). */
	if (sock == WORKER_IPC_FD)
		fcntl(sock, F_SETFD, 0);
	else if (dup2(sock, WORKER_IPC_FD) < 0)
		_exit(127);
	syscall(SYS_execveat, exe, "", argv, environ, AT_EMPTY_PATH);
	p_err("cannot start the TLS worker: execveat: %s", strerror(errno));
	p_hint("the daemon's user must be allowed to execute alpnsteer-worker (or alpnsteer)");
	_exit(127);
}

int wk_start(struct daemon *d)
{
	int sv[2];
	pid_t pid, monitor = getpid();

	d->store.on_remove = on_remove;
	d->store.arg = d;
	if (!d->wq_tail)
		d->wq_tail = &d->wq;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -errno;
	}
	if (pid == 0)
		wk_exec(d, sv[1], monitor);
	close(sv[1]);
	d->wpid = pid;
	d->wfd = sv[0];
	d->wrestart = false;
	clock_gettime(CLOCK_MONOTONIC, &d->wstarted);
	fcntl(d->wfd, F_SETFL, fcntl(d->wfd, F_GETFL) | O_NONBLOCK);
	if (ep_set(d, EPOLL_CTL_ADD, d->wfd, EPOLLIN, ev_key(EV_WORKER, 0))) {
		wk_kill(d, "cannot watch its socket");
		return -EIO;
	}
	p_info("TLS worker %d started", (int)pid);
	wk_sync(d);
	hand_free_slots(d);
	return 0;
}

void wk_tick(struct daemon *d)
{
	struct timespec now;
	int err;

	d->wlog_budget = WLOG_PER_TICK;
	if (!d->wrestart || d->stop)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (ms_between(&d->wrestart_at, &now) < 0)
		return;
	err = wk_start(d);
	if (err) {
		p_warn("cannot start a TLS worker: %s", strerror(-err));
		d->wrestart = true;
		d->wrestart_at = now;
		d->wrestart_at.tv_sec += 1;
	}
}

/* At the monitor's exit: nothing it holds outlives it anyway. */
void wk_stop(struct daemon *d)
{
	struct wk_msg *m;
	int st;

	d->wrestart = false;
	if (d->wpid > 0) {
		kill(d->wpid, SIGKILL);
		while (waitpid(d->wpid, &st, 0) < 0 && errno == EINTR)
			;
		d->wpid = 0;
	}
	if (d->wfd >= 0)
		close(d->wfd);
	d->wfd = -1;
	while ((m = d->wq)) {
		d->wq = m->next;
		wq_free(m);
	}
	d->wq_tail = &d->wq;
}
