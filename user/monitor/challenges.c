// SPDX-License-Identifier: GPL-2.0-only
/*
 * challenges.c - the pending TLS-ALPN-01 challenges and their certificates.
 *
 * A challenge is known by the SNI a CA will send for it: the lowercase DNS
 * name, or for an IP identifier the RFC 8738 reverse name.  Its validation
 * certificate is built once, when the challenge is added, and shown to
 * every validation connection of the burst (a CA validates from several
 * places at once).  The set of SNIs is mirrored into the kernel's
 * pending_names map, so that only hellos for these names are steered.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include <openssl/sha.h>

#include "acme_cert.h"
#include "challenges.h"

static void challenge_free(struct challenge *c)
{
	X509_free(c->cert);
	EVP_PKEY_free(c->key);
	free(c);
}

/* A new SNI fits in the kernel's pending_names map, or is refused now
 * rather than accepted here and missing there. */
static int room_for(struct challenges *cs, const char *sni, char *err,
		    size_t errlen)
{
	if (cs->nr < ALPNSTEER_MAX_PENDING || challenges_find_sni(cs, sni))
		return 0;
	snprintf(
		err, errlen,
		"too many pending challenges (at most %d, the size of the kernel's pending_names map)",
		ALPNSTEER_MAX_PENDING);
	return -ENOSPC;
}

/* Insert @c, replacing any challenge for the same SNI. */
static void insert(struct challenges *cs, struct challenge *c)
{
	struct challenge **pp;

	if (cs->trace)
		trace_added(cs->trace, c->ident, c->sni, trace_now_ms());
	for (pp = &cs->head; *pp; pp = &(*pp)->next) {
		if (!strcmp((*pp)->sni, c->sni)) {
			struct challenge *old = *pp;

			c->next = old->next;
			*pp = c;
			challenge_free(old);
			return;
		}
	}
	c->next = cs->head;
	cs->head = c;
	cs->nr++;
}

int challenges_add_digest(struct challenges *cs, const char *ident,
			  const unsigned char *digest, char *err, size_t errlen)
{
	struct acme_ident id;
	struct challenge *c;
	int rc;

	rc = acme_ident_parse(ident, &id, err, errlen);
	rc = rc ?: room_for(cs, id.sni, err, errlen);
	if (rc)
		return rc;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	rc = acme_cert_build_digest(&id, digest, &c->cert, &c->key);
	if (rc) {
		snprintf(err, errlen,
			 "cannot build the validation certificate for %s",
			 id.name);
		free(c);
		return rc;
	}
	snprintf(c->ident, sizeof(c->ident), "%s", id.name);
	snprintf(c->sni, sizeof(c->sni), "%s", id.sni);
	c->source = SRC_CONTROL;
	insert(cs, c);
	return 0;
}

int challenges_add(struct challenges *cs, const char *ident,
		   const char *keyauth, char *err, size_t errlen)
{
	unsigned char digest[ACME_DIGEST_LEN];

	if (!keyauth || !*keyauth || strlen(keyauth) > 1024) {
		snprintf(err, errlen,
			 "the key authorization is empty or too long");
		return -EINVAL;
	}
	SHA256((const unsigned char *)keyauth, strlen(keyauth), digest);
	return challenges_add_digest(cs, ident, digest, err, errlen);
}

int challenges_add_cert(struct challenges *cs, const char *sni, X509 *cert,
			EVP_PKEY *key, enum challenge_source src, char *err,
			size_t errlen)
{
	struct acme_ident id;
	struct challenge *c;

	if (acme_sni_to_ident(sni, &id)) {
		snprintf(err, errlen,
			 "'%s' is neither a DNS name nor a reverse IP name",
			 sni);
		return -EINVAL;
	}
	if (room_for(cs, id.sni, err, errlen))
		return -ENOSPC;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	snprintf(c->ident, sizeof(c->ident), "%s", id.name);
	snprintf(c->sni, sizeof(c->sni), "%s", id.sni);
	c->cert = cert;
	c->key = key;
	c->source = src;
	insert(cs, c);
	return 0;
}

int challenges_remove(struct challenges *cs, const char *key)
{
	struct challenge **pp, *c;
	struct acme_ident id;
	char err[128];
	const char *sni = key;

	/* Accept the identifier in any spelling the add accepted. */
	if (!acme_ident_parse(key, &id, err, sizeof(err)))
		sni = id.sni;
	for (pp = &cs->head; *pp; pp = &(*pp)->next) {
		c = *pp;
		if (strcmp(c->sni, sni) && strcmp(c->ident, key))
			continue;
		*pp = c->next;
		if (cs->on_remove)
			cs->on_remove(cs->arg, c);
		if (cs->trace)
			trace_removed(cs->trace, c->sni, trace_now_ms());
		challenge_free(c);
		cs->nr--;
		return 0;
	}
	return -ENOENT;
}

int challenges_expire(struct challenges *cs, time_t now,
		      void (*said)(const struct challenge *c))
{
	struct challenge *c;
	int n = 0;

	for (;;) {
		for (c = cs->head; c; c = c->next)
			if (c->expires && c->expires <= now)
				break;
		if (!c)
			return n;
		if (said)
			said(c);
		challenges_remove(cs, c->sni);
		n++;
	}
}

struct challenge *challenges_find_sni(struct challenges *cs, const char *sni)
{
	struct challenge *c;

	for (c = cs->head; c; c = c->next)
		if (!strcmp(c->sni, sni))
			return c;
	return NULL;
}

void challenges_note_answer(struct challenge *c, int family, const char *addr)
{
	if (family == AF_INET6)
		c->answered_v6++;
	else
		c->answered_v4++;
	snprintf(c->last_addr[c->last_next], sizeof(c->last_addr[0]), "%s",
		 addr);
	c->last_next = (c->last_next + 1) % CHALLENGE_LAST_ADDRS;
}

void challenges_free(struct challenges *cs)
{
	struct challenge *c, *n;

	for (c = cs->head; c; c = n) {
		n = c->next;
		challenge_free(c);
	}
	cs->head = NULL;
	cs->nr = 0;
}

int challenges_sync_map(struct challenges *cs, int map_fd)
{
	struct alpnsteer_name key, next;
	struct challenge *c;
	void *prev = NULL;
	__u32 one = 1;
	int err = 0;

	/* Add first, then remove what is gone: a name never disappears
	 * from the map while it is still pending. */
	for (c = cs->head; c; c = c->next) {
		memset(&key, 0, sizeof(key));
		memcpy(key.name, c->sni, strlen(c->sni));
		if (bpf_map_update_elem(map_fd, &key, &one, BPF_ANY))
			err = -errno;
	}
	while (!bpf_map_get_next_key(map_fd, prev, &next)) {
		key = next;
		prev = &key;
		if (challenges_find_sni(cs, (const char *)next.name))
			continue;
		bpf_map_delete_elem(map_fd, &next);
		prev = NULL; /* the walk restarts after a delete */
	}
	return err;
}
