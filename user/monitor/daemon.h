/* SPDX-License-Identifier: GPL-2.0-only */
/* daemon.h - the process that owns the pool while alpnsteer is attached. */
#ifndef ALPNSTEER_DAEMON_H
#define ALPNSTEER_DAEMON_H

#include <sys/socket.h>
#include <sys/types.h>
#include <linux/types.h>

#include "attach_fields.h"
#include "loader.h"
#include "paths.h"

struct daemon_opts {
	/* The attach options (attach_fields.h), as the record keeps them. */
	struct lc_opts a;
	/* Derived from them when parsed (cli_parse_attach()): */
	struct steer_config cfg; /* what the BPF side is loaded with */
	struct sockaddr_storage fwd_addr; /* --forward, resolved */
	socklen_t fwd_len;
	/* Where it lives (set by lc_attach()). */
	struct lc_paths paths;
	/* This attach command, not the attachment (user/lifecycle/lifecycle.h): */
	char holder[64]; /* who this attach is for */
	long ttl; /* seconds the holder lasts; 0: until detach */
	int drain_wait; /* seconds to wait for a drain (-1: none) */
	/* Told once that the attach waits for an earlier attachment's drain
	 * (@orphaned: one whose keeper is gone); NULL: nobody to tell. */
	void (*waiting)(bool orphaned);
	int log_fd; /* the daemon's stderr once live, or -1 */
	pid_t keeper_pid; /* the root process that owns it */
};

/* Attach and serve until detached.  @ready_fd (or -1) gets one byte once
 * steering is live: 0 for success, 1 for failure. */
int daemon_run(const struct daemon_opts *o, int ready_fd);

/* Shared with the keeper: one byte on the readiness pipe @fd (closed), and
 * stdin/stdout to /dev/null with stderr on the log file @fd (kept open). */
void daemon_ready(int fd, char status);
void daemon_to_log(int fd);

#endif
