// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_acme_cert.c - identifiers, validation certificates and the CA rules
 * of cert_check(): each rule must pass on what alpnsteer builds, fail on a
 * certificate broken in exactly that way, and agree with a certificate made
 * independently by the openssl command line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "testlib.h"
#include "acme_cert.h"
#include "cert_check.h"

static struct cert_rule rules[CERT_RULES_MAX];
static int nrules;

static int rule_ok(const char *name)
{
	int i;

	for (i = 0; i < nrules; i++)
		if (!strcmp(rules[i].rule, name))
			return rules[i].ok;
	return -1; /* not reported */
}

static int failing(void)
{
	int i, n = 0;

	for (i = 0; i < nrules; i++)
		n += !rules[i].ok;
	return n;
}

static void judge(X509 *x, const char *ident, const char *keyauth)
{
	struct acme_ident id;
	char err[200];

	if (acme_ident_parse(ident, &id, err, sizeof(err)))
		printf("FAIL judge: %s\n", err);
	nrules = cert_check(x, &id, keyauth, rules, CERT_RULES_MAX);
}

TEST(identifiers)
{
	struct acme_ident id;
	char err[200], l64[80];

	ASSERT_EQ(acme_ident_parse("Example.COM", &id, err, sizeof(err)), 0);
	ASSERT_EQ(id.type, ACME_IDENT_DNS);
	ASSERT_STREQ(id.name, "example.com");
	ASSERT_STREQ(id.sni, "example.com");
	ASSERT_EQ(acme_ident_parse("example.com.", &id, err, sizeof(err)), 0);
	ASSERT_STREQ(id.name, "example.com");
	ASSERT_EQ(acme_ident_parse("1.2.3.4", &id, err, sizeof(err)), 0);
	ASSERT_EQ(id.type, ACME_IDENT_IP);
	ASSERT_EQ(id.ip_len, 4);
	ASSERT_STREQ(id.sni, "4.3.2.1.in-addr.arpa");
	ASSERT_EQ(acme_ident_parse("2001:DB8::1", &id, err, sizeof(err)), 0);
	ASSERT_STREQ(id.name, "2001:db8::1");
	ASSERT_STREQ(id.sni, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
			     "8.b.d.0.1.0.0.2.ip6.arpa");
	ASSERT_LT(acme_ident_parse("*.example.com", &id, err, sizeof(err)), 0);
	ASSERT_STRSTR(err, "wildcard");
	ASSERT_LT(acme_ident_parse("", &id, err, sizeof(err)), 0);
	ASSERT_LT(acme_ident_parse("a..b", &id, err, sizeof(err)), 0);
	ASSERT_LT(acme_ident_parse("-a.b", &id, err, sizeof(err)), 0);
	ASSERT_LT(acme_ident_parse("a-.b", &id, err, sizeof(err)), 0);
	ASSERT_LT(acme_ident_parse("under_score.b", &id, err, sizeof(err)), 0);
	/* all digits in the last label: an address's spelling, not a name
	 * (no top-level domain is numeric; 127.1 is 127.0.0.1) */
	ASSERT_LT(acme_ident_parse("1.2.3.4.5", &id, err, sizeof(err)), 0);
	ASSERT_LT(acme_ident_parse("127.1", &id, err, sizeof(err)), 0);
	ASSERT_LT(acme_ident_parse("1.2.3.04", &id, err, sizeof(err)), 0);
	ASSERT_EQ(acme_ident_parse("1.2.3.4.x5", &id, err, sizeof(err)), 0);
	ASSERT_EQ(id.type, ACME_IDENT_DNS);
	memset(l64, 'a', 64);
	strcpy(l64 + 64, ".com");
	ASSERT_LT(acme_ident_parse(l64, &id, err, sizeof(err)), 0);
	l64[1] = '.';
	ASSERT_EQ(acme_ident_parse(l64, &id, err, sizeof(err)), 0);
}

TEST(reverse_names_both_ways)
{
	struct acme_ident id, back;
	char err[200];
	const char *ips[] = { "198.18.0.1", "fd00:a5::1", "2001:db8::1",
			      "::1" };
	size_t i;

	for (i = 0; i < sizeof(ips) / sizeof(ips[0]); i++) {
		ASSERT_EQ(acme_ident_parse(ips[i], &id, err, sizeof(err)), 0);
		ASSERT_EQ(acme_sni_to_ident(id.sni, &back), 0);
		ASSERT_EQ(back.type, ACME_IDENT_IP);
		ASSERT_STREQ(back.name, ips[i]);
	}
	ASSERT_EQ(acme_sni_to_ident("WWW.Example.org", &back), 0);
	ASSERT_STREQ(back.name, "www.example.org");
	ASSERT_LT(acme_sni_to_ident("256.1.1.1.in-addr.arpa", &back), 0);
	ASSERT_LT(acme_sni_to_ident("x.ip6.arpa", &back), 0);
	ASSERT_LT(acme_sni_to_ident("1.2.3.in-addr.arpa", &back), 0);
}

TEST(built_certificate_passes_every_rule)
{
	const char *idents[] = { "example.com", "198.18.0.1", "fd00:a5::1" };
	struct acme_ident id;
	EVP_PKEY *k;
	X509 *x;
	char err[200];
	size_t i;

	for (i = 0; i < sizeof(idents) / sizeof(idents[0]); i++) {
		ASSERT_EQ(acme_ident_parse(idents[i], &id, err, sizeof(err)),
			  0);
		ASSERT_EQ(acme_cert_build(&id, "tok.thumb", &x, &k), 0);
		judge(x, idents[i], "tok.thumb");
		ASSERT_EQ(nrules, 9);
		ASSERT_EQ(failing(), 0);
		ASSERT_EQ(EVP_PKEY_base_id(k), EVP_PKEY_EC);
		ASSERT_EQ(X509_check_private_key(x, k), 1);
		/* and a different key authorization is caught */
		judge(x, idents[i], "tok.other");
		ASSERT_EQ(rule_ok("acme_ext_digest"), 0);
		ASSERT_EQ(failing(), 1);
		/* the wrong identifier too */
		judge(x, "other.example", "tok.thumb");
		ASSERT_EQ(rule_ok("san_matches"), 0);
		X509_free(x);
		EVP_PKEY_free(k);
	}
}

/* SHA-256 in the three spellings the CLI and the control socket accept:
 * hex, dehydrated's colon-separated hex, uacme's base64url (each made here
 * independently of the parser). */
static void hex_colons(const unsigned char *d, char *out)
{
	int i;

	for (i = 0; i < ACME_DIGEST_LEN; i++)
		out += sprintf(out, i ? ":%02X" : "%02X", d[i]);
}

static void b64url(const unsigned char *d, char *out)
{
	static const char al[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned int acc = 0, bits = 0;
	int i;

	for (i = 0; i < ACME_DIGEST_LEN; i++) {
		acc = acc << 8 | d[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			*out++ = al[(acc >> bits) & 63];
		}
	}
	*out++ = al[(acc << (6 - bits)) & 63];
	*out = '\0';
}

TEST(digest_spellings)
{
	unsigned char want[ACME_DIGEST_LEN], got[ACME_DIGEST_LEN];
	char hex[2 * ACME_DIGEST_LEN + 1], col[3 * ACME_DIGEST_LEN], b64[48];
	char bad[sizeof(col)];
	int i;

	SHA256((const unsigned char *)"tok.thumb", 9, want);
	for (i = 0; i < ACME_DIGEST_LEN; i++)
		sprintf(hex + 2 * i, "%02x", want[i]);
	hex_colons(want, col);
	b64url(want, b64);
	ASSERT_EQ(strlen(b64), 43);

	memset(got, 0, sizeof(got));
	ASSERT_EQ(acme_digest_parse(hex, got), 0);
	ASSERT_FALSE(memcmp(got, want, sizeof(want)));
	memset(got, 0, sizeof(got));
	ASSERT_EQ(acme_digest_parse(col, got), 0);
	ASSERT_FALSE(memcmp(got, want, sizeof(want)));
	memset(got, 0, sizeof(got));
	ASSERT_EQ(acme_digest_parse(b64, got), 0);
	ASSERT_FALSE(memcmp(got, want, sizeof(want)));

	/* Refused: wrong lengths, a stray character, a misplaced colon, a
	 * base64url with its spare bits set, padding, the standard alphabet. */
	ASSERT_LT(acme_digest_parse("", got), 0);
	ASSERT_LT(acme_digest_parse("abcd", got), 0);
	hex[5] = 'g';
	ASSERT_LT(acme_digest_parse(hex, got), 0);
	snprintf(bad, sizeof(bad), "%s", col);
	bad[2] = '-';
	ASSERT_LT(acme_digest_parse(bad, got), 0);
	snprintf(bad, sizeof(bad), "%s", b64);
	bad[42] = bad[42] == 'B' ? 'C' : 'B'; /* B = 1, C = 2: spare bits */
	ASSERT_LT(acme_digest_parse(bad, got), 0);
	snprintf(bad, sizeof(bad), "%s=", b64);
	ASSERT_LT(acme_digest_parse(bad, got), 0);
	snprintf(bad, sizeof(bad), "%s", b64);
	bad[0] = '+';
	ASSERT_LT(acme_digest_parse(bad, got), 0);
}

TEST(certificate_from_digest_is_the_same)
{
	unsigned char d[ACME_DIGEST_LEN];
	struct acme_ident id;
	char err[200];
	EVP_PKEY *k;
	X509 *x;

	SHA256((const unsigned char *)"tok.thumb", 9, d);
	ASSERT_EQ(acme_ident_parse("example.com", &id, err, sizeof(err)), 0);
	ASSERT_EQ(acme_cert_build_digest(&id, d, &x, &k), 0);
	judge(x, "example.com", "tok.thumb");
	ASSERT_EQ(failing(), 0);
	judge(x, "example.com", "tok.other");
	ASSERT_EQ(rule_ok("acme_ext_digest"), 0);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* A certificate like the builder's, with exactly one thing broken. */
enum breakage {
	OK,
	NOT_CRITICAL,
	SHORT_DIGEST,
	TWO_SANS,
	DUP_EXT,
	NOT_SELF_SIGNED,
	EXPIRED,
	SAN_UPPERCASE,
};

static X509 *make(enum breakage b, const char *keyauth)
{
	unsigned char der[34];
	X509 *x = X509_new();
	EVP_PKEY *k = EVP_EC_gen("P-256"), *other = EVP_EC_gen("P-256");
	X509_NAME *nm = X509_NAME_new(), *iss = X509_NAME_new();
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
	ASN1_OBJECT *oid = OBJ_txt2obj(ACME_OID_IDENTIFIER, 1);
	const char *san = b == TWO_SANS ?
				  "DNS:example.com,DNS:www.example.com" :
			  b == SAN_UPPERCASE ? "DNS:Example.com" :
					       "DNS:example.com";

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
				   (const unsigned char *)"example.com", -1, -1,
				   0);
	X509_NAME_add_entry_by_txt(iss, "CN", MBSTRING_ASC,
				   (const unsigned char *)"someone else", -1,
				   -1, 0);
	X509_set_subject_name(x, nm);
	X509_set_issuer_name(x, b == NOT_SELF_SIGNED ? iss : nm);
	X509_gmtime_adj(X509_getm_notBefore(x), b == EXPIRED ? -7200 : -60);
	X509_gmtime_adj(X509_getm_notAfter(x), b == EXPIRED ? -3600 : 3600);
	X509_set_pubkey(x, k);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	der[0] = 0x04;
	der[1] = 32;
	SHA256((const unsigned char *)keyauth, strlen(keyauth), der + 2);
	if (b == SHORT_DIGEST)
		der[1] = 31;
	ASN1_OCTET_STRING_set(v, der, b == SHORT_DIGEST ? 33 : 34);
	e = X509_EXTENSION_create_by_OBJ(NULL, oid, b != NOT_CRITICAL, v);
	X509_add_ext(x, e, -1);
	if (b == DUP_EXT)
		X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	X509_sign(x, b == NOT_SELF_SIGNED ? other : k, EVP_sha256());
	ASN1_OBJECT_free(oid);
	ASN1_OCTET_STRING_free(v);
	X509_NAME_free(nm);
	X509_NAME_free(iss);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
	return x;
}

TEST(each_rule_catches_its_breakage)
{
	static const struct {
		enum breakage b;
		const char *rule;
	} cases[] = {
		{ NOT_CRITICAL, "acme_ext_critical" },
		{ SHORT_DIGEST, "acme_ext_32_bytes" },
		{ TWO_SANS, "one_san" },
		{ DUP_EXT, "no_duplicate_extensions" },
		{ NOT_SELF_SIGNED, "self_signed" },
		{ EXPIRED, "validity" },
		{ SAN_UPPERCASE, "san_matches" },
	};
	X509 *x;
	size_t i;

	x = make(OK, "ka");
	judge(x, "example.com", "ka");
	ASSERT_EQ(failing(), 0);
	X509_free(x);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		x = make(cases[i].b, "ka");
		judge(x, "example.com", "ka");
		ASSERT_EQ(rule_ok(cases[i].rule), 0);
		/* Exactly that rule (a short digest also fails the digest;
		 * two SANs cannot match one identifier). */
		if (cases[i].b == SHORT_DIGEST || cases[i].b == TWO_SANS)
			ASSERT_EQ(failing(), 2);
		else
			ASSERT_EQ(failing(), 1);
		if (tl_case_failed)
			printf("  (breakage %d)\n", cases[i].b);
		X509_free(x);
	}
}

static X509 *openssl_cli_cert(const char *keyauth, char *dir)
{
	char cmd[1024], hex[65], path[256];
	unsigned char d[32];
	X509 *x = NULL;
	FILE *f;
	int i;

	SHA256((const unsigned char *)keyauth, strlen(keyauth), d);
	for (i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", d[i]);
	snprintf(
		cmd, sizeof(cmd),
		"openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
		"-nodes -days 2 -subj /CN=example.com "
		"-addext subjectAltName=DNS:example.com "
		"-addext 1.3.6.1.5.5.7.1.31=critical,DER:0420%s "
		"-keyout %s/k.pem -out %s/c.pem 2>/dev/null",
		hex, dir, dir);
	if (system(cmd))
		return NULL;
	snprintf(path, sizeof(path), "%s/c.pem", dir);
	f = fopen(path, "r");
	if (f) {
		x = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	return x;
}

static const ASN1_OCTET_STRING *ext_value(X509 *x, int nid_or_neg,
					  const char *oid_txt)
{
	ASN1_OBJECT *o = oid_txt ? OBJ_txt2obj(oid_txt, 1) :
				   OBJ_nid2obj(nid_or_neg);
	int i = X509_get_ext_by_OBJ(x, o, -1);

	if (oid_txt)
		ASN1_OBJECT_free(o);
	return i < 0 ? NULL : X509_EXTENSION_get_data(X509_get_ext(x, i));
}

TEST(equivalent_to_openssl_command_line)
{
	char dir[] = "/tmp/alpnsteer-cert-XXXXXX";
	const ASN1_OCTET_STRING *a, *b;
	struct acme_ident id;
	char err[200], cmd[300];
	EVP_PKEY *k;
	X509 *cli, *ours;

	ASSERT_OK_PTR(mkdtemp(dir));
	cli = openssl_cli_cert("tok.thumb", dir);
	ASSERT_OK_PTR(cli);
	if (!cli)
		return;
	judge(cli, "example.com", "tok.thumb");
	ASSERT_EQ(failing(), 0);
	ASSERT_EQ(acme_ident_parse("example.com", &id, err, sizeof(err)), 0);
	ASSERT_EQ(acme_cert_build(&id, "tok.thumb", &ours, &k), 0);
	a = ext_value(cli, 0, ACME_OID_IDENTIFIER);
	b = ext_value(ours, 0, ACME_OID_IDENTIFIER);
	ASSERT_TRUE(a && b && ASN1_OCTET_STRING_cmp(a, b) == 0);
	a = ext_value(cli, NID_subject_alt_name, NULL);
	b = ext_value(ours, NID_subject_alt_name, NULL);
	ASSERT_TRUE(a && b && ASN1_OCTET_STRING_cmp(a, b) == 0);
	X509_free(cli);
	X509_free(ours);
	EVP_PKEY_free(k);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ASSERT_EQ(system(cmd), 0);
}

/* Names of 65..253 characters are legal DNS identifiers; the CN's upper
 * bound of 64 must not stop them (the certificate carries no name in its
 * subject: a CA reads only the subjectAltName). */
TEST(long_name_and_numeric_tld)
{
	char name[254], err[200];
	struct acme_ident id;
	EVP_PKEY *k = NULL;
	X509 *x = NULL;

	/* 3 labels of 63 plus "com": 195 characters */
	memset(name, 'a', sizeof(name));
	name[63] = name[127] = name[191] = '.';
	strcpy(name + 192, "com");
	ASSERT_EQ(acme_ident_parse(name, &id, err, sizeof(err)), 0);
	ASSERT_EQ(acme_cert_build(&id, "tok.thumb", &x, &k), 0);
	if (x) {
		judge(x, name, "tok.thumb");
		ASSERT_EQ(failing(), 0);
		char cn[300] = "";

		X509_NAME_get_text_by_NID(X509_get_subject_name(x),
					  NID_commonName, cn, sizeof(cn));
		ASSERT_LE(strlen(cn), 64);
	}
	X509_free(x);
	EVP_PKEY_free(k);
	/* An address with a trailing dot is not a DNS name. */
	ASSERT_NE(acme_ident_parse("1.2.3.4.", &id, err, sizeof(err)), 0);
	ASSERT_STRSTR(err, "not a DNS name");
	ASSERT_EQ(acme_ident_parse("1.2.3.4", &id, err, sizeof(err)), 0);
	ASSERT_EQ(id.type, ACME_IDENT_IP);
	ASSERT_EQ(acme_ident_parse("123.example", &id, err, sizeof(err)), 0);
}

TEST_MAIN()
