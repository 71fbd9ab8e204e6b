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

static int format_addr(int family, const __u32 *addr, __u32 port, char *buf,
		       size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	struct in6_addr a6;
	const void *src = addr;

	if (family == AF_INET6) {
		memcpy(&a6, addr, sizeof(a6));
		if (IN6_IS_ADDR_V4MAPPED(&a6)) {
			family = AF_INET;
			src = &addr[3];
		}
	}
	inet_ntop(family, src, ip, sizeof(ip));
	snprintf(buf, len, family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, port);
	return family;
}

int evaddr_format(const struct alpnsteer_event *e, char *buf, size_t len)
{
	return format_addr(e->family == AF_INET6 ? AF_INET6 : AF_INET,
			   e->remote_ip, e->remote_port, buf, len);
}

void evaddr_via(const struct alpnsteer_event *e, char *buf, size_t len)
{
	char via[INET6_ADDRSTRLEN + 8];
	/* The balancer's own family: a v6 client may come through a v4
	 * balancer. */
	int family = e->via_family == AF_INET6 ? AF_INET6 : AF_INET;

	buf[0] = '\0';
	if (!e->proxy)
		return;
	format_addr(family, e->via_ip, e->via_port, via, sizeof(via));
	snprintf(buf, len, " via %s", via);
}
