// SPDX-License-Identifier: GPL-2.0-only
/*
 * pool.c - the responder-side sockets of alpnsteer.
 *
 * Each slot is one connected loopback TCP pair.  Its connecting end is in
 * the pool sockmap: the reply program sends whatever is written on it out
 * on the client's connection.  Its other end is in pool_peer: the verdict
 * redirects a steered client's bytes to that end's egress, so they reach
 * the connecting end over loopback TCP, charged under the socket lock
 * (docs/design.md, "The responder pool").
 *
 * A slot is reused as soon as its handshake is over or has timed out,
 * whether or not its client has closed (docs/design.md, "Hardening"):
 * recycling disowns it in the kernel first, and from then on the verdict
 * drops what the old client still sends (stale_dropped), so its late
 * bytes never reach the next client's responder.  The pool starts at
 * --pool slots and grows on demand up to --pool-max.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <bpf/bpf.h>

#include "log.h"
#include "pool.h"

static int loopback_listener(void)
{
	struct sockaddr_in a = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(fd, ALPNSTEER_MAX_POOL)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int make_pair(int lfd, int *p_fd, int *q_fd, __u32 *port)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int p, q, one = 1, err;

	if (getsockname(lfd, (struct sockaddr *)&a, &al))
		return -errno;
	p = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p < 0)
		return -errno;
	if (connect(p, (struct sockaddr *)&a, sizeof(a))) {
		err = -errno;
		close(p);
		return err;
	}
	q = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (q < 0) {
		err = -errno;
		close(p);
		return err;
	}
	al = sizeof(a);
	getsockname(p, (struct sockaddr *)&a, &al);
	/* Handshake messages are small and latency matters to the CA. */
	setsockopt(p, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(p, F_SETFL, fcntl(p, F_GETFL) | O_NONBLOCK);
	*p_fd = p;
	*q_fd = q;
	*port = ntohs(a.sin_port);
	return 0;
}

static void close_pair(struct slot *s)
{
	if (s->p_fd >= 0)
		close(s->p_fd);
	if (s->q_fd >= 0)
		close(s->q_fd);
	s->p_fd = s->q_fd = -1;
}

int pool_recycle(struct pool *p, __u32 idx)
{
	struct alpnsteer_slot free_slot = {};
	struct slot *s = &p->slot[idx];
	__u64 fd;
	int err;

	/* Disown first: from here the kernel drops this slot's late bytes. */
	bpf_map_update_elem(p->map_slots, &idx, &free_slot, BPF_ANY);
	if (s->p_fd >= 0) {
		bpf_map_delete_elem(p->map_peer, &idx);
		bpf_map_delete_elem(p->map_pool, &idx);
		bpf_map_delete_elem(p->map_ports, &s->port);
	}
	close_pair(s);
	memset(&s->ev, 0, sizeof(s->ev));
	s->owner = 0;
	s->client_closed = false;
	s->handed = false;
	s->traced = false;
	s->state = SLOT_FREE;

	err = make_pair(p->lfd, &s->p_fd, &s->q_fd, &s->port);
	if (err)
		return err;
	fd = s->q_fd;
	if (bpf_map_update_elem(p->map_peer, &idx, &fd, BPF_ANY))
		goto fail;
	fd = s->p_fd;
	if (bpf_map_update_elem(p->map_pool, &idx, &fd, BPF_ANY) ||
	    bpf_map_update_elem(p->map_ports, &s->port, &idx, BPF_ANY))
		goto fail;
	if (bpf_map_update_elem(p->map_free, NULL, &idx, BPF_ANY))
		goto fail;
	return 0;
fail:
	err = -errno;
	bpf_map_delete_elem(p->map_peer, &idx);
	bpf_map_delete_elem(p->map_pool, &idx);
	bpf_map_delete_elem(p->map_ports, &s->port);
	close_pair(s);
	return err;
}

__u32 pool_grow(struct pool *p, __u32 n)
{
	__u32 made = 0;
	int err;

	while (made < n && p->size < p->max) {
		/* First written now (pool_init()): no pair to close. */
		p->slot[p->size].p_fd = p->slot[p->size].q_fd = -1;
		err = pool_recycle(p, p->size);
		if (err) {
			p_warn("cannot grow the responder pool past %u slots: %s",
			       p->size, strerror(-err));
			break;
		}
		p->size++;
		made++;
	}
	return made;
}

/* The slot array's mapping: room for --pool-max slots, fixed at init. */
static size_t slot_room(const struct pool *p)
{
	return (size_t)p->max * sizeof(*p->slot);
}

int pool_init(struct pool *p, int map_pool, int map_peer, int map_ports,
	      int map_slots, int map_free, __u32 size, __u32 max)
{
	__u32 i;
	int err;

	memset(p, 0, sizeof(*p));
	p->map_pool = map_pool;
	p->map_peer = map_peer;
	p->map_ports = map_ports;
	p->map_slots = map_slots;
	p->map_free = map_free;
	if (max < size)
		max = size;
	p->size = size;
	p->max = max;
	/* Room for the largest pool now, in pages of its own: untouched,
	 * they cost nothing until a slot is made (pool_grow()).  calloc()
	 * took them from the heap the load of the programs had used, and
	 * zeroed them all: 192 KiB of the monitor's RSS at the default
	 * --pool-max 256, most of it never used. */
	p->slot = mmap(NULL, slot_room(p), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p->slot == MAP_FAILED) {
		p->slot = NULL;
		return -ENOMEM;
	}
	for (i = 0; i < size; i++)
		p->slot[i].p_fd = p->slot[i].q_fd = -1;
	p->lfd = loopback_listener();
	if (p->lfd < 0) {
		p_err("cannot listen on 127.0.0.1 for the responder pool: %s",
		      strerror(-p->lfd));
		p_hint("the loopback interface of this network namespace must be up");
		return p->lfd;
	}
	for (i = 0; i < size; i++) {
		err = pool_recycle(p, i);
		if (err) {
			p_err("cannot create responder slot %u: %s", i,
			      strerror(-err));
			p_hint(err == -ENETUNREACH || err == -EADDRNOTAVAIL ?
				       "the loopback interface of this network namespace must be up" :
				       "each slot is a loopback TCP pair: see the file and socket limits");
			return err;
		}
	}
	return 0;
}

void pool_free(struct pool *p)
{
	__u32 i;

	if (!p->slot)
		return;
	for (i = 0; i < p->size; i++) {
		close_pair(&p->slot[i]);
	}
	munmap(p->slot, slot_room(p));
	p->slot = NULL;
	if (p->lfd >= 0)
		close(p->lfd);
	p->lfd = -1;
}

__u32 pool_in_use(const struct pool *p)
{
	__u32 i, n = 0;

	for (i = 0; i < p->size; i++)
		n += p->slot[i].state != SLOT_FREE;
	return n;
}
