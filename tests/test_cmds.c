// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_cmds.c - the command table, and the binary ($ALPNSTEER) run as a
 * subprocess: -h for every verb, the exit codes (0 ok, 1 failure,
 * 2 usage), version, and the man page and completion against the table.
 * Nothing here needs root or attaches anything: every command run either
 * prints help, is refused before it acts, or only reads.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "testlib.h"
#include "cmd.h"
#include "log.h"

static const char *bin;
static char srcdir[4096] = ".";

struct out {
	int rc;
	char o[65536], e[8192];
};

static void slurp(int fd, char *buf, size_t len)
{
	ssize_t n;
	size_t at = 0;

	lseek(fd, 0, SEEK_SET);
	while (at + 1 < len && (n = read(fd, buf + at, len - 1 - at)) > 0)
		at += n;
	buf[at] = '\0';
	close(fd);
}

/*
 * The binary as another user runs it: a copy in a directory of its own
 * under /tmp (0755), removed at exit.  The tree may be where only root
 * can reach it (a clone under /root, mode 0700): running $ALPNSTEER
 * there as nobody fails with 127 before the binary says anything.
 */
static char priv_dir[] = "/tmp/alpnsteer-cmds-bin-XXXXXX";
static char priv_bin[sizeof(priv_dir) + 16];

static void priv_remove(void)
{
	unlink(priv_bin);
	rmdir(priv_dir);
}

static const char *bin_for_others(void)
{
	char buf[65536];
	int in, out, dir;
	ssize_t n;

	if (priv_bin[0])
		return priv_bin;
	if (!mkdtemp(priv_dir))
		return bin;
	snprintf(priv_bin, sizeof(priv_bin), "%s/alpnsteer", priv_dir);
	atexit(priv_remove);
	dir = open(priv_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0 || fchmod(dir, 0755))
		return bin;
	close(dir);
	in = open(bin, O_RDONLY | O_CLOEXEC);
	out = open(priv_bin,
		   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755);
	if (in < 0 || out < 0)
		return bin;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			break;
	close(in);
	/* 0755 less the umask at creation: set it on the descriptor. */
	if (fchmod(out, 0755) || close(out))
		return bin;
	return priv_bin;
}

/* Run the binary with @argv (after its name); as @uid unless -1. */
static struct out *run_as(int uid, const char *const *argv)
{
	static struct out r;
	char po[] = "/tmp/alpnsteer-cmds-XXXXXX",
	     pe[] = "/tmp/alpnsteer-cmds-XXXXXX";
	const char *path = uid >= 0 ? bin_for_others() : bin;
	const char *av[32] = { path };
	int fo = mkstemp(po), fe = mkstemp(pe), i, st;
	pid_t pid;

	unlink(po);
	unlink(pe);
	for (i = 0; argv[i] && i < 30; i++)
		av[i + 1] = argv[i];
	av[i + 1] = NULL;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(fo, 1);
		dup2(fe, 2);
		if (uid >= 0 && (setgid(uid) || setuid(uid)))
			_exit(127);
		execv(path, (char **)av);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	slurp(fo, r.o, sizeof(r.o));
	slurp(fe, r.e, sizeof(r.e));
	return &r;
}

#define RUN_BIN(...) run_as(-1, (const char *const[]){ __VA_ARGS__, NULL })

/* "challenge add" -> { "challenge", "add" } + more, in @av. */
static int words(const char *path, char *buf, size_t len, const char **av)
{
	char *save = NULL, *w;
	int n = 0;

	snprintf(buf, len, "%s", path);
	for (w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save))
		av[n++] = w;
	return n;
}

/* Every command that has a func, by its path without "alpnsteer ". */
static int leaves(const struct cmd *const *t, const char *prefix,
		  char paths[][64], int n)
{
	int i;

	for (i = 0; t[i]; i++) {
		char p[64];

		snprintf(p, sizeof(p), "%s%s", prefix, t[i]->name);
		if (t[i]->func)
			snprintf(paths[n++], 64, "%s", p);
		if (t[i]->subs) {
			strcat(p, " ");
			if (!t[i]->func)
				snprintf(paths[n++], 64, "%.*s",
					 (int)strlen(p) - 1, p);
			n = leaves(t[i]->subs, p, paths, n);
		}
	}
	return n;
}

static char paths[64][64];
static int nr_paths;

static const struct cmd *find(const char *path)
{
	const char *av[8];
	char buf[64];
	int n = words(path, buf, sizeof(buf), av), depth;
	const struct cmd *c = cmd_find(cmds, n, (char **)av, &depth);

	return depth == n ? c : NULL;
}

TEST(every_verb_has_help)
{
	int i, j;

	CHECK(nr_paths >= 12);
	for (i = 0; i < nr_paths; i++) {
		const char *av[8];
		char buf[64], want[4200];
		int n = words(paths[i], buf, sizeof(buf), av);
		struct out *r;

		snprintf(want, sizeof(want), "Usage: alpnsteer %s", paths[i]);
		for (j = 0; j < 2; j++) {
			av[n] = j ? "--help" : "-h";
			av[n + 1] = NULL;
			r = run_as(-1, av);
			if (r->rc || strncmp(r->o, want, strlen(want)) ||
			    r->e[0])
				printf("  %s %s: exit %d, stdout '%.40s', stderr '%.60s'\n",
				       paths[i], av[n], r->rc, r->o, r->e);
			CHECK_EQ(r->rc, 0);
			CHECK(!strncmp(r->o, want, strlen(want)));
			CHECK_STREQ(r->e, "");
		}
	}
}

/* `help VERB` prints what `VERB -h` does, and every option of the table. */
TEST(help_verb_is_verb_h)
{
	static char h[65536];
	int i;

	for (i = 0; i < nr_paths; i++) {
		const struct cmd *c = find(paths[i]);
		const struct cmd_opt *o;
		const char *av[8] = { "help" };
		char buf[64], opt[80];
		int n = words(paths[i], buf, sizeof(buf), av + 1);
		struct out *r;

		r = run_as(-1, av);
		CHECK_EQ(r->rc, 0);
		snprintf(h, sizeof(h), "%s", r->o);
		av[n + 1] = "-h";
		av[n + 2] = NULL;
		r = run_as(-1, av + 1);
		CHECK_STREQ(h, r->o);
		CHECK(c != NULL);
		for (o = c ? c->opts : NULL; o && o->name; o++) {
			snprintf(opt, sizeof(opt), "--%s", o->name);
			if (!strstr(h, opt))
				printf("  %s -h lacks %s\n", paths[i], opt);
			CHECK(strstr(h, opt) != NULL);
		}
	}
}

/* The top-level help names every verb and the options that used to be
 * missing from it. */
TEST(usage_lists_everything)
{
	struct out *r = RUN_BIN("help");
	char want[80];
	int i;

	CHECK_EQ(r->rc, 0);
	CHECK(!strncmp(r->o, "Usage: alpnsteer ", 17));
	for (i = 0; cmds[i]; i++) {
		snprintf(want, sizeof(want), "\n  %s", cmds[i]->name);
		CHECK(strstr(r->o, want) != NULL);
	}
	CHECK(strstr(r->o, "--port N") != NULL); /* check --port */
	CHECK_STREQ(RUN_BIN("--help")->o, RUN_BIN("help")->o);
	r = RUN_BIN("attach", "-h");
	CHECK(strstr(r->o, "--preclassify IFACE") != NULL);
	/* no command: the usage on stderr, exit 2 */
	r = run_as(-1, (const char *const[]){ NULL });
	CHECK_EQ(r->rc, 2);
	CHECK(!strncmp(r->e, "Usage: alpnsteer ", 17));
}

static void expect_usage_error(const char *const *av, const char *what)
{
	struct out *r = run_as(-1, av);

	if (r->rc != 2 || strncmp(r->e, "Error: ", 7) || r->o[0])
		printf("  %s: exit %d, stdout '%.60s', stderr '%.80s'\n", what,
		       r->rc, r->o, r->e);
	CHECK_EQ(r->rc, 2);
	CHECK(!strncmp(r->e, "Error: ", 7));
	CHECK_STREQ(r->o, "");
}

TEST(unknown_options_exit_2)
{
	int i;

	expect_usage_error((const char *const[]){ "--bogus", "status", NULL },
			   "--bogus status");
	expect_usage_error((const char *const[]){ "-x", NULL }, "-x");
	expect_usage_error((const char *const[]){ "bogus", NULL }, "bogus");
	for (i = 0; i < nr_paths; i++) {
		const char *av[8];
		char buf[64];
		int n = words(paths[i], buf, sizeof(buf), av);

		av[n] = "--no-such-option";
		av[n + 1] = NULL;
		expect_usage_error(av, paths[i]);
	}
}

/* Extra operands: every verb (two words more than any takes). */
TEST(extra_arguments_exit_2)
{
	int i;

	for (i = 0; i < nr_paths; i++) {
		const char *av[12];
		char buf[64];
		int n = words(paths[i], buf, sizeof(buf), av);

		av[n++] = "x1.test";
		av[n++] = "x2";
		av[n++] = "x3";
		av[n++] = "x4";
		av[n] = NULL;
		expect_usage_error(av, paths[i]);
	}
}

TEST(missing_arguments_exit_2)
{
	expect_usage_error((const char *const[]){ "challenge", NULL },
			   "challenge");
	expect_usage_error((const char *const[]){ "challenge", "add", NULL },
			   "challenge add");
	expect_usage_error((const char *const[]){ "challenge", "add", "a.test",
						  NULL },
			   "challenge add a.test");
	expect_usage_error((const char *const[]){ "challenge", "add", "a.test",
						  "--digest", NULL },
			   "challenge add --digest");
	expect_usage_error((const char *const[]){ "challenge", "remove", NULL },
			   "challenge remove");
	expect_usage_error((const char *const[]){ "check", NULL }, "check");
	expect_usage_error((const char *const[]){ "attach", "--port", NULL },
			   "attach --port");
	expect_usage_error((const char *const[]){ "detach", "--holder", NULL },
			   "detach --holder");
}

/* A malformed value is a usage error too, refused before anything. */
TEST(bad_values_exit_2)
{
	expect_usage_error((const char *const[]){ "attach", "--port", "0",
						  NULL },
			   "attach --port 0");
	expect_usage_error((const char *const[]){ "run", "--ttl", "soon",
						  NULL },
			   "run --ttl soon");
	expect_usage_error((const char *const[]){ "detach", "--wait=x", NULL },
			   "detach --wait=x");
	expect_usage_error((const char *const[]){ "challenge", "add",
						  "*.a.test", "ka", NULL },
			   "challenge add wildcard");
	expect_usage_error((const char *const[]){ "challenge", "add", "a.test",
						  "--digest", "12ab", NULL },
			   "challenge add --digest 12ab");
	expect_usage_error((const char *const[]){ "check", "a.test", "--port",
						  "99999", NULL },
			   "check --port 99999");
}

/* A failure that was tried: attach without root, whoever runs the test. */
TEST(failure_exits_1)
{
	struct out *r = run_as(getuid() ? -1 : 65534,
			       (const char *const[]){ "attach", NULL });

	CHECK_EQ(r->rc, 1);
	CHECK(strstr(r->e, "Error: attach needs root") != NULL);
	r = run_as(getuid() ? -1 : 65534,
		   (const char *const[]){ "challenge", "list", NULL });
	CHECK_EQ(r->rc, 1);
	CHECK(!strncmp(r->e, "Error: ", 7));
}

/* With -j an error is JSON on stdout, as before. */
TEST(json_errors)
{
	struct out *r = RUN_BIN("-j", "status", "extra");

	CHECK_EQ(r->rc, 2);
	CHECK(!strncmp(r->o, "{\"error\":", 9));
}

TEST(version)
{
	struct out *r = RUN_BIN("version");
	static char text[65536];
	char want[4200];

	CHECK_EQ(r->rc, 0);
	snprintf(text, sizeof(text), "%s", r->o);
	CHECK(!strncmp(text, "alpnsteer ", 10));
	CHECK(strstr(text, "\nlibbpf 1.") || strstr(text, "\nlibbpf 0."));
	CHECK(strstr(text, "\nOpenSSL ") != NULL);
	CHECK(strstr(text, "\nlibnl 3.") != NULL);
	CHECK(strstr(text, "\nkernel Linux ") != NULL);
	CHECK(strstr(text, "\nfeatures: ") != NULL);
	CHECK_STREQ(RUN_BIN("-V")->o, text);
	CHECK_STREQ(RUN_BIN("--version")->o, text);
	/* the version is the VERSION file's, or git describe's from it */
	{
		FILE *f;
		char v[64] = "";

		snprintf(want, sizeof(want), "%s/VERSION", srcdir);
		f = fopen(want, "r");
		CHECK(f != NULL);
		if (f) {
			if (fscanf(f, "%63s", v) != 1)
				v[0] = '\0';
			fclose(f);
		}
		CHECK(v[0] != '\0');
		snprintf(want, sizeof(want), "alpnsteer %s", v);
		/* before the first tag: "VERSION-gHASH" */
		CHECK(!strncmp(text, want, strlen(want)) ||
		      !strncmp(text, "alpnsteer v", 11));
	}
	r = RUN_BIN("version", "-j");
	CHECK_EQ(r->rc, 0);
	CHECK(!strncmp(r->o, "{\"alpnsteer\":\"", 14));
	CHECK(strstr(r->o, "\"libbpf\":\"") != NULL);
	CHECK(strstr(r->o, "\"openssl\":\"OpenSSL ") != NULL);
	CHECK(strstr(r->o, "\"libnl\":\"3.") != NULL);
	CHECK(strstr(r->o, "\"kernel\":{\"sysname\":\"Linux\",\"release\":") !=
	      NULL);
	CHECK(strstr(r->o, "\"features\":{\"probed\":") != NULL);
	CHECK(strstr(r->o, "\"mode\":") != NULL);
	CHECK_STREQ(RUN_BIN("-j", "version")->o, r->o);
}

static char *read_all(const char *path)
{
	static char bufs[2][262144];
	static int which;
	char *b = bufs[which++ & 1];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(b, 1, sizeof(bufs[0]) - 1, f);
	b[n] = '\0';
	fclose(f);
	return b;
}

static char *generated(int man)
{
	static char buf[262144];
	char tmpl[4200];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	snprintf(tmpl, sizeof(tmpl), "%s/man/alpnsteer.8.in", srcdir);
	if (man)
		CHECK_EQ(cmd_doc_man(f, tmpl), 0);
	else
		CHECK_EQ(cmd_doc_bash(f), 0);
	fclose(f);
	return buf;
}

/* man/alpnsteer.8 and completion/alpnsteer.bash are what the table gives:
 * after a change to it, `make docs`. */
TEST(docs_match_the_table)
{
	char p[4200];
	char *file;

	snprintf(p, sizeof(p), "%s/man/alpnsteer.8", srcdir);
	file = read_all(p);
	CHECK(file != NULL);
	if (file && strcmp(file, generated(1)))
		printf("  man/alpnsteer.8 is not what the table gives: make docs\n");
	CHECK(file && !strcmp(file, generated(1)));
	snprintf(p, sizeof(p), "%s/completion/alpnsteer.bash", srcdir);
	file = read_all(p);
	CHECK(file != NULL);
	if (file && strcmp(file, generated(0)))
		printf("  completion/alpnsteer.bash is not what the table gives: make docs\n");
	CHECK(file && !strcmp(file, generated(0)));
}

static bool option_known(const char *name, size_t len)
{
	const struct cmd_opt *o;
	int i;

	if (len == 4 && !strncmp(name, "help", 4))
		return true;
	for (o = global_opts; o->name; o++)
		if (strlen(o->name) == len && !strncmp(o->name, name, len))
			return true;
	for (i = 0; i < nr_paths; i++) {
		const struct cmd *c = find(paths[i]);

		for (o = c ? c->opts : NULL; o && o->name; o++)
			if (strlen(o->name) == len &&
			    !strncmp(o->name, name, len))
				return true;
	}
	return false;
}

/* Every option of the table is in both documents, and the completion
 * knows no option the table does not. */
TEST(docs_name_every_option)
{
	char *man = generated(1), *bash, *p;
	const struct cmd_opt *o;
	char want[96];
	int i;

	for (i = 0; i < nr_paths; i++) {
		const struct cmd *c = find(paths[i]);

		snprintf(want, sizeof(want), ".SS \"\\fB%s\\fR", paths[i]);
		CHECK(strstr(man, want) != NULL);
		for (o = c ? c->opts : NULL; o && o->name; o++) {
			snprintf(want, sizeof(want), "\\fB\\-\\-%s\\fR",
				 o->name);
			CHECK(strstr(man, want) != NULL);
		}
	}
	bash = generated(0);
	for (i = 0; i < nr_paths; i++) {
		const struct cmd *c = find(paths[i]);

		snprintf(want, sizeof(want), "\t\"%s\")\n", paths[i]);
		if (strcmp(paths[i], "help"))
			CHECK(strstr(bash, want) != NULL);
		for (o = c ? c->opts : NULL; o && o->name; o++) {
			snprintf(want, sizeof(want), "--%s ", o->name);
			CHECK(strstr(bash, want) != NULL);
		}
	}
	for (p = strstr(bash, " --"); p; p = strstr(p + 1, " --")) {
		size_t n = strspn(p + 3, "abcdefghijklmnopqrstuvwxyz-");

		if (n && !option_known(p + 3, n))
			printf("  completion names --%.*s\n", (int)n, p + 3);
		CHECK(!n || option_known(p + 3, n));
	}
}

/* The table itself: names unique within a level, every verb summarised,
 * every --option of a hand-written synopsis parsed by that verb. */
TEST(table_is_sound)
{
	int i, j;

	for (i = 0; i < nr_paths; i++) {
		const struct cmd *c = find(paths[i]);
		const char *s;

		CHECK(c != NULL);
		if (!c)
			continue;
		CHECK(c->summary && c->summary[0]);
		CHECK(c->func || c->subs);
		for (s = c->synopsis; s && (s = strstr(s, "--")); s += 2) {
			const struct cmd_opt *o;
			size_t n = strspn(s + 2, "abcdefghijklmnopqrstuvwxyz-");
			bool found = false;

			for (o = c->opts; o && o->name; o++)
				found |= strlen(o->name) == n &&
					 !strncmp(o->name, s + 2, n);
			CHECK(found);
		}
	}
	for (i = 0; cmds[i]; i++)
		for (j = i + 1; cmds[j]; j++)
			CHECK(strcmp(cmds[i]->name, cmds[j]->name));
}

/* cmd_getopt() in-process: values, then the refusal. */
TEST(getopt_from_the_table)
{
	char a0[] = "detach", a1[] = "--holder", a2[] = "x", a3[] = "--all",
	     a4[] = "--wait=5", a5[] = "--nope";
	char *argv[] = { a0, a1, a2, a3, a4, a5, NULL };

	optind = 0;
	CHECK_EQ(cmd_getopt(6, argv, &detach_cmd), 'H');
	CHECK_STREQ(optarg, "x");
	CHECK_EQ(cmd_getopt(6, argv, &detach_cmd), 'a');
	CHECK_EQ(cmd_getopt(6, argv, &detach_cmd), 'w');
	CHECK_STREQ(optarg, "5");
	CHECK_EQ(cmd_getopt(6, argv, &detach_cmd), CMD_BAD_OPT);
}

int main(int argc, char **argv)
{
	const char *td = getenv("TESTDATA");

	bin = getenv("ALPNSTEER");
	if (!bin || access(bin, X_OK)) {
		printf("ALPNSTEER must name the built binary\n0 passed, 1 failed\n");
		return 1;
	}
	if (td)
		snprintf(srcdir, sizeof(srcdir), "%s/../..", td);
	/* The refusals print their Error: lines; failures go to stdout. */
	if (!getenv("TEST_VERBOSE") && !freopen("/dev/null", "w", stderr))
		return 1;
	nr_paths = leaves(cmds, "", paths, 0);
	return tl_run_all(argc, argv);
}
