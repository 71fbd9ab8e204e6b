// SPDX-License-Identifier: GPL-2.0-only
/*
 * alpndir.c - dehydrated's `-t tls-alpn-01 --alpn DIR` files as challenges.
 *
 * dehydrated writes NAME.crt.pem and NAME.key.pem (NAME being the SNI the
 * CA sends: the domain, or the reverse name of an IP identifier) before it
 * asks the CA to validate, and removes them afterwards.  Any change in the
 * directory triggers a full rescan: directories are small, and a rescan
 * cannot miss an event the way incremental bookkeeping can.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <openssl/pem.h>

#include "alpndir.h"
#include "log.h"

#define CRT_SUFFIX ".crt.pem"
/* A validation certificate and its key are a few hundred bytes of PEM. */
#define ALPNDIR_MAX_FILE (64 * 1024)

int alpndir_watch(const char *dir)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (inotify_add_watch(fd, dir,
			      IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
				      IN_DELETE | IN_CREATE) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/*
 * Open one file of the directory for reading, or say why not.  The daemon
 * reads it with more rights than the ACME client that wrote it (root at
 * start-up, CAP_DAC_READ_SEARCH later): a symlink could name the
 * webserver's real key, a FIFO would hang the only loop and a huge file
 * stall it, so only small regular files are taken (docs/design.md,
 * "Hardening").  O_NONBLOCK makes the open of a FIFO return at once.
 */
static FILE *open_small_regular(const char *path, const char **why)
{
	struct stat st;
	FILE *f;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		*why = errno == ELOOP ? "a symbolic link" : strerror(errno);
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		close(fd);
		return NULL;
	}
	if (st.st_size > ALPNDIR_MAX_FILE) {
		*why = "larger than 64 KiB";
		close(fd);
		return NULL;
	}
	f = fdopen(fd, "r");
	if (!f) {
		*why = strerror(errno);
		close(fd);
	}
	return f;
}

static int load_pair(const char *dir, const char *name, X509 **cert,
		     EVP_PKEY **key)
{
	char path[PATH_MAX];
	const char *why = NULL;
	FILE *f;

	*cert = NULL;
	*key = NULL;
	snprintf(path, sizeof(path), "%s/%s.crt.pem", dir, name);
	f = open_small_regular(path, &why);
	if (!f)
		goto refused;
	*cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	snprintf(path, sizeof(path), "%s/%s.key.pem", dir, name);
	f = open_small_regular(path, &why);
	if (!f) {
		X509_free(*cert);
		*cert = NULL;
		goto refused;
	}
	*key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!*cert || !*key || X509_check_private_key(*cert, *key) != 1) {
		X509_free(*cert);
		EVP_PKEY_free(*key);
		return -EINVAL;
	}
	return 0;
refused:
	/* A file that is not there yet (half-written pair) is no news. */
	if (strcmp(why, strerror(ENOENT)))
		p_warn("%s: refused: %s", path, why);
	return -EPERM;
}

/* A regular file, not a symlink: what load_pair() would take.  No
 * access(): it answers for the real uid and ignores capabilities. */
static bool regular_file(const char *path)
{
	struct stat st;

	return !fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) &&
	       S_ISREG(st.st_mode);
}

/* Is there a NAME.crt.pem for this SRC_DIR challenge still? */
static int still_there(const char *dir, const char *sni)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s.key.pem", dir, sni);
	if (!regular_file(path))
		return 0;
	snprintf(path, sizeof(path), "%s/%s" CRT_SUFFIX, dir, sni);
	return regular_file(path);
}

int alpndir_rescan(const char *dir, int ifd, struct challenges *cs)
{
	char evbuf[4096], name[ALPNSTEER_NAME_MAX], err[160], path[PATH_MAX];
	struct challenge *c, *next;
	long long stamp;
	struct stat st;
	struct dirent *de;
	int changed = 0;
	DIR *d;

	while (ifd >= 0 && read(ifd, evbuf, sizeof(evbuf)) > 0)
		;
	for (c = cs->head; c; c = next) {
		next = c->next;
		if (c->source == SRC_DIR && !still_there(dir, c->sni)) {
			p_info("challenge %s: files gone, dropped", c->sni);
			challenges_remove(cs, c->sni);
			changed++;
		}
	}
	d = opendir(dir);
	if (!d)
		return changed;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name), sl = strlen(CRT_SUFFIX);
		X509 *cert = NULL;
		EVP_PKEY *key = NULL;

		if (n <= sl || n - sl >= sizeof(name) ||
		    strcmp(de->d_name + n - sl, CRT_SUFFIX))
			continue;
		memcpy(name, de->d_name, n - sl);
		name[n - sl] = '\0';
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		stamp = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
		c = challenges_find_sni(cs, name);
		if (c && c->source == SRC_DIR && c->stamp == stamp)
			continue; /* already loaded, unchanged */
		/* A half-written pair shows up again on its CLOSE_WRITE. */
		if (load_pair(dir, name, &cert, &key))
			continue;
		if (challenges_add_cert(cs, name, cert, key, SRC_DIR, err,
					sizeof(err))) {
			p_warn("%s/%s" CRT_SUFFIX ": %s", dir, name, err);
			X509_free(cert);
			EVP_PKEY_free(key);
			continue;
		}
		challenges_find_sni(cs, name)->stamp = stamp;
		p_info("challenge %s: loaded from %s", name, dir);
		changed++;
	}
	closedir(d);
	return changed;
}
