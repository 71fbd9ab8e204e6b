// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmds.c - alpnsteer's command table and its options before the command.
 *
 * The table is made from ALPNSTEER_CMDS (cmd.h), one line per verb; the
 * verb itself is in user/cmd_VERB.c (cmd.h says how to add one).
 */
#include <stddef.h>

#include "cmd.h"
#include "log.h"

/* One entry per line of ALPNSTEER_CMDS. */
#define CMD_ENTRY(verb) &verb##_cmd,
const struct cmd *const cmds[] = { ALPNSTEER_CMDS(CMD_ENTRY) NULL };
#undef CMD_ENTRY

/* Parsed by main(); here for the help, the man page and the completion. */
const struct cmd_opt global_opts[] = {
	{ "json", 'j', CMD_ARG_NONE, NULL,
	  "JSON output; an error is then a JSON object on stdout", true },
	{ "verbose", 'v', CMD_ARG_NONE, NULL, "say more", true },
	{ "debug", 'd', CMD_ARG_NONE, NULL,
	  "say more, with libbpf's and the verifier's logs", true },
	{ "version", 'V', CMD_ARG_NONE, NULL,
	  "print the versions (alpnsteer version) and exit", true },
	{},
};

/* help [COMMAND [SUBCOMMAND]] */
static int do_help(int argc, char **argv)
{
	const struct cmd *c = NULL;
	int depth = 0;

	if (argc > 1) {
		c = cmd_find(cmds, argc - 1, argv + 1, &depth);
		if (!c || depth != argc - 1) {
			p_err("no command '%s'", argv[depth + 1]);
			p_hint("see 'alpnsteer help'");
			return EXIT_USAGE;
		}
	}
	cmd_usage(stdout, c);
	return EXIT_OK;
}

const struct cmd help_cmd = {
	.name = "help",
	.func = do_help,
	.args = "[COMMAND [SUBCOMMAND]]",
	.summary = "the commands, or one command's options",
};
