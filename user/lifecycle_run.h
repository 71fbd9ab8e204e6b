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
/* --user must exist, unless it is root; 0 or -ENOENT with an Error. */
int lc_check_user(const char *user);

#endif
