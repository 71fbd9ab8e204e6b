/* SPDX-License-Identifier: GPL-2.0-only */
/* ctlproto.h - the requests the control socket understands. */
#ifndef ALPNSTEER_CTLPROTO_H
#define ALPNSTEER_CTLPROTO_H

#include <stddef.h>

#include "challenges.h"

/*
 * Requests, one per message:
 *   add IDENT KEYAUTH     -> "ok" | "error: ..."
 *   remove IDENT          -> "ok" | "error: ..."
 *   list                  -> a JSON array, one object per challenge
 *   table                 -> the same as a text table
 * Returns 1 when the set of challenges changed, 0 when not, -errno for a
 * refused request (the reply says why).
 */
int ctl_apply(struct challenges *cs, char *req, char *reply, size_t len);
/* The JSON array of challenges that `list` answers. */
void ctl_list_json(struct challenges *cs, char *buf, size_t len);
/* The same as a text table (`table`). */
void ctl_list_table(struct challenges *cs, char *buf, size_t len);

#endif
