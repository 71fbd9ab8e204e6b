/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * agent_client.h - the CLI's side of a running agent and of the shared
 * store: what `challenge add/remove/list` and `agent status` send, and
 * how a reply from a control socket (the monitor's or the agent's) is
 * shown.
 */
#ifndef ALPNSTEER_AGENT_CLIENT_H
#define ALPNSTEER_AGENT_CLIENT_H

#include "paths.h"
#include "store.h"

/* One request to the agent's socket in @p's run directory; -ENOENT: no
 * agent runs.  *@reply malloc'd. */
int agent_request(const struct lc_paths *p, const char *req, char **reply);

/* Publish (or withdraw) @ident's challenge in the store for every node's
 * agent: @digest is SHA-256(key authorization); @ttl seconds (0: the
 * agents' default).  0 or -errno, with an Error said. */
int agent_store_add(const struct store_opts *so, const char *ident,
		    const unsigned char *digest, long ttl);
int agent_store_remove(const struct store_opts *so, const char *ident);

/* Show a control socket's reply: "error: ..." as an Error, "ok" as
 * nothing (or {"ok":true} under -j), anything else as it is.  @err is
 * the request's; @what names the socket.  An exit code; frees @reply. */
int reply_print(const char *what, int err, char *reply);

#endif
