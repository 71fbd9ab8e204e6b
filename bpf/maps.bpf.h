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

/* Load-time configuration, set by the loader through the skeleton. */
const volatile __u32 ports[ALPNSTEER_MAX_PORTS] = { 443 };
const volatile __u32 nr_ports = 1;
const volatile __u64 netns_cookie; /* 0: any network namespace */
const volatile __u32 pool_size = 1;
/* --preclassify: the tc program decides which connections enter conns;
 * sock_ops then only names the socket (cookie) and watches it. */
const volatile __u32 preclassify;
/* --proxy-protocol PORT: ports whose connections begin with a PROXY
 * protocol header from a load balancer (a subset of ports[]). */
const volatile __u32 proxy_ports[ALPNSTEER_MAX_PORTS];
const volatile __u32 nr_proxy_ports;

/* Webserver child sockets on a steered port, keyed by socket cookie.  The
 * verdict is attached here (BPF_SK_SKB_VERDICT, no stream parser). */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, ALPNSTEER_MAX_CONNS);
	__type(key, __u64);
	__type(value, __u64);
} conns SEC(".maps");

/* Responder-side socket of each slot, indexed by slot.  sk_msg is attached
 * here: what the responder writes goes out on the client's connection. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, ALPNSTEER_MAX_POOL);
	__type(key, __u32);
	__type(value, __u64);
} pool SEC(".maps");

/* Slots ready to take a connection; the daemon pushes, the verdict pops. */
struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, ALPNSTEER_MAX_POOL);
	__type(value, __u32);
} free_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ALPNSTEER_MAX_POOL);
	__type(key, __u32);
	__type(value, struct alpnsteer_slot);
} slots SEC(".maps");

/* sk_msg cannot read a socket cookie, so the responder-side sockets are
 * known by their local port: port -> slot. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ALPNSTEER_MAX_POOL);
	__type(key, __u32);
	__type(value, __u32);
} pool_ports SEC(".maps");

/* How each caught connection was classified, by socket cookie.  Socket
 * storage would free itself, but sk_skb programs may not use it; entries
 * are removed at release and at close instead. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ALPNSTEER_MAX_CONNS);
	__type(key, __u64);
	__type(value, struct alpnsteer_conn_state);
} conn_state SEC(".maps");

/* SNIs that have a pending validation (lowercase, NUL padded). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ALPNSTEER_MAX_PENDING);
	__type(key, struct alpnsteer_name);
	__type(value, __u32);
} pending_names SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct alpnsteer_settings);
} settings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AC__MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* The parse result is larger than a comfortable stack frame. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ch_info);
} ch_scratch SEC(".maps");

/* The PROXY header parse, same reason (include/proxyhdr.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ph_info);
} ph_scratch SEC(".maps");

static __always_inline void count(__u32 id)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &id);

	if (v)
		*v += 1; /* per-CPU: no atomics needed */
}

#endif /* ALPNSTEER_MAPS_BPF_H */
