// SPDX-License-Identifier: GPL-2.0-only
/*
 * trace.c - the validation trace (trace.h; docs/design.md, "The
 * validation trace").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <json-c/json.h>

#include "json.h"
#include "trace.h"

static const char *const outcome_names[TR__MAX] = {
	[TR_ANSWERED] = "answered",
	[TR_FAILED] = "failed",
	[TR_NOT_PENDING] = "not_pending",
	[TR_NO_SLOT] = "no_slot",
	[TR_CAPPED] = "source_capped",
	[TR_SPLIT] = "split",
	[TR_DRAINING] = "draining",
	[TR_AFTER_REMOVAL] = "after_removal",
	[TR_NO_RESPONDER] = "no_responder",
	[TR_RELAYED] = "relayed",
};

const char *trace_outcome_name(enum trace_outcome o)
{
	return o > 0 && o < TR__MAX ? outcome_names[o] : NULL;
}

enum trace_outcome trace_outcome_of_verdict(__u32 verdict)
{
	switch (verdict) {
	case AS_NOT_PENDING:
		return TR_NOT_PENDING;
	case AS_NO_SLOT:
		return TR_NO_SLOT;
	case AS_SRC_CAPPED:
		return TR_CAPPED;
	case AS_SPLIT:
		return TR_SPLIT;
	case AS_DRAINING:
		return TR_DRAINING;
	case AS_NO_RESPONDER:
		return TR_NO_RESPONDER;
	}
	return 0;
}

long long trace_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* @addr into @out (16 bytes, IPv4 in the first 4): 1 when IPv4. */
static int canon(int family, const void *addr, __u8 out[16])
{
	struct in6_addr a6;

	memset(out, 0, 16);
	if (family != AF_INET6) {
		memcpy(out, addr, 4);
		return 1;
	}
	memcpy(&a6, addr, sizeof(a6));
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		memcpy(out, &a6.s6_addr[12], 4);
		return 1;
	}
	memcpy(out, &a6, 16);
	return 0;
}

static void fmt_canon(const __u8 a[16], bool v4, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	inet_ntop(v4 ? AF_INET : AF_INET6, a, ip, sizeof(ip));
	snprintf(buf, len, "%s", ip);
}

static void fmt_prefix(const __u8 a[16], bool v4, char *buf, size_t len)
{
	__u8 p[16] = {};

	memcpy(p, a, v4 ? 3 : 6);
	fmt_canon(p, v4, buf, len);
	strncat(buf, v4 ? "/24" : "/48", len - strlen(buf) - 1);
}

void trace_addr(int family, const void *addr, char *buf, size_t len, bool *out4)
{
	__u8 a[16];
	bool v4 = canon(family, addr, a);

	fmt_canon(a, v4, buf, len);
	if (out4)
		*out4 = v4;
}

void trace_prefix(int family, const void *addr, char *buf, size_t len)
{
	__u8 a[16];
	bool v4 = canon(family, addr, a);

	fmt_prefix(a, v4, buf, len);
}

struct trace *trace_new(void)
{
	return calloc(1, sizeof(struct trace));
}

void trace_free(struct trace *t)
{
	free(t);
}

static struct trace_id *find_sni(struct trace *t, const char *sni)
{
	int i;

	for (i = 0; i < TRACE_IDENTS; i++)
		if (t->id[i].used && !strcmp(t->id[i].sni, sni))
			return &t->id[i];
	return NULL;
}

const struct trace_id *trace_find(const struct trace *t, const char *name)
{
	int i;

	for (i = 0; i < TRACE_IDENTS; i++)
		if (t->id[i].used && (!strcmp(t->id[i].sni, name) ||
				      !strcmp(t->id[i].ident, name)))
			return &t->id[i];
	return NULL;
}

/* Which record goes for a new one: a free one, else the one touched
 * least recently among SNIs never pending, then among identifiers no
 * longer pending, then among pending ones. */
static int rank(const struct trace_id *x)
{
	if (!x->ident[0])
		return 0;
	return x->removed_ms ? 1 : 2;
}

static long long touched(const struct trace_id *x)
{
	long long m = x->added_ms > x->last_ms ? x->added_ms : x->last_ms;

	return x->removed_ms > m ? x->removed_ms : m;
}

static struct trace_id *take(struct trace *t, const char *sni)
{
	struct trace_id *v = NULL;
	int i;

	for (i = 0; i < TRACE_IDENTS; i++) {
		struct trace_id *x = &t->id[i];

		if (!x->used) {
			v = x;
			break;
		}
		if (!v || rank(x) < rank(v) ||
		    (rank(x) == rank(v) && touched(x) < touched(v)))
			v = x;
	}
	memset(v, 0, sizeof(*v));
	v->used = true;
	snprintf(v->sni, sizeof(v->sni), "%s", sni);
	return v;
}

void trace_added(struct trace *t, const char *ident, const char *sni,
		 long long now_ms)
{
	struct trace_id *x = find_sni(t, sni);

	/* Pending already (a key authorization replaced): the same
	 * validation goes on.  Removed before: a new challenge, a new
	 * record. */
	if (x && x->ident[0] && !x->removed_ms)
		return;
	x = take(t, sni);
	snprintf(x->ident, sizeof(x->ident), "%s", ident);
	x->added_ms = now_ms;
}

void trace_owner(struct trace *t, const char *name, uid_t uid)
{
	int i;

	for (i = 0; i < TRACE_IDENTS; i++) {
		struct trace_id *x = &t->id[i];

		if (x->used && x->ident[0] && !x->removed_ms &&
		    (!strcmp(x->sni, name) || !strcmp(x->ident, name)))
			x->owner = uid;
	}
}

void trace_removed(struct trace *t, const char *sni, long long now_ms)
{
	struct trace_id *x = find_sni(t, sni);

	if (x && x->ident[0] && !x->removed_ms)
		x->removed_ms = now_ms;
}

static void note_net(struct trace_id *x, const __u8 a[16], bool v4)
{
	__u8 k[8] = { v4 };
	unsigned int i;

	memcpy(k + 1, a, v4 ? 3 : 6);
	for (i = 0; i < x->nr_nets && i < TRACE_NETS; i++)
		if (!memcmp(x->nets[i], k, sizeof(k)))
			return;
	if (x->nr_nets < TRACE_NETS)
		memcpy(x->nets[x->nr_nets++], k, sizeof(k));
}

enum trace_outcome trace_note(struct trace *t, const char *sni, int family,
			      const void *addr, unsigned int port,
			      enum trace_outcome o, const char *detail,
			      long long now_ms)
{
	struct trace_id *x = find_sni(t, sni);
	struct trace_ev *e;
	bool v4;

	if (!x)
		x = take(t, sni);
	/* The kernel says "not pending"; the record says whether it was
	 * once and has gone, which is the question a subscriber asks. */
	if (o == TR_NOT_PENDING && x->ident[0] && x->removed_ms)
		o = TR_AFTER_REMOVAL;
	e = &x->ev[x->nr_ev++ % TRACE_EVENTS];
	memset(e, 0, sizeof(*e));
	e->at_ms = now_ms;
	v4 = canon(family, addr, e->addr);
	e->v4 = v4;
	e->port = port;
	e->outcome = o;
	if (detail)
		snprintf(e->detail, sizeof(e->detail), "%s", detail);
	if (!x->first_ms)
		x->first_ms = now_ms;
	x->last_ms = now_ms;
	x->hellos++;
	if (v4)
		x->v4++;
	else
		x->v6++;
	if (o == TR_ANSWERED) {
		x->answered++;
		if (v4)
			x->answered_v4++;
		else
			x->answered_v6++;
		x->last_answered_ms = now_ms;
		note_net(x, e->addr, v4);
	} else if (o == TR_FAILED) {
		x->failed++;
	}
	return o;
}

enum trace_outcome trace_late_answer(struct trace *t, const char *sni,
				     int family, const void *addr,
				     unsigned int port, long long now_ms)
{
	struct trace_id *x = find_sni(t, sni);
	struct trace_ev *e;
	unsigned int i, kept;
	__u8 a[16];
	bool v4 = canon(family, addr, a);

	kept = x ? (x->nr_ev < TRACE_EVENTS ? x->nr_ev : TRACE_EVENTS) : 0;
	/* The newest failed hello of that client, the one taken back. */
	for (i = 0; i < kept; i++) {
		e = &x->ev[(x->nr_ev - 1 - i) % TRACE_EVENTS];
		if (e->outcome != TR_FAILED || e->port != port || e->v4 != v4 ||
		    memcmp(e->addr, a, 16))
			continue;
		e->outcome = TR_ANSWERED;
		e->detail[0] = '\0';
		x->failed--;
		x->answered++;
		if (v4)
			x->answered_v4++;
		else
			x->answered_v6++;
		x->last_answered_ms = now_ms;
		note_net(x, a, v4);
		return TR_ANSWERED;
	}
	/* Not kept (or never traced): an answer all the same. */
	return trace_note(t, sni, family, addr, port, TR_ANSWERED, NULL,
			  now_ms);
}

static unsigned int nets_of(const struct trace_id *x, bool v4)
{
	unsigned int i, n = 0;

	for (i = 0; i < x->nr_nets; i++)
		n += !!x->nets[i][0] == v4;
	return n;
}

static const char *state_of(const struct trace_id *x)
{
	if (!x->ident[0])
		return "never_pending";
	return x->removed_ms ? "removed" : "pending";
}

/* Least privilege: a --control-group member reads what concerns the
 * names it may validate, not other users' names nor every client's
 * address. */
bool trace_may_read(const struct trace_view *v, uid_t owner, const char *name)
{
	if (!v || !v->uid || owner == v->uid)
		return true;
	return v->may_see && v->may_see(v->arg, name);
}

static bool visible(const struct trace_id *x, const struct trace_view *v)
{
	return x->ident[0] ? trace_may_read(v, x->owner, x->ident) :
			     trace_may_read(v, 0, x->sni);
}

static bool wanted(const struct trace_id *x, const char *filter,
		   const struct trace_view *v)
{
	return x->used &&
	       (!filter || !strcmp(filter, x->sni) ||
		!strcmp(filter, x->ident)) &&
	       visible(x, v);
}

/* Oldest first: the records in the order they began. */
static int order(const struct trace *t, int *idx)
{
	int i, j, n = 0;

	for (i = 0; i < TRACE_IDENTS; i++) {
		long long ki, kj;

		if (!t->id[i].used)
			continue;
		ki = t->id[i].added_ms ? t->id[i].added_ms : t->id[i].first_ms;
		for (j = n; j > 0; j--) {
			const struct trace_id *y = &t->id[idx[j - 1]];

			kj = y->added_ms ? y->added_ms : y->first_ms;
			if (kj <= ki)
				break;
			idx[j] = idx[j - 1];
		}
		idx[j] = i;
		n++;
	}
	return n;
}

/* ms from the challenge's add (or, never pending, its first hello). */
static long long since(const struct trace_id *x, long long at)
{
	return at - (x->added_ms ? x->added_ms : x->first_ms);
}

static void json_event(struct json_writer *jw, const struct trace_id *x,
		       const struct trace_ev *e)
{
	char a[INET6_ADDRSTRLEN], p[INET6_ADDRSTRLEN + 4];

	fmt_canon(e->addr, e->v4, a, sizeof(a));
	fmt_prefix(e->addr, e->v4, p, sizeof(p));
	jw_start_object(jw);
	jw_name(jw, "since_add_ms");
	if (x->added_ms)
		jw_int(jw, since(x, e->at_ms));
	else
		jw_null(jw);
	jw_name(jw, "at_ms");
	jw_int(jw, e->at_ms);
	jw_string_field(jw, "address", a);
	jw_uint_field(jw, "port", e->port);
	jw_string_field(jw, "net", p);
	jw_string_field(jw, "family", e->v4 ? "ipv4" : "ipv6");
	jw_string_field(jw, "sni", x->sni);
	jw_string_field(jw, "outcome", trace_outcome_name(e->outcome));
	if (e->detail[0])
		jw_string_field(jw, "detail", e->detail);
	jw_end_object(jw);
}

static void json_ms(struct json_writer *jw, const char *n, long long v)
{
	jw_name(jw, n);
	if (v)
		jw_int(jw, v);
	else
		jw_null(jw);
}

char *trace_json(const struct trace *t, const char *filter,
		 const struct trace_view *v)
{
	struct json_writer *jw;
	int idx[TRACE_IDENTS], n, k;
	unsigned int i, kept;
	char p[INET6_ADDRSTRLEN + 4];
	struct jw_mem m;

	jw = jw_mem_new(&m);
	if (!jw)
		return NULL;
	jw_start_array(jw);
	n = order(t, idx);
	for (k = 0; k < n; k++) {
		const struct trace_id *x = &t->id[idx[k]];

		if (!wanted(x, filter, v))
			continue;
		jw_start_object(jw);
		jw_string_field(jw, "identifier", x->ident);
		jw_string_field(jw, "sni", x->sni);
		jw_string_field(jw, "state", state_of(x));
		json_ms(jw, "added_ms", x->added_ms);
		json_ms(jw, "removed_ms", x->removed_ms);
		jw_name(jw, "summary");
		jw_start_object(jw);
		jw_uint_field(jw, "hellos", x->hellos);
		json_ms(jw, "first_hello_ms", x->first_ms);
		json_ms(jw, "last_hello_ms", x->last_ms);
		jw_name(jw, "first_since_add_ms");
		if (x->first_ms && x->added_ms)
			jw_int(jw, since(x, x->first_ms));
		else
			jw_null(jw);
		jw_name(jw, "last_since_add_ms");
		if (x->last_ms && x->added_ms)
			jw_int(jw, since(x, x->last_ms));
		else
			jw_null(jw);
		jw_uint_field(jw, "ipv4", x->v4);
		jw_uint_field(jw, "ipv6", x->v6);
		jw_uint_field(jw, "answered", x->answered);
		jw_uint_field(jw, "answered_ipv4", x->answered_v4);
		jw_uint_field(jw, "answered_ipv6", x->answered_v6);
		jw_uint_field(jw, "failed", x->failed);
		json_ms(jw, "last_answered_ms", (long long)x->last_answered_ms);
		jw_uint_field(jw, "answered_nets24", nets_of(x, true));
		jw_uint_field(jw, "answered_nets48", nets_of(x, false));
		jw_name(jw, "answered_nets");
		jw_start_array(jw);
		for (i = 0; i < x->nr_nets; i++) {
			__u8 a[16] = {};

			memcpy(a, x->nets[i] + 1, 6);
			fmt_prefix(a, x->nets[i][0], p, sizeof(p));
			jw_string(jw, p);
		}
		jw_end_array(jw);
		jw_end_object(jw);
		kept = x->nr_ev < TRACE_EVENTS ? x->nr_ev : TRACE_EVENTS;
		jw_uint_field(jw, "hellos_not_kept", x->nr_ev - kept);
		jw_name(jw, "hellos");
		jw_start_array(jw);
		for (i = x->nr_ev - kept; i < x->nr_ev; i++)
			json_event(jw, x, &x->ev[i % TRACE_EVENTS]);
		jw_end_array(jw);
		jw_end_object(jw);
	}
	jw_end_array(jw);
	return jw_mem_end(jw, &m);
}

static void text_ms(FILE *f, long long ms)
{
	fprintf(f, "%s%lld.%03llds", ms < 0 ? "-" : "+", llabs(ms) / 1000,
		llabs(ms) % 1000);
}

char *trace_text(const struct trace *t, const char *filter, long long now_ms,
		 const struct trace_view *v)
{
	int idx[TRACE_IDENTS], n, k, shown = 0;
	unsigned int i, kept;
	char *buf = NULL, a[INET6_ADDRSTRLEN + 8], p[INET6_ADDRSTRLEN + 4];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	n = order(t, idx);
	for (k = 0; k < n; k++) {
		const struct trace_id *x = &t->id[idx[k]];

		if (!wanted(x, filter, v))
			continue;
		if (shown++)
			fputs("\n\n", f);
		if (x->ident[0]) {
			fprintf(f, "%s", x->ident);
			if (strcmp(x->ident, x->sni))
				fprintf(f, " (sni %s)", x->sni);
			fprintf(f, ": %s, added %lld s ago", state_of(x),
				(now_ms - x->added_ms) / 1000);
			if (x->removed_ms)
				fprintf(f, ", removed %lld s ago",
					(now_ms - x->removed_ms) / 1000);
		} else {
			fprintf(f, "%s: never pending",
				x->sni[0] ? x->sni : "(no SNI)");
		}
		fprintf(f,
			"\n  %lu hellos (IPv4 %lu, IPv6 %lu): %lu answered, %lu failed",
			x->hellos, x->v4, x->v6, x->answered, x->failed);
		if (x->hellos) {
			fputs("; first ", f);
			text_ms(f, since(x, x->first_ms));
			fputs(", last ", f);
			text_ms(f, since(x, x->last_ms));
		}
		fprintf(f, "\n  answered from %u /24s and %u /48s",
			nets_of(x, true), nets_of(x, false));
		kept = x->nr_ev < TRACE_EVENTS ? x->nr_ev : TRACE_EVENTS;
		if (x->nr_ev > kept)
			fprintf(f, " (the first %u hellos not kept)",
				x->nr_ev - kept);
		for (i = x->nr_ev - kept; i < x->nr_ev; i++) {
			const struct trace_ev *e = &x->ev[i % TRACE_EVENTS];
			char ip[INET6_ADDRSTRLEN];

			fmt_canon(e->addr, e->v4, ip, sizeof(ip));
			snprintf(a, sizeof(a), e->v4 ? "%s:%u" : "[%s]:%u", ip,
				 e->port);
			fmt_prefix(e->addr, e->v4, p, sizeof(p));
			fputs("\n    ", f);
			text_ms(f, since(x, e->at_ms));
			fprintf(f, "  %-40s %-20s %s  %s", a, p,
				e->v4 ? "IPv4" : "IPv6",
				trace_outcome_name(e->outcome));
			if (e->detail[0])
				fprintf(f, " (%s)", e->detail);
		}
	}
	if (!shown)
		fputs("no acme-tls/1 hello traced", f);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- the agent keeps the daemon's trace across attachments ---- */

static long long jint(struct json_object *o, const char *k)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !v)
		return 0;
	return json_object_get_int64(v);
}

static const char *jstr(struct json_object *o, const char *k)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_string))
		return "";
	return json_object_get_string(v);
}

/* "198.18.1.2" or "fd00::1" into @a (canonical); 1: IPv4, -1: neither. */
static int parse_addr(const char *s, __u8 a[16])
{
	char buf[INET6_ADDRSTRLEN + 4], *slash;

	memset(a, 0, 16);
	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, a) == 1)
		return 1;
	if (inet_pton(AF_INET6, buf, a) == 1)
		return 0;
	return -1;
}

static void merge_one(struct trace *t, struct json_object *o)
{
	struct json_object *sum, *arr, *ev;
	const char *sni = jstr(o, "sni");
	long long added = jint(o, "added_ms"), first, key;
	struct trace_id *x = NULL;
	size_t i, n;
	int k;

	if (!json_object_object_get_ex(o, "summary", &sum) ||
	    !json_object_is_type(sum, json_type_object))
		return;
	first = jint(sum, "first_hello_ms");
	key = added ? added : first;
	/* The same record (SNI and add) replaces ours: it is newer. */
	for (k = 0; k < TRACE_IDENTS; k++) {
		struct trace_id *y = &t->id[k];

		if (y->used && !strcmp(y->sni, sni) &&
		    (y->added_ms ? y->added_ms : y->first_ms) == key) {
			/* Who added it is ours to know, not the daemon's
			 * (the agent hands every challenge as root). */
			uid_t owner = y->owner;

			x = y;
			memset(x, 0, sizeof(*x));
			x->used = true;
			x->owner = owner;
			snprintf(x->sni, sizeof(x->sni), "%s", sni);
			break;
		}
	}
	if (!x)
		x = take(t, sni);
	snprintf(x->ident, sizeof(x->ident), "%s", jstr(o, "identifier"));
	x->added_ms = added;
	x->removed_ms = jint(o, "removed_ms");
	x->first_ms = first;
	x->last_ms = jint(sum, "last_hello_ms");
	x->hellos = jint(sum, "hellos");
	x->v4 = jint(sum, "ipv4");
	x->v6 = jint(sum, "ipv6");
	x->answered = jint(sum, "answered");
	x->answered_v4 = jint(sum, "answered_ipv4");
	x->answered_v6 = jint(sum, "answered_ipv6");
	x->failed = jint(sum, "failed");
	x->last_answered_ms = jint(sum, "last_answered_ms");
	if (json_object_object_get_ex(sum, "answered_nets", &arr) &&
	    json_object_is_type(arr, json_type_array)) {
		n = json_object_array_length(arr);
		for (i = 0; i < n; i++) {
			__u8 a[16];
			int v4 = parse_addr(
				json_object_get_string(
					json_object_array_get_idx(arr, i)),
				a);

			if (v4 >= 0)
				note_net(x, a, v4);
		}
	}
	if (!json_object_object_get_ex(o, "hellos", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return;
	n = json_object_array_length(arr);
	x->nr_ev = jint(o, "hellos_not_kept");
	for (i = 0; i < n; i++) {
		struct trace_ev *e;
		int v4, oc;

		ev = json_object_array_get_idx(arr, i);
		if (!ev || !json_object_is_type(ev, json_type_object))
			continue;
		e = &x->ev[x->nr_ev % TRACE_EVENTS];
		memset(e, 0, sizeof(*e));
		v4 = parse_addr(jstr(ev, "address"), e->addr);
		if (v4 < 0)
			continue;
		for (oc = 1; oc < TR__MAX; oc++)
			if (!strcmp(outcome_names[oc], jstr(ev, "outcome")))
				break;
		if (oc == TR__MAX)
			continue;
		e->v4 = v4;
		e->at_ms = jint(ev, "at_ms");
		e->port = jint(ev, "port");
		e->outcome = oc;
		snprintf(e->detail, sizeof(e->detail), "%s",
			 jstr(ev, "detail"));
		x->nr_ev++;
	}
}

int trace_merge_json(struct trace *t, const char *json)
{
	struct json_object *o = json_tokener_parse(json);
	size_t i, n;

	if (!o || !json_object_is_type(o, json_type_array)) {
		json_object_put(o);
		return -EINVAL;
	}
	n = json_object_array_length(o);
	for (i = 0; i < n; i++) {
		struct json_object *x = json_object_array_get_idx(o, i);

		if (x && json_object_is_type(x, json_type_object))
			merge_one(t, x);
	}
	json_object_put(o);
	return 0;
}
