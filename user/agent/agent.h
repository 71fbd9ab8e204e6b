/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * agent.h - the pure parts of `alpnsteer agent` (unit tested): the set of
 * pending challenges with their expiry, the store's key layout and the
 * validation of a store entry.  docs/design.md, "Agent and fleet".
 */
#ifndef ALPNSTEER_AGENT_H
#define ALPNSTEER_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <sys/types.h>

#include "alpnsteer_abi.h"

#define AGENT_HOLDER "agent"
#define AGENT_DEFAULT_TTL 3600 /* as long as an ACME authorization lives */
#define AGENT_DEFAULT_GRACE 10
#define AGENT_MAX ALPNSTEER_MAX_PENDING
/* The store's keys: PREFIX dns/<labels reversed, dot-terminated> or
 * PREFIX ip/<canonical address>. */
#define AGENT_STORE_PREFIX "/alpnsteer/v1/chal/"

enum agent_src {
	AGENT_SRC_LOCAL, /* alpnsteer challenge add on this host */
	AGENT_SRC_STORE, /* an entry of the shared store */
};

struct agent_chal {
	char ident[ALPNSTEER_NAME_MAX];
	char req[640]; /* what the daemon is sent: add / add-digest */
	time_t expires; /* wall clock: the store's entries carry it */
	enum agent_src src;
	uid_t owner; /* who added it through agent.sock (0: root, the
		      * store, --alpn-dir): only it or root may replace or
		      * remove it */
	bool handed; /* the daemon has it */
	unsigned int seen; /* the store listing that last had it */
};

struct agent_set {
	struct agent_chal *v;
	int nr;
};

/* A fleet tenant's share of this node's pending places (issue 20: one
 * tenant's 1,024 names took every node's 1,024): at most
 * AGENT_DEFAULT_QUOTA (--quota) store entries per domain, and never more
 * than AGENT_MAX - AGENT_LOCAL_RESERVE store entries in all, so that
 * this host's own adds always find room.  100 is what one ACME order may
 * name at Let's Encrypt. */
#define AGENT_DEFAULT_QUOTA 100
#define AGENT_LOCAL_RESERVE 64

struct ctl_policy;
/* The domain whose quota @ident (a normalised identifier) counts
 * against, in @buf: the line of @names (--names; NULL: none) that covers
 * it, else its last two labels (an address: itself).  A registrable
 * domain would need the public suffix list; two labels are what an etcd
 * grant of this project's recipe names, and a tenant granted a whole
 * top-level domain is given many quotas by whoever granted it. */
const char *agent_quota_domain(const char *ident,
			       const struct ctl_policy *names, char *buf,
			       size_t len);
/* Store entries of @s counted against @dom's quota. */
int agent_set_count_domain(const struct agent_set *s, const char *dom,
			   const struct ctl_policy *names);
/* Store entries of @s. */
int agent_set_count_store(const struct agent_set *s);

/* The expiry of a challenge added at @now for @ttl seconds (0: the
 * default @max), never beyond @max. */
time_t agent_expiry(time_t now, long ttl, long max);
/* Seconds left, 0 once expired. */
long agent_left(time_t expires, time_t now);

/* Add or replace @ident's challenge; 1 when it is new or changed, 0 when
 * the same, -E2BIG when the set is full, -ENOMEM. */
int agent_set_put(struct agent_set *s, const char *ident, const char *req,
		  time_t expires, enum agent_src src);
struct agent_chal *agent_set_find(struct agent_set *s, const char *ident);
/* Remove entry @i (order is not kept). */
void agent_set_drop(struct agent_set *s, int i);
/* The first entry expired at @now, or -1. */
int agent_set_expired(const struct agent_set *s, time_t now);
/* The earliest expiry, or 0 when empty. */
time_t agent_set_next(const struct agent_set *s);
void agent_set_free(struct agent_set *s);

/* The store key of @ident (a DNS name or an IP address) under @prefix:
 * "PREFIX dns/org.example.www." (labels reversed, so that an etcd key
 * prefix "PREFIX dns/org.example." covers example.org and every name
 * under it) or "PREFIX ip/198.18.5.1".  0 or -EINVAL (@err says why). */
int agent_store_key(const char *prefix, const char *ident, char *buf,
		    size_t len, char *err, size_t errlen);

struct agent_entry {
	char ident[ALPNSTEER_NAME_MAX];
	char digest[65]; /* lowercase hex of SHA-256(keyauth) */
	time_t expires;
	time_t added; /* when the writer added it; 0: not said (older) */
};

/* Check a store entry: @json must be {"ident":..., "digest":...,
 * "expires":...[, "added":...]}, its identifier valid, its key @key
 * exactly the one that identifier has under @prefix (so that a client
 * allowed to write only some keys can only add those names), the digest a
 * SHA-256 and the expiry in the future, cut to @max seconds from "added"
 * (and never more than @max from @now): the same expiry on every node and
 * at every reading.  Without "added" (an older writer), cut to @max from
 * @now.  0, -ESTALE (expired), or -EINVAL; @err says why. */
int agent_entry_parse(const char *prefix, const char *key, const char *json,
		      size_t len, time_t now, long max, struct agent_entry *e,
		      char *err, size_t errlen);
/* The JSON of an entry (malloc'd), or NULL. */
char *agent_entry_json(const struct agent_entry *e);

#endif
