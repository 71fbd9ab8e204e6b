// SPDX-License-Identifier: GPL-2.0-only
/*
 * fdutil.c - descriptors a new process must not inherit: the keeper, the
 * daemon and the store's watcher each start with only their own.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "fdutil.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : x > y;
}

void fd_close_except(const int *keep, int n)
{
	int sorted[16], i, lo = 3;

	if (n > 16)
		n = 16;
	memcpy(sorted, keep, n * sizeof(int));
	qsort(sorted, n, sizeof(*sorted), cmp_int);
	for (i = 0; i < n; i++) {
		if (sorted[i] < lo)
			continue;
		if (sorted[i] > lo)
			syscall(SYS_close_range, lo, sorted[i] - 1, 0);
		lo = sorted[i] + 1;
	}
	syscall(SYS_close_range, lo, ~0U, 0);
}
