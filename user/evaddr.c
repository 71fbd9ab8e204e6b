// SPDX-License-Identifier: GPL-2.0-only
/*
 * evaddr.c - client addresses of ring-buffer events.  Behind a dual-stack
 * listener the kernel gives an IPv4 client a v4-mapped IPv6 address; the
 * log, the per-family counts and status say IPv4 for it.
 */
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "evaddr.h"

int evaddr_format(const struct alpnsteer_event *e, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	struct in6_addr a6;
	int family = e->family == AF_INET6 ? AF_INET6 : AF_INET;
	const void *src = e->remote_ip;

	if (family == AF_INET6) {
		memcpy(&a6, e->remote_ip, sizeof(a6));
		if (IN6_IS_ADDR_V4MAPPED(&a6)) {
			family = AF_INET;
			src = &e->remote_ip[3];
		}
	}
	inet_ntop(family, src, ip, sizeof(ip));
	snprintf(buf, len, family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip,
		 e->remote_port);
	return family;
}
