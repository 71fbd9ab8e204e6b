/* SPDX-License-Identifier: GPL-2.0-only */
/* responder.h - the built-in TLS-ALPN-01 responder (RFC 8737, RFC 8738). */
#ifndef ALPNSTEER_RESPONDER_H
#define ALPNSTEER_RESPONDER_H

#include <stdbool.h>
#include <openssl/ssl.h>

#include "alpnsteer_abi.h"
#include "slot.h"

/* One pending name and the context that shows its certificate, built once
 * when the monitor hands it over (docs/design.md, "Privilege separation"). */
struct resp_name {
	char sni[ALPNSTEER_NAME_MAX];
	SSL_CTX *ctx;
	struct resp_name *next;
};

struct responder {
	SSL_CTX *ctx; /* no certificate: every handshake starts here */
	struct resp_name *head;
	int nr;
};

/* One validation handshake on a slot socket. */
struct tls_conn {
	SSL *ssl;
	char sni[ALPNSTEER_NAME_MAX]; /* the pending name it was shown */
	bool answered; /* a handshake completed with acme-tls/1 */
	bool hello_next; /* no PROXY header (left) in front of the hello */
	/* The first fatal alert of the handshake: IPC_DONE_ALERT_SENT or
	 * _RECV (0: none), and its description. */
	unsigned int alert_dir, alert;
};

int responder_init(struct responder *r);
void responder_free(struct responder *r);
/* Answer @sni with @cert and @key (both taken over, also on failure),
 * replacing what it had. */
int responder_add(struct responder *r, const char *sni, X509 *cert,
		  EVP_PKEY *key);
int responder_remove(struct responder *r, const char *sni);

int tls_conn_start(struct responder *r, struct tls_conn *c, int fd);
/* Drive the handshake; SLOT_DONE once it is over (either way). */
enum slot_step tls_conn_pump(struct tls_conn *c);
unsigned int tls_conn_events(const struct tls_conn *c);
void tls_conn_close(struct tls_conn *c);

#endif
