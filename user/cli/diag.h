/* SPDX-License-Identifier: GPL-2.0-only */
/* diag.h - find listeners that a cgroup attachment would not cover. */
#ifndef ALPNSTEER_DIAG_H
#define ALPNSTEER_DIAG_H

#include <linux/types.h>

/* Warn about each TCP listener on one of @ports, in this network
 * namespace, whose cgroup is not @cgroup or below it.  Returns how many
 * were found (0: all covered), or -errno when sock_diag cannot be asked. */
int diag_check_listeners(const char *cgroup, const __u32 *ports,
			 __u32 nr_ports);

#endif
