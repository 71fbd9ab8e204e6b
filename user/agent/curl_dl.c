// SPDX-License-Identifier: GPL-2.0-only
/*
 * curl_dl.c - libcurl loaded on first use (curl_dl.h says why).
 */
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>

#include "curl_dl.h"
#include "log.h"

/* The SONAME Debian's libcurl4 (OpenSSL flavour) and libcurl3-gnutls
 * ship alike; debian/control depends on libcurl4. */
#define CURL_DL_SONAME "libcurl.so.4"

struct curl_dl cdl;

static const struct {
	const char *sym;
	size_t off;
} curl_syms[] = {
#define SYM(field)                                              \
	{                                                       \
		"curl_" #field, offsetof(struct curl_dl, field) \
	}
	SYM(global_init),    SYM(easy_init),	 SYM(easy_setopt),
	SYM(easy_perform),   SYM(easy_getinfo),	 SYM(easy_reset),
	SYM(easy_cleanup),   SYM(easy_strerror), SYM(slist_append),
	SYM(slist_free_all),
#undef SYM
};

int curl_dl_open(void)
{
	static int done, rc;
	void *h;
	size_t i;

	if (done)
		return rc;
	done = 1;
	h = dlopen(CURL_DL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		p_err("the etcd store needs libcurl: %s", dlerror());
		p_hint("install it: apt-get install libcurl4");
		return rc = -ENOENT;
	}
	for (i = 0; i < sizeof(curl_syms) / sizeof(curl_syms[0]); i++) {
		void *p = dlsym(h, curl_syms[i].sym);

		if (!p) {
			p_err("%s has no %s", CURL_DL_SONAME, curl_syms[i].sym);
			p_hint("install Debian's libcurl4");
			return rc = -ENOENT;
		}
		*(void **)((char *)&cdl + curl_syms[i].off) = p;
	}
	return rc = 0;
}
