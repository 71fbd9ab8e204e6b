// SPDX-License-Identifier: GPL-2.0-only
/*
 * acme_cert.c - TLS-ALPN-01 validation certificates (RFC 8737, RFC 8738).
 *
 * Built to what a CA checks (Boulder va/tlsalpn.go): self-signed, subject
 * equal to issuer; exactly one subjectAltName, the lowercase dNSName or one
 * iPAddress; the critical id-pe-acmeIdentifier extension holding the DER
 * OCTET STRING of SHA-256(key authorization); no extension twice.  The
 * validity starts a day in the past so a CA with a skewed clock still
 * accepts it.  The subject is a short fixed CN, not the identifier: a CA
 * reads only the subjectAltName, and a CN holds at most 64 characters
 * where a DNS name may have 253.
 */
#define ACME_CERT_CN "alpnsteer tls-alpn-01"
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "acme_cert.h"

static int dns_name_ok(const char *s, char *err, size_t errlen)
{
	size_t n = strlen(s), label = 0, i;

	if (n == 0 || n > 253) {
		snprintf(err, errlen,
			 "'%s' is not a DNS name (1 to 253 characters)", s);
		return -EINVAL;
	}
	if (s[0] == '*') {
		snprintf(err, errlen,
			 "'%s': tls-alpn-01 cannot validate a wildcard", s);
		return -EINVAL;
	}
	for (i = 0; i <= n; i++) {
		char c = s[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || s[i - 1] == '-') {
				snprintf(err, errlen,
					 "'%s' is not a DNS name (bad label)",
					 s);
				return -EINVAL;
			}
			label = 0;
			continue;
		}
		if (!(isalnum((unsigned char)c) || (c == '-' && label > 0))) {
			snprintf(err, errlen,
				 "'%s' is not a DNS name (character '%c')", s,
				 c);
			return -EINVAL;
		}
		label++;
	}
	return 0;
}

static void reverse_name(struct acme_ident *id)
{
	static const char hex[] = "0123456789abcdef";
	size_t off = 0;
	int i;

	if (id->ip_len == 4) {
		snprintf(id->sni, sizeof(id->sni), "%u.%u.%u.%u.in-addr.arpa",
			 id->ip[3], id->ip[2], id->ip[1], id->ip[0]);
		return;
	}
	for (i = 15; i >= 0; i--) {
		id->sni[off++] = hex[id->ip[i] & 0xf];
		id->sni[off++] = '.';
		id->sni[off++] = hex[id->ip[i] >> 4];
		id->sni[off++] = '.';
	}
	snprintf(id->sni + off, sizeof(id->sni) - off, "ip6.arpa");
}

int acme_ident_parse(const char *ident, struct acme_ident *out, char *err,
		     size_t errlen)
{
	char buf[ALPNSTEER_NAME_MAX], *last;
	size_t n, i;

	memset(out, 0, sizeof(*out));
	if (!ident || (n = strlen(ident)) == 0 || n >= sizeof(buf)) {
		snprintf(err, errlen, "the identifier is empty or too long");
		return -EINVAL;
	}
	if (inet_pton(AF_INET, ident, out->ip) == 1 ||
	    inet_pton(AF_INET6, ident, out->ip) == 1) {
		out->type = ACME_IDENT_IP;
		out->ip_len = strchr(ident, ':') ? 16 : 4;
		inet_ntop(out->ip_len == 4 ? AF_INET : AF_INET6, out->ip,
			  out->name, sizeof(out->name));
		reverse_name(out);
		return 0;
	}
	/* Names are case-insensitive; a CA sends and checks lowercase.  A
	 * trailing dot (absolute form) is dropped. */
	for (i = 0; i < n; i++)
		buf[i] = tolower((unsigned char)ident[i]);
	buf[n] = '\0';
	if (n > 1 && buf[n - 1] == '.')
		buf[n - 1] = '\0';
	if (dns_name_ok(buf, err, errlen))
		return -EINVAL;
	/* "1.2.3.4." is an address with a dot, not a name: it would get a
	 * dNSName certificate that no CA asks for. */
	if (inet_pton(AF_INET, buf, out->ip) == 1) {
		snprintf(
			err, errlen,
			"'%s' is not a DNS name (an IP address is written without a trailing dot)",
			ident);
		memset(out->ip, 0, sizeof(out->ip));
		return -EINVAL;
	}
	/* No top-level domain is all digits (RFC 3696 section 2), and a
	 * resolver reads such a name as an address: "127.1" is 127.0.0.1,
	 * "1.2.3.04" an octal spelling of 1.2.3.4. */
	last = strrchr(buf, '.');
	last = last ? last + 1 : buf;
	if (last[strspn(last, "0123456789")] == '\0') {
		snprintf(
			err, errlen,
			"'%s' is not a DNS name (its last label is all digits, an address's spelling)",
			ident);
		return -EINVAL;
	}
	out->type = ACME_IDENT_DNS;
	snprintf(out->name, sizeof(out->name), "%s", buf);
	snprintf(out->sni, sizeof(out->sni), "%s", buf);
	return 0;
}

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int acme_sni_to_ident(const char *sni, struct acme_ident *out)
{
	static const char v4[] = ".in-addr.arpa", v6[] = ".ip6.arpa";
	char err[128], lower[ALPNSTEER_NAME_MAX], text[INET6_ADDRSTRLEN];
	unsigned int a, b, c, d;
	size_t n = strlen(sni), i;
	char tail;

	if (n == 0 || n >= sizeof(lower))
		return -EINVAL;
	for (i = 0; i <= n; i++)
		lower[i] = tolower((unsigned char)sni[i]);
	/* A reverse name must be a whole address: anything else under
	 * in-addr.arpa or ip6.arpa is refused rather than taken as a name. */
	if (n >= sizeof(v4) - 1 && !strcmp(lower + n - (sizeof(v4) - 1), v4)) {
		if (sscanf(lower, "%u.%u.%u.%u.in-addr.arp%c", &d, &c, &b, &a,
			   &tail) != 5 ||
		    a > 255 || b > 255 || c > 255 || d > 255)
			return -EINVAL;
		snprintf(text, sizeof(text), "%u.%u.%u.%u", a, b, c, d);
		if (acme_ident_parse(text, out, err, sizeof(err)) ||
		    strcmp(out->sni, lower))
			return -EINVAL;
		return 0;
	}
	if (n >= sizeof(v6) - 1 && !strcmp(lower + n - (sizeof(v6) - 1), v6)) {
		unsigned char ip[16];

		/* 32 nibbles, each followed by a dot, then "ip6.arpa". */
		if (n != 64 + sizeof(v6) - 2)
			return -EINVAL;
		for (i = 0; i < 32; i++) {
			int v = nibble(lower[2 * i]);

			if (v < 0 || lower[2 * i + 1] != '.')
				return -EINVAL;
			if (i % 2 == 0)
				ip[15 - i / 2] = v;
			else
				ip[15 - i / 2] |= v << 4;
		}
		inet_ntop(AF_INET6, ip, text, sizeof(text));
		return acme_ident_parse(text, out, err, sizeof(err));
	}
	return acme_ident_parse(lower, out, err, sizeof(err));
}

static EVP_PKEY *p256_key(void)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
	EVP_PKEY *key = NULL;

	if (pc && EVP_PKEY_keygen_init(pc) == 1 &&
	    EVP_PKEY_CTX_set_ec_paramgen_curve_nid(pc, NID_X9_62_prime256v1) ==
		    1)
		EVP_PKEY_keygen(pc, &key);
	EVP_PKEY_CTX_free(pc);
	return key;
}

static int add_san(X509 *x, const struct acme_ident *id)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *g = GENERAL_NAME_new();
	int ok = 0;

	if (!gens || !g)
		goto out;
	if (id->type == ACME_IDENT_IP) {
		ASN1_OCTET_STRING *ip = ASN1_OCTET_STRING_new();

		if (!ip || !ASN1_OCTET_STRING_set(ip, id->ip, id->ip_len)) {
			ASN1_OCTET_STRING_free(ip);
			goto out;
		}
		GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
	} else {
		ASN1_IA5STRING *s = ASN1_IA5STRING_new();

		if (!s || !ASN1_STRING_set(s, id->name, strlen(id->name))) {
			ASN1_IA5STRING_free(s);
			goto out;
		}
		GENERAL_NAME_set0_value(g, GEN_DNS, s);
	}
	if (!sk_GENERAL_NAME_push(gens, g))
		goto out;
	g = NULL;
	ok = X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0) == 1;
out:
	GENERAL_NAME_free(g);
	sk_GENERAL_NAME_pop_free(gens, GENERAL_NAME_free);
	return ok;
}

static int add_acme_ext(X509 *x, const unsigned char *digest)
{
	unsigned char der[2 + ACME_DIGEST_LEN];
	ASN1_OCTET_STRING *val = ASN1_OCTET_STRING_new();
	ASN1_OBJECT *oid = OBJ_txt2obj(ACME_OID_IDENTIFIER, 1);
	X509_EXTENSION *ext = NULL;
	int ok = 0;

	/* extnValue is the DER encoding of OCTET STRING (SIZE (32)). */
	der[0] = V_ASN1_OCTET_STRING;
	der[1] = ACME_DIGEST_LEN;
	memcpy(der + 2, digest, ACME_DIGEST_LEN);
	if (!val || !oid || !ASN1_OCTET_STRING_set(val, der, sizeof(der)))
		goto out;
	ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 1 /* critical */, val);
	ok = ext && X509_add_ext(x, ext, -1) == 1;
out:
	X509_EXTENSION_free(ext);
	ASN1_OBJECT_free(oid);
	ASN1_OCTET_STRING_free(val);
	return ok;
}

int acme_cert_build(const struct acme_ident *id, const char *keyauth,
		    X509 **cert, EVP_PKEY **key)
{
	unsigned char digest[ACME_DIGEST_LEN];

	SHA256((const unsigned char *)keyauth, strlen(keyauth), digest);
	return acme_cert_build_digest(id, digest, cert, key);
}

static int b64url_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '-' ? 62 : c == '_' ? 63 : -1;
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The two spellings ACME clients hand their hooks: dehydrated passes hex
 * with colons between bytes, uacme unpadded base64url (RFC 8555 §8.1). */
int acme_digest_parse(const char *s, unsigned char *out)
{
	size_t n = strlen(s), i, o = 0;
	unsigned int acc = 0, bits = 0;
	int v, w;

	if (n == 2 * ACME_DIGEST_LEN || n == 3 * ACME_DIGEST_LEN - 1) {
		bool colons = n != 2 * ACME_DIGEST_LEN;

		for (i = 0; o < ACME_DIGEST_LEN; o++) {
			v = hex_val(s[i]);
			w = hex_val(s[i + 1]);
			if (v < 0 || w < 0)
				return -EINVAL;
			out[o] = v << 4 | w;
			i += 2;
			if (colons && o + 1 < ACME_DIGEST_LEN && s[i++] != ':')
				return -EINVAL;
		}
		return 0;
	}
	/* 32 bytes are 43 base64url characters; the last holds 2 spare
	 * bits, which must be zero for a canonical encoding. */
	if (n != 43)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		v = b64url_val(s[i]);
		if (v < 0)
			return -EINVAL;
		acc = acc << 6 | v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = acc >> bits;
			acc &= (1u << bits) - 1;
		}
	}
	return acc ? -EINVAL : 0;
}

int acme_cert_build_digest(const struct acme_ident *id,
			   const unsigned char *digest, X509 **cert,
			   EVP_PKEY **key)
{
	unsigned char serial[16];
	X509 *x = X509_new();
	EVP_PKEY *k = p256_key();
	X509_NAME *nm = X509_NAME_new();
	BIGNUM *bn = NULL;
	int ok = 0;

	if (!x || !k || !nm || RAND_bytes(serial, sizeof(serial)) != 1)
		goto out;
	serial[0] &= 0x7f; /* positive, as RFC 5280 wants */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
	    !X509_set_version(x, 2) ||
	    !X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
					(const unsigned char *)ACME_CERT_CN, -1,
					-1, 0) ||
	    !X509_set_subject_name(x, nm) || !X509_set_issuer_name(x, nm) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -24 * 3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 7 * 24 * 3600) ||
	    !X509_set_pubkey(x, k) || !add_san(x, id) ||
	    !add_acme_ext(x, digest) || !X509_sign(x, k, EVP_sha256()))
		goto out;
	ok = 1;
out:
	BN_free(bn);
	X509_NAME_free(nm);
	if (!ok) {
		X509_free(x);
		EVP_PKEY_free(k);
		return -ENOMEM;
	}
	*cert = x;
	*key = k;
	return 0;
}
