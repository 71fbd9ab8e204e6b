/* SPDX-License-Identifier: GPL-2.0-only */
/* evaddr.h - a ring-buffer event's client address, as people read it. */
#ifndef ALPNSTEER_EVADDR_H
#define ALPNSTEER_EVADDR_H

#include <stddef.h>

#include "alpnsteer_abi.h"

/* "1.2.3.4:5" or "[::1]:5" into @buf; the family it really is: a
 * v4-mapped address (::ffff:a.b.c.d, from a dual-stack [::]:443 listener)
 * is an IPv4 client and is written and counted as one. */
int evaddr_format(const struct alpnsteer_event *e, char *buf, size_t len);
/* Behind a PROXY header: " via 1.2.3.4:5" (the balancer), else "". */
void evaddr_via(const struct alpnsteer_event *e, char *buf, size_t len);

#endif
