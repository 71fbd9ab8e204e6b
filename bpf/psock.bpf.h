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
 * True when @psock holds no byte of @tp's stream: no message queued for the
 * reader, no skb waiting for the strparser or the verdict, and the stream
 * parser and the reader have both consumed everything TCP received.  Called
 * with the socket locked (a sock_ops callback), so nothing can be queued
 * between this check and the removal that follows it.
 *
 * Two of the fields are newer than the oldest kernel alpnsteer runs on, so
 * each is read only where bpf_core_field_exists() finds it in the running
 * kernel's BTF, with a fallback guard derived from that kernel's own code
 * (docs/design.md, "Kernel reach"):
 *
 *  - sk_psock.msg_tot_len (the 2025 sockmap FIONREAD fix; not in Debian
 *    12's 6.1): the bytes on psock->ingress_msg.  Without it, the list
 *    itself must be empty.  A message the reader has only partly consumed
 *    stays on the list until its last byte is copied (sk_msg_recvmsg), so
 *    an empty list means the reader has everything.  ingress_skb is read
 *    first: the backlog worker puts a message on ingress_msg before it
 *    unlinks the skb it came from, so once qlen reads 0 a message from it
 *    is already visible on the list.
 *
 *  - sk_psock.copied_seq (the strparser copied_seq fix, 6.1.133 and later
 *    stable kernels): how far the strparser has read, with tp->copied_seq
 *    left at what the reader consumed.  Before it, the strparser read the
 *    socket with tcp_read_sock(), which moves tp->copied_seq itself: then
 *    tp->copied_seq == tp->rcv_nxt says the strparser took every received
 *    byte, and with no partial message (strp.skb_head), nothing on
 *    ingress_skb and nothing on ingress_msg, every byte it took has been
 *    read too, so tp->copied_seq is exactly what the reader consumed when
 *    the psock goes and tcp_recvmsg() takes over.
 */
static __always_inline bool psock_holds_nothing(struct tcp_sock *tp,
						struct sk_psock *psock)
{
	__u32 tot = 0, qlen = 1, pseq = 0;
	void *head = (void *)1, *next = NULL;

	bpf_probe_read_kernel(&qlen, sizeof(qlen), &psock->ingress_skb.qlen);
	if (bpf_core_field_exists(psock->msg_tot_len)) {
		tot = 1;
		bpf_probe_read_kernel(&tot, sizeof(tot), &psock->msg_tot_len);
	} else {
		bpf_probe_read_kernel(&next, sizeof(next),
				      &psock->ingress_msg.next);
		if (next != (void *)&psock->ingress_msg)
			return false;
	}
	bpf_probe_read_kernel(&head, sizeof(head), &psock->strp.skb_head);
	if (tot || qlen || head)
		return false;
	if (!bpf_core_field_exists(psock->copied_seq))
		return tp->copied_seq == tp->rcv_nxt;
	bpf_probe_read_kernel(&pseq, sizeof(pseq), &psock->copied_seq);
	return tp->copied_seq == pseq && tp->rcv_nxt == pseq;
}

#endif /* ALPNSTEER_PSOCK_BPF_H */
