// SPDX-License-Identifier: GPL-2.0-only
/*
 * attach_fields.c - the loops over LC_ATTACH_FIELDS (attach_fields.h):
 * defaults, values as text, the comparison of two attachments' options,
 * and the "options" that `status` shows.  No I/O but the FILE or JSON
 * writer it is given.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "attach_fields.h"
#include "json.h"
#include "lifecycle.h"

#define LC_DFLT_U32(d) .dflt = (d)
#define LC_DFLT_PORTS(d) .dflt = (d)
#define LC_DFLT_GROUP(d) .dflt = (d)
#define LC_DFLT_STR(d) .dflt_str = (d)
#define LC_DFLT_FORWARD(d) .dflt_str = (d)
#define LC_DFLT_DOMAINS(d) .dflt_str = (d)
#define LC_DFLT_IFACES(d) .dflt_str = (d)
#define LC_DFLT_CIDRS(d) .dflt_str = (d)

const struct lc_field lc_fields[LC_F__MAX] = {
#define LC_X_DESC(K, f, o, v, a, d, mn, mx, cmp, h)        \
	[LC_F_##f] = { .kind = LC_K_##K,                   \
		       .key = #f,                          \
		       .opt = o,                           \
		       .val = v,                           \
		       .arg = a,                           \
		       LC_DFLT_##K(d),                     \
		       .min = mn,                          \
		       .max = mx,                          \
		       .always = LC_CMP_##cmp,             \
		       .off = offsetof(struct lc_opts, f), \
		       .help = h },
#define LC_CMP_ALWAYS true
#define LC_CMP_NAMED false
	LC_ATTACH_FIELDS(LC_X_DESC)
#undef LC_X_DESC
};

void lc_opts_default(struct lc_opts *o)
{
	const struct lc_field *f;

	memset(o, 0, sizeof(*o));
	for (f = lc_fields; f < lc_fields + LC_F__MAX; f++) {
		void *p = lc_field_ptr(o, f);

		switch (f->kind) {
		case LC_K_U32:
			*(__u32 *)p = f->dflt;
			break;
		case LC_K_GROUP:
			*(long *)p = f->dflt;
			break;
		case LC_K_STR:
			snprintf(p, sizeof(lc_t_STR), "%s", f->dflt_str);
			break;
		default: /* lists start empty; PORTS' default is applied
			  * by lc_opts_finish() when none is given */
			break;
		}
	}
}

int lc_cidr_parse(const char *s, struct alpnsteer_cidr *c)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	unsigned char a[16];
	unsigned long plen;
	__u32 i, max;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, buf, a) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, a) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	plen = max;
	if (slash) {
		if (!*slash || *slash == '-' || *slash == '+')
			return -EINVAL;
		plen = strtoul(slash, &end, 10);
		if (*end || plen > max)
			return -EINVAL;
	}
	c->plen = plen;
	for (i = 0; i < max / 32; i++) {
		__u32 bits = plen > 32 * i ? plen - 32 * i : 0;
		__u32 m = bits >= 32 ? 0xffffffffu :
			  bits	     ? ~0u << (32 - bits) :
				       0;
		__u32 w;

		memcpy(&w, a + 4 * i, 4);
		c->mask[i] = htonl(m);
		c->addr[i] = w & c->mask[i];
	}
	return 0;
}

void lc_cidr_str(const struct alpnsteer_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(c->family == AF_INET6 ? AF_INET6 : AF_INET, c->addr, a,
		       sizeof(a)))
		a[0] = '\0';
	snprintf(buf, len, "%s/%u", a, c->plen);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* A prefix list, as given (@set false) or sorted without repeats. */
static void cidrs_str(char *buf, size_t len, const struct lc_cidrs *p, bool set)
{
	char v[ALPNSTEER_MAX_PROXY_FROM][INET6_ADDRSTRLEN + 8];
	__u32 i, n = p->n < ALPNSTEER_MAX_PROXY_FROM ? p->n :
						       ALPNSTEER_MAX_PROXY_FROM;
	size_t off = 0;

	for (i = 0; i < n; i++)
		lc_cidr_str(&p->v[i], v[i], sizeof(v[i]));
	if (set)
		qsort(v, n, sizeof(v[0]), cmp_str);
	buf[0] = '\0';
	for (i = 0; i < n && off < len; i++)
		if (!set || !i || strcmp(v[i], v[i - 1]))
			off += snprintf(buf + off, len - off, "%s%s",
					off ? "," : "", v[i]);
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/* A port list: as given (@set false, the record's form) or as a set,
 * sorted and without repeats. */
static void ports_str(char *buf, size_t len, const struct lc_ports *p, bool set)
{
	__u32 sorted[ALPNSTEER_MAX_PORTS], i, n = p->n;
	size_t off = 0;

	if (n > ALPNSTEER_MAX_PORTS)
		n = ALPNSTEER_MAX_PORTS;
	memcpy(sorted, p->v, n * sizeof(*sorted));
	if (set)
		qsort(sorted, n, sizeof(*sorted), cmp_u32);
	buf[0] = '\0';
	for (i = 0; i < n && off < len; i++)
		if (!set || !i || sorted[i] != sorted[i - 1])
			off += snprintf(buf + off, len - off, "%s%u",
					off ? "," : "", sorted[i]);
}

void lc_field_str(const struct lc_opts *o, const struct lc_field *f, bool set,
		  char *buf, size_t len)
{
	const void *p = lc_field_cptr(o, f);
	const struct lc_ifaces *ifs;
	size_t off = 0;
	__u32 i;

	buf[0] = '\0';
	switch (f->kind) {
	case LC_K_U32:
		snprintf(buf, len, "%u", *(const __u32 *)p);
		break;
	case LC_K_GROUP:
		snprintf(buf, len, "%ld", *(const long *)p);
		break;
	case LC_K_STR:
	case LC_K_FORWARD:
	case LC_K_DOMAINS:
		snprintf(buf, len, "%s", (const char *)p);
		break;
	case LC_K_PORTS:
		ports_str(buf, len, p, set);
		break;
	case LC_K_CIDRS:
		cidrs_str(buf, len, p, set);
		break;
	case LC_K_IFACES:
		ifs = p;
		for (i = 0; i < ifs->n && i < ALPNSTEER_MAX_IFACES && off < len;
		     i++)
			off += snprintf(buf + off, len - off, "%s%d",
					i ? "," : "", ifs->v[i]);
		break;
	}
}

/* What a value means to a user, for the diff and `status`. */
static void field_shown(const struct lc_opts *o, const struct lc_field *f,
			char *buf, size_t len)
{
	char v[LC_DOMAINS_LEN];

	lc_field_str(o, f, true, v, sizeof(v));
	if (f->kind == LC_K_GROUP)
		snprintf(buf, len,
			 *(const long *)lc_field_cptr(o, f) < 0 ? "none" :
								  "gid %s",
			 v);
	else if (v[0])
		snprintf(buf, len, "%s", v);
	else
		snprintf(buf, len, "%s",
			 f->kind == LC_K_FORWARD ? "the built-in one" :
			 f->kind == LC_K_DOMAINS ? "none (every name)" :
			 f->kind == LC_K_IFACES	 ? "off" :
						   "none");
}

static void say(char *why, size_t len, size_t *off, const char *what,
		const char *live, const char *want)
{
	if (*off >= len)
		return;
	*off += snprintf(why + *off, len - *off,
			 "%s%s: attached with %s, asked for %s",
			 *off ? "; " : "", what, live, want);
}

int lc_opts_diff(const struct lc_opts *live, const struct lc_opts *want,
		 char *why, size_t len)
{
	char a[LC_DOMAINS_LEN], b[LC_DOMAINS_LEN], what[64];
	const struct lc_field *f;
	size_t off = 0;

	why[0] = '\0';
	for (f = lc_fields; f < lc_fields + LC_F__MAX; f++) {
		if (!f->always &&
		    !(want->given & (1u << (unsigned int)(f - lc_fields))))
			continue;
		lc_field_str(live, f, true, a, sizeof(a));
		lc_field_str(want, f, true, b, sizeof(b));
		if (!strcmp(a, b))
			continue;
		/* The responder is what users think of, not the option. */
		snprintf(what, sizeof(what),
			 f->kind == LC_K_FORWARD ? "responder" :
			 f->kind == LC_K_IFACES	 ? "--%s (ifindex)" :
						   "--%s",
			 f->opt);
		field_shown(live, f, a, sizeof(a));
		field_shown(want, f, b, sizeof(b));
		say(why, len, &off, what, a, b);
	}
	if (live->netns != want->netns) {
		snprintf(a, sizeof(a), "cookie %llu",
			 (unsigned long long)live->netns);
		snprintf(b, sizeof(b), "cookie %llu",
			 (unsigned long long)want->netns);
		say(why, len, &off, "network namespace", a, b);
	}
	return off ? 1 : 0;
}

void lc_opts_text(FILE *out, const struct lc_opts *o)
{
	char v[LC_DOMAINS_LEN];
	const struct lc_field *f;

	fprintf(out, "options:\n");
	for (f = lc_fields; f < lc_fields + LC_F__MAX; f++) {
		field_shown(o, f, v, sizeof(v));
		fprintf(out, "  --%-18s %s\n", f->opt, v);
	}
}

void lc_opts_json(struct json_writer *jw, const struct lc_opts *o)
{
	const struct lc_field *f;
	char v[LC_DOMAINS_LEN], *tok, *save = NULL;
	const struct lc_ports *ps;
	const struct lc_ifaces *ifs;
	long gid;
	__u32 i;

	jw_start_object(jw);
	for (f = lc_fields; f < lc_fields + LC_F__MAX; f++) {
		const void *p = lc_field_cptr(o, f);

		jw_name(jw, f->opt);
		switch (f->kind) {
		case LC_K_U32:
			jw_uint(jw, *(const __u32 *)p);
			break;
		case LC_K_GROUP:
			gid = *(const long *)p;
			if (gid < 0)
				jw_null(jw);
			else
				jw_int(jw, gid);
			break;
		case LC_K_STR:
		case LC_K_FORWARD:
			jw_string(jw, p);
			break;
		case LC_K_PORTS:
			ps = p;
			jw_start_array(jw);
			for (i = 0; i < ps->n && i < ALPNSTEER_MAX_PORTS; i++)
				jw_uint(jw, ps->v[i]);
			jw_end_array(jw);
			break;
		case LC_K_IFACES:
			ifs = p;
			jw_start_array(jw);
			for (i = 0; i < ifs->n && i < ALPNSTEER_MAX_IFACES; i++)
				jw_int(jw, ifs->v[i]);
			jw_end_array(jw);
			break;
		case LC_K_CIDRS: /* a list of strings, as DOMAINS */
		case LC_K_DOMAINS:
			if (f->kind == LC_K_DOMAINS)
				snprintf(v, sizeof(v), "%s", (const char *)p);
			else
				lc_field_str(o, f, false, v, sizeof(v));
			jw_start_array(jw);
			for (tok = strtok_r(v, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save))
				jw_string(jw, tok);
			jw_end_array(jw);
			break;
		}
	}
	jw_end_object(jw);
}

static __u32 split_ints(const char *v, void *out, __u32 max, bool is_int)
{
	char buf[256], *tok, *save = NULL;
	__u32 n = 0;

	snprintf(buf, sizeof(buf), "%s", v);
	for (tok = strtok_r(buf, ",", &save); tok && n < max;
	     tok = strtok_r(NULL, ",", &save)) {
		if (is_int)
			((int *)out)[n++] = atoi(tok);
		else
			((__u32 *)out)[n++] = strtoul(tok, NULL, 10);
	}
	return n;
}

/* The record's "a/n,b/m" back into a list; what does not parse (a record
 * is root's own file) is left out. */
static void lc_cidrs_set(struct lc_cidrs *cs, const char *v)
{
	char buf[LC_DOMAINS_LEN], *tok, *save = NULL;

	cs->n = 0;
	snprintf(buf, sizeof(buf), "%s", v);
	for (tok = strtok_r(buf, ",", &save);
	     tok && cs->n < ALPNSTEER_MAX_PROXY_FROM;
	     tok = strtok_r(NULL, ",", &save))
		if (!lc_cidr_parse(tok, &cs->v[cs->n]))
			cs->n++;
}

void lc_field_set(struct lc_opts *o, const struct lc_field *f, const char *v)
{
	void *p = lc_field_ptr(o, f);
	struct lc_ports *ps = p;
	struct lc_ifaces *ifs = p;

	switch (f->kind) {
	case LC_K_U32:
		*(__u32 *)p = strtoul(v, NULL, 10);
		break;
	case LC_K_GROUP:
		*(long *)p = atol(v);
		break;
	case LC_K_STR:
		snprintf(p, sizeof(lc_t_STR), "%s", v);
		break;
	case LC_K_FORWARD:
		snprintf(p, sizeof(lc_t_FORWARD), "%s", v);
		break;
	case LC_K_DOMAINS:
		snprintf(p, sizeof(lc_t_DOMAINS), "%s", v);
		break;
	case LC_K_PORTS:
		ps->n = split_ints(v, ps->v, ALPNSTEER_MAX_PORTS, false);
		break;
	case LC_K_IFACES:
		ifs->n = split_ints(v, ifs->v, ALPNSTEER_MAX_IFACES, true);
		break;
	case LC_K_CIDRS:
		lc_cidrs_set(p, v);
		break;
	}
}

const struct lc_field *lc_field_by_key(const char *key)
{
	int i;

	for (i = 0; i < LC_F__MAX; i++)
		if (!strcmp(lc_fields[i].key, key))
			return &lc_fields[i];
	return NULL;
}
