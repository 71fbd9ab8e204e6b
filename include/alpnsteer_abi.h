/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * alpnsteer_abi.h - what the BPF programs and user space share.
 *
 * Only fixed-width __u32/__u64 (and __u8 byte arrays) so the same layout is
 * seen by clang -target bpf and by the host compiler.  Everything here is
 * visible in `bpftool map dump pinned /sys/fs/bpf/alpnsteer/...` through BTF,
 * so names are chosen to read well there.
 */
#ifndef ALPNSTEER_ABI_H
#define ALPNSTEER_ABI_H

#ifndef __VMLINUX_H__ /* BPF side: vmlinux.h already has the types */
#include <linux/types.h>
#endif

#define ALPNSTEER_PIN_DIR "/sys/fs/bpf/alpnsteer"
#define ALPNSTEER_MAX_PORTS 8
#define ALPNSTEER_MAX_POOL 1024
#define ALPNSTEER_MAX_CONNS 65536
#define ALPNSTEER_MAX_PENDING 1024
#define ALPNSTEER_NAME_MAX 256 /* 255 bytes of host_name + NUL */
#define ALPNSTEER_MAX_IFACES 8 /* --preclassify interfaces */

/* Largest TLSPlaintext record (2^14) plus the 2048 bytes TLSCiphertext may
 * add: a first record that claims more cannot be a real ClientHello, so the
 * verdict leaves it to the webserver at once. */
#define ALPNSTEER_MAX_RECORD (16384 + 2048)

/* Longest PROXY protocol header taken in front of a hello (--proxy-protocol):
 * v1's own limit is 107 bytes; a v2 header with more TLVs than fit here is
 * left to the webserver. */
#define ALPNSTEER_PROXY_MAX 256

/* --proxy-from: the balancers whose PROXY headers are believed.  A few
 * load balancers (or their subnets) is what a site has: a bounded list
 * checked with a bounded loop in the verdict. */
#define ALPNSTEER_MAX_PROXY_FROM 16

/* One --proxy-from prefix, network byte order, IPv4 in addr[0] and
 * mask[0]: a peer p is in it when (p[i] & mask[i]) == addr[i] for all i. */
struct alpnsteer_cidr {
	__u32 family; /* AF_INET (2) or AF_INET6 (10) */
	__u32 plen;
	__u32 addr[4]; /* already masked */
	__u32 mask[4];
};

/* Per-connection classification, kept in socket-local storage. */
enum alpnsteer_verdict {
	AS_UNDECIDED = 0,
	AS_NORMAL = 1, /* TLS without acme-tls/1: stays with the webserver */
	AS_NOT_TLS = 2, /* first bytes are not a TLS handshake record */
	AS_MALFORMED = 3, /* TLS record that is not a well-formed ClientHello */
	AS_NOT_PENDING = 4, /* acme-tls/1, but its SNI is not a pending name */
	AS_NO_SLOT = 5, /* acme-tls/1, but the responder pool is exhausted */
	AS_NO_RESPONDER = 6, /* acme-tls/1, but the slot's socket is gone */
	AS_STEERED = 7, /* handed to the responder, slot in conn_state */
	AS_DRAINING = 8, /* acme-tls/1 during detach: left to the webserver */
	AS_SPLIT = 9, /* first skb holds neither the whole hello nor its
			     * ALPN (and SNI): left to the webserver */
	AS_SRC_CAPPED = 10, /* acme-tls/1, but its source prefix holds its
			       share of the pool (settings.src_cap) */
	AS_PROXY_BAD = 11, /* --proxy-protocol port, but no well-formed PROXY
			     * header in the first skb: left to the webserver */
	AS_PROXY_UNTRUSTED = 12, /* --proxy-protocol port, but the peer is
				  * none of --proxy-from: left to the
				  * webserver, its header unread */
};

struct alpnsteer_conn_state {
	__u32 verdict; /* enum alpnsteer_verdict */
	__u32 slot;
	__u32 release_tries; /* RTT callbacks that tried to release it */
	/* --proxy-protocol: the header came alone in the first skb and went
	 * to the webserver; the hello is the next skb.  The client it named
	 * (family 0: none, the connection's own peer is the client). */
	__u32 proxy_seen;
	__u32 client_family;
	__u32 client_port; /* host byte order */
	__u32 client_ip[4]; /* network byte order */
	/* steered: the unread gap its SO_RCVLOWAT was set above (0: none) */
	__u32 quieted;
	/* the drain's reaper first found a task inside its psock (a reader
	 * asleep in recv()), bpf_ktime_get_ns(); 0: never */
	__u64 reader_ns;
};

/* One entry per responder slot, indexed by slot number. */
struct alpnsteer_slot {
	__u64 owner_cookie; /* socket cookie of the client connection, 0 = free */
	__u64 steered_ns; /* bpf_ktime_get_ns() when it was taken */
	/* The client's source prefix: family, then its /24 (IPv4) or /48
	 * (IPv6), network byte order; what settings.src_cap counts. */
	__u32 src_prefix[4];
};

/* Key of the pending-identifier hash: the lowercase SNI, NUL padded. */
struct alpnsteer_name {
	__u8 name[ALPNSTEER_NAME_MAX];
};

/*
 * Per-CPU counters, indexed by enum alpnsteer_counter: X(id, name) for
 * each, in index order.  The one list makes both the enum and the names
 * that `alpnsteer status` prints and `status -j` uses as keys (an
 * interface: names are only ever added, never renamed), so a counter
 * cannot be added without its name.  New counters go at the end.
 */
#define ALPNSTEER_COUNTERS(X)                                                \
	X(AC_SEEN, "seen") /* inserted into the conns sockhash */            \
	X(AC_INSERT_FAILED, "insert_failed") /* sockhash full: left alone */ \
	X(AC_STEERED, "steered") /* acme-tls/1 handed to the responder */    \
	X(AC_NORMAL, "normal") /* TLS hellos without acme-tls/1 */           \
	X(AC_NOT_TLS, "not_tls") /* first bytes not a TLS handshake */       \
	X(AC_MALFORMED, "malformed") /* TLS, not a parseable ClientHello */  \
	X(AC_NOT_PENDING, "not_pending") /* acme-tls/1, name not pending */  \
	X(AC_NO_SLOT, "no_slot") /* acme-tls/1 with the pool exhausted */    \
	X(AC_NO_RESPONDER, "no_responder") /* slot socket gone (daemon) */   \
	X(AC_OVERSIZED, "oversized") /* first record > any ClientHello */    \
	X(AC_RELEASED, "released") /* normal sockets that left conns */      \
	X(AC_RELEASE_DEFERRED, "release_deferred") /* postponed by guard */  \
	X(AC_STALE_DROPPED, "stale_dropped") /* client's slot recycled */    \
	X(AC_REPLY_SENT, "reply_sent") /* responder writes sent on */        \
	X(AC_REPLY_DROPPED, "reply_dropped") /* writes with no client */     \
	X(AC_CLIENT_CLOSED, "client_closed") /* steered clients closed */    \
	X(AC_PASSED_DRAINING, "passed_draining") /* acme-tls/1, detaching */ \
	/* released at the first RTT callback after the verdict */           \
	X(AC_RELEASED_FIRST, "released_first")                               \
	/* --preclassify: no acme-tls/1, decided in tc, never inserted */    \
	X(AC_PRECLASS_NORMAL, "preclass_normal")                             \
	X(AC_EARLY, "early") /* bytes in the handshake (deferred, TFO) */    \
	X(AC_SPLIT, "split") /* hellos undecidable from their first skb */   \
	/* released at the client's FIN, before the webserver read it */     \
	X(AC_RELEASED_CLOSING, "released_closing")                           \
	X(AC_REAPED, "reaped") /* released by the drain's socket iterator */ \
	/* acme-tls/1 whose source prefix held src_cap slots already */      \
	X(AC_SRC_CAPPED, "src_capped")                                       \
	X(AC_PROXIED, "proxied") /* hellos behind a PROXY header */          \
	/* --proxy-protocol port, no whole well-formed PROXY header first */ \
	X(AC_PROXY_BAD, "proxy_bad")                                         \
	/* reaped while a segment arrived: the unlocked release's window */  \
	X(AC_REAP_RACED, "reap_raced")                                       \
	/* acme-tls/1 hellos not steered whose event the rate bound or a   \
	 * full ring buffer kept from the validation trace */ \
	X(AC_TRACE_DROPPED, "trace_dropped")                                 \
	/* reaped although a reader slept on it: the drain's fail-open */    \
	X(AC_REAPED_READER, "reaped_reader")                                 \
	/* --proxy-protocol port, peer not in --proxy-from: webserver's */   \
	X(AC_PROXY_UNTRUSTED, "proxy_untrusted")                             \
	/* normal sockets of a blocking descriptor: kept, not released */    \
	X(AC_KEPT_BLOCKING, "kept_blocking")

#define __ALPNSTEER_COUNTER_ID(id, name) id,
enum alpnsteer_counter {
	ALPNSTEER_COUNTERS(__ALPNSTEER_COUNTER_ID) AC__MAX,
};
#undef __ALPNSTEER_COUNTER_ID

/* Initialiser of a const char *[AC__MAX], indexed by the counter. */
#define __ALPNSTEER_COUNTER_NAME(id, name) [id] = name,
#define ALPNSTEER_COUNTER_NAMES ALPNSTEER_COUNTERS(__ALPNSTEER_COUNTER_NAME)

enum alpnsteer_event_type {
	AE_STEERED = 1, /* a connection was handed to slot */
	AE_CLIENT_CLOSED = 2, /* the client side of slot's connection closed */
	AE_HELLO = 3, /* an acme-tls/1 hello that was not steered */
};

/* Ring-buffer record, one per steered connection and one at its close. */
struct alpnsteer_event {
	__u32 type; /* enum alpnsteer_event_type */
	__u32 slot;
	__u64 cookie; /* socket cookie of the client connection */
	__u32 family; /* AF_INET or AF_INET6 */
	__u32 remote_port; /* host byte order */
	__u32 local_port; /* host byte order */
	__u32 sni_len;
	__u32 remote_ip[4]; /* network byte order; IPv4 in remote_ip[0] */
	__u32 local_ip[4];
	__u8 sni[ALPNSTEER_NAME_MAX];
	/* Behind a PROXY header, remote_* is the client the header named
	 * and via_* the connection's own peer (the load balancer). */
	__u32 proxy; /* PROXY protocol version, 0: none */
	__u32 via_family;
	__u32 via_port;
	__u32 via_ip[4];
};

/*
 * Ring-buffer record of an acme-tls/1 hello the verdict did not steer
 * (not pending, no slot, source capped, split, draining), for the
 * validation trace (docs/design.md, "The validation trace").  Compact:
 * no cookie, slot or local address, only what the trace shows.  Rate
 * bounded in the kernel (ALPNSTEER_TRACE_BURST per CPU and
 * ALPNSTEER_TRACE_WINDOW_NS), the rest counted trace_dropped.
 */
struct alpnsteer_hello_event {
	__u32 type; /* AE_HELLO: first, as in struct alpnsteer_event */
	__u32 verdict; /* enum alpnsteer_verdict: why it stayed */
	__u32 family; /* AF_INET or AF_INET6 (the PROXY header's client) */
	__u32 remote_port; /* host byte order */
	__u32 local_port; /* host byte order */
	__u32 sni_len; /* 0: none parsed (a split hello before its SNI) */
	__u32 remote_ip[4]; /* network byte order; IPv4 in remote_ip[0] */
	__u8 sni[ALPNSTEER_NAME_MAX];
};

#define ALPNSTEER_TRACE_BURST 64
#define ALPNSTEER_TRACE_WINDOW_NS 100000000ULL /* 100 ms */

/* Runtime settings the daemon changes while attached (single-entry array). */
struct alpnsteer_settings {
	__u32 sni_filter; /* 1: steer only SNIs present in pending_names */
	__u32 draining; /* 1: detach under way, catch and steer nothing new */
	__u32 src_cap; /* slots one source prefix may hold, 0: no cap */
};

#endif /* ALPNSTEER_ABI_H */
