// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd_challenge.c - `alpnsteer challenge add|remove|list`: the pending
 * TLS-ALPN-01 challenges of the built-in responder, through the daemon's
 * control socket (docs/design.md, "The control socket").
 *
 * An identifier, key authorization or digest is checked here, with the
 * daemon's own words, before anything is sent: a refusal is a usage error
 * (exit 2) and never reaches the daemon.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "acme_cert.h"
#include "cmd.h"
#include "cmd_agent.h"
#include "control.h"
#include "log.h"
#include "paths.h"

static const struct cmd challenge_add_cmd, challenge_remove_cmd,
	challenge_list_cmd;

static int bad_ident(const char *s)
{
	struct acme_ident id;
	char why[200];

	if (!acme_ident_parse(s, &id, why, sizeof(why)))
		return 0;
	p_err("%s", why);
	p_hint("IDENT is a DNS name (no wildcard) or an IPv4/IPv6 address");
	return EXIT_USAGE;
}

/* Send @req; print what the daemon answered unless it is a bare "ok". */
static int request(const char *req)
{
	char *reply = NULL, sock[PATH_MAX + 32];
	struct lc_paths p;
	int err;

	lc_default_paths(&p);
	lc_run_path(&p, LC_CONTROL_SOCK, sock, sizeof(sock));
	err = control_request(&p, req, &reply);
	if (err == -ENOENT) {
		p_err("alpnsteer is not attached (no %s)", sock);
		p_hint("run 'alpnsteer attach' first");
		return EXIT_FAIL;
	}
	if (err == -EACCES || err == -EPERM) {
		p_err("permission denied on %s", sock);
		p_hint("challenges are root's (or --control-group's) business");
		return EXIT_FAIL;
	}
	if (err) {
		p_err("control socket: %s", strerror(-err));
		return EXIT_FAIL;
	}
	if (!strncmp(reply, "error: ", 7)) {
		p_err("%s", reply + 7);
		return EXIT_FAIL;
	}
	if (strcmp(reply, "ok") || log_json)
		printf("%s\n", log_json && !strcmp(reply, "ok") ?
				       "{\"ok\":true}" :
				       reply);
	return EXIT_OK;
}

/*
 * add IDENT KEYAUTH | add IDENT --digest SHA256.  Not getopt: a key
 * authorization is base64url, which may begin with '-'; only "--digest"
 * itself is an option here.
 */
static int do_add(int argc, char **argv)
{
	unsigned char digest[ACME_DIGEST_LEN];
	const char *dg = NULL;
	char req[2048];
	int rc;

	/* A running agent, or --store: theirs (user/cmd_agent.c). */
	rc = agent_challenge(argc, argv);
	if (rc >= 0)
		return rc;

	if (argc == 4 && !strcmp(argv[2], "--digest"))
		dg = argv[3];
	else if (argc == 3 && !strncmp(argv[2], "--digest=", 9))
		dg = argv[2] + 9;
	else if (argc == 3 && !strcmp(argv[2], "--digest"))
		return cmd_usage_error(&challenge_add_cmd,
				       "option '--digest' needs a value");
	else if (argc < 3)
		return cmd_usage_error(
			&challenge_add_cmd,
			argc < 2 ? "missing IDENT" :
				   "missing KEYAUTH or --digest SHA256");
	else if (argc > 3)
		return cmd_usage_error(&challenge_add_cmd,
				       "unexpected argument '%s'", argv[3]);
	rc = bad_ident(argv[1]);
	if (rc)
		return rc;
	if (dg && acme_digest_parse(dg, digest)) {
		p_err("'%s' is not a SHA-256 digest", dg);
		p_hint("64 hex digits (colons between bytes allowed, as dehydrated passes it) or 43 base64url characters (as uacme passes it)");
		return EXIT_USAGE;
	}
	if (!dg && (!*argv[2] || strpbrk(argv[2], " \t\r\n"))) {
		p_err("the key authorization is empty or contains white space");
		return EXIT_USAGE;
	}
	if (dg)
		snprintf(req, sizeof(req), "add-digest %s %s", argv[1], dg);
	else
		snprintf(req, sizeof(req), "add %s %s", argv[1], argv[2]);
	return request(req);
}

static int do_remove(int argc, char **argv)
{
	char req[2048];
	int c, rc;

	rc = agent_challenge(argc, argv);
	if (rc >= 0)
		return rc;

	while ((c = cmd_getopt(argc, argv, &challenge_remove_cmd)) != -1)
		return EXIT_USAGE;
	if (!cmd_operands(argc, argv, &challenge_remove_cmd, 1, 1))
		return EXIT_USAGE;
	rc = bad_ident(argv[optind]);
	if (rc)
		return rc;
	snprintf(req, sizeof(req), "remove %s", argv[optind]);
	return request(req);
}

static const struct cmd_opt list_opts[] = {
	{ "json", 'j', CMD_ARG_NONE, NULL,
	  "JSON output (as -j before the command)", true },
	{},
};

static int do_list(int argc, char **argv)
{
	int c = agent_challenge(argc, argv);

	if (c >= 0)
		return c;

	while ((c = cmd_getopt(argc, argv, &challenge_list_cmd)) != -1) {
		if (c != 'j')
			return EXIT_USAGE;
		log_json = true;
	}
	if (!cmd_operands(argc, argv, &challenge_list_cmd, 0, 0))
		return EXIT_USAGE;
	return request(log_json ? "list" : "table");
}

/* Handled by agent_challenge() before the parsing here; listed for the
 * help, the man page and the completion. */
#define STORE_HELP \
	"through the fleet's etcd, for every node's agent, instead of this host (and the --store-ca, --store-cert, --store-key, --store-user, --store-password-file of agent; also the ALPNSTEER_STORE* variables)"

static const struct cmd_opt add_opts[] = {
	{ "digest", 'd', CMD_ARG_REQUIRED, "SHA256",
	  "SHA-256 of the key authorization instead of the key authorization itself, which is all dehydrated's and uacme's hooks are given: 64 hex digits (colons between bytes allowed) or 43 base64url characters" },
	{ "ttl", 1002, CMD_ARG_REQUIRED, "DURATION",
	  "with a running agent or --store: the challenge expires after DURATION (at most the agent's --ttl)" },
	{ "store", 1003, CMD_ARG_REQUIRED, "URL[,URL]", STORE_HELP },
	{},
};

static const struct cmd_opt remove_opts[] = {
	{ "store", 1003, CMD_ARG_REQUIRED, "URL[,URL]", STORE_HELP },
	{},
};

static const struct cmd challenge_add_cmd = {
	.name = "add",
	.func = do_add,
	.synopsis =
		"IDENT {KEYAUTH | --digest SHA256} [--ttl DURATION] [--store URL]",
	.summary =
		"make IDENT pending, answered with the ACME key authorization KEYAUTH",
	.desc = "IDENT is a DNS name (no wildcard) or an IPv4/IPv6 address. Adding a pending IDENT again replaces its key authorization.",
	.opts = add_opts,
};

static const struct cmd challenge_remove_cmd = {
	.name = "remove",
	.func = do_remove,
	.args = "IDENT",
	.summary = "drop the pending challenge of IDENT",
	.opts = remove_opts,
};

static const struct cmd challenge_list_cmd = {
	.name = "list",
	.func = do_list,
	.summary =
		"the pending challenges, with the validation handshakes answered",
	.opts = list_opts,
};

static const struct cmd *const challenge_subs[] = {
	&challenge_add_cmd,
	&challenge_remove_cmd,
	&challenge_list_cmd,
	NULL,
};

const struct cmd challenge_cmd = {
	.name = "challenge",
	.summary =
		"the pending TLS-ALPN-01 challenges of the built-in responder",
	.desc = "Root's, or a member of attach --control-group's, through the daemon's control socket.",
	.subs = challenge_subs,
};
