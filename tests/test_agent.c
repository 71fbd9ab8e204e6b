// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_agent.c - the agent's pure parts: the store's key layout (what an
 * etcd role's key prefix grants), the validation of store entries, and
 * the challenges' ttl arithmetic.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "agent.h"
#include "ctlproto.h"
#include "store.h"
#include "store_etcd.h"
#include "cmd.h"
#include "cmd_agent.h"

#define P AGENT_STORE_PREFIX
#define DIGEST \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char err[400];

static const char *key(const char *ident)
{
	static char k[600];

	if (agent_store_key(P, ident, k, sizeof(k), err, sizeof(err)))
		return "(refused)";
	return k;
}

TEST(key_layout)
{
	ASSERT_STREQ(key("www.example.org"), P "dns/org.example.www.");
	ASSERT_STREQ(key("WWW.Example.ORG"), P "dns/org.example.www.");
	ASSERT_STREQ(key("example.org"), P "dns/org.example.");
	ASSERT_STREQ(key("localhost"), P "dns/localhost.");
	ASSERT_STREQ(key("198.18.5.1"), P "ip/198.18.5.1/");
	ASSERT_STREQ(key("FD00:A5::1"), P "ip/fd00:a5::1/");
	ASSERT_STREQ(key("www.example.org."), P "dns/org.example.www.");
	/* all-digit last labels read as addresses (127.1 is 127.0.0.1) */
	ASSERT_STREQ(key("127.1"), "(refused)");
	ASSERT_STREQ(key("1.2.3.04"), "(refused)");
	ASSERT_STREQ(key("*.example.org"), "(refused)");
	ASSERT_STREQ(key(""), "(refused)");
	ASSERT_STREQ(key("a b.example"), "(refused)");
}

/* A role's key prefix must grant exactly a domain and the names under it. */
TEST(key_prefixes_are_domains)
{
	const char *dom = P "dns/org.example.";

	CHECK(!strncmp(key("example.org"), dom, strlen(dom)));
	CHECK(!strncmp(key("a.b.example.org"), dom, strlen(dom)));
	CHECK(strncmp(key("examples.org"), dom, strlen(dom)));
	CHECK(strncmp(key("example.org.evil.test"), dom, strlen(dom)));
	CHECK(strncmp(key("badexample.org"), dom, strlen(dom)));
	CHECK(strncmp(key("198.18.5.1"), dom, strlen(dom)));
}

/* An address's key is terminated as a name's is: a role's prefix on one
 * address grants that address only (issue 20: a grant on ip/198.18.7.1
 * let its holder add 198.18.7.10 and 198.18.7.123). */
TEST(ip_keys_are_terminated)
{
	char one[600];

	snprintf(one, sizeof(one), "%s", key("198.18.7.1"));
	CHECK(!strncmp(key("198.18.7.1"), one, strlen(one)));
	CHECK(strncmp(key("198.18.7.10"), one, strlen(one)));
	CHECK(strncmp(key("198.18.7.123"), one, strlen(one)));
	snprintf(one, sizeof(one), "%s", key("fd00::1"));
	CHECK(strncmp(key("fd00::1:0"), one, strlen(one)));
	CHECK(strncmp(key("fd00::10"), one, strlen(one)));
}

static int parse(const char *k, const char *json, long max,
		 struct agent_entry *e)
{
	return agent_entry_parse(P, k, json, strlen(json), 1000000, max, e, err,
				 sizeof(err));
}

/* Names from the store are taken as the CA sees them: lowercase, no
 * trailing dot, so two spellings never make two challenges; an old
 * writer's unterminated address key is refused. */
TEST(store_names_normalised)
{
	struct agent_entry e;

	ASSERT_EQ(parse(P "dns/org.example.www.",
			"{\"ident\":\"WWW.Example.ORG.\",\"digest\":\"" DIGEST
			"\",\"expires\":1000100}",
			3600, &e),
		  0);
	ASSERT_STREQ(e.ident, "www.example.org");
	ASSERT_EQ(parse(P "ip/198.18.5.1",
			"{\"ident\":\"198.18.5.1\",\"digest\":\"" DIGEST
			"\",\"expires\":1000100}",
			3600, &e),
		  -EINVAL);
	ASSERT_EQ(parse(P "dns/1.127.",
			"{\"ident\":\"127.1\",\"digest\":\"" DIGEST
			"\",\"expires\":1000100}",
			3600, &e),
		  -EINVAL);
}

TEST(entries)
{
	struct agent_entry e;
	char *s;

	ASSERT_EQ(parse(P "dns/org.example.www.",
			"{\"ident\":\"www.example.org\",\"digest\":\"" DIGEST
			"\",\"expires\":1000100}",
			3600, &e),
		  0);
	ASSERT_STREQ(e.ident, "www.example.org");
	ASSERT_STREQ(e.digest, DIGEST);
	ASSERT_EQ((long)e.expires, 1000100L);
	s = agent_entry_json(&e);
	CHECK(s != NULL);
	ASSERT_EQ(parse(P "dns/org.example.www.", s, 3600, &e), 0);
	free(s);
	/* dehydrated's colons and uacme's base64url are both digests */
	ASSERT_EQ(
		parse(P "ip/198.18.5.1/",
		      "{\"ident\":\"198.18.5.1\",\"expires\":1000010,\"digest\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\"}",
		      3600, &e),
		0);
	ASSERT_STREQ(
		e.digest,
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
}

TEST(garbage)
{
	struct agent_entry e;
	const char *k = P "dns/org.example.www.";

	ASSERT_EQ(parse(k, "", 3600, &e), -EINVAL);
	ASSERT_EQ(parse(k, "not json", 3600, &e), -EINVAL);
	ASSERT_EQ(parse(k, "[1,2]", 3600, &e), -EINVAL);
	ASSERT_EQ(parse(k, "{\"ident\":\"www.example.org\"}", 3600, &e),
		  -EINVAL);
	ASSERT_EQ(parse(k,
			"{\"ident\":\"www.example.org\",\"digest\":\"" DIGEST
			"\",\"expires\":1000100} trailing",
			3600, &e),
		  -EINVAL);
	/* another name than the key's: the role granted the key, not it */
	ASSERT_EQ(parse(k,
			"{\"ident\":\"evil.test\",\"digest\":\"" DIGEST
			"\",\"expires\":1000100}",
			3600, &e),
		  -EINVAL);
	CHECK(strstr(err, "does not belong") != NULL);
	ASSERT_EQ(
		parse(k,
		      "{\"ident\":\"www.example.org\",\"digest\":\"abc\",\"expires\":1000100}",
		      3600, &e),
		-EINVAL);
	ASSERT_EQ(parse(k,
			"{\"ident\":\"www.example.org\",\"digest\":\"" DIGEST
			"\",\"expires\":\"soon\"}",
			3600, &e),
		  -EINVAL);
	ASSERT_EQ(parse(k,
			"{\"ident\":\"www.example.org\",\"digest\":\"" DIGEST
			"\",\"expires\":1000100,\"x\":1}",
			3600, &e),
		  -EINVAL);
	ASSERT_EQ(parse(k,
			"{\"ident\":\"*.example.org\",\"digest\":\"" DIGEST
			"\",\"expires\":1000100}",
			3600, &e),
		  -EINVAL);
	/* already past; too far away is cut short */
	ASSERT_EQ(parse(k,
			"{\"ident\":\"www.example.org\",\"digest\":\"" DIGEST
			"\",\"expires\":1009999}",
			3600, &e),
		  0);
	ASSERT_EQ((long)e.expires, 1003600L); /* the agent's --ttl */
	ASSERT_EQ(parse(k,
			"{\"ident\":\"www.example.org\",\"digest\":\"" DIGEST
			"\",\"expires\":1000000}",
			3600, &e),
		  -ESTALE);
}

/* The expiry is cut to --ttl from the add, not from the reading: the
 * same on every node and after every reconnect (issue 17: a lost remove
 * steered again, good for another --ttl, each time the store came back). */
TEST(entries_added)
{
	struct agent_entry e;
	const char *k = P "dns/org.example.www.";
	char *s;

	/* added 1000 s ago for an hour, read by an agent with --ttl 600 */
	ASSERT_EQ(parse(k,
			"{\"ident\":\"www.example.org\",\"digest\":\"" DIGEST
			"\",\"expires\":1002600,\"added\":999000}",
			600, &e),
		  -ESTALE);
	/* added 100 s ago: 500 s left, whenever it is read */
	ASSERT_EQ(parse(k,
			"{\"ident\":\"www.example.org\",\"digest\":\"" DIGEST
			"\",\"expires\":1003500,\"added\":999900}",
			600, &e),
		  0);
	ASSERT_EQ((long)e.expires, 1000500L);
	ASSERT_EQ((long)e.added, 999900L);
	/* within the agent's ttl: the writer's own expiry */
	ASSERT_EQ(parse(k,
			"{\"ident\":\"www.example.org\",\"digest\":\"" DIGEST
			"\",\"expires\":1000030,\"added\":999990}",
			600, &e),
		  0);
	ASSERT_EQ((long)e.expires, 1000030L);
	/* an "added" ahead of the agent's clock does not lengthen it */
	ASSERT_EQ(parse(k,
			"{\"ident\":\"www.example.org\",\"digest\":\"" DIGEST
			"\",\"expires\":1003700,\"added\":1000100}",
			600, &e),
		  0);
	ASSERT_EQ((long)e.expires, 1000600L);
	/* it goes through the JSON and back */
	e.added = 999900;
	e.expires = 1000500;
	s = agent_entry_json(&e);
	CHECK(s != NULL);
	CHECK(strstr(s, "\"added\":999900") != NULL);
	ASSERT_EQ(parse(k, s, 600, &e), 0);
	ASSERT_EQ((long)e.added, 999900L);
	free(s);
	/* not an integer, after its expiry, or a fifth field */
	ASSERT_EQ(parse(k,
			"{\"ident\":\"www.example.org\",\"digest\":\"" DIGEST
			"\",\"expires\":1000030,\"added\":\"now\"}",
			600, &e),
		  -EINVAL);
	ASSERT_EQ(parse(k,
			"{\"ident\":\"www.example.org\",\"digest\":\"" DIGEST
			"\",\"expires\":1000030,\"added\":1000040}",
			600, &e),
		  -EINVAL);
	ASSERT_EQ(parse(k,
			"{\"ident\":\"www.example.org\",\"digest\":\"" DIGEST
			"\",\"expires\":1000030,\"added\":999990,\"x\":1}",
			600, &e),
		  -EINVAL);
}

TEST(ttl)
{
	ASSERT_EQ((long)agent_expiry(1000, 0, 3600), 4600L);
	ASSERT_EQ((long)agent_expiry(1000, 30, 3600), 1030L);
	ASSERT_EQ((long)agent_expiry(1000, 7200, 3600), 4600L);
	ASSERT_EQ((long)agent_expiry(1000, -5, 3600), 4600L);
	ASSERT_EQ(agent_left(1030, 1000), 30L);
	ASSERT_EQ(agent_left(1000, 1000), 0L);
	ASSERT_EQ(agent_left(900, 1000), 0L);
}

TEST(set)
{
	struct agent_set s = {};
	int i;

	ASSERT_EQ(agent_set_put(&s, "a.test", "add a.test x", 100,
				AGENT_SRC_LOCAL),
		  1);
	ASSERT_EQ(agent_set_put(&s, "a.test", "add a.test x", 100,
				AGENT_SRC_LOCAL),
		  0);
	agent_set_find(&s, "a.test")->handed = true;
	/* a longer ttl goes to the daemon again: it expires it too... */
	ASSERT_EQ(agent_set_put(&s, "a.test", "add a.test x", 200,
				AGENT_SRC_LOCAL),
		  1);
	CHECK(!agent_set_find(&s, "a.test")->handed);
	agent_set_find(&s, "a.test")->handed = true;
	/* ... and so does a new key authorization */
	ASSERT_EQ(agent_set_put(&s, "a.test", "add a.test y", 200,
				AGENT_SRC_LOCAL),
		  1);
	CHECK(!agent_set_find(&s, "a.test")->handed);
	ASSERT_EQ(agent_set_put(&s, "b.test", "add b.test x", 150,
				AGENT_SRC_STORE),
		  1);
	ASSERT_EQ((long)agent_set_next(&s), 150L);
	ASSERT_EQ(agent_set_expired(&s, 149), -1);
	i = agent_set_expired(&s, 150);
	CHECK(i >= 0 && !strcmp(s.v[i].ident, "b.test"));
	agent_set_drop(&s, i);
	ASSERT_EQ(s.nr, 1);
	CHECK(agent_set_find(&s, "b.test") == NULL);
	for (i = 1; i < AGENT_MAX; i++) {
		char n[32];

		snprintf(n, sizeof(n), "n%d.test", i);
		ASSERT_EQ(agent_set_put(&s, n, "r", 1, AGENT_SRC_LOCAL), 1);
	}
	ASSERT_EQ(agent_set_put(&s, "full.test", "r", 1, AGENT_SRC_LOCAL),
		  -E2BIG);
	agent_set_free(&s);
	ASSERT_EQ((long)agent_set_next(&s), 0L);
}

/* A challenge request is parsed from the command table, and a bad
 * identifier or digest is a usage error (exit 2) before any socket, agent
 * or not. */
TEST(challenge_argv)
{
	char *a1[] = { "challenge", "add", "*.bad.test", "k", NULL };
	char *a2[] = { "challenge", "remove", "bad ident", NULL };
	char *a3[] = { "challenge", "add", "ok.test", "--digest", "zz", NULL };
	char *a4[] = { "challenge", "add", "ok.test", "k",
		       "--digest",  "zz",  NULL };
	char *a5[] = { "challenge", "frobnicate", NULL };
	char *a6[] = { "challenge", "add", "ok.test", "--ttl", "soon", NULL };

	ASSERT_EQ(cmd_dispatch(cmds, 4, a1), EXIT_USAGE);
	ASSERT_EQ(cmd_dispatch(cmds, 3, a2), EXIT_USAGE);
	ASSERT_EQ(cmd_dispatch(cmds, 5, a3), EXIT_USAGE);
	ASSERT_EQ(cmd_dispatch(cmds, 6, a4), EXIT_USAGE);
	ASSERT_EQ(cmd_dispatch(cmds, 2, a5), EXIT_USAGE);
	ASSERT_EQ(cmd_dispatch(cmds, 5, a6), EXIT_USAGE);
}

/* The domain a store entry's quota counts against (issue 20, point 15). */
TEST(quota_domain)
{
	struct ctl_policy names = { .nr = 2 };
	struct agent_set set = {};
	char b[ALPNSTEER_NAME_MAX];

	snprintf(names.name[0], sizeof(names.name[0]), "shop.example.org");
	snprintf(names.name[1], sizeof(names.name[1]), "198.18.7.1");
	ASSERT_STREQ(agent_quota_domain("a.b.fleet.test", NULL, b, sizeof(b)),
		     "fleet.test");
	ASSERT_STREQ(agent_quota_domain("fleet.test", NULL, b, sizeof(b)),
		     "fleet.test");
	ASSERT_STREQ(agent_quota_domain("localhost", NULL, b, sizeof(b)),
		     "localhost");
	ASSERT_STREQ(agent_quota_domain("198.18.7.10", NULL, b, sizeof(b)),
		     "198.18.7.10");
	ASSERT_STREQ(agent_quota_domain("fd00::1", NULL, b, sizeof(b)),
		     "fd00::1");
	/* with --names, the line that covers it */
	ASSERT_STREQ(agent_quota_domain("www.shop.example.org", &names, b,
					sizeof(b)),
		     "shop.example.org");
	ASSERT_STREQ(agent_quota_domain("www.example.org", &names, b,
					sizeof(b)),
		     "example.org");
	ASSERT_EQ(agent_set_put(&set, "a.fleet.test", "r", 10, AGENT_SRC_STORE),
		  1);
	ASSERT_EQ(agent_set_put(&set, "b.fleet.test", "r", 10, AGENT_SRC_STORE),
		  1);
	ASSERT_EQ(agent_set_put(&set, "c.fleet.test", "r", 10, AGENT_SRC_LOCAL),
		  1);
	ASSERT_EQ(agent_set_put(&set, "a.other.test", "r", 10, AGENT_SRC_STORE),
		  1);
	ASSERT_EQ(agent_set_count_domain(&set, "fleet.test", NULL), 2);
	ASSERT_EQ(agent_set_count_store(&set), 3);
	agent_set_free(&set);
}

/* --store picks its store by the URL's scheme. */
TEST(store_by_scheme)
{
	struct store_opts o = { .url = "https://198.18.0.1:2379" };

	ASSERT_TRUE(store_find(&o) == &store_etcd);
	o.url = "https://a:1,https://b:2";
	ASSERT_TRUE(store_find(&o) == &store_etcd);
	o.url = "redis://198.18.0.1:6379";
	ASSERT_TRUE(store_find(&o) == NULL);
	o.url = "http://198.18.0.1:2379";
	ASSERT_TRUE(store_find(&o) == NULL);
	/* a password and challenges in clear: no endpoint may be http */
	o.url = "https://198.18.0.1:2379,http://198.18.0.2:2379";
	ASSERT_TRUE(store_find(&o) == NULL);
	o.url = "httpsx://198.18.0.1";
	ASSERT_TRUE(store_find(&o) == NULL);
}

TEST_MAIN()
