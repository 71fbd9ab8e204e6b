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

static int add_domain(struct daemon_opts *o, char *name)
{
	char *p;

	if (o->nr_domains >= ALPNSTEER_MAX_DOMAINS) {
		p_err("too many --domain options (at most %d)",
		      ALPNSTEER_MAX_DOMAINS);
		return -E2BIG;
	}
	if (!*name || strlen(name) >= ALPNSTEER_NAME_MAX) {
		p_err("--domain '%s' is not a DNS name", name);
		return -EINVAL;
	}
	/* SNIs are compared lowercase in the kernel. */
	for (p = name; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p += 'a' - 'A';
	o->domains[o->nr_domains++] = name;
	return 0;
}

/* --preclassify IFACE[,IFACE]: interfaces of this network namespace. */
static int add_ifaces(struct daemon_opts *o, const char *arg)
{
	char buf[256], *save = NULL, *name;
	unsigned int idx;

	snprintf(buf, sizeof(buf), "%s", arg);
	for (name = strtok_r(buf, ",", &save); name;
	     name = strtok_r(NULL, ",", &save)) {
		if (o->cfg.nr_preclass >= ALPNSTEER_MAX_IFACES) {
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
		o->cfg.preclass_ifindex[o->cfg.nr_preclass++] = idx;
	}
	return 0;
}

#define STR_(x) #x
#define STR(x) STR_(x)

/* The grammar of attach and run: cli_parse_attach() parses these, and the
 * help, alpnsteer(8) and the completion are printed from them. */
const struct cmd_opt cli_attach_opts[] = {
	{ "port", 'p', CMD_ARG_REQUIRED, "N",
	  "steer this local port (repeatable, up to " STR(
		  ALPNSTEER_MAX_PORTS) "; default 443)" },
	{ "forward", 'f', CMD_ARG_REQUIRED, "HOST:PORT",
	  "relay steered connections byte for byte to this external TLS-ALPN-01 responder (lego --tls.port, acme.sh --tlsport) instead of answering them with the built-in one" },
	{ "domain", 'D', CMD_ARG_REQUIRED, "NAME",
	  "with --forward: steer only hellos whose SNI is NAME (repeatable); without it every acme-tls/1 hello is steered" },
	{ "pool", 'n', CMD_ARG_REQUIRED, "N",
	  "responder slots kept free for validations (default " STR(ALPNSTEER_DEFAULT_POOL) ", max " STR(
		  ALPNSTEER_MAX_POOL) "): made at attach, topped up as hellos take them" },
	{ "pool-max", 'M', CMD_ARG_REQUIRED, "M",
	  "the most slots the pool grows to (default " STR(
		  ALPNSTEER_DEFAULT_POOL_MAX) ", at least --pool)" },
	{ "per-source", 'S', CMD_ARG_REQUIRED, "N",
	  "slots one source network (its /24 for IPv4, /48 for IPv6) may hold at once (default " STR(
		  ALPNSTEER_DEFAULT_PER_SOURCE) "; 0: no cap)" },
	{ "cgroup", 'c', CMD_ARG_REQUIRED, "DIR",
	  "cgroup v2 directory holding the webserver (default: the root of the cgroup2 mount)" },
	{ "handshake-timeout", 't', CMD_ARG_REQUIRED, "SECONDS",
	  "free the slot of a validation not done in SECONDS (default " STR(
		  ALPNSTEER_DEFAULT_HS_TIMEOUT) "), connected or not" },
	{ "alpn-dir", 'a', CMD_ARG_REQUIRED, "DIR",
	  "answer with the NAME.crt.pem/NAME.key.pem files dehydrated writes there (-t tls-alpn-01 --alpn DIR)" },
	{ "control-group", 'g', CMD_ARG_REQUIRED, "GROUP",
	  "let GROUP use the control socket too" },
	{ "user", 'u', CMD_ARG_REQUIRED, "USER",
	  "the daemon's user once steering is live (default " ALPNSTEER_DEFAULT_USER
	  "; root keeps it root)" },
	{ "holder", 'H', CMD_ARG_REQUIRED, "NAME",
	  "who this attach is for (default \"" LC_DEFAULT_HOLDER
	  "\"): steering lasts until every holder has detached" },
	{ "ttl", 'T', CMD_ARG_REQUIRED, "DURATION",
	  "this holder lets go by itself after DURATION (90s, 30m, 1h, 2d) if its detach never comes" },
	{ "drain-wait", 'W', CMD_ARG_REQUIRED, "DURATION",
	  "how long to wait for an earlier attachment's drain to end (default " STR(
		  ALPNSTEER_DEFAULT_DRAIN_WAIT) "s)" },
	{ "proxy-protocol", 'X', CMD_ARG_REQUIRED, "PORT",
	  "connections to PORT (one of --port) start with a PROXY protocol header (v1 or v2) from a layer-4 load balancer: the hello after it is classified, a steered one has its header consumed, every other keeps it for the webserver byte for byte (repeatable)" },
	{ "preclassify", 'P', CMD_ARG_REQUIRED, "IFACE[,IFACE]",
	  "experimental, off by default: a tc ingress program on these interfaces (every one steered connections arrive on, lo included) lets only connections that may offer acme-tls/1 into the sockhash" },
	{},
};

/* A PROXY header is only looked for on a steered port: a
 * --proxy-protocol port that is not one is a mistake worth naming. */
static int check_proxy_ports(const struct daemon_opts *o)
{
	__u32 i, j;

	for (i = 0; i < o->cfg.nr_proxy_ports; i++) {
		for (j = 0; j < o->cfg.nr_ports; j++)
			if (o->cfg.ports[j] == o->cfg.proxy_ports[i])
				break;
		if (j == o->cfg.nr_ports) {
			p_err("--proxy-protocol %u is not a steered port",
			      o->cfg.proxy_ports[i]);
			p_hint("name it with --port too (--port 443 --proxy-protocol 443)");
			return -EINVAL;
		}
	}
	return 0;
}

int cli_parse_attach(int argc, char **argv, struct daemon_opts *o)
{
	const struct cmd *self = argc && !strcmp(argv[0], "run") ? &run_cmd :
								   &attach_cmd;
	struct group *gr;
	bool max_given = false;
	__u32 v;
	int c, err;

	memset(o, 0, sizeof(*o));
	o->control_gid = (gid_t)-1;
	o->user = ALPNSTEER_DEFAULT_USER;
	o->cfg.pool_size = ALPNSTEER_DEFAULT_POOL;
	o->pool_max = ALPNSTEER_DEFAULT_POOL_MAX;
	o->per_source = ALPNSTEER_DEFAULT_PER_SOURCE;
	o->handshake_timeout = ALPNSTEER_DEFAULT_HS_TIMEOUT;
	o->drain_wait = ALPNSTEER_DEFAULT_DRAIN_WAIT;
	o->log_fd = -1;
	snprintf(o->holder, sizeof(o->holder), "%s", LC_DEFAULT_HOLDER);
	optind = 0; /* 0, not 1: glibc then forgets the previous scan */
	while ((c = cmd_getopt(argc, argv, self)) != -1) {
		switch (c) {
		case 'p':
			if (cli_parse_port(optarg, &v)) {
				p_err("--port '%s' is not a port number",
				      optarg);
				return -EINVAL;
			}
			if (o->cfg.nr_ports >= ALPNSTEER_MAX_PORTS) {
				p_err("too many --port options (at most %d)",
				      ALPNSTEER_MAX_PORTS);
				return -E2BIG;
			}
			o->cfg.ports[o->cfg.nr_ports++] = v;
			break;
		case 'c':
			snprintf(o->cfg.cgroup, sizeof(o->cfg.cgroup), "%s",
				 optarg);
			break;
		case 'n':
			if (cli_parse_port(optarg, &v) ||
			    v > ALPNSTEER_MAX_POOL) {
				p_err("--pool '%s' must be 1..%d", optarg,
				      ALPNSTEER_MAX_POOL);
				return -EINVAL;
			}
			o->cfg.pool_size = v;
			o->given |= LC_GIVEN_POOL;
			break;
		case 'M':
			if (cli_parse_port(optarg, &v) ||
			    v > ALPNSTEER_MAX_POOL) {
				p_err("--pool-max '%s' must be 1..%d", optarg,
				      ALPNSTEER_MAX_POOL);
				return -EINVAL;
			}
			o->pool_max = v;
			max_given = true;
			break;
		case 'S':
			/* 0 is allowed: no cap (a test bed, one client). */
			if (strcmp(optarg, "0") &&
			    (cli_parse_port(optarg, &v) ||
			     v > ALPNSTEER_MAX_POOL)) {
				p_err("--per-source '%s' must be 0..%d", optarg,
				      ALPNSTEER_MAX_POOL);
				return -EINVAL;
			}
			o->per_source = strcmp(optarg, "0") ? v : 0;
			break;
		case 'f':
			snprintf(o->forward, sizeof(o->forward), "%s", optarg);
			err = cli_parse_hostport(optarg, &o->fwd_addr,
						 &o->fwd_len);
			if (err) {
				p_err("--forward '%s' is not HOST:PORT",
				      optarg);
				p_hint("for example --forward 127.0.0.1:8443 or --forward [::1]:8443");
				return err;
			}
			break;
		case 'D':
			err = add_domain(o, optarg);
			if (err)
				return err;
			break;
		case 't':
			if (cli_parse_port(optarg, &v)) {
				p_err("--handshake-timeout '%s' must be 1..65535 seconds",
				      optarg);
				return -EINVAL;
			}
			o->handshake_timeout = v;
			o->given |= LC_GIVEN_TIMEOUT;
			break;
		case 'a':
			o->alpn_dir = optarg;
			o->given |= LC_GIVEN_ALPN_DIR;
			break;
		case 'u':
			o->user = optarg;
			o->given |= LC_GIVEN_USER;
			break;
		case 'H':
			if (!lc_holder_valid(optarg)) {
				p_err("--holder '%s' is not a holder name",
				      optarg);
				p_hint("1-63 letters, digits and . _ : @ -, for example --holder acme.sh");
				return -EINVAL;
			}
			snprintf(o->holder, sizeof(o->holder), "%s", optarg);
			break;
		case 'T':
			o->ttl = lc_parse_duration(optarg);
			if (o->ttl < 0) {
				p_err("--ttl '%s' is not a duration", optarg);
				p_hint("seconds, or a number with s, m, h or d: --ttl 90s, --ttl 30m, --ttl 1h");
				return -EINVAL;
			}
			break;
		case 'W':
			o->drain_wait = lc_parse_duration(optarg);
			if (o->drain_wait < 0) {
				p_err("--drain-wait '%s' is not a duration",
				      optarg);
				return -EINVAL;
			}
			break;
		case 'X':
			if (cli_parse_port(optarg, &v)) {
				p_err("--proxy-protocol '%s' is not a port number",
				      optarg);
				return -EINVAL;
			}
			if (o->cfg.nr_proxy_ports >= ALPNSTEER_MAX_PORTS) {
				p_err("too many --proxy-protocol options (at most %d)",
				      ALPNSTEER_MAX_PORTS);
				return -E2BIG;
			}
			o->cfg.proxy_ports[o->cfg.nr_proxy_ports++] = v;
			break;
		case 'P':
			err = add_ifaces(o, optarg);
			if (err)
				return err;
			break;
		case 'g':
			gr = getgrnam(optarg);
			if (!gr) {
				p_err("--control-group '%s': no such group",
				      optarg);
				return -ENOENT;
			}
			o->control_gid = gr->gr_gid;
			o->given |= LC_GIVEN_CONTROL;
			break;
		default: /* cmd_getopt() said why */
			return -EINVAL;
		}
	}
	if (!cmd_operands(argc, argv, self, 0, 0))
		return -EINVAL;
	if (!o->cfg.nr_ports)
		o->cfg.ports[o->cfg.nr_ports++] = 443;
	err = check_proxy_ports(o);
	if (err)
		return err;
	if (o->pool_max < o->cfg.pool_size) {
		if (max_given) {
			p_err("--pool-max %u is below --pool %u", o->pool_max,
			      o->cfg.pool_size);
			p_hint("--pool is where the pool starts, --pool-max how far it may grow");
			return -EINVAL;
		}
		o->pool_max = o->cfg.pool_size;
	}
	if (o->nr_domains && !o->forward[0]) {
		/* The built-in responder knows its names from its challenges. */
		p_err("--domain goes with --forward");
		p_hint("with the built-in responder, add challenges with 'alpnsteer challenge add' or --alpn-dir");
		return -EINVAL;
	}
	if (!o->cfg.cgroup[0]) {
		err = cli_cgroup2_root(NULL, o->cfg.cgroup,
				       sizeof(o->cfg.cgroup));
		if (err) {
			p_err("no cgroup2 mount found in /proc/self/mounts");
			p_hint("mount cgroup2 or name a cgroup v2 directory with --cgroup");
			return err;
		}
	}
	return 0;
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
