/* SPDX-License-Identifier: GPL-2.0-only */
/* daemon_int.h - the monitor's state, shared by daemon.c (the loop, the
 * pool), daemon_ctl.c (control socket, --alpn-dir, policy) and
 * daemon_worker.c (the TLS worker, seen from the monitor). */
#ifndef ALPNSTEER_DAEMON_INT_H
#define ALPNSTEER_DAEMON_INT_H

#include <errno.h>
#include <stdbool.h>
#include <time.h>
#include <sys/epoll.h>
#include <bpf/libbpf.h>

#include "challenges.h"
#include "control.h"
#include "ctlproto.h"
#include "ipc.h"
#include "daemon.h"
#include "loader.h"
#include "pool.h"

enum ev_kind {
	EV_RING = 1,
	EV_SIGNAL,
	EV_TIMER,
	EV_SLOT,
	EV_UPSTREAM,
	EV_CONTROL,
	EV_ALPNDIR,
	EV_CTL_CLIENT,
	EV_WORKER,
};

/* A message for the TLS worker waiting for room in the socket. */
struct wk_msg {
	struct wk_msg *next;
	int len, nfds;
	int fds[2]; /* owned: closed once sent or dropped */
	unsigned char data[];
};

/* One control-socket connection: its request, then its reply going out. */
struct ctl_client {
	int fd; /* -1: unused */
	struct timespec since; /* accepted; dropped CONTROL_DEADLINE_MS on */
	char *reply;
	size_t len, off;
};

struct daemon {
	const struct daemon_opts *o;
	struct steer steer;
	struct pool pool;
	struct ring_buffer *rb;
	struct challenges store;
	int epfd, sigfd, timerfd, ctl_fd, dir_fd;
	char ctl_path[PATH_MAX + 32]; /* LC_CONTROL_SOCK in the run dir */
	int conns_fd, settings_fd, pending_fd;
	bool draining;
	bool stop; /* SIGTERM/SIGINT: exit once drained */
	unsigned long ticks;
	struct ctl_client ctl[CONTROL_MAX_CLIENTS];
	/* The names --control-group members may add (NULL: any). */
	struct ctl_policy *policy;
	/* The TLS worker (docs/design.md, "Privilege separation"). */
	pid_t wpid; /* 0: none running */
	int wfd; /* our end of its socket, -1: none */
	int exe_fd; /* the worker's image, opened as root (worker_image_open()) */
	/* --metrics-file's directory (O_PATH), opened before the seccomp
	 * filter, which lets files be created in it only */
	int metrics_dfd;
	const char *metrics_name;
	struct timespec wstarted, wrestart_at;
	unsigned int wquick; /* deaths soon after a start, in a row */
	bool wrestart; /* start one at wrestart_at */
	int wlog_budget; /* its log lines left this tick */
	struct wk_msg *wq, **wq_tail;
	size_t wq_bytes;
	bool in_rb; /* in ring_buffer__consume()'s callback */
	__u32 taken_tick, taken_last; /* slots taken this tick, the last */
};

static inline __u64 ev_key(enum ev_kind kind, __u32 idx)
{
	return (__u64)kind << 32 | idx;
}

static inline int ep_set(struct daemon *d, int op, int fd, unsigned int events,
			 __u64 key)
{
	struct epoll_event ev = { .events = events, .data.u64 = key };

	return epoll_ctl(d->epfd, op, fd, &ev) ? -errno : 0;
}

static inline bool forwarding(const struct daemon *d)
{
	return d->o->a.forward[0] != '\0';
}

/* daemon_ctl.c: where challenges come from, and the steering policy. */
int sync_policy(struct daemon *d);
int add_domains(struct daemon *d);
int setup_sources(struct daemon *d);
void on_control(struct daemon *d);
void on_ctl_client(struct daemon *d, __u32 idx);
/* Drop control clients past their deadline (and all of them at exit). */
void ctl_expire(struct daemon *d, bool all);
void on_alpndir(struct daemon *d);

/* daemon.c: a slot is over (and the worker's answer for it, or NULL). */
void slot_recycle(struct daemon *d, __u32 idx);
/* Watch free slot @idx ourselves (no worker has it). */
void slot_watch(struct daemon *d, __u32 idx);
/* Read the ring buffer now (not from within its callback). */
void rb_consume(struct daemon *d);
/* Who handing @idx's client was, for its DONE (lib/ipc.h). */
enum ipc_client slot_client(struct daemon *d, __u32 idx);
/* Free slot @idx handed to a worker now gone. */
void slot_unhand_free(struct daemon *d, __u32 idx);
void slot_answered(struct daemon *d, __u32 idx,
		   const struct alpnsteer_event *ev, const char *sni);

/* daemon_trace.c: the validation trace (lib/trace.h).  A hello the
 * kernel left to the webserver; how steered slot @idx ended (once per
 * handing); the worker's DONE @arg for it. */
void dtrace_hello(struct daemon *d, const struct alpnsteer_hello_event *e);
void dtrace_slot(struct daemon *d, __u32 idx, enum trace_outcome o,
		 const char *detail);
void dtrace_done(struct daemon *d, __u32 idx, unsigned int arg);
/* The worker's answer for a slot taken back meanwhile (IPC_LATE), whose
 * client was @ev: traced failed at the take-back, it was answered. */
void dtrace_late_answer(struct daemon *d, const struct alpnsteer_event *ev);
/* --metrics-file, written again (each second). */
void dtrace_prepare(struct daemon *d);
void dmetrics(struct daemon *d);

/* daemon_worker.c: the TLS worker, seen from the monitor. */
/* The worker's image, opened as root before the drop: alpnsteer-worker
 * beside our binary or in ../libexec/alpnsteer/, else our own binary.
 * A descriptor, or -errno. */
int worker_image_open(void);
int wk_start(struct daemon *d);
void wk_on_io(struct daemon *d, unsigned int events);
void wk_on_sigchld(struct daemon *d);
void wk_tick(struct daemon *d);
/* Hand busy slot @idx over; false when there is no worker to take it. */
bool wk_hand(struct daemon *d, __u32 idx);
/* Hand free slot @idx over in advance; false when there is no worker, or
 * with --forward (an upstream is connected per client). */
bool wk_hand_free(struct daemon *d, __u32 idx);
/* Take slot @idx back (timeout, client gone) before it is recycled. */
void wk_cancel(struct daemon *d, __u32 idx);
/* Send the worker each pending certificate it does not have. */
void wk_sync(struct daemon *d);
void wk_stop(struct daemon *d);

#endif
