// SPDX-License-Identifier: GPL-2.0-only
/*
 * sandbox.c - the TLS worker's confinement (docs/design.md, "Privilege
 * separation").
 *
 * The worker parses TLS from anyone on the Internet.  Whatever a bug in
 * that code gives an attacker, it should be worth nothing: no capability
 * in any set and none left to gain (empty bounding set, no_new_privs), no
 * ptrace or core dump of it, no descriptor but its own, and a seccomp
 * allow-list of the system calls its loop makes.  The default action is
 * SECCOMP_RET_KILL_PROCESS, not an errno: a worker that makes any other
 * call is either broken or taken over, and in both cases it must go (the
 * monitor logs the SIGSYS and starts a new one), rather than be let to
 * probe the kernel call by call for what fails how.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <linux/futex.h>
#include <seccomp.h>

#include "sandbox.h"

#define SANDBOX_WORKER_DATA_MAX (256UL << 20)

static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int n = CAP_LAST_CAP;

	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = CAP_LAST_CAP;
		fclose(f);
	}
	return n;
}

int sandbox_drop_bounding(void)
{
	int cap, last = last_cap();

	for (cap = 0; cap <= last; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) <= 0)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0))
			return -errno;
	}
	return 0;
}

static int drop_all_caps(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2] = {};

	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

static int set_limit(int res, rlim_t n)
{
	struct rlimit r = { n, n };

	return setrlimit(res, &r) ? -errno : 0;
}

/*
 * What the worker's loop calls, checked with strace on the handshakes and
 * relays of the selftests (OpenSSL 3.0, glibc 2.36); each line of
 * docs/design.md's table says why.
 */
static const int allowed[] = {
	/* the slot sockets (OpenSSL's socket BIO, the relay) */
	SCMP_SYS(read),
	SCMP_SYS(write),
	SCMP_SYS(close),
	/* the relay: has the monitor's connect completed */
	SCMP_SYS(getpeername),
	/* the loop */
	SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait),
	SCMP_SYS(epoll_ctl),
	/* time, when the vDSO falls back to the kernel */
	SCMP_SYS(clock_gettime),
	SCMP_SYS(gettimeofday),
	/* malloc; madvise also once before the loop (ldpages.c) */
	SCMP_SYS(brk),
	SCMP_SYS(munmap),
	SCMP_SYS(mremap),
	SCMP_SYS(madvise),
	/* OpenSSL's DRBG: its reseeds, and its fork check */
	SCMP_SYS(getrandom),
	SCMP_SYS(getpid),
	SCMP_SYS(exit_group),
	SCMP_SYS(exit),
	SCMP_SYS(rt_sigreturn),
};

static int load_filter(int ipc_fd)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	unsigned int i;
	int err = 0;

	if (!ctx)
		return -ENOMEM;
	for (i = 0; !err && i < sizeof(allowed) / sizeof(allowed[0]); i++)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	/* Descriptors come and go on the monitor's socket only. */
	err = err   ?:
		      seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(recvmsg),
				       1, SCMP_A0(SCMP_CMP_EQ, ipc_fd));
	err = err   ?:
		      seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sendmsg),
				       1, SCMP_A0(SCMP_CMP_EQ, ipc_fd));
	/* Arguments narrowed to what the loop passes (issue 20): malloc's
	 * anonymous private memory, never executable (no code of its own to
	 * write and run) nor shared (a MAP_SHARED mapping of a descriptor it
	 * holds wrote to a file past RLIMIT_FSIZE 0), nor of a file. */
	err = err   ?:
		      seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 2,
				       SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC,
					       0),
				       SCMP_A3(SCMP_CMP_MASKED_EQ,
					       MAP_SHARED | MAP_ANONYMOUS,
					       MAP_ANONYMOUS));
	/* The relay's send(MSG_NOSIGNAL | MSG_DONTWAIT), to no address. */
	err = err   ?:
		      seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sendto), 2,
				       SCMP_A3(SCMP_CMP_MASKED_EQ,
					       ~(scmp_datum_t)(MSG_NOSIGNAL |
							       MSG_DONTWAIT),
					       0),
				       SCMP_A4(SCMP_CMP_EQ, 0));
	/* --proxy-protocol: the header peeked at, then taken (proxy.c). */
	err = err   ?:
		      seccomp_rule_add(
			      ctx, SCMP_ACT_ALLOW, SCMP_SYS(recvfrom), 1,
			      SCMP_A3(SCMP_CMP_MASKED_EQ,
				      ~(scmp_datum_t)(MSG_PEEK | MSG_DONTWAIT),
				      0));
	/* pthread_once() wakes its waiters when an initialisation ends,
	 * and OpenSSL initialises some parts on first use (a cipher, a
	 * group): in a worker exec'd clean that first use may come after
	 * the filter.  A private wake, of threads it does not have, and no
	 * wait (one thread: nothing to wait for). */
	err = err   ?:
		      seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(futex), 1,
				       SCMP_A1(SCMP_CMP_EQ,
					       FUTEX_WAKE |
						       FUTEX_PRIVATE_FLAG));
	/* The relay's SO_ERROR, and no other option. */
	err = err   ?:
		      seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
				       SCMP_SYS(getsockopt), 2,
				       SCMP_A1(SCMP_CMP_EQ, SOL_SOCKET),
				       SCMP_A2(SCMP_CMP_EQ, SO_ERROR));
	/* Already set, but the filter needs it said (or CAP_SYS_ADMIN). */
	err = err ?: seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
	err = err ?: seccomp_load(ctx);
	seccomp_release(ctx);
	return err;
}

int sandbox_worker(int ipc_fd, unsigned int nofile)
{
	int err;

	/* While the bounding set can still be emptied: a worker forked by a
	 * monitor that already gave it up finds it empty. */
	err = sandbox_drop_bounding();
	if (err && err != -EPERM)
		return err;
	err = drop_all_caps();
	if (err)
		return err;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
		return -errno;
	err = set_limit(RLIMIT_NOFILE, nofile);
	err = err ?: set_limit(RLIMIT_FSIZE, 0);
	err = err ?: set_limit(RLIMIT_CORE, 0);
	err = err ?: set_limit(RLIMIT_MEMLOCK, 0);
	/* Its memory bounded (brk and private mappings): some 50 KiB per
	 * handshake in flight and a few KiB per pending name's context,
	 * well under this at the maps' 1,024 of each. */
	err = err ?: set_limit(RLIMIT_DATA, SANDBOX_WORKER_DATA_MAX);
	/* A non-root worker cannot fork at all; seccomp refuses it anyway. */
	err = err ?: set_limit(RLIMIT_NPROC, 0);
	if (err)
		return err;
	return load_filter(ipc_fd);
}
