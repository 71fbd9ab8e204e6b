#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The C sources are formatted as .clang-format (the kernel's) says, with
# the clang-format of Debian 12 (clang-format-14: another version formats
# some constructs differently).  Each file that differs is named with the
# first lines of its diff.  No root.  Skipped (249) without clang-format-14,
# except in CI, where scripts/install-deps.sh installs it.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
cf=${CLANG_FORMAT:-clang-format-14}
if ! command -v "$cf" >/dev/null; then
	if [ "${CI:-}" = true ]; then
		echo "not ok $cf is missing (scripts/install-deps.sh installs it)"
		echo "0 passed, 1 failed"
		exit 1
	fi
	echo "# $cf is missing: skipped"
	echo "0 passed, 0 failed, 1 skipped"
	exit 249
fi
cd "$src"
files=0 failed=0
# git's list where this is a checkout's top; a copy of the tree inside one
# (make deb's $(OUTPUT)/deb/src, ignored by git) lists its own files.
if [ "$(git rev-parse --show-toplevel 2>/dev/null)" = "$src" ]; then
	list() { git ls-files 'bpf/*.[ch]' 'user/*.[ch]' 'include/*.h' 'tests/*.[ch]' 'tools/*.[ch]'; }
else
	list() { ls bpf/*.[ch] user/*.[ch] user/*/*.[ch] include/*.h tests/*.[ch] tools/*.[ch] 2>/dev/null; }
fi
for f in $(list); do
	if d=$("$cf" --style=file "$f" | diff -u "$f" - 2>&1); then
		files=$((files + 1))
	else
		failed=$((failed + 1))
		echo "not ok $f is not formatted ('make format' fixes it):"
		echo "$d" | sed -n '3,12p' | sed 's/^/    /'
	fi
done
# One check, not one per file: the tree is formatted or it is not.
if [ "$failed" -eq 0 ] && [ "$files" -gt 0 ]; then
	echo "ok all $files C files formatted as .clang-format says"
	echo "1 passed, 0 failed"
	exit 0
fi
echo "not ok $failed of $((files + failed)) C files are not formatted"
echo "0 passed, 1 failed"
exit 1
