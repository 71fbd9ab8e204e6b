// SPDX-License-Identifier: GPL-2.0-only
/*
 * control.c - the control socket: one request, one reply, SOCK_SEQPACKET.
 *
 * Who may talk to the daemon is decided twice: by the socket file's mode
 * (0600 root, or 0660 with --control-group), which the kernel enforces on
 * connect(), and by the peer's credentials, which the daemon checks on
 * every request.  Adding a challenge decides which certificate a CA sees,
 * so nobody else gets near it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "control.h"

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
	struct sockaddr_un a;
	mode_t old;
	int fd, err;

	err = fill_addr(&a, path);
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	/* Never a moment where the socket is open to everybody. */
	old = umask(0177);
	err = bind(fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (err || (gid != (gid_t)-1 &&
		    (chown(path, 0, gid) || chmod(path, 0660))) ||
	    listen(fd, 64)) {
		err = -errno;
		close(fd);
		unlink(path);
		return err;
	}
	return fd;
}

int control_read_request(int fd, char *buf, size_t len, uid_t *uid)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	ssize_t n;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl))
		return -errno;
	*uid = cred.uid;
	n = recv(fd, buf, len - 1, 0);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

int control_reply(int fd, const char *msg)
{
	return send(fd, msg, strlen(msg), MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int control_request(const char *req, char *reply, size_t len)
{
	struct timeval tv = { .tv_sec = 10 };
	struct sockaddr_un a;
	ssize_t n;
	int fd, err;

	err = fill_addr(&a, ALPNSTEER_CONTROL_SOCK);
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
	n = recv(fd, reply, len - 1, 0);
	err = n < 0 ? -errno : 0;
	if (n >= 0)
		reply[n] = '\0';
	close(fd);
	return err;
}
