/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * agentd.h - the agent's daemon (`alpnsteer agent`), in four files: the
 * loop that makes steering follow the pending challenges (agentd.c), its
 * socket server (agent_server.c), the reader of the store watcher's
 * lines (agent_store.c), and the verb that starts it (cmd_agent.c).
 * What the CLI sends it is agent_client.c.  docs/design.md, "Agent and
 * fleet".
 */
#ifndef ALPNSTEER_AGENTD_H
#define ALPNSTEER_AGENTD_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "agent.h"
#include "control.h"
#include "ctlproto.h"
#include "daemon.h"
#include "lifecycle.h"
#include "lifecycle_run.h"
#include "store.h"

#define AGENT_TICK_MS 100
#define AGENT_RETRY_S 5 /* after an attach that failed */
#define AGENT_STOP_WAIT 60 /* s: TimeoutStopSec=90 in the unit */

/* A client of agent.sock: served without blocking, as the daemon's
 * control socket serves its own (docs/design.md, "The control socket"). */
struct agent_client {
	int fd; /* -1: free */
	long long since; /* monotonic ms: accepted, or answered */
	char *reply;
	size_t len, off;
};

struct agent {
	struct lc_paths p;
	/* What --control-group members may add (ctlproto.h; NULL: no
	 * /etc/alpnsteer/control-names, or no --control-group). */
	struct ctl_policy *policy;
	/* --names FILE: the names this node serves; a store entry for any
	 * other is refused (NULL: every name). */
	const char *names_path;
	struct ctl_policy *names;
	long quota; /* store entries per domain (--quota) */
	struct daemon_opts o; /* the attach options, holder "agent" */
	struct agent_set set;
	struct store_opts store;
	bool use_store, store_up;
	int run_fd, lock_fd, lsock, ifd, store_fd, sigfd;
	pid_t store_pid;
	char sock_path[PATH_MAX + 32];
	long ttl_max, grace;
	bool attached, stop;
	long long grace_at; /* monotonic ms; 0: not counting */
	long long retry_at; /* monotonic ms of the next attach try */
	long long store_retry_at;
	time_t holder_until; /* our holder's ttl in the record */
	int dir_pending; /* --alpn-dir certificates not expired */
	unsigned int listing; /* the store listing being read */
	bool in_listing;
	/* What `agent status` reports. */
	unsigned long attaches, detaches, expired, garbage, refused;
	unsigned long not_served, over_quota;
	long last_attach_ms, last_hand_ms, last_detach_ms;
	char store_msg[200];
	char storebuf[65536];
	size_t storelen;
	struct agent_client cl[CONTROL_MAX_CLIENTS];
	/* Our detach started and its drain runs: "detached" is said once
	 * the keeper and the daemon are gone (lc_gone()). */
	bool detaching;
	long long detach_t0;
	struct lc_gone gone;
};

/* agentd.c: the loop.  take the agent lock, serve, and make steering
 * follow the set until stopped; an exit code. */
int agent_run(struct agent *ag);
long long agent_mono_ms(void);
/* Make steering follow the set: expire, attach, hand, or count down the
 * grace and detach. */
void agent_sync(struct agent *ag);
/* Forget challenge @i (withdrawn from the daemon if it had it). */
void agent_drop(struct agent *ag, int i);

/* agent_server.c: agent.sock's clients, never waited for. */
void agent_on_accept(struct agent *ag);
void agent_on_client(struct agent *ag, struct agent_client *c);
void agent_clients_expire(struct agent *ag);
void agent_client_drop(struct agent_client *c);

/* agent_store.c: the store watcher's lines (store.h's protocol). */
void agent_on_store(struct agent *ag);

#endif
