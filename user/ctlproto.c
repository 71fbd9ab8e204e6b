// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctlproto.c - apply control requests to the challenge store.
 *
 * Kept free of sockets and BPF so the unit tests drive it directly.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <time.h>
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
char *ctl_list_json(struct challenges *cs)
{
	struct json_writer *jw;
	struct challenge *c;
	char *buf = NULL;
	size_t len = 0;
	unsigned int i;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	jw = jw_new(f);
	jw_start_array(jw);
	for (c = cs->head; c; c = c->next) {
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
	jw_destroy(jw);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

char *ctl_list_table(struct challenges *cs)
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

/* add IDENT KEYAUTH, or add-digest IDENT SHA256(KEYAUTH) */
static int ctl_add(struct challenges *cs, bool is_digest, const char *ident,
		   const char *arg, char *err, size_t errlen)
{
	unsigned char digest[ACME_DIGEST_LEN];

	if (!is_digest)
		return challenges_add(cs, ident, arg, err, errlen);
	if (acme_digest_parse(arg, digest)) {
		snprintf(
			err, errlen,
			"'%s' is not a SHA-256 digest (64 hex digits, or 43 base64url characters)",
			arg);
		return -EINVAL;
	}
	return challenges_add_digest(cs, ident, digest, err, errlen);
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

/* The optional TTL of an add: whole seconds, 1 s to 366 days; 0 when
 * absent, -EINVAL otherwise. */
static long parse_ttl(const char *s)
{
	char *end;
	long v;

	if (!s)
		return 0;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v <= 0 || v > 366L * 86400)
		return -EINVAL;
	return v;
}

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

/* May @who replace or remove @c? */
static bool may_touch(const struct ctl_caller *who, const struct challenge *c)
{
	return who->uid == 0 || c->owner == who->uid;
}

int ctl_apply(struct challenges *cs, char *req, char **reply)
{
	const struct ctl_caller root = { .uid = 0 };

	return ctl_apply_as(cs, req, reply, &root);
}

int ctl_apply_as(struct challenges *cs, char *req, char **reply,
		 const struct ctl_caller *who)
{
	char *save = NULL, *verb, *a1, *a2, *a3, *extra, err[200];
	struct acme_ident id;
	struct challenge *c;
	long ttl;
	int rc;

	*reply = NULL;
	req[strcspn(req, "\r\n")] = '\0';
	verb = strtok_r(req, " ", &save);
	a1 = strtok_r(NULL, " ", &save);
	a2 = strtok_r(NULL, " ", &save);
	a3 = strtok_r(NULL, " ", &save);
	extra = a3 ? strtok_r(NULL, " ", &save) : NULL;
	if (!verb) {
		*reply = ctl_msg("error: empty request");
		return -EINVAL;
	}
	/* Only an add takes a third argument. */
	if (a3 && strcmp(verb, "add") && strcmp(verb, "add-digest"))
		extra = a3;
	if (!strcmp(verb, "list") && !a1) {
		*reply = ctl_list_json(cs);
		return *reply ? 0 : -ENOMEM;
	}
	if (!strcmp(verb, "table") && !a1) {
		*reply = ctl_list_table(cs);
		return *reply ? 0 : -ENOMEM;
	}
	if ((!strcmp(verb, "add") || !strcmp(verb, "add-digest")) && a1 && a2 &&
	    !extra) {
		/* The monitor expires a challenge itself (its ttl, from the
		 * agent or `challenge add --ttl`): a holder that dies, the
		 * agent included, cannot leave a name answered past it. */
		ttl = parse_ttl(a3);
		if (ttl < 0) {
			*reply = ctl_msg(
				"error: bad ttl '%s' (whole seconds, 1 to 31622400)",
				a3);
			return -EINVAL;
		}
		/* A --control-group member acts for its own challenges and
		 * names only (docs/usage.md, "Who may add challenges"). */
		if (!acme_ident_parse(a1, &id, err, sizeof(err)) &&
		    who->uid != 0) {
			c = challenges_find_sni(cs, id.sni);
			if (c && !may_touch(who, c)) {
				*reply = ctl_msg(
					"error: %s is pending for another user; only it or root may replace it",
					a1);
				return -EPERM;
			}
			if (!ctl_policy_allows(who->policy, id.name)) {
				*reply = ctl_msg(
					"error: %s is not among the names members may add (%s)",
					a1, CTL_POLICY_PATH);
				return -EPERM;
			}
		}
		err[0] = '\0';
		rc = ctl_add(cs, !strcmp(verb, "add-digest"), a1, a2, err,
			     sizeof(err));
		if (rc) {
			*reply = ctl_msg("error: %s",
					 err[0] ? err : strerror(-rc));
			return rc;
		}
		if (!acme_ident_parse(a1, &id, err, sizeof(err)) &&
		    (c = challenges_find_sni(cs, id.sni))) {
			c->expires = ttl ? time(NULL) + ttl : 0;
			c->owner = who->uid;
		}
		*reply = ctl_msg("ok");
		return 1;
	}
	if (!strcmp(verb, "remove") && a1 && !a2) {
		c = challenges_find_sni(cs, acme_ident_parse(a1, &id, err,
							     sizeof(err)) ?
						    a1 :
						    id.sni);
		if (c && !may_touch(who, c)) {
			*reply = ctl_msg(
				"error: %s is pending for another user; only it or root may remove it",
				a1);
			return -EPERM;
		}
		rc = challenges_remove(cs, a1);
		if (rc) {
			*reply = ctl_msg("error: no pending challenge for %s",
					 a1);
			return rc;
		}
		*reply = ctl_msg("ok");
		return 1;
	}
	*reply = ctl_msg(
		"error: unknown request (add IDENT KEYAUTH [TTL] | add-digest IDENT DIGEST [TTL] | remove IDENT | list | table)");
	return -EINVAL;
}
