/* SPDX-License-Identifier: GPL-2.0-only */
/* fdutil.h - descriptors a new process must not inherit. */
#ifndef ALPNSTEER_FDUTIL_H
#define ALPNSTEER_FDUTIL_H

/* Close every descriptor from 3 up except the @n in @keep (close_range;
 * at most 16 kept). */
void fd_close_except(const int *keep, int n);

#endif
