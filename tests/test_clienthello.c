// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_clienthello.c - the ClientHello parser of include/clienthello.h, the
 * very code the stream verdict runs, on hellos captured from real clients
 * (tests/data/gen_hellos.sh), on malformed variants of them, and on
 * hellos built here to probe each limit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "clienthello.h"

struct blob {
	unsigned char d[8192];
	__u32 len;
};

static int load(const char *name, struct blob *b)
{
	const char *dir = getenv("TESTDATA") ? getenv("TESTDATA") :
					       "tests/data";
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/hello/%s.bin", dir, name);
	f = fopen(path, "rb");
	if (!f) {
		printf("FAIL cannot open %s\n", path);
		return -1;
	}
	b->len = fread(b->d, 1, sizeof(b->d), f);
	fclose(f);
	return 0;
}

static int parse(const unsigned char *p, __u32 n, struct ch_info *info)
{
	struct ch_buf b = { .data = p, .len = n };

	memset(info, 0, sizeof(*info));
	return ch_parse(&b, n, info);
}

/* As the verdict calls it: the walk stops at an ALPN without acme-tls/1. */
static int parse_verdict(const unsigned char *p, __u32 n, struct ch_info *info)
{
	struct ch_buf b = { .data = p, .len = n };

	memset(info, 0, sizeof(*info));
	info->alpn_decides = 1;
	return ch_parse(&b, n, info);
}

struct golden {
	const char *file;
	int status, acme;
	const char *sni;
	__u32 alpn_count; /* exact, or 0xffff: at least one */
};

static const struct golden goldens[] = {
	{ "acme_openssl", CH_OK, 1, "example.com", 1 },
	{ "noalpn_openssl", CH_OK, 0, "example.com", 0 },
	{ "h2_openssl", CH_OK, 0, "example.com", 2 },
	{ "acme_tls12_openssl", CH_OK, 1, "example.com", 1 },
	{ "curl", CH_OK, 0, "localhost", 0xffff },
	{ "acme_python_upper", CH_OK, 1, "mixed.example.com", 1 },
	{ "acme_36th", CH_OK, 1, "example.com", 40 },
	{ "acme_ip_reverse", CH_OK, 1, "4.3.2.1.in-addr.arpa", 1 },
	{ "acme_padded_2k", CH_OK, 1, "example.com", 1 },
	{ "http_get", CH_NOT_TLS, 0, "", 0 },
	{ "garbage", CH_NOT_TLS, 0, "", 0 },
	{ "sslv2", CH_NOT_TLS, 0, "", 0 },
};

TEST(golden_hellos)
{
	struct ch_info info;
	struct blob b;
	size_t i;

	for (i = 0; i < sizeof(goldens) / sizeof(goldens[0]); i++) {
		const struct golden *g = &goldens[i];

		if (load(g->file, &b)) {
			tl_case_failed = 1;
			continue;
		}
		ASSERT_EQ(parse(b.d, b.len, &info), g->status);
		ASSERT_EQ(info.acme, g->acme);
		ASSERT_STREQ((const char *)info.sni, g->sni);
		ASSERT_EQ(info.sni_len, strlen(g->sni));
		if (g->alpn_count == 0xffff)
			ASSERT_GE(info.alpn_count, 1);
		else
			ASSERT_EQ(info.alpn_count, g->alpn_count);
		if (tl_case_failed) {
			printf("  (in %s)\n", g->file);
			return;
		}
	}
}

/* The padded hello really is past 2 KiB, as the selftests need. */
TEST(padded_is_big)
{
	struct blob b;

	ASSERT_OK(load("acme_padded_2k", &b));
	ASSERT_GT(b.len, 2048);
}

static const char *const tls_goldens[] = {
	"acme_openssl",	  "noalpn_openssl",
	"h2_openssl",	  "acme_tls12_openssl",
	"curl",		  "acme_python_upper",
	"acme_36th",	  "acme_ip_reverse",
	"acme_padded_2k",
};

#define NR_TLS_GOLDENS (sizeof(tls_goldens) / sizeof(tls_goldens[0]))

/* A hello cut anywhere is never a ClientHello, let alone an acme one. */
/*
 * A hello cut anywhere is never whole (CH_OK); it is CH_PARTIAL (or
 * malformed) and says acme-tls/1 exactly when its whole ALPN extension lies
 * within the cut and the whole hello offers acme-tls/1: a decision taken on
 * a prefix is the one the whole hello gives.
 */
TEST(truncated_at_every_byte)
{
	struct ch_info info, whole;
	struct blob b;
	size_t i;
	__u32 n;
	int st;

	for (i = 0; i < NR_TLS_GOLDENS; i++) {
		ASSERT_OK(load(tls_goldens[i], &b));
		ASSERT_EQ(parse(b.d, b.len, &whole), CH_OK);
		for (n = 0; n < b.len; n++) {
			int want_acme;

			st = parse(b.d, n, &info);
			want_acme = whole.acme && whole.alpn_off &&
				    whole.alpn_end <= n;
			if (st == CH_OK || (int)info.acme != want_acme ||
			    (info.acme && st != CH_PARTIAL)) {
				printf("FAIL %s cut at %u: status %d acme %u (want acme %d)\n",
				       tls_goldens[i], n, st, info.acme,
				       want_acme);
				tl_case_failed = 1;
				break;
			}
		}
	}
}

/*
 * Where each length field of a hello is, found by a walk written here,
 * independently of the parser: offset and width in bytes.
 */
struct field {
	__u32 off, width;
	const char *what;
	int outer; /* one too many can never line up again */
};

static int fields_of(const unsigned char *h, __u32 len, struct field *f,
		     int max)
{
	__u32 off, ext_end;
	int n = 0;

#define ADD(o, w, s, x)                                                \
	do {                                                           \
		if (n < max)                                           \
			f[n++] = (struct field){ (o), (w), (s), (x) }; \
	} while (0)

	ADD(3, 2, "record length", 1);
	ADD(6, 3, "handshake length", 1);
	off = 5 + 4 + 2 + 32;
	ADD(off, 1, "session id length", 0);
	off += 1 + h[off];
	ADD(off, 2, "cipher suites length", 1);
	off += 2 + (h[off] << 8 | h[off + 1]);
	ADD(off, 1, "compression length", 0);
	off += 1 + h[off];
	ADD(off, 2, "extensions length", 1);
	ext_end = off + 2 + (h[off] << 8 | h[off + 1]);
	off += 2;
	while (off + 4 <= ext_end && off + 4 <= len) {
		__u32 type = h[off] << 8 | h[off + 1];
		__u32 elen = h[off + 2] << 8 | h[off + 3];
		__u32 p = off + 4, end = off + 4 + elen;

		ADD(off + 2, 2, "extension length", 0);
		if (type == 16) {
			ADD(p, 2, "ALPN list length", 1);
			for (p += 2; p < end; p += 1 + h[p])
				ADD(p, 1, "ALPN entry length", 0);
		} else if (type == 0) {
			ADD(p, 2, "server_name list length", 1);
			ADD(p + 3, 2, "host_name length", 1);
		}
		off = end;
	}
#undef ADD
	return n;
}

static void set_field(unsigned char *h, const struct field *f, __u32 v)
{
	__u32 i;

	for (i = 0; i < f->width; i++)
		h[f->off + i] = v >> (8 * (f->width - 1 - i));
}

static __u32 get_field(const unsigned char *h, const struct field *f)
{
	__u32 i, v = 0;

	for (i = 0; i < f->width; i++)
		v = v << 8 | h[f->off + i];
	return v;
}

TEST(every_length_field_too_large)
{
	static const char *const files[] = { "acme_openssl", "acme_36th",
					     "acme_padded_2k", "curl" };
	struct field f[128];
	struct ch_info info;
	struct blob b, m;
	size_t i;
	int n, k, st, checked = 0;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		ASSERT_OK(load(files[i], &b));
		n = fields_of(b.d, b.len, f, 128);
		ASSERT_GE(n, 10);
		for (k = 0; k < n; k++) {
			__u32 max = (1u << (8 * f[k].width)) - 1;

			m = b;
			set_field(m.d, &f[k], max);
			st = parse(m.d, m.len, &info);
			if (st != CH_MALFORMED || info.acme) {
				printf("FAIL %s: %s at %u set to %u: status %d acme %u\n",
				       files[i], f[k].what, f[k].off, max, st,
				       info.acme);
				tl_case_failed = 1;
			}
			/* One too many, where that cannot line up again (an
			 * inner length may shift onto a valid layout). */
			if (f[k].outer && get_field(b.d, &f[k]) < max) {
				m = b;
				set_field(m.d, &f[k],
					  get_field(b.d, &f[k]) + 1);
				st = parse(m.d, m.len, &info);
				if (st != CH_MALFORMED) {
					printf("FAIL %s: %s + 1: status %d\n",
					       files[i], f[k].what, st);
					tl_case_failed = 1;
				}
			}
			checked++;
		}
	}
	ASSERT_GT(checked, 60);
}

/* A hello built here: extensions appended with add_ext(). */
struct hello {
	unsigned char d[16384];
	__u32 len, ext_start;
};

static void hello_begin(struct hello *h)
{
	unsigned char *p = h->d;

	memset(h, 0, sizeof(*h));
	p[0] = 22;
	p[1] = 3;
	p[2] = 1;
	p[5] = 1; /* ClientHello */
	p[9] = 3; /* legacy_version 3.3 */
	p[10] = 3;
	h->len = 5 + 4 + 2 + 32;
	p[h->len++] = 0; /* session id */
	p[h->len++] = 0; /* cipher suites: one */
	p[h->len++] = 2;
	p[h->len++] = 0x13;
	p[h->len++] = 0x01;
	p[h->len++] = 1; /* compression: null */
	p[h->len++] = 0;
	h->ext_start = h->len;
	h->len += 2;
}

static void add_ext(struct hello *h, __u32 type, const void *data, __u32 n)
{
	h->d[h->len++] = type >> 8;
	h->d[h->len++] = type;
	h->d[h->len++] = n >> 8;
	h->d[h->len++] = n;
	memcpy(h->d + h->len, data, n);
	h->len += n;
}

static void add_alpn(struct hello *h, const char *const *protos, int nr)
{
	unsigned char buf[4096];
	__u32 n = 2;
	int i;

	for (i = 0; i < nr; i++) {
		buf[n++] = strlen(protos[i]);
		memcpy(buf + n, protos[i], strlen(protos[i]));
		n += strlen(protos[i]);
	}
	buf[0] = (n - 2) >> 8;
	buf[1] = n - 2;
	add_ext(h, 16, buf, n);
}

static void hello_end(struct hello *h)
{
	__u32 ext = h->len - h->ext_start - 2, hs = h->len - 9,
	      rec = h->len - 5;

	h->d[h->ext_start] = ext >> 8;
	h->d[h->ext_start + 1] = ext;
	h->d[6] = hs >> 16;
	h->d[7] = hs >> 8;
	h->d[8] = hs;
	h->d[3] = rec >> 8;
	h->d[4] = rec;
}

static int acme_with(const char *const *protos, int nr, int fillers,
		     int *status)
{
	struct ch_info info;
	struct hello h;
	int i;

	hello_begin(&h);
	for (i = 0; i < fillers; i++)
		add_ext(&h, 0xff00 + i, "", 0);
	add_alpn(&h, protos, nr);
	hello_end(&h);
	*status = parse(h.d, h.len, &info);
	return info.acme;
}

TEST(built_hello_baseline)
{
	const char *p[] = { "acme-tls/1" };
	int st;

	ASSERT_EQ(acme_with(p, 1, 0, &st), 1);
	ASSERT_EQ(st, CH_OK);
}

TEST(extension_limit)
{
	const char *p[] = { "acme-tls/1" };
	int st;

	/* ALPN as the 64th extension is seen, as the 65th it is not, and
	 * the connection then simply stays with the webserver. */
	ASSERT_EQ(acme_with(p, 1, CH_MAX_EXTENSIONS - 1, &st), 1);
	ASSERT_EQ(acme_with(p, 1, CH_MAX_EXTENSIONS, &st), 0);
	ASSERT_EQ(st, CH_OK);
}

TEST(alpn_entry_limit)
{
	const char *p[CH_MAX_ALPN + 1];
	char names[CH_MAX_ALPN + 1][8];
	int i, st;

	for (i = 0; i <= CH_MAX_ALPN; i++) {
		snprintf(names[i], sizeof(names[i]), "p%02d", i);
		p[i] = names[i];
	}
	p[CH_MAX_ALPN - 1] = "acme-tls/1";
	ASSERT_EQ(acme_with(p, CH_MAX_ALPN, 0, &st), 1);
	p[CH_MAX_ALPN - 1] = names[CH_MAX_ALPN - 1];
	p[CH_MAX_ALPN] = "acme-tls/1";
	ASSERT_EQ(acme_with(p, CH_MAX_ALPN + 1, 0, &st), 0);
}

TEST(alpn_near_misses)
{
	const char *a[] = { "acme-tls/2" }, *b[] = { "acme-tls/10" },
		   *c[] = { "ACME-TLS/1" }, *d[] = { "acme-tls/" };
	int st;

	ASSERT_EQ(acme_with(a, 1, 0, &st), 0);
	ASSERT_EQ(acme_with(b, 1, 0, &st), 0);
	ASSERT_EQ(acme_with(c, 1, 0, &st), 0);
	ASSERT_EQ(acme_with(d, 1, 0, &st), 0);
	ASSERT_EQ(st, CH_OK);
}

/* The same extension twice is malformed (RFC 8446 section 4.2), however
 * the two copies differ: the parser and the TLS library could otherwise
 * disagree on what was offered. */
TEST(duplicate_extensions)
{
	const char *no[] = { "h2" }, *acme[] = { "acme-tls/1" };
	struct ch_info info;
	struct hello h;

	/* two ALPN, the second offering acme-tls/1 */
	hello_begin(&h);
	add_alpn(&h, no, 1);
	add_alpn(&h, acme, 1);
	hello_end(&h);
	ASSERT_EQ(parse(h.d, h.len, &info), CH_MALFORMED);
	ASSERT_EQ(info.acme, 0);
	/* two ALPN, the first offering it */
	hello_begin(&h);
	add_alpn(&h, acme, 1);
	add_alpn(&h, no, 1);
	hello_end(&h);
	ASSERT_EQ(parse(h.d, h.len, &info), CH_MALFORMED);
	ASSERT_EQ(info.acme, 0);
	/* a repeated high type (renegotiation_info) between others */
	hello_begin(&h);
	add_ext(&h, 0xff01, "\0", 1);
	add_ext(&h, 0x0a0a, "", 0);
	add_alpn(&h, acme, 1);
	add_ext(&h, 0xff01, "\0", 1);
	hello_end(&h);
	ASSERT_EQ(parse(h.d, h.len, &info), CH_MALFORMED);
	ASSERT_EQ(info.acme, 0);
	/* distinct types, low and high, with the same low byte: fine */
	hello_begin(&h);
	add_ext(&h, 0x0001, "", 0);
	add_ext(&h, 0x0101, "", 0);
	add_ext(&h, 0xff01, "\0", 1);
	add_alpn(&h, acme, 1);
	hello_end(&h);
	ASSERT_EQ(parse(h.d, h.len, &info), CH_OK);
	ASSERT_EQ(info.acme, 1);
}

TEST(alpn_zero_length_entry)
{
	const char *p[] = { "h2", "", "acme-tls/1" };
	int st;

	ASSERT_EQ(acme_with(p, 3, 0, &st), 0);
	ASSERT_EQ(st, CH_MALFORMED);
}

TEST(sni_rules)
{
	unsigned char sni[300];
	struct ch_info info;
	struct hello h;
	__u32 n = 255;

	/* The longest host_name that fits, lowercased. */
	hello_begin(&h);
	sni[0] = (n + 3) >> 8;
	sni[1] = n + 3;
	sni[2] = 0;
	sni[3] = n >> 8;
	sni[4] = n;
	memset(sni + 5, 'A', n);
	add_ext(&h, 0, sni, n + 5);
	hello_end(&h);
	ASSERT_EQ(parse(h.d, h.len, &info), CH_OK);
	ASSERT_EQ(info.sni_len, 255);
	ASSERT_EQ(info.sni[0], 'a');
	ASSERT_EQ(info.sni[254], 'a');
	ASSERT_EQ(info.sni[255], 0);

	/* 256 bytes cannot be a DNS name: ignored, not refused. */
	n = 256;
	hello_begin(&h);
	sni[0] = (n + 3) >> 8;
	sni[1] = n + 3;
	sni[3] = n >> 8;
	sni[4] = n & 0xff;
	memset(sni + 5, 'b', n);
	add_ext(&h, 0, sni, n + 5);
	hello_end(&h);
	ASSERT_EQ(parse(h.d, h.len, &info), CH_OK);
	ASSERT_EQ(info.sni_len, 0);
}

/*
 * alpn_decides (the verdict's parse) takes the same decision as the whole
 * walk on every golden hello and on every prefix of one: acme-tls/1 or
 * not, and for acme-tls/1 the same status and SNI.  Only a hello without
 * it may end sooner.
 */
TEST(alpn_decides_same_decision)
{
	struct ch_info a, b;
	struct blob h;
	size_t i;
	__u32 n;
	int sa, sb;

	for (i = 0; i < NR_TLS_GOLDENS; i++) {
		ASSERT_OK(load(tls_goldens[i], &h));
		for (n = 0; n <= h.len; n++) {
			sa = parse(h.d, n, &a);
			sb = parse_verdict(h.d, n, &b);
			if (a.acme != b.acme ||
			    (a.acme && (sa != sb || a.sni_len != b.sni_len ||
					memcmp(a.sni, b.sni, sizeof(a.sni)))) ||
			    (!a.acme && !b.acme && sb != sa && sb != CH_OK)) {
				printf("FAIL %s cut at %u: status %d/%d acme %u/%u\n",
				       tls_goldens[i], n, sa, sb, a.acme,
				       b.acme);
				tl_case_failed = 1;
				break;
			}
		}
	}
}

/* What alpn_decides leaves unread, and what it still reads. */
TEST(alpn_decides_stops_early)
{
	const char *no[] = { "h2" }, *acme[] = { "acme-tls/1" };
	static const unsigned char sni[] = { 0,	  14,  0,   0,	 11,  'e',
					     'x', 'a', 'm', 'p', 'l', 'e',
					     '.', 'c', 'o', 'm' };
	struct ch_info info;
	struct hello h;
	int i;

	/* h2, then a second ALPN offering acme-tls/1: the whole walk
	 * refuses the duplicate, the verdict's stops at the first ALPN;
	 * either way the webserver gets it. */
	hello_begin(&h);
	add_alpn(&h, no, 1);
	add_alpn(&h, acme, 1);
	hello_end(&h);
	ASSERT_EQ(parse_verdict(h.d, h.len, &info), CH_OK);
	ASSERT_EQ(info.acme, 0);
	ASSERT_EQ(info.ext_count, 1);
	/* acme-tls/1 first: the walk goes on, finds the SNI after it, and
	 * still refuses a duplicate */
	hello_begin(&h);
	add_alpn(&h, acme, 1);
	add_ext(&h, 0, sni, sizeof(sni));
	hello_end(&h);
	ASSERT_EQ(parse_verdict(h.d, h.len, &info), CH_OK);
	ASSERT_EQ(info.acme, 1);
	ASSERT_STREQ((const char *)info.sni, "example.com");
	hello_begin(&h);
	add_alpn(&h, acme, 1);
	add_alpn(&h, no, 1);
	hello_end(&h);
	ASSERT_EQ(parse_verdict(h.d, h.len, &info), CH_MALFORMED);
	ASSERT_EQ(info.acme, 0);
	/* the extension limit counts both walks: 9 fillers, acme-tls/1,
	 * 54 more, and the SNI as the 65th is not read, as in one walk */
	hello_begin(&h);
	for (i = 0; i < 9; i++)
		add_ext(&h, 0xff00 + i, "", 0);
	add_alpn(&h, acme, 1);
	for (i = 9; i < CH_MAX_EXTENSIONS - 1; i++)
		add_ext(&h, 0xff00 + i, "", 0);
	add_ext(&h, 0, sni, sizeof(sni));
	hello_end(&h);
	ASSERT_EQ(parse(h.d, h.len, &info), CH_OK);
	ASSERT_EQ(info.sni_len, 0);
	ASSERT_EQ(parse_verdict(h.d, h.len, &info), CH_OK);
	ASSERT_EQ(info.acme, 1);
	ASSERT_EQ(info.sni_len, 0);
}

TEST(not_a_client_hello)
{
	struct ch_info info;
	struct blob b;

	ASSERT_OK(load("acme_openssl", &b));
	b.d[5] = 2; /* ServerHello */
	ASSERT_EQ(parse(b.d, b.len, &info), CH_MALFORMED);
	ASSERT_OK(load("acme_openssl", &b));
	b.d[0] = 23; /* application data */
	ASSERT_EQ(parse(b.d, b.len, &info), CH_NOT_TLS);
	ASSERT_OK(load("acme_openssl", &b));
	b.d[1] = 2; /* SSL 2 major version */
	ASSERT_EQ(parse(b.d, b.len, &info), CH_NOT_TLS);
}

TEST_MAIN()
