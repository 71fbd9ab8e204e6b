/* SPDX-License-Identifier: GPL-2.0-only */
/* lifecycle_run.h - the commands over the lifecycle, and the keeper. */
#ifndef ALPNSTEER_LIFECYCLE_RUN_H
#define ALPNSTEER_LIFECYCLE_RUN_H

#include <stdbool.h>

#include "daemon.h"
#include "lifecycle.h"

/*
 * attach and detach as calls of a library: each returns 0 with what it
 * did in *@res, or 1 when it failed (with one Error and a Hint through
 * log.h, the caller's log: the CLI's stderr, the agent's journal).  They
 * print no result, close every descriptor they open, and leave no child
 * to the caller (the keeper they start belongs to init, or under systemd
 * to a scope of its own): the CLI prints the result (cmd_attach.c,
 * cmd_detach.c), the agent calls them in its own process.
 */
enum lc_attach_how {
	LC_ATTACHED_NEW, /* a keeper and a daemon were started */
	LC_ATTACHED_ALREADY, /* joined as a holder */
	LC_ATTACHED_RESUMED, /* joined, and called its drain off */
};

struct lc_attach_result {
	enum lc_attach_how how;
	pid_t pid; /* the daemon */
	pid_t keeper;
	char holders[LC_HOLDER_MAX * (LC_HOLDER_NAME + 2)]; /* "a, b" */
};

/* attach (@foreground false: returns once live) and run (@foreground:
 * keeps the attachment in this process until it is drained).  While it
 * waits for an earlier attachment's drain it calls o->waiting once. */
int lc_attach(const struct lc_paths *p, struct daemon_opts *o, bool foreground,
	      struct lc_attach_result *res);

enum lc_detach_how {
	LC_DETACHED_NONE, /* nothing was attached */
	LC_DETACHED_NOT_HOLDER, /* not this holder's: steering stays on */
	LC_DETACHED_LEFT, /* its holder left; others keep it */
	LC_DETACHED_DRAINING, /* steering stopped; a drain is under way */
	LC_DETACHED_GONE, /* waited: drained, removed, processes gone */
	LC_DETACHED_REATTACHED, /* waited, but an attach took it over */
};

struct lc_detach_result {
	enum lc_detach_how how;
	int draining; /* LC_DETACHED_DRAINING: connections held */
	char holders[LC_HOLDER_MAX * (LC_HOLDER_NAME + 2)]; /* left, "a, b" */
};

/* detach @holder (or @all); @wait: -1 no, 0 no limit, else seconds. */
int lc_detach(const struct lc_paths *p, const char *holder, bool all, int wait,
	      struct lc_detach_result *res);
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
