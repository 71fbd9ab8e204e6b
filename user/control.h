/* SPDX-License-Identifier: GPL-2.0-only */
/* control.h - the daemon's unix control socket, both ends. */
#ifndef ALPNSTEER_CONTROL_H
#define ALPNSTEER_CONTROL_H

#include <stddef.h>
#include <sys/types.h>

#define ALPNSTEER_CONTROL_SOCK "/run/alpnsteer/control.sock"
#define CONTROL_MAX_MSG 65536

/* Daemon side: a SOCK_SEQPACKET listener that only root, or root and
 * @gid (when not -1), may connect to. */
int control_listen(const char *path, gid_t gid);
/* Read one request from an accepted connection; 0 on success. */
int control_read_request(int fd, char *buf, size_t len, uid_t *uid);
int control_reply(int fd, const char *msg);

/* Client side: send @req, wait for the reply.  -ENOENT: no daemon. */
int control_request(const char *req, char *reply, size_t len);

#endif
