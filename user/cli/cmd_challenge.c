// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd_challenge.c - `alpnsteer challenge add|remove|list|trace`: the pending
 * TLS-ALPN-01 challenges of the built-in responder.  They go to the
 * fleet's store with --store, else to this host's agent when one runs,
 * else to the daemon's control socket (docs/design.md, "The control
 * socket", "Agent and fleet").
 *
 * An identifier, key authorization or digest is checked here, with the
 * daemon's own words, before anything is sent: a refusal is a usage error
 * (exit 2) and never reaches the daemon.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <openssl/sha.h>

#include "acme_cert.h"
#include "agent_client.h"
#include "cmd.h"
#include "control.h"
#include "lifecycle.h"
#include "log.h"
#include "paths.h"

static const struct cmd challenge_add_cmd, challenge_remove_cmd,
	challenge_list_cmd, challenge_trace_cmd;

enum {
	O_DIGEST = 'd',
	O_JSON = 'j',
	O_TTL = 1002,
	O_STORE,
	O_STORE_CA,
	O_STORE_CERT,
	O_STORE_KEY,
	O_STORE_USER,
	O_STORE_PASSWORD_FILE,
};

/* What one challenge command was asked. */
struct chal_args {
	const char *ident, *keyauth, *digest;
	unsigned char sha[ACME_DIGEST_LEN];
	long ttl;
	struct store_opts store;
};

static int parse(const struct cmd *c, int argc, char **argv,
		 struct chal_args *a, int min, int max)
{
	struct store_opts *so = &a->store;
	int o;

	memset(a, 0, sizeof(*a));
	store_opts_env(so);
	while ((o = cmd_getopt(argc, argv, c)) != -1) {
		switch (o) {
		case O_DIGEST:
			a->digest = optarg;
			break;
		case O_JSON:
			log_json = true;
			break;
		case O_TTL:
			a->ttl = lc_parse_duration(optarg);
			if (a->ttl <= 0) {
				p_err("--ttl '%s' is not a duration", optarg);
				p_hint("seconds, or a number with s, m, h or d: --ttl 90s, --ttl 10m");
				return EXIT_USAGE;
			}
			break;
		case O_STORE:
			so->url = *optarg ? optarg : NULL;
			break;
		case O_STORE_CA:
			so->cacert = optarg;
			break;
		case O_STORE_CERT:
			so->cert = optarg;
			break;
		case O_STORE_KEY:
			so->key = optarg;
			break;
		case O_STORE_USER:
			so->user = optarg;
			break;
		case O_STORE_PASSWORD_FILE:
			so->password_file = optarg;
			break;
		default: /* cmd_getopt() said why */
			return EXIT_USAGE;
		}
	}
	if (!cmd_operands(argc, argv, c, min, max))
		return EXIT_USAGE;
	a->ident = optind < argc ? argv[optind] : NULL;
	a->keyauth = optind + 1 < argc ? argv[optind + 1] : NULL;
	return EXIT_OK;
}

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

/* The request to this host's agent, else to the daemon: -ENOENT from the
 * agent means there is none. */
static int send_local(const char *agent_req, const char *daemon_req)
{
	char *reply = NULL, sock[PATH_MAX + 32];
	struct lc_paths p;
	int err;

	lc_default_paths(&p);
	err = agent_request(&p, agent_req, &reply);
	if (err != -ENOENT)
		return reply_print("the agent's socket", err, reply);
	lc_run_path(&p, LC_CONTROL_SOCK, sock, sizeof(sock));
	err = control_request(&p, daemon_req, &reply);
	if (err == -ENOENT) {
		p_err("alpnsteer is not attached (no %s)", sock);
		p_hint("run 'alpnsteer attach' first, or start 'alpnsteer agent'");
		return EXIT_FAIL;
	}
	return reply_print(sock, err, reply);
}

static int do_add(int argc, char **argv)
{
	char req[2048], areq[2100];
	struct chal_args a;
	int rc;

	rc = parse(&challenge_add_cmd, argc, argv, &a, 1, 2);
	if (rc)
		return rc;
	if (!a.keyauth == !a.digest)
		return cmd_usage_error(
			&challenge_add_cmd,
			a.digest ? "KEYAUTH and --digest: one of them" :
				   "missing KEYAUTH or --digest SHA256");
	rc = bad_ident(a.ident);
	if (rc)
		return rc;
	if (a.digest && acme_digest_parse(a.digest, a.sha)) {
		p_err("'%s' is not a SHA-256 digest", a.digest);
		p_hint("64 hex digits (colons between bytes allowed, as dehydrated passes it) or 43 base64url characters (as uacme passes it)");
		return EXIT_USAGE;
	}
	if (a.keyauth && (!*a.keyauth || strpbrk(a.keyauth, " \t\r\n"))) {
		p_err("the key authorization is empty or contains white space");
		return EXIT_USAGE;
	}
	if (a.store.url) {
		/* The shared store: this host's agent need not run. */
		if (a.keyauth)
			SHA256((const unsigned char *)a.keyauth,
			       strlen(a.keyauth), a.sha);
		if (agent_store_add(&a.store, a.ident, a.sha, a.ttl))
			return EXIT_FAIL; /* the store said why */
		return reply_print("the store", 0, strdup("ok"));
	}
	if (a.digest)
		snprintf(req, sizeof(req), "add-digest %s %s", a.ident,
			 a.digest);
	else
		snprintf(req, sizeof(req), "add %s %s", a.ident, a.keyauth);
	/* A ttl goes with the request, to the agent (none: its own --ttl)
	 * or to the daemon, which expires a challenge by itself too. */
	if (a.ttl)
		snprintf(areq, sizeof(areq), "%s %ld", req, a.ttl);
	else
		snprintf(areq, sizeof(areq), "%s", req);
	return send_local(areq, areq);
}

static int do_remove(int argc, char **argv)
{
	char req[2048];
	struct chal_args a;
	int rc;

	rc = parse(&challenge_remove_cmd, argc, argv, &a, 1, 1);
	if (rc)
		return rc;
	rc = bad_ident(a.ident);
	if (rc)
		return rc;
	if (a.store.url) {
		if (agent_store_remove(&a.store, a.ident))
			return EXIT_FAIL;
		return reply_print("the store", 0, strdup("ok"));
	}
	snprintf(req, sizeof(req), "remove %s", a.ident);
	return send_local(req, req);
}

static int do_list(int argc, char **argv)
{
	struct chal_args a;
	int rc;

	rc = parse(&challenge_list_cmd, argc, argv, &a, 0, 0);
	if (rc)
		return rc;
	return send_local(log_json ? "list" : "table",
			  log_json ? "list" : "table");
}

static int do_trace(int argc, char **argv)
{
	char req[ALPNSTEER_NAME_MAX + 32];
	struct chal_args a;
	int rc;

	rc = parse(&challenge_trace_cmd, argc, argv, &a, 0, 1);
	if (rc)
		return rc;
	if (a.ident && (rc = bad_ident(a.ident)))
		return rc;
	snprintf(req, sizeof(req), "%s%s%s", log_json ? "trace" : "trace-table",
		 a.ident ? " " : "", a.ident ? a.ident : "");
	return send_local(req, req);
}

/* clang-format off */
#define STORE_OPTS \
	{ "store", O_STORE, CMD_ARG_REQUIRED, "URL[,URL]", \
	  "through the fleet's store (etcd: https://HOST:2379), for every node's agent, instead of this host (also ALPNSTEER_STORE)" }, \
	{ "store-ca", O_STORE_CA, CMD_ARG_REQUIRED, "FILE", \
	  "the CA that signed the store's certificates (ALPNSTEER_STORE_CA)" }, \
	{ "store-cert", O_STORE_CERT, CMD_ARG_REQUIRED, "FILE", \
	  "this client's certificate (ALPNSTEER_STORE_CERT)" }, \
	{ "store-key", O_STORE_KEY, CMD_ARG_REQUIRED, "FILE", \
	  "its key (ALPNSTEER_STORE_KEY)" }, \
	{ "store-user", O_STORE_USER, CMD_ARG_REQUIRED, "NAME", \
	  "the store's user, with a readwrite role on the name's key (ALPNSTEER_STORE_USER)" }, \
	{ "store-password-file", O_STORE_PASSWORD_FILE, CMD_ARG_REQUIRED, "FILE", \
	  "the file holding that user's password (ALPNSTEER_STORE_PASSWORD_FILE)" }
/* clang-format on */

static const struct cmd_opt add_opts[] = {
	{ "digest", O_DIGEST, CMD_ARG_REQUIRED, "SHA256",
	  "SHA-256 of the key authorization instead of the key authorization itself, which is all dehydrated's and uacme's hooks are given: 64 hex digits (colons between bytes allowed) or 43 base64url characters" },
	{ "ttl", O_TTL, CMD_ARG_REQUIRED, "DURATION",
	  "the challenge expires after DURATION: the daemon stops answering it even if no remove comes (through an agent, at most the agent's --ttl)" },
	STORE_OPTS,
	{},
};

static const struct cmd_opt remove_opts[] = {
	STORE_OPTS,
	{},
};

static const struct cmd_opt list_opts[] = {
	{ "json", O_JSON, CMD_ARG_NONE, NULL,
	  "JSON output (as -j before the command)", true },
	{},
};

static const struct cmd challenge_add_cmd = {
	.name = "add",
	.func = do_add,
	.synopsis =
		"IDENT {KEYAUTH | --digest SHA256} [--ttl DURATION] [--store URL]",
	.args = "IDENT",
	.summary =
		"make IDENT pending, answered with the ACME key authorization KEYAUTH",
	.desc = "IDENT is a DNS name (no wildcard) or an IPv4/IPv6 address. Adding a pending IDENT again replaces its key authorization.",
	.opts = add_opts,
};

static const struct cmd challenge_remove_cmd = {
	.name = "remove",
	.func = do_remove,
	.args = "IDENT",
	.synopsis = "IDENT [--store URL]",
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

static const struct cmd challenge_trace_cmd = {
	.name = "trace",
	.func = do_trace,
	.args = "[IDENT]",
	.synopsis = "[IDENT]",
	.summary =
		"every acme-tls/1 hello seen for each pending (or recently removed) identifier, and what became of it",
	.desc = "Outcomes: answered (handshake completed with the validation certificate), failed (which alert, sent or received; timeout; client gone), not_pending (the SNI was not a pending name: left to the webserver), no_slot (the responder pool was exhausted), source_capped (its /24 or /48 held its share of the pool: --per-source), split (ALPN or SNI not in the hello's first segment), draining (during a detach), after_removal (the identifier was no longer pending), relayed (--forward). Per identifier: first and last hello after its add, hellos per family, the distinct /24s and /48s answered. The last 32 identifiers and the last 64 hellos of each are kept, by the agent across attachments, else by the daemon while attached; each event also goes to the journal (fields ALPNSTEER_TRACE_*) or the daemon's log. Root reads every record; a --control-group member only those of the challenges it added and of the names /etc/alpnsteer/control-names gives members.",
	.opts = list_opts,
};

static const struct cmd *const challenge_subs[] = {
	&challenge_add_cmd,
	&challenge_remove_cmd,
	&challenge_list_cmd,
	&challenge_trace_cmd,
	NULL,
};

const struct cmd challenge_cmd = {
	.name = "challenge",
	.summary =
		"the pending TLS-ALPN-01 challenges of the built-in responder",
	.desc = "Root's, or a member of attach --control-group's: through the fleet's store with --store, else through this host's agent when one runs, else through the daemon's control socket.",
	.subs = challenge_subs,
};
