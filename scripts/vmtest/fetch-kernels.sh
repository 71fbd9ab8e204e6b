#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# fetch-kernels.sh [SERIES...]: download Debian's current kernel packages
# for the VM tests and unpack them, never installing them on this host.
#
#   6.1   bookworm's linux-image-amd64, from the sources apt is set up with
#   6.12  trixie's, through a sources list and apt state of its own (the
#         host's apt never hears of trixie)
#
# Each ends up in $VMTEST_CACHE/SERIES/ (default /var/cache/alpnsteer-vmtest,
# outside the repository): the .deb and its dpkg-deb -x tree (boot/vmlinuz-*,
# lib/modules/*), ready for scripts/vmtest/run.sh.  Prints one line per
# kernel: SERIES VERSION DIR.  A package already unpacked is not fetched again.
set -euo pipefail
cache=${VMTEST_CACHE:-/var/cache/alpnsteer-vmtest}
[ $# -gt 0 ] || set -- 6.1 6.12
[ "$(id -u)" = 0 ] || { echo "Error: run as root (apt-get download into $cache)" >&2; exit 1; }
mkdir -p "$cache"

# apt_for SERIES: the apt-get options that select its sources.
apt_for() {
	case $1 in
	6.1) ;;
	6.12)
		local d=$cache/apt-trixie
		mkdir -p "$d/lists/partial" "$d/archives/partial"
		: > "$d/status"
		cat > "$d/sources.list" <<-SRC
		deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
		deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security trixie-security main
		SRC
		echo "-o Dir::Etc::SourceList=$d/sources.list -o Dir::Etc::SourceParts=/nonexistent" \
			"-o Dir::State::Lists=$d/lists -o Dir::State::status=$d/status" \
			"-o Dir::Cache::Archives=$d/archives -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=" \
			"-o APT::Architecture=amd64"
		;;
	*)
		echo "Error: unknown kernel series '$1'" >&2
		echo "Hint: fetch-kernels.sh knows 6.1 (bookworm) and 6.12 (trixie)" >&2
		exit 2
		;;
	esac
}

for series in "$@"; do
	opts=$(apt_for "$series")
	# shellcheck disable=SC2086
	apt-get $opts update -q >/dev/null
	# The metapackage names the current ABI's image package.
	# shellcheck disable=SC2086
	pkg=$(apt-cache $opts depends linux-image-amd64 |
	      awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	[ -n "$pkg" ] || { echo "Error: no linux-image package behind linux-image-amd64 for $series" >&2; exit 1; }
	dir=$cache/$series
	mkdir -p "$dir"
	# shellcheck disable=SC2086
	ver=$(apt-cache $opts show "$pkg" | awk '/^Version:/ { print $2; exit }')
	deb=$(ls "$dir"/"${pkg}"_"${ver//:/%3a}"_*.deb 2>/dev/null | head -n1 || true)
	if [ -z "$deb" ] || [ ! -d "$dir/root/boot" ]; then
		rm -rf "$dir/root" "$dir"/*.deb
		# shellcheck disable=SC2086
		(cd "$dir" && apt-get $opts -o APT::Sandbox::User=root download -q "$pkg=$ver" >/dev/null)
		deb=$(ls "$dir"/*.deb | head -n1)
		dpkg-deb -x "$deb" "$dir/root"
	fi
	# bookworm ships /lib/modules, trixie (merged /usr) /usr/lib/modules
	kver=$(basename "$(ls -d "$dir"/root/lib/modules/* "$dir"/root/usr/lib/modules/* 2>/dev/null | head -n1)")
	echo "$series $kver $ver $dir/root"
done
