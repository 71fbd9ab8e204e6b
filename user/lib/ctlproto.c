// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctlproto.c - apply control requests to the challenge store.
 *
 * Kept free of sockets and BPF so the unit tests drive it directly.
 */
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme_cert.h"
#include "ctlproto.h"
#include "json.h"

/* Replies grow with the number of challenges (up to ALPNSTEER_MAX_PENDING
 * of them, some 400 KiB of JSON): they are built in memory of their own
 * size, never cut at a fixed buffer. */
char *ctl_list_json(struct challenges *cs, const struct trace_view *v)
{
	struct json_writer *jw;
	struct challenge *c;
	unsigned int i;
	struct jw_mem m;

	jw = jw_mem_new(&m);
	if (!jw)
		return NULL;
	jw_start_array(jw);
	for (c = cs->head; c; c = c->next) {
		/* A member's list: the names the trace would show it (their
		 * last clients are the trace's too). */
		if (!trace_may_read(v, c->owner, c->ident))
			continue;
		jw_start_object(jw);
		jw_string_field(jw, "identifier", c->ident);
		jw_string_field(jw, "sni", c->sni);
		jw_string_field(jw, "source",
				c->source == SRC_DIR ? "alpn-dir" : "control");
		/* 0: until its remove. */
		jw_uint_field(jw, "expires", (__u64)c->expires);
		jw_uint_field(jw, "answered_ipv4", c->answered_v4);
		jw_uint_field(jw, "answered_ipv6", c->answered_v6);
		jw_name(jw, "last_clients");
		jw_start_array(jw);
		/* Oldest first, from the ring. */
		for (i = 0; i < CHALLENGE_LAST_ADDRS; i++) {
			const char *a = c->last_addr[(c->last_next + i) %
						     CHALLENGE_LAST_ADDRS];

			if (*a)
				jw_string(jw, a);
		}
		jw_end_array(jw);
		jw_end_object(jw);
	}
	jw_end_array(jw);
	return jw_mem_end(jw, &m);
}

char *ctl_list_table(struct challenges *cs, const struct trace_view *v)
{
	struct challenge *c;
	char *buf = NULL;
	size_t len = 0;
	unsigned int i;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fprintf(f, "%-40s %-8s %6s %6s  %s", "IDENTIFIER", "SOURCE", "IPV4",
		"IPV6", "LAST CLIENTS");
	for (c = cs->head; c; c = c->next) {
		if (!trace_may_read(v, c->owner, c->ident))
			continue;
		fprintf(f, "\n%-40s %-8s %6llu %6llu ", c->ident,
			c->source == SRC_DIR ? "alpn-dir" : "control",
			(unsigned long long)c->answered_v4,
			(unsigned long long)c->answered_v6);
		for (i = 0; i < CHALLENGE_LAST_ADDRS; i++) {
			const char *a = c->last_addr[(c->last_next + i) %
						     CHALLENGE_LAST_ADDRS];

			if (*a)
				fprintf(f, " %s", a);
		}
	}
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

char *ctl_msg(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

/* The requests: their words after the verb, and who may ask. */
enum ctl_arg {
	ARG_IDENT = 1,
	ARG_KEYAUTH,
	ARG_DIGEST,
	ARG_TTL, /* optional, last */
};

static const struct {
	const char *name;
	const char *usage;
	enum ctl_arg args[3];
	int min, max;
	bool root_only;
} ctl_verbs[CTL__MAX] = {
	[CTL_ADD] = { "add",
		      "add IDENT KEYAUTH [TTL]",
		      { ARG_IDENT, ARG_KEYAUTH, ARG_TTL },
		      2,
		      3 },
	[CTL_ADD_DIGEST] = { "add-digest",
			     "add-digest IDENT DIGEST [TTL]",
			     { ARG_IDENT, ARG_DIGEST, ARG_TTL },
			     2,
			     3 },
	[CTL_REMOVE] = { "remove", "remove IDENT", { ARG_IDENT }, 1, 1 },
	[CTL_LIST] = { "list", "list", {}, 0, 0 },
	[CTL_TABLE] = { "table", "table", {}, 0, 0 },
	[CTL_STATUS] = { "status", "status", {}, 0, 0 },
	[CTL_STOP] = { "stop", "stop", {}, 0, 0, true },
	[CTL_TRACE] = { "trace", "trace [IDENT]", { ARG_IDENT }, 0, 1 },
	[CTL_TRACE_TABLE] = { "trace-table",
			      "trace-table [IDENT]",
			      { ARG_IDENT },
			      0,
			      1 },
};

/* A TTL: whole seconds, 1 s to 366 days; -EINVAL otherwise. */
static long parse_ttl(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v <= 0 || v > 366L * 86400)
		return -EINVAL;
	return v;
}

/* One word of a request, by its kind; -EINVAL with the reply said. */
static int check_arg(struct ctl_req *r, enum ctl_arg kind, const char *w,
		     char **reply)
{
	char why[200];

	switch (kind) {
	case ARG_IDENT:
		r->ident = w;
		if (acme_ident_parse(w, &r->id, why, sizeof(why))) {
			*reply = ctl_msg("error: %s", why);
			return -EINVAL;
		}
		return 0;
	case ARG_KEYAUTH:
		r->arg = w;
		return 0;
	case ARG_DIGEST:
		r->arg = w;
		if (acme_digest_parse(w, r->digest)) {
			*reply = ctl_msg(
				"error: '%s' is not a SHA-256 digest (64 hex digits, or 43 base64url characters)",
				w);
			return -EINVAL;
		}
		return 0;
	case ARG_TTL:
		r->ttl = parse_ttl(w);
		if (r->ttl < 0) {
			*reply = ctl_msg(
				"error: bad ttl '%s' (whole seconds, 1 to 31622400)",
				w);
			return -EINVAL;
		}
		return 0;
	}
	return -EINVAL;
}

static char *unknown(const struct ctl_server *srv)
{
	char usage[256];
	size_t off = 0;
	int v;

	usage[0] = '\0';
	for (v = 1; v < CTL__MAX; v++)
		if (srv->fn[v])
			off += snprintf(
				usage + off,
				off < sizeof(usage) ? sizeof(usage) - off : 0,
				"%s%s", off ? " | " : "", ctl_verbs[v].usage);
	return ctl_msg("error: unknown request (%s)", usage);
}

int ctl_dispatch(const struct ctl_server *srv, void *ctx, char *req, uid_t uid,
		 char **reply)
{
	char *save = NULL, *w[5];
	struct ctl_req r = { .uid = uid };
	int i, n, v, err;

	*reply = NULL;
	req[strcspn(req, "\r\n")] = '\0';
	for (n = 0; n < 5; n++) {
		w[n] = strtok_r(n ? NULL : req, " ", &save);
		if (!w[n])
			break;
	}
	if (!n) {
		*reply = ctl_msg("error: empty request");
		return -EINVAL;
	}
	for (v = 1; v < CTL__MAX; v++)
		if (!strcmp(w[0], ctl_verbs[v].name))
			break;
	if (v == CTL__MAX || !srv->fn[v] || n - 1 < ctl_verbs[v].min ||
	    n - 1 > ctl_verbs[v].max) {
		*reply = unknown(srv);
		return -EINVAL;
	}
	if (ctl_verbs[v].root_only && uid != 0) {
		*reply = ctl_msg("error: only root may ask for %s",
				 ctl_verbs[v].name);
		return -EPERM;
	}
	r.verb = v;
	for (i = 1; i < n; i++) {
		err = check_arg(&r, ctl_verbs[v].args[i - 1], w[i], reply);
		if (err)
			return err;
	}
	return srv->fn[v](ctx, &r, reply);
}

/* ---- who may add what ---- */

bool ctl_policy_allows(const struct ctl_policy *p, const char *name)
{
	size_t nl = strlen(name), l;
	int i;

	if (!p || p->nr < 0)
		return true;
	for (i = 0; i < p->nr; i++) {
		l = strlen(p->name[i]);
		if (!strcmp(name, p->name[i]))
			return true;
		/* A subdomain: "x.a.test" under "a.test", never "xa.test". */
		if (nl > l + 1 && name[nl - l - 1] == '.' &&
		    !strcmp(name + nl - l, p->name[i]) &&
		    !strchr(p->name[i], ':'))
			return true;
	}
	return false;
}

int ctl_policy_load(const char *path, struct ctl_policy *p, char *err,
		    size_t errlen)
{
	char line[512], e[128];
	struct acme_ident id;
	struct stat st;
	FILE *f;
	int fd, rc = 0, ln = 0;

	p->nr = -1;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		snprintf(err, errlen, "cannot open %s: %s", path,
			 strerror(errno));
		return -errno;
	}
	/* It widens what members may do: only root may have written it. */
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & 022) || st.st_size > 64 * 1024) {
		snprintf(
			err, errlen,
			"%s must be a regular file of root's that only root may write, at most 64 KiB",
			path);
		close(fd);
		return -EPERM;
	}
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	p->nr = 0;
	while (fgets(line, sizeof(line), f)) {
		char *s = line + strspn(line, " \t");

		ln++;
		s[strcspn(s, " \t\r\n#")] = '\0';
		if (!*s)
			continue;
		if (acme_ident_parse(s, &id, e, sizeof(e))) {
			snprintf(err, errlen, "%s:%d: %s", path, ln, e);
			rc = -EINVAL;
			break;
		}
		if (p->nr == CTL_POLICY_MAX) {
			snprintf(err, errlen, "%s: more than %d names", path,
				 CTL_POLICY_MAX);
			rc = -E2BIG;
			break;
		}
		snprintf(p->name[p->nr++], sizeof(p->name[0]), "%s", id.name);
	}
	fclose(f);
	if (rc)
		p->nr = -1;
	return rc;
}

/* A member's view of the trace: the names root's policy gives members
 * are theirs to watch, whoever added them; with no policy a member may
 * add any name, which makes no name its own but those it added. */
static bool policy_names(const void *arg, const char *name)
{
	const struct ctl_policy *p = arg;

	return p && p->nr >= 0 && ctl_policy_allows(p, name);
}

struct trace_view ctl_trace_view(uid_t uid, const struct ctl_policy *policy)
{
	struct trace_view v = { .uid = uid,
				.may_see = policy_names,
				.arg = policy };

	return v;
}

/* ---- the monitor's server ---- */

struct mon_ctx {
	struct challenges *cs;
	const struct ctl_policy *policy;
};

int ctl_member_check(const struct ctl_req *r, const struct ctl_policy *policy,
		     bool pending, uid_t owner, char **reply)
{
	/* Root may do anything; a --control-group member acts for its own
	 * challenges and names only (docs/usage.md, "What --control-group
	 * membership grants"). */
	if (r->uid == 0)
		return 0;
	if (pending && owner != r->uid) {
		*reply = ctl_msg(
			"error: %s is pending for another user; only it or root may %s it",
			r->ident, r->verb == CTL_REMOVE ? "remove" : "replace");
		return -EPERM;
	}
	if (r->verb != CTL_REMOVE && !ctl_policy_allows(policy, r->id.name)) {
		*reply = ctl_msg(
			"error: %s is not among the names members may add (%s)",
			r->ident, CTL_POLICY_PATH);
		return -EPERM;
	}
	return 0;
}

static int mon_add(void *ctx, const struct ctl_req *r, char **reply)
{
	struct mon_ctx *m = ctx;
	struct challenges *cs = m->cs;
	struct challenge *c;
	char err[200] = "";
	int rc;

	c = challenges_find_sni(cs, r->id.sni);
	rc = ctl_member_check(r, m->policy, c, c ? c->owner : 0, reply);
	if (rc)
		return rc;

	rc = r->verb == CTL_ADD_DIGEST ?
		     challenges_add_digest(cs, r->ident, r->digest, err,
					   sizeof(err)) :
		     challenges_add(cs, r->ident, r->arg, err, sizeof(err));
	if (rc) {
		*reply = ctl_msg("error: %s", err[0] ? err : strerror(-rc));
		return rc;
	}
	/* The monitor expires a challenge itself (its ttl, from the agent or
	 * `challenge add --ttl`): a holder that dies, the agent included,
	 * cannot leave a name answered past it. */
	c = challenges_find_sni(cs, r->id.sni);
	if (c) {
		c->expires = r->ttl ? time(NULL) + r->ttl : 0;
		c->owner = r->uid;
		if (cs->trace)
			trace_owner(cs->trace, c->sni, r->uid);
	}
	*reply = ctl_msg("ok");
	return 1;
}

static int mon_remove(void *ctx, const struct ctl_req *r, char **reply)
{
	struct mon_ctx *m = ctx;
	struct challenge *c = challenges_find_sni(m->cs, r->id.sni);
	int rc;

	rc = ctl_member_check(r, m->policy, c, c ? c->owner : 0, reply);
	if (rc)
		return rc;
	rc = challenges_remove(m->cs, r->ident);

	if (rc) {
		*reply =
			ctl_msg("error: no pending challenge for %s", r->ident);
		return rc;
	}
	*reply = ctl_msg("ok");
	return 1;
}

static int mon_list(void *ctx, const struct ctl_req *r, char **reply)
{
	struct mon_ctx *m = ctx;

	struct trace_view v = ctl_trace_view(r->uid, m->policy);

	*reply = r->verb == CTL_LIST ? ctl_list_json(m->cs, &v) :
				       ctl_list_table(m->cs, &v);
	return *reply ? 0 : -ENOMEM;
}

static int mon_trace(void *ctx, const struct ctl_req *r, char **reply)
{
	struct mon_ctx *m = ctx;
	const char *f = r->ident ? r->id.sni : NULL;
	struct trace_view v = ctl_trace_view(r->uid, m->policy);

	if (!m->cs->trace) {
		*reply = ctl_msg("error: no validation trace kept here");
		return -ENOENT;
	}
	*reply = r->verb == CTL_TRACE ?
			 trace_json(m->cs->trace, f, &v) :
			 trace_text(m->cs->trace, f, trace_now_ms(), &v);
	return *reply ? 0 : -ENOMEM;
}

static const struct ctl_server monitor = {
	.fn = {
		[CTL_ADD] = mon_add,
		[CTL_ADD_DIGEST] = mon_add,
		[CTL_REMOVE] = mon_remove,
		[CTL_LIST] = mon_list,
		[CTL_TABLE] = mon_list,
		[CTL_TRACE] = mon_trace,
		[CTL_TRACE_TABLE] = mon_trace,
	},
};

int ctl_apply_as(struct challenges *cs, char *req, char **reply,
		 const struct ctl_caller *who)
{
	struct mon_ctx m = { .cs = cs, .policy = who->policy };

	return ctl_dispatch(&monitor, &m, req, who->uid, reply);
}

int ctl_apply(struct challenges *cs, char *req, char **reply)
{
	const struct ctl_caller root = { .uid = 0 };

	return ctl_apply_as(cs, req, reply, &root);
}
