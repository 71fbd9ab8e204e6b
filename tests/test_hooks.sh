#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The ACME hooks' contract, without root: every add carries the ttl
# (ALPNSTEER_TTL), a remove that fails is reported (exit status and an
# Error line on stderr, which the ACME client logs), and a readiness
# check (ALPNSTEER_STORE_CHECK) that never passes fails the hook.  The
# store is one that cannot be reached (127.0.0.1 port 1); alpnsteer is
# the real binary, seen through a wrapper that records its arguments.
set -u
here=$(cd "$(dirname "$0")" && pwd)
hooks=$here/../scripts/hooks
real=${ALPNSTEER:?ALPNSTEER=path/to/alpnsteer}
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
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The wrapper: records each call; with FAKE_ADD=1, a store add "succeeds"
# without a store, so that the readiness check after it can be tested.
# attach and detach never reach the real binary: make test runs as root in
# CI and in a package build, and a real attach there would steer the
# host's port 443 (it did: the lego 5 case left a keeper with a 1 h ttl).
cat > "$tmp/alpnsteer" <<EOF
#!/bin/bash
echo "\$*" >> "$tmp/calls"
case "\$1" in attach|detach) exit 0 ;; esac
if [ "\${FAKE_ADD:-}" = 1 ] && [ "\$1 \$2" = "challenge add" ]; then exit 0; fi
if [ "\${FAKE_ADD:-}" = 1 ] && [ "\$1 \$2" = "challenge remove" ]; then exit 0; fi
exec "$real" "\$@"
EOF
chmod +x "$tmp/alpnsteer"
export ALPNSTEER=$tmp/alpnsteer ALPNSTEER_STORE=https://127.0.0.1:1 ALPNSTEER_RUN_DIR=$tmp/run
D=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
B64=ASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4mrze8

run() { # run NAME CMD...: exit status in $rc, stderr in $err
	: > "$tmp/calls"
	"$@" > "$tmp/out" 2> "$tmp/err" && rc=0 || rc=$?
	err=$(cat "$tmp/err")
}

# The ttl reaches the add, for uacme and dehydrated alike.
run env ALPNSTEER_TTL=90s "$hooks/uacme-hook.sh" begin tls-alpn-01 a.test tok "$B64"
ok "uacme begin: the add carries --ttl 90s" grep -q -- "^challenge add a.test --digest $B64 --ttl 90s" "$tmp/calls"
ok "uacme begin: an add the store refuses fails the hook (exit $rc)" test $rc -ne 0
run env ALPNSTEER_TTL=2m "$hooks/dehydrated-hook.sh" deploy_challenge a.test tok "$D"
ok "dehydrated deploy: the add carries --ttl 2m" grep -q -- "^challenge add a.test --digest $D --ttl 2m" "$tmp/calls"
run env FAKE_ADD=1 "$hooks/uacme-hook.sh" begin tls-alpn-01 a.test tok "$B64"
ok "uacme begin: without ALPNSTEER_TTL, the add carries --ttl 1h" grep -q -- "--ttl 1h" "$tmp/calls"

# A failed remove is reported: non-zero, and an Error line.
run "$hooks/uacme-hook.sh" done tls-alpn-01 a.test tok "$B64"
ok "uacme done: a remove the store refuses fails the hook (exit $rc)" test $rc -ne 0
ok "... with an Error line naming the name" grep -q "uacme-hook.sh: Error: could not remove the challenge for a.test" <<<"$err"
run "$hooks/uacme-hook.sh" failed tls-alpn-01 a.test tok "$B64"
ok "uacme failed: the same (exit $rc)" test $rc -ne 0
run "$hooks/dehydrated-hook.sh" clean_challenge a.test tok "$D" b.test tok "$D"
ok "dehydrated clean: a remove the store refuses fails the hook (exit $rc)" test $rc -ne 0
ok "... one Error line per name" test "$(grep -c "dehydrated-hook.sh: Error: could not remove" <<<"$err")" -eq 2
ok "... and the second name is still tried" grep -q "^challenge remove b.test" "$tmp/calls"
# Already gone (no agent, nothing attached) is no failure.
run env -u ALPNSTEER_STORE ALPNSTEER_AGENT=1 "$hooks/dehydrated-hook.sh" clean_challenge a.test tok "$D"
ok "dehydrated clean: nothing pending here is no failure (exit $rc: $err)" test $rc -eq 0

# The readiness check: a node that never answers fails the hook, and the
# challenge is taken back.
run env FAKE_ADD=1 ALPNSTEER_STORE_CHECK="127.0.0.1 ::1" ALPNSTEER_STORE_CHECK_WAIT=1 \
	ALPNSTEER_STORE_CHECK_OPTS="--port 1" "$hooks/uacme-hook.sh" begin tls-alpn-01 a.test tok "$B64"
ok "uacme begin: a node that does not answer fails the hook (exit $rc)" test $rc -ne 0
ok "... saying which node" grep -q "Error: node 127.0.0.1 does not answer a.test" <<<"$err"
ok "... the check had the options of ALPNSTEER_STORE_CHECK_OPTS" grep -q -- "^check a.test --address 127.0.0.1 --port 1" "$tmp/calls"
ok "... and the challenge is taken back" grep -q "^challenge remove a.test" "$tmp/calls"
run env FAKE_ADD=1 ALPNSTEER_STORE_CHECK="127.0.0.1" ALPNSTEER_STORE_CHECK_WAIT=1 \
	ALPNSTEER_STORE_CHECK_OPTS="--port 1" "$hooks/dehydrated-hook.sh" deploy_challenge a.test tok "$D"
ok "dehydrated deploy: the same (exit $rc)" test $rc -ne 0

# lego 5 calls prepost-hook.sh as its --pre-hook, split at spaces, with
# LEGO_HOOK_* in the environment: the same attach as acme.sh's, and the
# log says it was lego 5 (the attach is the wrapper's, above).
: > "$tmp/calls"
run env LEGO_HOOK_CERT_NAME=a.test "$hooks/prepost-hook.sh" pre 127.0.0.1:10443
ok "lego 5 pre-hook: attach --forward as the hook's holder" \
	grep -q -- "^attach --holder prepost-hook --ttl 1h --forward 127.0.0.1:10443" "$tmp/calls"
ok "... named in the log" grep -q "lego 5 pre-hook for a.test: forwarding to 127.0.0.1:10443" <<<"$err"
ok "... and nothing was attached for real" test ! -e "$tmp/run/keeper.pid" -a ! -d "$tmp/run"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
