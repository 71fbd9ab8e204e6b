/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * attach_fields.h - the options that make an attachment what it is, in
 * one list.
 *
 * LC_ATTACH_FIELDS(X) below is the only place an attach option is
 * declared.  From it come struct lc_opts (what cli_parse_attach() fills
 * and the daemon reads), the option table of attach, run and agent (help,
 * alpnsteer(8), completion), the record's key=value lines (written, read
 * back), the comparison of a second attach with the live one, and the
 * "options" of `status` (text and JSON).  Adding an option is one line
 * here, the code that uses it, and docs/usage.md; an option whose value
 * is not one of the kinds below also needs its parser in cli.c.
 */
#ifndef ALPNSTEER_ATTACH_FIELDS_H
#define ALPNSTEER_ATTACH_FIELDS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "alpnsteer_abi.h"

#define LC_DOMAINS_LEN 4096
#define ALPNSTEER_MAX_DOMAINS 64

/* How a field is stored, parsed, recorded, compared and shown. */
enum lc_kind {
	LC_K_U32, /* a number in [min, max] */
	LC_K_STR, /* a string, as given */
	LC_K_PORTS, /* a repeatable port; compared as a set */
	LC_K_FORWARD, /* HOST:PORT of an external responder; "": built-in */
	LC_K_DOMAINS, /* repeatable DNS names: lowercase, sorted, "a,b" */
	LC_K_IFACES, /* IFACE[,IFACE] of this netns: their ifindexes */
	LC_K_GROUP, /* a group name, recorded as its gid (-1: none) */
	LC_K_CIDRS, /* repeatable CIDR[,CIDR]: IPv4/IPv6 prefixes; a set */
};

struct lc_ports {
	__u32 v[ALPNSTEER_MAX_PORTS];
	__u32 n;
};

struct lc_ifaces {
	int v[ALPNSTEER_MAX_IFACES];
	__u32 n;
};

struct lc_cidrs {
	struct alpnsteer_cidr v[ALPNSTEER_MAX_PROXY_FROM];
	__u32 n;
};

/* The C type of each kind. */
typedef __u32 lc_t_U32;
typedef char lc_t_STR[PATH_MAX];
typedef struct lc_ports lc_t_PORTS;
typedef char lc_t_FORWARD[128];
typedef char lc_t_DOMAINS[LC_DOMAINS_LEN];
typedef struct lc_ifaces lc_t_IFACES;
typedef long lc_t_GROUP;
typedef struct lc_cidrs lc_t_CIDRS;

#define LC_STR_(x) #x
#define LC_STR(x) LC_STR_(x)

#define ALPNSTEER_DEFAULT_POOL 64
#define ALPNSTEER_DEFAULT_POOL_MAX 256
#define ALPNSTEER_DEFAULT_PER_SOURCE 8
#define ALPNSTEER_DEFAULT_HS_TIMEOUT 30
#define ALPNSTEER_DEFAULT_USER "alpnsteer"

/*
 * X(KIND, field, "option", short, "ARG", default, min, max, CMP, "help")
 *
 * field:   the member of struct lc_opts, and its key in the record
 *          (/run/alpnsteer/state; the older keys are kept as they were)
 * option:  the long option, and the key in `status -j`'s "options"
 * short:   what cmd_getopt() returns for it (not a short option)
 * default: a number (U32, PORTS: used when none is given, GROUP) or a
 *          string (STR, FORWARD, DOMAINS, IFACES)
 * min/max: the range of a U32
 * CMP:     ALWAYS - what is steered and where to: a second attach must
 *                   ask for the same;
 *          NAMED  - tuning: compared only when that attach names it, so
 *                   that a hook's plain attach joins a unit's tuned one.
 */
/* One option a line, its help after it. */
/* clang-format off */
#define LC_ATTACH_FIELDS(X) \
	X(PORTS, ports, "port", 'p', "N", 443, 0, 0, ALWAYS, \
	  "steer this local port (repeatable, up to " LC_STR(ALPNSTEER_MAX_PORTS) "; default 443)") \
	X(FORWARD, forward, "forward", 'f', "HOST:PORT", "", 0, 0, ALWAYS, \
	  "relay steered connections byte for byte to this external TLS-ALPN-01 responder (lego --tls.address, 4.9.1's --tls.port; acme.sh --tlsport) instead of answering them with the built-in one") \
	X(DOMAINS, domains, "domain", 'D', "NAME", "", 0, 0, ALWAYS, \
	  "with --forward: steer only hellos whose SNI is NAME (repeatable); without it every acme-tls/1 hello is steered") \
	X(U32, pool, "pool", 'n', "N", ALPNSTEER_DEFAULT_POOL, 1, ALPNSTEER_MAX_POOL, NAMED, \
	  "responder slots kept free for validations (default " LC_STR(ALPNSTEER_DEFAULT_POOL) ", max " LC_STR(ALPNSTEER_MAX_POOL) "): made at attach, topped up as hellos take them") \
	X(U32, pool_max, "pool-max", 'M', "M", ALPNSTEER_DEFAULT_POOL_MAX, 1, ALPNSTEER_MAX_POOL, NAMED, \
	  "the most slots the pool grows to (default " LC_STR(ALPNSTEER_DEFAULT_POOL_MAX) ", at least --pool)") \
	X(U32, per_source, "per-source", 'S', "N", ALPNSTEER_DEFAULT_PER_SOURCE, 0, ALPNSTEER_MAX_POOL, NAMED, \
	  "slots one source network (its /24 for IPv4, /48 for IPv6) may hold at once (default " LC_STR(ALPNSTEER_DEFAULT_PER_SOURCE) "; 0: no cap)") \
	X(STR, cgroup, "cgroup", 'c', "DIR", "", 0, 0, ALWAYS, \
	  "cgroup v2 directory holding the webserver (default: the root of the cgroup2 mount)") \
	X(U32, timeout, "handshake-timeout", 't', "SECONDS", ALPNSTEER_DEFAULT_HS_TIMEOUT, 1, 65535, NAMED, \
	  "free the slot of a validation not done in SECONDS (default " LC_STR(ALPNSTEER_DEFAULT_HS_TIMEOUT) "), connected or not") \
	X(STR, alpn_dir, "alpn-dir", 'a', "DIR", "", 0, 0, NAMED, \
	  "answer with the NAME.crt.pem/NAME.key.pem files dehydrated writes there (-t tls-alpn-01 --alpn DIR)") \
	X(GROUP, control_gid, "control-group", 'g', "GROUP", -1, 0, 0, NAMED, \
	  "let GROUP use the control socket too") \
	X(STR, user, "user", 'u', "USER", ALPNSTEER_DEFAULT_USER, 0, 0, NAMED, \
	  "the daemon's user once steering is live (default " ALPNSTEER_DEFAULT_USER "; root keeps it root)") \
	X(PORTS, proxy, "proxy-protocol", 'X', "PORT", 0, 0, 0, ALWAYS, \
	  "connections to PORT (one of --port) start with a PROXY protocol header (v1 or v2) from a layer-4 load balancer: the hello after it is classified, a steered one has its header consumed, every other keeps it for the webserver byte for byte (repeatable; needs --proxy-from)") \
	X(CIDRS, proxy_from, "proxy-from", 'F', "CIDR[,CIDR]", "", 0, 0, ALWAYS, \
	  "with --proxy-protocol: the load balancers' addresses or prefixes (IPv4 or IPv6, up to " LC_STR(ALPNSTEER_MAX_PROXY_FROM) "; repeatable): a PROXY header from any other peer is not believed and its connection is left to the webserver untouched") \
	X(IFACES, preclass, "preclassify", 'P', "IFACE[,IFACE]", "", 0, 0, ALWAYS, \
	  "experimental, off by default: a tc ingress program on these interfaces (every one steered connections arrive on, lo included) lets only connections that may offer acme-tls/1 into the sockhash") \
	X(STR, metrics_file, "metrics-file", 'E', "PATH", "", 0, 0, NAMED, \
	  "write counters, state, pending challenges and each identifier's validations there every second, in the Prometheus text format, atomically (node_exporter's textfile collector: /var/lib/prometheus/node-exporter/alpnsteer.prom on Debian; the daemon's user must be able to write the directory, the agent writes as root)")
/* clang-format on */

/* LC_F_ports, LC_F_forward, ...: a field's index in lc_fields[]. */
enum lc_field_id {
#define LC_X_ID(K, f, ...) LC_F_##f,
	LC_ATTACH_FIELDS(LC_X_ID)
#undef LC_X_ID
		LC_F__MAX,
};

/* The bit of lc_opts.given for a field named on the command line. */
#define LC_GIVEN(f) (1u << LC_F_##f)

/* The options that make an attachment what it is. */
struct lc_opts {
#define LC_X_MEMBER(K, f, ...) lc_t_##K f;
	LC_ATTACH_FIELDS(LC_X_MEMBER)
#undef LC_X_MEMBER
	__u64 netns; /* the network namespace attach ran in: not an option */
	unsigned int given; /* LC_GIVEN(), for the asking side only */
};

/* One field, described: what the loops over lc_fields[] need. */
struct lc_field {
	enum lc_kind kind;
	const char *key; /* the member's and the record's name */
	const char *opt; /* the long option */
	int val; /* cmd_getopt()'s return for it */
	const char *arg;
	long dflt; /* U32, PORTS (when none given), GROUP */
	const char *dflt_str; /* STR, FORWARD, DOMAINS, IFACES */
	__u32 min, max;
	bool always; /* compared whether named or not */
	size_t off; /* in struct lc_opts */
	const char *help;
};

extern const struct lc_field lc_fields[LC_F__MAX];

/* "198.18.0.0/15", "fd00::/8" or a bare address (a /32, /128) into @c,
 * the address masked to its prefix: 0, or -EINVAL. */
int lc_cidr_parse(const char *s, struct alpnsteer_cidr *c);
/* @c as "ADDR/LEN", the form lc_cidr_parse() reads back. */
void lc_cidr_str(const struct alpnsteer_cidr *c, char *buf, size_t len);

static inline void *lc_field_ptr(struct lc_opts *o, const struct lc_field *f)
{
	return (char *)o + f->off;
}

static inline const void *lc_field_cptr(const struct lc_opts *o,
					const struct lc_field *f)
{
	return (const char *)o + f->off;
}

#endif
