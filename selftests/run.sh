#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Run every selftests/test_*.sh as root against OUTPUT/alpnsteer and print
# one combined "selftest: N passed, N failed, N skipped" line (skipped: a
# test that cannot run here, tests/tally.sh).  Each test checks the kernel
# log for WARNs itself; this also checks across the whole run.
set -u
out=${1:?usage: selftests/run.sh OUTPUT}
here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" != 0 ]; then
	echo "Error: the selftests load BPF programs and create namespaces: run them as root" >&2
	exit 1
fi
export ALPNSTEER="$out/alpnsteer"
. "$here/../tests/tally.sh"
start=$(dmesg | wc -l)
for t in "$here"/test_*.sh; do
	[ -n "${SELFTESTS:-}" ] && ! echo " $SELFTESTS " | grep -q " $(basename "$t" .sh) " && continue
	tally "$(basename "$t")" bash "$t"
done
# the kernel's own reports only (kernel_warns.sh)
warns=$(dmesg | tail -n +$((start + 1)) | bash "$here/kernel_warns.sh" | grep -c .)
echo "# kernel WARN/BUG lines during the selftests: $warns"
[ "$warns" -eq 0 ] || TALLY_FAILED=$((TALLY_FAILED + 1))
tally_line selftest
[ "$TALLY_FAILED" -eq 0 ]
