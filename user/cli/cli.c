// SPDX-License-Identifier: GPL-2.0-only
/*
 * cli.c - option parsing for attach/run and friends.
 *
 * Kept apart from main.c so the unit tests can feed it arguments: every
 * refusal is one "Error: ..." line with a hint, and nothing is half-parsed.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <net/if.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "cli.h"
#include "cmd.h"
#include "lifecycle.h"
#include "log.h"

int cli_parse_port(const char *s, __u32 *port)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v < 1 || v > 65535)
		return -EINVAL;
	*port = v;
	return 0;
}

int cli_parse_hostport(const char *s, struct sockaddr_storage *ss,
		       socklen_t *len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	char host[256];
	const char *colon, *h = s;
	size_t hl;
	__u32 port;

	if (*s == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		h = s + 1;
		hl = rb - h;
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		hl = colon - s;
	}
	if (hl == 0 || hl >= sizeof(host) || cli_parse_port(colon + 1, &port))
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	hints.ai_flags = AI_NUMERICSERV;
	if (getaddrinfo(host, colon + 1, &hints, &res))
		return -ENOENT;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int cli_cgroup2_root(const char *mounts, char *buf, size_t len)
{
	char dev[256], dir[4096], type[64];
	/* /proc/self/mounts, not /proc/mounts: the symlink is hidden when
	 * /proc is mounted subset=pid (the units' ProcSubset=pid). */
	FILE *f = fopen(mounts ? mounts : "/proc/self/mounts", "r");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fscanf(f, "%255s %4095s %63s %*[^\n]\n", dev, dir, type) == 3) {
		if (strcmp(type, "cgroup2"))
			continue;
		snprintf(buf, len, "%s", dir);
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cli_parse_wait(const char *arg, int *seconds)
{
	char *end;
	long v;

	if (!arg) {
		*seconds = 0; /* --wait alone: no limit */
		return 0;
	}
	v = strtol(arg, &end, 10);
	if (!*arg || *end || v < 0 || v > 86400)
		return -EINVAL;
	*seconds = v;
	return 0;
}

/* --domain NAME: one more name of the sorted set in @o->domains. */
static int add_domain(struct lc_opts *o, const char *arg)
{
	char name[ALPNSTEER_NAME_MAX], *p, *names[ALPNSTEER_MAX_DOMAINS + 1];
	char buf[LC_DOMAINS_LEN], *save = NULL;
	size_t off = 0;
	int i, n = 0;

	if (!*arg || strlen(arg) >= ALPNSTEER_NAME_MAX || strchr(arg, ',')) {
		p_err("--domain '%s' is not a DNS name", arg);
		return -EINVAL;
	}
	/* SNIs are compared lowercase in the kernel. */
	snprintf(name, sizeof(name), "%s", arg);
	for (p = name; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p += 'a' - 'A';
	snprintf(buf, sizeof(buf), "%s", o->domains);
	for (p = strtok_r(buf, ",", &save); p && n < ALPNSTEER_MAX_DOMAINS;
	     p = strtok_r(NULL, ",", &save))
		names[n++] = p;
	for (i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return 0; /* a set */
	if (n >= ALPNSTEER_MAX_DOMAINS) {
		p_err("too many --domain options (at most %d)",
		      ALPNSTEER_MAX_DOMAINS);
		return -E2BIG;
	}
	names[n++] = name;
	qsort(names, n, sizeof(names[0]), cmp_str);
	for (i = 0; i < n; i++) {
		off += snprintf(
			o->domains + off,
			off < sizeof(o->domains) ? sizeof(o->domains) - off : 0,
			"%s%s", i ? "," : "", names[i]);
		if (off >= sizeof(o->domains)) {
			p_err("--domain: the names are too long together");
			return -E2BIG;
		}
	}
	return 0;
}

/* --preclassify IFACE[,IFACE]: interfaces of this network namespace. */
static int add_ifaces(struct lc_ifaces *ifs, const char *arg)
{
	char buf[256], *save = NULL, *name;
	unsigned int idx;

	snprintf(buf, sizeof(buf), "%s", arg);
	for (name = strtok_r(buf, ",", &save); name;
	     name = strtok_r(NULL, ",", &save)) {
		if (ifs->n >= ALPNSTEER_MAX_IFACES) {
			p_err("too many --preclassify interfaces (at most %d)",
			      ALPNSTEER_MAX_IFACES);
			return -E2BIG;
		}
		idx = if_nametoindex(name);
		if (!idx) {
			p_err("--preclassify: no interface '%s' here", name);
			p_hint("name every interface that steered connections arrive on, lo included");
			return -ENODEV;
		}
		ifs->v[ifs->n++] = idx;
	}
	return 0;
}

/* The grammar of attach and run: the attach fields, then what this
 * attach says about its holder.  cli_parse_attach() parses these, and the
 * help, alpnsteer(8) and the completion are printed from them. */
/* clang-format off */
const struct cmd_opt cli_attach_opts[] = {
	LC_ATTACH_FIELDS(CLI_ATTACH_OPT)
	{ "holder", 'H', CMD_ARG_REQUIRED, "NAME",
	  "who this attach is for (default \"" LC_DEFAULT_HOLDER
	  "\"): steering lasts until every holder has detached" },
	{ "ttl", 'T', CMD_ARG_REQUIRED, "DURATION",
	  "this holder lets go by itself after DURATION (90s, 30m, 1h, 2d) if its detach never comes" },
	CLI_DRAIN_WAIT_OPT,
	{},
};
/* clang-format on */

static int parse_u32(const char *s, __u32 *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || v > UINT32_MAX)
		return -EINVAL;
	*out = v;
	return 0;
}

/* --proxy-from CIDR[,CIDR]: appended to what earlier ones gave. */
static int add_cidrs(struct lc_cidrs *cs, const struct lc_field *f, char *arg)
{
	char *tok, *save = NULL;

	for (tok = strtok_r(arg, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (cs->n >= ALPNSTEER_MAX_PROXY_FROM) {
			p_err("too many --%s prefixes (at most %d)", f->opt,
			      ALPNSTEER_MAX_PROXY_FROM);
			p_hint("name the balancers' subnet rather than each balancer (--%s 198.18.0.0/24)",
			       f->opt);
			return -E2BIG;
		}
		if (lc_cidr_parse(tok, &cs->v[cs->n])) {
			p_err("--%s '%s' is not an IPv4 or IPv6 address or prefix",
			      f->opt, tok);
			p_hint("for example --%s 198.18.0.10 or --%s 198.18.0.0/24,fd00:a5::/64",
			       f->opt, f->opt);
			return -EINVAL;
		}
		cs->n++;
	}
	return 0;
}

/* One attach field's value, by its kind. */
static int parse_field(struct daemon_opts *o, const struct lc_field *f,
		       char *arg)
{
	void *p = lc_field_ptr(&o->a, f);
	struct lc_ports *ps = p;
	struct group *gr;
	__u32 v;
	int err;

	switch (f->kind) {
	case LC_K_U32:
		/* 0 only where the range allows it (--per-source 0: no
		 * cap, a test bed with one client). */
		if (parse_u32(arg, &v) || v < f->min || v > f->max) {
			p_err("--%s '%s' must be %u..%u", f->opt, arg, f->min,
			      f->max);
			return -EINVAL;
		}
		*(__u32 *)p = v;
		return 0;
	case LC_K_STR:
		if (strlen(arg) >= sizeof(lc_t_STR)) {
			p_err("--%s: too long", f->opt);
			return -EINVAL;
		}
		snprintf(p, sizeof(lc_t_STR), "%s", arg);
		return 0;
	case LC_K_PORTS:
		if (cli_parse_port(arg, &v)) {
			p_err("--%s '%s' is not a port number", f->opt, arg);
			return -EINVAL;
		}
		if (ps->n >= ALPNSTEER_MAX_PORTS) {
			p_err("too many --%s options (at most %d)", f->opt,
			      ALPNSTEER_MAX_PORTS);
			return -E2BIG;
		}
		ps->v[ps->n++] = v;
		return 0;
	case LC_K_FORWARD:
		err = strlen(arg) < sizeof(lc_t_FORWARD) ?
			      cli_parse_hostport(arg, &o->fwd_addr,
						 &o->fwd_len) :
			      -EINVAL;
		if (err) {
			p_err("--%s '%s' is not HOST:PORT", f->opt, arg);
			p_hint("for example --forward 127.0.0.1:8443 or --forward [::1]:8443");
			return err;
		}
		snprintf(p, sizeof(lc_t_FORWARD), "%s", arg);
		return 0;
	case LC_K_DOMAINS:
		return add_domain(&o->a, arg);
	case LC_K_IFACES:
		return add_ifaces(p, arg);
	case LC_K_CIDRS:
		return add_cidrs(p, f, arg);
	case LC_K_GROUP:
		gr = getgrnam(arg);
		if (!gr) {
			p_err("--%s '%s': no such group", f->opt, arg);
			return -ENOENT;
		}
		*(long *)p = gr->gr_gid;
		return 0;
	}
	return -EINVAL;
}

int cli_attach_opt(struct daemon_opts *o, int c, char *arg)
{
	int i, err;

	for (i = 0; i < LC_F__MAX; i++) {
		if (lc_fields[i].val != c)
			continue;
		err = parse_field(o, &lc_fields[i], arg);
		if (!err)
			o->a.given |= 1u << i;
		return err;
	}
	switch (c) {
	case 'H':
		if (!lc_holder_valid(arg)) {
			p_err("--holder '%s' is not a holder name", arg);
			p_hint("1-63 letters, digits and . _ : @ -, for example --holder acme.sh");
			return -EINVAL;
		}
		snprintf(o->holder, sizeof(o->holder), "%s", arg);
		return 0;
	case 'T':
		o->ttl = lc_parse_duration(arg);
		if (o->ttl < 0) {
			p_err("--ttl '%s' is not a duration", arg);
			p_hint("seconds, or a number with s, m, h or d: --ttl 90s, --ttl 30m, --ttl 1h");
			return -EINVAL;
		}
		return 0;
	case 'W':
		o->drain_wait = lc_parse_duration(arg);
		if (o->drain_wait < 0) {
			p_err("--drain-wait '%s' is not a duration", arg);
			return -EINVAL;
		}
		return 0;
	}
	return 1;
}

/* A PROXY header is only looked for on a steered port: a
 * --proxy-protocol port that is not one is a mistake worth naming. */
static int check_proxy_ports(const struct lc_opts *o)
{
	__u32 i, j;

	for (i = 0; i < o->proxy.n; i++) {
		for (j = 0; j < o->ports.n; j++)
			if (o->ports.v[j] == o->proxy.v[i])
				break;
		if (j == o->ports.n) {
			p_err("--proxy-protocol %u is not a steered port",
			      o->proxy.v[i]);
			p_hint("name it with --port too (--port 443 --proxy-protocol 443)");
			return -EINVAL;
		}
	}
	/* A header names the client that the per-source cap counts and the
	 * log names: believed from anyone, one peer could name any network
	 * (issue 20).  So the balancers must be named, and nothing else. */
	if (o->proxy.n && !o->proxy_from.n) {
		p_err("--proxy-protocol needs --proxy-from: the load balancers whose PROXY headers may be believed");
		p_hint("give their addresses or subnet, for example --proxy-protocol 443 --proxy-from 198.18.0.10,fd00:a5::10 (and let the webserver take the header from them only: docs/usage.md)");
		return -EINVAL;
	}
	if (o->proxy_from.n && !o->proxy.n) {
		p_err("--proxy-from is only for --proxy-protocol ports");
		p_hint("add --proxy-protocol PORT, or leave --proxy-from out");
		return -EINVAL;
	}
	return 0;
}

/* What the BPF side is loaded with, from the options. */
static void steer_config_from(const struct lc_opts *a, struct steer_config *c)
{
	memset(c, 0, sizeof(*c));
	memcpy(c->ports, a->ports.v, sizeof(c->ports));
	c->nr_ports = a->ports.n;
	c->pool_size = a->pool;
	c->netns_cookie = a->netns;
	snprintf(c->cgroup, sizeof(c->cgroup), "%s", a->cgroup);
	memcpy(c->preclass_ifindex, a->preclass.v, sizeof(c->preclass_ifindex));
	c->nr_preclass = a->preclass.n;
	memcpy(c->proxy_ports, a->proxy.v, sizeof(c->proxy_ports));
	c->nr_proxy_ports = a->proxy.n;
	memcpy(c->proxy_from, a->proxy_from.v, sizeof(c->proxy_from));
	c->nr_proxy_from = a->proxy_from.n;
}

/* The rules between options, and the defaults that depend on others or
 * on this system. */
static int finish(struct lc_opts *a)
{
	int err;

	if (!a->ports.n)
		a->ports.v[a->ports.n++] = lc_fields[LC_F_ports].dflt;
	err = check_proxy_ports(a);
	if (err)
		return err;
	if (a->pool_max < a->pool) {
		if (a->given & LC_GIVEN(pool_max)) {
			p_err("--pool-max %u is below --pool %u", a->pool_max,
			      a->pool);
			p_hint("--pool is where the pool starts, --pool-max how far it may grow");
			return -EINVAL;
		}
		a->pool_max = a->pool;
	}
	if (a->domains[0] && !a->forward[0]) {
		/* The built-in responder knows its names from its challenges. */
		p_err("--domain goes with --forward");
		p_hint("with the built-in responder, add challenges with 'alpnsteer challenge add' or --alpn-dir");
		return -EINVAL;
	}
	if (!a->cgroup[0]) {
		err = cli_cgroup2_root(NULL, a->cgroup, sizeof(a->cgroup));
		if (err) {
			p_err("no cgroup2 mount found in /proc/self/mounts");
			p_hint("mount cgroup2 or name a cgroup v2 directory with --cgroup");
			return err;
		}
	}
	a->netns = cli_netns_cookie();
	return 0;
}

void cli_attach_begin(struct daemon_opts *o)
{
	memset(o, 0, sizeof(*o));
	lc_opts_default(&o->a);
	o->drain_wait = ALPNSTEER_DEFAULT_DRAIN_WAIT;
	o->log_fd = -1;
	snprintf(o->holder, sizeof(o->holder), "%s", LC_DEFAULT_HOLDER);
}

int cli_attach_end(struct daemon_opts *o)
{
	int err = finish(&o->a);

	if (!err)
		steer_config_from(&o->a, &o->cfg);
	return err;
}

int cli_parse_attach(int argc, char **argv, struct daemon_opts *o)
{
	const struct cmd *self = argc && !strcmp(argv[0], "run") ? &run_cmd :
								   &attach_cmd;
	int c, err;

	cli_attach_begin(o);
	optind = 0; /* 0, not 1: glibc then forgets the previous scan */
	while ((c = cmd_getopt(argc, argv, self)) != -1) {
		err = c == CMD_BAD_OPT ? -EINVAL : cli_attach_opt(o, c, optarg);
		if (err) /* cmd_getopt() or the option's parser said why */
			return err < 0 ? err : -EINVAL;
	}
	if (!cmd_operands(argc, argv, self, 0, 0))
		return -EINVAL;
	return cli_attach_end(o);
}

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

__u64 cli_netns_cookie(void)
{
	__u64 cookie = 0;
	socklen_t len = sizeof(cookie);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd >= 0) {
		if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len))
			cookie = 0;
		close(fd);
	}
	return cookie;
}
