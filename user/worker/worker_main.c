// SPDX-License-Identifier: GPL-2.0-only
/*
 * worker_main.c - alpnsteer-worker, the TLS worker's own image: the
 * worker's code, ipc.c, OpenSSL and libseccomp, and nothing else.  Exec'd
 * from alpnsteer's own binary (WORKER_ARGV1 in main.c) it also mapped
 * libbpf, libnl, json-c and libsystemd with its dependencies, which it
 * never calls: some 4 MiB resident of the 16 MiB the monitor and the
 * worker may take together (docs/design.md, "What it costs").
 */
#include <stdio.h>
#include <string.h>

#include "worker.h"

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], WORKER_ARGV1)) {
		fprintf(stderr,
			"Error: alpnsteer-worker is started by alpnsteer's daemon only\n"
			"Hint: run alpnsteer attach (alpnsteer help)\n");
		return 2;
	}
	return worker_exec_main(argc, argv);
}
