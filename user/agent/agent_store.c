// SPDX-License-Identifier: GPL-2.0-only
/*
 * agent_store.c - the agent's side of the shared store: the watcher
 * process's lines (store.h: S, B, P, E, D), each entry checked by
 * agent_entry_parse() before anything of it is steered.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "agentd.h"
#include "ctlproto.h"
#include "log.h"

static int b64_decode(const char *in, char *out, size_t cap)
{
	size_t len = strlen(in);
	int n, pad = 0;

	if (len % 4 || len / 4 * 3 >= cap)
		return -EINVAL;
	n = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)in,
			    len);
	if (n < 0)
		return -EINVAL;
	if (len && in[len - 1] == '=')
		pad++;
	if (len > 1 && in[len - 2] == '=')
		pad++;
	n -= pad;
	out[n] = '\0';
	return n;
}

static int find_key(struct agent *ag, const char *key)
{
	char k[ALPNSTEER_NAME_MAX * 2], why[200];
	int i;

	for (i = 0; i < ag->set.nr; i++)
		if (ag->set.v[i].src == AGENT_SRC_STORE &&
		    !agent_store_key(AGENT_STORE_PREFIX, ag->set.v[i].ident, k,
				     sizeof(k), why, sizeof(why)) &&
		    !strcmp(k, key))
			return i;
	return -1;
}

static void store_line(struct agent *ag, char *line)
{
	char *key, *val, json[8192], why[400], req[700];
	struct agent_chal *c;
	struct agent_entry e;
	int n, i, rc;

	if (line[0] == 'S' && line[1] == ' ') {
		bool up = !strncmp(line + 2, "up", 2);

		if (up != ag->store_up || strcmp(ag->store_msg, line + 2))
			p_info("agent: store %s", line + 2);
		ag->store_up = up;
		snprintf(ag->store_msg, sizeof(ag->store_msg), "%s", line + 2);
		return;
	}
	if (!strcmp(line, "B")) {
		ag->listing++;
		ag->in_listing = true;
		return;
	}
	if (!strcmp(line, "E")) {
		/* What the listing did not have was deleted while we were
		 * away; what it had stays (and expires by its ttl). */
		for (i = 0; i < ag->set.nr; i++)
			if (ag->set.v[i].src == AGENT_SRC_STORE &&
			    ag->set.v[i].seen != ag->listing) {
				p_info("agent: %s is gone from the store",
				       ag->set.v[i].ident);
				agent_drop(ag, i--);
			}
		ag->in_listing = false;
		return;
	}
	if (line[0] == 'D' && line[1] == ' ') {
		i = find_key(ag, line + 2);
		if (i >= 0) {
			p_info("agent: %s removed from the store",
			       ag->set.v[i].ident);
			agent_drop(ag, i);
		}
		return;
	}
	if (line[0] == 'X' && line[1] == ' ') {
		char *sz = strrchr(line + 2, ' ');

		if (sz)
			*sz++ = '\0';
		/* Refused unread by the watcher: an Error per entry, as
		 * for any bad one, and what it had under the key goes. */
		p_err("agent: store entry %s: over %d bytes (%s); nothing steered for it",
		      line + 2, STORE_VALUE_MAX,
		      sz && strcmp(sz, "0") ? sz : "more than was read");
		ag->garbage++;
		i = find_key(ag, line + 2);
		if (i >= 0)
			agent_drop(ag, i);
		return;
	}
	if (line[0] != 'P' || line[1] != ' ')
		return;
	key = line + 2;
	val = strchr(key, ' ');
	if (!val)
		return;
	*val++ = '\0';
	n = b64_decode(val, json, sizeof(json));
	rc = n < 0 ? -EINVAL :
		     agent_entry_parse(AGENT_STORE_PREFIX, key, json, n,
				       time(NULL), ag->ttl_max, &e, why,
				       sizeof(why));
	if (n < 0)
		snprintf(why, sizeof(why), "not base64");
	if (rc == -ESTALE) {
		p_debug("agent: store entry %s: %s", key, why);
		return;
	}
	if (rc) {
		/* One line per bad entry, and nothing steered for it: an
		 * entry this agent had under that key goes. */
		p_err("agent: store entry %s: %s; nothing steered for it", key,
		      why);
		ag->garbage++;
		i = find_key(ag, key);
		if (i >= 0)
			agent_drop(ag, i);
		return;
	}
	/* Only the names this node serves (--names): a writer of the whole
	 * prefix (etcd's root, a stolen credential) cannot make it answer
	 * for others'.  docs/design.md, "What a store's writer can do". */
	if (ag->names && !ctl_policy_allows(ag->names, e.ident)) {
		p_err("agent: store entry %s: %s is not among the names this node serves (--names %s); nothing steered for it",
		      key, e.ident, ag->names_path);
		ag->not_served++;
		i = find_key(ag, key);
		if (i >= 0)
			agent_drop(ag, i);
		return;
	}
	c = agent_set_find(&ag->set, e.ident);
	if (!c || c->src != AGENT_SRC_STORE) {
		char dom[ALPNSTEER_NAME_MAX];
		int n_dom;

		/* One tenant's names take at most --quota places, and the
		 * store's never the last AGENT_LOCAL_RESERVE: others'
		 * challenges, and this host's own, still find room. */
		agent_quota_domain(e.ident, ag->names, dom, sizeof(dom));
		n_dom = agent_set_count_domain(&ag->set, dom, ag->names);
		if (n_dom >= ag->quota ||
		    agent_set_count_store(&ag->set) >=
			    AGENT_MAX - AGENT_LOCAL_RESERVE) {
			p_err("agent: store entry %s: %s: %s; nothing steered for it",
			      key, e.ident,
			      n_dom >= ag->quota ?
				      "its domain's quota of pending challenges is full (--quota)" :
				      "the store's share of this node's pending places is full");
			if (n_dom >= ag->quota)
				p_hint("%s has %d pending from the store; --quota %ld allows that many per domain",
				       dom, n_dom, ag->quota);
			ag->over_quota++;
			return;
		}
	}
	snprintf(req, sizeof(req), "add-digest %s %s", e.ident, e.digest);
	rc = agent_set_put(&ag->set, e.ident, req, e.expires, AGENT_SRC_STORE);
	if (rc < 0) {
		p_err("agent: store entry %s: %s", key,
		      rc == -E2BIG ? "too many pending challenges" :
				     strerror(-rc));
		return;
	}
	c = agent_set_find(&ag->set, e.ident);
	c->seen = ag->listing;
	c->owner = 0; /* the fleet's, not a local member's */
	if (rc > 0)
		p_info("agent: %s pending from the store (expires in %ld s)",
		       e.ident, agent_left(e.expires, time(NULL)));
}

void agent_on_store(struct agent *ag)
{
	char *nl;
	ssize_t n;

	for (;;) {
		n = read(ag->store_fd, ag->storebuf + ag->storelen,
			 sizeof(ag->storebuf) - 1 - ag->storelen);
		if (n == 0) {
			/* The watcher ended: start another. */
			close(ag->store_fd);
			ag->store_fd = -1;
			ag->store_up = false;
			ag->store_retry_at = agent_mono_ms() + 1000;
			ag->storelen = 0;
			return;
		}
		if (n < 0)
			break;
		ag->storelen += n;
		ag->storebuf[ag->storelen] = '\0';
		while ((nl = strchr(ag->storebuf, '\n'))) {
			*nl = '\0';
			store_line(ag, ag->storebuf);
			memmove(ag->storebuf, nl + 1,
				ag->storelen - (nl + 1 - ag->storebuf) + 1);
			ag->storelen -= nl + 1 - ag->storebuf;
		}
		if (ag->storelen >= sizeof(ag->storebuf) - 1) {
			/* A line this long is no event the watcher sends;
			 * said, not dropped in silence. */
			p_err("agent: a line of the store watcher over %zu bytes was dropped",
			      sizeof(ag->storebuf) - 1);
			ag->storelen = 0;
		}
	}
}
