// SPDX-License-Identifier: GPL-2.0-only
/*
 * msandbox.c - the monitor's seccomp filter (docs/design.md, "The
 * monitor").
 *
 * The monitor holds every map, the pool and the challenges, and reads
 * what the worker, the control socket's clients and the ring buffer say:
 * after its set-up (programs loaded and linked, pool, control socket,
 * --alpn-dir watch, privileges dropped) it needs few system calls, and a
 * bug in that code should not get more.  Default action
 * SECCOMP_RET_KILL_PROCESS, as the worker's (user/worker/sandbox.c): a
 * monitor that makes another call is broken or taken over; its death
 * takes its slots with it, so acme-tls/1 hellos fail open to the
 * webserver and normal traffic is untouched (its keeper drains the rest).
 *
 * The list is what strace showed of the monitor's loop through
 * validations, a worker's death and restart, control requests of every
 * kind, handshake timeouts, an expiry and a drain (glibc 2.36, OpenSSL
 * 3.0, libbpf 1.1), plus what its code may do under other timing.  The
 * filter is inherited by the TLS worker, which the monitor forks and
 * execs (a clean image: no key authorization in its memory), so the
 * list also holds what the worker's start needs until its own, narrower
 * filter is loaded on top: the dynamic loader (openat, pread64, mmap and
 * mprotect with PROT_EXEC for the libraries' text, arch_prctl, rseq,
 * set_tid_address, set_robust_list) and the worker's own confinement
 * (prctl, capset, prlimit64, seccomp, close_range).  Those are calls the
 * monitor could make too; what this filter takes away from both is the
 * rest: no new program or map (bpf is limited to map operations and the
 * drain's detach), no exec but of the binary it opened as root, no
 * fork but a plain one, no namespaces, no ptrace, no netlink or packet
 * sockets, no file created, no mount, no keyring, no io_uring.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <linux/bpf.h>
#include <seccomp.h>

#include "msandbox.h"

/* Calls allowed whatever their arguments: why, one group a line. */
static const int mon_allowed[] = {
	/* the loop: slot sockets, the control socket, the worker's socket,
	 * signalfd, timerfd, inotify, the log (its stderr) */
	SCMP_SYS(read),
	SCMP_SYS(write),
	SCMP_SYS(close),
	SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait),
	SCMP_SYS(epoll_ctl),
	/* control clients (accept4, SO_PEERCRED/SO_PEERGROUPS), slot pairs
	 * made as the pool grows (connect to its loopback listener, accept4,
	 * TCP_NODELAY, getsockname for the slot's port), --forward's
	 * upstream connects, control replies and requests, the worker's
	 * messages with SCM_RIGHTS */
	SCMP_SYS(accept4),
	SCMP_SYS(connect),
	SCMP_SYS(getsockname),
	SCMP_SYS(getpeername),
	SCMP_SYS(setsockopt),
	SCMP_SYS(getsockopt),
	SCMP_SYS(shutdown),
	SCMP_SYS(sendto),
	SCMP_SYS(recvfrom),
	SCMP_SYS(sendmsg),
	SCMP_SYS(recvmsg),
	/* non-blocking descriptors (F_GETFL/F_SETFL), libbpf's dups, the
	 * worker's child putting its socket on fd 3 before its exec */
	SCMP_SYS(fcntl),
	SCMP_SYS(dup2),
	SCMP_SYS(dup3),
	/* --alpn-dir files are fstat'd once open; the log's size; the log
	 * cut back at its bound (user/lib/log.c) */
	SCMP_SYS(fstat),
	SCMP_SYS(newfstatat),
	SCMP_SYS(lseek),
	SCMP_SYS(ftruncate),
	/* --alpn-dir: the directory read again as inotify says it changed */
	SCMP_SYS(getdents64),
	/* malloc, libbpf's ring buffer (munmap at the end), OpenSSL; with
	 * PROT_EXEC for the worker's libraries between its exec and its
	 * own filter, which forbids it */
	SCMP_SYS(brk),
	SCMP_SYS(mmap),
	SCMP_SYS(munmap),
	SCMP_SYS(mremap),
	SCMP_SYS(madvise),
	SCMP_SYS(mprotect),
	/* glibc and OpenSSL locks, clocks (vDSO fallbacks), sleeps */
	SCMP_SYS(futex),
	SCMP_SYS(clock_gettime),
	SCMP_SYS(gettimeofday),
	SCMP_SYS(clock_nanosleep),
	SCMP_SYS(nanosleep),
	SCMP_SYS(getrandom),
	/* who we are (OpenSSL's fork check, the worker's parent check) */
	SCMP_SYS(getpid),
	SCMP_SYS(getppid),
	SCMP_SYS(gettid),
	SCMP_SYS(getuid),
	SCMP_SYS(geteuid),
	SCMP_SYS(getgid),
	SCMP_SYS(getegid),
	SCMP_SYS(uname),
	SCMP_SYS(sysinfo),
	/* reaping the worker; signals (SIGCHLD, SIGTERM come by signalfd;
	 * the worker's child unblocks them before its exec) */
	SCMP_SYS(wait4),
	SCMP_SYS(waitid),
	SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigaction),
	SCMP_SYS(rt_sigreturn),
	SCMP_SYS(exit),
	SCMP_SYS(exit_group),
	/* the drain's end: the monitor tries to remove the control socket
	 * and the pins (refused, EACCES, unless --user root: the keeper
	 * removes them) */
	SCMP_SYS(unlink),
	SCMP_SYS(unlinkat),
	SCMP_SYS(rmdir),
	/* the worker's start under this filter: the dynamic loader, then
	 * its confinement (only ever narrower: capabilities dropped, limits
	 * lowered, a filter added, descriptors closed) */
	SCMP_SYS(pread64),
	SCMP_SYS(access),
	SCMP_SYS(faccessat),
	SCMP_SYS(faccessat2),
	SCMP_SYS(arch_prctl),
	SCMP_SYS(set_tid_address),
	SCMP_SYS(set_robust_list),
	SCMP_SYS(rseq),
	SCMP_SYS(prlimit64),
	SCMP_SYS(capget),
	SCMP_SYS(capset),
	SCMP_SYS(seccomp),
	SCMP_SYS(close_range),
	SCMP_SYS(epoll_create1),
};

/* The bpf() commands of a loaded attachment: map operations (the queue's
 * pop is LOOKUP_AND_DELETE), pins found again at the drain (OBJ_GET),
 * and the links or legacy programs it detaches when drained. */
static const int mon_bpf_cmds[] = {
	BPF_MAP_LOOKUP_ELEM,
	BPF_MAP_UPDATE_ELEM,
	BPF_MAP_DELETE_ELEM,
	BPF_MAP_GET_NEXT_KEY,
	BPF_MAP_LOOKUP_AND_DELETE_ELEM,
	BPF_OBJ_GET,
	BPF_OBJ_GET_INFO_BY_FD,
	BPF_LINK_DETACH,
	BPF_PROG_DETACH,
	BPF_PROG_QUERY,
};

/* prctl options: the worker's child (PR_SET_PDEATHSIG) and the worker's
 * confinement after its exec; nothing that widens anything. */
static const int mon_prctl[] = {
	PR_SET_PDEATHSIG, PR_GET_PDEATHSIG,    PR_CAPBSET_READ,
	PR_CAPBSET_DROP,  PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS,
	PR_SET_DUMPABLE,  PR_GET_DUMPABLE,     PR_CAP_AMBIENT,
	PR_SET_NAME,	  PR_GET_NAME,
};

int monitor_sandbox(int exe_fd, int metrics_dfd)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	unsigned int i;
	int err = 0;

	if (!ctx)
		return -ENOMEM;
	for (i = 0; !err && i < sizeof(mon_allowed) / sizeof(mon_allowed[0]);
	     i++)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, mon_allowed[i], 0);
	for (i = 0; !err && i < sizeof(mon_bpf_cmds) / sizeof(mon_bpf_cmds[0]);
	     i++)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(bpf), 1,
				       SCMP_A0(SCMP_CMP_EQ, mon_bpf_cmds[i]));
	for (i = 0; !err && i < sizeof(mon_prctl) / sizeof(mon_prctl[0]); i++)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				       SCMP_A0(SCMP_CMP_EQ, mon_prctl[i]));
	/* Files are read, never created or truncated by name: --alpn-dir
	 * (O_NOFOLLOW), /etc/localtime and OpenSSL's configuration once,
	 * /dev/null, and the worker's libraries. */
	err = err   ?:
		      seccomp_rule_add(
			      ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
			      SCMP_A2(SCMP_CMP_MASKED_EQ,
				      O_CREAT | O_TRUNC |
					      (O_TMPFILE & ~O_DIRECTORY),
				      0));
	/* --metrics-file: created (O_EXCL, O_NOFOLLOW), then renamed over the
	 * last one, in its directory only, opened before this filter
	 * (dtrace_prepare()). */
	if (metrics_dfd >= 0) {
		err = err   ?:
			      seccomp_rule_add(
				      ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
				      SCMP_A0(SCMP_CMP_EQ, metrics_dfd));
		err = err   ?:
			      seccomp_rule_add(
				      ctx, SCMP_ACT_ALLOW, SCMP_SYS(renameat),
				      2, SCMP_A0(SCMP_CMP_EQ, metrics_dfd),
				      SCMP_A2(SCMP_CMP_EQ, metrics_dfd));
		err = err   ?:
			      seccomp_rule_add(
				      ctx, SCMP_ACT_ALLOW, SCMP_SYS(renameat2),
				      2, SCMP_A0(SCMP_CMP_EQ, metrics_dfd),
				      SCMP_A2(SCMP_CMP_EQ, metrics_dfd));
	}
	/* Slot pairs and --forward upstreams are TCP over IPv4 or IPv6; the
	 * worker's socket a unix pair.  No netlink, packet or raw socket. */
	err = err   ?:
		      seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				       SCMP_A0(SCMP_CMP_EQ, AF_INET));
	err = err   ?:
		      seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				       SCMP_A0(SCMP_CMP_EQ, AF_INET6));
	err = err   ?:
		      seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
				       SCMP_SYS(socketpair), 1,
				       SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	/* The worker's fork, glibc's fork() exactly: no thread, no
	 * namespace (an unprivileged user namespace would give the child
	 * every capability there).  clone3 cannot be checked (its flags are
	 * in memory): ENOSYS, on which glibc falls back to clone. */
	err = err   ?:
		      seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				       SCMP_A0(SCMP_CMP_EQ,
					       CLONE_CHILD_CLEARTID |
						       CLONE_CHILD_SETTID |
						       SIGCHLD));
	err = err   ?:
		      seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
				       SCMP_SYS(clone3), 0);
	/* The worker's exec: of the binary opened as root, nothing else. */
	err = err   ?:
		      seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(execveat),
				       2, SCMP_A0(SCMP_CMP_EQ, exe_fd),
				       SCMP_A4(SCMP_CMP_EQ, AT_EMPTY_PATH));
	/* The worker (SIGKILL), and itself (SIGTERM: its keeper gone). */
	err = err   ?:
		      seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
				       SCMP_A1(SCMP_CMP_EQ, SIGKILL));
	err = err   ?:
		      seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
				       SCMP_A1(SCMP_CMP_EQ, SIGTERM));
	err = err ?: seccomp_load(ctx);
	seccomp_release(ctx);
	return err;
}
