// SPDX-License-Identifier: GPL-2.0-only
/*
 * responder.c - answer TLS-ALPN-01 validations on the slot sockets.
 *
 * What a CA checks (docs/design.md, "What a validator checks"; Boulder's
 * va/tlsalpn.go) decides every policy here:
 *  - TLS 1.2 and 1.3 only; no session tickets, no renegotiation, no early
 *    data: a validation is one full handshake and nothing else;
 *  - acme-tls/1 is agreed only when offered, and a hello that does not
 *    offer it is refused with no_application_protocol before any
 *    certificate is chosen;
 *  - the validation certificate is only ever shown to a handshake whose SNI
 *    is a pending identifier; any other SNI is refused (unrecognized_name)
 *    and sees no certificate at all;
 *  - each of these holds for every ClientHello of a handshake: the second
 *    one after a HelloRetryRequest is checked as the first, and must name
 *    the same identifier.
 * The slot socket is non-blocking; reads are the client's bytes, writes go
 * out on the client's connection through the reply program.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <openssl/err.h>
#include <openssl/tls1.h>

#include "clienthello.h"
#include "ipc.h"
#include "proxy.h"
#include "responder.h"

static struct resp_name *find_name(struct responder *r, const char *sni)
{
	struct resp_name *n;

	for (n = r->head; n; n = n->next)
		if (!strcmp(n->sni, sni))
			return n;
	return NULL;
}

/* ClientHello callback: pick the certificate, or refuse.  Called for
 * every hello of a handshake, the second one after a HelloRetryRequest
 * included.  ALPN and SNI are read by include/clienthello.h, the parser
 * the kernel's verdict runs: what steered the hello here is what is
 * answered. */
static int on_client_hello(SSL *ssl, int *alert, void *arg)
{
	struct responder *r = arg;
	struct ch_info info = {};
	const unsigned char *ext;
	struct resp_name *c;
	struct tls_conn *tc;
	ch_src_t src;
	size_t len;

	/* ALPN first: without acme-tls/1 offered there is nothing to say. */
	if (!SSL_client_hello_get0_ext(
		    ssl, TLSEXT_TYPE_application_layer_protocol_negotiation,
		    &ext, &len))
		goto no_alpn;
	src = (ch_src_t){ .data = ext, .len = len };
	if (ch_parse_alpn(&src, 0, len, &info) != CH_OK || !info.acme)
		goto no_alpn;

	/* server_name: its first host_name, lowercase */
	if (!SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext,
				       &len))
		goto unknown_name;
	src = (ch_src_t){ .data = ext, .len = len };
	if (ch_parse_sni(&src, 0, len, &info) != CH_OK || !info.sni_len)
		goto unknown_name;
	c = find_name(r, (const char *)info.sni);
	if (!c)
		goto unknown_name;
	tc = SSL_get_app_data(ssl);
	/* After a HelloRetryRequest the client's second hello comes here
	 * too (every context carries this callback: the one switched to
	 * below is the one OpenSSL asks).  It is held to the same rules and
	 * must name the same identifier: a second hello is a new chance to
	 * leave out acme-tls/1 or to ask for another name. */
	if (tc->sni[0] && strcmp(tc->sni, (const char *)info.sni))
		goto unknown_name;
	/* Switch to the name's own context, built once with its certificate
	 * and key, rather than load both into each handshake: no key check
	 * and no certificate copy per handshake (docs/design.md, "Privilege
	 * separation", for the figures). */
	if (!SSL_set_SSL_CTX(ssl, c->ctx)) {
		*alert = SSL_AD_INTERNAL_ERROR;
		return SSL_CLIENT_HELLO_ERROR;
	}
	memcpy(tc->sni, info.sni, sizeof(tc->sni));
	return SSL_CLIENT_HELLO_SUCCESS;

no_alpn:
	*alert = SSL_AD_NO_APPLICATION_PROTOCOL;
	return SSL_CLIENT_HELLO_ERROR;
unknown_name:
	*alert = SSL_AD_UNRECOGNIZED_NAME;
	return SSL_CLIENT_HELLO_ERROR;
}

static int on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		   const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned int i;

	/* The callbacks' list is the extension's, without its length: the
	 * client hello callback has checked it with ch_parse_alpn(). */
	for (i = 0; i < inlen; i += 1 + in[i]) {
		if (in[i] == ACME_TLS_1_LEN &&
		    i + 1 + ACME_TLS_1_LEN <= inlen && ch_is_acme(in + i + 1)) {
			*out = in + i + 1;
			*outlen = ACME_TLS_1_LEN;
			return SSL_TLSEXT_ERR_OK;
		}
	}
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* The policy every context shares: the base one, where each handshake
 * starts, and each name's, which it switches to. */
static SSL_CTX *new_ctx(struct responder *r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
					 SSL_OP_NO_COMPRESSION |
					 SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_max_early_data(ctx, 0);
	/* Both callbacks are looked up on the context switched to: a
	 * ClientHello callback set on the base context alone would never
	 * see the second hello of a HelloRetryRequest, which then got the
	 * validation certificate with no ALPN at all (issue 20). */
	SSL_CTX_set_alpn_select_cb(ctx, on_alpn, NULL);
	SSL_CTX_set_client_hello_cb(ctx, on_client_hello, r);
	/* The certificate is self-signed and goes alone: no chain to build,
	 * which OpenSSL otherwise does per handshake through its store
	 * (X509_verify_cert on a store context made for it). */
	SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
	/* A hello (and the client's Finished) in one read, not two per
	 * record. */
	SSL_CTX_set_read_ahead(ctx, 1);
	/* A handshake waiting for its client holds no record buffer (21
	 * and 17 KiB): freed once empty or sent, so that the worker's peak
	 * is what is in flight, not what has been (docs/design.md, "What
	 * it costs").  A buffer with bytes read ahead in it is kept. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	return ctx;
}

int responder_init(struct responder *r)
{
	memset(r, 0, sizeof(*r));
	r->ctx = new_ctx(r);
	if (!r->ctx)
		return -ENOMEM;
	return 0;
}

int responder_remove(struct responder *r, const char *sni)
{
	struct resp_name **pp, *n;

	for (pp = &r->head; (n = *pp); pp = &n->next) {
		if (strcmp(n->sni, sni))
			continue;
		*pp = n->next;
		/* A handshake that switched to it holds its own reference. */
		SSL_CTX_free(n->ctx);
		free(n);
		r->nr--;
		return 0;
	}
	return -ENOENT;
}

int responder_add(struct responder *r, const char *sni, X509 *cert,
		  EVP_PKEY *key)
{
	struct resp_name *n = NULL;
	SSL_CTX *ctx = NULL;
	int err = -EINVAL;

	if (strlen(sni) >= sizeof(n->sni))
		goto out;
	ctx = new_ctx(r);
	if (!ctx || SSL_CTX_use_certificate(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		goto out;
	n = calloc(1, sizeof(*n));
	if (!n) {
		err = -ENOMEM;
		goto out;
	}
	responder_remove(r, sni);
	snprintf(n->sni, sizeof(n->sni), "%s", sni);
	n->ctx = ctx;
	ctx = NULL;
	n->next = r->head;
	r->head = n;
	r->nr++;
	err = 0;
out:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	X509_free(cert);
	EVP_PKEY_free(key);
	return err;
}

void responder_free(struct responder *r)
{
	while (r->head)
		responder_remove(r, r->head->sni);
	SSL_CTX_free(r->ctx);
	r->ctx = NULL;
}

/* Which alert ended a handshake, for the validation trace: the first
 * fatal one, ours or the client's (a validator that rejects the
 * certificate says so with one). */
static void on_info(const SSL *ssl, int where, int ret)
{
	struct tls_conn *c = SSL_get_app_data(ssl);

	if (!(where & SSL_CB_ALERT) || !c || c->alert_dir)
		return;
	if (((ret >> 8) & 0xff) != SSL3_AL_FATAL)
		return;
	c->alert_dir = where & SSL_CB_READ ? IPC_DONE_ALERT_RECV :
					     IPC_DONE_ALERT_SENT;
	c->alert = ret & 0xff;
}

int tls_conn_start(struct responder *r, struct tls_conn *c, int fd)
{
	memset(c, 0, sizeof(*c));
	c->ssl = SSL_new(r->ctx);
	if (!c->ssl)
		return -ENOMEM;
	if (SSL_set_fd(c->ssl, fd) != 1) {
		SSL_free(c->ssl);
		c->ssl = NULL;
		return -EINVAL;
	}
	SSL_set_app_data(c->ssl, c);
	SSL_set_info_callback(c->ssl, on_info);
	SSL_set_accept_state(c->ssl);
	return 0;
}

enum slot_step tls_conn_pump(struct tls_conn *c)
{
	int rc, e;

	if (!c->ssl)
		return SLOT_DONE;
	if (!c->hello_next) {
		rc = proxy_consume(SSL_get_fd(c->ssl));
		if (rc < 0)
			return SLOT_DONE;
		if (!rc)
			return SLOT_CONTINUE;
		c->hello_next = true;
	}
	errno = 0;
	rc = SSL_do_handshake(c->ssl);
	if (rc == 1) {
		const unsigned char *alpn = NULL;
		unsigned int alen = 0;

		SSL_get0_alpn_selected(c->ssl, &alpn, &alen);
		/* The certificate went out only with acme-tls/1 agreed;
		 * check it again rather than trust the callbacks. */
		c->answered = alen == ACME_TLS_1_LEN && ch_is_acme(alpn);
		/* No close_notify.  RFC 8737 §3: the client closes as soon as
		 * the handshake is done, so one sent now meets a closed socket
		 * and draws an RST; a steered socket reset that way can leave
		 * the webserver's fd unwoken until its handshake timeout
		 * (nginx: 60 s), holding up every drain (measured: 13 of 6,139
		 * flood handshakes with close_notify, 0 of 15,049 without). */
		return SLOT_DONE;
	}
	e = SSL_get_error(c->ssl, rc);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return SLOT_CONTINUE;
	ERR_clear_error();
	/* A client that vanished shows up as EACCES/EPIPE on write. */
	if (e == SSL_ERROR_SYSCALL && (errno == EACCES || errno == EPIPE))
		return SLOT_CLIENT_GONE;
	return SLOT_DONE;
}

unsigned int tls_conn_events(const struct tls_conn *c)
{
	if (c->ssl && SSL_want_write(c->ssl))
		return EPOLLIN | EPOLLOUT;
	return EPOLLIN;
}

void tls_conn_close(struct tls_conn *c)
{
	SSL_free(c->ssl);
	memset(c, 0, sizeof(*c));
}
