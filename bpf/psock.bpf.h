/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * psock.bpf.h - what the kernel's sk_psock of a socket still holds.
 *
 * A socket may leave the conns sockhash only when its psock holds nothing:
 * removing it with bytes still queued in the psock loses them and corrupts
 * the stream (docs/design.md, "Release").  These reads are the guard every
 * release point goes through; they are CO-RE reads of kernel-private
 * fields, so the fields they rely on are named here and nowhere else.
 */
#ifndef ALPNSTEER_PSOCK_BPF_H
#define ALPNSTEER_PSOCK_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

/* include/net/sock.h: low bits of sk_user_data tag what it points to. */
#define SK_USER_DATA_PSOCK 4UL
#define SK_USER_DATA_PTRMASK (~7UL)

static __always_inline struct sk_psock *psock_of(struct tcp_sock *tp)
{
	unsigned long ud = (unsigned long)tp->inet_conn.icsk_inet.sk.sk_user_data;

	if (!(ud & SK_USER_DATA_PSOCK))
		return NULL;
	return (struct sk_psock *)(ud & SK_USER_DATA_PTRMASK);
}

/*
 * True when @psock holds no byte of @tp's stream beyond the last @fin
 * sequence numbers (1: the client's FIN, queued but not yet read): no
 * message queued for the reader, no skb waiting for the verdict, and the
 * reader has consumed everything TCP received.  With a stream parser
 * (@stream) also nothing waits for the parser, and the parser has consumed
 * everything too.  Called with the socket locked (a sock_ops callback or the
 * tcp iterator), so nothing can be queued between this check and the
 * removal that follows it.
 */
static __always_inline bool psock_holds_nothing(struct tcp_sock *tp,
						struct sk_psock *psock,
						bool stream, __u32 fin)
{
	__u32 tot = 1, qlen = 1, pseq = 0;
	void *head = (void *)1;

	bpf_probe_read_kernel(&tot, sizeof(tot), &psock->msg_tot_len);
	bpf_probe_read_kernel(&qlen, sizeof(qlen), &psock->ingress_skb.qlen);
	if (tot || qlen || tp->rcv_nxt != tp->copied_seq + fin)
		return false;
	if (!stream)
		return true;
	bpf_probe_read_kernel(&head, sizeof(head), &psock->strp.skb_head);
	bpf_probe_read_kernel(&pseq, sizeof(pseq), &psock->copied_seq);
	return !head && tp->copied_seq == pseq;
}

#endif /* ALPNSTEER_PSOCK_BPF_H */
