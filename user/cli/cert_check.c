// SPDX-License-Identifier: GPL-2.0-only
/*
 * cert_check.c - judge a TLS-ALPN-01 certificate the way a CA does.
 *
 * One result per rule, so `alpnsteer check` can say exactly which rule a
 * responder breaks: self-signed (subject == issuer, signature verifies with
 * its own key), exactly one SAN equal to the identifier, the critical
 * id-pe-acmeIdentifier extension carrying a DER OCTET STRING of 32 bytes
 * equal to SHA-256(key authorization), no extension twice, and a validity
 * window that contains now.
 */
#include <stdio.h>
#include <string.h>
#include <openssl/objects.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "cert_check.h"

static void put(struct cert_rule *res, int max, int *n, const char *rule,
		bool ok, const char *detail)
{
	if (*n >= max)
		return;
	res[*n].rule = rule;
	res[*n].ok = ok;
	snprintf(res[*n].detail, sizeof(res[*n].detail), "%s",
		 detail ? detail : "");
	(*n)++;
}

static void check_san(X509 *cert, const struct acme_ident *id,
		      struct cert_rule *res, int max, int *n)
{
	GENERAL_NAMES *gens =
		X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	char detail[300] = "";
	bool match = false;
	int nr = gens ? sk_GENERAL_NAME_num(gens) : 0;

	snprintf(detail, sizeof(detail), "%d subjectAltName entries", nr);
	put(res, max, n, "one_san", nr == 1, detail);
	if (nr == 1) {
		int type;
		const ASN1_STRING *v = GENERAL_NAME_get0_value(
			sk_GENERAL_NAME_value(gens, 0), &type);

		if (id->type == ACME_IDENT_DNS && type == GEN_DNS)
			/* Byte-exact: the CA compares the lowercase name. */
			match = ASN1_STRING_length(v) ==
					(int)strlen(id->name) &&
				!memcmp(ASN1_STRING_get0_data(v), id->name,
					strlen(id->name));
		else if (id->type == ACME_IDENT_IP && type == GEN_IPADD)
			match = ASN1_STRING_length(v) == id->ip_len &&
				!memcmp(ASN1_STRING_get0_data(v), id->ip,
					id->ip_len);
	}
	snprintf(detail, sizeof(detail), "want %s %s",
		 id->type == ACME_IDENT_IP ? "iPAddress" : "dNSName", id->name);
	put(res, max, n, "san_matches", match, detail);
	GENERAL_NAMES_free(gens);
}

static void check_acme_ext(X509 *cert, const char *keyauth,
			   struct cert_rule *res, int max, int *n)
{
	ASN1_OBJECT *oid = OBJ_txt2obj(ACME_OID_IDENTIFIER, 1);
	int idx = oid ? X509_get_ext_by_OBJ(cert, oid, -1) : -1;
	X509_EXTENSION *ext = idx >= 0 ? X509_get_ext(cert, idx) : NULL;
	const ASN1_OCTET_STRING *val;
	unsigned char digest[SHA256_DIGEST_LENGTH];
	const unsigned char *p;
	bool shape = false;
	int len = 0;

	ASN1_OBJECT_free(oid);
	put(res, max, n, "acme_ext_present", ext != NULL, ACME_OID_IDENTIFIER);
	if (!ext)
		return;
	put(res, max, n, "acme_ext_critical", X509_EXTENSION_get_critical(ext),
	    NULL);
	val = X509_EXTENSION_get_data(ext);
	p = ASN1_STRING_get0_data(val);
	len = ASN1_STRING_length(val);
	/* extnValue must be exactly: 04 20 <32 bytes>. */
	shape = len == 2 + SHA256_DIGEST_LENGTH &&
		p[0] == V_ASN1_OCTET_STRING && p[1] == SHA256_DIGEST_LENGTH;
	put(res, max, n, "acme_ext_32_bytes", shape, NULL);
	if (!keyauth)
		return;
	SHA256((const unsigned char *)keyauth, strlen(keyauth), digest);
	put(res, max, n, "acme_ext_digest",
	    shape && !memcmp(p + 2, digest, sizeof(digest)),
	    "SHA-256 of the key authorization");
}

static bool no_duplicates(X509 *cert)
{
	int i, j, nr = X509_get_ext_count(cert);

	for (i = 0; i < nr; i++)
		for (j = i + 1; j < nr; j++)
			if (!OBJ_cmp(X509_EXTENSION_get_object(
					     X509_get_ext(cert, i)),
				     X509_EXTENSION_get_object(
					     X509_get_ext(cert, j))))
				return false;
	return true;
}

int cert_check(X509 *cert, const struct acme_ident *id, const char *keyauth,
	       struct cert_rule *res, int max)
{
	EVP_PKEY *pub = X509_get0_pubkey(cert);
	bool same = !X509_NAME_cmp(X509_get_subject_name(cert),
				   X509_get_issuer_name(cert));
	int n = 0;

	put(res, max, &n, "self_signed",
	    same && pub && X509_verify(cert, pub) == 1,
	    same ? "subject == issuer" : "subject != issuer");
	check_san(cert, id, res, max, &n);
	check_acme_ext(cert, keyauth, res, max, &n);
	put(res, max, &n, "no_duplicate_extensions", no_duplicates(cert), NULL);
	put(res, max, &n, "validity",
	    X509_cmp_current_time(X509_get0_notBefore(cert)) < 0 &&
		    X509_cmp_current_time(X509_get0_notAfter(cert)) > 0,
	    NULL);
	return n;
}
