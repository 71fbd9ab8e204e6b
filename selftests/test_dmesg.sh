#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The dmesg checks (st_dmesg_clean, run.sh's total, the vmtest guests;
# all through selftests/kernel_warns.sh) report the kernel's own WARN,
# BUG, Oops and refcount lines only: a user-space process's fault, which
# the kernel logs as "traps: NAME[PID] general protection fault ... in
# LIB", is not the kernel's and failed two checks of a clean run.  Such a
# line is written to the real kernel log (/dev/kmsg) here and must not be
# reported; tests/test_kernel_warns.sh checks the matcher on kernel lines.
. "$(dirname "$0")/lib.sh"
st_dmesg_mark
line="traps: alpnsteer-st[$$] general protection fault ip:7f3c1d2e4b1c sp:7ffd9b1c2f40 error:0 in libc.so.6[7f3c1d27e000+155000]"
check "a user-space trap line written to /dev/kmsg" bash -c 'echo "$0" > /dev/kmsg' "$line"
check "... is in the kernel log" bash -c 'dmesg | tail -n 20 | grep -qF "$0"' "alpnsteer-st[$$] general protection fault"
check "... and st_dmesg_clean does not take it for a kernel report" st_dmesg_clean
expect_eq "... nor does kernel_warns.sh (run.sh's total)" \
	"$(dmesg | tail -n +$((ST_DMESG_LINES + 1)) | bash "$HERE/kernel_warns.sh" | grep -c .)" 0
st_summary
