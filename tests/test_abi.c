// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_abi.c - the counters of include/alpnsteer_abi.h: one X-macro list
 * makes the enum and the names `alpnsteer status -j` uses as keys, which
 * are an interface (added to, never renamed).
 */
#include <ctype.h>

#include "alpnsteer_abi.h"
#include "testlib.h"

static const char *const names[AC__MAX] = { ALPNSTEER_COUNTER_NAMES };

TEST(every_counter_has_a_distinct_name)
{
	int i, j;

	for (i = 0; i < AC__MAX; i++) {
		const char *n = names[i];

		if (!ASSERT_OK_PTR(n, "name of a counter"))
			continue;
		ASSERT_GT(strlen(n), 0);
		for (j = 0; n[j]; j++)
			ASSERT_TRUE(islower((unsigned char)n[j]) || n[j] == '_',
				    "a JSON key of lowercase and _");
		for (j = 0; j < i; j++)
			if (names[j])
				ASSERT_NE(strcmp(n, names[j]), 0,
					  "names are distinct");
	}
}

/* The keys and indices as they were before the list: scripts and the
 * selftests read these; new counters only ever go at the end. */
TEST(keys_and_indices_unchanged)
{
	static const char *const keys[] = {
		"seen",
		"insert_failed",
		"steered",
		"normal",
		"not_tls",
		"malformed",
		"not_pending",
		"no_slot",
		"no_responder",
		"oversized",
		"released",
		"release_deferred",
		"stale_dropped",
		"reply_sent",
		"reply_dropped",
		"client_closed",
		"passed_draining",
		"released_first",
		"preclass_normal",
		"early",
		"split",
		"released_closing",
		"reaped",
		"src_capped",
	};
	unsigned int i;

	ASSERT_GE(AC__MAX, sizeof(keys) / sizeof(keys[0]), "no counter lost");
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]) && i < AC__MAX; i++)
		ASSERT_STREQ(names[i], keys[i], "key at its index");
	ASSERT_EQ(AC_SEEN, 0);
	ASSERT_EQ(AC_STEERED, 2);
	ASSERT_EQ(AC_SRC_CAPPED, 23);
}

TEST_MAIN()
