#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The tests must not depend on where the tree is: built where root
# naturally clones it (/root, mode 0700), test_cmds runs the binary as an
# unprivileged user, who could not reach it ("got 127, want 1").  Here
# test_cmds runs against a copy of the binary in a 0700 directory, as in
# such a tree.  Root only (as nobody the question does not arise).
set -u
[ "$(id -u)" = 0 ] || { echo "# not root: nothing to check"; exit 249; }
out=$(cd "$(dirname "${ALPNSTEER:?}")" && pwd)
d=$(mktemp -d /tmp/alpnsteer-private.XXXXXX)
trap 'rm -rf "$d"' EXIT
chmod 0700 "$d"
mkdir -m 0700 "$d/tree"
cp "$ALPNSTEER" "$d/tree/alpnsteer"
ALPNSTEER=$d/tree/alpnsteer "$out/tests/test_cmds"
