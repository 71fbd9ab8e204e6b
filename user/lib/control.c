// SPDX-License-Identifier: GPL-2.0-only
/*
 * control.c - the control socket: one request, one reply, SOCK_SEQPACKET.
 *
 * Who may talk to the daemon is decided twice: by the socket file's mode
 * (0600 root, or 0660 with --control-group), which the kernel enforces on
 * connect(), and by the peer's credentials, which the daemon checks on
 * every request.  Adding a challenge decides which certificate a CA sees,
 * so nobody else gets near it.
 *
 * The daemon's side never blocks (docs/design.md, "Hardening"): accepted
 * sockets are non-blocking and each client has a deadline, so an idle or
 * slow client cannot hold up validations or SIGTERM.  A reply is sent as
 * messages of at most CONTROL_CHUNK bytes and ends when the daemon closes
 * the connection, so it is not limited by one message's size.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "control.h"
#include "paths.h"

static int fill_addr(struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a->sun_path))
		return -ENAMETOOLONG;
	strcpy(a->sun_path, path);
	return 0;
}

int control_listen(const char *path, gid_t gid)
{
	mode_t mode = gid != (gid_t)-1 ? 0660 : 0600, old;
	struct sockaddr_un a;
	int fd, err, fsgid = -1;

	err = fill_addr(&a, path);
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	/*
	 * The file gets its mode and group as bind() creates it, never by
	 * path afterwards (a chown/chmod by path can be raced into another
	 * file): unix_bind() takes the mode of the socket's inode, less the
	 * umask, and the group is the creator's fsgid.
	 */
	if (fchmod(fd, mode)) {
		err = -errno;
		close(fd);
		return err;
	}
	old = umask(0777 & ~mode);
	if (gid != (gid_t)-1)
		fsgid = setfsgid(gid);
	err = bind(fd, (struct sockaddr *)&a, sizeof(a)) ? -errno : 0;
	if (fsgid >= 0)
		setfsgid(fsgid);
	umask(old);
	if (!err && listen(fd, 64))
		err = -errno;
	if (err) {
		close(fd);
		unlink(path);
		return err;
	}
	return fd;
}

int control_accept(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	return fd < 0 ? -errno : fd;
}

int control_peer(int fd, uid_t *uid, gid_t gid)
{
	gid_t groups[256];
	socklen_t gl = sizeof(groups);
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	unsigned int i;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl))
		return -errno;
	*uid = cred.uid;
	if (cred.uid == 0)
		return 1;
	if (gid == (gid_t)-1)
		return 0;
	if (cred.gid == gid)
		return 1;
	/* A member through a supplementary group. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &gl))
		return 0;
	for (i = 0; i < gl / sizeof(gid_t); i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

int control_read_request(int fd, char *buf, size_t len)
{
	ssize_t n;

	n = recv(fd, buf, len - 1, MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;
	if ((size_t)n >= len)
		return -EMSGSIZE;
	buf[n] = '\0';
	return 0;
}

int control_send(int fd, const char *msg, size_t len, size_t *off)
{
	while (*off < len) {
		size_t n = len - *off > CONTROL_CHUNK ? CONTROL_CHUNK :
							len - *off;
		ssize_t w =
			send(fd, msg + *off, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		*off += w;
	}
	return 1;
}

int control_request(const struct lc_paths *p, const char *req, char **reply)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];

	if (!lc_run_path(p, LC_CONTROL_SOCK, path, sizeof(path))[0])
		return -ENAMETOOLONG;
	return control_request_at(path, 10, req, reply);
}

int control_request_at(const char *path, int seconds, const char *req,
		       char **reply)
{
	struct timeval tv = { .tv_sec = seconds };
	struct sockaddr_un a;
	char *buf = NULL, *nb;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd, err;

	*reply = NULL;
	err = fill_addr(&a, path);
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
		err = errno == ECONNREFUSED ? -ENOENT : -errno;
		close(fd);
		return err;
	}
	/* Messages until the daemon closes: one reply. */
	for (;;) {
		if (cap - len < CONTROL_CHUNK + 1) {
			cap = cap ? 2 * cap : 4 * CONTROL_CHUNK;
			nb = realloc(buf, cap);
			if (!nb) {
				err = -ENOMEM;
				break;
			}
			buf = nb;
		}
		n = recv(fd, buf + len, CONTROL_CHUNK, 0);
		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	if (!err && !len)
		err = -ECONNRESET;
	if (err) {
		free(buf);
		return err;
	}
	buf[len] = '\0';
	*reply = buf;
	return 0;
}
