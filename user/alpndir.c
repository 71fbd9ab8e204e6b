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

int alpndir_watch(const char *dir)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (inotify_add_watch(fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO |
					       IN_MOVED_FROM | IN_DELETE |
					       IN_CREATE) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int load_pair(const char *dir, const char *name, X509 **cert,
		     EVP_PKEY **key)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.crt.pem", dir, name);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	*cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	snprintf(path, sizeof(path), "%s/%s.key.pem", dir, name);
	f = fopen(path, "r");
	if (!f) {
		X509_free(*cert);
		return -errno;
	}
	*key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!*cert || !*key || X509_check_private_key(*cert, *key) != 1) {
		X509_free(*cert);
		EVP_PKEY_free(*key);
		return -EINVAL;
	}
	return 0;
}

/* Is there a NAME.crt.pem for this SRC_DIR challenge still? */
static int still_there(const char *dir, const char *sni)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s.key.pem", dir, sni);
	if (access(path, R_OK))
		return 0;
	snprintf(path, sizeof(path), "%s/%s" CRT_SUFFIX, dir, sni);
	return access(path, R_OK) == 0;
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
		if (stat(path, &st))
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
