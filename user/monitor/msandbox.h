/* SPDX-License-Identifier: GPL-2.0-only */
/* msandbox.h - the monitor's seccomp filter (msandbox.c). */
#ifndef ALPNSTEER_MSANDBOX_H
#define ALPNSTEER_MSANDBOX_H

/* Load the monitor's allow-list, once its set-up is done and before its
 * first worker; @exe_fd is the one binary it may exec (the worker's).
 * 0 or -errno. */
int monitor_sandbox(int exe_fd, int metrics_dfd);

#endif
