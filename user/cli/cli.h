/* SPDX-License-Identifier: GPL-2.0-only */
/* cli.h - option parsing shared by the commands (unit tested). */
#ifndef ALPNSTEER_CLI_H
#define ALPNSTEER_CLI_H

#include <stddef.h>
#include <linux/types.h>

#include "cmd.h"
#include "daemon.h"

/* An attach waits this long (seconds) for an earlier attachment's drain. */
#define ALPNSTEER_DEFAULT_DRAIN_WAIT 120

/* Parse "443" into 1..65535. */
int cli_parse_port(const char *s, __u32 *port);
/* Parse "HOST:PORT" or "[V6]:PORT" into an address. */
int cli_parse_hostport(const char *s, struct sockaddr_storage *ss,
		       socklen_t *len);
/* The options of attach and run (cmd.h): LC_ATTACH_FIELDS, then the
 * holder's own. */
extern const struct cmd_opt cli_attach_opts[];
/* Parse one option of cli_attach_opts[] (cmd_getopt()'s @c, its
 * @arg): 0, -errno with an Error said, or 1 when @c is not one of them. */
int cli_attach_opt(struct daemon_opts *o, int c, char *arg);

/* Parse attach/run options into @o; argv[0] is the command name.  -EINVAL
 * or -E2BIG: the command line is wrong (exit 2); another -errno: this
 * system is (no such group, no such interface, no cgroup2 mount). */
int cli_parse_attach(int argc, char **argv, struct daemon_opts *o);
/* The same in steps, for a verb with options of its own (agent):
 * defaults; then cli_attach_opt() for each option; then the rules between
 * them and what is derived (0 or -errno with an Error said). */
void cli_attach_begin(struct daemon_opts *o);
int cli_attach_end(struct daemon_opts *o);
/* clang-format off */
/* An entry of an option table for LC_ATTACH_FIELDS(). */
#define CLI_ATTACH_OPT(K, f, o, v, a, d, mn, mx, cmp, h) \
	{ o, v, CMD_ARG_REQUIRED, a, h },
/* The drain-wait entry, which the agent shares. */
#define CLI_DRAIN_WAIT_OPT \
	{ "drain-wait", 'W', CMD_ARG_REQUIRED, "DURATION", \
	  "how long to wait for an earlier attachment's drain to end (default " \
	  LC_STR(ALPNSTEER_DEFAULT_DRAIN_WAIT) "s)" }
/* clang-format on */
/* Parse "--wait", "--wait=SECONDS": -1 none, 0.. seconds, or -EINVAL. */
int cli_parse_wait(const char *arg, int *seconds);
/* The cookie of this process's network namespace (0: unknown): attach
 * steers only connections of the namespace it runs in. */
__u64 cli_netns_cookie(void);
/* The root of the cgroup2 mount, from /proc/self/mounts (or @mounts). */
int cli_cgroup2_root(const char *mounts, char *buf, size_t len);

#endif
