/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * testlib.h - a minimal unit-test harness for alpnsteer's host tests.
 *
 * Each test binary defines its cases with TEST(name) and lists them in
 * main() through RUN(name); the last line printed is "N passed, N failed",
 * the summary CI reads.  A failed CHECK records the failure and goes on so
 * one run shows every broken rule.
 */
#ifndef ALPNSTEER_TESTLIB_H
#define ALPNSTEER_TESTLIB_H

#include <stdio.h>
#include <string.h>

static int tl_passed, tl_failed, tl_case_failed;
static const char *tl_case;

#define CHECK(cond)                                                         \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stdout, "FAIL %s: %s:%d: %s\n", tl_case,    \
				__FILE__, __LINE__, #cond);                 \
			tl_case_failed = 1;                                 \
		}                                                           \
	} while (0)

#define CHECK_EQ(a, b)                                                      \
	do {                                                                \
		long long _a = (long long)(a), _b = (long long)(b);         \
		if (_a != _b) {                                             \
			fprintf(stdout,                                     \
				"FAIL %s: %s:%d: %s == %s (%lld != %lld)\n", \
				tl_case, __FILE__, __LINE__, #a, #b, _a, _b); \
			tl_case_failed = 1;                                 \
		}                                                           \
	} while (0)

#define CHECK_STREQ(a, b)                                                   \
	do {                                                                \
		const char *_a = (a), *_b = (b);                            \
		if (!_a || !_b || strcmp(_a, _b)) {                         \
			fprintf(stdout, "FAIL %s: %s:%d: \"%s\" == \"%s\"\n", \
				tl_case, __FILE__, __LINE__,                \
				_a ? _a : "(null)", _b ? _b : "(null)");    \
			tl_case_failed = 1;                                 \
		}                                                           \
	} while (0)

#define TEST(name) static void test_##name(void)

#define RUN(name)                                                           \
	do {                                                                \
		tl_case = #name;                                            \
		tl_case_failed = 0;                                         \
		test_##name();                                              \
		if (tl_case_failed)                                         \
			tl_failed++;                                        \
		else                                                        \
			tl_passed++;                                        \
		printf("%s %s\n", tl_case_failed ? "not ok" : "ok", #name); \
	} while (0)

#define TEST_SUMMARY()                                                      \
	(printf("%d passed, %d failed\n", tl_passed, tl_failed),            \
	 tl_failed ? 1 : 0)

#endif /* ALPNSTEER_TESTLIB_H */
