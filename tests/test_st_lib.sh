#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# selftests/lib.sh's st_test, the frame of every selftest: a test counts
# as passed only when it said so.  One killed before its EXIT trap wrote
# its result (SIGKILL, an OOM kill) was counted "passed": read found an
# empty result file and the checks after it compared empty strings.  No
# root: only the counting runs.
set -u
here=$(cd "$(dirname "$0")" && pwd)
passed=0 failed=0
run() { # run NAME BODY...: the summary line of a selftest file of BODY
	local out
	out=$(ALPNSTEER=${ALPNSTEER:-/bin/true} bash -c '
		. "$1/../selftests/lib.sh"
		t_ok() { ok one; }
		t_fail() { not_ok one; }
		t_killed() { ok before; kill -9 $BASHPID; }
		t_exit() { ok before; exit 3; }
		shift
		for t in "$@"; do st_test "$t" "t_$t"; done
		st_summary' _ "$here" "${@:2}" 2>/dev/null | tail -n 1)
	if [ "$out" = "$1" ]; then
		passed=$((passed + 1))
		echo "ok ${*:2}: $out"
	else
		failed=$((failed + 1))
		echo "not ok ${*:2}: got '$out', want '$1'"
	fi
}
run "2 passed, 0 failed, 0 skipped" ok ok
run "1 passed, 1 failed, 0 skipped" ok fail
run "1 passed, 1 failed, 0 skipped" killed ok
run "1 passed, 1 failed, 0 skipped" ok killed
run "2 passed, 1 failed, 0 skipped" exit ok
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
