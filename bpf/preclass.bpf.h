/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * preclass.bpf.h - what sock_ops does for the tc pre-classifier
 * (--preclassify, a spike kept off by default; the program itself is
 * preclass.bpf.c).
 *
 * Only ever called under `if (preclassify)`: the flag is const volatile,
 * frozen at load, so without --preclassify the verifier removes these calls
 * as dead code and the production sock_ops never runs them.
 */
#ifndef ALPNSTEER_PRECLASS_BPF_H
#define ALPNSTEER_PRECLASS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

/*
 * PASSIVE_ESTABLISHED of a socket whose handshake carried no data: tc
 * decides whether it enters conns.  bpf_get_socket_cookie() has already
 * named the socket, which is what tc looks for; RTT_CB turns the callbacks
 * off again once tc let the first bytes pass, and STATE_CB frees the slot
 * of a steered one.  (tc saw the bytes of an early socket before the socket
 * existed, so those are caught as without --preclassify.)
 */
static __always_inline void preclass_watch(struct bpf_sock_ops *skops)
{
	bpf_sock_ops_cb_flags_set(skops, BPF_SOCK_OPS_RTT_CB_FLAG |
						 BPF_SOCK_OPS_STATE_CB_FLAG);
}

/*
 * RTT_CB of a socket that is not in conn_state: once bytes came, tc has
 * seen the first of them and did not insert the socket, so it never will:
 * an ordinary socket, no more callbacks.  True when it was let go.
 */
static __always_inline bool preclass_let_go(struct bpf_sock_ops *skops)
{
	if (!skops->bytes_received)
		return false;
	bpf_sock_ops_cb_flags_set(skops, 0);
	return true;
}

#endif /* ALPNSTEER_PRECLASS_BPF_H */
