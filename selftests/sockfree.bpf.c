// SPDX-License-Identifier: GPL-2.0-only
/*
 * sockfree.bpf.c - a selftest probe: loopback TCP sockets of one network
 * namespace (the responder's slot pairs) destroyed with sk_forward_alloc
 * still non-zero after inet_sock_destruct() reclaimed what it could: the
 * condition of its WARN_ON_ONCE, counted every time (the WARN prints once
 * per boot).  Loaded by sockfree.py.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__u32 netns_ino; /* set by the loader */
	__u32 pad;
	__u64 freed; /* loopback TCP sockets destroyed in that namespace */
	__u64 nonzero; /* ... with sk_forward_alloc != 0 */
	__s64 last; /* the last such value */
} st;

SEC("fexit/inet_sock_destruct")
int BPF_PROG(destructed, struct sock *sk)
{
	if (sk->__sk_common.skc_net.net->ns.inum != st.netns_ino ||
	    sk->__sk_common.skc_family != 2 /* AF_INET */ ||
	    sk->sk_type != 1 /* SOCK_STREAM */ ||
	    sk->__sk_common.skc_daddr != bpf_htonl(0x7f000001))
		return 0;
	__sync_fetch_and_add(&st.freed, 1);
	if (sk->sk_forward_alloc) {
		__sync_fetch_and_add(&st.nonzero, 1);
		st.last = sk->sk_forward_alloc;
	}
	return 0;
}
