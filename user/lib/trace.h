/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * trace.h - the validation trace: every acme-tls/1 hello that reached a
 * steered port, per identifier, with what became of it (docs/design.md,
 * "The validation trace").  Pure: the monitor feeds it from the ring
 * buffer and its TLS worker's answers, `challenge trace` shows it.
 *
 * Bounded: TRACE_IDENTS identifiers (a pending one is the last to go,
 * an SNI that never was a challenge the first), the last TRACE_EVENTS
 * hellos of each; the summary counts every hello, kept or not.
 */
#ifndef ALPNSTEER_TRACE_H
#define ALPNSTEER_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

#include "alpnsteer_abi.h"

#define TRACE_IDENTS 32
#define TRACE_EVENTS 64
#define TRACE_NETS 64 /* distinct answered prefixes counted per identifier */
#define TRACE_DETAIL 48

enum trace_outcome {
	TR_ANSWERED =
		1, /* handshake complete with the validation certificate */
	TR_FAILED, /* steered, but the handshake did not complete: detail */
	TR_NOT_PENDING, /* SNI not a pending name: left to the webserver */
	TR_NO_SLOT, /* the pool was exhausted */
	TR_CAPPED, /* its source prefix held its share of the pool */
	TR_SPLIT, /* ALPN (or SNI) not in the first segment */
	TR_DRAINING, /* passed to the webserver while detaching */
	TR_AFTER_REMOVAL, /* for an identifier no longer pending */
	TR_NO_RESPONDER, /* the slot's socket was gone */
	TR_RELAYED, /* --forward: relayed to the external responder */
	TR__MAX,
};

/* "answered", "failed", ... (the JSON's outcome), NULL out of range. */
const char *trace_outcome_name(enum trace_outcome o);
/* The outcome of a verdict the kernel reported (AE_HELLO), 0: none. */
enum trace_outcome trace_outcome_of_verdict(__u32 verdict);

/* The client as shown: a v4-mapped IPv6 address is the IPv4 one.
 * @family AF_INET/AF_INET6, @addr 4 or 16 bytes (network order); *@out4
 * set when it is IPv4.  Writes the address text into @buf. */
void trace_addr(int family, const void *addr, char *buf, size_t len,
		bool *out4);
/* Its /24 (IPv4, v4-mapped included) or /48 (IPv6): "198.18.1.0/24",
 * "fd00:1:2::/48". */
void trace_prefix(int family, const void *addr, char *buf, size_t len);

struct trace_ev {
	long long at_ms; /* wall clock */
	__u8 addr[16]; /* canonical: IPv4 in the first 4 bytes */
	__u16 port;
	__u8 v4; /* 1: IPv4 (v4-mapped included) */
	__u8 outcome; /* enum trace_outcome */
	char detail[TRACE_DETAIL]; /* failed: which alert, timeout, ... */
};

struct trace_id {
	bool used;
	char ident[ALPNSTEER_NAME_MAX]; /* "" for an SNI never pending */
	char sni[ALPNSTEER_NAME_MAX];
	uid_t owner; /* who added the challenge (0: root): trace_owner() */
	long long added_ms, removed_ms; /* 0: never added / still pending */
	long long first_ms, last_ms; /* hellos; 0: none yet */
	unsigned long hellos, v4, v6, answered, failed;
	unsigned long answered_v4, answered_v6;
	unsigned long long last_answered_ms;
	unsigned int nr_ev; /* events ever recorded; ev[] holds the last */
	struct trace_ev ev[TRACE_EVENTS];
	unsigned int nr_nets; /* distinct answered prefixes (capped) */
	__u8 nets[TRACE_NETS][8]; /* v4 flag, then 3 (/24) or 6 (/48) bytes */
};

struct trace {
	struct trace_id id[TRACE_IDENTS];
};

struct trace *trace_new(void);
void trace_free(struct trace *t);
/* Challenge @ident (answered for SNI @sni) became pending at @now_ms. */
void trace_added(struct trace *t, const char *ident, const char *sni,
		 long long now_ms);
/* ... is no longer pending (removed, expired). */
void trace_removed(struct trace *t, const char *sni, long long now_ms);
/* A hello for @sni ("" when none) from @addr: recorded under its
 * identifier (made when new); the outcome as recorded (not pending for a
 * removed identifier is after_removal). */
enum trace_outcome trace_note(struct trace *t, const char *sni, int family,
			      const void *addr, unsigned int port,
			      enum trace_outcome o, const char *detail,
			      long long now_ms);
/* The worker's answer for a steered hello crossed the monitor's take-back
 * of its slot (client closed right after its Finished): the hello traced
 * failed then is made answered (or, no longer kept, noted answered). */
enum trace_outcome trace_late_answer(struct trace *t, const char *sni,
				     int family, const void *addr,
				     unsigned int port, long long now_ms);
/* The pending challenge @name (identifier or SNI) was added by @uid:
 * its record is that uid's to read (trace_view) from now on, removed
 * or not.  Nothing when it is not pending. */
void trace_owner(struct trace *t, const char *name, uid_t uid);
/* Find @ident's record (by identifier or SNI), NULL: none. */
const struct trace_id *trace_find(const struct trace *t, const char *name);

/* Who reads the trace (docs/design.md, "The control socket"): root (uid
 * 0, or no view at all) every record; anyone else the records of the
 * challenges it added (trace_owner()) and those whose identifier (an
 * SNI never pending: the SNI) @may_see(@arg, name) gives it. */
struct trace_view {
	uid_t uid;
	bool (*may_see)(const void *arg, const char *name);
	const void *arg;
};

/* May @v read what concerns identifier @name, added by @owner (0: root;
 * pass one no member has, 0, for an SNI never pending)?  The trace and
 * the `list` of both control sockets decide through it. */
bool trace_may_read(const struct trace_view *v, uid_t owner, const char *name);

/* The trace of @filter (NULL: every identifier) that @v may read, as
 * JSON or as text (whose ages count to @now_ms), malloc'd (NULL: out of
 * memory). */
char *trace_json(const struct trace *t, const char *filter,
		 const struct trace_view *v);
char *trace_text(const struct trace *t, const char *filter, long long now_ms,
		 const struct trace_view *v);

/* Take in the records of @json (a trace_json() array, the daemon's):
 * each replaces ours of the same SNI and add.  The agent keeps the
 * trace so across attachments.  0, or -EINVAL. */
int trace_merge_json(struct trace *t, const char *json);

/* Wall-clock milliseconds. */
long long trace_now_ms(void);

#endif
