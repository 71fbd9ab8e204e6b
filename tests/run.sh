#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Run every unit test binary in OUTPUT/tests and every tests/test_*.sh
# (unprivileged CLI tests); print one combined line,
# "unit: N passed, N failed, N skipped".
set -u
out=${1:?usage: tests/run.sh OUTPUT}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tally.sh"
export ALPNSTEER="$out/alpnsteer" TESTDATA="$here/data"
for t in "$out"/tests/test_* "$here"/test_*.sh; do
	[ -x "$t" ] || continue
	tally "$(basename "$t")" "$t"
done
tally_line unit
[ "$TALLY_FAILED" -eq 0 ]
