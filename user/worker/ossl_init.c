// SPDX-License-Identifier: GPL-2.0-only
/*
 * ossl_init.c - OpenSSL's start-up in the TLS worker, and in its monitor
 * (docs/design.md, "What it costs").
 *
 * Left to itself, the first OpenSSL call of a process loads the error
 * strings of every library OpenSSL has: some 1,700 heap nodes and the
 * code that files them, about 0.2 MiB resident in each of the two
 * processes (measured: docs/design.md).  Neither ever shows one:
 * the worker only clears its errors, the monitor reports its own words
 * (the CLI's `check`, which does print OpenSSL's reasons, runs in a
 * process of its own and keeps them).  The system's configuration is
 * still read, as before: its policy (MinProtocol, CipherString) applies to
 * the validation handshakes as it did.
 */
#include <errno.h>
#include <openssl/ssl.h>

#include "ossl_init.h"

int ossl_init_daemon(void)
{
	/* The first call decides: a later implicit one that asks for the
	 * strings (SSL_CTX_new's) finds them settled as not loaded. */
	if (OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_SSL_STRINGS |
				     OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS,
			     NULL) != 1)
		return -ENOMEM;
	return 0;
}
