/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * srccap.bpf.h - how many responder slots one source may hold.
 *
 * The pending name of a validation is public (it is the site's name), so
 * anyone can send acme-tls/1 hellos for it and sit on the slots they get.
 * A source prefix (/24 for IPv4, v4-mapped IPv6 included, /48 for IPv6:
 * what one network has)
 * may hold at most settings.src_cap slots at once; a hello past that
 * stays with the webserver (docs/design.md, "Hardening").  A CA validates
 * from several networks at once, so its validations are not affected by
 * one network's use.
 *
 * What a prefix holds is counted from the slots map itself, whose entries
 * the daemon clears as it recycles a slot: no second count to drift.  Two
 * hellos from one prefix on two CPUs at the same instant can both pass,
 * so the cap can be exceeded by at most the number of CPUs, briefly.
 */
#ifndef ALPNSTEER_SRCCAP_BPF_H
#define ALPNSTEER_SRCCAP_BPF_H

#include "maps.bpf.h"

struct srccap_scan {
	__u32 key[4];
	__u32 held;
};

static long srccap_step(__u64 i, void *ctx)
{
	struct srccap_scan *c = ctx;
	struct alpnsteer_slot *s;
	__u32 idx = i;

	s = bpf_map_lookup_elem(&slots, &idx);
	if (!s)
		return 1;
	if (s->owner_cookie && s->src_prefix[0] == c->key[0] &&
	    s->src_prefix[1] == c->key[1] && s->src_prefix[2] == c->key[2] &&
	    s->src_prefix[3] == c->key[3])
		c->held++;
	return 0;
}

/* The prefix of the client at @ip (network byte order; IPv4 in ip[0])
 * into @key; 1 when it may take one more slot.  Behind a load balancer
 * the client is the one its PROXY header names, not the balancer. */
static __always_inline int srccap_allow(__u32 family, const __u32 ip[4],
					__u32 key[4])
{
	struct srccap_scan c = {};
	struct alpnsteer_settings *cfg;
	__u32 zero = 0;

	/* Behind a dual-stack [::]:443 listener (Apache as Debian ships it,
	 * Caddy, any Go server) an IPv4 client is ::ffff:a.b.c.d: counted
	 * as the IPv4 /24 it is, not as the one /48 "::" that every IPv4
	 * client would otherwise share. */
	if (family == 10 /* AF_INET6 */ && !ip[0] && !ip[1] &&
	    ip[2] == bpf_htonl(0xffff)) {
		c.key[0] = 2; /* AF_INET */
		c.key[1] = ip[3] & bpf_htonl(0xffffff00);
	} else if (family == 10 /* AF_INET6 */) {
		c.key[0] = family;
		c.key[1] = ip[0];
		c.key[2] = ip[1] & bpf_htonl(0xffff0000);
	} else {
		c.key[0] = family;
		c.key[1] = ip[0] & bpf_htonl(0xffffff00);
	}
	key[0] = c.key[0];
	key[1] = c.key[1];
	key[2] = c.key[2];
	key[3] = 0;
	cfg = bpf_map_lookup_elem(&settings, &zero);
	if (!cfg || !cfg->src_cap)
		return 1;
	bpf_loop(ALPNSTEER_MAX_POOL, srccap_step, &c, 0);
	return c.held < cfg->src_cap;
}

/* The slot now counts against @key (set together with its owner). */
static __always_inline void srccap_claim(struct alpnsteer_slot *s,
					 const __u32 key[4])
{
	s->src_prefix[0] = key[0];
	s->src_prefix[1] = key[1];
	s->src_prefix[2] = key[2];
	s->src_prefix[3] = key[3];
}

#endif /* ALPNSTEER_SRCCAP_BPF_H */
