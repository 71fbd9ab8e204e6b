#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# New connections never stall (issue 8, point 1): NEWCONN_N (3,000) HTTPS
# GETs, each over a new TLS connection and each to be answered within 5 s,
# against each of NEWCONN_WEBS (Apache as Debian ships it, whose https
# listener has TCP_DEFER_ACCEPT, and nginx with `deferred reuseport`), IPv4
# and IPv6 in turn: with nothing attached (the baseline) and with
# alpnsteer attached, every one answered.  The counters are printed at the
# end of each attached run; a hung connection is shown as the server sees
# it (ss) and as the conns sockhash holds it.  One st_test per webserver.
. "$(dirname "$0")/lib.sh"
N=${NEWCONN_N:-3000}
WEBS=${NEWCONN_WEBS:-apache2 nginx-deferred}
THREADS=${NEWCONN_THREADS:-8}

# conns_count: sockets in the conns sockhash (bpftool sees this isolate's
# private bpffs; 0 when detached)
conns_count() {
	[ -e /sys/fs/bpf/alpnsteer/conns ] || { echo 0; return; }
	bpftool -j map dump pinned /sys/fs/bpf/alpnsteer/conns 2>/dev/null |
		python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null || echo "?"
}

# newconn LABEL: the N GETs; their JSON in $ST_WORK/LABEL.json.  Hung
# sockets stay open 4 s after the run, long enough to look at them.
newconn() {
	local label=$1 out=$ST_WORK/$1.json i
	: > "$out"
	st_spawn ip netns exec $ST_CLI python3 "$HERE/newconn.py" --host $SRV4 --host $SRV6 \
		--count "$N" --threads "$THREADS" --timeout 5 --hold 4 > "$out"
	local pid=${ST_PIDS[-1]}
	for i in $(seq 1 3000); do
		[ -s "$out" ] && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	NC=$(head -1 "$out")
	echo "# [$ST_WEB $label] $NC"
	if [ "$(field "$NC" failures)" != 0 ]; then
		echo "# [$ST_WEB $label] while the hung clients still wait:"
		echo "#   conns sockhash entries: $(conns_count)"
		echo "#   the first hung connections as the server sees them (ss -tnie):"
		local port
		for port in $(echo "$NC" | python3 -c '
import json, sys
for h in json.load(sys.stdin)["hung"][:3]:
    print(h["local"][1])'); do
			in_srv ss -tnie "( sport = :443 and dport = :$port )" | tail -n +2 | sed 's/^/#     /'
		done
	fi
	wait $pid 2>/dev/null || true
}

# print_counters LABEL: the counters that tell normal sockets' fate
print_counters() {
	echo "# [$ST_WEB $1] counters: $(status_json | python3 -c '
import json, sys
c = json.load(sys.stdin)["counters"]
print(" ".join("%s=%s" % (k, c.get(k)) for k in
      ("seen", "normal", "steered", "released", "release_deferred", "released_first")))')"
}

case_detached() {
	newconn detached
	expect_eq "[$ST_WEB] detached: $N new-connection GETs, every one answered" \
		"$(field "$NC" answered)" "$N"
}

case_attached() {
	check "[$ST_WEB] attach --forward" as attach --forward 127.0.0.1:8443
	local tfo0=$(tfo_passive)
	newconn attached
	print_counters attached
	expect_eq "[$ST_WEB] attached: $N new-connection GETs, every one answered within 5 s" \
		"$(field "$NC" answered)" "$N"
	check "[$ST_WEB] attached: the connections were seen" test "$(counter seen)" -ge "$N"
	if [ -n "${ST_TFO:-}" ]; then
		local n=$(( $(tfo_passive) - tfo0 ))
		check "[$ST_WEB] TFO: $n connections came with the hello in the SYN" test "${n:-0}" -ge "$N"
	fi
	expect_eq "[$ST_WEB] attached: a validation is still steered" \
		"$(field "$(tls $SRV4 --alpn acme-tls/1 --sni nc.test)" cn)" acme-responder
	local t0=$(date +%s%N)
	check "[$ST_WEB] detach --wait=10 drains" as detach --wait=10
	echo "# [$ST_WEB] detach took $(( ($(date +%s%N) - t0) / 1000000 )) ms"
}

# test_web WEB: the baseline and the attached run next to WEB, in a set-up
# of its own (skipped when WEB is not installed)
test_web() {
	ST_WEB=$1
	st_setup || { not_ok "[$ST_WEB] set-up"; return; }
	case_detached
	case_attached
}

st_dmesg_mark
for w in $WEBS; do
	st_test $w test_web $w
done
check "no kernel WARN" st_dmesg_clean
st_summary
