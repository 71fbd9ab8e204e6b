// SPDX-License-Identifier: GPL-2.0-only
/*
 * alpnsteer - steer ACME TLS-ALPN-01 handshakes on port 443 to a responder,
 * in the kernel, while the webserver keeps its port and its connections.
 *
 *   alpnsteer [-j] [-v|-d] COMMAND [ARGS]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <bpf/libbpf.h>

#include "acme_cert.h"
#include "check.h"
#include "cli.h"
#include "cmd_agent.h"
#include "control.h"
#include "daemon.h"
#include "diag.h"
#include "feat.h"
#include "loader.h"
#include "log.h"
#include "lifecycle.h"
#include "lifecycle_run.h"
#include "status.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: alpnsteer [-j] [-v|-d] COMMAND [ARGS]\n"
		"\n"
		"Commands:\n"
		"  attach [OPTIONS]        steer acme-tls/1 connections; returns when live\n"
		"  run [OPTIONS]           the same in the foreground (for a service manager)\n"
		"  detach [--holder NAME | --all] [--wait[=SECS]]\n"
		"                          this holder lets go; the last one's detach\n"
		"                          stops steering (in-flight validations finish)\n"
		"  status                  attached or not, counters, pool, ids for bpftool\n"
		"  challenge add IDENT KEYAUTH | add IDENT --digest SHA256\n"
		"  challenge remove IDENT | list\n"
		"                          pending TLS-ALPN-01 challenges of the built-in\n"
		"                          responder (IDENT: a DNS name or an IP address)\n"
		"  check IDENT [--address ADDR] [--keyauth KA]\n"
		"                          validate IDENT as a CA does (TLS 1.2 and 1.3,\n"
		"                          ALPN acme-tls/1), one line per rule\n"
		"  features [-j]           can this kernel run alpnsteer, and how\n"
		"  agent [--grace D] [--ttl D] [--store URL] [ATTACH OPTIONS] | agent status\n"
		"                          stay detached; attach while a challenge pends\n"
		"  help                    this text\n"
		"\n"
		"Attach options:\n"
		"  --port N                steer this local port (repeatable; default 443)\n"
		"  --forward HOST:PORT     relay steered connections to this external\n"
		"                          responder (lego --tls.port, acme.sh --tlsport)\n"
		"                          instead of answering them with the built-in one\n"
		"  --domain NAME           steer only hellos whose SNI is NAME (repeatable);\n"
		"                          without it every acme-tls/1 hello is steered\n"
		"  --pool N                responder slots kept free for validations\n"
		"                          (default %d, max %d): made at attach, topped\n"
		"                          up as they are taken\n"
		"  --pool-max M            ... up to M slots in all (default %d)\n"
		"  --per-source N          slots one /24 (IPv4) or /48 (IPv6) may hold\n"
		"                          at once (default %d; 0: no cap)\n"
		"  --cgroup DIR            cgroup v2 holding the webserver (default: the\n"
		"                          root of the cgroup2 mount)\n"
		"  --handshake-timeout S   free the slot of a validation not done in S\n"
		"                          seconds (30), connected or not\n"
		"  --alpn-dir DIR          answer with the NAME.crt.pem/NAME.key.pem files\n"
		"                          dehydrated writes there (-t tls-alpn-01 --alpn)\n"
		"  --control-group GROUP   let GROUP use the control socket too\n"
		"  --user USER             the daemon's user once live (default\n"
		"                          alpnsteer; root keeps it root)\n"
		"  --holder NAME           who this attach is for (default \"default\"):\n"
		"                          steering lasts until every holder detached\n"
		"  --ttl DURATION          this holder lets go by itself after DURATION\n"
		"                          (90s, 30m, 1h) if its detach never comes\n"
		"  --drain-wait DURATION   wait this long for an earlier attachment's\n"
		"                          drain (default 120s)\n"
		"\n"
		"Global options:\n"
		"  -j, --json              JSON output\n"
		"  -v, --verbose           say more;  -d, --debug: libbpf and verifier logs\n",
		ALPNSTEER_DEFAULT_POOL, ALPNSTEER_MAX_POOL,
		ALPNSTEER_DEFAULT_POOL_MAX, ALPNSTEER_DEFAULT_PER_SOURCE);
}

static __u64 current_netns_cookie(void)
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

static int prepare(int argc, char **argv, struct daemon_opts *o)
{
	struct statfs sfs;
	int err;

	err = cli_parse_attach(argc, argv, o);
	if (err)
		return err;
	o->cfg.netns_cookie = current_netns_cookie();
	if (geteuid() != 0) {
		p_err("attach needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN for bpffs)");
		p_hint("run it as root, or from a systemd unit");
		return -EPERM;
	}
	if (statfs(o->cfg.cgroup, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC) {
		p_err("%s is not a cgroup v2 directory", o->cfg.cgroup);
		p_hint("--cgroup takes a directory of the cgroup2 mount that holds the webserver (default: its root)");
		return -EINVAL;
	}
	err = steer_ensure_bpffs();
	if (err) {
		p_err("cannot mount bpffs on /sys/fs/bpf: %s", strerror(-err));
		return err;
	}
	/* Only a warning: the webserver may simply not be started yet. */
	if (diag_check_listeners(o->cfg.cgroup, o->cfg.ports,
				 o->cfg.nr_ports) < 0)
		p_info("cannot list listeners through sock_diag");
	/* Before anything is attached: a daemon that silently stayed root
	 * would parse the Internet's TLS with every privilege. */
	return lc_check_user(o->user);
}

static int cmd_attach(int argc, char **argv)
{
	struct lc_paths p;
	struct daemon_opts o;

	if (prepare(argc, argv, &o))
		return 1;
	lc_default_paths(&p);
	return lc_attach(&p, &o, false);
}

static int cmd_run(int argc, char **argv)
{
	struct lc_paths p;
	struct daemon_opts o;

	if (prepare(argc, argv, &o))
		return 1;
	lc_default_paths(&p);
	return lc_attach(&p, &o, true);
}

static int cmd_detach(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "wait", optional_argument, NULL, 'w' },
		{ "holder", required_argument, NULL, 'H' },
		{ "all", no_argument, NULL, 'a' },
		{},
	};
	const char *holder = LC_DEFAULT_HOLDER;
	int c, wait = -1;
	struct lc_paths p;
	bool all = false;

	optind = 0; /* 0, not 1: glibc then forgets the previous scan */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'H' && lc_holder_valid(optarg)) {
			holder = optarg;
			continue;
		}
		if (c == 'a') {
			all = true;
			continue;
		}
		if (c != 'w' || cli_parse_wait(optarg, &wait)) {
			p_err("usage: alpnsteer detach [--holder NAME | --all] [--wait[=SECONDS]]");
			return 1;
		}
	}
	lc_default_paths(&p);
	return lc_detach(&p, holder, all, wait);
}

static int cmd_challenge(int argc, char **argv)
{
	char req[2048], *reply = NULL, why[200];
	const char *verb = argc > 1 ? argv[1] : "";
	unsigned char digest[ACME_DIGEST_LEN];
	struct acme_ident id;
	int err;

	/* Through a running agent, or --store (user/cmd_agent.c). */
	err = agent_challenge(argc, argv);
	if (err >= 0)
		return err;
	/* Refuse a bad identifier here, with the daemon's words, before
	 * anything is sent. */
	if ((!strcmp(verb, "add") || !strcmp(verb, "remove")) && argc > 2 &&
	    acme_ident_parse(argv[2], &id, why, sizeof(why))) {
		p_err("%s", why);
		p_hint("IDENT is a DNS name (no wildcard) or an IPv4/IPv6 address");
		return 1;
	}
	if (!strcmp(verb, "add") && argc == 4 &&
	    (!*argv[3] || strpbrk(argv[3], " \t\r\n"))) {
		p_err("the key authorization is empty or contains white space");
		return 1;
	}
	if (!strcmp(verb, "add") && argc == 5 && !strcmp(argv[3], "--digest") &&
	    acme_digest_parse(argv[4], digest)) {
		p_err("'%s' is not a SHA-256 digest", argv[4]);
		p_hint("64 hex digits (colons between bytes allowed, as dehydrated passes it) or 43 base64url characters (as uacme passes it)");
		return 1;
	}
	if (!strcmp(verb, "add") && argc == 4)
		snprintf(req, sizeof(req), "add %s %s", argv[2], argv[3]);
	else if (!strcmp(verb, "add") && argc == 5 &&
		 !strcmp(argv[3], "--digest"))
		snprintf(req, sizeof(req), "add-digest %s %s", argv[2],
			 argv[4]);
	else if (!strcmp(verb, "remove") && argc == 3)
		snprintf(req, sizeof(req), "remove %s", argv[2]);
	else if (!strcmp(verb, "list") && (argc == 2 ||
					   (argc == 3 && !strcmp(argv[2], "-j"))))
		snprintf(req, sizeof(req), "%s",
			 argc == 3 || log_json ? "list" : "table");
	else {
		p_err("usage: alpnsteer challenge add IDENT KEYAUTH | add IDENT --digest SHA256 | remove IDENT | list [-j]");
		return 2;
	}
	if (argc == 3 && !strcmp(argv[2], "-j"))
		log_json = true;
	err = control_request(req, &reply);
	if (err == -ENOENT) {
		p_err("alpnsteer is not attached (no %s)", ALPNSTEER_CONTROL_SOCK);
		p_hint("run 'alpnsteer attach' first");
		return 1;
	}
	if (err == -EACCES || err == -EPERM) {
		p_err("permission denied on %s", ALPNSTEER_CONTROL_SOCK);
		p_hint("challenges are root's (or --control-group's) business");
		return 1;
	}
	if (err) {
		p_err("control socket: %s", strerror(-err));
		return 1;
	}
	if (!strncmp(reply, "error: ", 7)) {
		p_err("%s", reply + 7);
		return 1;
	}
	if (strcmp(reply, "ok") || log_json)
		printf("%s\n", log_json && !strcmp(reply, "ok") ?
				       "{\"ok\":true}" : reply);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *cmd;
	int c;

	/* Global options come before the command. */
	while ((c = getopt_long(argc, argv, "+jvdh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			log_json = true;
			break;
		case 'v':
			log_verbose = log_verbose > 1 ? 2 : 1;
			break;
		case 'd':
			log_verbose = 2;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	log_setup_libbpf();
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	if (!strcmp(cmd, "attach"))
		return cmd_attach(argc, argv);
	if (!strcmp(cmd, "run"))
		return cmd_run(argc, argv);
	if (!strcmp(cmd, "detach"))
		return cmd_detach(argc, argv);
	if (!strcmp(cmd, "status"))
		return cmd_status(argc, argv);
	if (!strcmp(cmd, "challenge"))
		return cmd_challenge(argc, argv);
	if (!strcmp(cmd, "check"))
		return cmd_check(argc, argv);
	if (!strcmp(cmd, "agent"))
		return do_agent(argc, argv);
	if (!strcmp(cmd, "features"))
		return cmd_features(argc, argv);
	if (!strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	p_err("unknown command '%s'", cmd);
	p_hint("see 'alpnsteer help'");
	return 2;
}
