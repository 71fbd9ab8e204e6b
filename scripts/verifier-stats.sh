#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Print how many instructions the verifier processed for each program of
# the alpnsteer BPF object (root; loads the object once, pins nothing).
#   scripts/verifier-stats.sh [build/alpnsteer.bpf.o]
set -euo pipefail
obj=${1:-build/alpnsteer.bpf.o}
pin=/sys/fs/bpf/alpnsteer_verifier_stats_$$  # no dots: bpffs refuses them
trap 'rm -rf "$pin"' EXIT
bpftool -d prog loadall "$obj" "$pin" 2>&1 |
	awk "/prog '.*': -- BEGIN PROG LOAD LOG --/ { split(\$0, a, \"'\"); p = a[2] }
	     /^processed [0-9]+ insns/ && p { printf \"%-20s %s insns processed, %s states\\n\", p, \$2, \$9; p = \"\" }"
