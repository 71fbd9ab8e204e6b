#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The README's test command: on a fresh Debian 12 machine, as root, install
# the dependencies, build, and run every test (unit, fuzz, selftests), then
# the reduced selftest suite on Debian's own 6.1 and 6.12 kernels under qemu
# (scripts/vmtest/), and the package's systemd units on both under systemd
# as PID 1 (make vmtest-systemd).  Ends with one combined line,
# "total: N passed, N failed, N skipped".
#   VMTEST_KERNELS="6.1 6.12" (empty: no VM runs), VMTEST_CYCLES (loss test)
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh || exit 1
log=$(mktemp /tmp/alpnsteer-check.XXXXXX)
trap 'rm -f "$log"' EXIT
rc=0
make check 2>&1 | tee "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1

passed=0 failed=0 skipped=0
# "LABEL: N passed, N failed" with an optional ", N skipped" (tests/tally.sh)
summary_re='^[^:]+: ([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?$'
add() { # add LINE
	local p f s
	p=$(echo "$1" | sed -nE "s/$summary_re/\\1/p")
	f=$(echo "$1" | sed -nE "s/$summary_re/\\2/p")
	s=$(echo "$1" | sed -nE "s/$summary_re/\\4/p")
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-1}))
	skipped=$((skipped + ${s:-0}))
}
for label in unit selftest; do
	add "$(grep -E "^$label: [0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$" "$log" | tail -n1)"
done

scripts/vmtest/fetch-kernels.sh ${VMTEST_KERNELS-6.1 6.12} >/dev/null || rc=1
for k in ${VMTEST_KERNELS-6.1 6.12}; do
	scripts/vmtest/run.sh "$k" build 2>&1 | tee "$log"
	[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
	add "$(grep -E "^vmtest $k: [0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$" "$log" | tail -n1 | sed 's/^vmtest /vmtest-/')"
done
# The package's units under systemd as PID 1 (make vmtest-systemd): the
# package built from this tree, installed with apt in each guest.
if [ -n "${VMTEST_KERNELS-6.1 6.12}" ]; then
	make deb 2>&1 | tail -n 3
	[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
fi
for k in ${VMTEST_KERNELS-6.1 6.12}; do
	VMTEST_SYSTEMD=1 scripts/vmtest/run.sh "$k" build 2>&1 | tee "$log"
	[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
	add "$(grep -E "^vmtest-systemd $k: [0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$" "$log" | tail -n1)"
done
[ "$failed" -eq 0 ] || rc=1
echo "total: $passed passed, $failed failed, $skipped skipped"
exit $rc
