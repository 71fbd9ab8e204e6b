/* SPDX-License-Identifier: GPL-2.0-only */
/* cert_check.h - judge a validation certificate as a CA does. */
#ifndef ALPNSTEER_CERT_CHECK_H
#define ALPNSTEER_CERT_CHECK_H

#include <stdbool.h>
#include <openssl/x509.h>

#include "acme_cert.h"

#define CERT_RULES_MAX 12

struct cert_rule {
	const char *rule;
	bool ok;
	char detail[300];
};

/* Every rule of RFC 8737 and Boulder's va/tlsalpn.go that a certificate
 * alone can break; @keyauth NULL skips the digest comparison.  Returns the
 * number of results written to @res. */
int cert_check(X509 *cert, const struct acme_ident *id, const char *keyauth,
	       struct cert_rule *res, int max);

#endif
