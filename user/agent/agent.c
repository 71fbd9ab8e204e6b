// SPDX-License-Identifier: GPL-2.0-only
/*
 * agent.c - the pending challenges of `alpnsteer agent`, their expiry, and
 * the shared store's keys and entries.  No sockets, no BPF: the unit tests
 * drive it directly.  docs/design.md, "Agent and fleet".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "acme_cert.h"
#include "agent.h"
#include "ctlproto.h"

time_t agent_expiry(time_t now, long ttl, long max)
{
	if (ttl <= 0 || ttl > max)
		ttl = max;
	return now + ttl;
}

long agent_left(time_t expires, time_t now)
{
	return expires > now ? (long)(expires - now) : 0;
}

struct agent_chal *agent_set_find(struct agent_set *s, const char *ident)
{
	int i;

	for (i = 0; i < s->nr; i++)
		if (!strcmp(s->v[i].ident, ident))
			return &s->v[i];
	return NULL;
}

int agent_set_put(struct agent_set *s, const char *ident, const char *req,
		  time_t expires, enum agent_src src)
{
	struct agent_chal *c = agent_set_find(s, ident);

	if (c) {
		if (!strcmp(c->req, req) && c->expires == expires &&
		    c->src == src)
			return 0;
		/* A new key authorization, or a new expiry (the daemon
		 * expires it too), must reach the daemon again. */
		if (strcmp(c->req, req) || c->expires != expires)
			c->handed = false;
		snprintf(c->req, sizeof(c->req), "%s", req);
		c->expires = expires;
		c->src = src;
		return 1;
	}
	if (s->nr >= AGENT_MAX)
		return -E2BIG;
	if (!s->v) {
		s->v = calloc(AGENT_MAX, sizeof(*s->v));
		if (!s->v)
			return -ENOMEM;
	}
	c = &s->v[s->nr++];
	memset(c, 0, sizeof(*c));
	snprintf(c->ident, sizeof(c->ident), "%s", ident);
	snprintf(c->req, sizeof(c->req), "%s", req);
	c->expires = expires;
	c->src = src;
	return 1;
}

void agent_set_drop(struct agent_set *s, int i)
{
	if (i < 0 || i >= s->nr)
		return;
	s->v[i] = s->v[--s->nr];
}

int agent_set_expired(const struct agent_set *s, time_t now)
{
	int i;

	for (i = 0; i < s->nr; i++)
		if (s->v[i].expires <= now)
			return i;
	return -1;
}

time_t agent_set_next(const struct agent_set *s)
{
	time_t t = 0;
	int i;

	for (i = 0; i < s->nr; i++)
		if (!t || s->v[i].expires < t)
			t = s->v[i].expires;
	return t;
}

void agent_set_free(struct agent_set *s)
{
	free(s->v);
	s->v = NULL;
	s->nr = 0;
}

const char *agent_quota_domain(const char *ident,
			       const struct ctl_policy *names, char *buf,
			       size_t len)
{
	const char *d = ident;
	size_t nl = strlen(ident), l;
	int i, dots = 0;

	for (i = 0; names && i < names->nr; i++) {
		l = strlen(names->name[i]);
		if (!strcmp(ident, names->name[i]) ||
		    (nl > l + 1 && ident[nl - l - 1] == '.' &&
		     !strcmp(ident + nl - l, names->name[i]))) {
			snprintf(buf, len, "%s", names->name[i]);
			return buf;
		}
	}
	if (!strchr(ident, ':') && ident[strspn(ident, "0123456789.")]) {
		/* a name: its last two labels */
		for (i = (int)nl - 1; i >= 0; i--)
			if (ident[i] == '.' && ++dots == 2) {
				d = ident + i + 1;
				break;
			}
	}
	snprintf(buf, len, "%s", d);
	return buf;
}

int agent_set_count_domain(const struct agent_set *s, const char *dom,
			   const struct ctl_policy *names)
{
	char buf[ALPNSTEER_NAME_MAX];
	int i, n = 0;

	for (i = 0; i < s->nr; i++)
		if (s->v[i].src == AGENT_SRC_STORE &&
		    !strcmp(agent_quota_domain(s->v[i].ident, names, buf,
					       sizeof(buf)),
			    dom))
			n++;
	return n;
}

int agent_set_count_store(const struct agent_set *s)
{
	int i, n = 0;

	for (i = 0; i < s->nr; i++)
		n += s->v[i].src == AGENT_SRC_STORE;
	return n;
}

int agent_store_key(const char *prefix, const char *ident, char *buf,
		    size_t len, char *err, size_t errlen)
{
	struct acme_ident id;
	size_t off;
	char *dot;
	int n;

	if (acme_ident_parse(ident, &id, err, errlen))
		return -EINVAL;
	/* An address ends with a slash, as each label of a name ends with
	 * a dot: a role's prefix on "ip/198.18.7.1/" grants that address
	 * and not 198.18.7.10 (issue 20).  Keys of older writers lack it
	 * and are refused (docs/design.md, "A fleet: the store"). */
	if (id.type == ACME_IDENT_IP) {
		n = snprintf(buf, len, "%sip/%s/", prefix, id.name);
		return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
	}
	n = snprintf(buf, len, "%sdns/", prefix);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	off = n;
	/* Labels last to first, each followed by a dot: the dot that ends
	 * a label keeps "org.example." from matching "org.examples.". */
	for (;;) {
		dot = strrchr(id.name, '.');
		n = snprintf(buf + off, len - off, "%s.",
			     dot ? dot + 1 : id.name);
		if (n < 0 || (size_t)n >= len - off)
			return -ENAMETOOLONG;
		off += n;
		if (!dot)
			break;
		*dot = '\0';
	}
	return 0;
}

static void hex(const unsigned char *d, char *out)
{
	int i;

	for (i = 0; i < ACME_DIGEST_LEN; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

int agent_entry_parse(const char *prefix, const char *key, const char *json,
		      size_t len, time_t now, long max, struct agent_entry *e,
		      char *err, size_t errlen)
{
	unsigned char digest[ACME_DIGEST_LEN];
	struct acme_ident id;
	struct json_tokener *tok;
	struct json_object *o = NULL, *f;
	char want[ALPNSTEER_NAME_MAX * 2], why[200];
	const char *s;
	int rc = -EINVAL;
	long long exp, added = 0;

	memset(e, 0, sizeof(*e));
	tok = json_tokener_new();
	if (!tok) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	o = json_tokener_parse_ex(tok, json, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    tok->char_offset != (int)len) {
		snprintf(err, errlen, "not a JSON object");
		goto out;
	}
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "not a JSON object");
		goto out;
	}
	if (json_object_object_length(o) !=
	    3 + json_object_object_get_ex(o, "added", NULL)) {
		snprintf(
			err, errlen,
			"not exactly the fields ident, digest and expires (and added)");
		goto out;
	}
	if (!json_object_object_get_ex(o, "ident", &f) ||
	    !json_object_is_type(f, json_type_string)) {
		snprintf(err, errlen, "no string \"ident\"");
		goto out;
	}
	s = json_object_get_string(f);
	if (agent_store_key(prefix, s, want, sizeof(want), why, sizeof(why))) {
		snprintf(err, errlen, "bad identifier: %s", why);
		goto out;
	}
	/* The key is what the store's roles grant: an entry is only taken
	 * for the name its key says, or a client allowed to write the keys
	 * of one domain could add any name. */
	if (strcmp(want, key)) {
		snprintf(
			err, errlen,
			"the key does not belong to identifier '%.*s' (its key is %.*s)",
			100, s, 200, want);
		goto out;
	}
	/* As the CA and every node sees it: lowercase, no trailing dot
	 * (acme_ident_parse()), whatever the writer's spelling, so that two
	 * spellings never make two challenges. */
	if (acme_ident_parse(s, &id, why, sizeof(why))) {
		snprintf(err, errlen, "bad identifier: %s", why);
		goto out;
	}
	snprintf(e->ident, sizeof(e->ident), "%s", id.name);
	if (!json_object_object_get_ex(o, "digest", &f) ||
	    !json_object_is_type(f, json_type_string) ||
	    acme_digest_parse(json_object_get_string(f), digest)) {
		snprintf(
			err, errlen,
			"no SHA-256 \"digest\" (64 hex digits or 43 base64url characters)");
		goto out;
	}
	hex(digest, e->digest);
	if (!json_object_object_get_ex(o, "expires", &f) ||
	    !json_object_is_type(f, json_type_int)) {
		snprintf(err, errlen,
			 "no integer \"expires\" (seconds since the epoch)");
		goto out;
	}
	errno = 0;
	exp = json_object_get_int64(f);
	if (errno || exp <= 0) {
		snprintf(err, errlen, "\"expires\" out of range");
		goto out;
	}
	if (json_object_object_get_ex(o, "added", &f)) {
		if (!json_object_is_type(f, json_type_int)) {
			snprintf(
				err, errlen,
				"\"added\" is not an integer (seconds since the epoch)");
			goto out;
		}
		errno = 0;
		added = json_object_get_int64(f);
		if (errno || added <= 0 || added > exp) {
			snprintf(err, errlen, "\"added\" out of range");
			goto out;
		}
		e->added = added;
	}
	/* Never longer than this agent allows (--ttl), counted from the
	 * add: the cut is then the same at every reading, on every node,
	 * so an entry whose remove was lost is not taken again, good for
	 * another --ttl, each time the store comes back.  Nor more than
	 * --ttl from now: an "added" ahead of our clock does not lengthen
	 * it.  An older writer's entry (no "added") is cut from now. */
	if (added && exp - added > max)
		exp = added + max;
	if (exp - now > max)
		exp = now + max;
	if (exp <= now) {
		snprintf(err, errlen, "expired %lld s ago",
			 (long long)(now - exp));
		rc = -ESTALE;
		goto out;
	}
	e->expires = exp;
	rc = 0;
out:
	json_object_put(o);
	json_tokener_free(tok);
	return rc;
}

char *agent_entry_json(const struct agent_entry *e)
{
	struct json_object *o = json_object_new_object();
	char *s = NULL;

	if (!o)
		return NULL;
	json_object_object_add(o, "ident", json_object_new_string(e->ident));
	json_object_object_add(o, "digest", json_object_new_string(e->digest));
	json_object_object_add(o, "expires", json_object_new_int64(e->expires));
	if (e->added)
		json_object_object_add(o, "added",
				       json_object_new_int64(e->added));
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}
