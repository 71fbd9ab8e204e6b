/* SPDX-License-Identifier: GPL-2.0-only */
/* cmd_agent.h - `alpnsteer agent`. */
#ifndef ALPNSTEER_CMD_AGENT_H
#define ALPNSTEER_CMD_AGENT_H

/* alpnsteer agent [OPTIONS]; an exit code.  agent_cmd is its entry in
 * the command table (cmd.h). */
int do_agent(int argc, char **argv);

#endif
