/* SPDX-License-Identifier: GPL-2.0-only */
/* control.h - the daemon's unix control socket, both ends. */
#ifndef ALPNSTEER_CONTROL_H
#define ALPNSTEER_CONTROL_H

#include <stddef.h>
#include <sys/types.h>

/* Largest request; a reply is any number of messages of CONTROL_CHUNK. */
#define CONTROL_MAX_REQ 4096
#define CONTROL_CHUNK 32768
/* How long one client may take to send its request and read the reply. */
#define CONTROL_DEADLINE_MS 2000
#define CONTROL_MAX_CLIENTS 8

/* Daemon side: a non-blocking SOCK_SEQPACKET listener that only root, or
 * root and @gid (when not -1), may connect to. */
int control_listen(const char *path, gid_t gid);
/* A non-blocking accepted connection, or -errno. */
int control_accept(int lfd);
/* 1 when the peer may make requests (root, or in @gid), 0 when not. */
int control_peer(int fd, uid_t *uid, gid_t gid);
/* Read one request without blocking: 0, -EAGAIN (nothing yet), -errno. */
int control_read_request(int fd, char *buf, size_t len);
/* Send @msg from *@off on: 1 all sent, 0 would block, -errno. */
int control_send(int fd, const char *msg, size_t len, size_t *off);

/* Client side: send @req to the monitor's socket (LC_CONTROL_SOCK in
 * @p's run directory), wait for the whole reply (*@reply malloc'd).
 * -ENOENT: no daemon. */
struct lc_paths;
int control_request(const struct lc_paths *p, const char *req, char **reply);
/* The same on the socket at @path, waiting @seconds for the reply (the
 * agent's, which answers an add once steering is live). */
int control_request_at(const char *path, int seconds, const char *req,
		       char **reply);

#endif
