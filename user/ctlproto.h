/* SPDX-License-Identifier: GPL-2.0-only */
/* ctlproto.h - the requests the control socket understands. */
#ifndef ALPNSTEER_CTLPROTO_H
#define ALPNSTEER_CTLPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "challenges.h"

/*
 * Requests, one per message:
 *   add IDENT KEYAUTH [TTL] -> "ok" | "error: ..." (TTL: seconds it
 *                            stays pending; none: until its remove)
 *   remove IDENT          -> "ok" | "error: ..."
 *   list                  -> a JSON array, one object per challenge
 *   table                 -> the same as a text table
 * Returns 1 when the set of challenges changed, 0 when not, -errno for a
 * refused request (the reply says why).  *@reply is malloc'd (NULL only
 * when memory ran out); the caller frees it.
 */
int ctl_apply(struct challenges *cs, char *req, char **reply);

/* Names a --control-group member may add: each line a DNS name or an IP
 * address, covering itself and (a DNS name) its subdomains.  Root owns
 * the file; nothing in it, or no file, means any name. */
#define CTL_POLICY_PATH "/etc/alpnsteer/control-names"
#define CTL_POLICY_MAX 256
struct ctl_policy {
	int nr; /* -1: no policy file (a member may add any name) */
	char name[CTL_POLICY_MAX][ALPNSTEER_NAME_MAX];
};
/* Who asks: root (uid 0) may do anything; anyone else only to challenges
 * it added itself, and with @policy (NULL: none) only to its names. */
struct ctl_caller {
	uid_t uid;
	const struct ctl_policy *policy;
};
int ctl_apply_as(struct challenges *cs, char *req, char **reply,
		 const struct ctl_caller *who);
/* Read @path (O_NOFOLLOW; a regular file of root's that only root may
 * write): 0, -ENOENT when there is none, another -errno with @err set. */
int ctl_policy_load(const char *path, struct ctl_policy *p, char *err,
		    size_t errlen);
/* Does @p let a member add identifier @name (acme_ident's name)? */
bool ctl_policy_allows(const struct ctl_policy *p, const char *name);
/* The JSON array of challenges that `list` answers (malloc'd, NULL when
 * out of memory: the reply is then "error: ...", never cut short). */
/* A reply, formatted (malloc'd; NULL: out of memory). */
char *ctl_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *ctl_list_json(struct challenges *cs);
/* The same as a text table (`table`). */
char *ctl_list_table(struct challenges *cs);

#endif
