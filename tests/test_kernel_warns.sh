#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# selftests/kernel_warns.sh, the matcher every dmesg check uses: the
# kernel's own WARN/BUG/Oops/refcount/general protection fault reports
# match; a user-space process's fault, which the kernel logs too
# ("traps: ... general protection fault ... in libc"), does not (it failed
# two checks of a run that had nothing wrong in the kernel).  No root.
set -u
here=$(cd "$(dirname "$0")" && pwd)
m=$here/../selftests/kernel_warns.sh
passed=0 failed=0
matches() { # matches WANT LINE: WANT 1 if LINE must be reported
	local got
	got=$(printf '%s\n' "$2" | bash "$m" | grep -c .)
	if [ "$got" = "$1" ]; then
		passed=$((passed + 1))
		echo "ok $([ "$1" = 1 ] && echo reported || echo ignored): $2"
	else
		failed=$((failed + 1))
		echo "not ok $([ "$1" = 1 ] && echo 'not reported' || echo reported): $2"
	fi
}
matches 1 '[  812.345678] WARNING: CPU: 1 PID: 4242 at net/ipv4/af_inet.c:157 inet_sock_destruct+0x1c0/0x1f0'
matches 1 '[   12.000001] BUG: kernel NULL pointer dereference, address: 0000000000000008'
matches 1 '[   12.000002] Oops: 0000 [#1] PREEMPT SMP NOPTI'
matches 1 '[   12.000003] refcount_t: addition on 0; use-after-free.'
matches 1 '[   12.000004] general protection fault, probably for non-canonical address 0xdead000000000122: 0000 [#1] PREEMPT SMP NOPTI'
matches 1 '[   12.000005] general protection fault: 0000 [#1] SMP PTI'
matches 1 'WARNING: CPU: 0 PID: 1 at kernel/bpf/syscall.c:1 x+0x0/0x0'
matches 0 '[ 3523.114862] traps: python3[18871] general protection fault ip:7f3c1d2e4b1c sp:7ffd9b1c2f40 error:0 in libc.so.6[7f3c1d27e000+155000]'
matches 0 'traps: nginx[991] general protection fault ip:55d0 sp:7ffc error:0 in nginx[55d0+f2000]'
matches 0 '[   99.1] curl[123]: segfault at 0 ip 00007f sp 00007ffd error 4 in libc.so.6[7f+155000]'
matches 0 '[    0.000000] Linux version 6.1.0-57-amd64 (debian-kernel@lists.debian.org)'
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
