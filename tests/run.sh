#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Run every unit test binary in OUTPUT/tests and every tests/test_*.sh
# (unprivileged CLI tests); print one combined "N passed, N failed" line.
set -u
out=${1:?usage: tests/run.sh OUTPUT}
here=$(cd "$(dirname "$0")" && pwd)
passed=0
failed=0
for t in "$out"/tests/test_* "$here"/test_*.sh; do
	[ -x "$t" ] || continue
	echo "# $(basename "$t")"
	log=$(ALPNSTEER="$out/alpnsteer" TESTDATA="$here/data" "$t" 2>&1)
	rc=$?
	echo "$log" | sed 's/^/    /'
	line=$(echo "$log" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n1)
	if [ -z "$line" ]; then
		echo "    (no summary line, exit $rc): counted as 1 failure"
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
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
