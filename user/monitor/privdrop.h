/* SPDX-License-Identifier: GPL-2.0-only */
/* privdrop.h - the daemon gives up root once steering is live. */
#ifndef ALPNSTEER_PRIVDROP_H
#define ALPNSTEER_PRIVDROP_H

#include <stdbool.h>

/* Become @user with an empty bounding set and no capability (but, when
 * @read_any, CAP_DAC_READ_SEARCH); @own (NULL-terminated, or NULL) are
 * paths handed to @user first: alpnsteer passes none (docs/design.md,
 * "Lifecycle"). */
int privdrop(const char *user, bool read_any, const char *const *own);

#endif
