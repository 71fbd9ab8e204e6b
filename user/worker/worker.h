/* SPDX-License-Identifier: GPL-2.0-only */
/* worker.h - the TLS worker, the monitor's confined child. */
#ifndef ALPNSTEER_WORKER_H
#define ALPNSTEER_WORKER_H

#include <stdbool.h>
#include <linux/types.h>

/* In the freshly forked child: keep only @ipc_fd, confine itself, then
 * answer (or with @forward relay) the slots the monitor hands over until
 * it says shutdown or goes.  The exit status. */
int worker_run(int ipc_fd, bool forward, __u32 pool_max);

/*
 * The worker is exec'd, never only forked (docs/design.md, "The worker"):
 * argv is { "alpnsteer", WORKER_ARGV1, FORWARD (0/1), POOL_MAX, MONITOR
 * PID } and its socket is fd 3.  A fresh image holds nothing of the
 * process it came from: a forked worker held every key authorization its
 * monitor (and, in agent mode, the agent) had seen.
 */
#define WORKER_ARGV1 "__tls-worker"
#define WORKER_IPC_FD 3

/* main()'s entry for that argv: the exit status. */
int worker_exec_main(int argc, char **argv);

#endif
