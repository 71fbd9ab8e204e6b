/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * trace.bpf.h - an event for each acme-tls/1 hello the verdict leaves to
 * the webserver (not pending, no slot, source capped, split, draining), so
 * that the validation trace can say why a validation was not answered
 * (docs/design.md, "The validation trace").  Steered hellos have their own
 * event (AE_STEERED) already.
 *
 * Anyone may send acme-tls/1 hellos, so the events are bounded: at most
 * ALPNSTEER_TRACE_BURST per CPU in each ALPNSTEER_TRACE_WINDOW_NS window
 * (a per-CPU count, no lock, no cross-CPU race), the rest only counted
 * (trace_dropped).  A CA's burst for one order (a dozen hellos a name
 * within a second) is far below it.
 */
#ifndef ALPNSTEER_TRACE_BPF_H
#define ALPNSTEER_TRACE_BPF_H

#include "maps.bpf.h"

struct trace_rate {
	__u64 window; /* bpf_ktime_get_ns() / ALPNSTEER_TRACE_WINDOW_NS */
	__u32 sent;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct trace_rate);
} trace_rate SEC(".maps");

static __always_inline int trace_allow(void)
{
	__u64 w = bpf_ktime_get_ns() / ALPNSTEER_TRACE_WINDOW_NS;
	struct trace_rate *r;
	__u32 zero = 0;

	r = bpf_map_lookup_elem(&trace_rate, &zero);
	if (!r)
		return 0;
	if (r->window != w) {
		r->window = w;
		r->sent = 0;
	}
	if (r->sent >= ALPNSTEER_TRACE_BURST)
		return 0;
	r->sent++;
	return 1;
}

/* Who sent it: the client (client_of(): behind a PROXY header, the one
 * it named), and why it stayed. */
struct trace_who {
	__u32 verdict;
	__u32 family;
	__u32 port;
	__u32 local_port;
	__u32 ip[4];
};

/* Not inlined: six call sites in the verdict, one copy of the code. */
static __noinline void trace_hello(const struct trace_who *w,
				   const struct ch_info *info)
{
	struct alpnsteer_hello_event *e;

	if (!trace_allow()) {
		count(AC_TRACE_DROPPED);
		return;
	}
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(AC_TRACE_DROPPED);
		return;
	}
	e->type = AE_HELLO;
	e->verdict = w->verdict;
	e->family = w->family;
	e->remote_port = w->port;
	e->local_port = w->local_port;
	e->sni_len = info->sni_len;
	e->remote_ip[0] = w->ip[0];
	e->remote_ip[1] = w->ip[1];
	e->remote_ip[2] = w->ip[2];
	e->remote_ip[3] = w->ip[3];
	/* The whole NUL-padded buffer: fixed size, nothing to prove. */
	__builtin_memcpy(e->sni, info->sni, sizeof(e->sni));
	bpf_ringbuf_submit(e, 0);
}

#endif
