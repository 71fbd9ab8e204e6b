/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * maps.bpf.h - the maps of alpnsteer and the small helpers around them.
 *
 * Map names are what `bpftool map show` and the pins under
 * /sys/fs/bpf/alpnsteer/ display, so they say what they hold.
 */
#ifndef ALPNSTEER_MAPS_BPF_H
#define ALPNSTEER_MAPS_BPF_H

#include "alpnsteer_abi.h"

/*
 * alpnsteer.bpf.c defines the maps and the load-time configuration.  The
 * other objects linked with it into the one skeleton object (bpftool gen
 * object; preclass.bpf.c) include this header with ALPNSTEER_EXTERN
 * defined and see the same globals as extern declarations: libbpf's static
 * linker resolves each to the one definition, and refuses to link when an
 * extern map's definition differs from it.
 */
#ifdef ALPNSTEER_EXTERN
#define __shared extern
#define __init(...)
#else
#define __shared
#define __init(...) = __VA_ARGS__
#endif

/* Load-time configuration, set by the loader through the skeleton. */
__shared const volatile __u32 ports[ALPNSTEER_MAX_PORTS] __init({ 443 });
__shared const volatile __u32 nr_ports __init(1);
__shared const volatile __u64 netns_cookie; /* 0: any network namespace */
__shared const volatile __u32 pool_size __init(1);
/* --preclassify: the tc program decides which connections enter conns;
 * sock_ops then only names the socket (cookie) and watches it. */
__shared const volatile __u32 preclassify;
/* --proxy-protocol PORT: ports whose connections begin with a PROXY
 * protocol header from a load balancer (a subset of ports[]). */
__shared const volatile __u32 proxy_ports[ALPNSTEER_MAX_PORTS];
__shared const volatile __u32 nr_proxy_ports;
/* --proxy-from: frozen with the rest of the configuration at load, so
 * nothing after the load (not even the monitor, which holds the maps)
 * can widen the balancers that may name a client. */
__shared const volatile struct alpnsteer_cidr
	proxy_from[ALPNSTEER_MAX_PROXY_FROM];
__shared const volatile __u32 nr_proxy_from;

/* Webserver child sockets on a steered port, keyed by socket cookie.  The
 * verdict is attached here (BPF_SK_SKB_VERDICT, no stream parser). */
__shared struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, ALPNSTEER_MAX_CONNS);
	__type(key, __u64);
	__type(value, __u64);
} conns SEC(".maps");

/* Responder-side socket of each slot, indexed by slot.  sk_msg is attached
 * here: what the responder writes goes out on the client's connection. */
__shared struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, ALPNSTEER_MAX_POOL);
	__type(key, __u32);
	__type(value, __u64);
} pool SEC(".maps");

/* The other end of each slot's pair, indexed by slot, no program attached:
 * the verdict redirects a steered client's bytes to its egress, and the
 * psock's backlog sends them with tcp_sendmsg() under this socket's lock,
 * over loopback to the pool socket (docs/design.md, "The responder
 * pool": an ingress redirect charges the pool socket without its lock). */
__shared struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, ALPNSTEER_MAX_POOL);
	__type(key, __u32);
	__type(value, __u64);
} pool_peer SEC(".maps");

/* Slots ready to take a connection; the daemon pushes, the verdict pops. */
__shared struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, ALPNSTEER_MAX_POOL);
	__type(value, __u32);
} free_slots SEC(".maps");

__shared struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ALPNSTEER_MAX_POOL);
	__type(key, __u32);
	__type(value, struct alpnsteer_slot);
} slots SEC(".maps");

/* sk_msg cannot read a socket cookie, so the responder-side sockets are
 * known by their local port: port -> slot. */
__shared struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ALPNSTEER_MAX_POOL);
	__type(key, __u32);
	__type(value, __u32);
} pool_ports SEC(".maps");

/* How each caught connection was classified, by socket cookie.  Socket
 * storage would free itself, but sk_skb programs may not use it; entries
 * are removed at release and at close instead. */
__shared struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ALPNSTEER_MAX_CONNS);
	__type(key, __u64);
	__type(value, struct alpnsteer_conn_state);
} conn_state SEC(".maps");

/* SNIs that have a pending validation (lowercase, NUL padded). */
__shared struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ALPNSTEER_MAX_PENDING);
	__type(key, struct alpnsteer_name);
	__type(value, __u32);
} pending_names SEC(".maps");

__shared struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct alpnsteer_settings);
} settings SEC(".maps");

__shared struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AC__MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

__shared struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* The parse result is larger than a comfortable stack frame. */
__shared struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ch_info);
} ch_scratch SEC(".maps");

/* The PROXY header parse, same reason (include/proxyhdr.h). */
__shared struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ph_info);
} ph_scratch SEC(".maps");

static __always_inline int port_is_steered(__u32 port)
{
	__u32 i;

	for (i = 0; i < ALPNSTEER_MAX_PORTS; i++) {
		if (i >= nr_ports)
			break;
		if (ports[i] == port)
			return 1;
	}
	return 0;
}

static __always_inline struct alpnsteer_settings *get_settings(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&settings, &zero);
}

static __always_inline void count(__u32 id)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &id);

	if (v)
		*v += 1; /* per-CPU: no atomics needed */
}

#undef __init
#undef __shared

#endif /* ALPNSTEER_MAPS_BPF_H */
