/* SPDX-License-Identifier: GPL-2.0-only */
/* daemon_int.h - the daemon's state, shared by daemon.c and daemon_ctl.c. */
#ifndef ALPNSTEER_DAEMON_INT_H
#define ALPNSTEER_DAEMON_INT_H

#include <errno.h>
#include <stdbool.h>
#include <time.h>
#include <sys/epoll.h>
#include <bpf/libbpf.h>

#include "challenges.h"
#include "control.h"
#include "daemon.h"
#include "loader.h"
#include "pool.h"
#include "responder.h"

enum ev_kind {
	EV_RING = 1,
	EV_SIGNAL,
	EV_TIMER,
	EV_SLOT,
	EV_UPSTREAM,
	EV_CONTROL,
	EV_ALPNDIR,
	EV_CTL_CLIENT,
};

/* One control-socket connection: its request, then its reply going out. */
struct ctl_client {
	int fd;			/* -1: unused */
	struct timespec since;	/* accepted; dropped CONTROL_DEADLINE_MS on */
	char *reply;
	size_t len, off;
};

struct daemon {
	const struct daemon_opts *o;
	struct steer steer;
	struct pool pool;
	struct ring_buffer *rb;
	struct challenges store;
	struct responder resp;
	int epfd, sigfd, timerfd, ctl_fd, dir_fd;
	int conns_fd, settings_fd, pending_fd;
	bool draining;
	bool stop; /* SIGTERM/SIGINT: exit once drained */
	unsigned long ticks;
	struct ctl_client ctl[CONTROL_MAX_CLIENTS];
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
	return d->o->forward[0] != '\0';
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

#endif
