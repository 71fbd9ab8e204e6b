// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_sandbox.c - the TLS worker's real seccomp filter and limits
 * (user/sandbox.c), applied in a forked child that then tries one thing:
 * what the worker's loop does must pass, the rest must kill it (SIGSYS)
 * or fail (memory past its bound).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "testlib.h"
#include "trychild.h"
#include "sandbox.h"

enum try {
	T_MALLOC, /* what malloc does: must pass */
	T_MMAP_EXEC,
	T_MMAP_SHARED,
	T_MMAP_FILE,
	T_SEND_OK, /* the relay's send(MSG_NOSIGNAL | MSG_DONTWAIT) */
	T_SEND_OOB,
	T_SENDTO_ADDR,
	T_RECV_PEEK, /* proxy.c's peek */
	T_RECV_WAITALL,
	T_SOCKOPT_ERROR, /* the relay's SO_ERROR */
	T_SOCKOPT_OTHER,
	T_HUGE_ALLOC,
};

/* Exit status: 0 done, 3 refused with an error; or killed by a signal. */
static int child(int t)
{
	int sv[2], mfd, v = 0;
	socklen_t l = sizeof(v);
	char b[8] = "x";
	void *p;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return 9;
	mfd = syscall(SYS_memfd_create, "t", 0);
	if (mfd < 0 || ftruncate(mfd, 4096))
		return 9;
	if (sandbox_worker(sv[0], 64))
		return 8;
	switch ((enum try)t) {
	case T_MALLOC:
		p = malloc(4 << 20); /* past the mmap threshold */
		return p && memset(p, 1, 4 << 20) ? 0 : 3;
	case T_MMAP_EXEC:
		p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return p == MAP_FAILED ? 3 : 0;
	case T_MMAP_SHARED:
		p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mfd,
			 0);
		return p == MAP_FAILED ? 3 : 0;
	case T_MMAP_FILE:
		p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, mfd, 0);
		return p == MAP_FAILED ? 3 : 0;
	case T_SEND_OK:
		return send(sv[1], b, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1 ? 0 :
									     3;
	case T_SEND_OOB:
		return send(sv[1], b, 1, MSG_OOB) < 0 ? 3 : 0;
	case T_SENDTO_ADDR: {
		struct sockaddr sa = { .sa_family = AF_UNIX };

		return sendto(sv[1], b, 1, MSG_NOSIGNAL, &sa, sizeof(sa)) < 0 ?
			       3 :
			       0;
	}
	case T_RECV_PEEK:
		send(sv[1], b, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		return recv(sv[0], b, 1, MSG_PEEK | MSG_DONTWAIT) == 1 ? 0 : 3;
	case T_RECV_WAITALL:
		send(sv[1], b, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		return recv(sv[0], b, 1, MSG_WAITALL | MSG_DONTWAIT) < 0 ? 3 :
									   0;
	case T_SOCKOPT_ERROR:
		return getsockopt(sv[1], SOL_SOCKET, SO_ERROR, &v, &l) ? 3 : 0;
	case T_SOCKOPT_OTHER:
		return getsockopt(sv[1], SOL_SOCKET, SO_PEERCRED, b, &l) ? 3 :
									   0;
	case T_HUGE_ALLOC:
		p = malloc(1UL << 30);
		return p ? 0 : 3;
	}
	return 9;
}

static const char *run(enum try t)
{
	return try_in_child(child, t);
}

TEST(what_the_worker_does_passes)
{
	ASSERT_STREQ(run(T_MALLOC), "ok");
	ASSERT_STREQ(run(T_SEND_OK), "ok");
	ASSERT_STREQ(run(T_RECV_PEEK), "ok");
	ASSERT_STREQ(run(T_SOCKOPT_ERROR), "ok");
}

/* Issue 20, point 14: the arguments are narrowed too. */
TEST(executable_or_shared_memory_kills)
{
	ASSERT_STREQ(run(T_MMAP_EXEC), "killed:31");
	ASSERT_STREQ(run(T_MMAP_SHARED), "killed:31");
	ASSERT_STREQ(run(T_MMAP_FILE), "killed:31");
}

TEST(other_flags_and_options_kill)
{
	ASSERT_STREQ(run(T_SEND_OOB), "killed:31");
	ASSERT_STREQ(run(T_SENDTO_ADDR), "killed:31");
	ASSERT_STREQ(run(T_RECV_WAITALL), "killed:31");
	ASSERT_STREQ(run(T_SOCKOPT_OTHER), "killed:31");
}

TEST(memory_is_bounded)
{
	ASSERT_STREQ(run(T_HUGE_ALLOC), "refused");
}

TEST_MAIN()
