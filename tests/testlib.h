/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * testlib.h - the unit-test harness of alpnsteer's host tests.
 *
 * A case is TEST(name) { ... }: it registers itself (a constructor puts it
 * on a list, in the order of the file), as the kernel's prog_tests do, so a
 * case cannot be written and forgotten in main().  TEST_MAIN() is the usual
 * main(); a binary that needs set-up around its cases calls tl_run_all()
 * from its own main() instead.  Arguments select cases by name (exact, or a
 * prefix ending in '*'); -l lists them.
 *
 * The checks say what they compared when they fail:
 *
 *	ASSERT_EQ(got, want[, what])	ASSERT_NE, ASSERT_LT, ASSERT_GE ...
 *	ASSERT_TRUE(cond[, what])	ASSERT_FALSE(cond[, what])
 *	ASSERT_STREQ(got, want[, what])	ASSERT_STRSTR(haystack, needle[, what])
 *	ASSERT_OK(err[, what])		0, else "got -22 (Invalid argument)"
 *	ASSERT_ERR(err[, what])		negative
 *	ASSERT_NULL(p[, what])		ASSERT_OK_PTR(p[, what])
 *
 * print "FAIL case: file:line: what: <expression>: got X, want Y", record
 * the failure and go on, so one run shows every broken rule; each also
 * yields true when it held, for `if (!ASSERT_OK_PTR(f)) return;`.  The
 * last line printed is "N passed, N failed", which tests/tally.sh reads.
 * CHECK, CHECK_EQ and CHECK_STREQ are the older spellings, kept working.
 */
#ifndef ALPNSTEER_TESTLIB_H
#define ALPNSTEER_TESTLIB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tl_test {
	const char *name;
	void (*fn)(void);
	struct tl_test *next;
};

static struct tl_test *tl_head, **tl_tail = &tl_head;
static int tl_passed, tl_failed, tl_case_failed;
static const char *tl_case;

static inline void tl_register(struct tl_test *t)
{
	*tl_tail = t;
	tl_tail = &t->next;
}

#define TEST(name)                                                           \
	static void test_##name(void);                                       \
	static struct tl_test tl_test_##name = { #name, test_##name, NULL }; \
	__attribute__((constructor)) static void tl_reg_##name(void)         \
	{                                                                    \
		tl_register(&tl_test_##name);                                \
	}                                                                    \
	static void test_##name(void)

/* "what: " before the rest of a failure line, when a check names it. */
#define __TL_WHAT(...) __TL_WHAT_(x, ##__VA_ARGS__, "")
#define __TL_WHAT_(_, what, ...) what

__attribute__((format(printf, 4, 5))) static inline void
tl_fail(const char *file, int line, const char *what, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %s: %s:%d: %s%s", tl_case ? tl_case : "?", file, line,
	       what, *what ? ": " : "");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	tl_case_failed = 1;
}

#define __TL_CMP(got, op, want, ...)                                          \
	({                                                                    \
		long long _g = (long long)(got), _w = (long long)(want);      \
		bool _ok = _g op _w;                                          \
		if (!_ok)                                                     \
			tl_fail(__FILE__, __LINE__, __TL_WHAT(__VA_ARGS__),   \
				"%s " #op " %s: got %lld, want %s%lld", #got, \
				#want, _g, #op[0] == '=' ? "" : #op " ", _w); \
		_ok;                                                          \
	})

#define ASSERT_EQ(got, want, ...) __TL_CMP(got, ==, want, ##__VA_ARGS__)
#define ASSERT_NE(got, want, ...) __TL_CMP(got, !=, want, ##__VA_ARGS__)
#define ASSERT_LT(got, want, ...) __TL_CMP(got, <, want, ##__VA_ARGS__)
#define ASSERT_LE(got, want, ...) __TL_CMP(got, <=, want, ##__VA_ARGS__)
#define ASSERT_GT(got, want, ...) __TL_CMP(got, >, want, ##__VA_ARGS__)
#define ASSERT_GE(got, want, ...) __TL_CMP(got, >=, want, ##__VA_ARGS__)

#define ASSERT_TRUE(cond, ...)                                              \
	({                                                                  \
		bool _ok = !!(cond);                                        \
		if (!_ok)                                                   \
			tl_fail(__FILE__, __LINE__, __TL_WHAT(__VA_ARGS__), \
				"%s: false", #cond);                        \
		_ok;                                                        \
	})

#define ASSERT_FALSE(cond, ...)                                             \
	({                                                                  \
		bool _ok = !(cond);                                         \
		if (!_ok)                                                   \
			tl_fail(__FILE__, __LINE__, __TL_WHAT(__VA_ARGS__), \
				"%s: true, want false", #cond);             \
		_ok;                                                        \
	})

#define ASSERT_STREQ(got, want, ...)                                        \
	({                                                                  \
		const char *_g = (got), *_w = (want);                       \
		bool _ok = _g && _w && !strcmp(_g, _w);                     \
		if (!_ok)                                                   \
			tl_fail(__FILE__, __LINE__, __TL_WHAT(__VA_ARGS__), \
				"%s: got \"%s\", want \"%s\"", #got,        \
				_g ? _g : "(null)", _w ? _w : "(null)");    \
		_ok;                                                        \
	})

#define ASSERT_STRSTR(hay, needle, ...)                                     \
	({                                                                  \
		const char *_h = (hay), *_n = (needle);                     \
		bool _ok = _h && _n && strstr(_h, _n);                      \
		if (!_ok)                                                   \
			tl_fail(__FILE__, __LINE__, __TL_WHAT(__VA_ARGS__), \
				"%s: \"%s\" not in \"%s\"", #hay,           \
				_n ? _n : "(null)", _h ? _h : "(null)");    \
		_ok;                                                        \
	})

#define ASSERT_OK(err, ...)                                                 \
	({                                                                  \
		long long _e = (long long)(err);                            \
		bool _ok = !_e;                                             \
		if (!_ok)                                                   \
			tl_fail(__FILE__, __LINE__, __TL_WHAT(__VA_ARGS__), \
				"%s: got %lld (%s), want 0", #err, _e,      \
				_e < 0 ? strerror((int)-_e) : "not 0");     \
		_ok;                                                        \
	})

#define ASSERT_ERR(err, ...)                                                \
	({                                                                  \
		long long _e = (long long)(err);                            \
		bool _ok = _e < 0;                                          \
		if (!_ok)                                                   \
			tl_fail(__FILE__, __LINE__, __TL_WHAT(__VA_ARGS__), \
				"%s: got %lld, want an error (< 0)", #err,  \
				_e);                                        \
		_ok;                                                        \
	})

#define ASSERT_NULL(ptr, ...)                                               \
	({                                                                  \
		const void *_p = (ptr);                                     \
		bool _ok = !_p;                                             \
		if (!_ok)                                                   \
			tl_fail(__FILE__, __LINE__, __TL_WHAT(__VA_ARGS__), \
				"%s: got %p, want NULL", #ptr, _p);         \
		_ok;                                                        \
	})

#define ASSERT_OK_PTR(ptr, ...)                                             \
	({                                                                  \
		const void *_p = (ptr);                                     \
		bool _ok = !!_p;                                            \
		if (!_ok)                                                   \
			tl_fail(__FILE__, __LINE__, __TL_WHAT(__VA_ARGS__), \
				"%s: got NULL", #ptr);                      \
		_ok;                                                        \
	})

/* The older spellings. */
#define CHECK(cond) ((void)ASSERT_TRUE(cond))
#define CHECK_EQ(a, b) ((void)ASSERT_EQ(a, b))
#define CHECK_STREQ(a, b) ((void)ASSERT_STREQ(a, b))

static inline void tl_run_one(const char *name, void (*fn)(void))
{
	tl_case = name;
	tl_case_failed = 0;
	fn();
	if (tl_case_failed)
		tl_failed++;
	else
		tl_passed++;
	printf("%s %s\n", tl_case_failed ? "not ok" : "ok", name);
	fflush(stdout);
}

/* Older binaries list their cases in main(); TEST() registered them too. */
#define RUN(name) tl_run_one(#name, test_##name)

#define TEST_SUMMARY()                                           \
	(printf("%d passed, %d failed\n", tl_passed, tl_failed), \
	 tl_failed ? 1 : 0)

static inline bool tl_selected(const char *name, int argc, char **argv)
{
	int i;

	if (argc < 1)
		return true;
	for (i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);

		if (n && argv[i][n - 1] == '*' ?
			    !strncmp(name, argv[i], n - 1) :
			    !strcmp(name, argv[i]))
			return true;
	}
	return false;
}

/*
 * Run the registered cases (those @argv names, or all), print the summary
 * line; the exit status for main().  A name that selects nothing is an
 * error: a typo must not look like a pass.
 */
static inline int tl_run_all(int argc, char **argv)
{
	struct tl_test *t;
	int i, hits = 0;

	if (argc > 1 && !strcmp(argv[1], "-l")) {
		for (t = tl_head; t; t = t->next)
			printf("%s\n", t->name);
		return 0;
	}
	for (t = tl_head; t; t = t->next) {
		if (!tl_selected(t->name, argc - 1, argv + 1))
			continue;
		hits++;
		tl_run_one(t->name, t->fn);
	}
	for (i = 1; i < argc && !hits; i++)
		printf("FAIL no case matches '%s' (-l lists them)\n", argv[i]);
	if (!hits && argc > 1)
		tl_failed++;
	return TEST_SUMMARY();
}

#define TEST_MAIN()                            \
	int main(int argc, char **argv)        \
	{                                      \
		return tl_run_all(argc, argv); \
	}

#endif /* ALPNSTEER_TESTLIB_H */
