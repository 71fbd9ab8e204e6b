// SPDX-License-Identifier: GPL-2.0-only
/*
 * gendoc.c - print alpnsteer(8) or the bash completion from the command
 * table (`make docs`):
 *
 *   gendoc man man/alpnsteer.8.in > man/alpnsteer.8
 *   gendoc bash > completion/alpnsteer.bash
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "man"))
		return cmd_doc_man(stdout, argv[2]) ? 1 : 0;
	if (argc == 2 && !strcmp(argv[1], "bash"))
		return cmd_doc_bash(stdout) ? 1 : 0;
	fprintf(stderr, "usage: gendoc man TEMPLATE | gendoc bash\n");
	return 2;
}
