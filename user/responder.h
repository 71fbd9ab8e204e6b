/* SPDX-License-Identifier: GPL-2.0-only */
/* responder.h - the built-in TLS-ALPN-01 responder (RFC 8737, RFC 8738). */
#ifndef ALPNSTEER_RESPONDER_H
#define ALPNSTEER_RESPONDER_H

#include <stdbool.h>
#include <openssl/ssl.h>

#include "challenges.h"
#include "relay.h"

struct responder {
	SSL_CTX *ctx;
	struct challenges *store;
};

/* One validation handshake on a slot socket. */
struct tls_conn {
	SSL *ssl;
	char sni[ALPNSTEER_NAME_MAX]; /* the pending name it was shown */
	bool answered; /* a handshake completed with acme-tls/1 */
	bool hello_next; /* no PROXY header (left) in front of the hello */
};

int responder_init(struct responder *r, struct challenges *store);
void responder_free(struct responder *r);

int tls_conn_start(struct responder *r, struct tls_conn *c, int fd);
/* Drive the handshake; RELAY_DONE once it is over (either way). */
enum relay_result tls_conn_pump(struct tls_conn *c);
unsigned int tls_conn_events(const struct tls_conn *c);
void tls_conn_close(struct tls_conn *c);

#endif
