/* SPDX-License-Identifier: GPL-2.0-only */
/* acme_cert.h - identifiers and TLS-ALPN-01 validation certificates. */
#ifndef ALPNSTEER_ACME_CERT_H
#define ALPNSTEER_ACME_CERT_H

#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "alpnsteer_abi.h"

#define ACME_OID_IDENTIFIER "1.3.6.1.5.5.7.1.31" /* id-pe-acmeIdentifier */
#define ACME_DIGEST_LEN 32 /* SHA-256 of the key authorization */

enum acme_ident_type {
	ACME_IDENT_DNS,
	ACME_IDENT_IP,
};

struct acme_ident {
	enum acme_ident_type type;
	char name[ALPNSTEER_NAME_MAX]; /* lowercase DNS name or canonical IP */
	char sni[ALPNSTEER_NAME_MAX]; /* what a CA sends (RFC 8738 for IPs) */
	unsigned char ip[16];
	int ip_len; /* 4 or 16 for ACME_IDENT_IP */
};

/* A DNS name or an IP address, as an ACME identifier; -EINVAL with a
 * sentence in @err for anything else. */
int acme_ident_parse(const char *ident, struct acme_ident *out, char *err,
		     size_t errlen);
/* The identifier behind an SNI: a DNS name, or an in-addr.arpa/ip6.arpa
 * reverse name. */
int acme_sni_to_ident(const char *sni, struct acme_ident *out);
/* A self-signed P-256 validation certificate for @id and SHA-256(@keyauth). */
int acme_cert_build(const struct acme_ident *id, const char *keyauth,
		    X509 **cert, EVP_PKEY **key);
/* The same from the digest itself, which is all that dehydrated and uacme
 * hand their hooks. */
int acme_cert_build_digest(const struct acme_ident *id,
			   const unsigned char *digest, X509 **cert,
			   EVP_PKEY **key);
/* SHA-256 as 64 hex digits (colons between bytes allowed) or as 43
 * unpadded base64url characters, into ACME_DIGEST_LEN bytes; -EINVAL. */
int acme_digest_parse(const char *s, unsigned char *out);

#endif
