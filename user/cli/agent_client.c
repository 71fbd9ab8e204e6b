// SPDX-License-Identifier: GPL-2.0-only
/*
 * agent_client.c - the CLI's side of a running agent and of the shared
 * store (agent_client.h).  The agent itself is agentd.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/un.h>

#include "acme_cert.h"
#include "agent.h"
#include "agent_client.h"
#include "control.h"
#include "json.h"
#include "log.h"

int agent_request(const struct lc_paths *p, const char *req, char **reply)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];

	*reply = NULL;
	if (!lc_run_path(p, AGENT_SOCK_NAME, path, sizeof(path))[0])
		return -ENOENT; /* no such socket: no agent */
	/* An add is answered once steering is live: attach's time. */
	return control_request_at(path, 30, req, reply);
}

int agent_store_add(const struct store_opts *so, const char *ident,
		    const unsigned char *digest, long ttl)
{
	struct agent_entry e = {};
	int i;

	snprintf(e.ident, sizeof(e.ident), "%s", ident);
	for (i = 0; i < ACME_DIGEST_LEN; i++)
		snprintf(e.digest + 2 * i, sizeof(e.digest) - 2 * i, "%02x",
			 digest[i]);
	if (!ttl)
		ttl = AGENT_DEFAULT_TTL;
	/* When it was added, so that every node cuts it to its --ttl from
	 * the same instant. */
	e.added = time(NULL);
	e.expires = agent_expiry(e.added, ttl, ttl);
	return store_put_entry(so, &e, ttl);
}

int agent_store_remove(const struct store_opts *so, const char *ident)
{
	return store_delete_ident(so, ident);
}

int reply_print(const char *what, int err, char *reply)
{
	struct json_writer *jw;

	if (err == -EACCES || err == -EPERM) {
		p_err("permission denied on %s", what);
		p_hint("challenges are root's (or --control-group's) business");
		return 1;
	}
	if (err) {
		p_err("%s: %s", what, strerror(-err));
		return 1;
	}
	if (!strncmp(reply, "error: ", 7)) {
		p_err("%s", reply + 7);
		free(reply);
		return 1;
	}
	if (strcmp(reply, "ok")) {
		printf("%s\n", reply);
	} else if (log_json) {
		jw = jw_new(stdout);
		jw_start_object(jw);
		jw_bool_field(jw, "ok", true);
		jw_end_object(jw);
		jw_destroy(jw);
	}
	free(reply);
	return 0;
}
