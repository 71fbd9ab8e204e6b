/* SPDX-License-Identifier: GPL-2.0-only */
/* proxy.h - consume the PROXY header in front of a steered hello. */
#ifndef ALPNSTEER_PROXY_H
#define ALPNSTEER_PROXY_H

/*
 * With --proxy-protocol a steered connection may reach its slot socket
 * with the load balancer's PROXY header still in front of the hello (when
 * both came in one segment; a header that came alone went to the
 * webserver).  Before TLS starts on @fd: 1 when the next byte is the
 * hello's (the header, if any, consumed), 0 when more bytes must come
 * first, negative errno when what came is no PROXY header and no TLS.
 */
int proxy_consume(int fd);

#endif
