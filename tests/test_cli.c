// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_cli.c - option parsing, the cgroup2 lookup and the JSON writer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "testlib.h"
#include "cli.h"
#include "json.h"
#include "log.h"

static int parse(struct daemon_opts *o, const char *line)
{
	static char buf[1024];
	char *argv[32];
	int argc = 0;
	char *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", line);
	for (tok = strtok_r(buf, " ", &save); tok && argc < 31;
	     tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;
	return cli_parse_attach(argc, argv, o);
}

TEST(port_numbers)
{
	__u32 p = 0;

	ASSERT_EQ(cli_parse_port("443", &p), 0);
	ASSERT_EQ(p, 443);
	ASSERT_EQ(cli_parse_port("65535", &p), 0);
	ASSERT_LT(cli_parse_port("0", &p), 0);
	ASSERT_LT(cli_parse_port("65536", &p), 0);
	ASSERT_LT(cli_parse_port("", &p), 0);
	ASSERT_LT(cli_parse_port("44x", &p), 0);
	ASSERT_LT(cli_parse_port("-1", &p), 0);
}

TEST(hostport)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (void *)&ss;
	struct sockaddr_in6 *in6 = (void *)&ss;
	socklen_t len;
	char buf[INET6_ADDRSTRLEN];

	ASSERT_EQ(cli_parse_hostport("127.0.0.1:8443", &ss, &len), 0);
	ASSERT_EQ(ss.ss_family, AF_INET);
	ASSERT_EQ(ntohs(in->sin_port), 8443);
	ASSERT_EQ(in->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	ASSERT_EQ(cli_parse_hostport("[::1]:9", &ss, &len), 0);
	ASSERT_EQ(ss.ss_family, AF_INET6);
	ASSERT_EQ(ntohs(in6->sin6_port), 9);
	inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof(buf));
	ASSERT_STREQ(buf, "::1");
	ASSERT_LT(cli_parse_hostport("127.0.0.1", &ss, &len), 0);
	ASSERT_LT(cli_parse_hostport(":443", &ss, &len), 0);
	ASSERT_LT(cli_parse_hostport("[::1]8443", &ss, &len), 0);
	ASSERT_LT(cli_parse_hostport("127.0.0.1:0", &ss, &len), 0);
	ASSERT_LT(cli_parse_hostport("127.0.0.1:99999", &ss, &len), 0);
}

TEST(wait_option)
{
	int s = -1;

	ASSERT_EQ(cli_parse_wait(NULL, &s), 0);
	ASSERT_EQ(s, 0);
	ASSERT_EQ(cli_parse_wait("30", &s), 0);
	ASSERT_EQ(s, 30);
	ASSERT_LT(cli_parse_wait("x", &s), 0);
	ASSERT_LT(cli_parse_wait("-3", &s), 0);
	ASSERT_LT(cli_parse_wait("", &s), 0);
}

TEST(cgroup2_root_from_mounts)
{
	char path[] = "/tmp/alpnsteer-mounts-XXXXXX", root[256];
	FILE *f;
	int fd = mkstemp(path);

	ASSERT_GE(fd, 0);
	f = fdopen(fd, "w");
	fputs("proc /proc proc rw 0 0\n"
	      "cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n"
	      "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0\n",
	      f);
	fclose(f);
	ASSERT_EQ(cli_cgroup2_root(path, root, sizeof(root)), 0);
	ASSERT_STREQ(root, "/sys/fs/cgroup/unified");
	f = fopen(path, "w");
	fputs("proc /proc proc rw 0 0\n", f);
	fclose(f);
	ASSERT_LT(cli_cgroup2_root(path, root, sizeof(root)), 0);
	unlink(path);
}

TEST(attach_defaults)
{
	struct daemon_opts o;

	ASSERT_EQ(parse(&o, "attach --forward 127.0.0.1:8443 --cgroup /x"), 0);
	ASSERT_EQ(o.cfg.nr_ports, 1);
	ASSERT_EQ(o.cfg.ports[0], 443);
	ASSERT_EQ(o.cfg.pool_size, ALPNSTEER_DEFAULT_POOL);
	ASSERT_STREQ(o.cfg.cgroup, "/x");
	ASSERT_STREQ(o.a.forward, "127.0.0.1:8443");
	ASSERT_STREQ(o.a.domains, "");
	ASSERT_EQ(o.a.timeout, ALPNSTEER_DEFAULT_HS_TIMEOUT);
	ASSERT_STREQ(o.a.user, ALPNSTEER_DEFAULT_USER);
	ASSERT_EQ(o.a.control_gid, -1);
}

TEST(attach_options)
{
	struct daemon_opts o;

	ASSERT_EQ(parse(&o,
			"attach --port 443 --port 8443 --pool 3 "
			"--forward [::1]:9 --domain Example.COM "
			"--domain b.test --cgroup /c --handshake-timeout 7"),
		  0);
	ASSERT_EQ(o.cfg.nr_ports, 2);
	ASSERT_EQ(o.cfg.ports[1], 8443);
	ASSERT_EQ(o.cfg.pool_size, 3);
	/* a set: lowercase, sorted */
	ASSERT_STREQ(o.a.domains, "b.test,example.com");
	ASSERT_EQ(o.a.timeout, 7);
}

TEST(attach_refusals)
{
	struct daemon_opts o;

	ASSERT_LT(parse(&o, "attach --domain a.test --cgroup /c"), 0);
	ASSERT_LT(parse(&o, "attach --forward nohost --cgroup /c"), 0);
	ASSERT_LT(parse(&o, "attach --forward 1.2.3.4:1 --port 0 --cgroup /c"),
		  0);
	ASSERT_LT(parse(&o, "attach --forward 1.2.3.4:1 --pool 0 --cgroup /c"),
		  0);
	ASSERT_LT(parse(&o,
			"attach --forward 1.2.3.4:1 --pool 5000 --cgroup /c"),
		  0);
	ASSERT_LT(parse(&o, "attach --forward 1.2.3.4:1 --bogus --cgroup /c"),
		  0);
	ASSERT_LT(parse(&o, "attach --forward 1.2.3.4:1 extra --cgroup /c"), 0);
	ASSERT_LT(parse(&o, "attach --forward 1.2.3.4:1 --port 1 --port 2 "
			    "--port 3 --port 4 --port 5 --port 6 --port 7 "
			    "--port 8 --port 9 --cgroup /c"),
		  0);
}

/* -EINVAL/-E2BIG: the command line is wrong (exit 2); another errno: the
 * system is (exit 1). */
TEST(attach_refusal_kinds)
{
	struct daemon_opts o;

	CHECK_EQ(parse(&o, "attach --cgroup /c --bogus"), -EINVAL);
	CHECK_EQ(parse(&o, "attach --cgroup /c --port"), -EINVAL);
	CHECK_EQ(parse(&o, "attach --cgroup /c extra"), -EINVAL);
	CHECK_EQ(parse(&o, "attach --cgroup /c --ttl soon"), -EINVAL);
	CHECK_EQ(parse(&o, "attach --cgroup /c --port 1 --port 2 --port 3 "
			   "--port 4 --port 5 --port 6 --port 7 --port 8 "
			   "--port 9"),
		 -E2BIG);
	CHECK_EQ(parse(&o,
		       "attach --cgroup /c --control-group no-such-group-x"),
		 -ENOENT);
	CHECK_EQ(parse(&o, "attach --cgroup /c --preclassify no-such-if0"),
		 -ENODEV);
}

static char *json_of(void (*fn)(struct json_writer *))
{
	static char out[1024];
	FILE *f = fmemopen(out, sizeof(out), "w");
	struct json_writer *jw = jw_new(f);

	fn(jw);
	jw_destroy(jw);
	fclose(f);
	return out;
}

static void doc_nested(struct json_writer *jw)
{
	jw_start_object(jw);
	jw_bool_field(jw, "attached", true);
	jw_name(jw, "ports");
	jw_start_array(jw);
	jw_uint(jw, 443);
	jw_uint(jw, 8443);
	jw_end_array(jw);
	jw_name(jw, "pool");
	jw_start_object(jw);
	jw_uint_field(jw, "size", 16);
	jw_end_object(jw);
	jw_name(jw, "pid");
	jw_null(jw);
	jw_end_object(jw);
}

static void doc_escapes(struct json_writer *jw)
{
	jw_start_object(jw);
	jw_string_field(jw, "s", "a\"b\\c\n\x01");
	jw_end_object(jw);
}

TEST(json_writer)
{
	ASSERT_STREQ(json_of(doc_nested),
		     "{\"attached\":true,\"ports\":[443,8443],"
		     "\"pool\":{\"size\":16},\"pid\":null}\n");
	ASSERT_STREQ(json_of(doc_escapes),
		     "{\"s\":\"a\\\"b\\\\c\\n\\u0001\"}\n");
}

/* The pool grows from --pool up to --pool-max; one source prefix may
 * hold --per-source slots (0: no cap). */
TEST(pool_options)
{
	struct daemon_opts o;

	ASSERT_EQ(parse(&o, "attach --cgroup /x"), 0);
	ASSERT_EQ(o.cfg.pool_size, ALPNSTEER_DEFAULT_POOL);
	ASSERT_EQ(o.a.pool_max, ALPNSTEER_DEFAULT_POOL_MAX);
	ASSERT_EQ(o.a.per_source, ALPNSTEER_DEFAULT_PER_SOURCE);
	ASSERT_EQ(
		parse(&o,
		      "attach --cgroup /x --pool 4 --pool-max 8 --per-source 2"),
		0);
	ASSERT_EQ(o.cfg.pool_size, 4);
	ASSERT_EQ(o.a.pool_max, 8);
	ASSERT_EQ(o.a.per_source, 2);
	ASSERT_EQ(parse(&o, "attach --cgroup /x --per-source 0"), 0);
	ASSERT_EQ(o.a.per_source, 0);
	ASSERT_LT(parse(&o, "attach --cgroup /x --pool 0"), 0);
	/* a --pool past the default maximum raises it */
	ASSERT_EQ(parse(&o, "attach --cgroup /x --pool 512"), 0);
	ASSERT_EQ(o.a.pool_max, 512);
	ASSERT_LT(parse(&o, "attach --cgroup /x --pool 32 --pool-max 16"), 0);
	ASSERT_LT(parse(&o, "attach --cgroup /x --pool-max 1025"), 0);
	ASSERT_LT(parse(&o, "attach --cgroup /x --per-source -1"), 0);
}

/* What a client sends (an SNI) reaches the log escaped. */
TEST(log_escape)
{
	char out[64];

	log_escape("example.test", 12, out, sizeof(out));
	ASSERT_STREQ(out, "example.test");
	log_escape("a\nb\x1b[2Jc\\ d", 11, out, sizeof(out));
	ASSERT_STREQ(out, "a\\x0ab\\x1b[2Jc\\x5c\\x20d");
	log_escape("a\0b", 3, out, sizeof(out));
	ASSERT_STREQ(out, "a\\x00b");
	/* cut short, never mid-escape */
	log_escape("abc\n", 4, out, 6);
	ASSERT_STREQ(out, "abc");
	log_escape("abc", 3, out, 1);
	ASSERT_STREQ(out, "");
}

int main(int argc, char **argv)
{
	/* The refusals print their Error: lines; failures go to stdout. */
	if (!getenv("TEST_VERBOSE") && !freopen("/dev/null", "w", stderr))
		return 1;
	return tl_run_all(argc, argv);
}
