/* SPDX-License-Identifier: GPL-2.0-only */
/* ossl_init.h - OpenSSL's start-up in the daemon's two processes. */
#ifndef ALPNSTEER_OSSL_INIT_H
#define ALPNSTEER_OSSL_INIT_H

/* OpenSSL initialised without its error strings (0, or -ENOMEM); first,
 * before any other OpenSSL call of the process. */
int ossl_init_daemon(void);

#endif
