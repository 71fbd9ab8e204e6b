#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The TLS worker starts clean (issue 20, point 11): its memory holds no key
# authorization, whichever process had them when it was started.  In agent
# mode the monitor (and so a forked worker) descends from the agent, which
# holds every key authorization; and a worker restarted after a death was
# forked from a monitor that held them all.  The worker is exec'd, so
# neither leaves it anything: a distinctive key authorization added through
# the agent is found in the monitor's memory (the scan can fail) and in no
# worker's, the first one or a restarted one.
. "$(dirname "$0")/lib.sh"
st_setup
st_dmesg_mark
st() { awk -v k="$2:" '$1 == k {print $2}' /proc/$1/status; }
monitor() { status_field 'd["pid"]'; }
worker_of() { pgrep -P "$1" | head -1; }
# wait_worker MONITOR [NOT_PID]: a confined worker (other than NOT_PID)
wait_worker() {
	local i w
	for i in $(seq 1 100); do
		w=$(worker_of "$1")
		if [ -n "$w" ] && [ "$w" != "${2:-}" ] &&
		   [ "$(st "$w" NoNewPrivs)" = 1 ] && [ "$(st "$w" Uid)" != 0 ] &&
		   grep -q 'Max processes *0 ' /proc/$w/limits 2>/dev/null; then
			echo "$w"
			return 0
		fi
		sleep 0.1
	done
	return 1
}
scan() { python3 "$HERE/memscan.py" "$1" "$2" 2> "$ST_WORK/scan.err"; sed 's/^/#   /' "$ST_WORK/scan.err" >&2; }
alpn() { tls $SRV4 --alpn acme-tls/1 --sni "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("alpn"))'; }

agent_case() {
	local tok mon w w2 n
	# Distinctive, and built here so that no file of the tree holds it.
	tok="keyauth-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n').thumbprint-$$"
	st_spawn nsenter --net=/var/run/netns/$ST_SRV "$ALPNSTEER" agent --grace 2s \
		> "$ST_WORK/agent.log" 2>&1
	for i in $(seq 1 50); do "$ALPNSTEER" agent status >/dev/null 2>&1 && break; sleep 0.1; done
	check "challenge add clean.test through the agent" as challenge add clean.test "$tok"
	expect_eq "clean.test is answered" "$(alpn clean.test)" acme-tls/1
	mon=$(monitor)
	w=$(wait_worker "$mon") || w=
	check "the monitor ($mon) has a confined worker" test -n "$w"
	# libcurl is loaded only where etcd is spoken (user/agent/curl_dl.h):
	# linked, it and its thirty libraries were 4 MiB resident in each.
	for p in "$mon" "$w"; do
		echo "# pid $p: VmRSS $(st "$p" VmRSS) kB, $(awk '{print $6}' /proc/$p/maps | grep -c '\.so') library mappings"
	done
	check "the monitor maps no libcurl" sh -c "! grep -q libcurl /proc/$mon/maps"
	check "the worker maps no libcurl" sh -c "! grep -q libcurl /proc/$w/maps"
	# The worker's own image (alpnsteer-worker): OpenSSL and libseccomp,
	# none of the monitor's libraries.
	expect_eq "the worker runs alpnsteer-worker" "$(basename "$(readlink /proc/$w/exe)")" alpnsteer-worker
	check "the worker maps no libbpf or libsystemd" sh -c "! grep -Eq 'libbpf|libsystemd|libnl|libjson' /proc/$w/maps"
	n=$(scan "$mon" "$tok")
	echo "# key authorization in the monitor's memory: $n"
	check "the scan finds the key authorization in the monitor ($n)" test "${n:-0}" -gt 0
	n=$(scan "$w" "$tok")
	echo "# key authorization in the worker's memory: $n"
	expect_eq "the worker's memory holds no key authorization" "$n" 0
	# A worker started again after a death, from a monitor that holds
	# every pending challenge by then.
	kill -9 "$w"
	w2=$(wait_worker "$mon" "$w") || w2=
	check "a new worker is started" test -n "$w2"
	expect_eq "clean.test is answered by it" "$(alpn clean.test)" acme-tls/1
	n=$(scan "$w2" "$tok")
	echo "# key authorization in the restarted worker's memory: $n"
	expect_eq "the restarted worker's memory holds no key authorization" "$n" 0
	as agent stop > /dev/null 2>&1 || true
}
st_test agent agent_case

st_dmesg_clean
st_summary
