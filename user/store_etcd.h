/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * store_etcd.h - challenges shared through etcd (v3 JSON gateway, HTTPS,
 * libcurl): the client side of `challenge add/remove --store`, and the
 * watcher process of `agent --store`.  docs/design.md, "Agent and fleet".
 */
#ifndef ALPNSTEER_STORE_ETCD_H
#define ALPNSTEER_STORE_ETCD_H

#include <stdbool.h>
#include <sys/types.h>

#include "agent.h"

struct store_opts {
	const char *url; /* https://HOST:PORT (several: comma-separated) */
	const char *cacert; /* the CA that signed etcd's certificate */
	const char *cert, *key; /* this client's certificate */
	const char *user; /* the etcd user (RBAC), with ... */
	const char *password_file; /* ... its password in this file */
};

/* Fill @o from the environment (ALPNSTEER_STORE, ALPNSTEER_STORE_CA,
 * ALPNSTEER_STORE_CERT, ALPNSTEER_STORE_KEY, ALPNSTEER_STORE_USER,
 * ALPNSTEER_STORE_PASSWORD_FILE); options given later override it. */
void store_opts_env(struct store_opts *o);
/* If argv[*i] is one of --store, --store-ca, --store-cert, --store-key,
 * --store-user, --store-password-file (with its value after it or after
 * '='), take it and return 1; 0 when it is not; -EINVAL when its value is
 * missing. */
int store_opt(int argc, char **argv, int *i, struct store_opts *o);

/* Publish @e under its key with a lease of its remaining time. */
int store_put_entry(const struct store_opts *o, const struct agent_entry *e,
		    long ttl);
/* Withdraw @ident's entry (0 also when it was not there). */
int store_delete_ident(const struct store_opts *o, const char *ident);

/*
 * The watcher: a child process that reads every entry under the prefix,
 * then keeps a watch on it, reconnecting with backoff, and writes one line
 * per event to the returned pipe:
 *   S up|down MESSAGE     the store was reached, or lost
 *   B                     a full listing follows (after each reconnect)
 *   P KEY VALUE           an entry (VALUE: its bytes, base64)
 *   E                     the listing is complete
 *   D KEY                 an entry was deleted (or its lease ran out)
 * Returns the pipe's read end (non-blocking) or -errno; *@pid the child.
 */
int store_watch_spawn(const struct store_opts *o, pid_t *pid);

#endif
