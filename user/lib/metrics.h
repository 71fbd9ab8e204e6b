/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * metrics.h - alpnsteer's state for monitoring systems, in the
 * Prometheus text exposition format (version 0.0.4, which node_exporter's
 * textfile collector reads), written atomically to a file by the monitor
 * and the agent (--metrics-file) and printed by `status --metrics`
 * (docs/usage.md, "Metrics").
 */
#ifndef ALPNSTEER_METRICS_H
#define ALPNSTEER_METRICS_H

#include <stdbool.h>
#include <linux/types.h>

#include "alpnsteer_abi.h"
#include "trace.h"

struct metrics_in {
	const char *state; /* attached, detached, draining, unknown */
	const char *writer; /* monitor, agent, status */
	const __u64 *counters; /* AC__MAX of them, NULL: not attached */
	int pending; /* challenges pending, -1: not known */
	int conns; /* connections held, -1: not known */
	int pool_busy, pool_made; /* -1: not known */
	const struct trace *trace; /* NULL: none */
};

/* The exposition (malloc'd, NULL: out of memory). */
char *metrics_text(const struct metrics_in *in);
/* @text to @path atomically: PATH.tmp made anew (O_CREAT|O_EXCL|
 * O_NOFOLLOW, a stale one removed first), written, renamed over @path.
 * 0 or -errno. */
int metrics_write(const char *path, const char *text);
/* The same, as @name in the directory @dirfd (opened by
 * metrics_dir_open(), which points @name into @path): for a process
 * whose seccomp filter allows creating files in that directory only. */
int metrics_write_at(int dirfd, const char *name, const char *text);
int metrics_dir_open(const char *path, const char **name);

#endif
