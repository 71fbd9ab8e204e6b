#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# guest.sh - PID 1 of the vmtest guest, on the host's root file system
# (read-only, tmpfs overlay): mount what a booted system has, run the
# selftests, leave their log, exit code and the kernel log in /vmtest-out
# for scripts/vmtest/run.sh, and power off.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8
. /vmtest-out/env
# Fresh, not the host's: its /run holds a real alpnsteer's state.
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t cgroup2 cgroup2 /sys/fs/cgroup
echo 1 > /proc/sys/kernel/sysrq
hostname vmtest
# A booted system's limit, not the kernel's 1024 for init (nginx asks for
# 4096 worker connections).
ulimit -n 65536
ip link set lo up
t0=$(cut -d' ' -f1 /proc/uptime)
echo "vmtest-guest: up after ${t0} s: $(cat /proc/version)"
echo "$t0" > /vmtest-out/boot_seconds
cd "$VMTEST_REPO"
"$VMTEST_OUTPUT/alpnsteer" features 2>&1 | tee /vmtest-out/features.txt
if [ -n "${VMTEST_CMD:-}" ]; then
	# run.sh VMTEST_CMD=...: one command instead of the selftests
	PATH=$VMTEST_OUTPUT:$PATH bash -c "$VMTEST_CMD" 2>&1 | tee /vmtest-out/selftest.log
else
	SELFTESTS=$VMTEST_SELFTESTS CYCLES=$VMTEST_CYCLES \
		selftests/run.sh "$VMTEST_OUTPUT" 2>&1 | tee /vmtest-out/selftest.log
fi
echo "${PIPESTATUS[0]}" > /vmtest-out/rc
t1=$(cut -d' ' -f1 /proc/uptime)
echo "$t0 $t1" | awk '{ printf "%.0f\n", $2 - $1 }' > /vmtest-out/test_seconds
dmesg > /vmtest-out/dmesg.log
sync
echo o > /proc/sysrq-trigger
sleep 60
