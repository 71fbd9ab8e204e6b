#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The TLS worker's folder is a process boundary, and this makes it a build
# rule: a file under user/worker/ includes only the worker's own headers,
# lib's IPC header (lib/ipc.h: all it may say to the monitor) and
# include/ (the parsers the kernel runs too).  Not log.h (the worker never
# logs by itself: it sends IPC_LOG), not the monitor's, the lifecycle's or
# the loader's (docs/design.md, "Files").  No root.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=${ALPNSTEER_SRC:-$here/..}
passed=0 failed=0
for f in "$src"/user/worker/*.[ch]; do
	bad=
	for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
		if [ -e "$src/user/worker/$inc" ] || [ "$inc" = ipc.h ] ||
			[ -e "$src/include/$inc" ]; then
			continue
		fi
		bad="$bad $inc"
	done
	if [ -z "$bad" ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "not ok ${f#"$src"/} includes${bad}: the worker may include only user/worker/, lib/ipc.h and include/"
	fi
done
[ "$passed" -gt 0 ] || { echo "not ok no files under user/worker/"; failed=$((failed + 1)); }
[ "$failed" -eq 0 ] && echo "ok the worker's $passed files include only the worker's, lib/ipc.h and include/"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
