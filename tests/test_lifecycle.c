// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_lifecycle.c - the attachment's states and transitions, in-process,
 * over temporary pin and run directories: the record, the locks, the
 * holders and their expiry, the plans of attach, detach and the keeper,
 * the ownership and symlink checks, and the v4-mapped client address.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "testlib.h"
#include "cli.h"
#include "evaddr.h"
#include "fdutil.h"
#include "keeper_scope.h"
#include "lifecycle.h"
#include "lifecycle_run.h"

static char base[] = "/tmp/alpnsteer-lc-test.XXXXXX";
static struct lc_paths P;

static void fresh_paths(void)
{
	char cmd[PATH_MAX + 32];

	snprintf(cmd, sizeof(cmd), "rm -rf %s/run %s/pins", base, base);
	if (system(cmd))
		perror("rm");
	snprintf(P.pin_dir, sizeof(P.pin_dir), "%s/pins", base);
	snprintf(P.run_dir, sizeof(P.run_dir), "%s/run", base);
	P.owner = getuid();
}

static void touch(const char *dir, const char *name)
{
	char p[PATH_MAX + 64];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	if (fd >= 0)
		close(fd);
}

/* What a live attachment leaves in the pin directory, as plain files:
 * lc_observe() only looks at names (and cannot read a flag from them). */
static void make_pins(bool sockops)
{
	mkdir(P.pin_dir, 0700);
	touch(P.pin_dir, "settings");
	touch(P.pin_dir, "conns");
	if (sockops)
		touch(P.pin_dir, "link_sockops");
}

static void base_opts(struct lc_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->ports.v[0] = 443;
	o->ports.n = 1;
	snprintf(o->cgroup, sizeof(o->cgroup), "/sys/fs/cgroup");
	o->pool = 16;
	o->timeout = 30;
	o->control_gid = -1;
	o->netns = 4096;
	snprintf(o->user, sizeof(o->user), "alpnsteer");
}

static void base_record(struct lc_record *r)
{
	memset(r, 0, sizeof(*r));
	r->pid = 1234;
	r->keeper = 1233;
	r->since = 1700000000;
	r->phase = LC_PHASE_ATTACHED;
	base_opts(&r->opts);
	lc_holder_add(r, "default", 0);
}

TEST(record_round_trip)
{
	struct lc_record w, r;
	int fd;

	fresh_paths();
	fd = lc_run_dir_open(&P, true);
	ASSERT_GE(fd, 0);
	base_record(&w);
	snprintf(w.opts.forward, sizeof(w.opts.forward), "127.0.0.1:8443");
	snprintf(w.opts.domains, sizeof(w.opts.domains), "a.test,b.test");
	w.opts.ports.v[1] = 8443;
	w.opts.ports.n = 2;
	w.opts.preclass.v[0] = 3;
	w.opts.preclass.n = 1;
	w.opts.per_source = 3;
	w.opts.pool_max = 99;
	ASSERT_OK(lc_cidr_parse("198.18.0.0/24", &w.opts.proxy_from.v[0]));
	ASSERT_OK(lc_cidr_parse("fd00:a5::1", &w.opts.proxy_from.v[1]));
	w.opts.proxy_from.n = 2;
	lc_holder_add(&w, "acme.sh", 1700003600);
	ASSERT_EQ(lc_record_write(fd, &w), 0);
	ASSERT_EQ(lc_record_read(fd, &r, P.owner), 0);
	ASSERT_EQ(r.pid, 1234);
	ASSERT_EQ(r.keeper, 1233);
	ASSERT_EQ(r.since, 1700000000);
	ASSERT_STREQ(r.opts.forward, "127.0.0.1:8443");
	ASSERT_STREQ(r.opts.domains, "a.test,b.test");
	ASSERT_EQ(r.opts.ports.n, 2);
	ASSERT_EQ(r.opts.ports.v[1], 8443);
	ASSERT_EQ(r.opts.preclass.n, 1);
	ASSERT_EQ(r.opts.preclass.v[0], 3);
	ASSERT_EQ(r.opts.per_source, 3);
	ASSERT_EQ(r.opts.pool_max, 99);
	ASSERT_EQ(r.opts.proxy_from.n, 2);
	ASSERT_EQ(r.opts.proxy_from.v[1].family, AF_INET6);
	ASSERT_EQ(r.opts.proxy_from.v[1].plen, 128);
	ASSERT_EQ(r.opts.netns, 4096);
	ASSERT_EQ(r.opts.control_gid, -1);
	ASSERT_EQ(r.nr_holders, 2);
	ASSERT_STREQ(r.holders[1].name, "acme.sh");
	ASSERT_EQ(r.holders[1].expires, 1700003600);
	ASSERT_EQ(lc_opts_diff(&w.opts, &r.opts, (char[256]){}, 256), 0);
	close(fd);
}

/* Root never follows a name in the run directory, nor reads a file that
 * is not a lone regular file of its own. */
TEST(run_files_never_followed)
{
	char p[PATH_MAX + 64], target[PATH_MAX + 64], buf[64] = "";
	struct lc_record w, r;
	int fd, t;

	fresh_paths();
	fd = lc_run_dir_open(&P, true);
	snprintf(target, sizeof(target), "%s/target", base);
	t = open(target, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ASSERT_TRUE(t >= 0 && write(t, "secret", 6) == 6);
	close(t);

	snprintf(p, sizeof(p), "%s/%s", P.run_dir, LC_LOG_FILE);
	ASSERT_EQ(symlink(target, p), 0);
	ASSERT_LT(lc_open_checked(fd, LC_LOG_FILE, O_WRONLY | O_APPEND, 0600,
				  P.owner),
		  0);
	snprintf(p, sizeof(p), "%s/%s", P.run_dir, LC_LOCK_FILE);
	ASSERT_EQ(symlink(target, p), 0);
	ASSERT_LT(lc_lock_open(fd, LC_LOCK_FILE, P.owner), 0);
	/* A hard link: one name too many. */
	snprintf(p, sizeof(p), "%s/%s", P.run_dir, LC_EDIT_LOCK_FILE);
	ASSERT_EQ(link(target, p), 0);
	ASSERT_EQ(lc_lock_open(fd, LC_EDIT_LOCK_FILE, P.owner), -EPERM);
	/* Someone else's file. */
	ASSERT_EQ(lc_open_checked(fd, LC_EDIT_LOCK_FILE, O_RDONLY, 0,
				  P.owner + 1),
		  -EPERM);

	snprintf(p, sizeof(p), "%s/%s", P.run_dir, LC_STATE_FILE);
	ASSERT_EQ(symlink(target, p), 0);
	ASSERT_LT(lc_record_read(fd, &r, P.owner), 0);
	/* Writing replaces the symlink; the target is untouched. */
	base_record(&w);
	ASSERT_EQ(lc_record_write(fd, &w), 0);
	ASSERT_EQ(lc_record_read(fd, &r, P.owner), 0);
	t = open(target, O_RDONLY);
	ASSERT_TRUE(t >= 0 && read(t, buf, sizeof(buf)) == 6);
	close(t);
	ASSERT_STREQ(buf, "secret");
	close(fd);
}

TEST(run_dir_checks)
{
	char p[PATH_MAX + 64], target[PATH_MAX + 64];
	struct stat st;
	int fd;

	fresh_paths();
	/* A symlink in place of the run directory. */
	snprintf(target, sizeof(target), "%s/elsewhere", base);
	mkdir(target, 0755);
	ASSERT_EQ(symlink(target, P.run_dir), 0);
	ASSERT_LT(lc_run_dir_open(&P, true), 0);
	unlink(P.run_dir);
	/* Writable by others (as the daemon user had it): taken back,
	 * emptied of what was planted. */
	mkdir(P.run_dir, 0777);
	chmod(P.run_dir, 0777);
	snprintf(p, sizeof(p), "%s/%s", P.run_dir, LC_LOG_FILE);
	ASSERT_EQ(symlink("/etc/shadow", p), 0);
	fd = lc_run_dir_open(&P, true);
	ASSERT_GE(fd, 0);
	ASSERT_TRUE(stat(P.run_dir, &st) == 0 && (st.st_mode & 0777) == 0755);
	ASSERT_TRUE(lstat(p, &st) < 0 && errno == ENOENT);
	close(fd);
	/* A name that is not ours: not emptied, refused. */
	chmod(P.run_dir, 0777);
	touch(P.run_dir, "foreign");
	ASSERT_LT(lc_run_dir_open(&P, true), 0);
	/* Refused, but taken back all the same: nobody else may add a name. */
	ASSERT_TRUE(stat(P.run_dir, &st) == 0 && (st.st_mode & 0777) == 0755);
	/* status (create false) never repairs. */
	chmod(P.run_dir, 0777);
	ASSERT_EQ(lc_run_dir_open(&P, false), -EPERM);
}

TEST(pin_dir_checks)
{
	char target[PATH_MAX + 64];
	struct stat st;

	fresh_paths();
	ASSERT_EQ(lc_pin_dir_check(&P), 0); /* absent */
	mkdir(P.pin_dir, 0700);
	ASSERT_EQ(lc_pin_dir_check(&P), 0); /* ours */
	/* An empty directory others may write to: removed, made again. */
	chmod(P.pin_dir, 0777);
	ASSERT_EQ(lc_pin_dir_check(&P), 0);
	ASSERT_LT(lstat(P.pin_dir, &st), 0);
	/* Not empty: refused. */
	mkdir(P.pin_dir, 0777);
	chmod(P.pin_dir, 0777);
	touch(P.pin_dir, "planted");
	ASSERT_EQ(lc_pin_dir_check(&P), -EPERM);
	fresh_paths();
	snprintf(target, sizeof(target), "%s/elsewhere-pins", base);
	mkdir(target, 0700);
	ASSERT_EQ(symlink(target, P.pin_dir), 0);
	ASSERT_EQ(lc_pin_dir_check(&P), -EPERM);
}

TEST(locks)
{
	int fd, other;

	fresh_paths();
	fd = lc_run_dir_open(&P, true);
	ASSERT_EQ(lc_lock_held(fd, LC_LOCK_FILE, P.owner), 0); /* no file */
	other = lc_lock_open(fd, LC_LOCK_FILE, P.owner);
	ASSERT_GE(other, 0);
	/* O_RDONLY: flock needs no write access. */
	ASSERT_EQ(fcntl(other, F_GETFL) & O_ACCMODE, O_RDONLY);
	ASSERT_EQ(lc_lock_held(fd, LC_LOCK_FILE, P.owner), 0);
	ASSERT_EQ(lc_lock_take(other, 0), 0);
	ASSERT_EQ(lc_lock_held(fd, LC_LOCK_FILE, P.owner), 1);
	ASSERT_TRUE(fcntl(other, F_GETFD) & FD_CLOEXEC);
	close(other);
	ASSERT_EQ(lc_lock_held(fd, LC_LOCK_FILE, P.owner), 0);
	close(fd);
}

static struct lc_view view(bool pins, bool sockops, bool flag, bool live,
			   bool rec, enum lc_phase phase)
{
	struct lc_view v = { .pins = pins,
			     .sockops = sockops,
			     .flag = flag,
			     .live = live,
			     .have_rec = rec };

	if (rec) {
		base_record(&v.rec);
		v.rec.phase = phase;
	}
	v.state = lc_classify(&v);
	return v;
}

TEST(classify)
{
	ASSERT_EQ(view(0, 0, 0, 0, 0, 0).state, LC_DETACHED);
	/* A stale record of a daemon long gone changes nothing. */
	ASSERT_EQ(view(0, 0, 0, 0, 1, 0).state, LC_DETACHED);
	ASSERT_EQ(view(0, 0, 0, 1, 0, 0).state, LC_ATTACHING);
	ASSERT_EQ(view(1, 0, 0, 1, 0, 0).state, LC_ATTACHING);
	ASSERT_EQ(view(1, 1, 0, 1, 1, LC_PHASE_ATTACHED).state, LC_ATTACHED);
	ASSERT_EQ(view(1, 1, 1, 1, 1, LC_PHASE_ATTACHED).state, LC_DRAINING);
	ASSERT_EQ(view(1, 1, 0, 1, 1, LC_PHASE_DRAINING).state, LC_DRAINING);
	ASSERT_EQ(view(1, 0, 0, 1, 1, LC_PHASE_ATTACHED).state, LC_DRAINING);
	/* The keeper is removing the pins. */
	ASSERT_EQ(view(0, 0, 0, 1, 1, LC_PHASE_DRAINING).state, LC_DRAINING);
	ASSERT_EQ(view(1, 1, 0, 0, 1, LC_PHASE_ATTACHED).state, LC_ORPHANED);
	ASSERT_EQ(view(1, 1, 1, 0, 0, 0).state, LC_ORPHANED);
	ASSERT_STREQ(lc_state_name(LC_ORPHANED), "orphaned");
	ASSERT_STREQ(lc_state_name(LC_ATTACHING), "attaching");
}

/* The same, seen by lc_observe() from the directories. */
TEST(observe)
{
	struct lc_record r;
	struct lc_view v;
	char p[PATH_MAX + 64];
	int fd, lock;

	fresh_paths();
	fd = lc_run_dir_open(&P, true);
	lc_observe(&P, fd, &v);
	ASSERT_EQ(v.state, LC_DETACHED);
	lock = lc_lock_open(fd, LC_LOCK_FILE, P.owner);
	lc_lock_take(lock, 0);
	lc_observe(&P, fd, &v);
	ASSERT_EQ(v.state, LC_ATTACHING);
	make_pins(true);
	base_record(&r);
	lc_record_write(fd, &r);
	lc_observe(&P, fd, &v);
	ASSERT_EQ(v.state, LC_ATTACHED);
	ASSERT_TRUE(v.live && v.pins && v.sockops && v.have_rec);
	r.phase = LC_PHASE_DRAINING;
	lc_record_write(fd, &r);
	lc_observe(&P, fd, &v);
	ASSERT_EQ(v.state, LC_DRAINING);
	close(lock); /* the keeper is gone */
	lc_observe(&P, fd, &v);
	ASSERT_EQ(v.state, LC_ORPHANED);
	snprintf(p, sizeof(p), "%s/settings", P.pin_dir);
	unlink(p);
	lc_observe(&P, fd, &v);
	ASSERT_EQ(v.state, LC_DETACHED);
	/* Without the run directory (a user who may not look, or none):
	 * pins alone say orphaned. */
	make_pins(true);
	lc_observe(&P, -1, &v);
	ASSERT_EQ(v.state, LC_ORPHANED);
	close(fd);
}

TEST(options_compared)
{
	struct lc_opts live, want;
	char why[1024];

	base_opts(&live);
	base_opts(&want);
	ASSERT_EQ(lc_opts_diff(&live, &want, why, sizeof(why)), 0);
	ASSERT_STREQ(why, "");
	snprintf(want.forward, sizeof(want.forward), "127.0.0.1:5443");
	ASSERT_EQ(lc_opts_diff(&live, &want, why, sizeof(why)), 1);
	ASSERT_STRSTR(
		why,
		"responder: attached with the built-in one, asked for 127.0.0.1:5443");
	base_opts(&want);
	want.ports.v[0] = 8443;
	ASSERT_EQ(lc_opts_diff(&live, &want, why, sizeof(why)), 1);
	ASSERT_STRSTR(why, "--port: attached with 443, asked for 8443");
	/* Ports are a set. */
	live.ports.v[1] = 8443;
	live.ports.n = 2;
	want.ports.v[0] = 8443;
	want.ports.v[1] = 443;
	want.ports.n = 2;
	ASSERT_EQ(lc_opts_diff(&live, &want, why, sizeof(why)), 0);
	base_opts(&live);
	base_opts(&want);
	snprintf(want.domains, sizeof(want.domains), "a.test");
	ASSERT_EQ(lc_opts_diff(&live, &want, why, sizeof(why)), 1);
	ASSERT_STRSTR(why, "--domain");
	/* Tuning counts only when named. */
	base_opts(&want);
	want.pool = 4;
	ASSERT_EQ(lc_opts_diff(&live, &want, why, sizeof(why)), 0);
	want.given = LC_GIVEN(pool);
	ASSERT_EQ(lc_opts_diff(&live, &want, why, sizeof(why)), 1);
	ASSERT_STRSTR(why, "--pool: attached with 16, asked for 4");
	/* Two differences, both named. */
	want.ports.v[0] = 80;
	ASSERT_EQ(lc_opts_diff(&live, &want, why, sizeof(why)), 1);
	ASSERT_TRUE(strstr(why, "--port") && strstr(why, "--pool"));
	base_opts(&want);
	want.netns = 1;
	ASSERT_EQ(lc_opts_diff(&live, &want, why, sizeof(why)), 1);
	ASSERT_STRSTR(why, "network namespace");
	/* The balancers are a set of prefixes, compared whether named or
	 * not: another list is another attachment. */
	base_opts(&want);
	ASSERT_OK(lc_cidr_parse("198.18.0.10", &live.proxy_from.v[0]));
	ASSERT_OK(lc_cidr_parse("fd00::/8", &live.proxy_from.v[1]));
	live.proxy_from.n = 2;
	ASSERT_OK(lc_cidr_parse("fd00:1::/8", &want.proxy_from.v[0]));
	ASSERT_OK(lc_cidr_parse("198.18.0.10/32", &want.proxy_from.v[1]));
	want.proxy_from.n = 2;
	ASSERT_EQ(lc_opts_diff(&live, &want, why, sizeof(why)), 0);
	want.proxy_from.n = 1;
	ASSERT_EQ(lc_opts_diff(&live, &want, why, sizeof(why)), 1);
	ASSERT_STRSTR(
		why,
		"--proxy-from: attached with 198.18.0.10/32,fd00::/8, asked for fd00::/8");
}

/* --proxy-from's prefixes: masked to their length, bad ones refused. */
TEST(cidr_parse)
{
	struct alpnsteer_cidr c;
	char buf[64];

	ASSERT_OK(lc_cidr_parse("198.18.7.9/15", &c));
	ASSERT_EQ(c.family, AF_INET);
	ASSERT_EQ(c.plen, 15);
	ASSERT_EQ(c.addr[0], htonl(0xc6120000));
	ASSERT_EQ(c.mask[0], htonl(0xfffe0000));
	ASSERT_EQ(c.mask[1], 0);
	lc_cidr_str(&c, buf, sizeof(buf));
	ASSERT_STREQ(buf, "198.18.0.0/15");
	ASSERT_OK(lc_cidr_parse("fd00:a5:4::2/64", &c));
	ASSERT_EQ(c.family, AF_INET6);
	ASSERT_EQ(c.mask[1], 0xffffffff);
	ASSERT_EQ(c.mask[2], 0);
	lc_cidr_str(&c, buf, sizeof(buf));
	ASSERT_STREQ(buf, "fd00:a5:4::/64");
	ASSERT_OK(lc_cidr_parse("fd00::1/67", &c));
	ASSERT_EQ(c.mask[2], htonl(0xe0000000));
	ASSERT_OK(lc_cidr_parse("0.0.0.0/0", &c));
	ASSERT_EQ(c.mask[0], 0);
	ASSERT_OK(lc_cidr_parse("10.0.0.1", &c));
	ASSERT_EQ(c.plen, 32);
	ASSERT_ERR(lc_cidr_parse("10.0.0.1/33", &c));
	ASSERT_ERR(lc_cidr_parse("fd00::/129", &c));
	ASSERT_ERR(lc_cidr_parse("10.0.0.1/", &c));
	ASSERT_ERR(lc_cidr_parse("10.0.0.1/-1", &c));
	ASSERT_ERR(lc_cidr_parse("10.0.0.1/8x", &c));
	ASSERT_ERR(lc_cidr_parse("example.org", &c));
	ASSERT_ERR(lc_cidr_parse("", &c));
}

TEST(attach_plans)
{
	struct lc_opts want, other;
	struct lc_view v;
	char why[1024];

	base_opts(&want);
	base_opts(&other);
	snprintf(other.forward, sizeof(other.forward), "127.0.0.1:5443");
	v = view(0, 0, 0, 0, 0, 0);
	ASSERT_EQ(lc_plan_attach(&v, &want, why, sizeof(why)), LC_ATTACH_FRESH);
	v = view(1, 1, 0, 1, 1, LC_PHASE_ATTACHED);
	ASSERT_EQ(lc_plan_attach(&v, &want, why, sizeof(why)), LC_ATTACH_JOIN);
	ASSERT_EQ(lc_plan_attach(&v, &other, why, sizeof(why)),
		  LC_ATTACH_REFUSE);
	ASSERT_STRSTR(why, "responder");
	/* During a drain: the same options call it off, others wait. */
	v = view(1, 1, 1, 1, 1, LC_PHASE_DRAINING);
	ASSERT_EQ(lc_plan_attach(&v, &want, why, sizeof(why)),
		  LC_ATTACH_RESUME);
	ASSERT_EQ(lc_plan_attach(&v, &other, why, sizeof(why)), LC_ATTACH_WAIT);
	/* A stop is never undone. */
	v = view(1, 1, 1, 1, 1, LC_PHASE_STOPPING);
	ASSERT_EQ(lc_plan_attach(&v, &want, why, sizeof(why)), LC_ATTACH_WAIT);
	v = view(0, 0, 0, 1, 0, 0);
	ASSERT_EQ(lc_plan_attach(&v, &want, why, sizeof(why)), LC_ATTACH_WAIT);
	v = view(1, 1, 0, 0, 1, LC_PHASE_ATTACHED);
	ASSERT_EQ(lc_plan_attach(&v, &want, why, sizeof(why)),
		  LC_ATTACH_REPLACE);
}

TEST(holders_and_detach_plans)
{
	struct lc_view v = view(1, 1, 0, 1, 1, LC_PHASE_ATTACHED);

	/* The service's permanent holder plus a hook's. */
	lc_holder_remove(&v.rec, "default");
	ASSERT_EQ(lc_holder_add(&v.rec, "alpnsteer.service", 0), 0);
	ASSERT_EQ(lc_holder_add(&v.rec, "acme.sh", 1000), 0);
	ASSERT_EQ(lc_holder_add(&v.rec, "acme.sh", 2000), 0); /* renewed */
	ASSERT_EQ(v.rec.nr_holders, 2);
	ASSERT_EQ(v.rec.holders[1].expires, 2000);
	ASSERT_EQ(lc_holder_add(&v.rec, "bad name", 0), -EINVAL);
	ASSERT_EQ(lc_holder_add(&v.rec, "x/../y", 0), -EINVAL);
	ASSERT_EQ(lc_plan_detach(&v, "acme.sh", false), LC_DETACH_LEAVE);
	ASSERT_EQ(lc_plan_detach(&v, "default", false), LC_DETACH_NOT_HOLDER);
	ASSERT_EQ(lc_plan_detach(&v, "default", true), LC_DETACH_DRAIN);
	ASSERT_EQ(lc_holder_remove(&v.rec, "acme.sh"), 0);
	ASSERT_EQ(lc_holder_remove(&v.rec, "acme.sh"), -ENOENT);
	ASSERT_EQ(lc_plan_detach(&v, "alpnsteer.service", false),
		  LC_DETACH_DRAIN);
	v = view(1, 1, 1, 1, 1, LC_PHASE_DRAINING);
	ASSERT_EQ(lc_plan_detach(&v, "default", false), LC_DETACH_DRAINING);
	v = view(1, 1, 0, 0, 1, LC_PHASE_ATTACHED);
	ASSERT_EQ(lc_plan_detach(&v, "default", false), LC_DETACH_ORPHAN);
	v = view(0, 0, 0, 0, 0, 0);
	ASSERT_EQ(lc_plan_detach(&v, "default", false), LC_DETACH_NONE);
}

TEST(ttl_and_keeper_plans)
{
	struct lc_view v = view(1, 1, 0, 1, 1, LC_PHASE_ATTACHED);

	lc_holder_remove(&v.rec, "default");
	lc_holder_add(&v.rec, "hook-a", 100);
	lc_holder_add(&v.rec, "hook-b", 200);
	ASSERT_EQ(lc_holders_prune(&v.rec, 99), 0);
	ASSERT_EQ(lc_plan_keeper(&v, 5), LC_KEEP);
	ASSERT_EQ(lc_holders_prune(&v.rec, 100), 1);
	ASSERT_EQ(v.rec.nr_holders, 1);
	ASSERT_STREQ(v.rec.holders[0].name, "hook-b");
	ASSERT_EQ(lc_plan_keeper(&v, 5), LC_KEEP);
	ASSERT_EQ(lc_holders_prune(&v.rec, 1000), 1);
	ASSERT_EQ(lc_plan_keeper(&v, 5), LC_KEEP_EXPIRE);
	/* A permanent holder never expires. */
	lc_holder_add(&v.rec, "alpnsteer.service", 0);
	ASSERT_EQ(lc_holders_prune(&v.rec, 1L << 40), 0);
	ASSERT_EQ(lc_plan_keeper(&v, 0), LC_KEEP);
	/* Draining: finished only once nothing steered is left. */
	v = view(1, 1, 1, 1, 1, LC_PHASE_DRAINING);
	ASSERT_EQ(lc_plan_keeper(&v, 3), LC_KEEP);
	ASSERT_EQ(lc_plan_keeper(&v, 0), LC_KEEP_FINISH);
	/* Called off (resumed): attached again, never finished. */
	v.flag = false;
	v.rec.phase = LC_PHASE_ATTACHED;
	ASSERT_EQ(lc_plan_keeper(&v, 0), LC_KEEP);
}

TEST(durations)
{
	ASSERT_EQ(lc_parse_duration("90s"), 90);
	ASSERT_EQ(lc_parse_duration("30m"), 1800);
	ASSERT_EQ(lc_parse_duration("1h"), 3600);
	ASSERT_EQ(lc_parse_duration("2d"), 172800);
	ASSERT_EQ(lc_parse_duration("45"), 45);
	ASSERT_LT(lc_parse_duration(""), 0);
	ASSERT_LT(lc_parse_duration("0"), 0);
	ASSERT_LT(lc_parse_duration("-5m"), 0);
	ASSERT_LT(lc_parse_duration("5x"), 0);
	ASSERT_LT(lc_parse_duration("5mm"), 0);
	ASSERT_LT(lc_parse_duration("h"), 0);
	ASSERT_LT(lc_parse_duration("9999999d"), 0);
}

TEST(close_except)
{
	int a = open("/dev/null", O_RDONLY), b = open("/dev/null", O_RDONLY);
	int c = open("/dev/null", O_RDONLY);
	int keep[] = { b };

	ASSERT_TRUE(a >= 3 && b > a && c > b);
	fd_close_except(keep, 1);
	ASSERT_TRUE(fcntl(a, F_GETFD) < 0 && errno == EBADF);
	ASSERT_GE(fcntl(b, F_GETFD), 0);
	ASSERT_LT(fcntl(c, F_GETFD), 0);
	ASSERT_GE(fcntl(1, F_GETFD), 0); /* stdio stays */
	close(b);
}

static int parse(struct daemon_opts *o, const char *line)
{
	static char buf[1024];
	char *argv[32], *tok, *save = NULL;
	int argc = 0;

	snprintf(buf, sizeof(buf), "%s", line);
	for (tok = strtok_r(buf, " ", &save); tok && argc < 31;
	     tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;
	return cli_parse_attach(argc, argv, o);
}

/* What an attach asks for, as the lifecycle records and compares it. */
TEST(attach_options)
{
	static struct daemon_opts o;
	struct lc_opts l, m;
	char why[512];

	ASSERT_EQ(parse(&o, "attach --cgroup /x"), 0);
	ASSERT_STREQ(o.holder, LC_DEFAULT_HOLDER);
	ASSERT_EQ(o.ttl, 0);
	ASSERT_EQ(o.a.given & ~LC_GIVEN(cgroup), 0);
	ASSERT_EQ(
		parse(&o,
		      "attach --cgroup /x --holder acme.sh --ttl 30m --pool 4 --user u"),
		0);
	ASSERT_STREQ(o.holder, "acme.sh");
	ASSERT_EQ(o.ttl, 1800);
	ASSERT_EQ(o.a.given & ~LC_GIVEN(cgroup),
		  LC_GIVEN(pool) | LC_GIVEN(user));
	ASSERT_LT(parse(&o, "attach --cgroup /x --holder a/b"), 0);
	ASSERT_LT(parse(&o, "attach --cgroup /x --ttl 0"), 0);
	ASSERT_LT(parse(&o, "attach --cgroup /x --ttl soon"), 0);
	/* --domain is a set, in any order and case. */
	ASSERT_EQ(
		parse(&o,
		      "attach --cgroup /x --forward 127.0.0.1:1 --domain B.test --domain a.test"),
		0);
	l = o.a;
	ASSERT_STREQ(l.domains, "a.test,b.test");
	ASSERT_STREQ(l.forward, "127.0.0.1:1");
	ASSERT_EQ(
		parse(&o,
		      "attach --cgroup /x --forward 127.0.0.1:1 --domain a.test --domain b.test"),
		0);
	m = o.a;
	ASSERT_EQ(lc_opts_diff(&l, &m, why, sizeof(why)), 0);
}

/* Every attach option is recorded and compared: a second attach that
 * names another --per-source or --pool-max is refused, not joined. */
TEST(attach_options_all_compared)
{
	static struct daemon_opts o;
	struct lc_opts live, want;
	char why[512];

	ASSERT_EQ(parse(&o, "attach --cgroup /x"), 0);
	live = o.a;
	ASSERT_EQ(parse(&o, "attach --cgroup /x --per-source 2"), 0);
	want = o.a;
	ASSERT_EQ(lc_opts_diff(&live, &want, why, sizeof(why)), 1);
	ASSERT_STRSTR(why, "--per-source: attached with 8, asked for 2");
	ASSERT_EQ(parse(&o, "attach --cgroup /x --pool-max 300"), 0);
	want = o.a;
	ASSERT_EQ(lc_opts_diff(&live, &want, why, sizeof(why)), 1);
	ASSERT_STRSTR(why, "--pool-max: attached with 256, asked for 300");
	/* Not named: the attachment's own value is fine. */
	ASSERT_EQ(parse(&o, "attach --cgroup /x"), 0);
	want = o.a;
	ASSERT_EQ(lc_opts_diff(&live, &want, why, sizeof(why)), 0);
}

static int fmt(int family, const char *ip, char *buf)
{
	struct alpnsteer_event e = { .family = family, .remote_port = 4433 };

	inet_pton(family, ip, e.remote_ip);
	return evaddr_format(&e, buf, 64);
}

TEST(v4_mapped_is_ipv4)
{
	char buf[64];

	ASSERT_EQ(fmt(AF_INET6, "::ffff:198.18.4.2", buf), AF_INET);
	ASSERT_STREQ(buf, "198.18.4.2:4433");
	ASSERT_EQ(fmt(AF_INET6, "fd00:a5:4::2", buf), AF_INET6);
	ASSERT_STREQ(buf, "[fd00:a5:4::2]:4433");
	ASSERT_EQ(fmt(AF_INET, "198.18.4.2", buf), AF_INET);
	ASSERT_STREQ(buf, "198.18.4.2:4433");
}

/* Where the keeper lives: its own scope only under systemd, and never for
 * `run`, the main process of its own unit. */
TEST(keeper_scope_plan)
{
	struct ks_env e = { .booted = true,
			    .cgroup =
				    "/system.slice/alpnsteer-attach.service" };

	ASSERT_EQ(ks_plan(&e), KS_MOVE, "a unit's attach under systemd");
	e.cgroup = "/system.slice/certbot.service";
	ASSERT_EQ(ks_plan(&e), KS_MOVE, "an ACME client's hook");
	e.cgroup = "";
	ASSERT_EQ(ks_plan(&e), KS_MOVE, "cgroup unknown");
	e.foreground = true;
	ASSERT_EQ(ks_plan(&e), KS_STAY_FOREGROUND, "run");
	e.foreground = false;
	e.booted = false;
	ASSERT_EQ(ks_plan(&e), KS_STAY_NO_SYSTEMD, "no systemd");
	e.booted = true;
	e.setting = "no";
	ASSERT_EQ(ks_plan(&e), KS_STAY_DISABLED, "ALPNSTEER_KEEPER_SCOPE=no");
	e.setting = "yes";
	ASSERT_EQ(ks_plan(&e), KS_MOVE, "ALPNSTEER_KEEPER_SCOPE=yes");
	e.cgroup = "/system.slice/alpnsteer-keeper-77.scope";
	ASSERT_EQ(ks_plan(&e), KS_STAY_OWN, "already in its scope");
}

TEST(keeper_scope_cgroup)
{
	char cg[64], name[64];

	ASSERT_OK(ks_scope_name(1234, name, sizeof(name)));
	ASSERT_STREQ(name, "alpnsteer-keeper-1234.scope");
	ASSERT_ERR(ks_scope_name(1234, cg, 10), "too short a buffer");
	ASSERT_OK(ks_cgroup_parse(
		"0::/system.slice/alpnsteer-keeper-1234.scope\n", cg,
		sizeof(cg)));
	ASSERT_STREQ(cg, "/system.slice/alpnsteer-keeper-1234.scope");
	ASSERT_TRUE(ks_cgroup_is(cg, name));
	ASSERT_FALSE(ks_cgroup_is(cg, "alpnsteer-keeper-123.scope"));
	/* A hybrid host: v1 lines first. */
	ASSERT_OK(ks_cgroup_parse(
		"12:pids:/x\n1:name=systemd:/y\n0::/user.slice/s\n", cg,
		sizeof(cg)));
	ASSERT_STREQ(cg, "/user.slice/s");
	ASSERT_FALSE(ks_cgroup_is(cg, name));
	ASSERT_EQ(ks_cgroup_parse("1:name=systemd:/y\n", cg, sizeof(cg)),
		  -ENOENT, "v1 only");
	ASSERT_EQ(
		ks_cgroup_parse(
			"0::/a/very/long/path/indeed/longer/than/the/buffer/given/here\n",
			cg, 16),
		-ENAMETOOLONG);
	ASSERT_OK(ks_cgroup_parse("0::/\n", cg, sizeof(cg)));
	ASSERT_STREQ(cg, "/");
}

/* Without systemd (this test's host, or ALPNSTEER_KEEPER_SCOPE=no) the
 * keeper stays where it is and says nothing: the fallback is quiet. */
TEST(keeper_scope_fallback)
{
	char before[4096], after[4096];
	FILE *f;
	size_t n;

	f = fopen("/proc/self/cgroup", "r");
	if (!ASSERT_OK_PTR(f))
		return;
	n = fread(before, 1, sizeof(before) - 1, f);
	before[n] = '\0';
	fclose(f);
	setenv(KS_ENV, "no", 1);
	ASSERT_EQ(ks_enter(false), 0, "disabled: stays");
	unsetenv(KS_ENV);
	ASSERT_EQ(ks_enter(true), 0, "run: stays");
	if (access("/run/systemd/system", F_OK))
		ASSERT_EQ(ks_enter(false), 0, "no systemd: stays");
	f = fopen("/proc/self/cgroup", "r");
	if (!ASSERT_OK_PTR(f))
		return;
	n = fread(after, 1, sizeof(after) - 1, f);
	after[n] = '\0';
	fclose(f);
	ASSERT_STREQ(after, before, "the cgroup is unchanged");
}

int main(int argc, char **argv)
{
	char cmd[PATH_MAX + 16];
	int rc;

	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 1;
	}
	rc = tl_run_all(argc, argv);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	if (system(cmd))
		perror("rm");
	return rc;
}
