// SPDX-License-Identifier: GPL-2.0-only
/*
 * daemon.c - the alpnsteer daemon, the monitor: owns the responder pool
 * while attached, and hands each steered connection to its TLS worker,
 * which alone reads what the client sends (docs/design.md, "Privilege
 * separation"; daemon_worker.c).
 *
 * One thread, one epoll: the ring buffer (steered / client closed), the
 * free slot sockets no worker holds (each free slot is handed to the
 * worker in advance: daemon_worker.c), the worker's socket, signals and
 * a timer.
 * SIGTERM or SIGINT (or the draining flag set by `alpnsteer detach`) starts
 * the drain: nothing new is caught or steered, connections in flight finish,
 * and once the conns sockhash is empty everything is removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "alpnsteer_abi.h" /* before the skeleton: its .rodata uses it */
#include "alpnsteer.skel.h"
#include "control.h"
#include "daemon_int.h"
#include "evaddr.h"
#include "ldpages.h"
#include "log.h"
#include "msandbox.h"
#include "ossl_init.h"
#include "privdrop.h"
#include "worker.h"
#include "pool.h"

#define TICK_MS 100
#define SWEEP_TICKS 10

static void fmt_addr(const struct alpnsteer_event *e, char *buf, size_t len)
{
	evaddr_format(e, buf, len);
}

void slot_watch(struct daemon *d, __u32 idx)
{
	ep_set(d, EPOLL_CTL_ADD, d->pool.slot[idx].p_fd, EPOLLIN,
	       ev_key(EV_SLOT, idx));
}

/* A free slot, new or renewed: to the worker at once, so that the hello
 * steered to it is answered without waiting for us (docs/design.md, "The
 * messages"); watched by us only while no worker can take it. */
static void slot_offer(struct daemon *d, __u32 idx)
{
	if (!wk_hand_free(d, idx))
		slot_watch(d, idx);
}

/* The ring buffer's records, read now; never from inside its own
 * callback (libbpf has not yet moved past the record being handled). */
void rb_consume(struct daemon *d)
{
	if (d->in_rb)
		return;
	d->in_rb = true;
	ring_buffer__consume(d->rb);
	d->in_rb = false;
}

/* The owner the kernel's slot entry names (0: free, or unreadable). */
static __u64 kernel_owner(struct daemon *d, __u32 idx)
{
	struct alpnsteer_slot ks;

	if (bpf_map_lookup_elem(d->pool.map_slots, &idx, &ks))
		return 0;
	return ks.owner_cookie;
}

/*
 * The slot's handshake or relay is over, answered or not, or its client
 * is gone: it goes straight back to the pool, whether or not the client
 * is still connected (docs/design.md, "Hardening").  pool_recycle()
 * disowns it in the kernel first, so whatever that client still sends is
 * dropped, never seen by the slot's next client.  Waiting for the close
 * let anyone hold a slot for as long as the webserver kept the fd.
 */
void slot_recycle(struct daemon *d, __u32 idx)
{
	int err;

	/* A steered hello whose end nothing said (the worker died, no
	 * worker took it) is a failed one in the trace. */
	if (d->pool.slot[idx].state == SLOT_BUSY)
		dtrace_slot(d, idx, TR_FAILED, "ended");
	/* Taken back from the worker first: it closes its copy.  Its answer
	 * may already be on the way: keep who it was for. */
	if (d->pool.slot[idx].handed) {
		d->pool.slot[idx].taken_ev = d->pool.slot[idx].ev;
		d->pool.slot[idx].taken_gen = d->pool.slot[idx].gen;
	}
	wk_cancel(d, idx);
	err = pool_recycle(&d->pool, idx);

	if (err) {
		/* The slot stays out of free_slots: one fewer to steer to. */
		p_warn("cannot renew responder slot %u: %s", idx,
		       strerror(-err));
		return;
	}
	slot_offer(d, idx);
}

/*
 * Keep --pool slots free for the next hellos: the kernel takes a free
 * slot before the daemon hears of it, and a burst of validations (a
 * many-name order, each name validated from several networks at the same
 * instant) finds a slot only if one is already there.  So as slots are
 * taken the pool grows, POOL_STEP at a time, up to --pool-max; it does
 * not shrink while attached (a slot is one idle loopback pair).
 */
#define POOL_STEP 8
static void slot_headroom(struct daemon *d)
{
	struct pool *p = &d->pool;
	__u32 busy = pool_in_use(p), want = d->o->cfg.pool_size, old = p->size;
	__u32 n, i, rate;

	/* A hello no longer waits for us: the worker has its slot before
	 * we hear of it, and answers it while we may not run at all (two
	 * cores, a busy host: 60 ms without the CPU empties 64 free slots at
	 * 1,000 handshakes a second).  So the free slots also cover twice
	 * what was taken in the last tick (100 ms), up to --pool-max. */
	rate = d->taken_tick > d->taken_last ? d->taken_tick : d->taken_last;
	if (2 * rate > want)
		want = 2 * rate;

	if (p->size >= p->max || p->size - busy >= want)
		return;
	n = want - (p->size - busy);
	n = (n + POOL_STEP - 1) / POOL_STEP * POOL_STEP;
	pool_grow(p, n);
	for (i = old; i < p->size; i++)
		slot_offer(d, i);
	if (p->size > old)
		p_info("pool grown to %u slots (%u busy, at most %u)", p->size,
		       busy, p->max);
}

/* A client's hello is in slot @idx: the TLS worker answers it (or relays
 * it); the monitor never reads a byte of it (docs/design.md, "Privilege
 * separation"). */
static void slot_begin(struct daemon *d, __u32 idx, __u64 owner)
{
	struct slot *s = &d->pool.slot[idx];

	s->state = SLOT_BUSY;
	s->owner = owner;
	d->taken_tick++;
	clock_gettime(CLOCK_MONOTONIC, &s->since);
	slot_headroom(d);
	/* Handed free already: the worker has been reading it since. */
	if (s->handed)
		return;
	if (!wk_hand(d, idx)) {
		/* No worker (it is being restarted): this client gets no
		 * answer, its slot goes back at once. */
		p_info("slot %u: no TLS worker to take it", idx);
		dtrace_slot(d, idx, TR_FAILED, "no TLS worker");
		slot_recycle(d, idx);
	}
}

/* Bytes for a slot that has no handshake running are read and dropped. */
static void slot_discard(struct slot *s)
{
	char buf[4096];

	while (read(s->p_fd, buf, sizeof(buf)) > 0)
		;
}

/* The worker says slot @idx, whose client @ev said, answered @sni: counted
 * only if @sni is still pending and is the name the kernel steered (when
 * it said). */
void slot_answered(struct daemon *d, __u32 idx,
		   const struct alpnsteer_event *ev, const char *sni)
{
	char addr[INET6_ADDRSTRLEN + 8], esc[4 * ALPNSTEER_NAME_MAX + 1];
	struct challenge *c;
	size_t klen;

	if (!sni)
		return;
	klen = ev->sni_len < ALPNSTEER_NAME_MAX ? ev->sni_len : 0;
	c = challenges_find_sni(&d->store, sni);
	if (!c ||
	    (klen && (strlen(sni) != klen || memcmp(sni, ev->sni, klen)))) {
		log_escape(sni, strlen(sni), esc, sizeof(esc));
		p_warn("slot %u: the worker answered %s, %s: not counted", idx,
		       esc,
		       c ? "not the name the kernel steered" :
			   "no longer pending");
		return;
	}
	/* A v4-mapped client is counted as the IPv4 client it is. */
	challenges_note_answer(c, evaddr_format(ev, addr, sizeof(addr)), addr);
	p_info("answered %s for %s", addr, c->ident);
}

static void on_slot_io(struct daemon *d, __u32 idx)
{
	struct slot *s = &d->pool.slot[idx];
	struct alpnsteer_slot ks;

	/* Only free slots are watched here: a busy one is the worker's,
	 * and an event for it can still be in this epoll batch, behind the
	 * ring-buffer record that handed it over; so is a free one handed
	 * in advance.  Its bytes are not ours. */
	if (s->state != SLOT_FREE || s->handed)
		return;
	/* Data may outrun the ring-buffer event: the kernel's slot entry
	 * already names the owner. */
	if (bpf_map_lookup_elem(d->pool.map_slots, &idx, &ks) ||
	    !ks.owner_cookie) {
		slot_discard(s);
		return;
	}
	slot_begin(d, idx, ks.owner_cookie);
}

static int on_event(void *ctx, void *data, size_t size)
{
	const struct alpnsteer_event *e = data;
	struct daemon *d = ctx;
	struct slot *s;
	char addr[INET6_ADDRSTRLEN + 8], sni[4 * ALPNSTEER_NAME_MAX + 1];
	char via[INET6_ADDRSTRLEN + 16];

	/* The compact record of a hello left to the webserver. */
	if (size >= sizeof(struct alpnsteer_hello_event) &&
	    e->type == AE_HELLO) {
		dtrace_hello(d, data);
		return 0;
	}
	if (size < sizeof(*e) || e->slot >= d->pool.size)
		return 0;
	s = &d->pool.slot[e->slot];
	switch (e->type) {
	case AE_STEERED:
		fmt_addr(e, addr, sizeof(addr));
		/* The SNI is the client's, not a name we checked (--forward
		 * steers any): escaped, so it cannot forge log lines or
		 * reach a terminal as control sequences. */
		log_escape(e->sni,
			   e->sni_len < ALPNSTEER_NAME_MAX ? e->sni_len : 0,
			   sni, sizeof(sni));
		evaddr_via(e, via, sizeof(via));
		p_info("steered %s%s sni=%s to slot %u", addr, via, sni,
		       e->slot);
		/* A record read late, for a slot recycled since (its worker
		 * died, or its DONE came first and the record was read on a
		 * later call): the kernel has disowned it, and beginning it
		 * again would push it to free_slots twice at its recycling. */
		if (s->state == SLOT_FREE &&
		    kernel_owner(d, e->slot) == e->cookie)
			slot_begin(d, e->slot, e->cookie);
		if (s->owner == e->cookie)
			s->ev = *e;
		break;
	case AE_CLIENT_CLOSED:
		if (s->owner != e->cookie)
			break;
		p_info("slot %u: client closed", e->slot);
		/* The client's last bytes (its Finished, a close_notify) can
		 * trail this event: the kernel hands redirected bytes to the
		 * slot socket from a work queue.  The slot (busy: a free one
		 * has no owner) finishes with them first; the sweep recycles
		 * it if they never come. */
		s->client_closed = true;
		break;
	}
	return 0;
}

/*
 * The worker says handing @idx is over.  A slot handed free can be done
 * before its steering is read from the ring buffer (the kernel submits the
 * record before it redirects a byte, but the worker may be quicker to run
 * than we are): read it now; if it is lost, the kernel's slot entry names
 * the client.  IPC_CLIENT_NONE: nobody was steered there.
 */
enum ipc_client slot_client(struct daemon *d, __u32 idx)
{
	struct slot *s = &d->pool.slot[idx];
	enum ipc_client c;
	__u64 owner = 0;

	if (s->state == SLOT_FREE)
		rb_consume(d);
	if (s->state == SLOT_FREE)
		owner = kernel_owner(d, idx);
	c = ipc_done_client(s->state != SLOT_FREE, owner);
	if (c == IPC_CLIENT_KERNEL)
		slot_begin(d, idx, owner);
	return c;
}

/* Free slot @idx was handed to a worker that is gone: what the kernel
 * steered to it is recycled with the dead worker's other slots; one still
 * free stays in free_slots (pushing it again would put it there twice)
 * and is ours to watch until the next worker is handed it. */
void slot_unhand_free(struct daemon *d, __u32 idx)
{
	struct slot *s = &d->pool.slot[idx];

	s->handed = false;
	if (kernel_owner(d, idx)) {
		slot_recycle(d, idx);
		return;
	}
	slot_watch(d, idx);
}

/* The slot's client is still in the sockhash. */
static bool owner_held(struct daemon *d, __u64 owner)
{
	__u64 val;

	return !bpf_map_lookup_elem(d->conns_fd, &owner, &val) ||
	       errno != ENOENT;
}

/* Caught sockets, steered or not. */
static int held(struct daemon *d)
{
	return steer_conns_count(d->conns_fd);
}

/* Catch what events cannot: a lost ring-buffer record, a silent client. */
static void sweep(struct daemon *d)
{
	struct timespec now;
	__u32 i;

	clock_gettime(CLOCK_MONOTONIC, &now);
	rb_consume(d);
	for (i = 0; i < d->pool.size; i++) {
		struct slot *s = &d->pool.slot[i];
		__u64 owner;

		/* A free slot handed in advance is not watched by us: should
		 * the record of its steering be lost, the kernel says it is
		 * taken, and it gets its timeout like any other. */
		if (s->state == SLOT_FREE && s->handed &&
		    (owner = kernel_owner(d, i)))
			slot_begin(d, i, owner);
		if (s->state == SLOT_FREE)
			continue;
		if (!owner_held(d, s->owner)) {
			dtrace_slot(d, i, TR_FAILED, "client closed");
			slot_recycle(d, i);
			continue;
		}
		/* A silent or slow client loses its slot at the timeout,
		 * connected or not: the next validation must find one. */
		if (s->state == SLOT_BUSY &&
		    now.tv_sec - s->since.tv_sec >= d->o->a.timeout) {
			p_info("slot %u: handshake timed out", i);
			dtrace_slot(d, i, TR_FAILED, "timeout");
			slot_recycle(d, i);
		}
	}
}

static void start_drain(struct daemon *d, const char *why)
{
	__u32 zero = 0;
	struct alpnsteer_settings cfg;

	if (d->draining)
		return;
	d->draining = true;
	if (!bpf_map_lookup_elem(d->settings_fd, &zero, &cfg)) {
		cfg.draining = 1;
		bpf_map_update_elem(d->settings_fd, &zero, &cfg, BPF_EXIST);
	}
	p_info("draining (%s): %d connections held", why, held(d));
}

/* Asked to stop (SIGTERM: the keeper, once the drain is over, or a
 * service manager) and nothing left in conns: time to exit.  A drain the
 * draining flag started never ends the daemon by itself: the keeper
 * decides, under the lifecycle's lock, so that an attach may still call
 * it off (docs/design.md, "Lifecycle"). */
static bool drained(struct daemon *d)
{
	return d->stop && d->draining && held(d) == 0;
}

static void say_expired(const struct challenge *c)
{
	p_info("challenge %s expired (ttl): no longer answered", c->ident);
}

/* true when the daemon should exit. */
static bool on_tick(struct daemon *d)
{
	struct alpnsteer_settings cfg;
	__u32 zero = 0;
	__u64 exp;

	if (read(d->timerfd, &exp, sizeof(exp)) < 0)
		return false;
	if (!bpf_map_lookup_elem(d->settings_fd, &zero, &cfg)) {
		if (!d->draining && cfg.draining)
			start_drain(d, "detach");
		else if (d->draining && !d->stop && !cfg.draining) {
			/* An attach with the same options called it off. */
			d->draining = false;
			p_info("steering again: the drain was called off");
		}
	}
	ctl_expire(d, false);
	/* Our own clock, whoever added it: the agent may be dead. */
	if (challenges_expire(&d->store, time(NULL), say_expired) > 0)
		sync_policy(d);
	wk_tick(d);
	d->taken_last = d->taken_tick;
	d->taken_tick = 0;
	if (++d->ticks % SWEEP_TICKS == 0) {
		sweep(d);
		dmetrics(d);
	}
	return drained(d);
}

static bool on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	if (read(d->sigfd, &si, sizeof(si)) != sizeof(si))
		return false;
	if (si.ssi_signo == SIGCHLD)
		wk_on_sigchld(d);
	if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
		d->stop = true;
		start_drain(d, si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
	}
	/* Nothing held: go now rather than at the next tick, which was up
	 * to TICK_MS of every detach with nothing in flight. */
	return drained(d);
}

static int setup_loop(struct daemon *d)
{
	struct itimerspec its = {
		.it_interval = { 0, TICK_MS * 1000000L },
		.it_value = { 0, TICK_MS * 1000000L },
	};
	sigset_t mask;
	__u32 i;
	int err;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGCHLD); /* the TLS worker */
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	d->timerfd =
		timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->sigfd < 0 || d->timerfd < 0 || d->epfd < 0)
		return -errno;
	timerfd_settime(d->timerfd, 0, &its, NULL);
	d->rb = ring_buffer__new(bpf_map__fd(d->steer.skel->maps.events),
				 on_event, d, NULL);
	if (!d->rb)
		return -errno;
	err = ep_set(d, EPOLL_CTL_ADD, ring_buffer__epoll_fd(d->rb), EPOLLIN,
		     ev_key(EV_RING, 0));
	err = err   ?:
		      ep_set(d, EPOLL_CTL_ADD, d->sigfd, EPOLLIN,
			     ev_key(EV_SIGNAL, 0));
	err = err   ?:
		      ep_set(d, EPOLL_CTL_ADD, d->timerfd, EPOLLIN,
			     ev_key(EV_TIMER, 0));
	for (i = 0; !err && i < d->pool.size; i++)
		err = ep_set(d, EPOLL_CTL_ADD, d->pool.slot[i].p_fd, EPOLLIN,
			     ev_key(EV_SLOT, i));
	return err;
}

static void loop(struct daemon *d)
{
	struct epoll_event evs[64];
	int n, i;

	for (;;) {
		n = epoll_wait(d->epfd, evs, 64, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return;
		for (i = 0; i < n; i++) {
			__u64 key = evs[i].data.u64;
			__u32 idx = (__u32)key;

			switch ((enum ev_kind)(key >> 32)) {
			case EV_RING:
				rb_consume(d);
				break;
			case EV_SIGNAL:
				if (on_signal(d))
					return;
				break;
			case EV_TIMER:
				if (on_tick(d))
					return;
				break;
			case EV_CONTROL:
				on_control(d);
				break;
			case EV_ALPNDIR:
				on_alpndir(d);
				break;
			case EV_CTL_CLIENT:
				on_ctl_client(d, idx);
				break;
			case EV_SLOT:
			case EV_UPSTREAM:
				if (idx < d->pool.size)
					on_slot_io(d, idx);
				break;
			case EV_WORKER:
				wk_on_io(d, evs[i].events);
				break;
			}
		}
	}
}

void daemon_ready(int fd, char status)
{
	if (fd < 0)
		return;
	if (write(fd, &status, 1) < 0)
		p_debug("readiness pipe: %s", strerror(errno));
	close(fd);
}

void daemon_to_log(int fd)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		close(null);
	}
	if (fd >= 0)
		dup2(fd, STDERR_FILENO);
	log_daemon = true;
}

static int drop_root(const struct daemon_opts *o)
{
	/* Nothing is handed over: the pin and run directories stay root's,
	 * and the keeper (root) removes what is in them once drained. */
	unsigned int said = log_errors;
	int err;

	err = privdrop(o->a.user, o->a.alpn_dir[0] != '\0', NULL);
	if (err && log_errors == said) {
		p_err("cannot drop privileges to %s: %s", o->a.user,
		      strerror(-err));
		p_hint("the daemon needs CAP_SETUID and CAP_SETGID to become %s (a unit's CapabilityBoundingSet= must keep them), or give --user root",
		       o->a.user);
	}
	if (err)
		return err;
	/* The keeper gone, nobody would end the drain: drain and go. */
	if (o->keeper_pid > 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != o->keeper_pid)
			kill(getpid(), SIGTERM);
	}
	return 0;
}

int daemon_run(const struct daemon_opts *o, int ready_fd)
{
	struct daemon d = { .o = o,
			    .sigfd = -1,
			    .timerfd = -1,
			    .epfd = -1,
			    .ctl_fd = -1,
			    .dir_fd = -1,
			    .wfd = -1,
			    .exe_fd = -1,
			    .metrics_dfd = -1 };
	unsigned int said = log_errors;
	struct alpnsteer_bpf *k;
	int err, logfd = o->log_fd;

	/* The TLS worker is exec'd from its image, clean of what we hold
	 * by then (docs/design.md, "The worker"): opened now, as root, so that
	 * a later upgrade of the file changes nothing, and no path is
	 * looked up after the privilege drop. */
	d.exe_fd = worker_image_open();
	/* Never fd 3, where the worker's socket goes before the exec: the
	 * seccomp filter allows an exec of this descriptor number only. */
	if (d.exe_fd >= 0 && d.exe_fd <= WORKER_IPC_FD) {
		int hi = fcntl(d.exe_fd, F_DUPFD_CLOEXEC, WORKER_IPC_FD + 1);
		int e = errno;

		close(d.exe_fd);
		d.exe_fd = hi < 0 ? -e : hi;
	}
	if (d.exe_fd < 0) {
		err = d.exe_fd;
		p_err("cannot open the TLS worker's image: %s", strerror(-err));
		p_hint("it is alpnsteer-worker beside alpnsteer or in ../libexec/alpnsteer/, else /proc/self/exe: a /proc with the daemon's own pid is needed");
		goto out;
	}
	/* The trace's memory is bounded (trace.h) and taken once. */
	d.store.trace = trace_new();
	err = d.store.trace ? 0 : -ENOMEM;
	err = err ?: steer_load(&d.steer, &o->cfg, o->paths.pin_dir);
	if (err)
		goto out;
	k = d.steer.skel;
	d.conns_fd = bpf_map__fd(k->maps.conns);
	d.settings_fd = bpf_map__fd(k->maps.settings);
	d.pending_fd = bpf_map__fd(k->maps.pending_names);
	err = add_domains(&d);
	err = err ?: steer_attach_map_progs(&d.steer);
	err = err   ?:
		      pool_init(&d.pool, bpf_map__fd(k->maps.pool),
				bpf_map__fd(k->maps.pool_peer),
				bpf_map__fd(k->maps.pool_ports),
				bpf_map__fd(k->maps.slots),
				bpf_map__fd(k->maps.free_slots),
				o->cfg.pool_size, o->a.pool_max);
	err = err ?: setup_loop(&d);
	err = err ?: setup_sources(&d);
	err = err ?: sync_policy(&d);
	/* Last: from this instant new connections are caught. */
	err = err ?: steer_attach_sockops(&d.steer);
	err = err ?: steer_attach_preclass(&d.steer, &o->cfg);
	if (err)
		goto out;

	/* The keeper writes the record once told we are live. */
	err = drop_root(o);
	/* Set up, and no longer root: from here on the loop's calls only
	 * (msandbox.c), and the worker starts under this filter too. */
	if (!err)
		dtrace_prepare(&d);
	/* After the load of the programs (its peak) and before the filter
	 * (OpenSSL reads its configuration). */
	err = err ?: ossl_init_daemon();
	/* What only the load read leaves the RSS, before the loop. */
	if (!err)
		steer_release_image();
	if (!err) {
		err = monitor_sandbox(d.exe_fd, d.metrics_dfd);
		/* Filter and programs loaded: what only did that leaves
		 * the RSS (user/worker/ldpages.c). */
		if (!err) {
			ld_object_release("libseccomp.so");
			ld_object_release("libelf");
		}
		if (err) {
			p_err("cannot confine the daemon (seccomp): %s",
			      strerror(-err));
			p_hint("the kernel needs seccomp filters (CONFIG_SECCOMP_FILTER), and a unit's SystemCallFilter= must allow seccomp");
		}
	}
	/* Its own confinement is the worker's first act; forked after the
	 * monitor's drop, it starts with nothing to give up but that. */
	err = err ?: wk_start(&d);
	if (err)
		goto out;
	if (ready_fd >= 0) {
		daemon_ready(ready_fd, 0);
		ready_fd = -1;
		if (logfd >= 0) {
			daemon_to_log(logfd);
			close(logfd);
			logfd = -1;
		}
	}
	p_info("attached: pid %d, pool %u, responder %s", (int)getpid(),
	       o->cfg.pool_size, forwarding(&d) ? o->a.forward : "built-in");
	loop(&d);
	p_info("drained; removing links and maps");
out:
	/* Every failed attach says what failed, once: a step above that
	 * returned -errno without a word gets this one. */
	if (err && log_errors == said) {
		p_err("cannot attach: %s", strerror(-err));
		p_hint("run 'alpnsteer -d attach' for libbpf's messages; 'alpnsteer features' tells what this kernel lacks");
	}
	wk_stop(&d);
	daemon_ready(ready_fd, 1);
	steer_destroy(&d.steer);
	pool_free(&d.pool);
	ring_buffer__free(d.rb);
	if (d.epfd >= 0)
		close(d.epfd);
	if (d.sigfd >= 0)
		close(d.sigfd);
	if (d.timerfd >= 0)
		close(d.timerfd);
	if (d.ctl_fd >= 0) {
		close(d.ctl_fd);
		unlink(d.ctl_path);
	}
	if (d.dir_fd >= 0)
		close(d.dir_fd);
	if (d.exe_fd >= 0)
		close(d.exe_fd);
	if (d.metrics_dfd >= 0)
		close(d.metrics_dfd);
	challenges_free(&d.store);
	trace_free(d.store.trace);
	if (logfd >= 0)
		close(logfd);
	return err;
}
