/* SPDX-License-Identifier: GPL-2.0-only */
/* lifecycle_run.h - the commands over the lifecycle, and the keeper. */
#ifndef ALPNSTEER_LIFECYCLE_RUN_H
#define ALPNSTEER_LIFECYCLE_RUN_H

#include <stdbool.h>

#include "daemon.h"
#include "lifecycle.h"

/* attach (@foreground false: returns once live) and run (@foreground:
 * keeps the attachment in this process until it is drained); exit code. */
int lc_attach(const struct lc_paths *p, struct daemon_opts *o, bool foreground);
/* detach @holder (or @all); @wait: -1 no, 0 no limit, else seconds. */
int lc_detach(const struct lc_paths *p, const char *holder, bool all, int wait);
/* The processes of an attachment, to tell when they are gone (not merely
 * its pins and lock): pidfds of the record's keeper and daemon, which
 * poll readable once the process has exited (a zombie included, and never
 * another process that took its pid). */
struct lc_gone {
	int fd[2]; /* -1: none, or already gone */
};
void lc_gone_open(struct lc_gone *g, const struct lc_record *r);
bool lc_gone(const struct lc_gone *g);
void lc_gone_close(struct lc_gone *g);

/* --user must exist, unless it is root; 0 or -ENOENT with an Error. */
int lc_check_user(const char *user);

#endif
