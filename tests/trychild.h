/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * trychild.h - one try of a seccomp filter, in a child of its own, for
 * test_sandbox.c and test_msandbox.c: the child returns 0 when the call
 * went through, 3 when it was refused with an error (anything else: its
 * set-up failed), or is killed by the filter.
 */
#ifndef ALPNSTEER_TRYCHILD_H
#define ALPNSTEER_TRYCHILD_H

#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>

/* "ok", "refused", "setup failed" or "killed:N" for @child(@t). */
static inline const char *try_in_child(int (*child)(int), int t)
{
	static char out[32];
	int st;
	pid_t pid = fork();

	if (pid == 0)
		_exit(child(t));
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return "fork";
	if (WIFSIGNALED(st))
		snprintf(out, sizeof(out), "killed:%d", WTERMSIG(st));
	else
		snprintf(out, sizeof(out), "%s",
			 WEXITSTATUS(st) == 0 ? "ok" :
			 WEXITSTATUS(st) == 3 ? "refused" :
						"setup failed");
	return out;
}

#endif
