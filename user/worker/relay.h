/* SPDX-License-Identifier: GPL-2.0-only */
/* relay.h - --forward: a steered connection relayed to an external responder. */
#ifndef ALPNSTEER_RELAY_H
#define ALPNSTEER_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "slot.h"

#define RELAY_BUF 16384

struct rbuf {
	char *data;
	size_t off, len;
};

struct relay {
	bool hello_next; /* no PROXY header (left) in front of the hello */
	int up_fd; /* -1: no upstream */
	bool connected;
	struct rbuf to_up, to_client;
};

void relay_init(struct relay *r);
int relay_start(struct relay *r, const struct sockaddr *to, socklen_t len);
/* A non-blocking connect to @to: the socket, or -errno. */
int relay_connect(const struct sockaddr *to, socklen_t len);
/* Relay through @up_fd (taken over, closed on failure too). */
int relay_adopt(struct relay *r, int up_fd);
void relay_close(struct relay *r);
/* Move whatever can move between the slot socket and the upstream. */
enum slot_step relay_pump(struct relay *r, int p_fd);
/* epoll events wanted on each side after a pump. */
void relay_interest(const struct relay *r, unsigned int *p_ev,
		    unsigned int *up_ev);

#endif
