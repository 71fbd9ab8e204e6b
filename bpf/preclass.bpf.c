// SPDX-License-Identifier: GPL-2.0-only
/*
 * preclass.bpf.c - the tc ingress pre-classifier of --preclassify.
 *
 * A spike kept off by default: it measured slower per packet than the
 * default path (docs/benchmarks.md, "The tc pre-classifier spike"; why it is a
 * file of its own: docs/design.md, "The pre-classifier, apart").  It looks
 * at the first in-order data segment of a connection to a steered port and
 * inserts the socket into conns only if that segment does not prove the
 * hello free of acme-tls/1 (it offers acme-tls/1, or the record goes on in
 * later segments, or it does not parse).  A normal connection then never gets a
 * psock: no verdict, no self-release.  The insertion happens here, before
 * TCP queues the segment, so the psock sees the connection's first byte.
 *
 * Linked with alpnsteer.bpf.c into one object (bpftool gen object), which
 * defines the maps and the configuration this file sees as extern; the
 * loader loads this program only with --preclassify.  What sock_ops does
 * for it is in preclass.bpf.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "clienthello.h"
#include "proxyhdr.h"
#define ALPNSTEER_EXTERN
#include "maps.bpf.h"

#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_TCP 6
#define TC_ACT_OK 0

struct pc_tcp {
	__u16 sport, dport;
	__u32 seq, ack;
	__u8 doff_res, flags;
};

SEC("tc")
int alpnsteer_preclass(struct __sk_buff *skb)
{
	struct alpnsteer_conn_state undecided = {};
	struct alpnsteer_settings *cfg;
	struct bpf_sock_tuple t = {};
	struct alpnsteer_conn_state *st;
	ch_src_t src = { .skb = skb };
	__u32 l4, tlen, off, zero = 0;
	struct bpf_sock *sk;
	struct tcp_sock *tp;
	struct ch_info *info;
	struct pc_tcp th;
	__u8 rec[6];
	__u64 cookie;
	int rc;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) ||
		    ip.protocol != IPPROTO_TCP ||
		    (ip.frag_off & bpf_htons(0x3fff)))
			return TC_ACT_OK;
		l4 = ETH_HLEN + ip.ihl * 4;
		tlen = sizeof(t.ipv4);
		t.ipv4.saddr = ip.saddr;
		t.ipv4.daddr = ip.daddr;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		/* Extension headers: not ours to decide (no insert). */
		if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip6, sizeof(ip6)) ||
		    ip6.nexthdr != IPPROTO_TCP)
			return TC_ACT_OK;
		l4 = ETH_HLEN + sizeof(ip6);
		tlen = sizeof(t.ipv6);
		__builtin_memcpy(t.ipv6.saddr, &ip6.saddr, 16);
		__builtin_memcpy(t.ipv6.daddr, &ip6.daddr, 16);
	} else {
		return TC_ACT_OK;
	}
	if (bpf_skb_load_bytes(skb, l4, &th, sizeof(th)) ||
	    !port_is_steered(bpf_ntohs(th.dport)))
		return TC_ACT_OK;
	off = l4 + (th.doff_res >> 4) * 4;
	/* Cheap filter first, for every packet: a first data segment starts
	 * with a TLS handshake record holding a ClientHello, or with as much
	 * of its header as a tiny first segment carries (trickled hellos). */
	if (off >= skb->len || bpf_skb_load_bytes(skb, off, rec, 1) ||
	    rec[0] != TLS_CT_HANDSHAKE)
		return TC_ACT_OK;
	if (off + sizeof(rec) <= skb->len &&
	    (bpf_skb_load_bytes(skb, off, rec, sizeof(rec)) || rec[1] != 3 ||
	     rec[5] != TLS_HS_CLIENT_HELLO))
		return TC_ACT_OK;
	cfg = get_settings();
	if (!cfg || cfg->draining)
		return TC_ACT_OK;
	if (tlen == sizeof(t.ipv6)) {
		t.ipv6.sport = th.sport;
		t.ipv6.dport = th.dport;
	} else {
		t.ipv4.sport = th.sport;
		t.ipv4.dport = th.dport;
	}
	sk = bpf_sk_lookup_tcp(skb, &t, tlen, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return TC_ACT_OK;
	if (sk->state != BPF_TCP_ESTABLISHED)
		goto out;
	tp = bpf_skc_to_tcp_sock(sk);
	/* Only the first in-order data: a retransmit or a later segment
	 * that happens to look like a hello is never a first byte. */
	if (!tp || tp->bytes_received || tp->rcv_nxt != bpf_ntohl(th.seq))
		goto out;
	/* sock_ops named the socket at PASSIVE_ESTABLISHED: no cookie, not
	 * a connection we caught (other port, other namespace, draining). */
	cookie = tp->inet_conn.icsk_inet.sk.__sk_common.skc_cookie.counter;
	if (!cookie)
		goto out;
	st = bpf_map_lookup_elem(&conn_state, &cookie);
	if (st)
		goto out;
	info = bpf_map_lookup_elem(&ch_scratch, &zero);
	if (!info)
		goto out;
	__builtin_memset(info, 0, sizeof(*info));
	src.base = off;
	rc = ch_parse(&src, skb->len - off, info);
	if (rc == CH_OK && !info->acme) {
		count(AC_PRECLASS_NORMAL);
		goto out;
	}
	/* acme-tls/1, or not decidable from this segment: the full path. */
	if (bpf_map_update_elem(&conn_state, &cookie, &undecided, BPF_ANY)) {
		count(AC_INSERT_FAILED);
		goto out;
	}
	if (bpf_map_update_elem(&conns, &cookie, sk, BPF_NOEXIST)) {
		bpf_map_delete_elem(&conn_state, &cookie);
		count(AC_INSERT_FAILED);
		goto out;
	}
	count(AC_SEEN);
out:
	bpf_sk_release(sk);
	return TC_ACT_OK;
}
