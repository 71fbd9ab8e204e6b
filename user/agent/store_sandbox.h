/* SPDX-License-Identifier: GPL-2.0-only */
/* store_sandbox.h - what the store watcher gives up before it connects. */
#ifndef ALPNSTEER_STORE_SANDBOX_H
#define ALPNSTEER_STORE_SANDBOX_H

/* In the watcher, once it holds its credentials in memory: become @user
 * with no capability, an empty bounding set and no_new_privs (the
 * daemon's privdrop()), bound its memory, and load its seccomp
 * allow-list.  0 or -errno, with an Error said. */
int store_confine(const char *user);

#endif
