/* SPDX-License-Identifier: GPL-2.0-only */
/* cmd_agent.h - `alpnsteer agent`, and challenges through an agent or the
 * shared store. */
#ifndef ALPNSTEER_CMD_AGENT_H
#define ALPNSTEER_CMD_AGENT_H

/* alpnsteer agent [OPTIONS]; an exit code.  agent_cmd is its entry in
 * the command table (cmd.h). */
int do_agent(int argc, char **argv);
/* `challenge ARGS` through a running agent or --store URL: an exit code,
 * or -1 when neither applies (the daemon's control socket then).  argv[0]
 * is "challenge" or the sub-verb ("add", "remove", "list"). */
int agent_challenge(int argc, char **argv);

#endif
