/* SPDX-License-Identifier: GPL-2.0-only */
/* daemon.h - the process that owns the pool while alpnsteer is attached. */
#ifndef ALPNSTEER_DAEMON_H
#define ALPNSTEER_DAEMON_H

#include <sys/socket.h>
#include <sys/types.h>
#include <linux/types.h>

#include "loader.h"

#define ALPNSTEER_MAX_DOMAINS 64

struct daemon_opts {
	struct steer_config cfg;
	char forward[128]; /* HOST:PORT as given */
	struct sockaddr_storage fwd_addr;
	socklen_t fwd_len;
	const char *domains[ALPNSTEER_MAX_DOMAINS]; /* pending names (SNI form) */
	int nr_domains;
	int handshake_timeout; /* seconds a slot may stay busy */
	__u32 pool_max; /* the pool grows up to this */
	__u32 per_source; /* slots one /24 or /48 may hold, 0: any */
	const char *alpn_dir; /* dehydrated --alpn directory */
	gid_t control_gid; /* -1: control socket for root only */
	const char *user; /* who the daemon becomes once live */
	/* The lifecycle (user/lifecycle.h): */
	char holder[64]; /* who this attach is for */
	long ttl; /* seconds the holder lasts; 0: until detach */
	int drain_wait; /* seconds to wait for a drain (-1: none) */
	unsigned int given; /* LC_GIVEN_* named on the command line */
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
