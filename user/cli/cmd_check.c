// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd_check.c - `alpnsteer check IDENT [--address ADDR] [--keyauth KA]`.
 *
 * Makes the handshakes a CA makes for a TLS-ALPN-01 validation: TLS 1.2 and
 * TLS 1.3, ALPN acme-tls/1 alone, SNI = the identifier (its RFC 8738 reverse
 * name for an IP), to port 443 of ADDR (default: the identifier itself, or
 * what it resolves to).  Then every rule of cert_check(), one line each.
 * With --proxy-protocol, each connection starts with a PROXY header (v1
 * or v2) as a layer-4 balancer's would, naming --proxy-source as the
 * client: a node behind `listen ... proxy_protocol` and alpnsteer's
 * --proxy-protocol can then be checked directly, not through the
 * balancer, which picks one node.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
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

struct proxy_opt {
	int version; /* 0: no header, 1 or 2 */
	const char *source; /* the client named; NULL: our own address */
};

union sa {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
	struct sockaddr_storage ss;
};

/* The PROXY header a balancer would send for connection @fd into @buf:
 * its length, or -EINVAL (@source is not an address).  The header's
 * destination is the node's address when of the source's family, or the
 * family's unspecified address (a v4 client named over IPv6). */
static int proxy_header(int fd, const struct proxy_opt *po, unsigned char *buf,
			size_t len)
{
	union sa me = {}, peer = {}, src = {}, dst = {};
	socklen_t ml = sizeof(me), pl = sizeof(peer);
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	unsigned short sport, dport;
	int v6, n;

	if (getsockname(fd, &me.sa, &ml) || getpeername(fd, &peer.sa, &pl))
		return -errno;
	sport = ntohs(me.ss.ss_family == AF_INET6 ? me.in6.sin6_port :
						    me.in.sin_port);
	dport = ntohs(peer.ss.ss_family == AF_INET6 ? peer.in6.sin6_port :
						      peer.in.sin_port);
	src = me;
	if (po->source) {
		memset(&src, 0, sizeof(src));
		if (inet_pton(AF_INET, po->source, &src.in.sin_addr) == 1)
			src.ss.ss_family = AF_INET;
		else if (inet_pton(AF_INET6, po->source, &src.in6.sin6_addr) ==
			 1)
			src.ss.ss_family = AF_INET6;
		else
			return -EINVAL;
	}
	v6 = src.ss.ss_family == AF_INET6;
	if (peer.ss.ss_family == src.ss.ss_family)
		dst = peer;
	else
		dst.ss.ss_family = src.ss.ss_family;
	if (po->version == 1) {
		inet_ntop(src.ss.ss_family,
			  v6 ? (void *)&src.in6.sin6_addr :
			       (void *)&src.in.sin_addr,
			  s, sizeof(s));
		inet_ntop(dst.ss.ss_family,
			  v6 ? (void *)&dst.in6.sin6_addr :
			       (void *)&dst.in.sin_addr,
			  d, sizeof(d));
		n = snprintf((char *)buf, len, "PROXY TCP%c %s %s %u %u\r\n",
			     v6 ? '6' : '4', s, d, sport, dport);
		return n < 0 || (size_t)n >= len ? -EINVAL : n;
	}
	/* v2: signature, PROXY command, TCP over IPv4/IPv6, the addresses */
	memcpy(buf, "\r\n\r\n\0\r\nQUIT\n", 12);
	buf[12] = 0x21;
	buf[13] = v6 ? 0x21 : 0x11;
	n = v6 ? 36 : 12;
	buf[14] = 0;
	buf[15] = n;
	if (v6) {
		memcpy(buf + 16, &src.in6.sin6_addr, 16);
		memcpy(buf + 32, &dst.in6.sin6_addr, 16);
	} else {
		memcpy(buf + 16, &src.in.sin_addr, 4);
		memcpy(buf + 20, &dst.in.sin_addr, 4);
	}
	buf[16 + n - 4] = sport >> 8;
	buf[16 + n - 3] = sport & 0xff;
	buf[16 + n - 2] = dport >> 8;
	buf[16 + n - 1] = dport & 0xff;
	return 16 + n;
}

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
		     const char *port, const char *keyauth, int version,
		     const struct proxy_opt *po)
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
	if (po->version) {
		unsigned char hdr[128];

		/* Written alone, before the hello: the shape HAProxy's
		 * send-proxy gives most connections. */
		n = proxy_header(fd, po, hdr, sizeof(hdr));
		if (n < 0 || write(fd, hdr, n) != n) {
			printf("FAIL %s PROXY v%d header to %s: %s\n", tag,
			       po->version, peer,
			       strerror(n < 0 ? -n :
					errno ? errno :
						EIO));
			close(fd);
			return 1;
		}
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
	{ "proxy-protocol", 1001, CMD_ARG_REQUIRED, "v1|v2",
	  "start each connection with a PROXY protocol header of that version, as a layer-4 balancer does (a node whose webserver and alpnsteer take PROXY headers on that port; run it from an address in the node's --proxy-from, or the header is not believed)" },
	{ "proxy-source", 1002, CMD_ARG_REQUIRED, "ADDR",
	  "the client the PROXY header names (default: this end's own address)" },
	{},
};

static int do_check(int argc, char **argv)
{
	const char *addr = NULL, *keyauth = NULL, *port = "443";
	struct proxy_opt po = {};
	unsigned char a6[16];
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
		case 1001:
			if (!strcmp(optarg, "v1") || !strcmp(optarg, "1"))
				po.version = 1;
			else if (!strcmp(optarg, "v2") || !strcmp(optarg, "2"))
				po.version = 2;
			else
				return cmd_usage_error(
					&check_cmd,
					"--proxy-protocol '%s' is not v1 or v2",
					optarg);
			break;
		case 1002:
			if (inet_pton(AF_INET, optarg, a6) != 1 &&
			    inet_pton(AF_INET6, optarg, a6) != 1)
				return cmd_usage_error(
					&check_cmd,
					"--proxy-source '%s' is not an IPv4 or IPv6 address",
					optarg);
			po.source = optarg;
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
	if (po.source && !po.version)
		return cmd_usage_error(&check_cmd,
				       "--proxy-source needs --proxy-protocol");
	if (!addr)
		addr = id.name;
	failed = check_one(&id, addr, port, keyauth, TLS1_2_VERSION, &po);
	failed |= check_one(&id, addr, port, keyauth, TLS1_3_VERSION, &po);
	printf("%s\n", failed ? "check: FAILED" : "check: passed");
	return failed ? EXIT_FAIL : EXIT_OK;
}

const struct cmd check_cmd = {
	.name = "check",
	.func = do_check,
	.args = "IDENT",
	.synopsis =
		"IDENT [--address ADDR] [--port N] [--keyauth KEYAUTH] [--proxy-protocol v1|v2 [--proxy-source ADDR]]",
	.summary =
		"validate IDENT as a CA does (TLS 1.2 and 1.3, ALPN acme-tls/1), one line per rule",
	.desc = "Makes the handshakes a CA makes for a TLS-ALPN-01 validation of IDENT (a DNS name, or an IP address: SNI is then its RFC 8738 reverse name) "
		"and checks every rule the CA checks on the certificate, printing one pass or FAIL line per rule; exit 1 on any failure.",
	.opts = check_opts,
};
