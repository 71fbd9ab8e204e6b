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

#endif
