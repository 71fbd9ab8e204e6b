// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_clienthello.c - libFuzzer target for include/clienthello.h.
 *
 *   make fuzz FUZZ_SECONDS=60
 *
 * Besides memory safety (ASan, UBSan), it checks what the verdict relies
 * on: only a hello that parsed whole is ever acme; the SNI is bounded,
 * NUL padded and lowercase; the framing answer is 0 or everything.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clienthello.h"
#include "proxyhdr.h"

/* A PROXY header that parses is never longer than the bytes, nor than
 * ALPNSTEER_PROXY_MAX, and a prefix of it is never OK. */
static void fuzz_proxyhdr(const uint8_t *data, size_t size)
{
	struct ch_buf b = { .data = data, .len = size };
	struct ph_info ph;
	int st;

	memset(&ph, 0, sizeof(ph));
	st = ph_parse(&b, size, &ph);
	if (st != PH_OK && st != PH_MALFORMED && st != PH_PARTIAL)
		abort();
	if (st != PH_OK)
		return;
	if (!ph.len || ph.len > size || ph.len > ALPNSTEER_PROXY_MAX)
		abort();
	if (ph.family && ph.family != PH_AF_INET && ph.family != PH_AF_INET6)
		abort();
	if (ph.sport > 65535)
		abort();
	b.len = ph.len - 1;
	memset(&ph, 0, sizeof(ph));
	if (ph_parse(&b, b.len, &ph) == PH_OK)
		abort();
}

/* The verdict's parse (alpn_decides: the walk stops at an ALPN without
 * acme-tls/1) takes the whole walk's decision: acme-tls/1 or not, and for
 * acme-tls/1 the same status and SNI. */
static void fuzz_alpn_decides(struct ch_buf *b, size_t size, int st,
			      const struct ch_info *whole)
{
	struct ch_info info;
	int st2;

	memset(&info, 0, sizeof(info));
	info.alpn_decides = 1;
	st2 = ch_parse(b, size, &info);
	if (info.acme != whole->acme)
		abort();
	if (info.acme && (st2 != st || info.sni_len != whole->sni_len ||
			  memcmp(info.sni, whole->sni, sizeof(info.sni))))
		abort();
	if (!info.acme && st2 != st && st2 != CH_OK)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ch_buf b = { .data = data, .len = size };
	struct ch_info info;
	__u32 i;
	int st;

	if (size > 65536)
		return 0;
	fuzz_proxyhdr(data, size);
	memset(&info, 0, sizeof(info));
	st = ch_parse(&b, size, &info);
	if (st != CH_OK && st != CH_NOT_TLS && st != CH_MALFORMED &&
	    st != CH_PARTIAL)
		abort();
	/* acme-tls/1 only from a hello that parses as far as it goes, and
	 * from a prefix only with its whole ALPN extension in it. */
	if (info.acme && st != CH_OK && st != CH_PARTIAL)
		abort();
	if (info.acme && (!info.alpn_off || info.alpn_end > size))
		abort();
	if (info.sni_len > ALPNSTEER_NAME_MAX - 1)
		abort();
	for (i = 0; i < ALPNSTEER_NAME_MAX; i++) {
		if (i >= info.sni_len && info.sni[i])
			abort(); /* padding must stay NUL: it is a map key */
		if (info.sni[i] >= 'A' && info.sni[i] <= 'Z')
			abort();
	}
	if (info.alpn_count > CH_MAX_ALPN || info.ext_count > CH_MAX_EXTENSIONS)
		abort();
	fuzz_alpn_decides(&b, size, st, &info);
	return 0;
}
