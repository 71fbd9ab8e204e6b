/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * curl_dl.h - libcurl, loaded only by the code that talks to etcd.
 * Linked into the binary, libcurl and the thirty libraries it needs were
 * mapped into every process alpnsteer starts, the monitor and the TLS
 * worker included: some 4 MiB of resident memory each that neither ever
 * uses (issue 19's memory target).  docs/design.md, "What it costs".
 */
#ifndef ALPNSTEER_CURL_DL_H
#define ALPNSTEER_CURL_DL_H

/* Plain prototypes: the type-checking macros would stand in for the
 * names the table below takes its types from. */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

struct curl_dl {
	__typeof__(curl_global_init) *global_init;
	__typeof__(curl_easy_init) *easy_init;
	__typeof__(curl_easy_setopt) *easy_setopt;
	__typeof__(curl_easy_perform) *easy_perform;
	__typeof__(curl_easy_getinfo) *easy_getinfo;
	__typeof__(curl_easy_reset) *easy_reset;
	__typeof__(curl_easy_cleanup) *easy_cleanup;
	__typeof__(curl_easy_strerror) *easy_strerror;
	__typeof__(curl_slist_append) *slist_append;
	__typeof__(curl_slist_free_all) *slist_free_all;
};

/* Filled by curl_dl_open(); every call goes through it. */
extern struct curl_dl cdl;

/* Load libcurl once (later calls return the first result): 0, or
 * -ENOENT after an Error and a Hint on stderr.  Called before anything
 * drops privileges or confines itself, like the linked library was. */
int curl_dl_open(void);

#endif
