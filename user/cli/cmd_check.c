// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd_check.c - `alpnsteer check IDENT [--address ADDR] [--keyauth KA]`.
 *
 * Makes the handshakes a CA makes for a TLS-ALPN-01 validation: TLS 1.2 and
 * TLS 1.3, ALPN acme-tls/1 alone, SNI = the identifier (its RFC 8738 reverse
 * name for an IP), to port 443 of ADDR (default: the identifier itself, or
 * what it resolves to).  Then every rule of cert_check(), one line each.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "acme_cert.h"
#include "cert_check.h"
#include "cli.h"
#include "cmd.h"
#include "log.h"

static int tcp_connect(const char *host, const char *port, char *peer,
		       size_t len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	struct timeval tv = { .tv_sec = 10 };
	int fd = -ENOENT;

	if (getaddrinfo(host, port, &hints, &res))
		return -ENOENT;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (!connect(fd, ai->ai_addr, ai->ai_addrlen)) {
			getnameinfo(ai->ai_addr, ai->ai_addrlen, peer, len,
				    NULL, 0, NI_NUMERICHOST);
			break;
		}
		close(fd);
		fd = -errno;
	}
	freeaddrinfo(res);
	return fd;
}

/* One validation handshake at @version; prints its rule lines. */
static int check_one(const struct acme_ident *id, const char *addr,
		     const char *port, const char *keyauth, int version)
{
	static const unsigned char alpn[] = "\x0a"
					    "acme-tls/1";
	const char *tag = version == TLS1_3_VERSION ? "tls1.3" : "tls1.2";
	struct cert_rule rules[CERT_RULES_MAX];
	const unsigned char *sel = NULL;
	unsigned int sel_len = 0;
	char peer[64] = "?";
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	X509 *cert = NULL;
	int fd, i, n, failed = 0;

	fd = tcp_connect(addr, port, peer, sizeof(peer));
	if (fd < 0) {
		printf("FAIL %s connect %s port %s: %s\n", tag, addr, port,
		       strerror(-fd));
		return 1;
	}
	ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_min_proto_version(ctx, version);
	SSL_CTX_set_max_proto_version(ctx, version);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, id->sni);
	SSL_set_alpn_protos(ssl, alpn, sizeof(alpn) - 1);
	if (SSL_connect(ssl) != 1) {
		unsigned long e = ERR_get_error();

		printf("FAIL %s handshake with %s: %s\n", tag, peer,
		       e ? ERR_reason_error_string(e) : "connection closed");
		failed = 1;
		goto out;
	}
	SSL_get0_alpn_selected(ssl, &sel, &sel_len);
	n = sel_len == 10 && !memcmp(sel, "acme-tls/1", 10);
	printf("%s %s alpn_acme_tls_1 (%s, sni %s)\n", n ? "pass" : "FAIL", tag,
	       peer, id->sni);
	failed |= !n;
	cert = SSL_get1_peer_certificate(ssl);
	if (!cert) {
		printf("FAIL %s certificate: none\n", tag);
		failed = 1;
		goto out;
	}
	n = cert_check(cert, id, keyauth, rules, CERT_RULES_MAX);
	for (i = 0; i < n; i++) {
		printf("%s %s %s%s%s\n", rules[i].ok ? "pass" : "FAIL", tag,
		       rules[i].rule, rules[i].detail[0] ? ": " : "",
		       rules[i].detail);
		failed |= !rules[i].ok;
	}
out:
	X509_free(cert);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	return failed;
}

static const struct cmd_opt check_opts[] = {
	{ "address", 'a', CMD_ARG_REQUIRED, "ADDR",
	  "connect to ADDR (default: IDENT itself, or what it resolves to)" },
	{ "keyauth", 'k', CMD_ARG_REQUIRED, "KEYAUTH",
	  "also check the certificate's acmeIdentifier against this key authorization" },
	{ "port", 'p', CMD_ARG_REQUIRED, "N",
	  "connect to port N (default 443)" },
	{},
};

static int do_check(int argc, char **argv)
{
	const char *addr = NULL, *keyauth = NULL, *port = "443";
	struct acme_ident id;
	char why[200];
	__u32 v;
	int c, failed;

	while ((c = cmd_getopt(argc, argv, &check_cmd)) != -1) {
		switch (c) {
		case 'a':
			addr = optarg;
			break;
		case 'k':
			keyauth = optarg;
			break;
		case 'p':
			if (cli_parse_port(optarg, &v))
				return cmd_usage_error(
					&check_cmd,
					"--port '%s' is not a port number",
					optarg);
			port = optarg;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (!cmd_operands(argc, argv, &check_cmd, 1, 1))
		return EXIT_USAGE;
	if (acme_ident_parse(argv[optind], &id, why, sizeof(why))) {
		p_err("%s", why);
		p_hint("IDENT is a DNS name (no wildcard) or an IPv4/IPv6 address");
		return EXIT_USAGE;
	}
	if (!addr)
		addr = id.name;
	failed = check_one(&id, addr, port, keyauth, TLS1_2_VERSION);
	failed |= check_one(&id, addr, port, keyauth, TLS1_3_VERSION);
	printf("%s\n", failed ? "check: FAILED" : "check: passed");
	return failed ? EXIT_FAIL : EXIT_OK;
}

const struct cmd check_cmd = {
	.name = "check",
	.func = do_check,
	.args = "IDENT",
	.summary =
		"validate IDENT as a CA does (TLS 1.2 and 1.3, ALPN acme-tls/1), one line per rule",
	.desc = "Makes the handshakes a CA makes for a TLS-ALPN-01 validation of IDENT (a DNS name, or an IP address: SNI is then its RFC 8738 reverse name) "
		"and checks every rule the CA checks on the certificate, printing one pass or FAIL line per rule; exit 1 on any failure.",
	.opts = check_opts,
};
