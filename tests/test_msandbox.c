// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_msandbox.c - the monitor's real seccomp filter (user/monitor/
 * msandbox.c), loaded in a child per try: what the monitor's loop and
 * its worker's fork and exec do passes; making a BPF program, a netlink
 * socket, a file, a user namespace, an exec of anything else or a
 * ptrace kills it (SIGSYS).  No root.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/bpf.h>

#include "testlib.h"
#include "trychild.h"
#include "metrics.h"
#include "msandbox.h"

#define EXE_FD 100

/* --metrics-file's directory, made by the parent for each try */
static char metrics_dir[] = "/tmp/alpnsteer-msandbox.XXXXXX";

enum try {
	T_LOOP, /* malloc, a TCP socket, a file read, a fork: must pass */
	T_EXEC_OWN, /* execveat of the descriptor it was given: passes */
	T_BPF_PROG_LOAD,
	T_NETLINK,
	T_CREATE,
	T_USERNS,
	T_CLONE_NEWUSER,
	T_EXECVE,
	T_PTRACE,
	T_METRICS, /* --metrics-file, in its directory: passes */
	T_METRICS_ELSEWHERE, /* a file created beside it: kills */
};

/* Exit status: 0 done, 3 refused with an error; or killed by a signal. */
static int child(int t)
{
	union bpf_attr attr;
	char *argv[] = { "true", NULL };
	char path[64];
	const char *name;
	int fd, st, dfd;
	void *p;
	pid_t pid;

	fd = open("/bin/true", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || dup2(fd, EXE_FD) < 0)
		return 8;
	snprintf(path, sizeof(path), "%s/alpnsteer.prom", metrics_dir);
	/* (made only for the metrics tries) */
	dfd = metrics_dir_open(path, &name);
	if (dfd < 0 && t >= T_METRICS)
		return 8;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    monitor_sandbox(EXE_FD, dfd < 0 ? -1 : dfd))
		return 8;
	switch ((enum try)t) {
	case T_LOOP:
		p = malloc(4 << 20);
		if (!p || !memset(p, 1, 4 << 20))
			return 3;
		fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return 3;
		close(fd);
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return 3;
		close(fd);
		pid = fork();
		if (pid == 0)
			_exit(0);
		return pid > 0 && waitpid(pid, &st, 0) == pid && !st ? 0 : 3;
	case T_EXEC_OWN:
		syscall(SYS_execveat, EXE_FD, "", argv, NULL, AT_EMPTY_PATH);
		return 3;
	case T_BPF_PROG_LOAD:
		memset(&attr, 0, sizeof(attr));
		return syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr)) <
				       0 ?
			       3 :
			       0;
	case T_NETLINK:
		return socket(AF_NETLINK, SOCK_RAW, 0) < 0 ? 3 : 0;
	case T_CREATE:
		return open("/tmp/alpnsteer-msandbox-test",
			    O_CREAT | O_WRONLY | O_CLOEXEC, 0600) < 0 ?
			       3 :
			       0;
	case T_USERNS:
		return unshare(CLONE_NEWUSER) ? 3 : 0;
	case T_CLONE_NEWUSER:
		pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
		if (pid == 0)
			_exit(0);
		return pid < 0 ? 3 : 0;
	case T_EXECVE:
		execve("/bin/true", argv, NULL);
		return 3;
	case T_PTRACE:
		return ptrace(PTRACE_TRACEME, 0, 0, 0) ? 3 : 0;
	case T_METRICS:
		return metrics_write_at(dfd, name, "alpnsteer_attached 1\n") ?
			       3 :
			       0;
	case T_METRICS_ELSEWHERE:
		snprintf(path, sizeof(path), "%s.other", metrics_dir);
		return open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC,
			    0600) < 0 ?
			       3 :
			       0;
	}
	return 9;
}

static const char *run(enum try t)
{
	return try_in_child(child, t);
}

TEST(what_the_monitor_does_passes)
{
	ASSERT_STREQ(run(T_LOOP), "ok");
	ASSERT_STREQ(run(T_EXEC_OWN), "ok");
}

TEST(new_programs_sockets_files_and_namespaces_kill)
{
	ASSERT_STREQ(run(T_BPF_PROG_LOAD), "killed:31");
	ASSERT_STREQ(run(T_NETLINK), "killed:31");
	ASSERT_STREQ(run(T_CREATE), "killed:31");
	ASSERT_STREQ(run(T_USERNS), "killed:31");
	ASSERT_STREQ(run(T_CLONE_NEWUSER), "killed:31");
}

/* The filter lets the monitor create --metrics-file's temporary file and
 * rename it, in the directory opened before it only. */
TEST(metrics_file_in_its_directory_only)
{
	char path[64];
	FILE *f;
	char line[64] = "";

	ASSERT_TRUE(mkdtemp(metrics_dir) != NULL);
	ASSERT_STREQ(run(T_METRICS), "ok");
	snprintf(path, sizeof(path), "%s/alpnsteer.prom", metrics_dir);
	f = fopen(path, "r");
	ASSERT_TRUE(f != NULL);
	ASSERT_TRUE(fgets(line, sizeof(line), f) != NULL);
	fclose(f);
	ASSERT_STREQ(line, "alpnsteer_attached 1\n");
	ASSERT_STREQ(run(T_METRICS_ELSEWHERE), "killed:31");
	unlink(path);
	rmdir(metrics_dir);
}

TEST(exec_of_anything_else_and_ptrace_kill)
{
	ASSERT_STREQ(run(T_EXECVE), "killed:31");
	ASSERT_STREQ(run(T_PTRACE), "killed:31");
}

TEST_MAIN()
