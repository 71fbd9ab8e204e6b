/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * store.h - the shared store of a fleet's challenges, as the agent and
 * `challenge add/remove --store` see it.  docs/design.md, "Agent and
 * fleet".
 *
 * A store is a struct store_ops, chosen by the scheme of --store's URL
 * (store_find()): today https:// is etcd's v3 JSON gateway
 * (store_etcd.c).  A store publishes and withdraws entries, and runs a
 * watcher process that tells the agent what is in the store through one
 * line protocol, whatever the store:
 *
 *   S up|down MESSAGE     the store was reached, or lost
 *   B                     a full listing follows (after each reconnect)
 *   P KEY VALUE           an entry (VALUE: its bytes, base64)
 *   E                     the listing is complete
 *   D KEY                 an entry was deleted (or its ttl ran out)
 *   X KEY BYTES           the entry under KEY is over STORE_VALUE_MAX
 *                         (BYTES, 0: more than was read): refused unread
 *
 * Keys and entries are the agent's (agent.h: agent_store_key(),
 * agent_entry_parse()), so a second store only moves bytes.
 */
#ifndef ALPNSTEER_STORE_H
#define ALPNSTEER_STORE_H

#include <stdbool.h>
#include <sys/types.h>

#include "agent.h"

/* The largest entry taken from a store: some 200 bytes are one. */
#define STORE_VALUE_MAX 4096

struct store_opts {
	const char *url; /* SCHEME://HOST:PORT (several: comma-separated) */
	const char *cacert; /* the CA that signed the store's certificate */
	const char *cert, *key; /* this client's certificate */
	const char *user; /* the store's user, with ... */
	const char *password_file; /* ... its password in this file */
	const char *run_as; /* the watcher's user (the daemon's --user) */
};

struct store_ops {
	const char *scheme; /* "https": URLs that start "https://" */
	const char *name; /* for messages: "etcd" */
	/* Publish @e under its key for @ttl seconds; 0 or -errno, with an
	 * Error and a Hint said. */
	int (*put)(const struct store_opts *o, const struct agent_entry *e,
		   long ttl);
	/* Withdraw @ident's entry (0 also when it was not there). */
	int (*del)(const struct store_opts *o, const char *ident);
	/* The watcher, in a child process of its own: writes the line
	 * protocol above to @out for ever (reconnecting as it must). */
	void (*watch)(const struct store_opts *o, int out);
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

/* The store @o->url names, by its scheme; NULL (with an Error and a Hint)
 * when no store speaks it. */
const struct store_ops *store_find(const struct store_opts *o);

/* Through store_find(): -EINVAL when no store speaks the URL. */
int store_put_entry(const struct store_opts *o, const struct agent_entry *e,
		    long ttl);
int store_delete_ident(const struct store_opts *o, const char *ident);
/* Start the watcher: the pipe's read end (non-blocking) or -errno;
 * *@pid the child. */
int store_watch_spawn(const struct store_opts *o, pid_t *pid);

#endif
