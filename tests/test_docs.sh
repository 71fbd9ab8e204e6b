#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The generated documents at work: alpnsteer(8) renders without a groff
# warning, and the bash completion completes (through bash-completion, as
# an installed one is loaded).  test_cmds checks that both match the
# command table; this checks that they are right.  No root.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$here/..
passed=0 failed=0
ok() {
	local what=$1
	shift
	if "$@"; then
		passed=$((passed + 1))
		echo "ok $what"
	else
		failed=$((failed + 1))
		echo "not ok $what"
	fi
}

if command -v groff >/dev/null; then
	warn=$(groff -man -ww -z -Tutf8 "$src/man/alpnsteer.8" 2>&1)
	ok "alpnsteer(8) renders without warnings" test -z "$warn"
	[ -z "$warn" ] || echo "$warn" | head -5 | sed 's/^/    /'
	page=$(MANWIDTH=80 groff -man -Tutf8 -P-cbou "$src/man/alpnsteer.8" 2>/dev/null)
	for s in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS "EXIT STATUS" FILES EXAMPLES "SEE ALSO"; do
		ok "alpnsteer(8) has $s" grep -q "^$s\$" <<<"$page"
	done
	ok "alpnsteer(8) options are minus signs, copyable" \
		grep -q -- "--preclassify IFACE" <<<"$page"
else
	echo "# groff missing (apt-get install groff-base): man page not rendered"
fi

bc=/usr/share/bash-completion/bash_completion
if [ -r "$bc" ]; then
	# comp WORD... : what completing the last word offers
	comp() {
		bash -c '. "$1"; . "$2"; shift 2
			COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
			COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
			_alpnsteer; echo "${COMPREPLY[*]}"' _ "$bc" "$src/completion/alpnsteer.bash" "$@"
	}
	ok "completes the verbs" test "$(comp alpnsteer ch)" = "challenge check"
	ok "completes after global options" test "$(comp alpnsteer -j -v st)" = "status"
	ok "completes sub-verbs" test "$(comp alpnsteer challenge "")" = "add remove list trace"
	ok "completes a sub-verb's options" test "$(comp alpnsteer challenge add a.test --d)" = "--digest"
	ok "completes a verb's options" test "$(comp alpnsteer attach --pre)" = "--preclassify"
	ok "skips an option's value" test "$(comp alpnsteer attach --holder x --tt)" = "--ttl"
	ok "completes users" grep -qw root <<<"$(comp alpnsteer attach --user ro)"
	ok "completes interfaces" grep -qw lo <<<"$(comp alpnsteer attach --preclassify "")"
	ok "no guess for a port" test -z "$(comp alpnsteer attach --port "")"
	# The agent takes attach's options and has a sub-verb (issue 21, 6).
	ok "agent completes attach's options" test "$(comp alpnsteer agent --alpn)" = "--alpn-dir"
	ok "agent completes its own options" test "$(comp alpnsteer agent --gr)" = "--grace"
	ok "agent completes its sub-verbs" test "$(comp alpnsteer agent st)" = "status stop"
	ok "agent skips an option's value" test "$(comp alpnsteer agent --alpn-dir /tmp --per)" = "--per-source"
	ok "help completes verbs" test "$(comp alpnsteer help ver)" = "version"
	ok "global options" test "$(comp alpnsteer --ver)" = "--verbose --version"
else
	echo "# bash-completion missing (apt-get install bash-completion): completion not run"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
