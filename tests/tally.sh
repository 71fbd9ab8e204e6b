#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# tally.sh - sourced by tests/run.sh and selftests/run.sh: run one test
# program, indent its output, and add its "N passed, N failed" line to the
# totals.  A program without that line, or one that exits non-zero while
# claiming no failure, counts as one failure: a crash must never pass.
TALLY_PASSED=0
TALLY_FAILED=0

# tally NAME COMMAND...
tally() {
	local name=$1 log rc line p f
	shift
	echo "# $name"
	log=$("$@" 2>&1)
	rc=$?
	echo "$log" | sed 's/^/    /'
	line=$(echo "$log" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n1)
	if [ -z "$line" ]; then
		echo "    (no summary line, exit $rc): counted as 1 failure"
		TALLY_FAILED=$((TALLY_FAILED + 1))
		return
	fi
	p=${line%% passed*}
	f=${line#*passed, }
	f=${f%% failed*}
	TALLY_PASSED=$((TALLY_PASSED + p))
	TALLY_FAILED=$((TALLY_FAILED + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		TALLY_FAILED=$((TALLY_FAILED + 1))
	fi
}
