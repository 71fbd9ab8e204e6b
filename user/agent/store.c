// SPDX-License-Identifier: GPL-2.0-only
/*
 * store.c - the shared store, whatever it is (store.h): its options, the
 * choice of a store by the URL's scheme, and the watcher's process.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdutil.h"
#include "log.h"
#include "store.h"
#include "store_etcd.h"

/* Every store there is, by the scheme of its URLs. */
static const struct store_ops *const stores[] = {
	&store_etcd,
	NULL,
};

void store_opts_env(struct store_opts *o)
{
	o->url = getenv("ALPNSTEER_STORE");
	o->cacert = getenv("ALPNSTEER_STORE_CA");
	o->cert = getenv("ALPNSTEER_STORE_CERT");
	o->key = getenv("ALPNSTEER_STORE_KEY");
	o->user = getenv("ALPNSTEER_STORE_USER");
	o->password_file = getenv("ALPNSTEER_STORE_PASSWORD_FILE");
	if (o->url && !*o->url)
		o->url = NULL;
}

int store_opt(int argc, char **argv, int *i, struct store_opts *o)
{
	static const struct {
		const char *name;
		size_t off;
	} opts[] = {
		{ "--store", offsetof(struct store_opts, url) },
		{ "--store-ca", offsetof(struct store_opts, cacert) },
		{ "--store-cert", offsetof(struct store_opts, cert) },
		{ "--store-key", offsetof(struct store_opts, key) },
		{ "--store-user", offsetof(struct store_opts, user) },
		{ "--store-password-file",
		  offsetof(struct store_opts, password_file) },
	};
	const char *a = argv[*i], *v;
	size_t k, n;

	for (k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
		n = strlen(opts[k].name);
		if (strncmp(a, opts[k].name, n) || (a[n] && a[n] != '='))
			continue;
		if (a[n] == '=') {
			v = a + n + 1;
		} else if (*i + 1 < argc) {
			v = argv[++*i];
		} else {
			p_err("%s needs a value", opts[k].name);
			return -EINVAL;
		}
		*(const char **)((char *)o + opts[k].off) = v;
		return 1;
	}
	return 0;
}

const struct store_ops *store_find(const struct store_opts *o)
{
	const char *url = o->url ? o->url : "", *c;
	size_t n = 0;
	int i;

	for (i = 0; stores[i]; i++) {
		n = strlen(stores[i]->scheme);
		if (!strncmp(url, stores[i]->scheme, n) &&
		    !strncmp(url + n, "://", 3))
			break;
	}
	/* Every endpoint of the list, not only the first: the store's
	 * password and the challenges must never cross the network in
	 * clear, and a later endpoint is used as soon as the first fails. */
	for (c = url; stores[i] && (c = strchr(c, ',')); c++) {
		if (!strncmp(c + 1, stores[i]->scheme, n) &&
		    !strncmp(c + 1 + n, "://", 3))
			continue;
		p_err("--store '%s': the endpoint '%.*s' is not %s://", url,
		      (int)strcspn(c + 1, ","), c + 1, stores[i]->scheme);
		p_hint("every endpoint of the store is reached over TLS: https://HOST:2379[,https://HOST:2379]");
		return NULL;
	}
	if (stores[i])
		return stores[i];
	p_err("--store '%s': no store speaks %.*s", url, (int)strcspn(url, ":"),
	      url);
	p_hint("--store https://HOST:2379 (etcd's JSON gateway)");
	return NULL;
}

int store_put_entry(const struct store_opts *o, const struct agent_entry *e,
		    long ttl)
{
	const struct store_ops *ops = store_find(o);

	return ops ? ops->put(o, e, ttl) : -EINVAL;
}

int store_delete_ident(const struct store_opts *o, const char *ident)
{
	const struct store_ops *ops = store_find(o);

	return ops ? ops->del(o, ident) : -EINVAL;
}

int store_watch_spawn(const struct store_opts *o, pid_t *pid)
{
	const struct store_ops *ops = store_find(o);
	int p[2], err;

	if (!ops)
		return -EINVAL;
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	fflush(NULL);
	*pid = fork();
	if (*pid < 0) {
		err = -errno;
		close(p[0]);
		close(p[1]);
		return err;
	}
	if (*pid == 0) {
		/* Nothing of the agent's: its lock must end with it. */
		int keep[] = { p[1], 2 };
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		fd_close_except(keep, 1);
		ops->watch(o, p[1]);
		_exit(0);
	}
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	return p[0];
}
