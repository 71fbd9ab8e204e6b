#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# lib.sh - shared set-up for the alpnsteer selftests (sourced, root).
#
# Topology: netns st-srv (nginx on 443, the external responder, the hashing
# upstream, alpnsteer) and st-cli (the clients), joined by a veth pair:
#   st-srv 198.18.4.1/24 fd00:a5:4::1/64  <->  st-cli 198.18.4.2/24 fd00:a5:4::2/64
# Everything started is remembered by PID and ended by PID.  ST_NS (default
# "st") prefixes the namespace and veth names; selftests/isolate.sh sets it.

ST_NS=${ST_NS:-st}
ST_SRV=$ST_NS-srv
ST_CLI=$ST_NS-cli
ST_V0=$ST_NS-v0
ST_V1=$ST_NS-v1
SRV4=198.18.4.1
SRV6=fd00:a5:4::1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ALPNSTEER=${ALPNSTEER:?ALPNSTEER must name the alpnsteer binary}
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
	echo "$ST_PASS passed, $ST_FAIL failed"
	[ "$ST_FAIL" -eq 0 ]
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

# nginx knows no acme-tls/1: it answers such a hello with alert 120.
nginx_refuses_acme() {
	field "$(tls $1 --alpn acme-tls/1 --sni $2)" error | grep -qi "no.application.protocol"
}

st_dmesg_mark() {
	ST_DMESG_LINES=$(dmesg | wc -l)
}

# 0 when the kernel logged no WARN/BUG since st_dmesg_mark
st_dmesg_clean() {
	local bad
	bad=$(dmesg | tail -n +$((ST_DMESG_LINES + 1)) |
	      grep -E 'WARNING:|BUG:|seq # bug|refcount_t|general protection|Oops' || true)
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

# st_setup [MTU]: namespaces, certificates, nginx, upstream, responder.
st_setup() {
	local mtu=${1:-}
	st_cleanup
	trap 'st_cleanup' EXIT
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
	sed "s|@WORK@|$ST_WORK|g" "$HERE/nginx.conf.in" > "$ST_WORK/nginx.conf"

	st_spawn ip netns exec $ST_SRV nginx -c "$ST_WORK/nginx.conf"
	st_spawn nsenter --net=/var/run/netns/$ST_SRV python3 "$HERE/hashsrv.py" 8081
	# openssl s_server quits at EOF on stdin: feed it a FIFO held open.
	mkfifo "$ST_WORK/ss.in"
	exec 9<>"$ST_WORK/ss.in"
	st_spawn nsenter --net=/var/run/netns/$ST_SRV openssl s_server -quiet -accept 127.0.0.1:8443 \
		-alpn acme-tls/1 -cert "$ST_WORK/acme.crt" \
		-key "$ST_WORK/acme.key" < "$ST_WORK/ss.in" > "$ST_WORK/ss.log" 2>&1
	wait_port 127.0.0.1 443 && wait_port 127.0.0.1 8081 &&
		wait_port 127.0.0.1 8443
}
