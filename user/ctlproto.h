/* SPDX-License-Identifier: GPL-2.0-only */
/* ctlproto.h - the requests the control socket understands. */
#ifndef ALPNSTEER_CTLPROTO_H
#define ALPNSTEER_CTLPROTO_H

#include <stddef.h>

#include "challenges.h"

/*
 * Requests, one per message:
 *   add IDENT KEYAUTH [TTL] -> "ok" | "error: ..." (TTL: seconds it
 *                            stays pending; none: until its remove)
 *   add-digest IDENT SHA256(KEYAUTH) [TTL], hex or base64url
 *                         -> "ok" | "error: ..."
 *   remove IDENT          -> "ok" | "error: ..."
 *   list                  -> a JSON array, one object per challenge
 *   table                 -> the same as a text table
 * Returns 1 when the set of challenges changed, 0 when not, -errno for a
 * refused request (the reply says why).  *@reply is malloc'd (NULL only
 * when memory ran out); the caller frees it.
 */
int ctl_apply(struct challenges *cs, char *req, char **reply);
/* A reply, formatted (malloc'd; NULL: out of memory). */
char *ctl_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The JSON array of challenges that `list` answers (malloc'd, NULL when
 * out of memory: the reply is then "error: ...", never cut short). */
char *ctl_list_json(struct challenges *cs);
/* The same as a text table (`table`). */
char *ctl_list_table(struct challenges *cs);

#endif
