#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# run.sh KERNEL [OUTPUT]: boot KERNEL under qemu and run the selftests in it
# against OUTPUT/alpnsteer (default ./build), as root.
#
#   KERNEL  6.1 or 6.12 (Debian's current bookworm / trixie kernel, fetched
#           by fetch-kernels.sh into the cache), a linux-image .deb, or a
#           directory holding boot/vmlinuz-* and (usr/)lib/modules/*
#
# The guest has no image of its own: the host's root file system is shared
# read-only over virtio-9p with a tmpfs overlay, so nginx, openssl, curl,
# python3 and the built binary are the host's.  A busybox initramfs holds the
# guest kernel's own virtio/9p/overlay modules.  TCG, not KVM: /dev/kvm on
# these machines (kvm-pvm) does not boot stock kernels.
#
# VMTEST_SYSTEMD=1: boot systemd as PID 1 instead (scripts/vmtest/init),
# install OUTPUT/alpnsteer_VERSION_ARCH.deb (make deb) with apt in the guest
# and run systemd-guest.sh: the package's units under real systemd; the
# summary line is then "vmtest-systemd LABEL: ...".
#
# Environment: SELFTESTS (default: test_steering test_failopen test_segments
# test_loss test_kernel), VMTEST_CMD (a command to run instead, with
# OUTPUT on its PATH; its exit code is the result), VMTEST_KEEP (a
# directory to copy the guest's logs to: selftest.log, dmesg.log, ...; the
# guest writes to /vmtest-out), VMTEST_CYCLES (loss-test cycles, default 20), VMTEST_CPUS (2),
# VMTEST_MEM (MiB, 2048), VMTEST_TIMEOUT (seconds, 1800), VMTEST_BOOT_TIMEOUT
# (seconds until guest.sh runs, 240; then the boot is tried again, 3 times
# in all), VMTEST_CACHE.
# Prints the guest's selftest output, then "vmtest LABEL: N passed, N failed,
# N skipped";
# exits non-zero on any failure, a kernel WARN included.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
if [ -z "${1:-}" ]; then
	echo "Error: no kernel to boot" >&2
	echo "Hint: make vmtest KERNEL=6.1 (or 6.12, a linux-image .deb, an unpacked tree)" >&2
	exit 2
fi
kernel=$1
output=$(cd "${2:-$repo/build}" && pwd)
cache=${VMTEST_CACHE:-/var/cache/alpnsteer-vmtest}
selftests=${SELFTESTS:-test_steering test_failopen test_segments test_loss test_kernel}

[ "$(id -u)" = 0 ] || { echo "Error: vmtest needs root (qemu reads the whole root file system)" >&2; exit 1; }
for t in qemu-system-x86_64 busybox cpio; do
	command -v $t >/dev/null || {
		echo "Error: $t is missing" >&2
		echo "Hint: scripts/install-deps.sh installs qemu-system-x86, busybox-static and cpio" >&2
		exit 1
	}
done
[ -x "$output/alpnsteer" ] || { echo "Error: no $output/alpnsteer" >&2; echo "Hint: run make first" >&2; exit 1; }
mode=vmtest
deb=
if [ "${VMTEST_SYSTEMD:-}" = 1 ]; then
	mode=vmtest-systemd
	deb=$output/alpnsteer_$(cat "$repo/VERSION")_$(dpkg --print-architecture).deb
	[ -f "$deb" ] || {
		echo "Error: no $deb to install in the guest" >&2
		echo "Hint: make deb OUTPUT=$output (make vmtest-systemd builds it)" >&2
		exit 1
	}
	selftests=systemd-guest.sh
fi

# The unpacked kernel tree, and a label for the summary line.
case $kernel in
6.1 | 6.12)
	label=$kernel
	tree=$("$here/fetch-kernels.sh" "$kernel" | awk '{ print $4 }')
	;;
*.deb)
	label=$(basename "$kernel" .deb)
	tree=$cache/deb/$label/root
	if [ ! -d "$tree/boot" ]; then
		mkdir -p "$cache/deb/$label"
		dpkg-deb -x "$kernel" "$tree"
	fi
	;;
*)
	label=$(basename "$kernel")
	tree=$(cd "$kernel" && pwd)
	;;
esac
vmlinuz=$(ls "$tree"/boot/vmlinuz-* 2>/dev/null | head -n1 || true)
moddir=$(ls -d "$tree"/lib/modules/* "$tree"/usr/lib/modules/* 2>/dev/null | head -n1 || true)
[ -n "$vmlinuz" ] && [ -n "$moddir" ] || {
	echo "Error: $tree holds no boot/vmlinuz-* and lib/modules/*" >&2
	echo "Hint: KERNEL is 6.1, 6.12, a linux-image-*.deb or its dpkg-deb -x tree" >&2
	exit 1
}
kver=$(basename "$moddir")
# modules.dep is made by depmod at installation, not shipped in the .deb;
# the host's depmod looks under BASE/lib/modules (trixie ships usr/lib).
if [ ! -s "$moddir/modules.dep" ]; then
	[ -e "$tree/lib" ] || ln -s usr/lib "$tree/lib"
	depmod -b "$tree" "$kver"
fi

work=$(mktemp -d /tmp/alpnsteer-vmtest.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/initrd/bin" "$work/initrd/modules" "$work/out"
chmod 755 "$work" "$work/out"

# The initramfs: busybox, /init, the modules in load order (dependencies
# first, from the guest kernel's modules.dep; built-in ones need nothing).
cp "$(command -v busybox)" "$work/initrd/bin/busybox"
for a in sh mount mkdir insmod switch_root cat sleep cp ln rm; do
	ln -s busybox "$work/initrd/bin/$a"
done
cp "$here/init" "$work/initrd/init"
declare -A loaded=()
add_mod() {
	local name=${1//-/_} line path dep re
	[ -n "${loaded[$name]:-}" ] && return 0
	re=${name//_/[-_]} # file names spell some with '-'
	line=$(grep -E "(^|/)${re}\.ko(\.xz|\.zst|\.gz)?:" "$moddir/modules.dep" || true)
	if [ -z "$line" ]; then
		grep -qE "/${re}\.ko$" "$moddir/modules.builtin" && return 0
		echo "Error: the guest kernel has no module $name" >&2
		exit 1
	fi
	path=${line%%:*}
	for dep in ${line#*:}; do
		dep=$(basename "$dep")
		add_mod "${dep%%.ko*}"
	done
	loaded[$name]=1
	case $path in
	*.xz) xz -dc "$moddir/$path" > "$work/initrd/modules/$name.ko" ;;
	*.zst) zstd -qdc "$moddir/$path" > "$work/initrd/modules/$name.ko" ;;
	*.gz) gzip -dc "$moddir/$path" > "$work/initrd/modules/$name.ko" ;;
	*) cp "$moddir/$path" "$work/initrd/modules/$name.ko" ;;
	esac
	echo "$name.ko" >> "$work/initrd/modules/order"
}
: > "$work/initrd/modules/order"
for m in virtio_pci virtio_rng 9pnet_virtio 9p overlay; do
	add_mod $m
done
(cd "$work/initrd" && find . | cpio -o -H newc --quiet) > "$work/initrd.cpio"

{
	printf 'VMTEST_REPO=%q\n' "$repo"
	printf 'VMTEST_OUTPUT=%q\n' "$output"
	printf 'VMTEST_SELFTESTS=%q\n' "$selftests"
	printf 'VMTEST_CYCLES=%q\n' "${VMTEST_CYCLES:-20}"
	printf 'VMTEST_CMD=%q\n' "${VMTEST_CMD:-}"
	printf 'VMTEST_SYSTEMD=%q\n' "${VMTEST_SYSTEMD:-}"
	printf 'VMTEST_DEB=%q\n' "${deb:+/vmtest-out/$(basename "$deb")}"
	printf 'VMTEST_LABEL=%q\n' "$label"
} > "$work/out/env"
# The package goes in through the results share: the guest's /tmp is its own.
[ -z "$deb" ] || cp "$deb" "$work/out/"

# The console, with the time since boot at the start of each test.
stamp() {
	local l
	while IFS= read -r l; do
		l=${l%$'\r'}
		case $l in
		"# test_"* | "# step "*) l="$l  [+$(($(date +%s) - start)) s]" ;;
		esac
		printf '%s\n' "$l"
	done
}
echo "# $mode $label: $kver ($(basename "$vmlinuz")), tests: $selftests"
# One boot; 124 when the guest did not reach guest.sh in time.  Under TCG a
# boot now and then hangs in the kernel's own start-up (a soft lockup in the
# crypto self-tests was seen on a loaded machine): that boot is killed, by
# the pid qemu wrote, and tried again.
boot() {
	local waited=0
	rm -f "$work/out/boot_seconds" "$work/out/rc" "$work/qemu.pid" "$work/qrc"
	(
		timeout -k 10 "${VMTEST_TIMEOUT:-1800}" \
		qemu-system-x86_64 -accel tcg,thread=multi -cpu max \
		-smp "${VMTEST_CPUS:-2}" -m "${VMTEST_MEM:-2048}" \
		-nodefaults -display none -no-reboot -serial stdio -nic none \
		-pidfile "$work/qemu.pid" \
		-kernel "$vmlinuz" -initrd "$work/initrd.cpio" \
		-append "console=ttyS0 panic=-1 oops=panic loglevel=4 rdinit=/init cryptomgr.notests=1" \
		-device virtio-rng-pci \
		-fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap \
		-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot \
		-fsdev local,id=modules,path="$(dirname "$moddir")",security_model=none,readonly=on \
		-device virtio-9p-pci,fsdev=modules,mount_tag=modules \
		-fsdev local,id=out,path="$work/out",security_model=none \
		-device virtio-9p-pci,fsdev=out,mount_tag=out \
		< /dev/null 2>&1
		echo $? > "$work/qrc"
	) | stamp &
	local pipe=$!
	while [ ! -e "$work/out/boot_seconds" ] && kill -0 $pipe 2>/dev/null; do
		if [ $waited -ge "${VMTEST_BOOT_TIMEOUT:-240}" ]; then
			echo "# vmtest $label: the guest did not come up in $waited s; killing it"
			[ -s "$work/qemu.pid" ] && kill "$(cat "$work/qemu.pid")" 2>/dev/null
			wait $pipe
			return 124
		fi
		sleep 1
		waited=$((waited + 1))
	done
	wait $pipe
	return "$(cat "$work/qrc" 2>/dev/null || echo 1)"
}
start=$(date +%s)
set +e
for try in 1 2 3; do
	boot
	qrc=$?
	[ $qrc = 124 ] && [ ! -e "$work/out/boot_seconds" ] || break
done
set -e
wall=$(($(date +%s) - start))

if [ -n "${VMTEST_KEEP:-}" ]; then
	mkdir -p "$VMTEST_KEEP"
	cp "$work/out"/* "$VMTEST_KEEP"/ 2>/dev/null || true
fi
if [ -n "${VMTEST_CMD:-}" ]; then
	rc=$(cat "$work/out/rc" 2>/dev/null || echo '?')
	echo "vmtest $label: '$VMTEST_CMD' exited $rc"
	[ "$rc" = 0 ]
	exit
fi
summary=selftest
[ $mode = vmtest ] || summary=$mode
line=$(grep -E "^$summary: [0-9]+ passed, [0-9]+ failed" "$work/out/selftest.log" 2>/dev/null | tail -n1 || true)
warns=$(grep -oE 'kernel WARN/BUG lines during the selftests: [0-9]+' "$work/out/selftest.log" 2>/dev/null | grep -oE '[0-9]+$' || echo '?')
passed=0 failed=1 skipped=0
if [ -n "$line" ]; then
	passed=$(echo "$line" | sed -E 's/^[^:]+: ([0-9]+) passed.*/\1/')
	failed=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
	# ", N skipped" since tests/tally.sh counts skips; absent before
	skipped=$(echo "$line" | sed -nE 's/.* ([0-9]+) skipped$/\1/p')
	skipped=${skipped:-0}
	rc=$(cat "$work/out/rc" 2>/dev/null || echo 1)
	[ "$rc" = 0 ] || [ "$failed" -gt 0 ] || failed=1
else
	echo "# $mode $label: no summary from the guest (qemu exit $qrc)"
fi
echo "# $mode $label: kernel $(grep -m1 -oE 'Linux version [^ ]+ .*' "$work/out/dmesg.log" 2>/dev/null | sed -E 's/.*Debian ([^ )]+).*/\1/' || echo "$kver"), boot $(cat "$work/out/boot_seconds" 2>/dev/null || echo '?') s, tests $(cat "$work/out/test_seconds" 2>/dev/null || echo '?') s, wall $wall s, kernel WARNs $warns; host load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$mode $label: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
