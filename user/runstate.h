/* SPDX-License-Identifier: GPL-2.0-only */
/* runstate.h - what the daemon tells other invocations about itself. */
#ifndef ALPNSTEER_RUNSTATE_H
#define ALPNSTEER_RUNSTATE_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>
#include <linux/types.h>

#include "alpnsteer_abi.h"

#define ALPNSTEER_RUN_DIR    "/run/alpnsteer"
#define ALPNSTEER_STATE_FILE ALPNSTEER_RUN_DIR "/state"
#define ALPNSTEER_LOG_FILE   ALPNSTEER_RUN_DIR "/daemon.log"

struct runstate {
	pid_t pid;
	time_t since;
	__u32 ports[ALPNSTEER_MAX_PORTS];
	__u32 nr_ports;
	__u32 pool_size;
	char cgroup[PATH_MAX];
	char forward[128]; /* empty: built-in responder */
};

int runstate_write(const struct runstate *rs);
int runstate_read(struct runstate *rs);
void runstate_remove(void);
/* The daemon named in the state file is alive. */
bool runstate_daemon_alive(const struct runstate *rs);

#endif
