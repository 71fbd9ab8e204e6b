#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# tally.sh - sourced by tests/run.sh and selftests/run.sh: run one test
# program, indent its output, and add its "N passed, N failed[, N skipped]"
# line to the totals.  A program without that line, or one that exits
# non-zero while claiming no failure, counts as one failure: a crash must
# never pass.  Exit status 249 (xdp-tools' SKIPPED_TEST) without a summary
# line is one skipped test: it could not run here (a tool or a kernel
# feature missing) and says so, counted apart from the passes.
TALLY_PASSED=0
TALLY_FAILED=0
TALLY_SKIPPED=0
TALLY_STATUS_SKIPPED=249

# tally_line LABEL: the combined summary line
tally_line() {
	echo "$1: $TALLY_PASSED passed, $TALLY_FAILED failed, $TALLY_SKIPPED skipped"
}

# tally NAME COMMAND...
tally() {
	local name=$1 log rc line p f s
	shift
	echo "# $name"
	log=$("$@" 2>&1)
	rc=$?
	echo "$log" | sed 's/^/    /'
	line=$(echo "$log" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n1)
	if [ -z "$line" ]; then
		if [ "$rc" -eq "$TALLY_STATUS_SKIPPED" ]; then
			echo "    (exit $rc: skipped)"
			TALLY_SKIPPED=$((TALLY_SKIPPED + 1))
			return
		fi
		echo "    (no summary line, exit $rc): counted as 1 failure"
		TALLY_FAILED=$((TALLY_FAILED + 1))
		return
	fi
	p=${line%% passed*}
	f=${line#*passed, }
	f=${f%% failed*}
	s=0
	case $line in
	*" skipped"*)
		s=${line#*failed, }
		s=${s%% skipped*}
		;;
	esac
	TALLY_PASSED=$((TALLY_PASSED + p))
	TALLY_FAILED=$((TALLY_FAILED + f))
	TALLY_SKIPPED=$((TALLY_SKIPPED + s))
	if [ "$rc" -ne 0 ] && [ "$rc" -ne "$TALLY_STATUS_SKIPPED" ] && [ "$f" -eq 0 ]; then
		TALLY_FAILED=$((TALLY_FAILED + 1))
	fi
}
