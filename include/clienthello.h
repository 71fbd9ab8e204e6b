/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * clienthello.h - the one ClientHello parser of alpnsteer.
 *
 * The same code runs in the stream verdict (reading the skb with
 * bpf_skb_load_bytes) and on the host (reading a buffer) for the unit tests
 * and the fuzzer, so what the tests prove is what the kernel runs.
 *
 * It answers two questions about the first TLS record of a connection:
 * does ALPN offer "acme-tls/1", and what is the SNI host_name.  Anything it
 * does not fully understand is reported as CH_MALFORMED or CH_NOT_TLS; the
 * caller then leaves the connection with the webserver (fail open), which
 * will judge the bytes itself.
 *
 * Every loop is bounded: at most CH_MAX_EXTENSIONS extensions and
 * CH_MAX_ALPN protocol names are examined (a hello with more is simply not
 * steered).  Each loop body is a step function run by CH_LOOP: bpf_loop in
 * the kernel, so the verifier checks it once rather than once per
 * iteration, and a plain loop on the host.
 */
#ifndef ALPNSTEER_CLIENTHELLO_H
#define ALPNSTEER_CLIENTHELLO_H

#include "alpnsteer_abi.h"

#define CH_MAX_EXTENSIONS 64
#define CH_MAX_ALPN 64

#define TLS_CT_HANDSHAKE 22
#define TLS_HS_CLIENT_HELLO 1
#define TLS_EXT_SERVER_NAME 0
#define TLS_EXT_ALPN 16
#define TLS_RECORD_HDR 5
#define ACME_TLS_1 "acme-tls/1"
#define ACME_TLS_1_LEN 10

enum ch_status {
	CH_OK = 0, /* a well-formed ClientHello (up to the extensions read) */
	CH_NOT_TLS = 1, /* not a TLS handshake record at all */
	CH_MALFORMED = 2, /* a TLS record whose ClientHello does not parse */
	CH_PARTIAL = 3, /* well-formed as far as it goes, but the record goes
			  * on past the bytes given: ch_info says what was
			  * seen (alpn_off != 0: the whole ALPN extension) */
};

struct ch_info {
	__u32 acme; /* ALPN offered acme-tls/1 */
	__u32 alpn_count; /* protocol names examined */
	__u32 sni_len; /* 0: no usable host_name */
	__u32 ext_count; /* extensions examined */
	__u8 sni[ALPNSTEER_NAME_MAX]; /* lowercase, NUL padded */
	/* Where the walk found the two extensions (0: absent).  Kept in
	 * here rather than in locals on purpose: in BPF this is map memory,
	 * whose contents the verifier does not track, so the 64 ways out of
	 * the extension walk collapse into one state instead of each being
	 * verified again through the ALPN and SNI parsers. */
	__u32 alpn_off, alpn_end, sni_off, sni_end;
	/* Extension types seen, to refuse one sent twice (ch_ext_dup()). */
	__u64 ext_low[4]; /* types 0..255, one bit each */
	__u16 ext_high[CH_MAX_EXTENSIONS]; /* the others, as a list */
	__u32 nr_high;
	/* In, set by the caller after zeroing: the walk stops at an ALPN
	 * extension that does not offer acme-tls/1 (CH_OK, acme 0), for a
	 * caller to whom such a hello is decided whatever follows.  An
	 * acme-tls/1 hello is still walked to its end (SNI, duplicates). */
	__u32 alpn_decides;
	__u32 ext_steps; /* extension headers read, both walks together */
};

#ifdef __bpf__
/* In the kernel the bytes come from an skb: the strparser head skb (the
 * record at offset 0) or, for the tc pre-classifier, a packet whose TCP
 * payload starts at @base. */
typedef struct ch_skb {
	struct __sk_buff *skb;
	__u32 base;
} ch_src_t;
#define CH_FUNC static __noinline
/* Keep a mask the compiler could prove redundant, so that the verifier,
 * which may not follow the compiler's reasoning, sees the bound too. */
#define CH_BARRIER(v) asm volatile("" : "+r"(v))
static __always_inline int ch_load(ch_src_t *src, __u32 off, void *to,
				   __u32 len)
{
	return bpf_skb_load_bytes(src->skb, src->base + off, to, len);
}
/* bpf_loop: the verifier checks a step once, not once per iteration.
 * That took the verdict from 33,633 processed instructions (~130 ms of
 * verifier, most of attach's time) to 1,973. */
#define CH_LOOP(n, step, ctx) bpf_loop(n, step, ctx, 0)
#else
#include <string.h>
typedef struct ch_buf {
	const __u8 *data;
	__u32 len;
} ch_src_t;
#define CH_FUNC static inline
#define CH_BARRIER(v) (void)(v)
static inline int ch_load(ch_src_t *src, __u32 off, void *to, __u32 len)
{
	if (off > src->len || len > src->len - off)
		return -1;
	memcpy(to, src->data + off, len);
	return 0;
}
/* bpf_loop's contract: call @step(i, ctx) for i < n until it returns 1. */
static inline long ch_loop(__u32 n, long (*step)(__u64, void *), void *ctx)
{
	__u32 i;

	for (i = 0; i < n; i++)
		if (step(i, ctx))
			return i + 1;
	return n;
}
#define CH_LOOP(n, step, ctx) ch_loop(n, step, ctx)
#endif

/* State of one bounded walk over [off, end), shared with its step; only
 * [off, lim) is there to be read (lim < end: a prefix of the record). */
struct ch_walk {
	ch_src_t *src;
	struct ch_info *out;
	__u32 off, end, lim;
	int err;
	int at_alpn; /* the extension walk stopped after the ALPN */
};

static inline __u32 ch_be16(const __u8 *p)
{
	return ((__u32)p[0] << 8) | p[1];
}

static inline int ch_is_acme(const __u8 *s)
{
	return s[0] == 'a' && s[1] == 'c' && s[2] == 'm' && s[3] == 'e' &&
	       s[4] == '-' && s[5] == 't' && s[6] == 'l' && s[7] == 's' &&
	       s[8] == '/' && s[9] == '1';
}

/* One ProtocolName of the ALPN list; 1 ends the walk. */
static long ch_alpn_step(__u64 i, void *ctx)
{
	struct ch_walk *w = ctx;
	__u8 b[ACME_TLS_1_LEN];
	__u32 n;

	if (w->off >= w->end)
		return 1;
	if (ch_load(w->src, w->off, b, 1))
		goto bad;
	n = b[0];
	if (n == 0 || w->off + 1 + n > w->end)
		goto bad;
	w->out->alpn_count++;
	if (n == ACME_TLS_1_LEN) {
		if (ch_load(w->src, w->off + 1, b, ACME_TLS_1_LEN))
			goto bad;
		if (ch_is_acme(b))
			w->out->acme = 1;
	}
	w->off += 1 + n;
	return 0;
bad:
	w->err = CH_MALFORMED;
	return 1;
}

/* ALPN extension body at [off, end): ProtocolNameList. */
CH_FUNC int ch_parse_alpn(ch_src_t *src, __u32 off, __u32 end,
			  struct ch_info *out)
{
	struct ch_walk w = { .src = src, .out = out, .end = end };
	__u8 b[2];

	if (off + 2 > end || ch_load(src, off, b, 2))
		return CH_MALFORMED;
	if (off + 2 + ch_be16(b) != end || ch_be16(b) == 0)
		return CH_MALFORMED;
	w.off = off + 2;
	CH_LOOP(CH_MAX_ALPN, ch_alpn_step, &w);
	return w.err;
}

/* Lowercase sni[i] for i < end (bpf_loop wants its context on the stack,
 * hence the walk rather than ch_info itself). */
static long ch_lower_step(__u64 i, void *ctx)
{
	struct ch_walk *w = ctx;
	__u8 *c;

	if (i >= w->end || i >= ALPNSTEER_NAME_MAX - 1)
		return 1;
	c = &w->out->sni[i];
	if (*c >= 'A' && *c <= 'Z')
		*c += 'a' - 'A';
	return 0;
}

/* server_name extension body at [off, end): the first host_name wins. */
CH_FUNC int ch_parse_sni(ch_src_t *src, __u32 off, __u32 end,
			 struct ch_info *out)
{
	struct ch_walk w = {};
	__u8 b[3];
	__u32 n;

	if (off + 2 > end || ch_load(src, off, b, 2))
		return CH_MALFORMED;
	if (off + 2 + ch_be16(b) != end)
		return CH_MALFORMED;
	off += 2;
	if (off + 3 > end || ch_load(src, off, b, 3))
		return CH_MALFORMED;
	n = ch_be16(b + 1);
	if (off + 3 + n > end)
		return CH_MALFORMED;
	/* Only a host_name of DNS size is usable; anything else cannot be a
	 * pending identifier, so it is ignored rather than refused. */
	if (b[0] != 0 || n == 0 || n > ALPNSTEER_NAME_MAX - 1)
		return CH_OK;
	/* Equal to n, written so the verifier can bound it to 1..256. */
	if (ch_load(src, off + 3, out->sni,
		    ((n - 1) & (ALPNSTEER_NAME_MAX - 1)) + 1))
		return CH_MALFORMED;
	out->sni_len = n;
	w.out = out;
	w.end = n;
	CH_LOOP(n, ch_lower_step, &w);
	return CH_OK;
}

/*
 * RFC 8446 section 4.2: no extension type may appear twice, and a server
 * must refuse a hello that does it.  Two ALPN (or server_name) extensions
 * would let the parser here and the TLS library that answers disagree on
 * what was offered, so such a hello is malformed: it stays with the
 * webserver, which refuses it itself.  Types below 256 (every one that
 * bears on steering) are a bitmap; the rest (GREASE, renegotiation_info,
 * ...) a list, at most one entry per extension examined.
 */
/* State of the scan of ext_high for one type. */
struct ch_dup {
	struct ch_info *out;
	__u32 type, n;
	int found;
};

static long ch_dup_step(__u64 i, void *ctx)
{
	struct ch_dup *d = ctx;

	if (i >= d->n)
		return 1;
	if (d->out->ext_high[i & (CH_MAX_EXTENSIONS - 1)] == d->type) {
		d->found = 1;
		return 1;
	}
	return 0;
}

static inline int ch_ext_dup(struct ch_info *out, __u32 type)
{
	struct ch_dup d = { .out = out, .type = type };

	if (type < 256) {
		__u64 bit = 1ULL << (type & 63);
		__u32 word = type >> 6;

		CH_BARRIER(word);
		word &= 3;
		if (out->ext_low[word] & bit)
			return 1;
		out->ext_low[word] |= bit;
		return 0;
	}
	d.n = out->nr_high;
	if (d.n >= CH_MAX_EXTENSIONS)
		return 1;
	CH_LOOP(CH_MAX_EXTENSIONS, ch_dup_step, &d);
	if (d.found)
		return 1;
	out->ext_high[d.n & (CH_MAX_EXTENSIONS - 1)] = type;
	out->nr_high = d.n + 1;
	return 0;
}

/* One extension header: note where ALPN and server_name are.  Where the
 * bytes given end inside an extension, the walk stops there (CH_PARTIAL):
 * what comes later is not known, and an extension cut short is not
 * recorded. */
static long ch_ext_step(__u64 i, void *ctx)
{
	struct ch_walk *w = ctx;
	__u32 type, len;
	__u8 b[4];

	if (w->off >= w->end)
		return 1;
	/* One limit for both walks together (ch_parse()). */
	if (w->out->ext_steps >= CH_MAX_EXTENSIONS)
		return 1;
	w->out->ext_steps++;
	if (w->off + 4 > w->end) {
		w->err = CH_MALFORMED;
		return 1;
	}
	if (w->off + 4 > w->lim) {
		w->err = CH_PARTIAL;
		return 1;
	}
	if (ch_load(w->src, w->off, b, 4)) {
		w->err = CH_MALFORMED;
		return 1;
	}
	type = ch_be16(b);
	len = ch_be16(b + 2);
	if (w->off + 4 + len > w->end) {
		w->err = CH_MALFORMED;
		return 1;
	}
	if (ch_ext_dup(w->out, type)) {
		w->err = CH_MALFORMED;
		return 1;
	}
	if (w->off + 4 + len > w->lim) {
		w->err = CH_PARTIAL;
		return 1;
	}
	w->out->ext_count++;
	if (type == TLS_EXT_ALPN && !w->out->alpn_off) {
		w->out->alpn_off = w->off + 4;
		w->out->alpn_end = w->off + 4 + len;
		if (w->out->alpn_decides) {
			w->off += 4 + len;
			w->at_alpn = 1;
			return 1;
		}
	} else if (type == TLS_EXT_SERVER_NAME && !w->out->sni_off) {
		w->out->sni_off = w->off + 4;
		w->out->sni_end = w->off + 4 + len;
	}
	w->off += 4 + len;
	return 0;
}

/*
 * Parse the ClientHello in the first record of @src, of which @avail bytes
 * are present.  @out must be zeroed by the caller.  A record that goes on
 * past @avail is parsed as far as it goes: CH_PARTIAL, unless what is
 * there is already malformed.
 */
CH_FUNC int ch_parse(ch_src_t *src, __u32 avail, struct ch_info *out)
{
	__u8 b[TLS_RECORD_HDR + 4];
	__u32 off, end, lim, ext_end;
	struct ch_walk w = {};
	int cut, err;

	if (avail == 0 || ch_load(src, 0, b, 1) || b[0] != TLS_CT_HANDSHAKE)
		return CH_NOT_TLS;
	if (avail < 2)
		return CH_PARTIAL;
	if (ch_load(src, 1, b + 1, 1))
		return CH_MALFORMED;
	if (b[1] != 3)
		return CH_NOT_TLS;
	if (avail < TLS_RECORD_HDR)
		return CH_PARTIAL;
	if (ch_load(src, 0, b, TLS_RECORD_HDR))
		return CH_MALFORMED;
	end = TLS_RECORD_HDR + ch_be16(b + 3);
	if (end > TLS_RECORD_HDR + ALPNSTEER_MAX_RECORD)
		return CH_MALFORMED;
	lim = end > avail ? avail : end;
	/* What a field that runs past lim means: the record goes on
	 * (partial), or the hello does not fit its record (malformed). */
	cut = end > avail ? CH_PARTIAL : CH_MALFORMED;
	if (lim < sizeof(b))
		return end < sizeof(b) ? CH_MALFORMED : CH_PARTIAL;
	if (ch_load(src, 0, b, sizeof(b)))
		return CH_MALFORMED;
	if (b[5] != TLS_HS_CLIENT_HELLO || b[6] != 0)
		return CH_MALFORMED;
	/* The hello must fit in this record; one split across records is
	 * legal TLS but never sent by an ACME validator. */
	if (TLS_RECORD_HDR + 4 + ch_be16(b + 7) != end)
		return CH_MALFORMED;

	/* legacy_version(2) random(32), then session_id<0..32> */
	off = TLS_RECORD_HDR + 4 + 2 + 32;
	if (off + 1 > lim)
		return cut;
	if (ch_load(src, off, b, 1) || b[0] > 32)
		return CH_MALFORMED;
	off += 1 + b[0];
	/* cipher_suites<2..2^16-2>, two bytes each */
	if (off + 2 > lim)
		return cut;
	if (ch_load(src, off, b, 2) || ch_be16(b) < 2 || (ch_be16(b) & 1))
		return CH_MALFORMED;
	off += 2 + ch_be16(b);
	/* legacy_compression_methods<1..2^8-1> */
	if (off + 1 > lim)
		return off + 1 > end ? CH_MALFORMED : cut;
	if (ch_load(src, off, b, 1))
		return CH_MALFORMED;
	off += 1 + b[0];
	if (off == end) /* no extensions: legal, and certainly no ALPN */
		return CH_OK;
	if (off + 2 > lim)
		return off + 2 > end ? CH_MALFORMED : cut;
	if (ch_load(src, off, b, 2))
		return CH_MALFORMED;
	ext_end = off + 2 + ch_be16(b);
	if (ext_end != end)
		return CH_MALFORMED;
	off += 2;

	/* Find the two extensions first and parse them after the walk. */
	w.src = src;
	w.out = out;
	w.off = off;
	w.end = ext_end;
	w.lim = lim;
	CH_LOOP(CH_MAX_EXTENSIONS, ch_ext_step, &w);
	if (w.err && w.err != CH_PARTIAL)
		return w.err;
	err = CH_OK;
	if (out->alpn_off)
		err = ch_parse_alpn(src, out->alpn_off, out->alpn_end, out);
	/* Stopped at the ALPN (alpn_decides): without acme-tls/1 nothing
	 * later can make the hello one to steer, so the rest is not read;
	 * with it, the walk goes on for the SNI and the duplicate rule. */
	if (w.at_alpn && !err) {
		if (!out->acme)
			return CH_OK;
		w.at_alpn = 0;
		CH_LOOP(CH_MAX_EXTENSIONS, ch_ext_step, &w);
		if (w.err && w.err != CH_PARTIAL) {
			out->acme = 0;
			return w.err;
		}
	}
	if (!err && out->sni_off)
		err = ch_parse_sni(src, out->sni_off, out->sni_end, out);
	/* Only a hello that parses (as far as it goes) may ever be
	 * steered. */
	if (err) {
		out->acme = 0;
		return err;
	}
	return w.err;
}

#endif /* ALPNSTEER_CLIENTHELLO_H */
