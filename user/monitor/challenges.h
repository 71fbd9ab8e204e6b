/* SPDX-License-Identifier: GPL-2.0-only */
/* challenges.h - the pending TLS-ALPN-01 challenges the responder answers. */
#ifndef ALPNSTEER_CHALLENGES_H
#define ALPNSTEER_CHALLENGES_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <sys/types.h>
#include <linux/types.h>
#include <openssl/ssl.h>

#include "alpnsteer_abi.h"
#include "trace.h"

#define CHALLENGE_LAST_ADDRS 4

enum challenge_source {
	SRC_CONTROL, /* alpnsteer challenge add */
	SRC_DIR, /* a dehydrated-style --alpn-dir pair of files */
};

struct challenge {
	char ident[ALPNSTEER_NAME_MAX]; /* DNS name or IP address text */
	char sni[ALPNSTEER_NAME_MAX]; /* what the CA sends: name or reverse */
	enum challenge_source source;
	long long stamp; /* SRC_DIR: mtime (ns) of the certificate file */
	time_t expires; /* wall clock; 0: until its remove */
	X509 *cert;
	EVP_PKEY *key;
	__u64 answered_v4, answered_v6;
	char last_addr[CHALLENGE_LAST_ADDRS][64];
	unsigned int last_next;
	bool in_worker; /* its certificate was handed to the TLS worker */
	/* Who added it (SO_PEERCRED of the control client; 0 for root,
	 * --alpn-dir and --domain): only that uid or root may replace or
	 * remove it. */
	uid_t owner;
	struct challenge *next;
};

struct challenges {
	struct challenge *head;
	int nr;
	/* Told of each challenge challenges_remove() drops (the monitor
	 * tells its TLS worker), or NULL. */
	void (*on_remove)(void *arg, const struct challenge *c);
	void *arg;
	/* The validation trace, told of each add and remove (NULL: none). */
	struct trace *trace;
};

/* Add or replace IDENT's challenge; the certificate is built at once so a
 * bad key authorization is refused here, not at validation time. */
int challenges_add(struct challenges *cs, const char *ident,
		   const char *keyauth, char *err, size_t errlen);
/* The same from SHA-256(keyauth) (ACME_DIGEST_LEN bytes). */
int challenges_add_digest(struct challenges *cs, const char *ident,
			  const unsigned char *digest, char *err,
			  size_t errlen);
/* Add or replace a challenge whose certificate comes ready-made (files). */
int challenges_add_cert(struct challenges *cs, const char *sni, X509 *cert,
			EVP_PKEY *key, enum challenge_source src, char *err,
			size_t errlen);
int challenges_remove(struct challenges *cs, const char *ident_or_sni);
/* Drop every challenge whose expiry has come at @now (each told to @said,
 * when not NULL, before it goes); how many. */
int challenges_expire(struct challenges *cs, time_t now,
		      void (*said)(const struct challenge *c));
struct challenge *challenges_find_sni(struct challenges *cs, const char *sni);
void challenges_note_answer(struct challenge *c, int family, const char *addr);
void challenges_free(struct challenges *cs);
/* Make the kernel's pending_names map equal to the set of SNIs here. */
int challenges_sync_map(struct challenges *cs, int map_fd);

#endif
