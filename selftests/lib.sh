#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# lib.sh - shared set-up for the alpnsteer selftests (sourced, root).
#
# Topology: netns st-srv (nginx on 443, the external responder, the hashing
# upstream, alpnsteer) and st-cli (the clients), joined by a veth pair:
#   st-srv 198.18.4.1/24 fd00:a5:4::1/64  <->  st-cli 198.18.4.2/24 fd00:a5:4::2/64
# Everything started is remembered by PID and ended by PID.  ST_NS (default
# "st") prefixes the namespace and veth names; selftests/isolate.sh sets it.
#
# ST_WEB picks the webserver on 443, each its packaged binary with a private
# config, pid and log directory under $ST_WORK (templates in selftests/web/):
#   nginx (default)  nginx-deferred (listen ... deferred reuseport, 2 workers)
#   nginx-tfo (fastopen=256, TFO clients)  apache2 (mpm_event, mod_ssl, as
#   Debian ships it: TCP_DEFER_ACCEPT)  lighttpd  haproxy (terminating TLS)
#   caddy (Go, one dual-stack [::]:443 listener)
# All serve / (hello-from-nginx), /big.bin (10 MiB) and /upload (hashed by
# hashsrv.py) with the same certificate (CN nginx-real).

ST_NS=${ST_NS:-st}
ST_SRV=$ST_NS-srv
ST_CLI=$ST_NS-cli
ST_V0=$ST_NS-v0
ST_V1=$ST_NS-v1
SRV4=198.18.4.1
SRV6=fd00:a5:4::1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ALPNSTEER=${ALPNSTEER:?ALPNSTEER must name the alpnsteer binary}
ST_WEB=${ST_WEB:-nginx}
ST_WEBS="nginx nginx-deferred nginx-tfo apache2 lighttpd haproxy caddy"
case " $ST_WEBS " in
*" $ST_WEB "*) ;;
*) echo "Error: ST_WEB=$ST_WEB is none of: $ST_WEBS" >&2; exit 2 ;;
esac
# TFO clients next to the TFO webserver (clients.py, loadgen.py, web_curl)
st_tfo() {
	if [ "$ST_WEB" = nginx-tfo ]; then export ST_TFO=1; else unset ST_TFO; fi
}
st_tfo
ST_PIDS=()
ST_PASS=0
ST_FAIL=0
ST_N=0

ok() {
	ST_N=$((ST_N + 1))
	ST_PASS=$((ST_PASS + 1))
	echo "ok $ST_N - $*"
}

not_ok() {
	ST_N=$((ST_N + 1))
	ST_FAIL=$((ST_FAIL + 1))
	echo "not ok $ST_N - $*"
}

# check DESCRIPTION COMMAND...: ok when COMMAND succeeds.
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# expect_eq DESCRIPTION GOT WANT
expect_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1 (got '$2', want '$3')"
	fi
}

st_summary() {
	echo "$ST_PASS passed, $ST_FAIL failed, $ST_SKIP skipped"
	[ "$ST_FAIL" -eq 0 ]
}

# One function per test, as in xdp-tools' test-lib.sh:
#
#	test_small_mtu() {
#		st_require_cmd ethtool
#		check "attach" as attach --forward 127.0.0.1:8443
#		st_defer as detach --all --wait=10
#		...
#	}
#	st_setup
#	st_test small_mtu test_small_mtu
#	st_summary
#
# st_test runs the function in a subshell, so whatever it changes stays in
# it; then the cleanups it registered with st_defer (last first), and it
# ends the processes it started with st_spawn.  Its checks count as in a
# plain file; a function that returns non-zero without a failed check is
# one more failure.  A test that cannot run here (a tool not installed, a
# kernel feature missing) ends with st_skip REASON, or exits 249 (xdp-tools'
# SKIPPED_TEST): counted and printed as skipped, never as a pass.  ST_ONLY
# ("name ...") runs only the tests named.  Files not written this way still
# run as before; st_skip at the top of one skips the whole file.
ST_SKIP=0
ST_SKIPPED=249
ST_DEFERS=()
ST_IN_TEST=

# st_defer COMMAND...: run COMMAND after the current test (or, outside a
# test, at st_cleanup), whatever the test's outcome.
st_defer() {
	ST_DEFERS+=("$(printf '%q ' "$@")")
}

# Last registered first; each is taken off the list before it runs, so a
# cleanup that runs the cleanups itself (st_cleanup) runs none twice.
st_run_defers() {
	local c
	while [ ${#ST_DEFERS[@]} -gt 0 ]; do
		c=${ST_DEFERS[-1]}
		unset 'ST_DEFERS[-1]'
		eval "$c" >/dev/null 2>&1 || true
	done
}

# st_on_exit COMMAND: what a set-up must undo: at the end of the current
# test inside st_test (whose own EXIT trap must stay), else at exit.
st_on_exit() {
	if [ -n "$ST_IN_TEST" ]; then
		st_defer "$@"
	else
		trap "$*" EXIT
	fi
}

# st_skip REASON: the current test (outside a test: the whole file) cannot
# run here.
st_skip() {
	echo "# SKIP: $*"
	if [ -z "$ST_IN_TEST" ]; then
		ST_SKIP=$((ST_SKIP + 1))
		st_summary
	fi
	exit $ST_SKIPPED
}

# skipped REASON: one part of a test could not run here (a sub-test that
# exited 249): counted as skipped, and the test goes on.
skipped() {
	ST_SKIP=$((ST_SKIP + 1))
	echo "# SKIP: $*"
}

# st_require_cmd TOOL...: skip unless every TOOL is installed
st_require_cmd() {
	local t p
	for t in "$@"; do
		# command -v also names a file it found but cannot run
		p=$(command -v "$t" 2>/dev/null) &&
			{ [ "${p#/}" = "$p" ] || [ -f "$p" -a -x "$p" ]; } ||
			st_skip "$t is not installed"
	done
}

# st_require_feature NAME...: skip unless `alpnsteer features -j` finds
# each kernel feature (skb_verdict, tcx, for_each_map_elem, ...)
st_require_feature() {
	local f have
	for f in "$@"; do
		have=$("$ALPNSTEER" features -j 2>/dev/null | python3 -c \
			"import json,sys; print(json.load(sys.stdin)['features'].get('$f'))" 2>/dev/null)
		[ "$have" = True ] || st_skip "the kernel lacks $f (alpnsteer features)"
	done
}

# The end of a test, in its subshell: its cleanups, its processes, and
# its counts for the parent.
__st_test_end() {
	local rc=$1 p
	st_run_defers
	for p in "${ST_PIDS[@]:$__st_npids}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${ST_PIDS[@]:$__st_npids}"; do
		{ wait "$p"; } 2>/dev/null || true
	done
	echo "$rc $ST_N $ST_PASS $ST_FAIL $ST_SKIP" > "$__st_result"
}

# st_require_web [WEB]: skip unless the webserver (default $ST_WEB) is
# installed
st_require_web() {
	case ${1:-$ST_WEB} in
	nginx*) st_require_cmd nginx ;;
	*) st_require_cmd ${1:-$ST_WEB} ;;
	esac
}

# st_require_usable: skip unless `alpnsteer features` finds every kernel
# feature alpnsteer needs (skb_verdict, ...); the reason names the missing
# A binary that cannot run, or a features report that does not parse, is a
# failure, never a skip: a skip would hide the very thing under test.
st_require_usable() {
	local f
	f=$("$ALPNSTEER" features -j 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
print("" if d["usable"] else d["missing"] or "?")' 2>/dev/null) || {
		not_ok "'$ALPNSTEER features -j' runs and reports"
		st_summary
		exit 1
	}
	[ -z "$f" ] || st_skip "the kernel lacks what alpnsteer needs: $f"
}

# idents JSON: the identifiers of `challenge trace -j` or `challenge list -j`
# records, sorted, on one line (an SNI never pending: "sni:NAME")
idents() {
	python3 -c '
import json, sys
try:
    t = json.loads(sys.argv[1])
except ValueError:
    print("not JSON: " + sys.argv[1][:200]); sys.exit()
print(" ".join(sorted(x["identifier"] or "sni:" + x["sni"] for x in t)))' "$1"
}

# st_test NAME FUNCTION [ARGS...]
st_test() {
	local name=$1 rc n p f sk res st
	shift
	if [ -n "${ST_ONLY:-}" ] && [[ " $ST_ONLY " != *" $name "* ]]; then
		return 0
	fi
	res=$(mktemp /tmp/alpnsteer-st-test.XXXXXX)
	echo "# test $name"
	(
		ST_IN_TEST=$name
		ST_PASS=0
		ST_FAIL=0
		ST_SKIP=0
		ST_DEFERS=()
		__st_npids=${#ST_PIDS[@]}
		__st_result=$res
		trap '__st_test_end $?' EXIT
		trap 'exit 130' INT TERM
		"$@"
	)
	st=$?
	# The subshell's EXIT trap writes "rc n pass fail skip"; a test
	# killed before it ran (SIGKILL, a crash of bash) wrote nothing,
	# and that is a failure, never a pass.
	if ! read -r rc n p f sk < "$res" 2>/dev/null || [ -z "$sk" ]; then
		n=$((ST_N + 1)) p=0 f=1 sk=0 rc=0
		echo "not ok $n - $name ended without its result (exit status $st)"
	fi
	rm -f "$res"
	ST_N=$n
	ST_PASS=$((ST_PASS + p))
	ST_FAIL=$((ST_FAIL + f))
	ST_SKIP=$((ST_SKIP + sk))
	if [ "$rc" -eq "$ST_SKIPPED" ]; then
		ST_SKIP=$((ST_SKIP + 1))
		echo "# test $name: skipped"
	elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		not_ok "$name ended with exit status $rc"
		echo "# test $name: failed"
	else
		[ "$f" -eq 0 ] && echo "# test $name: passed" || echo "# test $name: failed"
	fi
	return 0
}

in_srv() { nsenter --net=/var/run/netns/$ST_SRV "$@"; }
in_cli() { ip netns exec $ST_CLI "$@"; }
# ST_PRECLASSIFY=1: every attach also gets --preclassify (the tc spike)
as() {
	if [ "$1" = attach ] && [ -n "${ST_PRECLASSIFY:-}" ]; then
		shift
		in_srv "$ALPNSTEER" attach --preclassify "$ST_V0,lo" "$@"
	else
		in_srv "$ALPNSTEER" "$@"
	fi
}
status_json() { "$ALPNSTEER" -j status; }

# counter NAME: one of status -j's counters (0 when detached)
counter() {
	status_json | python3 -c "import json,sys; print(json.load(sys.stdin)['counters']['$1'])"
}

# wait_for EXPR WANT [TENTHS]: poll status -j until the Python expression
# EXPR over it (d) prints WANT; TENTHS of a second at most (default 200).
wait_for() {
	local i
	for i in $(seq 1 "${3:-200}"); do
		[ "$(status_field "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

status_field() {
	status_json | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

# tls HOST [clients.py options] -> one JSON line
tls() { in_cli python3 "$HERE/clients.py" tls "$@"; }
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1]).get('$2'))" "$1"; }

# nginx knows no acme-tls/1: it answers such a hello with alert 120.  Next
# to another ST_WEB: the webserver answers it as with nothing attached.
nginx_refuses_acme() {
	case $ST_WEB in
	nginx*) field "$(tls $1 --alpn acme-tls/1 --sni $2)" error | grep -qi "no.application.protocol" ;;
	*) web_got_acme "$@" ;;
	esac
}

# acme_answer HOST SNI: how port 443 answers an acme-tls/1 hello, as one
# comparable line: the TLS error, or the certificate's CN and the ALPN.
acme_answer() {
	local r
	r=$(tls $1 --alpn acme-tls/1 --sni $2)
	if [ "$(field "$r" ok)" = True ]; then
		echo "cn=$(field "$r" cn) alpn=$(field "$r" alpn)"
	else
		field "$r" error
	fi
}

# web_got_acme HOST SNI: an acme-tls/1 hello reached the webserver: the
# answer is the one st_setup saw with nothing attached (nginx and lighttpd
# send alert 120, Apache alert 110, Caddy, which looks for a challenge
# certificate of its own, alert 80; HAProxy completes with no ALPN).
web_got_acme() {
	[ "$(acme_answer $1 $2)" = "$ST_WEB_ACME" ]
}

# tfo_passive: connections the server accepted with data in the SYN
tfo_passive() {
	ip netns exec $ST_SRV nstat -saz TcpExtTCPFastOpenPassive | awk '/TcpExt/ {print $2}'
}

# web_curl ARGS...: curl from the client namespace (TFO next to nginx-tfo)
web_curl() { in_cli curl ${ST_TFO:+--tcp-fastopen} "$@"; }

# Does the webserver answer plain HTTP on its TLS port with a 400?
web_says_400() {
	case $ST_WEB in nginx*|apache2|caddy) return 0 ;; esac
	return 1
}

# web_pids: the webserver's processes (master and workers) in the server
# namespace, for counting their descriptors.
web_pids() {
	local p=$ST_WEB_PID
	echo "$p"
	pgrep -P "$p" || true
}

# web_fds: descriptors held by all of the webserver's processes
web_fds() {
	local p n=0
	for p in $(web_pids); do
		n=$((n + $(ls /proc/$p/fd 2>/dev/null | wc -l)))
	done
	echo $n
}

st_dmesg_mark() {
	ST_DMESG_LINES=$(dmesg | wc -l)
}

# 0 when the kernel logged no WARN/BUG/Oops since st_dmesg_mark (its own
# reports only, selftests/kernel_warns.sh: not a user-space process's
# "traps: ... general protection fault" line)
st_dmesg_clean() {
	local bad
	bad=$(dmesg | tail -n +$((ST_DMESG_LINES + 1)) | bash "$HERE/kernel_warns.sh")
	if [ -n "$bad" ]; then
		echo "# kernel said:"
		echo "$bad" | sed 's/^/#   /'
		return 1
	fi
	return 0
}

st_spawn() {
	"$@" &
	ST_PIDS+=($!)
}

st_cleanup() {
	local p
	st_run_defers
	"$ALPNSTEER" detach --all --wait=20 >/dev/null 2>&1 || true
	for p in "${ST_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${ST_PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	ST_PIDS=()
	ip netns del $ST_SRV 2>/dev/null || true
	ip netns del $ST_CLI 2>/dev/null || true
	[ -n "${ST_WORK:-}" ] && rm -rf "$ST_WORK"
	return 0
}

wait_port() {
	local i
	for i in $(seq 1 100); do
		in_srv bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "# nothing listens on $1:$2" >&2
	return 1
}

# st_start_web: start $ST_WEB in the server namespace, in the foreground
# (its PID is the master's, in ST_WEB_PID and ST_PIDS), never the system
# service and never its files under /etc.
st_start_web() {
	local w=$ST_WORK/web conf
	mkdir -p "$w"
	chmod -R a+rX "$ST_WORK/www"
	case $ST_WEB in
	nginx) conf=$HERE/nginx.conf.in ;;
	apache2) conf=$HERE/web/apache2.conf.in ;;
	lighttpd) conf=$HERE/web/lighttpd.conf.in ;;
	haproxy) conf=$HERE/web/haproxy.cfg.in ;;
	caddy) conf=$HERE/web/Caddyfile.in ;;
	*) conf=$HERE/web/$ST_WEB.conf.in ;;
	esac
	sed "s|@WORK@|$ST_WORK|g" "$conf" > "$w/$(basename "$conf" .in)"
	conf=$w/$(basename "$conf" .in)
	st_tfo # a test may go through several ST_WEB
	if [ "$ST_WEB" = nginx-tfo ]; then
		ip netns exec $ST_SRV sysctl -qw net.ipv4.tcp_fastopen=3
		ip netns exec $ST_CLI sysctl -qw net.ipv4.tcp_fastopen=3
	fi
	case $ST_WEB in
	nginx*)
		st_spawn ip netns exec $ST_SRV nginx -c "$conf" ;;
	apache2)
		mkdir -p "$ST_WORK/apache2/run"
		st_spawn ip netns exec $ST_SRV apache2 -DFOREGROUND -d "$ST_WORK/apache2" -f "$conf" ;;
	lighttpd)
		st_spawn ip netns exec $ST_SRV lighttpd -D -f "$conf" ;;
	haproxy)
		cat "$ST_WORK/nginx.crt" "$ST_WORK/nginx.key" > "$ST_WORK/web.pem"
		# -db: in the foreground, so that it is ended by PID like the rest
		st_spawn ip netns exec $ST_SRV haproxy -db -f "$conf" -p "$ST_WORK/haproxy.pid" \
			>>"$ST_WORK/logs/haproxy.log" 2>&1 ;;
	caddy)
		mkdir -p "$ST_WORK/caddy"
		st_spawn ip netns exec $ST_SRV env HOME="$ST_WORK/caddy" \
			XDG_DATA_HOME="$ST_WORK/caddy" XDG_CONFIG_HOME="$ST_WORK/caddy" \
			caddy run --config "$conf" --adapter caddyfile \
			>>"$ST_WORK/logs/caddy.out" 2>&1 ;;
	esac
	ST_WEB_PID=${ST_PIDS[-1]}
}

# st_restart_web: stop the webserver (by PID) and start it again; the way
# a test ends the sockets a failed case left it holding.
st_restart_web() {
	local i
	kill "$ST_WEB_PID" 2>/dev/null || true
	wait "$ST_WEB_PID" 2>/dev/null || true
	for i in $(seq 1 100); do
		[ -z "$(in_srv ss -Htln '( sport = :443 )')" ] && break
		sleep 0.1
	done
	st_start_web
	wait_port 127.0.0.1 443 && wait_web
}

# st_setup [MTU]: namespaces, certificates, nginx, upstream, responder.
st_setup() {
	local mtu=${1:-}
	st_require_web
	st_require_usable
	st_cleanup
	st_on_exit st_cleanup
	trap 'exit 130' INT TERM
	ST_WORK=$(mktemp -d /tmp/alpnsteer-selftest.XXXXXX)
	chmod 755 "$ST_WORK"
	ip netns add $ST_SRV
	ip netns add $ST_CLI
	ip link add $ST_V0 type veth peer name $ST_V1
	ip link set $ST_V0 netns $ST_SRV
	ip link set $ST_V1 netns $ST_CLI
	ip -n $ST_SRV addr add $SRV4/24 dev $ST_V0
	ip -n $ST_CLI addr add 198.18.4.2/24 dev $ST_V1
	ip -n $ST_SRV addr add $SRV6/64 dev $ST_V0 nodad
	ip -n $ST_CLI addr add fd00:a5:4::2/64 dev $ST_V1 nodad
	ip -n $ST_SRV link set lo up
	ip -n $ST_CLI link set lo up
	if [ -n "$mtu" ]; then
		# Small segments, no offloads: hellos cross in several skbs.
		ip -n $ST_SRV link set $ST_V0 mtu "$mtu"
		ip -n $ST_CLI link set $ST_V1 mtu "$mtu"
		ip netns exec $ST_SRV ethtool -K $ST_V0 tso off gso off gro off >/dev/null 2>&1 || true
		ip netns exec $ST_CLI ethtool -K $ST_V1 tso off gso off gro off >/dev/null 2>&1 || true
	fi
	ip -n $ST_SRV link set $ST_V0 up
	ip -n $ST_CLI link set $ST_V1 up

	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=nginx-real \
		-keyout "$ST_WORK/nginx.key" -out "$ST_WORK/nginx.crt" 2>/dev/null
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=acme-responder \
		-keyout "$ST_WORK/acme.key" -out "$ST_WORK/acme.crt" 2>/dev/null
	mkdir -p "$ST_WORK/www" "$ST_WORK/tmp" "$ST_WORK/logs"
	echo hello-from-nginx > "$ST_WORK/www/index.html"
	head -c 10485760 /dev/urandom > "$ST_WORK/www/big.bin"
	BIG_SHA=$(sha256sum "$ST_WORK/www/big.bin" | cut -d' ' -f1)
	st_start_web
	st_spawn nsenter --net=/var/run/netns/$ST_SRV python3 "$HERE/hashsrv.py" 8081 "$ST_WORK/www" \
		2>>"$ST_WORK/logs/hashsrv.log"
	# openssl s_server quits at EOF on stdin: feed it a FIFO held open.
	mkfifo "$ST_WORK/ss.in"
	exec 9<>"$ST_WORK/ss.in"
	st_spawn nsenter --net=/var/run/netns/$ST_SRV openssl s_server -quiet -accept 127.0.0.1:8443 \
		-alpn acme-tls/1 -cert "$ST_WORK/acme.crt" \
		-key "$ST_WORK/acme.key" < "$ST_WORK/ss.in" > "$ST_WORK/ss.log" 2>&1
	wait_port 127.0.0.1 443 && wait_port 127.0.0.1 8081 &&
		wait_port 127.0.0.1 8443 && wait_web || return 1
	ST_WEB_ACME=$(acme_answer $SRV4 a.test)
	[ "$(acme_answer $SRV6 a.test)" = "$ST_WEB_ACME" ] ||
		{ echo "# $ST_WEB answers acme-tls/1 differently over IPv4 and IPv6" >&2; return 1; }
}

# wait_web: the webserver answers GET / over IPv4 and IPv6 (it may open its
# port before its workers run)
wait_web() {
	local i h
	for h in $SRV4 "[$SRV6]"; do
		for i in $(seq 1 100); do
			[ "$(web_curl -sk --max-time 2 https://$h/)" = hello-from-nginx ] && break
			sleep 0.1
		done
		[ $i -lt 100 ] || { echo "# $ST_WEB does not answer on https://$h/" >&2; return 1; }
	done
}
