#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# build-deb.sh OUTPUT: build the Debian packages (debian/, debhelper) and
# leave them as OUTPUT/alpnsteer_VERSION_ARCH.deb and
# OUTPUT/python3-certbot-alpnsteer_VERSION_all.deb; `make deb` runs this.
#
# dpkg-buildpackage builds in the tree it is given and writes its results
# into that tree's parent.  Neither is ours to litter (the parent of a
# worktree holds other worktrees; ./build may be in use by a test run), so
# the package is built from a copy of the tree in OUTPUT/deb/src: what git
# tracks plus files not yet added (not ignored ones), or, outside git,
# everything but build/.  The build reads /sys/kernel/btf/vmlinux (for
# vmlinux.h), so it needs a kernel with BTF, as `make` does.
set -euo pipefail
out=$(realpath -m "${1:?usage: scripts/build-deb.sh OUTPUT}")
cd "$(dirname "$0")/.."
top=$PWD
version=$(cat VERSION)
cl=$(dpkg-parsechangelog -S Version)
if [ "$cl" != "$version" ]; then
	echo "Error: debian/changelog is at $cl but VERSION says $version" >&2
	echo "Hint: add a debian/changelog entry for $version (dch -v $version)" >&2
	exit 1
fi
arch=$(dpkg --print-architecture)
work=$out/deb
rm -rf "$work"
mkdir -p "$work/src"
# OUTPUT inside the tree but not ignored must not be copied into itself.
excl=()
case $out/ in "$top"/*) excl=(--exclude="${out#"$top"/}" --exclude="./${out#"$top"/}") ;; esac
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# (tar's --exclude and --null only act on the names after them)
	git ls-files -z --cached --others --exclude-standard |
		tar --anchored "${excl[@]}" --ignore-failed-read --null -T - -cf - |
		tar -xf - -C "$work/src"
else
	tar --anchored "${excl[@]}" --exclude=./build --exclude=./.git -cf - . |
		tar -xf - -C "$work/src"
fi
# Nothing of the calling make may reach the package's own make: an OUTPUT
# passed down in MAKEFLAGS would have its `make clean` remove ours.
(cd "$work/src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u OUTPUT -u V \
	dpkg-buildpackage -b -us -uc -Jauto)
# Two packages from one source: alpnsteer and certbot's plugin.
for deb in alpnsteer_${version}_$arch.deb python3-certbot-alpnsteer_${version}_all.deb; do
	mv "$work/$deb" "$out/$deb"
	echo "built $out/$deb"
done
