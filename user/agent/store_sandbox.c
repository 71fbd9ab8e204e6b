// SPDX-License-Identifier: GPL-2.0-only
/*
 * store_sandbox.c - the store watcher's confinement (docs/design.md,
 * "The store watcher").
 *
 * The watcher parses what a network peer sends (etcd's JSON gateway,
 * through libcurl, OpenSSL and json-c), and any tenant of the store
 * chooses part of it.  It used to run as root with every capability, as
 * the agent does.  What it needs once started is its pipe to the agent,
 * its credentials (read into memory first) and outgoing connections:
 * so it becomes the daemon's unprivileged user with no capability
 * (privdrop(), as the monitor does), and loads an allow-list of the
 * system calls libcurl, OpenSSL and glibc's resolver make.  As the TLS
 * worker's, the default action kills the process: a watcher that makes
 * another call is broken or taken over, and the agent starts a new one.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <seccomp.h>

#include "log.h"
#include "privdrop.h"
#include "store_sandbox.h"

/* Its buffers are bounded (store_etcd.c): a few MiB at most.  This
 * bounds the rest (a parser's or a library's bug) well below the host's. */
#define STORE_WATCHER_DATA_MAX (128UL << 20)

/*
 * What the watcher calls, from strace of it listing, watching and
 * reconnecting over TLS (libcurl 7.88, OpenSSL 3.0, glibc 2.36), and what
 * glibc's resolver calls for a host name in --store (its files, then
 * DNS over UDP, in a thread of libcurl's).
 */
static const int allowed[] = {
	/* the pipe to the agent, the connections, the log on stderr */
	SCMP_SYS(read),
	SCMP_SYS(write),
	SCMP_SYS(close),
	SCMP_SYS(connect),
	SCMP_SYS(sendto),
	SCMP_SYS(recvfrom),
	SCMP_SYS(sendmsg),
	SCMP_SYS(recvmsg),
	SCMP_SYS(sendmmsg),
	SCMP_SYS(bind),
	SCMP_SYS(getsockname),
	SCMP_SYS(getpeername),
	SCMP_SYS(setsockopt),
	SCMP_SYS(getsockopt),
	SCMP_SYS(shutdown),
	SCMP_SYS(fcntl),
	SCMP_SYS(poll),
	SCMP_SYS(ppoll),
	SCMP_SYS(pipe2),
	SCMP_SYS(eventfd2),
	/* resolver and CA files (read-only: below), stdio */
	SCMP_SYS(fstat),
	SCMP_SYS(newfstatat),
	SCMP_SYS(lseek),
	SCMP_SYS(getdents64),
	SCMP_SYS(uname),
	/* time, its backoff */
	SCMP_SYS(clock_gettime),
	SCMP_SYS(gettimeofday),
	SCMP_SYS(nanosleep),
	SCMP_SYS(clock_nanosleep),
	/* memory: malloc, and libcurl's resolver thread's stack */
	SCMP_SYS(brk),
	SCMP_SYS(munmap),
	SCMP_SYS(mremap),
	SCMP_SYS(madvise),
	/* OpenSSL's DRBG; its fork check; libcurl's SIGPIPE guard */
	SCMP_SYS(getrandom),
	SCMP_SYS(getpid),
	SCMP_SYS(gettid),
	SCMP_SYS(rt_sigaction),
	SCMP_SYS(rt_sigprocmask),
	/* the resolver thread */
	SCMP_SYS(futex),
	SCMP_SYS(set_robust_list),
	SCMP_SYS(rseq),
	SCMP_SYS(sched_yield),
	SCMP_SYS(sched_getaffinity),
	SCMP_SYS(exit_group),
	SCMP_SYS(exit),
	SCMP_SYS(rt_sigreturn),
	SCMP_SYS(restart_syscall),
};

static int add_rules(scmp_filter_ctx ctx)
{
	static const int families[] = { AF_INET, AF_INET6, AF_UNIX,
					AF_NETLINK };
	unsigned int i;
	int err = 0;

	for (i = 0; !err && i < sizeof(allowed) / sizeof(allowed[0]); i++)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	/* Sockets: TCP to the store, UDP and netlink for the resolver,
	 * AF_UNIX for libcurl's wake-up pair (and nscd). */
	for (i = 0; !err && i < sizeof(families) / sizeof(families[0]); i++) {
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				       SCMP_A0(SCMP_CMP_EQ, families[i]));
		err = err   ?:
			      seccomp_rule_add(
				      ctx, SCMP_ACT_ALLOW, SCMP_SYS(socketpair),
				      1, SCMP_A0(SCMP_CMP_EQ, families[i]));
	}
	/* Files only to read (resolv.conf, hosts, the system's CAs): it
	 * writes none, and as its user it reads nothing others cannot. */
	err = err   ?:
		      seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
				       SCMP_A2(SCMP_CMP_MASKED_EQ,
					       O_ACCMODE | O_CREAT | O_TRUNC |
						       O_APPEND,
					       O_RDONLY));
	/* Memory never executable: no code of its own to write and run. */
	err = err   ?:
		      seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				       SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC,
					       0));
	err = err   ?:
		      seccomp_rule_add(
			      ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
			      SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	/* A thread (libcurl's resolver), never a process; clone3's flags
	 * are behind a pointer, so glibc is told it has none and uses
	 * clone. */
	err = err   ?:
		      seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				       SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD,
					       CLONE_THREAD));
	err = err   ?:
		      seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
				       SCMP_SYS(clone3), 0);
	return err;
}

int store_confine(const char *user)
{
	struct rlimit r = { STORE_WATCHER_DATA_MAX, STORE_WATCHER_DATA_MAX };
	struct rlimit zero = { 0, 0 };
	scmp_filter_ctx ctx;
	int err;

	err = privdrop(user, false, NULL);
	if (err) {
		p_err("store watcher: cannot become user %s: %s", user,
		      strerror(-err));
		return err;
	}
	if (setrlimit(RLIMIT_DATA, &r) || setrlimit(RLIMIT_FSIZE, &zero) ||
	    setrlimit(RLIMIT_CORE, &zero)) {
		err = -errno;
		p_err("store watcher: cannot set its limits: %s",
		      strerror(errno));
		return err;
	}
	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return -ENOMEM;
	err = add_rules(ctx);
	err = err ?: seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
	err = err ?: seccomp_load(ctx);
	seccomp_release(ctx);
	if (err)
		p_err("store watcher: cannot load its seccomp filter: %s",
		      strerror(-err));
	return err;
}
