#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# kernel_warns.sh: read kernel log lines (dmesg) on stdin, print those that
# are the kernel's own WARN, BUG, Oops, refcount or general protection
# fault reports; exit 0.  A user-space process's fault is logged by the
# kernel too ("traps: NAME[PID] general protection fault ip:... in
# LIB[...]", "NAME[PID]: segfault at ..."), but it is that process's bug,
# not the kernel's: not matched.  The kernel's own general protection
# fault carries the Oops counter ("general protection fault, probably for
# non-canonical address ...: 0000 [#1] ..." or "general protection fault:
# 0000 [#1]").  Used by selftests/lib.sh, selftests/run.sh and the vmtest
# guests.
grep -E 'WARNING:|BUG:|seq # bug|refcount_t:|general protection fault.*\[#[0-9]+\]|Oops' |
	grep -vE '^(\[[ 0-9.]+\] )?traps: ' || true
