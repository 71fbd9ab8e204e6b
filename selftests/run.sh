#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Run every selftests/test_*.sh as root against OUTPUT/alpnsteer and print
# one combined "selftest: N passed, N failed" line.  Each test checks the
# kernel log for WARNs itself; this also checks across the whole run.
set -u
out=${1:?usage: selftests/run.sh OUTPUT}
here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" != 0 ]; then
	echo "Error: the selftests load BPF programs and create namespaces: run them as root" >&2
	exit 1
fi
export ALPNSTEER="$out/alpnsteer"
passed=0
failed=0
start=$(dmesg | wc -l)
for t in "$here"/test_*.sh; do
	[ -n "${SELFTESTS:-}" ] && ! echo " $SELFTESTS " | grep -q " $(basename "$t" .sh) " && continue
	echo "# $(basename "$t")"
	log=$(bash "$t" 2>&1)
	rc=$?
	echo "$log" | sed 's/^/    /'
	line=$(echo "$log" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n1)
	if [ -z "$line" ]; then
		echo "    (no summary, exit $rc): 1 failure"
		failed=$((failed + 1))
		continue
	fi
	p=${line%% passed*}
	f=${line#*passed, }
	f=${f%% failed*}
	passed=$((passed + p))
	failed=$((failed + f))
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && failed=$((failed + 1))
done
warns=$(dmesg | tail -n +$((start + 1)) | grep -cE 'WARNING:|BUG:|seq # bug|refcount_t|general protection|Oops')
echo "# kernel WARN/BUG lines during the selftests: $warns"
[ "$warns" -eq 0 ] || failed=$((failed + 1))
echo "selftest: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
