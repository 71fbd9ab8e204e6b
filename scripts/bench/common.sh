# SPDX-License-Identifier: GPL-2.0-only
# common.sh - what the benchmarks share (sourced by bench.sh and cpu.sh,
# after selftests/lib.sh): the webserver's certificate and cgroup, the
# configurations direct/attached/detached and their routing check, and the
# BPF run-time snapshots taken with kernel.bpf_stats_enabled.
#
# The sourcing script sets RES (its output directory), BENCH (this
# directory), PY, and ADDR[CONFIG] (where the client connects).

ALPNSTEER_PINS=/sys/fs/bpf/alpnsteer
HZ=$(getconf CLK_TCK)

log() { echo "# $(date -u +%H:%M:%S) $*" >&2; }
ms_now() { date +%s%3N; }

# PIDs of a process and all its descendants.
tree_pids() {
	local c
	echo "$1"
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		tree_pids "$c"
	done
}

# CPU time (clock ticks) of a process tree, reaped children included.
cpu_ticks() {
	local t=0 p f
	[ -n "${1:-}" ] || { echo 0; return; }
	for p in $(tree_pids "$1"); do
		f=$(sed 's/^.*) //' /proc/"$p"/stat 2>/dev/null) || continue
		set -- $f
		t=$((t + ${12} + ${13} + ${14} + ${15}))
	done
	echo $t
}

# bench_cert DIR: an ECDSA P-256 certificate (CN nginx-real) as most sites
# have now: cheaper handshakes than lib.sh's RSA, so a per-connection cost
# shows more.
bench_cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-days 2 -subj /CN=nginx-real -keyout "$1/nginx.key" \
		-out "$1/nginx.crt" 2>/dev/null
}

# bench_cgroup NAME: the path of a cgroup v2 directory NAME (made), at the
# root of the cgroup2 mount.
bench_cgroup() {
	local cg
	cg=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)/$1
	mkdir -p "$cg" && echo "$cg"
}

# bpf_stats_on / bpf_stats_restore: kernel.bpf_stats_enabled is host-wide;
# the value found is kept in STATS_WAS, which the caller's EXIT trap puts
# back too (even when killed).
bpf_stats_on() {
	STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl -q -w kernel.bpf_stats_enabled=1
}
bpf_stats_restore() {
	[ -n "${STATS_WAS:-}" ] && sysctl -q -w kernel.bpf_stats_enabled="$STATS_WAS"
	return 0
}

# (attach warns that listeners outside --cgroup are not steered: the
# splitters' are meant not to be; the warnings go to the log)
attach_fwd() {
	as attach --forward 127.0.0.1:8443 --cgroup "$BENCH_CG" "$@" > /dev/null \
		2>> "$RES/raw/attach.log"
}
detach_wait() { as detach --wait=60 > /dev/null; }

# verify CONFIG: acme-tls/1 reaches a responder (or, with nothing attached,
# nginx, which refuses it), any other ALPN reaches nginx.
verify() {
	local a=${ADDR[$1]} r cn alpn
	r=$(tls "$a" --alpn h2,http/1.1 --sni www.bench.test)
	[ "$(field "$r" cn)" = nginx-real ] || {
		log "$1: h2,http/1.1 did not reach nginx: $r"
		return 1
	}
	r=$(tls "$a" --alpn acme-tls/1 --sni bench.test)
	cn=$(field "$r" cn)
	alpn=$(field "$r" alpn)
	case $1 in
	direct | detached)
		echo "$r" | grep -qi "no.application.protocol" || {
			log "$1: acme-tls/1 did not reach nginx: $r"
			return 1
		} ;;
	ualpn)
		[ "$alpn" = acme-tls/1 ] && [ "$cn" != nginx-real ] || {
			log "$1: acme-tls/1 did not reach ualpn: $r"
			return 1
		} ;;
	*)
		[ "$cn" = acme-responder ] && [ "$alpn" = acme-tls/1 ] || {
			log "$1: acme-tls/1 did not reach the responder: $r"
			return 1
		} ;;
	esac
	return 0
}

# config_up CONFIG: make CONFIG's kernel side (nothing, or an attachment;
# detached: a real attachment that steered one validation, then gone).
config_up() {
	case $1 in
	attached)
		attach_fwd ;;
	preclass)
		attach_fwd --preclassify "$ST_V0,lo" ;;
	detached)
		attach_fwd && verify attached && detach_wait &&
			[ "$(status_field "d['attached']")" = False ] ;;
	esac
}

# config_down CONFIG: undo config_up
config_down() {
	case $1 in attached | preclass)
		detach_wait || log "detach after '$1' failed" ;;
	esac
	return 0
}

# kstat NAME COMMAND...: run COMMAND (a load against an attachment, with
# kernel.bpf_stats_enabled=1) between two snapshots of every BPF
# program's run_cnt/run_time_ns and of status -j; into RES/raw/NAME.json
# (benchlib.py prog_deltas reads it).
kstat() {
	local name=$1 j0 j1 c0 c1 tcprog
	shift
	# Ours, not another attachment's tc program of the same name.
	tcprog=$(bpftool -j link show pinned "$ALPNSTEER_PINS/link_tc0" 2>/dev/null |
		$PY -c 'import json,sys; print(json.load(sys.stdin)["prog_id"])' 2>/dev/null)
	j0=$("$ALPNSTEER" -j status)
	c0=$(bpftool -j prog show)
	"$@"
	sleep 0.5 # late RTT callbacks, for the release counters
	c1=$(bpftool -j prog show)
	j1=$("$ALPNSTEER" -j status)
	echo "{\"phase\": \"$name\", \"status0\": $j0, \"status1\": $j1, \"progs0\": $c0, \"progs1\": $c1, \"tc_prog\": ${tcprog:-0}}" \
		> "$RES/raw/$name.json"
}
