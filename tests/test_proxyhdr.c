// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_proxyhdr.c - the PROXY protocol parser of include/proxyhdr.h, the
 * very code the verdict runs: the headers HAProxy, nginx and AWS NLB send,
 * every truncation of them, and the malformed ones that must fail open.
 */
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include "testlib.h"
#include "proxyhdr.h"

static int parse(const void *p, __u32 n, struct ph_info *ph)
{
	struct ch_buf b = { .data = p, .len = n };

	memset(ph, 0, sizeof(*ph));
	return ph_parse(&b, n, ph);
}

static int parse_str(const char *s, struct ph_info *ph)
{
	return parse(s, strlen(s), ph);
}

/* The client address as text, for comparing. */
static const char *client(const struct ph_info *ph)
{
	static char buf[INET6_ADDRSTRLEN];

	if (!inet_ntop(ph->family == PH_AF_INET6 ? AF_INET6 : AF_INET, ph->src,
		       buf, sizeof(buf)))
		return "?";
	return buf;
}

static const __u8 v2_sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
				 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };

/* A v2 header: @cmd (0x20 LOCAL, 0x21 PROXY), @fam, @addr of @alen bytes,
 * then @tlv bytes of padding TLVs; its length. */
static __u32 v2(__u8 *out, __u8 cmd, __u8 fam, const void *addr, __u32 alen,
		__u32 tlv)
{
	__u32 len = alen + tlv;

	memcpy(out, v2_sig, 12);
	out[12] = cmd;
	out[13] = fam;
	out[14] = len >> 8;
	out[15] = len & 0xff;
	memcpy(out + 16, addr, alen);
	memset(out + 16 + alen, 0, tlv); /* PP2_TYPE_NOOP-ish padding */
	return 16 + len;
}

TEST(v1_tcp4)
{
	const char *h = "PROXY TCP4 198.18.0.7 198.18.1.1 56324 443\r\n";
	struct ph_info ph;

	ASSERT_EQ(parse_str(h, &ph), PH_OK);
	ASSERT_EQ(ph.len, strlen(h));
	ASSERT_EQ(ph.version, 1);
	ASSERT_EQ(ph.family, PH_AF_INET);
	ASSERT_STREQ(client(&ph), "198.18.0.7");
	ASSERT_EQ(ph.sport, 56324);
}

TEST(v1_tcp6_forms)
{
	static const struct {
		const char *addr, *want;
	} c[] = {
		{ "fd00::1", "fd00::1" },
		{ "::1", "::1" },
		{ "::", "::" },
		{ "fd00:1:2:3:4:5:6:7", "fd00:1:2:3:4:5:6:7" },
		{ "FD00:ABCD::12:0", "fd00:abcd::12:0" },
		{ "1::", "1::" },
		{ "1:2:3::7:8", "1:2:3::7:8" },
		{ "2001:db8:0:0:1::1", "2001:db8::1:0:0:1" },
	};
	struct ph_info ph;
	char h[200];
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		snprintf(h, sizeof(h), "PROXY TCP6 %s fd00::2 1 443\r\n",
			 c[i].addr);
		ASSERT_EQ(parse_str(h, &ph), PH_OK);
		ASSERT_EQ(ph.family, PH_AF_INET6);
		ASSERT_STREQ(client(&ph), c[i].want);
		ASSERT_EQ(ph.sport, 1);
	}
}

TEST(v1_unknown)
{
	struct ph_info ph;

	ASSERT_EQ(parse_str("PROXY UNKNOWN\r\n", &ph), PH_OK);
	ASSERT_EQ(ph.len, 15);
	ASSERT_EQ(ph.family, 0);
	ASSERT_EQ(parse_str("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n", &ph),
		  PH_OK);
	ASSERT_EQ(ph.family, 0);
	ASSERT_EQ(parse_str("PROXY UNKNOWNX\r\n", &ph), PH_MALFORMED);
}

/* The longest legal v1 line is 107 bytes; one byte more is refused. */
TEST(v1_length_limit)
{
	const char *a = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
	struct ph_info ph;
	char h[256];

	snprintf(h, sizeof(h), "PROXY TCP6 %s %s 65535 65535\r\n", a, a);
	ASSERT_EQ(strlen(h), 104);
	ASSERT_EQ(parse_str(h, &ph), PH_OK);
	snprintf(h, sizeof(h), "PROXY UNKNOWN %s %s 65535 65535  \r\n", a, a);
	ASSERT_EQ(strlen(h), 109);
	ASSERT_EQ(parse_str(h, &ph), PH_MALFORMED);
}

TEST(v1_malformed)
{
	static const char *const bad[] = {
		"PROXY TCP4 198.18.0.7 198.18.1.1 56324 443\n",
		"PROXY TCP4 198.18.0.7 198.18.1.1 56324 443\rX",
		"PROXY TCP4 198.18.0.7  198.18.1.1 56324 443\r\n",
		"PROXY TCP4 198.18.0.256 198.18.1.1 1 443\r\n",
		"PROXY TCP4 198.18.0 198.18.1.1 1 443\r\n",
		"PROXY TCP4 198.18.0.1.2 198.18.1.1 1 443\r\n",
		"PROXY TCP4 198.18.0.1 198.18.1.1 65536 443\r\n",
		"PROXY TCP4 198.18.0.1 198.18.1.1 1 443 7\r\n",
		"PROXY TCP4 198.18.0.1 198.18.1.1 1\r\n",
		"PROXY TCP4 fd00::1 198.18.1.1 1 443\r\n",
		"PROXY TCP6 198.18.0.1 fd00::2 1 443\r\n",
		"PROXY TCP6 ::ffff:198.18.0.1 fd00::2 1 443\r\n",
		"PROXY TCP6 1:::2 fd00::2 1 443\r\n",
		"PROXY TCP6 1::2::3 fd00::2 1 443\r\n",
		"PROXY TCP6 :1 fd00::2 1 443\r\n",
		"PROXY TCP6 1: fd00::2 1 443\r\n",
		"PROXY TCP6 12345::1 fd00::2 1 443\r\n",
		"PROXY TCP6 1:2:3:4:5:6:7:8:9 fd00::2 1 443\r\n",
		"PROXY TCP6 1:2:3:4:5:6:7 fd00::2 1 443\r\n",
		"PROXY TCP6 1:2:3:4::5:6:7:8 fd00::2 1 443\r\n",
		"PROXY TCP5 198.18.0.1 198.18.1.1 1 443\r\n",
		"PROXY  TCP4 198.18.0.1 198.18.1.1 1 443\r\n",
		"proxy TCP4 198.18.0.1 198.18.1.1 1 443\r\n",
		"PROXY TCP4 198.18.0.1 198.18.1.1 -1 443\r\n",
		"GET / HTTP/1.1\r\n\r\n",
	};
	struct ph_info ph;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse_str(bad[i], &ph);

		if (rc != PH_MALFORMED)
			printf("  not refused: %s", bad[i]);
		ASSERT_EQ(rc, PH_MALFORMED);
	}
}

/* Every prefix of a good header is partial, never OK or malformed. */
TEST(truncated_at_every_byte)
{
	const char *h = "PROXY TCP6 fd00::1 fd00::2 56324 443\r\n";
	__u8 b[64];
	struct ph_info ph;
	__u32 i, n;

	for (i = 1; i < strlen(h); i++)
		ASSERT_EQ(parse(h, i, &ph), PH_PARTIAL);
	n = v2(b, 0x21, 0x11,
	       "\xc6\x12\x00\x07\xc6\x12\x01\x01\xdc\x04\x01\xbb", 12, 0);
	for (i = 1; i < n; i++)
		ASSERT_EQ(parse(b, i, &ph), PH_PARTIAL);
	ASSERT_EQ(parse(b, n, &ph), PH_OK);
}

TEST(v2_tcp4_and_tcp6)
{
	__u8 b[300], a6[36] = { 0xfd, 0, [15] = 7, [16] = 0xfd, [31] = 1 };
	struct ph_info ph;
	__u32 n;

	n = v2(b, 0x21, 0x11,
	       "\xc6\x12\x00\x07\xc6\x12\x01\x01\xdc\x04\x01\xbb", 12, 0);
	ASSERT_EQ(parse(b, n, &ph), PH_OK);
	ASSERT_EQ(ph.len, 28);
	ASSERT_EQ(ph.version, 2);
	ASSERT_STREQ(client(&ph), "198.18.0.7");
	ASSERT_EQ(ph.sport, 0xdc04);
	a6[32] = 0x30;
	a6[33] = 0x39;
	n = v2(b, 0x21, 0x21, a6, 36, 0);
	ASSERT_EQ(parse(b, n, &ph), PH_OK);
	ASSERT_STREQ(client(&ph), "fd00::7");
	ASSERT_EQ(ph.sport, 12345);
	/* TLVs (AWS NLB sends its VPC endpoint id in one) are skipped. */
	n = v2(b, 0x21, 0x11,
	       "\xc6\x12\x00\x07\xc6\x12\x01\x01\xdc\x04\x01\xbb", 12, 40);
	ASSERT_EQ(parse(b, n, &ph), PH_OK);
	ASSERT_EQ(ph.len, 68);
}

TEST(v2_local_and_unspec)
{
	__u8 b[64];
	struct ph_info ph;
	__u32 n;

	/* A balancer's own health check: no client. */
	n = v2(b, 0x20, 0x00, "", 0, 0);
	ASSERT_EQ(parse(b, n, &ph), PH_OK);
	ASSERT_EQ(ph.len, 16);
	ASSERT_EQ(ph.family, 0);
	n = v2(b, 0x21, 0x00, "", 0, 4);
	ASSERT_EQ(parse(b, n, &ph), PH_OK);
	ASSERT_EQ(ph.family, 0);
}

TEST(v2_malformed)
{
	const char *a4 = "\xc6\x12\x00\x07\xc6\x12\x01\x01\xdc\x04\x01\xbb";
	__u8 b[600];
	struct ph_info ph;
	__u32 n;

	n = v2(b, 0x11, 0x11, a4, 12, 0); /* version 1 in a v2 header */
	ASSERT_EQ(parse(b, n, &ph), PH_MALFORMED);
	n = v2(b, 0x22, 0x11, a4, 12, 0); /* command 2 */
	ASSERT_EQ(parse(b, n, &ph), PH_MALFORMED);
	n = v2(b, 0x21, 0x12, a4, 12, 0); /* UDP */
	ASSERT_EQ(parse(b, n, &ph), PH_MALFORMED);
	n = v2(b, 0x21, 0x31, a4, 12, 0); /* AF_UNIX */
	ASSERT_EQ(parse(b, n, &ph), PH_MALFORMED);
	n = v2(b, 0x21, 0x21, a4, 12, 0); /* TCP6 with a TCP4 block */
	ASSERT_EQ(parse(b, n, &ph), PH_MALFORMED);
	n = v2(b, 0x21, 0x11, a4, 8, 0); /* short address block */
	ASSERT_EQ(parse(b, n, &ph), PH_MALFORMED);
	/* Longer than ALPNSTEER_PROXY_MAX: refused, even when whole. */
	n = v2(b, 0x21, 0x11, a4, 12, ALPNSTEER_PROXY_MAX);
	ASSERT_EQ(parse(b, n, &ph), PH_MALFORMED);
	n = v2(b, 0x21, 0x11, a4, 12, ALPNSTEER_PROXY_MAX - 28);
	ASSERT_EQ(parse(b, n, &ph), PH_OK);
	b[11] = 0x0b; /* signature */
	ASSERT_EQ(parse(b, n, &ph), PH_MALFORMED);
}

/* What follows the header is not the parser's business: a TLS record
 * right after it leaves the length exact. */
TEST(header_then_hello)
{
	const char *h = "PROXY TCP4 198.18.0.7 198.18.1.1 56324 443\r\n";
	__u8 b[128];
	struct ph_info ph;

	memcpy(b, h, strlen(h));
	memcpy(b + strlen(h), "\x16\x03\x01\x02\x00\x01", 6);
	ASSERT_EQ(parse(b, strlen(h) + 6, &ph), PH_OK);
	ASSERT_EQ(ph.len, strlen(h));
	ASSERT_EQ(parse("\x16\x03\x01\x02\x00", 5, &ph), PH_MALFORMED);
}

TEST_MAIN()
