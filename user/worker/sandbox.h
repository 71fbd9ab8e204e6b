/* SPDX-License-Identifier: GPL-2.0-only */
/* sandbox.h - what the TLS worker gives up before it reads a byte. */
#ifndef ALPNSTEER_SANDBOX_H
#define ALPNSTEER_SANDBOX_H

#include <stdbool.h>
#include <linux/types.h>

/* Empty the capability bounding set (needs CAP_SETPCAP): 0, or -errno for
 * the first capability that could not be dropped. */
int sandbox_drop_bounding(void);

/* In the worker, before its loop: no capability in any set, an empty
 * bounding set, no_new_privs, not dumpable, its own rlimits (@nofile
 * descriptors, no file writes, no new process, no core) and the seccomp
 * allow-list, recvmsg/sendmsg only on @ipc_fd.  0 or -errno. */
int sandbox_worker(int ipc_fd, unsigned int nofile);

#endif
