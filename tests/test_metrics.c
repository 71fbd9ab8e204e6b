// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_metrics.c - the Prometheus text of --metrics-file and `status
 * --metrics` (user/lib/metrics.c): names, types, label escaping, the
 * per-identifier series, and the atomic write that follows no symlink.
 * (promtool checks the format itself in selftests/test_trace.sh.)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <arpa/inet.h>

#include "testlib.h"
#include "metrics.h"

TEST(text)
{
	__u64 counters[AC__MAX] = { [AC_STEERED] = 7, [AC_TRACE_DROPPED] = 2 };
	struct trace *t = trace_new();
	struct metrics_in in = { .state = "attached",
				 .writer = "monitor",
				 .counters = counters,
				 .pending = 2,
				 .conns = 3,
				 .pool_busy = 1,
				 .pool_made = 64,
				 .trace = t };
	unsigned char a[4];
	char *m;

	inet_pton(AF_INET, "198.18.1.2", a);
	trace_added(t, "a.test", "a.test", 1000);
	trace_note(t, "a.test", AF_INET, a, 1, TR_ANSWERED, NULL, 1750500);
	trace_note(t, "a.test", AF_INET, a, 1, TR_FAILED, "timeout", 1750600);
	/* never pending: no series of its own */
	trace_note(t, "x\\\"y", AF_INET, a, 1, TR_NOT_PENDING, NULL, 1750700);
	m = metrics_text(&in);
	if (!ASSERT_TRUE(m != NULL))
		return;
	ASSERT_TRUE(strstr(m, "# TYPE alpnsteer_steered_total counter\n"
			      "alpnsteer_steered_total 7\n") != NULL);
	ASSERT_TRUE(strstr(m, "alpnsteer_trace_dropped_total 2\n") != NULL);
	ASSERT_TRUE(strstr(m, "alpnsteer_attached 1\n") != NULL);
	ASSERT_TRUE(strstr(m, "alpnsteer_state{state=\"attached\"} 1\n") !=
		    NULL);
	ASSERT_TRUE(strstr(m, "alpnsteer_state{state=\"detached\"} 0\n") !=
		    NULL);
	ASSERT_TRUE(strstr(m, "alpnsteer_pending_challenges 2\n") != NULL);
	ASSERT_TRUE(strstr(m, "alpnsteer_pool_slots{kind=\"busy\"} 1\n") !=
		    NULL);
	ASSERT_TRUE(
		strstr(m,
		       "alpnsteer_validation_answered_total{identifier=\"a.test\"} 1\n") !=
		NULL);
	ASSERT_TRUE(
		strstr(m,
		       "alpnsteer_validation_failed_total{identifier=\"a.test\"} 1\n") !=
		NULL);
	ASSERT_TRUE(
		strstr(m,
		       "alpnsteer_validation_last_answered_timestamp_seconds{identifier=\"a.test\"} 1750.500\n") !=
		NULL);
	ASSERT_TRUE(
		strstr(m,
		       "alpnsteer_last_answered_timestamp_seconds 1750.500\n") !=
		NULL);
	ASSERT_TRUE(strstr(m, "x\\") == NULL);
	free(m);

	/* Detached: no counters, nothing pending. */
	in.state = "detached";
	in.counters = NULL;
	in.pending = 0;
	in.conns = in.pool_busy = -1;
	m = metrics_text(&in);
	ASSERT_TRUE(strstr(m, "alpnsteer_attached 0\n") != NULL);
	ASSERT_TRUE(strstr(m, "_steered_total") == NULL);
	ASSERT_TRUE(strstr(m, "alpnsteer_pool_slots") == NULL);
	free(m);
	trace_free(t);
}

TEST(atomic_write)
{
	char dir[] = "/tmp/alpnsteer-metrics.XXXXXX", path[128], tmp[140],
	     victim[128], buf[64];
	struct stat st;
	int fd;
	ssize_t n;

	if (!ASSERT_TRUE(mkdtemp(dir) != NULL))
		return;
	snprintf(path, sizeof(path), "%s/a.prom", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	fd = open(victim, O_WRONLY | O_CREAT, 0600);
	close(fd);
	/* Someone plants PATH.tmp as a symlink: it is removed, not
	 * followed. */
	ASSERT_EQ(symlink(victim, tmp), 0);
	ASSERT_EQ(metrics_write(path, "a 1\n"), 0);
	ASSERT_EQ(stat(victim, &st), 0);
	ASSERT_EQ(st.st_size, 0);
	ASSERT_TRUE(lstat(tmp, &st) && errno == ENOENT);
	fd = open(path, O_RDONLY);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	ASSERT_STREQ(buf, "a 1\n");
	/* Again: replaced whole. */
	ASSERT_EQ(metrics_write(path, "b 2\n"), 0);
	fd = open(path, O_RDONLY);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	ASSERT_STREQ(buf, "b 2\n");
	/* A directory that is not there: an error, nothing made. */
	snprintf(path, sizeof(path), "%s/no/a.prom", dir);
	ASSERT_EQ(metrics_write(path, "c 3\n"), -ENOENT);
	snprintf(path, sizeof(path), "%s/a.prom", dir);
	unlink(path);
	unlink(victim);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	return tl_run_all(argc, argv);
}
