// SPDX-License-Identifier: GPL-2.0-only
/*
 * alpnsteer.bpf.c - steer ACME TLS-ALPN-01 handshakes away from the webserver.
 *
 *  sock_ops     catches each passively established connection on a steered
 *               port into the conns sockhash, and lets normal connections
 *               leave it again (release) once it is safe;
 *  verdict      parses the ClientHello in each skb as the kernel reads it
 *               from the receive queue (no stream parser: docs/design.md,
 *               "One verdict, no stream parser"); acme-tls/1 (for a pending
 *               name) goes to a responder slot (sent from the slot pair's
 *               other end, pool_peer), everything else stays with the
 *               webserver;
 *  reply        (sk_msg on the pool) sends what the responder writes out on
 *               the client's connection;
 *  reap         (tcp iterator, run by the drain) releases the caught sockets
 *               that hold nothing, such as silent ones, so that they cannot
 *               hold a detach.
 *
 * A fifth program, the tc pre-classifier of --preclassify (an experiment,
 * off by default), is preclass.bpf.c, linked into the same object; this
 * file defines the maps they share (maps.bpf.h).
 *
 * Any doubt ends in SK_PASS to the webserver: normal traffic must never be
 * the victim of a steering failure.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>

#include "clienthello.h"
#include "proxyhdr.h"
#include "maps.bpf.h"
#include "preclass.bpf.h"
#include "psock.bpf.h"
#include "srccap.bpf.h"
#include "trace.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define EPERM 1
#define ENOENT 2
#define EAGAIN 11
#define EBUSY 16
#define AF_INET 2
#define AF_INET6 10
#define SOL_SOCKET 1
#define SO_RCVLOWAT 18

static __always_inline int port_is_proxied(__u32 port)
{
	__u32 i;

	for (i = 0; i < ALPNSTEER_MAX_PORTS; i++) {
		if (i >= nr_proxy_ports)
			break;
		if (proxy_ports[i] == port)
			return 1;
	}
	return 0;
}

/* Bytes of payload in the segment that established the connection: the
 * client's first data when the listener defers accept (TCP_DEFER_ACCEPT),
 * or a TCP Fast Open SYN.  0 when it cannot be told.  Counted (early), and
 * tc cannot have seen those bytes as a connection's (--preclassify). */
static __always_inline __u32 handshake_payload(struct bpf_sock_ops *skops)
{
	void *data = (void *)(long)skops->skb_data;
	void *end = (void *)(long)skops->skb_data_end;
	struct tcphdr *th = data;
	__u32 hdr;

	if (data + sizeof(*th) > end)
		return 0;
	hdr = th->doff * 4;
	return skops->skb_len > hdr ? skops->skb_len - hdr : 0;
}

static __always_inline void catch_conn(struct bpf_sock_ops *skops)
{
	struct alpnsteer_conn_state undecided = {};
	struct alpnsteer_settings *cfg;
	__u64 cookie;
	__u32 early;

	if (!port_is_steered(skops->local_port))
		return;
	/* Draining: the sock_ops link stays so that sockets already caught
	 * keep getting the RTT callbacks that release them, but nothing new
	 * enters the map. */
	cfg = get_settings();
	if (!cfg || cfg->draining)
		return;
	/* The pool lives in the daemon's namespace; a namesake port in a
	 * container is none of our business. */
	if (netns_cookie && bpf_get_netns_cookie(skops) != netns_cookie)
		return;
	cookie = bpf_get_socket_cookie(skops);
	early = handshake_payload(skops);
	if (preclassify && !early) {
		preclass_watch(skops); /* tc decides: preclass.bpf.h */
		return;
	}
	if (bpf_map_update_elem(&conn_state, &cookie, &undecided, BPF_ANY)) {
		count(AC_INSERT_FAILED);
		return;
	}
	if (bpf_sock_hash_update(skops, &conns, &cookie, BPF_NOEXIST)) {
		bpf_map_delete_elem(&conn_state, &cookie);
		count(AC_INSERT_FAILED);
		return;
	}
	count(AC_SEEN);
	if (early)
		count(AC_EARLY);
	bpf_sock_ops_cb_flags_set(skops, BPF_SOCK_OPS_RTT_CB_FLAG |
						 BPF_SOCK_OPS_STATE_CB_FLAG);
}

/*
 * The one way out of conns, for every release point: only with the socket
 * locked (all callers but the drain's reaper, which checks sock_quiet()),
 * only when the psock holds nothing but @fin trailing sequence numbers and
 * no task is inside it (a reader asleep in recv(): psock_in_use()) nor may
 * be entering it (a blocking descriptor: sock_blocking()), unless
 * @reader_ok, and the socket's state goes with it.  0: released; -EPERM:
 * a blocking descriptor, kept until it closes or the drain lets it go;
 * -EAGAIN: the psock still holds bytes; -EBUSY: a task is inside it;
 * -ENOENT: no psock, or not in conns.
 */
static __always_inline int leave_conns(struct tcp_sock *tp, __u64 *cookie,
				       __u32 fin, bool reader_ok)
{
	struct sk_psock *psock;

	if (!reader_ok && sock_blocking(tp))
		return -EPERM;
	psock = psock_of(tp);
	if (!psock)
		return -ENOENT;
	if (!psock_holds_nothing(tp, psock, fin))
		return -EAGAIN;
	if (!reader_ok && psock_in_use(psock))
		return -EBUSY;
	if (bpf_map_delete_elem(&conns, cookie))
		return -ENOENT;
	bpf_map_delete_elem(&conn_state, cookie);
	return 0;
}

/*
 * The webserver keeps an idle descriptor for a steered connection, and it
 * must look idle.  When the hello came before accept (TCP_DEFER_ACCEPT,
 * Apache's default), the verdict redirected it inside the webserver's own
 * first recvmsg(), and tcp_bpf_recvmsg_parser() then writes back the
 * copied_seq it read on entry, undoing tcp_eat_skb()'s advance: rcv_nxt
 * stays ahead of copied_seq by the hello, tcp_poll() reports the socket
 * readable for as long as the client holds it, and every read returns
 * EAGAIN.  A level-triggered event loop (Apache's mpm_event) spins on it.
 * Nothing can mend copied_seq from here, so the socket's receive low-water
 * mark is set just above that gap (SO_RCVLOWAT): the stuck bytes no longer
 * make it readable, while each new byte still reaches tcp_data_ready()'s
 * threshold, so the verdict keeps steering the client's next flights (a
 * mark far above would stop them: tcp_data_ready() calls sk_data_ready
 * only past it).  The client's FIN (SOCK_DONE) always wakes the webserver.
 * Done at each RTT callback of a steered socket (the ACK of a reply of
 * the responder, socket locked) whose gap has changed, and only when the
 * receive queue is empty: bytes still queued there have not been through
 * the verdict yet (a redirect that fails, to a slot closed meanwhile,
 * stops tcp_read_skb() with the skbs behind it left queued), and a mark
 * set above them would keep tcp_data_ready() from ever handing them over.
 * After a reset (no SOCK_DONE) the webserver's read then finds them still
 * queued and returns EAGAIN, again and again: nginx waited out its 60 s
 * handshake timeout on pebble's reset validations (docs/design.md,
 * "Steered connections").
 */
static __always_inline void quiet_steered(struct bpf_sock_ops *skops,
					  struct alpnsteer_conn_state *st)
{
	struct bpf_sock *sk = skops->sk;
	struct tcp_sock *tp;
	__u32 gap;
	int lowat;

	if (!sk)
		return;
	tp = bpf_skc_to_tcp_sock(sk);
	if (!tp)
		return;
	if (tp->inet_conn.icsk_inet.sk.sk_receive_queue.qlen)
		return;
	gap = tp->rcv_nxt - tp->copied_seq;
	lowat = gap + 1;
	if (!gap || gap > (1 << 20) || st->quieted == gap)
		return;
	st->quieted = gap;
	bpf_setsockopt(skops, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof(lowat));
}

/*
 * Self-release (docs/design.md, "Release points").  A normal socket leaves
 * its sockhash from RTT_CB, which runs in tcp_ack() with the socket locked
 * and not under sk_callback_lock, and only when the psock holds nothing: no
 * queued message, no skb waiting for the verdict, and the webserver has
 * read everything TCP received.  Removing it with bytes still held by the
 * psock loses them and corrupts the stream.  When the guard fails, the next
 * RTT_CB tries again.
 */
static __always_inline void try_release(struct bpf_sock_ops *skops)
{
	struct alpnsteer_conn_state *st;
	struct tcp_sock *tp;
	struct bpf_sock *sk;
	__u64 cookie;
	__u32 tries;
	int err;

	sk = skops->sk;
	if (!sk)
		return;
	cookie = bpf_get_socket_cookie(skops);
	st = bpf_map_lookup_elem(&conn_state, &cookie);
	if (!st && preclassify && preclass_let_go(skops))
		return; /* tc did not insert it: preclass.bpf.h */
	/* Undecided sockets wait for their verdict; steered ones stay in
	 * the map for life so their bytes keep flowing to the responder. */
	if (st && st->verdict == AS_STEERED) {
		quiet_steered(skops, st);
		return;
	}
	if (!st || st->verdict == AS_UNDECIDED)
		return;
	/* Counted so that the cost of the guards is visible: how many
	 * sockets leave at their first chance (released_first) and how many
	 * need later RTT callbacks. */
	tries = st->release_tries++;
	tp = bpf_skc_to_tcp_sock(sk);
	if (!tp)
		return;
	err = leave_conns(tp, &cookie, 0, false);
	/* A blocking descriptor stays caught until it closes or the drain
	 * lets it go: its bytes, and its FIN, go through the psock, slower
	 * but never an EAGAIN (sock_blocking()).  Counted once. */
	if (err == -EPERM && !tries)
		count(AC_KEPT_BLOCKING);
	if (err == -EAGAIN || err == -EBUSY)
		count(AC_RELEASE_DEFERRED);
	if (err)
		return;
	/* An ordinary socket again: no more callbacks, no more cost. */
	bpf_sock_ops_cb_flags_set(skops, 0);
	count(AC_RELEASED);
	if (!tries)
		count(AC_RELEASED_FIRST);
}

static __always_inline void on_close(struct bpf_sock_ops *skops)
{
	__u64 cookie = bpf_get_socket_cookie(skops);
	struct alpnsteer_conn_state *st;
	struct alpnsteer_event *e;
	__u32 slot;

	st = bpf_map_lookup_elem(&conn_state, &cookie);
	if (!st)
		return;
	if (st->verdict != AS_STEERED) {
		bpf_map_delete_elem(&conn_state, &cookie);
		return;
	}
	slot = st->slot;
	bpf_map_delete_elem(&conn_state, &cookie);
	count(AC_CLIENT_CLOSED);
	/* Tell the daemon the slot's client is gone so it can recycle it. */
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	e->type = AE_CLIENT_CLOSED;
	e->slot = slot;
	e->cookie = cookie;
	bpf_ringbuf_submit(e, 0);
}

/*
 * The client's FIN has just been queued (ESTABLISHED -> CLOSE_WAIT, from
 * tcp_fin(), socket locked) and the webserver has not been told yet.  A
 * socket that is still caught would hand the FIN to the psock, whose
 * handling of a FIN queued before accept() has left the webserver waiting
 * for its own timeout (a health check's connect-and-close).  So every
 * caught socket that is not steered and holds nothing but this FIN leaves
 * its sockhash here: the FIN is then read the ordinary way, at once.
 * Not while a reader sleeps in the psock (psock_in_use()), nor for a
 * blocking descriptor, where one may be entering (sock_blocking()): woken
 * by the ordinary path it would return EAGAIN; the psock hands it the FIN
 * as the end of the stream instead (tcp_bpf_recvmsg_parser()'s
 * is_next_msg_fin()).
 */
static __always_inline void release_closing(struct bpf_sock_ops *skops)
{
	struct alpnsteer_conn_state *st;
	struct bpf_sock *sk = skops->sk;
	struct tcp_sock *tp;
	__u64 cookie;

	if (!sk)
		return;
	cookie = bpf_get_socket_cookie(skops);
	st = bpf_map_lookup_elem(&conn_state, &cookie);
	if (!st || st->verdict == AS_STEERED)
		return;
	tp = bpf_skc_to_tcp_sock(sk);
	if (!tp || leave_conns(tp, &cookie, 1, false))
		return;
	bpf_sock_ops_cb_flags_set(skops, 0);
	count(AC_RELEASED_CLOSING);
}

SEC("sockops")
int alpnsteer_sockops(struct bpf_sock_ops *skops)
{
	switch (skops->op) {
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		catch_conn(skops);
		break;
	case BPF_SOCK_OPS_RTT_CB:
		try_release(skops);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		if (skops->args[1] == BPF_TCP_CLOSE_WAIT)
			release_closing(skops);
		else if (skops->args[1] == BPF_TCP_CLOSE)
			on_close(skops);
		break;
	}
	return 1;
}

/* The peer of @skb's connection, whatever a PROXY header says.  @ip in
 * network byte order, IPv4 in ip[0]. */
static __always_inline __u32 peer_of(struct __sk_buff *skb, __u32 ip[4],
				     __u32 *port)
{
	__u32 family, v4, a, b, c, d;

	/* Every field read whatever the family: a load from a pointer the
	 * compiler picked between two ctx fields is refused by the
	 * verifier ("dereference of modified ctx ptr"). */
	family = skb->family;
	v4 = skb->remote_ip4;
	a = skb->remote_ip6[0];
	b = skb->remote_ip6[1];
	c = skb->remote_ip6[2];
	d = skb->remote_ip6[3];
	barrier_var(v4);
	barrier_var(a);
	barrier_var(b);
	barrier_var(c);
	barrier_var(d);
	if (family == AF_INET6) {
		ip[0] = a;
		ip[1] = b;
		ip[2] = c;
		ip[3] = d;
	} else {
		ip[0] = v4;
		ip[1] = ip[2] = ip[3] = 0;
	}
	*port = bpf_ntohl(skb->remote_port);
	return family;
}

/* The client of @skb's connection: the one its PROXY header named, or
 * else its own peer.  @ip in network byte order, IPv4 in ip[0]. */
static __always_inline __u32 client_of(struct __sk_buff *skb,
				       const struct alpnsteer_conn_state *st,
				       __u32 ip[4], __u32 *port)
{
	if (st->client_family) {
		ip[0] = st->client_ip[0];
		ip[1] = st->client_ip[1];
		ip[2] = st->client_ip[2];
		ip[3] = st->client_ip[3];
		*port = st->client_port;
		return st->client_family;
	}
	return peer_of(skb, ip, port);
}

/* 1 when the peer is one of --proxy-from, the balancers whose PROXY
 * headers are believed.  Anyone else could name any client in a header:
 * one peer got a slot per network it named under --per-source, capped a
 * CA's /24 on purpose, and exhausted the pool (issue 20). */
static __always_inline int peer_may_proxy(struct __sk_buff *skb)
{
	__u32 ip[4], family, port, i;

	family = peer_of(skb, ip, &port);
	/* On a dual-stack listener an IPv4 balancer is ::ffff:a.b.c.d. */
	if (family == AF_INET6 && !ip[0] && !ip[1] &&
	    ip[2] == bpf_htonl(0xffff)) {
		family = AF_INET;
		ip[0] = ip[3];
		ip[1] = ip[2] = ip[3] = 0;
	}
	for (i = 0; i < ALPNSTEER_MAX_PROXY_FROM; i++) {
		if (i >= nr_proxy_from)
			break;
		if (proxy_from[i].family != family)
			continue;
		if ((ip[0] & proxy_from[i].mask[0]) == proxy_from[i].addr[0] &&
		    (ip[1] & proxy_from[i].mask[1]) == proxy_from[i].addr[1] &&
		    (ip[2] & proxy_from[i].mask[2]) == proxy_from[i].addr[2] &&
		    (ip[3] & proxy_from[i].mask[3]) == proxy_from[i].addr[3])
			return 1;
	}
	return 0;
}

static __always_inline void fill_event(struct alpnsteer_event *e,
				       struct __sk_buff *skb, __u64 cookie,
				       __u32 slot, const struct ch_info *info,
				       const struct alpnsteer_conn_state *st)
{
	__u32 n = info->sni_len;

	e->type = AE_STEERED;
	e->slot = slot;
	e->cookie = cookie;
	e->family = skb->family;
	e->remote_port = bpf_ntohl(skb->remote_port);
	e->local_port = skb->local_port;
	if (skb->family == AF_INET6) {
		e->remote_ip[0] = skb->remote_ip6[0];
		e->remote_ip[1] = skb->remote_ip6[1];
		e->remote_ip[2] = skb->remote_ip6[2];
		e->remote_ip[3] = skb->remote_ip6[3];
		e->local_ip[0] = skb->local_ip6[0];
		e->local_ip[1] = skb->local_ip6[1];
		e->local_ip[2] = skb->local_ip6[2];
		e->local_ip[3] = skb->local_ip6[3];
	} else {
		e->remote_ip[0] = skb->remote_ip4;
		e->local_ip[0] = skb->local_ip4;
	}
	e->sni_len = n;
	/* The whole NUL-padded buffer: fixed size, nothing to prove. */
	__builtin_memcpy(e->sni, info->sni, sizeof(e->sni));
	if (!st->proxy_seen)
		return;
	e->proxy = st->proxy_seen;
	e->via_family = e->family;
	e->via_port = e->remote_port;
	e->via_ip[0] = e->remote_ip[0];
	e->via_ip[1] = e->remote_ip[1];
	e->via_ip[2] = e->remote_ip[2];
	e->via_ip[3] = e->remote_ip[3];
	if (st->client_family)
		e->family = client_of(skb, st, e->remote_ip, &e->remote_port);
}

/* Steering policy: which acme-tls/1 hellos belong to us. */
static __always_inline int name_is_ours(const struct alpnsteer_settings *cfg,
					const struct ch_info *info)
{
	/* Without a pending list (forward mode, no --domain) every
	 * acme-tls/1 hello is ours.  With one, a hello for another name stays
	 * with the webserver, which may run its own ACME client. */
	if (!cfg->sni_filter)
		return 1;
	return bpf_map_lookup_elem(&pending_names, info->sni) != NULL;
}

/* An acme-tls/1 hello left to the webserver, for the validation trace
 * (trace.bpf.h). */
static __always_inline void trace_left(struct __sk_buff *skb,
				       const struct alpnsteer_conn_state *st,
				       const struct ch_info *info,
				       __u32 verdict)
{
	struct trace_who w = { .verdict = verdict };

	w.family = client_of(skb, st, w.ip, &w.port);
	w.local_port = skb->local_port;
	trace_hello(&w, info);
}

/* A split hello (its ALPN not in the first skb) is traced only when its
 * SNI came and is a name we answer: whether it offered acme-tls/1 is not
 * known, and browsers' big hellos for other names are no validation. */
static __always_inline int split_is_ours(const struct ch_info *info)
{
	struct alpnsteer_settings *cfg = get_settings();

	return info->sni_len && cfg && name_is_ours(cfg, info);
}

static __always_inline int steer_first(struct __sk_buff *skb,
				       struct alpnsteer_conn_state *st,
				       __u64 cookie, const struct ch_info *info)
{
	struct alpnsteer_slot *s;
	struct alpnsteer_event *e;
	__u32 slot, src[4], ip[4], port, family;
	long r;

	family = client_of(skb, st, ip, &port);
	if (!srccap_allow(family, ip, src)) {
		st->verdict = AS_SRC_CAPPED;
		count(AC_SRC_CAPPED);
		trace_left(skb, st, info, AS_SRC_CAPPED);
		return SK_PASS;
	}
	if (bpf_map_pop_elem(&free_slots, &slot)) {
		st->verdict = AS_NO_SLOT;
		count(AC_NO_SLOT);
		trace_left(skb, st, info, AS_NO_SLOT);
		return SK_PASS;
	}
	s = bpf_map_lookup_elem(&slots, &slot);
	if (!s) {
		st->verdict = AS_NO_RESPONDER;
		count(AC_NO_RESPONDER);
		return SK_PASS;
	}
	/* Claim before redirecting: the reply path checks ownership. */
	s->owner_cookie = cookie;
	s->steered_ns = bpf_ktime_get_ns();
	srccap_claim(s, src);
	r = bpf_sk_redirect_map(skb, &pool_peer, slot, 0);
	if (r != SK_PASS) {
		/* The slot's socket is gone (daemon dead or exiting): the
		 * webserver gets the hello, the slot goes back for later. */
		s->owner_cookie = 0;
		bpf_map_push_elem(&free_slots, &slot, 0);
		st->verdict = AS_NO_RESPONDER;
		count(AC_NO_RESPONDER);
		return SK_PASS;
	}
	st->verdict = AS_STEERED;
	st->slot = slot;
	count(AC_STEERED);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		__builtin_memset(e, 0, sizeof(*e));
		fill_event(e, skb, cookie, slot, info, st);
		bpf_ringbuf_submit(e, 0);
	}
	return r;
}

/* Later bytes of a steered connection follow the first to its slot, but
 * only while the slot is still the client's: a recycled slot belongs to
 * someone else (a late close_notify once reached the next client).
 *
 * Not the client's bare FIN (its half-close: an skb with no byte).  Sent
 * to the slot pair's other end, the psock's backlog takes the 0 that
 * skb_send_sock() returns for it as a hard error: EPIPE on that socket,
 * its transmit stopped, the skb left queued.  And the webserver, woken by
 * tcp_fin() before the verdict ran, would find its psock empty: a reader
 * asleep in recv() returns EAGAIN (docs/design.md, "A client's
 * half-close").  Passed, the FIN becomes an empty message on the
 * webserver's own psock, which tcp_bpf_recvmsg_parser() reads as the end
 * of the stream; the slot never hears of it, and its responder answers
 * (the client reads it, if the webserver has not closed by then). */
static __always_inline int steer_more(struct __sk_buff *skb,
				      const struct alpnsteer_conn_state *st,
				      __u64 cookie)
{
	__u32 slot = st->slot;
	struct alpnsteer_slot *s;

	if (!skb->len)
		return SK_PASS;
	s = bpf_map_lookup_elem(&slots, &slot);
	if (!s || s->owner_cookie != cookie) {
		count(AC_STALE_DROPPED);
		return SK_DROP;
	}
	if (bpf_sk_redirect_map(skb, &pool_peer, slot, 0) != SK_PASS) {
		count(AC_STALE_DROPPED);
		return SK_DROP;
	}
	return SK_PASS;
}

static __always_inline int record_oversized(struct __sk_buff *skb, __u32 base)
{
	__u8 h[TLS_RECORD_HDR];

	if (bpf_skb_load_bytes(skb, base, h, sizeof(h)))
		return 0;
	return ch_be16(h + 3) > ALPNSTEER_MAX_RECORD;
}

/*
 * --proxy-protocol: the PROXY header a load balancer sends first
 * (docs/design.md, "PROXY protocol").  Nothing is cut from the skb: a
 * steered connection takes its header along to the responder, which
 * consumes it before TLS, and a normal one reaches the webserver byte for
 * byte.  (Shrinking the skb here would leave copied_seq short by the
 * header: tcp_eat_skb() counts what is left after the program.)
 * 1: the header came alone, pass it and classify the next skb; 0: the
 * hello starts at *@base; -1: no well-formed header, fail open.
 */
static __always_inline int take_proxy_header(struct __sk_buff *skb,
					     struct alpnsteer_conn_state *st,
					     __u32 *base)
{
	ch_src_t src = { .skb = skb, .base = 0 };
	struct ph_info *ph;
	__u32 zero = 0;

	/* A header from anyone but a balancer is not read at all: the
	 * connection is the webserver's, which must refuse it too (nginx
	 * set_real_ip_from, docs/usage.md), and nothing counts its peer. */
	if (!peer_may_proxy(skb)) {
		st->verdict = AS_PROXY_UNTRUSTED;
		count(AC_PROXY_UNTRUSTED);
		return -1;
	}
	ph = bpf_map_lookup_elem(&ph_scratch, &zero);
	if (!ph)
		return -1;
	__builtin_memset(ph, 0, sizeof(*ph));
	if (ph_parse(&src, skb->len, ph) != PH_OK ||
	    ph->len > ALPNSTEER_PROXY_MAX) {
		st->verdict = AS_PROXY_BAD;
		count(AC_PROXY_BAD);
		return -1;
	}
	st->proxy_seen = ph->version;
	st->client_family = ph->family;
	st->client_port = ph->sport;
	st->client_ip[0] = ph->src[0];
	st->client_ip[1] = ph->src[1];
	st->client_ip[2] = ph->src[2];
	st->client_ip[3] = ph->src[3];
	if (ph->len >= skb->len)
		return 1;
	*base = ph->len;
	return 0;
}

SEC("sk_skb") /* BPF_SK_SKB_VERDICT: libbpf 1.1 knows no sk_skb/verdict */
int alpnsteer_verdict(struct __sk_buff *skb)
{
	struct alpnsteer_settings *cfg;
	__u64 cookie = bpf_get_socket_cookie(skb);
	struct alpnsteer_conn_state *st;
	ch_src_t src = { .base = 0 };
	struct ch_info *info;
	__u32 zero = 0, base = 0;
	__u8 first;
	int rc;

	/* Not caught by us (inserted by hand?): the webserver's. */
	st = bpf_map_lookup_elem(&conn_state, &cookie);
	if (!st)
		return SK_PASS;
	if (st->verdict == AS_STEERED)
		return steer_more(skb, st, cookie);
	if (st->verdict != AS_UNDECIDED)
		return SK_PASS;
	if (!st->proxy_seen && port_is_proxied(skb->local_port)) {
		rc = take_proxy_header(skb, st, &base);
		if (rc)
			return SK_PASS;
	}
	if (st->proxy_seen)
		count(AC_PROXIED);
	/* Most connections to the port are decided by their first byte: a
	 * plain request, or anything but a TLS handshake record, is not
	 * ours.  Said here, before the scratch buffer is looked up and its
	 * 464 bytes cleared for a parse that would end at the same byte
	 * (ch_parse()'s first test). */
	if (skb->len <= base || bpf_skb_load_bytes(skb, base, &first, 1) ||
	    first != TLS_CT_HANDSHAKE) {
		st->verdict = AS_NOT_TLS;
		count(AC_NOT_TLS);
		return SK_PASS;
	}
	info = bpf_map_lookup_elem(&ch_scratch, &zero);
	if (!info)
		return SK_PASS;
	__builtin_memset(info, 0, sizeof(*info));
	/* A hello whose ALPN offers no acme-tls/1 is the webserver's
	 * whatever its later extensions say (and one that breaks the rules
	 * after its ALPN is the webserver's to refuse): the walk stops
	 * there, most hellos' key shares and padding unread. */
	info->alpn_decides = 1;
	src.skb = skb;
	src.base = base;
	rc = ch_parse(&src, skb->len - base, info);
	/* The first record goes on in later skbs, and without a stream
	 * parser nothing waits for them.  The prefix decides when it holds
	 * the whole ALPN extension, and for acme-tls/1 the SNI too, which
	 * validators send before their key shares; otherwise the webserver
	 * gets the hello (fail open, counted split). */
	if (rc == CH_PARTIAL) {
		if (!info->alpn_off || (info->acme && !info->sni_off)) {
			st->verdict = AS_SPLIT;
			count(AC_SPLIT);
			if (split_is_ours(info))
				trace_left(skb, st, info, AS_SPLIT);
			return SK_PASS;
		}
		rc = CH_OK;
	}
	if (rc == CH_NOT_TLS) {
		st->verdict = AS_NOT_TLS;
		count(AC_NOT_TLS);
		return SK_PASS;
	}
	if (rc != CH_OK) {
		st->verdict = AS_MALFORMED;
		count(record_oversized(skb, base) ? AC_OVERSIZED :
						    AC_MALFORMED);
		return SK_PASS;
	}
	if (!info->acme) {
		st->verdict = AS_NORMAL;
		count(AC_NORMAL);
		return SK_PASS;
	}
	cfg = get_settings();
	if (!cfg || cfg->draining) {
		st->verdict = AS_DRAINING;
		count(AC_PASSED_DRAINING);
		trace_left(skb, st, info, AS_DRAINING);
		return SK_PASS;
	}
	if (!name_is_ours(cfg, info)) {
		st->verdict = AS_NOT_PENDING;
		count(AC_NOT_PENDING);
		trace_left(skb, st, info, AS_NOT_PENDING);
		return SK_PASS;
	}
	return steer_first(skb, st, cookie, info);
}

SEC("sk_msg")
int alpnsteer_reply(struct sk_msg_md *msg)
{
	__u32 port = msg->local_port;
	struct alpnsteer_slot *s;
	__u64 owner;
	__u32 *slot;

	slot = bpf_map_lookup_elem(&pool_ports, &port);
	if (!slot)
		goto drop;
	s = bpf_map_lookup_elem(&slots, slot);
	if (!s || !s->owner_cookie)
		goto drop;
	owner = s->owner_cookie;
	if (bpf_msg_redirect_hash(msg, &conns, &owner, 0) != SK_PASS)
		goto drop;
	count(AC_REPLY_SENT);
	return SK_PASS;
drop:
	/* The writer sees EACCES: its client is gone. */
	count(AC_REPLY_DROPPED);
	return SK_DROP;
}

/*
 * The drain's release point (docs/design.md, "Release points").  A caught
 * socket that never sent a byte (a scanner, an idle client, a health check
 * that has not closed yet) gets no RTT callback and would hold a detach
 * until the webserver gave up on it.  The reaper walks the caught sockets
 * only, through conn_state (their cookies) and conns (their sockets): a
 * tcp iterator would walk every TCP socket of the namespace, and on
 * kernels without "bpf: tcp: Fix use-after-free in
 * bpf_iter_tcp_established_batch()" (6.18.44 among them) its batching
 * takes a reference on request sockets still at refcount 0, corrupting
 * any listener's SYN handling.  (A sockmap iterator would walk conns, but
 * map-element iterators are refused on hosts whose root lacks
 * CAP_SYS_RESOURCE.)  It is a tc program only so that it may look sockets
 * up and delete them from a sockhash; the drain runs it with
 * BPF_PROG_TEST_RUN, never on a packet.
 *
 * It runs without the socket's lock, so it releases a socket only when
 * nothing is processing it at that instant (sock_quiet()) and its psock
 * holds nothing; what it receives afterwards is queued the ordinary way
 * and goes to the webserver, which is where a drain sends acme-tls/1
 * hellos anyway.  Steered sockets stay: their validation is still in
 * flight.  Run only while draining.
 *
 * A socket a reader sleeps on (psock_in_use()) is let go too, but only
 * once the reaper has seen it so for REAP_READER_GRACE_NS: a reader that
 * blocks in recv() on an idle connection would otherwise hold the detach
 * for as long as its client stays silent.  That is the drain's fail-open:
 * the reader gets one EAGAIN when its client speaks again (counted
 * reaped_reader), where a held detach would leave everything attached.
 */
#define REAP_READER_GRACE_NS 1000000000ULL

static long reap_one(struct bpf_map *map, __u64 *cookie,
		     struct alpnsteer_conn_state *st, void *ctx)
{
	__u64 key = *cookie, now = bpf_ktime_get_ns();
	struct sk_psock *psock;
	struct bpf_sock *sk;
	struct tcp_sock *tp;
	__u32 rcv_nxt = 0;
	bool busy = false;
	int err = -EAGAIN;

	if (st->verdict == AS_STEERED)
		return 0;
	sk = bpf_map_lookup_elem(&conns, &key);
	if (!sk)
		return 0;
	tp = bpf_skc_to_tcp_sock(sk);
	if (tp && sock_quiet(tp)) {
		psock = psock_of(tp);
		busy = psock && psock_in_use(psock);
		if (busy && !st->reader_ns)
			st->reader_ns = now;
		rcv_nxt = tp->rcv_nxt;
		err = leave_conns(tp, &key, 0,
				  busy && st->reader_ns &&
					  now - st->reader_ns >=
						  REAP_READER_GRACE_NS);
	}
	if (!err) {
		count(AC_REAPED);
		if (busy)
			count(AC_REAPED_READER);
		/* A segment that reached the socket while it left may have
		 * gone through the psock being dropped: counted, so that
		 * the window of an unlocked release is measured. */
		if (tp->rcv_nxt != rcv_nxt || !sock_quiet(tp))
			count(AC_REAP_RACED);
	}
	bpf_sk_release(sk);
	return 0;
}

SEC("tc")
int alpnsteer_reap(struct __sk_buff *skb)
{
	struct alpnsteer_settings *cfg = get_settings();

	if (cfg && cfg->draining)
		bpf_for_each_map_elem(&conn_state, reap_one, NULL, 0);
	return 0;
}
