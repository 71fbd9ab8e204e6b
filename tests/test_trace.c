// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_trace.c - the validation trace's pure parts (user/lib/trace.c):
 * /24 and /48 bucketing, v4-mapped clients as IPv4, outcomes per
 * identifier, the summary, the bounds, the JSON and text it shows, and
 * the agent's merge of the daemon's JSON.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "testlib.h"
#include "trace.h"

static void v4(const char *s, unsigned char a[4])
{
	inet_pton(AF_INET, s, a);
}

static void v6(const char *s, unsigned char a[16])
{
	inet_pton(AF_INET6, s, a);
}

TEST(prefixes)
{
	unsigned char a[16];
	char buf[64];
	bool is4;

	v4("198.18.7.42", a);
	trace_prefix(AF_INET, a, buf, sizeof(buf));
	CHECK_STREQ(buf, "198.18.7.0/24");
	v6("fd00:1:2:3::42", a);
	trace_prefix(AF_INET6, a, buf, sizeof(buf));
	CHECK_STREQ(buf, "fd00:1:2::/48");
	trace_addr(AF_INET6, a, buf, sizeof(buf), &is4);
	CHECK_STREQ(buf, "fd00:1:2:3::42");
	ASSERT_FALSE(is4);
	/* A v4-mapped client is the IPv4 client it is, /24 and all. */
	v6("::ffff:198.18.9.1", a);
	trace_prefix(AF_INET6, a, buf, sizeof(buf));
	CHECK_STREQ(buf, "198.18.9.0/24");
	trace_addr(AF_INET6, a, buf, sizeof(buf), &is4);
	CHECK_STREQ(buf, "198.18.9.1");
	ASSERT_TRUE(is4);
}

TEST(verdicts)
{
	CHECK_EQ(trace_outcome_of_verdict(AS_NOT_PENDING), TR_NOT_PENDING);
	CHECK_EQ(trace_outcome_of_verdict(AS_NO_SLOT), TR_NO_SLOT);
	CHECK_EQ(trace_outcome_of_verdict(AS_SRC_CAPPED), TR_CAPPED);
	CHECK_EQ(trace_outcome_of_verdict(AS_SPLIT), TR_SPLIT);
	CHECK_EQ(trace_outcome_of_verdict(AS_DRAINING), TR_DRAINING);
	CHECK_EQ(trace_outcome_of_verdict(AS_NORMAL), 0);
	CHECK_EQ(trace_outcome_of_verdict(AS_STEERED), 0);
	CHECK_STREQ(trace_outcome_name(TR_CAPPED), "source_capped");
	ASSERT_TRUE(trace_outcome_name(TR__MAX) == NULL);
}

TEST(summary_and_outcomes)
{
	struct trace *t = trace_new();
	const struct trace_id *x;
	unsigned char a[16];

	trace_added(t, "a.test", "a.test", 1000);
	v4("198.18.1.2", a);
	trace_note(t, "a.test", AF_INET, a, 4000, TR_ANSWERED, NULL, 1100);
	v4("198.18.1.3", a); /* the same /24 */
	trace_note(t, "a.test", AF_INET, a, 4001, TR_ANSWERED, NULL, 1200);
	v6("::ffff:198.18.2.3", a); /* another /24, v4-mapped */
	trace_note(t, "a.test", AF_INET6, a, 4002, TR_ANSWERED, NULL, 1300);
	v6("fd00:5:6::1", a);
	trace_note(t, "a.test", AF_INET6, a, 4003, TR_ANSWERED, NULL, 1400);
	v6("fd00:5:7::1", a);
	trace_note(t, "a.test", AF_INET6, a, 4004, TR_FAILED,
		   "alert received: bad certificate", 1500);
	trace_note(t, "a.test", AF_INET6, a, 4005, TR_SPLIT, NULL, 1600);
	x = trace_find(t, "a.test");
	if (!ASSERT_TRUE(x != NULL))
		return;
	CHECK_EQ(x->hellos, 6);
	CHECK_EQ(x->v4, 3);
	CHECK_EQ(x->v6, 3);
	CHECK_EQ(x->answered, 4);
	CHECK_EQ(x->answered_v4, 3);
	CHECK_EQ(x->failed, 1);
	CHECK_EQ(x->first_ms, 1100);
	CHECK_EQ(x->last_ms, 1600);
	CHECK_EQ(x->last_answered_ms, 1400);
	CHECK_EQ(x->nr_nets, 3); /* 198.18.1/24, 198.18.2/24, fd00:5:6::/48 */

	/* Removed: a later hello the kernel calls not pending arrived after
	 * the removal; an SNI never pending is just not pending. */
	trace_removed(t, "a.test", 2000);
	v4("198.18.3.1", a);
	CHECK_EQ(trace_note(t, "a.test", AF_INET, a, 1, TR_NOT_PENDING, NULL,
			    2100),
		 TR_AFTER_REMOVAL);
	CHECK_EQ(trace_note(t, "b.test", AF_INET, a, 1, TR_NOT_PENDING, NULL,
			    2100),
		 TR_NOT_PENDING);
	x = trace_find(t, "b.test");
	ASSERT_TRUE(x && !x->ident[0]);
	trace_free(t);
}

TEST(late_answer)
{
	struct trace *t = trace_new();
	const struct trace_id *x;
	unsigned char a[16], b[16];

	trace_added(t, "l.test", "l.test", 0);
	v4("198.18.1.2", a);
	v6("fd00:1:2::3", b);
	trace_note(t, "l.test", AF_INET, a, 7, TR_FAILED, "client closed", 10);
	trace_note(t, "l.test", AF_INET6, b, 8, TR_ANSWERED, NULL, 11);
	/* The worker's answer crossed the take-back: that hello, not
	 * another, becomes answered, and the counts follow. */
	ASSERT_EQ(trace_late_answer(t, "l.test", AF_INET, a, 7, 12),
		  TR_ANSWERED);
	x = trace_find(t, "l.test");
	ASSERT_EQ(x->hellos, 2);
	ASSERT_EQ(x->answered, 2);
	ASSERT_EQ(x->answered_v4, 1);
	ASSERT_EQ(x->failed, 0);
	ASSERT_EQ(x->nr_nets, 2);
	ASSERT_EQ(x->ev[0].outcome, TR_ANSWERED);
	ASSERT_STREQ(x->ev[0].detail, "");
	/* None to amend: noted as a new answered hello. */
	ASSERT_EQ(trace_late_answer(t, "l.test", AF_INET, a, 9, 13),
		  TR_ANSWERED);
	ASSERT_EQ(x->hellos, 3);
	ASSERT_EQ(x->answered, 3);
	trace_free(t);
}

TEST(bounded)
{
	struct trace *t = trace_new();
	const struct trace_id *x;
	unsigned char a[4];
	char name[32];
	int i;

	v4("198.18.1.2", a);
	trace_added(t, "keep.test", "keep.test", 1);
	for (i = 0; i < TRACE_EVENTS + 10; i++)
		trace_note(t, "keep.test", AF_INET, a, i, TR_ANSWERED, NULL,
			   10 + i);
	x = trace_find(t, "keep.test");
	CHECK_EQ(x->hellos, TRACE_EVENTS + 10);
	CHECK_EQ(x->nr_ev, TRACE_EVENTS + 10);
	/* Many SNIs never pending: the pending identifier stays. */
	for (i = 0; i < 3 * TRACE_IDENTS; i++) {
		snprintf(name, sizeof(name), "x%d.test", i);
		trace_note(t, name, AF_INET, a, 1, TR_NOT_PENDING, NULL,
			   1000 + i);
	}
	ASSERT_TRUE(trace_find(t, "keep.test") != NULL);
	ASSERT_TRUE(trace_find(t, "x0.test") == NULL);
	snprintf(name, sizeof(name), "x%d.test", 3 * TRACE_IDENTS - 1);
	ASSERT_TRUE(trace_find(t, name) != NULL);
	trace_free(t);
}

TEST(json_text_and_merge)
{
	struct trace *t = trace_new(), *m = trace_new();
	const struct trace_id *x;
	unsigned char a[16];
	char *j, *txt, *j2;

	trace_added(t, "198.18.0.9", "9.0.18.198.in-addr.arpa", 5000);
	v6("fd00:1:2::7", a);
	trace_note(t, "9.0.18.198.in-addr.arpa", AF_INET6, a, 443, TR_ANSWERED,
		   NULL, 5250);
	v4("198.18.4.4", a);
	trace_note(t, "9.0.18.198.in-addr.arpa", AF_INET, a, 80, TR_FAILED,
		   "timeout", 6000);
	j = trace_json(t, NULL, NULL);
	if (!ASSERT_TRUE(j != NULL))
		return;
	ASSERT_TRUE(strstr(j, "\"identifier\":\"198.18.0.9\"") != NULL);
	ASSERT_TRUE(strstr(j, "\"since_add_ms\":250") != NULL);
	ASSERT_TRUE(strstr(j, "\"net\":\"fd00:1:2::/48\"") != NULL);
	ASSERT_TRUE(
		strstr(j, "\"outcome\":\"failed\",\"detail\":\"timeout\"") !=
		NULL);
	ASSERT_TRUE(strstr(j, "\"answered_nets48\":1") != NULL);
	txt = trace_text(t, "198.18.0.9", 7000, NULL);
	ASSERT_TRUE(strstr(txt, "+0.250s") != NULL);
	ASSERT_TRUE(strstr(txt, "[fd00:1:2::7]:443") != NULL);
	ASSERT_TRUE(strstr(txt, "failed (timeout)") != NULL);
	free(txt);
	txt = trace_text(t, "other.test", 7000, NULL);
	CHECK_STREQ(txt, "no acme-tls/1 hello traced");
	free(txt);

	/* The agent takes the daemon's JSON in: the same record again
	 * replaces, it does not double. */
	CHECK_EQ(trace_merge_json(m, j), 0);
	CHECK_EQ(trace_merge_json(m, j), 0);
	x = trace_find(m, "198.18.0.9");
	if (ASSERT_TRUE(x != NULL)) {
		CHECK_EQ(x->hellos, 2);
		CHECK_EQ(x->nr_ev, 2);
		CHECK_EQ(x->answered_v6, 1);
		CHECK_EQ(x->nr_nets, 1);
	}
	j2 = trace_json(m, NULL, NULL);
	CHECK_STREQ(j2, j);
	CHECK_EQ(trace_merge_json(m, "{\"x\":1}"), -EINVAL);
	free(j);
	free(j2);
	trace_free(t);
	trace_free(m);
}

/* A member's view: the records of what it added (kept after the remove
 * and across the agent's merge), and those its names policy gives it. */
static bool shop_names(const void *arg, const char *name)
{
	(void)arg;
	return strstr(name, "shop.test") != NULL;
}

TEST(member_view)
{
	struct trace *t = trace_new(), *m = trace_new();
	struct trace_view mine = { .uid = 1000 }, other = { .uid = 1001 };
	struct trace_view shop = { .uid = 1001, .may_see = shop_names };
	unsigned char a[16];
	char *j, *j2;

	v4("198.18.4.4", a);
	trace_added(t, "root.test", "root.test", 1000);
	trace_added(t, "m.test", "m.test", 1000);
	trace_owner(t, "m.test", 1000);
	trace_added(t, "x.shop.test", "x.shop.test", 1000);
	trace_note(t, "m.test", AF_INET, a, 1, TR_ANSWERED, NULL, 1100);
	trace_note(t, "root.test", AF_INET, a, 2, TR_ANSWERED, NULL, 1100);
	trace_note(t, "nobody.shop.test", AF_INET, a, 3, TR_NOT_PENDING, NULL,
		   1100);
	trace_removed(t, "m.test", 1200);
	/* not pending any more: no new owner */
	trace_owner(t, "m.test", 1001);
	j = trace_json(t, NULL, &mine);
	if (!ASSERT_TRUE(j != NULL))
		return;
	ASSERT_TRUE(strstr(j, "\"identifier\":\"m.test\"") != NULL);
	ASSERT_TRUE(strstr(j, "root.test") == NULL);
	ASSERT_TRUE(strstr(j, "shop.test") == NULL);
	free(j);
	j = trace_json(t, "root.test", &mine);
	ASSERT_TRUE(strstr(j, "identifier") == NULL);
	free(j);
	j = trace_json(t, NULL, &other);
	ASSERT_TRUE(strstr(j, "identifier") == NULL);
	free(j);
	j = trace_text(t, NULL, 2000, &shop);
	ASSERT_TRUE(strstr(j, "x.shop.test") != NULL);
	ASSERT_TRUE(strstr(j, "nobody.shop.test: never pending") != NULL);
	ASSERT_TRUE(strstr(j, "m.test") == NULL);
	ASSERT_TRUE(strstr(j, "root.test") == NULL);
	free(j);

	/* The agent's copy keeps the owner it set when the daemon's record
	 * (root's, to the daemon) is merged again. */
	j = trace_json(t, NULL, NULL);
	CHECK_EQ(trace_merge_json(m, j), 0);
	trace_owner(m, "x.shop.test", 1000);
	CHECK_EQ(trace_merge_json(m, j), 0);
	j2 = trace_json(m, NULL, &mine);
	ASSERT_TRUE(strstr(j2, "\"identifier\":\"x.shop.test\"") != NULL);
	ASSERT_TRUE(strstr(j2, "m.test") == NULL);
	free(j);
	free(j2);
	trace_free(t);
	trace_free(m);
}

int main(int argc, char **argv)
{
	return tl_run_all(argc, argv);
}
