// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_ctlproto.c - the control socket's requests against the challenge
 * store: what is accepted, what is refused, and what `list` reports.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <sys/stat.h>
#include <arpa/inet.h>

#include "testlib.h"
#include "cert_check.h"
#include "challenges.h"
#include "ctlproto.h"

static char reply[8192];

static int req(struct challenges *cs, const char *line)
{
	char buf[512];

	char *r;
	int rc;

	snprintf(buf, sizeof(buf), "%s", line);
	rc = ctl_apply(cs, buf, &r);
	snprintf(reply, sizeof(reply), "%s", r ? r : "(null)");
	free(r);
	return rc;
}

TEST(add_list_remove)
{
	struct challenges cs = {};

	ASSERT_EQ(req(&cs, "add Example.com tok.thumb\n"), 1);
	ASSERT_STREQ(reply, "ok");
	ASSERT_EQ(req(&cs, "add 198.18.0.1 tok2.thumb"), 1);
	ASSERT_EQ(cs.nr, 2);
	ASSERT_OK_PTR(challenges_find_sni(&cs, "example.com"));
	ASSERT_OK_PTR(challenges_find_sni(&cs, "1.0.18.198.in-addr.arpa"));
	ASSERT_NULL(challenges_find_sni(&cs, "198.18.0.1"));
	ASSERT_EQ(req(&cs, "list"), 0);
	ASSERT_STRSTR(reply, "\"identifier\":\"example.com\"");
	ASSERT_STRSTR(reply, "\"sni\":\"1.0.18.198.in-addr.arpa\"");
	ASSERT_EQ(reply[0], '[');
	/* replacing keeps one entry per name */
	ASSERT_EQ(req(&cs, "add example.com other.thumb"), 1);
	ASSERT_EQ(cs.nr, 2);
	ASSERT_EQ(req(&cs, "remove EXAMPLE.com"), 1);
	ASSERT_EQ(cs.nr, 1);
	ASSERT_LT(req(&cs, "remove example.com"), 0);
	ASSERT_STRSTR(reply, "no pending challenge");
	ASSERT_EQ(req(&cs, "remove 198.18.0.1"), 1);
	ASSERT_EQ(cs.nr, 0);
	ASSERT_EQ(req(&cs, "list"), 0);
	ASSERT_STREQ(reply, "[]\n");
	challenges_free(&cs);
}

/* The monitor expires a challenge by its own clock: a dead agent (or a
 * client that crashed between its hooks) leaves nothing answered past
 * its ttl. */
TEST(ttl_expires_in_the_monitor)
{
	struct challenges cs = {};
	time_t now = time(NULL);
	struct challenge *c;

	ASSERT_EQ(req(&cs, "add short.test tok.thumb 20"), 1);
	ASSERT_STREQ(reply, "ok");
	ASSERT_EQ(
		req(&cs,
		    "add-digest long.test "
		    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef 3600"),
		1);
	ASSERT_EQ(req(&cs, "add forever.test tok.thumb"), 1);
	c = challenges_find_sni(&cs, "short.test");
	if (!ASSERT_OK_PTR(c))
		return;
	ASSERT_GE((long)c->expires, (long)now + 20);
	ASSERT_LT((long)c->expires, (long)now + 22);
	ASSERT_EQ((long)challenges_find_sni(&cs, "forever.test")->expires, 0L);
	ASSERT_EQ(req(&cs, "list"), 0);
	ASSERT_STRSTR(reply, "\"expires\":0");
	ASSERT_EQ(challenges_expire(&cs, now + 10, NULL), 0);
	ASSERT_EQ(challenges_expire(&cs, now + 25, NULL), 1);
	ASSERT_NULL(challenges_find_sni(&cs, "short.test"));
	ASSERT_EQ(challenges_expire(&cs, now + 7200, NULL), 1);
	ASSERT_EQ(cs.nr, 1, "only the one without a ttl is left");
	ASSERT_OK_PTR(challenges_find_sni(&cs, "forever.test"));
	/* A re-add without a ttl keeps it until its remove. */
	ASSERT_EQ(req(&cs, "add forever.test tok.thumb 5"), 1);
	ASSERT_EQ(req(&cs, "add forever.test tok.thumb"), 1);
	ASSERT_EQ(challenges_expire(&cs, now + 7200, NULL), 0);
	/* Bad ttls, and a third argument elsewhere, are refused. */
	ASSERT_LT(req(&cs, "add x.test tok.thumb 0"), 0);
	ASSERT_STRSTR(reply, "bad ttl");
	ASSERT_LT(req(&cs, "add x.test tok.thumb 5s"), 0);
	ASSERT_LT(req(&cs, "add x.test tok.thumb -1"), 0);
	ASSERT_LT(req(&cs, "add x.test tok.thumb 99999999"), 0);
	ASSERT_LT(req(&cs, "add x.test tok.thumb 5 6"), 0);
	ASSERT_LT(req(&cs, "remove forever.test 5"), 0);
	ASSERT_EQ(cs.nr, 1);
	challenges_free(&cs);
}

TEST(refusals)
{
	struct challenges cs = {};

	ASSERT_LT(req(&cs, ""), 0);
	ASSERT_LT(req(&cs, "add onlyone"), 0);
	ASSERT_LT(req(&cs, "add a.test b c"), 0);
	ASSERT_LT(req(&cs, "add *.a.test ka"), 0);
	ASSERT_STRSTR(reply, "wildcard");
	ASSERT_LT(req(&cs, "add bad_name ka"), 0);
	ASSERT_EQ(strncmp(reply, "error: ", 7), 0);
	ASSERT_LT(req(&cs, "frobnicate"), 0);
	ASSERT_LT(req(&cs, "list extra"), 0);
	ASSERT_EQ(cs.nr, 0);
	challenges_free(&cs);
}

/* The certificate of @sni carries SHA-256(@keyauth): every rule passes. */
static int passes(struct challenges *cs, const char *ident, const char *sni,
		  const char *keyauth)
{
	struct challenge *c = challenges_find_sni(cs, sni);
	struct cert_rule res[CERT_RULES_MAX];
	struct acme_ident id;
	char err[200];
	int i, n;

	if (!c || acme_ident_parse(ident, &id, err, sizeof(err)))
		return 0;
	n = cert_check(c->cert, &id, keyauth, res, CERT_RULES_MAX);
	for (i = 0; i < n; i++)
		if (!res[i].ok)
			return 0;
	return n > 0;
}

TEST(add_by_digest)
{
	struct challenges cs = {};

	/* SHA-256("ka") as dehydrated passes it, then as uacme does */
	ASSERT_EQ(req(&cs, "add-digest d.test "
			   "3E:BB:1C:99:B1:2B:77:46:3E:97:C3:A0:F2:06:E4:FD:"
			   "46:17:6C:D1:B8:E1:83:81:6A:67:33:8C:04:B2:5E:5B"),
		  1);
	ASSERT_EQ(req(&cs, "add-digest 198.18.0.7 "
			   "PrscmbErd0Y-l8Og8gbk_UYXbNG44YOBamczjASyXls"),
		  1);
	ASSERT_EQ(cs.nr, 2);
	ASSERT_TRUE(passes(&cs, "d.test", "d.test", "ka"));
	ASSERT_TRUE(passes(&cs, "198.18.0.7", "7.0.18.198.in-addr.arpa", "ka"));
	ASSERT_FALSE(passes(&cs, "d.test", "d.test", "kb"));
	ASSERT_LT(req(&cs, "add-digest e.test 1234"), 0);
	ASSERT_STRSTR(reply, "not a SHA-256 digest");
	ASSERT_LT(req(&cs, "add-digest *.e.test "
			   "PrscmbErd0Y-l8Og8gbk_UYXbNG44YOBamczjASyXls"),
		  0);
	ASSERT_EQ(cs.nr, 2);
	challenges_free(&cs);
}

TEST(answers_are_counted)
{
	struct challenges cs = {};
	struct challenge *c;
	int i;

	ASSERT_EQ(req(&cs, "add a.test ka"), 1);
	c = challenges_find_sni(&cs, "a.test");
	ASSERT_OK_PTR(c);
	if (!c)
		return;
	for (i = 0; i < 6; i++)
		challenges_note_answer(c, i < 2 ? AF_INET6 : AF_INET,
				       i == 5 ? "198.18.0.9:1" : "x");
	ASSERT_EQ(c->answered_v6, 2);
	ASSERT_EQ(c->answered_v4, 4);
	ASSERT_EQ(req(&cs, "list"), 0);
	ASSERT_STRSTR(reply, "\"answered_ipv4\":4,\"answered_ipv6\":2");
	/* the last four, the newest last */
	ASSERT_STRSTR(reply, "\"x\",\"x\",\"x\",\"198.18.0.9:1\"]");
	ASSERT_EQ(req(&cs, "table"), 0);
	ASSERT_STRSTR(reply, "a.test");
	challenges_free(&cs);
}

/* The kernel's pending_names map holds ALPNSTEER_MAX_PENDING names: one
 * more is refused when added, not accepted and then lost; and a list of
 * that many is still one valid JSON array. */
TEST(pending_limit_and_big_list)
{
	struct challenges cs = {};
	char line[128], *r = NULL, *copy;
	int i, rc = 0;

	for (i = 0; i < ALPNSTEER_MAX_PENDING && !rc; i++) {
		snprintf(
			line, sizeof(line),
			"add n%04d.a-rather-long-name-for-a-big-list.test ka%d",
			i, i);
		rc = req(&cs, line) == 1 ? 0 : -1;
	}
	ASSERT_EQ(rc, 0);
	ASSERT_EQ(cs.nr, ALPNSTEER_MAX_PENDING);
	ASSERT_LT(req(&cs, "add one-too-many.test ka"), 0);
	ASSERT_STRSTR(reply, "1024");
	ASSERT_EQ(cs.nr, ALPNSTEER_MAX_PENDING);
	/* Replacing an existing one is still fine. */
	ASSERT_EQ(req(&cs,
		      "add n0001.a-rather-long-name-for-a-big-list.test other"),
		  1);
	copy = strdup("list");
	ASSERT_EQ(ctl_apply(&cs, copy, &r), 0);
	ASSERT_TRUE(r && strlen(r) > 65536);
	if (r) {
		FILE *p = popen(
			"python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if len(d) == 1024 else 1)'",
			"w");

		ASSERT_OK_PTR(p);
		if (p) {
			fputs(r, p);
			ASSERT_EQ(pclose(p), 0);
		}
	}
	free(r);
	free(copy);
	challenges_free(&cs);
}

/* One table for every server: a verb is checked against it before any
 * handler runs, and a server answers only the verbs it names. */
static int fake_calls;

static int fake_ok(void *ctx, const struct ctl_req *r, char **reply)
{
	fake_calls++;
	*reply = ctl_msg("ok %d %ld", r->verb, r->ttl);
	return 0;
}

TEST(dispatch_table)
{
	const struct ctl_server srv = {
		.fn = { [CTL_ADD] = fake_ok, [CTL_STOP] = fake_ok }
	};
	char buf[256], *r = NULL;

	snprintf(buf, sizeof(buf), "add a.test ka 30");
	ASSERT_EQ(ctl_dispatch(&srv, NULL, buf, 0, &r), 0);
	ASSERT_STREQ(r, "ok 1 30");
	free(r);
	/* not served here: the usage names only what is */
	snprintf(buf, sizeof(buf), "list");
	ASSERT_LT(ctl_dispatch(&srv, NULL, buf, 0, &r), 0);
	ASSERT_STREQ(r,
		     "error: unknown request (add IDENT KEYAUTH [TTL] | stop)");
	free(r);
	/* arguments are checked before the handler */
	fake_calls = 0;
	snprintf(buf, sizeof(buf), "add *.a.test ka");
	ASSERT_LT(ctl_dispatch(&srv, NULL, buf, 0, &r), 0);
	free(r);
	snprintf(buf, sizeof(buf), "add a.test ka 0");
	ASSERT_LT(ctl_dispatch(&srv, NULL, buf, 0, &r), 0);
	free(r);
	/* root only */
	snprintf(buf, sizeof(buf), "stop");
	ASSERT_EQ(ctl_dispatch(&srv, NULL, buf, 1000, &r), -EPERM);
	ASSERT_STRSTR(r, "only root");
	free(r);
	ASSERT_EQ(fake_calls, 0);
	snprintf(buf, sizeof(buf), "stop");
	ASSERT_EQ(ctl_dispatch(&srv, NULL, buf, 0, &r), 0);
	free(r);
	ASSERT_EQ(fake_calls, 1);
}

/* Issue 20, point 9: a --control-group member acts only on challenges it
 * added, and (with a policy) only for its names; root on any. */
static int req_as(struct challenges *cs, uid_t uid,
		  const struct ctl_policy *pol, const char *line)
{
	struct ctl_caller who = { .uid = uid, .policy = pol };
	char buf[512];
	char *r;
	int rc;

	snprintf(buf, sizeof(buf), "%s", line);
	rc = ctl_apply_as(cs, buf, &r, &who);
	snprintf(reply, sizeof(reply), "%s", r ? r : "(null)");
	free(r);
	return rc;
}

TEST(members_own_their_challenges)
{
	struct challenges cs = {};

	ASSERT_EQ(req_as(&cs, 0, NULL, "add a.test root-ka"), 1);
	/* A member cannot replace nor remove root's challenge. */
	ASSERT_EQ(req_as(&cs, 1000, NULL, "add A.test member-ka"), -EPERM);
	ASSERT_STRSTR(reply, "another user");
	ASSERT_EQ(req_as(&cs, 1000, NULL, "remove a.test"), -EPERM);
	ASSERT_EQ(cs.nr, 1);
	ASSERT_EQ(challenges_find_sni(&cs, "a.test")->owner, 0);
	/* Its own: added, replaced, then another member is refused. */
	ASSERT_EQ(req_as(&cs, 1000, NULL, "add m.test ka1"), 1);
	ASSERT_EQ(challenges_find_sni(&cs, "m.test")->owner, 1000);
	ASSERT_EQ(req_as(&cs, 1000, NULL, "add m.test ka2"), 1);
	ASSERT_EQ(
		req_as(&cs, 1001, NULL,
		       "add-digest m.test "
		       "0000000000000000000000000000000000000000000000000000000000000000"),
		-EPERM);
	ASSERT_EQ(req_as(&cs, 1001, NULL, "remove m.test"), -EPERM);
	/* Root may replace and remove anyone's. */
	ASSERT_EQ(req_as(&cs, 0, NULL, "add m.test root-ka"), 1);
	ASSERT_EQ(challenges_find_sni(&cs, "m.test")->owner, 0);
	ASSERT_EQ(req_as(&cs, 1000, NULL, "remove m.test"), -EPERM);
	ASSERT_EQ(req_as(&cs, 0, NULL, "remove m.test"), 1);
	ASSERT_EQ(req_as(&cs, 1000, NULL, "add m2.test ka"), 1);
	ASSERT_EQ(req_as(&cs, 1000, NULL, "remove m2.test"), 1);
	challenges_free(&cs);
}

TEST(member_name_policy)
{
	struct challenges cs = {};
	char path[] = "/tmp/ctlpolicy.XXXXXX", err[256];
	struct ctl_policy *pol = calloc(1, sizeof(*pol));
	int fd = mkstemp(path);

	ASSERT_TRUE(fd >= 0 && pol);
	ASSERT_TRUE(write(fd, "# the team's names\nshop.test\n198.18.7.1\n",
			  40) == 40);
	close(fd);
	err[0] = '\0';
	/* Root's file (the unit tests run as root in CI; skip otherwise). */
	if (getuid() == 0) {
		ASSERT_EQ(ctl_policy_load(path, pol, err, sizeof(err)), 0);
		ASSERT_EQ(pol->nr, 2);
	} else {
		pol->nr = 2;
		snprintf(pol->name[0], sizeof(pol->name[0]), "shop.test");
		snprintf(pol->name[1], sizeof(pol->name[1]), "198.18.7.1");
	}
	ASSERT_TRUE(ctl_policy_allows(pol, "shop.test"));
	ASSERT_TRUE(ctl_policy_allows(pol, "www.shop.test"));
	ASSERT_FALSE(ctl_policy_allows(pol, "evilshop.test"));
	ASSERT_FALSE(ctl_policy_allows(pol, "test"));
	ASSERT_TRUE(ctl_policy_allows(pol, "198.18.7.1"));
	ASSERT_FALSE(ctl_policy_allows(pol, "198.18.7.10"));
	ASSERT_EQ(req_as(&cs, 1000, pol, "add www.bank.test ka"), -EPERM);
	ASSERT_STRSTR(reply, "not among the names");
	ASSERT_EQ(req_as(&cs, 1000, pol, "add WWW.Shop.test ka"), 1);
	ASSERT_EQ(req_as(&cs, 1000, pol, "add 198.18.7.10 ka"), -EPERM);
	/* The policy is for members; root adds any name. */
	ASSERT_EQ(req_as(&cs, 0, pol, "add www.bank.test ka"), 1);
	/* A file others may write is refused, as is a symlink. */
	chmod(path, 0666);
	ASSERT_EQ(ctl_policy_load(path, pol, err, sizeof(err)), -EPERM);
	ASSERT_EQ(pol->nr, -1);
	unlink(path);
	ASSERT_EQ(ctl_policy_load(path, pol, err, sizeof(err)), -ENOENT);
	free(pol);
	challenges_free(&cs);
}

TEST_MAIN()
