/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * psock.bpf.h - what the kernel's sk_psock of a socket still holds.
 *
 * A socket may leave the conns sockhash only when its psock holds nothing:
 * removing it with bytes still queued in the psock loses them and corrupts
 * the stream (docs/design.md, "Release points").  These reads are the guard every
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
	unsigned long ud =
		(unsigned long)tp->inet_conn.icsk_inet.sk.sk_user_data;

	if (!(ud & SK_USER_DATA_PSOCK))
		return NULL;
	return (struct sk_psock *)(ud & SK_USER_DATA_PTRMASK);
}

/*
 * True when @psock holds no byte of @tp's stream beyond the last @fin
 * sequence numbers (1: the client's FIN, queued but not yet read): no
 * message queued for the reader, no skb waiting for the psock's backlog,
 * and the reader has consumed everything TCP received (with a verdict and
 * no stream parser, copied_seq moves only when the reader reads).  Called
 * with the socket locked (a sock_ops callback or the tcp iterator), so
 * nothing can be queued between this check and the removal that follows.
 *
 * sk_psock.msg_tot_len (the 2025 sockmap FIONREAD fix) is newer than the
 * oldest kernel alpnsteer runs on, so it is read only where
 * bpf_core_field_exists() finds it in the running kernel's BTF (docs/
 * design.md, "Kernel reach").  Without it, psock->ingress_msg itself must
 * be empty: a message the reader has only partly consumed stays on the
 * list until its last byte is copied (sk_msg_recvmsg()), so an empty list
 * means the reader has everything.  ingress_skb is read first: the backlog
 * worker puts a message on ingress_msg before it unlinks the skb it came
 * from, so once qlen reads 0 a message from it is already on the list.
 */
static __always_inline bool
psock_holds_nothing(struct tcp_sock *tp, struct sk_psock *psock, __u32 fin)
{
	__u32 tot = 0, qlen = 1;
	void *next = NULL;

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
	return !tot && !qlen && tp->rcv_nxt == tp->copied_seq + fin;
}

/*
 * True when a task is inside @psock's own read or write path: a reader
 * asleep in recv() above all.  tcp_bpf_recvmsg_parser() takes a psock
 * reference (sk_psock_get()) before it locks the socket and drops it only
 * after its last release_sock(), so a reader asleep in its
 * tcp_msg_wait_data() holds one all along; so do tcp_bpf_sendmsg() and
 * sock_map_close().  Each map a socket is in holds one more, and a caught
 * socket is in conns alone: a count above 1 is a task in there.  Were the
 * socket released now, the client's next bytes would take the ordinary
 * path and wake the sleeper, which finds its psock's queue empty and
 * returns -EAGAIN, on a blocking socket (docs/design.md, "Release
 * points").  epoll and poll waiters hold no reference: their next recv()
 * reads the ordinary way.  refcnt is a plain CO-RE field on every kernel
 * alpnsteer runs on; no symbol address (kallsyms) is needed.
 */
static __always_inline bool psock_in_use(struct sk_psock *psock)
{
	int refs = 2;

	bpf_probe_read_kernel(&refs, sizeof(refs), &psock->refcnt.refs.counter);
	return refs > 1;
}

/* O_NONBLOCK where alpnsteer runs (x86, arm64 and the generic value). */
#define ALPNSTEER_O_NONBLOCK 04000

/*
 * True when @tp's descriptor is a blocking one.  psock_in_use() sees a
 * reader asleep in recv(), not one about to enter it: a recv() that starts
 * between the count's read and the removal takes its psock reference
 * unseen, and tcp_bpf_recvmsg_parser() then finds the client's next skb
 * (or its FIN) in a receive queue that the restored sk_data_ready no longer
 * drains, and returns EAGAIN.  A thread-per-connection server calls recv()
 * again as soon as it has answered, which is when its client's ACK, or
 * FIN, comes: 0 to 2 of 120 fast clients of selftests/test_blocking.sh got
 * that EAGAIN.  For a non-blocking descriptor (every event-loop webserver)
 * EAGAIN is an ordinary answer, so only a blocking one needs to stay
 * caught.  Not accepted yet (no file): no reader can be inside it.
 */
static __always_inline bool sock_blocking(struct tcp_sock *tp)
{
	struct socket *so = tp->inet_conn.icsk_inet.sk.sk_socket;
	struct file *f = NULL;
	unsigned int flags = ALPNSTEER_O_NONBLOCK;

	if (!so)
		return false;
	bpf_probe_read_kernel(&f, sizeof(f), &so->file);
	if (!f)
		return false;
	bpf_probe_read_kernel(&flags, sizeof(flags), &f->f_flags);
	return !(flags & ALPNSTEER_O_NONBLOCK);
}

/*
 * True when nobody is processing @tp at this instant: no process owns it
 * (lock_sock(): a reader, a writer, or release_sock() replaying its
 * backlog) and its spinlock is free (softirq receive processing holds it
 * from tcp_v4_rcv() to the end of tcp_data_ready()).  For the one release
 * point that cannot hold the socket's lock (the drain's sockmap iterator):
 * a segment being processed now would race with the removal.  The
 * spinlock's first word is read raw: with the queued spinlocks of x86 and
 * arm64 it is non-zero while held or contended (on PREEMPT_RT it is the
 * rtmutex's wait_lock, and only "owned" says anything).
 */
static __always_inline bool sock_quiet(struct tcp_sock *tp)
{
	struct sock *sk = &tp->inet_conn.icsk_inet.sk;
	__u32 slock = 1;

	if (sk->sk_lock.owned)
		return false;
	bpf_probe_read_kernel(&slock, sizeof(slock), &sk->sk_lock.slock);
	return !slock;
}

#endif /* ALPNSTEER_PSOCK_BPF_H */
