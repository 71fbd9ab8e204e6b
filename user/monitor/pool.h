/* SPDX-License-Identifier: GPL-2.0-only */
/* pool.h - the responder-side sockets that steered connections are fed to. */
#ifndef ALPNSTEER_POOL_H
#define ALPNSTEER_POOL_H

#include <stdbool.h>
#include <time.h>
#include <linux/types.h>

#include "alpnsteer_abi.h"

enum slot_state {
	SLOT_FREE, /* in free_slots, waiting for a ClientHello */
	SLOT_BUSY, /* a client's: with the TLS worker (handed) */
};

struct slot {
	int p_fd; /* in the pool sockmap: client bytes arrive here,
				 * writes go out on the client's connection */
	int q_fd; /* its loopback peer, in pool_peer: the client's bytes
				 * are sent from it to p_fd (never read) */
	__u32 port; /* local port of p_fd (pool_ports key) */
	enum slot_state state;
	__u64 owner; /* socket cookie of the client connection */
	struct timespec since; /* when it became busy */
	bool client_closed; /* the client has gone; recycle when done */
	struct alpnsteer_event ev; /* who the client is, for logs and status */
	__u32 gen; /* handings to the worker so far */
	bool handed; /* the worker has it (handing gen) */
	bool traced; /* its end is in the validation trace */
	/* The client of handing taken_gen when it was taken back from the
	 * worker, for an answer that crosses the cancel (IPC_LATE). */
	struct alpnsteer_event taken_ev;
	__u32 taken_gen;
};

struct pool {
	int lfd; /* loopback listener the pairs are made from */
	int map_pool, map_peer, map_ports, map_slots, map_free;
	__u32 size; /* slots made so far */
	__u32 max; /* what it may grow to (--pool-max) */
	struct slot *slot; /* room for max (mapped: untouched until made) */
};

int pool_init(struct pool *p, int map_pool, int map_peer, int map_ports,
	      int map_slots, int map_free, __u32 size, __u32 max);
/* Make up to @n more slots (never past max); how many were made. */
__u32 pool_grow(struct pool *p, __u32 n);
/* Give @idx a fresh socket pair and put it back in free_slots. */
int pool_recycle(struct pool *p, __u32 idx);
void pool_free(struct pool *p);
__u32 pool_in_use(const struct pool *p);

#endif
