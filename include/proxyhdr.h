/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * proxyhdr.h - the PROXY protocol header (v1 text, v2 binary) that a
 * layer-4 load balancer puts in front of the client's bytes.
 *
 * As with clienthello.h, the same code runs in the verdict (on the skb)
 * and on the host (the unit tests, the fuzzer, and the responder, which
 * consumes the header of a steered connection before its TLS starts), so
 * what the tests prove is what the kernel runs.
 *
 * It answers: how long is the header, and which client does it name.
 * Strict: anything the specification does not allow, or that this parser
 * does not need to understand (v1 IPv6 with an embedded IPv4 tail, v2 UDP
 * or AF_UNIX), is PH_MALFORMED, and the caller leaves the connection with
 * the webserver, which judges the header itself (fail open).  Headers are
 * at most ALPNSTEER_PROXY_MAX bytes (v1's own limit is 107); a longer v2
 * header (large TLVs) is malformed here, by choice.
 */
#ifndef ALPNSTEER_PROXYHDR_H
#define ALPNSTEER_PROXYHDR_H

#include "clienthello.h"

#ifdef __bpf__
#define ph_htonl(x) bpf_htonl(x)
/* Keep a clamped length in one register, so that the verifier sees the
 * bound on the very register passed to bpf_skb_load_bytes(). */
#define PH_BARRIER(v) asm volatile("" : "+r"(v))
#else
#define PH_BARRIER(v) (void)(v)
#include <arpa/inet.h>
#define ph_htonl(x) htonl(x)
#endif

#define PH_V1_MAX 107 /* "PROXY UNKNOWN" + 2 * 39 + ... + CRLF */
#define PH_V2_HDR 16
#define PH_V2_TCP4 12 /* src(4) dst(4) sport(2) dport(2) */
#define PH_V2_TCP6 36 /* src(16) dst(16) sport(2) dport(2) */
#define PH_AF_INET 2
#define PH_AF_INET6 10

enum ph_status {
	PH_OK = 0, /* a whole, well-formed header of ph_info.len bytes */
	PH_MALFORMED = 2, /* not a PROXY header, or one this parser refuses */
	PH_PARTIAL = 3, /* well-formed as far as it goes, but cut short */
};

/* v1 fields after "PROXY TCPx ". */
enum { PH_F_SRC, PH_F_DST, PH_F_SPORT, PH_F_DPORT, PH_F_END };

struct ph_info {
	__u32 len; /* header bytes to consume */
	__u32 version; /* 1 or 2 */
	__u32 family; /* PH_AF_INET(6); 0: LOCAL or UNKNOWN, no client */
	__u32 src[4]; /* the client's address, network byte order */
	__u32 sport; /* the client's port, host byte order */
	/* Working state of the v1 walk; in BPF this is map memory, so the
	 * verifier checks the step function once for all of it. */
	__u8 line[128]; /* PH_V1_MAX bytes; indexed & 127 */
	__u32 n, field, acc, digits, dots, ngroups, dcolon, colon, err;
	__u32 v4;
	__u16 groups[8];
};

/* The v2 signature: \r\n\r\n\0\r\nQUIT\n */
static inline int ph_is_v2_sig(const __u8 *b)
{
	return b[0] == 0x0d && b[1] == 0x0a && b[2] == 0x0d && b[3] == 0x0a &&
	       b[4] == 0x00 && b[5] == 0x0d && b[6] == 0x0a && b[7] == 0x51 &&
	       b[8] == 0x55 && b[9] == 0x49 && b[10] == 0x54 && b[11] == 0x0a;
}

static inline int ph_hex(__u8 c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One field of a v1 line is over (at a space or at CR): check it, and
 * keep the client's address and port. */
static inline int ph_v1_end_field(struct ph_info *p)
{
	__u32 i, tail, at;

	switch (p->field) {
	case PH_F_SRC:
	case PH_F_DST:
		if (p->family == PH_AF_INET) {
			if (p->dots != 3 || !p->digits)
				return PH_MALFORMED;
			p->v4 = p->v4 << 8 | p->acc;
			if (p->field == PH_F_SRC)
				p->src[0] = ph_htonl(p->v4);
			break;
		}
		/* IPv6: close the last group ("...::" ends with none). */
		if (p->digits) {
			if (p->ngroups >= 8)
				return PH_MALFORMED;
			p->groups[p->ngroups & 7] = p->acc;
			p->ngroups++;
		} else if (p->colon && p->dcolon != p->ngroups) {
			return PH_MALFORMED; /* a lone trailing ':' */
		}
		if (p->dcolon > 8 ? p->ngroups != 8 : p->ngroups > 7)
			return PH_MALFORMED;
		if (p->field != PH_F_SRC)
			break;
		/* Expand "::": the groups after it move to the end. */
		if (p->dcolon <= 8) {
			tail = p->ngroups - p->dcolon;
			for (i = 0; i < 8; i++) {
				at = 7 - i;
				if (i < tail)
					p->groups[at & 7] =
						p->groups[(p->dcolon + tail -
							   1 - i) &
							  7];
				else if (at >= p->dcolon)
					p->groups[at & 7] = 0;
			}
		}
		for (i = 0; i < 4; i++)
			p->src[i] =
				ph_htonl((__u32)p->groups[(2 * i) & 7] << 16 |
					 p->groups[(2 * i + 1) & 7]);
		break;
	case PH_F_SPORT:
	case PH_F_DPORT:
		if (!p->digits || p->acc > 65535)
			return PH_MALFORMED;
		if (p->field == PH_F_SPORT)
			p->sport = p->acc;
		break;
	default:
		return PH_MALFORMED;
	}
	p->field++;
	p->acc = p->digits = p->dots = p->ngroups = p->colon = 0;
	p->dcolon = 9;
	p->v4 = 0;
	return PH_OK;
}

/* One character of an address or port field. */
static inline int ph_v1_char(struct ph_info *p, __u8 c)
{
	int h;

	if (p->field >= PH_F_SPORT || p->family == PH_AF_INET) {
		if (c == '.' && p->field < PH_F_SPORT) {
			if (!p->digits || p->dots >= 3)
				return PH_MALFORMED;
			p->v4 = p->v4 << 8 | p->acc;
			p->dots++;
			p->acc = p->digits = 0;
			return PH_OK;
		}
		if (c < '0' || c > '9' || p->digits >= 5)
			return PH_MALFORMED;
		p->acc = p->acc * 10 + (c - '0');
		p->digits++;
		if (p->field < PH_F_SPORT && p->acc > 255)
			return PH_MALFORMED;
		return PH_OK;
	}
	if (c == ':') {
		if (p->colon) { /* "::" */
			if (p->dcolon <= 8)
				return PH_MALFORMED;
			p->dcolon = p->ngroups;
			p->colon = 0;
			return PH_OK;
		}
		if (p->digits) {
			if (p->ngroups >= 8)
				return PH_MALFORMED;
			p->groups[p->ngroups & 7] = p->acc;
			p->ngroups++;
		} else if (p->ngroups || p->dcolon <= 8) {
			return PH_MALFORMED; /* ":" right after "::" or ':' */
		}
		p->colon = 1;
		p->acc = p->digits = 0;
		return PH_OK;
	}
	/* A lone ':' at the very start is only legal as half of "::". */
	if (p->colon && !p->ngroups && p->dcolon > 8)
		return PH_MALFORMED;
	h = ph_hex(c);
	if (h < 0 || p->digits >= 4)
		return PH_MALFORMED;
	p->acc = p->acc << 4 | h;
	p->digits++;
	p->colon = 0;
	return PH_OK;
}

/* bpf_loop() takes its context on the stack only; the state itself is in
 * struct ph_info (map memory in BPF). */
struct ph_walk {
	struct ph_info *p;
};

/* Step @i of the v1 walk over line[11 + i]: 1 ends the walk. */
static long ph_v1_step(__u64 i, void *ctx)
{
	struct ph_info *p = ((struct ph_walk *)ctx)->p;
	__u32 at = 11 + (__u32)i;
	__u8 c;

	if (at >= p->n) {
		p->err = PH_PARTIAL;
		return 1;
	}
	c = p->line[at & 127];
	if (c == ' ' || c == '\r') {
		if ((c == ' ') != (p->field < PH_F_DPORT)) {
			p->err = PH_MALFORMED;
			return 1;
		}
		p->err = ph_v1_end_field(p);
		if (p->err || c == ' ')
			return p->err != PH_OK;
		if (at + 1 >= p->n) {
			p->err = PH_PARTIAL;
			return 1;
		}
		if (p->line[(at + 1) & 127] != '\n') {
			p->err = PH_MALFORMED;
			return 1;
		}
		p->len = at + 2;
		return 1;
	}
	p->err = ph_v1_char(p, c);
	return p->err != PH_OK;
}

/* Step over "PROXY UNKNOWN ...": everything up to CRLF is ignored. */
static long ph_unknown_step(__u64 i, void *ctx)
{
	struct ph_info *p = ((struct ph_walk *)ctx)->p;
	__u32 at = 13 + (__u32)i;

	if (at + 1 >= p->n) {
		p->err = PH_PARTIAL;
		return 1;
	}
	if (p->line[at & 127] == '\r') {
		if (p->line[(at + 1) & 127] != '\n') {
			p->err = PH_MALFORMED;
			return 1;
		}
		p->len = at + 2;
		return 1;
	}
	if (p->line[at & 127] == '\n')
		p->err = PH_MALFORMED;
	return p->err != PH_OK;
}

CH_FUNC int ph_parse_v1(ch_src_t *src, __u32 avail, struct ph_info *p)
{
	struct ph_walk w = { .p = p };
	const __u8 *l = p->line;
	__u64 n = avail;

	if (n > PH_V1_MAX)
		n = PH_V1_MAX;
	/* A no-op for the value; for the verifier, a bound on the register
	 * bpf_skb_load_bytes() gets. */
	n &= 127;
	PH_BARRIER(n);
	if (n < 6)
		return PH_PARTIAL;
	if (ch_load(src, 0, p->line, n))
		return PH_MALFORMED;
	p->n = n;
	p->version = 1;
	p->err = PH_OK;
	if (l[0] != 'P' || l[1] != 'R' || l[2] != 'O' || l[3] != 'X' ||
	    l[4] != 'Y' || l[5] != ' ')
		return PH_MALFORMED;
	if (n < 14)
		return PH_PARTIAL; /* shorter than "PROXY UNKNOWN\r" */
	if (l[6] == 'U' && l[7] == 'N' && l[8] == 'K' && l[9] == 'N' &&
	    l[10] == 'O' && l[11] == 'W' && l[12] == 'N' &&
	    (l[13] == ' ' || l[13] == '\r')) {
		CH_LOOP(PH_V1_MAX, ph_unknown_step, &w);
		goto out;
	}
	if (l[6] != 'T' || l[7] != 'C' || l[8] != 'P' || l[10] != ' ')
		return PH_MALFORMED;
	if (l[9] == '4')
		p->family = PH_AF_INET;
	else if (l[9] == '6')
		p->family = PH_AF_INET6;
	else
		return PH_MALFORMED;
	p->field = PH_F_SRC;
	p->dcolon = 9;
	CH_LOOP(PH_V1_MAX, ph_v1_step, &w);
out:
	if (p->err == PH_OK && !p->len)
		p->err = PH_MALFORMED;
	/* No CRLF in the first 107 bytes: too long for v1. */
	if (p->err == PH_PARTIAL && n < avail)
		p->err = PH_MALFORMED;
	return p->err;
}

CH_FUNC int ph_parse_v2(ch_src_t *src, __u32 avail, struct ph_info *p)
{
	__u8 b[PH_V2_HDR + PH_V2_TCP6];
	__u32 len, need, i;

	if (avail < PH_V2_HDR)
		return PH_PARTIAL;
	if (ch_load(src, 0, b, PH_V2_HDR) || !ph_is_v2_sig(b))
		return PH_MALFORMED;
	p->version = 2;
	len = ch_be16(b + 14);
	p->len = PH_V2_HDR + len;
	if (p->len > ALPNSTEER_PROXY_MAX)
		return PH_MALFORMED;
	if ((b[12] & 0xf0) != 0x20)
		return PH_MALFORMED;
	if ((b[12] & 0x0f) == 0x0) /* LOCAL: the balancer's own check */
		return p->len > avail ? PH_PARTIAL : PH_OK;
	if ((b[12] & 0x0f) != 0x1)
		return PH_MALFORMED;
	switch (b[13]) {
	case 0x00: /* UNSPEC: use the connection's own addresses */
		need = 0;
		break;
	case 0x11: /* TCP over IPv4 */
		need = PH_V2_TCP4;
		break;
	case 0x21: /* TCP over IPv6 */
		need = PH_V2_TCP6;
		break;
	default: /* UDP, AF_UNIX: not a TCP client to account */
		return PH_MALFORMED;
	}
	if (len < need)
		return PH_MALFORMED;
	if (p->len > avail)
		return PH_PARTIAL;
	if (!need)
		return PH_OK;
	if (need == PH_V2_TCP4) {
		if (ch_load(src, 0, b, PH_V2_HDR + PH_V2_TCP4))
			return PH_MALFORMED;
		p->family = PH_AF_INET;
		__builtin_memcpy(&p->src[0], b + PH_V2_HDR, 4);
		p->sport = ch_be16(b + PH_V2_HDR + 8);
	} else {
		if (ch_load(src, 0, b, PH_V2_HDR + PH_V2_TCP6))
			return PH_MALFORMED;
		p->family = PH_AF_INET6;
		for (i = 0; i < 4; i++)
			__builtin_memcpy(&p->src[i], b + PH_V2_HDR + 4 * i, 4);
		p->sport = ch_be16(b + PH_V2_HDR + 32);
	}
	return PH_OK;
}

/*
 * Parse the PROXY header at the start of @src, of which @avail bytes are
 * present.  @p must be zeroed by the caller.
 */
static inline int ph_parse(ch_src_t *src, __u32 avail, struct ph_info *p)
{
	__u8 c;

	if (!avail || ch_load(src, 0, &c, 1))
		return PH_PARTIAL;
	if (c == 'P')
		return ph_parse_v1(src, avail, p);
	if (c == 0x0d)
		return ph_parse_v2(src, avail, p);
	return PH_MALFORMED;
}

#endif /* ALPNSTEER_PROXYHDR_H */
