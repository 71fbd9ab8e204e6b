// SPDX-License-Identifier: GPL-2.0-only
/*
 * alpnsteer - steer ACME TLS-ALPN-01 handshakes on port 443 to a responder,
 * in the kernel, while the webserver keeps its port and its connections.
 *
 *   alpnsteer [-j] [-v|-d] COMMAND [ARGS]
 *
 * Only the options before the command are parsed here; the commands are
 * in the table of user/cli/cmds.c, one file user/cmd_VERB.c each.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "log.h"
#include "worker.h"

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "debug", no_argument, NULL, 'd' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	char *version[] = { "version", NULL };
	int c;

	/* The TLS worker, exec'd by its monitor: not a command of the table
	 * (nobody types it; it refuses to run without its socket on fd 3). */
	if (argc >= 2 && !strcmp(argv[1], WORKER_ARGV1))
		return worker_exec_main(argc, argv);
	/* "+": stop at the command, whose options are its own. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+jvdVh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			log_json = true;
			break;
		case 'v':
			log_verbose = log_verbose > 1 ? 2 : 1;
			break;
		case 'd':
			log_verbose = 2;
			break;
		case 'V':
			return cmd_dispatch(cmds, 1, version);
		case 'h':
			cmd_usage(stdout, NULL);
			return EXIT_OK;
		default:
			p_err("unknown option '%s'", argv[optind - 1]);
			p_hint("see 'alpnsteer help'");
			return EXIT_USAGE;
		}
	}
	log_setup_libbpf();
	if (optind >= argc) {
		cmd_usage(stderr, NULL);
		return EXIT_USAGE;
	}
	return cmd_dispatch(cmds, argc - optind, argv + optind);
}
