#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Connections that send nothing (issue 8, points 2 and 3), next to each of
# PROBES_WEBS (nginx and Apache as Debian ships it):
#  - 20 connect-and-close and 20 reset (SO_LINGER 0) probes while attached:
#    the webserver's sockets and descriptors are back to the detached
#    baseline within a second, as with nothing attached;
#  - 50 silent connections kept open across a `detach --wait=5`: the detach
#    returns within a second, and each connection then gets its answer;
#  - the time `detach --wait` takes with 0, 50 and 500 idle connections.
# One st_test per webserver (lib.sh).
. "$(dirname "$0")/lib.sh"
WEBS=${PROBES_WEBS:-nginx apache2}
# A detach with nothing steered in flight: within a second (the 500-idle
# case gets two), even on a busy machine.
DRAIN_MS=${DRAIN_MS:-1000}
DRAIN500_MS=${DRAIN500_MS:-2000}
# After a failed probe check, how long to watch the webserver recover (s)
RECOVER_S=${RECOVER_S:-10}

# web_socks: the webserver's sockets on 443 that are not listening or done
# (established, close-wait, last-ack, ...), in the server namespace
web_socks() {
	in_srv ss -Htn state connected state syn-recv exclude time-wait '( sport = :443 )' | wc -l
}

# back_to_baseline SOCKS FDS: poll up to a second for both to return
back_to_baseline() {
	local i
	for i in $(seq 1 10); do
		[ "$(web_socks)" = "$1" ] && [ "$(web_fds)" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# show_leftovers LABEL: what the webserver still holds
show_leftovers() {
	echo "# [$ST_WEB $1] sockets: $(web_socks) (baseline $BASE_SOCKS), fds: $(web_fds) (baseline $BASE_FDS)"
	in_srv ss -tnpe state connected exclude time-wait '( sport = :443 )' | head -6 | sed 's/^/#   /'
	echo "# [$ST_WEB $1] counters: $(status_json | python3 -c '
import json, sys
c = json.load(sys.stdin)["counters"]
print(" ".join("%s=%s" % (k, v) for k, v in c.items() if v))')"
}

# probes KIND LABEL: 20 probes of KIND (close | reset), then the baseline
probes() {
	if ! back_to_baseline "$BASE_SOCKS" "$BASE_FDS"; then
		# what an earlier check left behind would fail this one too
		echo "# [$ST_WEB $2 $1] not at the baseline before the probes: restarting $ST_WEB"
		st_restart_web
		measure_baseline
	fi
	in_cli python3 "$HERE/probes.py" "$1" $SRV4,$SRV6 --count 20 >/dev/null
	if back_to_baseline "$BASE_SOCKS" "$BASE_FDS"; then
		ok "[$ST_WEB] $2: 20 $1 probes, sockets and fds back to the baseline within 1 s"
	else
		not_ok "[$ST_WEB] $2: 20 $1 probes, sockets and fds back to the baseline within 1 s"
		show_leftovers "$2 $1"
		# how long the webserver takes to see them on its own
		local i
		for i in $(seq 1 "$RECOVER_S"); do back_to_baseline "$BASE_SOCKS" "$BASE_FDS" && break; done
		echo "# [$ST_WEB $2 $1] back to the baseline after ~$((i + 1)) s (looked for $((RECOVER_S + 1)) s)"
	fi
}

# measure_baseline: the webserver's sockets and fds once they hold still
# (the set-up's own requests may still be closing)
measure_baseline() {
	local i s f
	BASE_SOCKS=$(web_socks)
	BASE_FDS=$(web_fds)
	for i in $(seq 1 10); do
		sleep 0.3
		s=$(web_socks)
		f=$(web_fds)
		[ "$s" = "$BASE_SOCKS" ] && [ "$f" = "$BASE_FDS" ] && break
		BASE_SOCKS=$s
		BASE_FDS=$f
	done
	echo "# [$ST_WEB] detached baseline: $BASE_SOCKS sockets on 443, $BASE_FDS fds"
}

# cleanup between cases: detached, nothing draining.  A drain a failed
# case left behind (sockets the webserver holds) ends with a restart of
# the webserver, so that the next case starts clean.
case_cleanup() {
	as detach --wait=2 >/dev/null 2>&1 && return 0
	echo "# [$ST_WEB] cleanup: a drain is left behind; restarting $ST_WEB to end it"
	st_restart_web
	measure_baseline
	as detach --wait=10 >/dev/null 2>&1 || echo "# [$ST_WEB] cleanup: still draining"
}

case_baseline() {
	measure_baseline
	probes close detached
	probes reset detached
}

case_probes_attached() {
	check "[$ST_WEB] attach --forward" as attach --forward 127.0.0.1:8443
	probes close attached
	probes reset attached
	check "[$ST_WEB] detach --wait=10" as detach --wait=10
}

# open_silent N: N silent connections (v4 and v6); SILENT_PID, fd 8 the
# line that makes them speak, $ST_WORK/silent.out their reports
open_silent() {
	rm -f "$ST_WORK/silent.in"
	mkfifo "$ST_WORK/silent.in"
	: > "$ST_WORK/silent.out"
	ip netns exec $ST_CLI python3 "$HERE/probes.py" silent $SRV4,$SRV6 --count "$1" \
		< "$ST_WORK/silent.in" > "$ST_WORK/silent.out" &
	SILENT_PID=$!
	ST_PIDS+=($SILENT_PID)
	exec 8>"$ST_WORK/silent.in"
	local i
	for i in $(seq 1 100); do
		grep -q '"open"' "$ST_WORK/silent.out" && return 0
		sleep 0.1
	done
	return 1
}

# speak_silent: let the silent connections send their hello and GET; the
# report in SILENT
speak_silent() {
	echo go >&8
	exec 8>&-
	wait $SILENT_PID 2>/dev/null || true
	SILENT=$(tail -1 "$ST_WORK/silent.out")
}

# timed_detach WAIT: `as detach --wait=WAIT`; its status in DETACH_RC,
# its wall time in DETACH_MS, its words in DETACH_OUT
timed_detach() {
	local t0=$(date +%s%N)
	DETACH_OUT=$(as detach --wait="$1" 2>&1) && DETACH_RC=0 || DETACH_RC=$?
	DETACH_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
}

case_silent_across_detach() {
	check "[$ST_WEB] attach --forward" as attach --forward 127.0.0.1:8443
	check "[$ST_WEB] 50 silent connections open" open_silent 50
	sleep 0.3
	echo "# [$ST_WEB] with 50 silent connections: counters seen=$(counter seen) normal=$(counter normal)"
	timed_detach 5
	echo "# [$ST_WEB] detach --wait=5 with 50 silent connections: rc $DETACH_RC, $DETACH_MS ms: $DETACH_OUT"
	expect_eq "[$ST_WEB] detach --wait=5 with 50 silent connections succeeds" "$DETACH_RC" 0
	check "[$ST_WEB] ... within ${DRAIN_MS} ms (took $DETACH_MS)" test "$DETACH_MS" -lt "$DRAIN_MS"
	speak_silent
	echo "# [$ST_WEB] silent connections after the detach: $SILENT"
	expect_eq "[$ST_WEB] every silent connection is answered after the detach" \
		"$(field "$SILENT" answered)" 50
}

case_drain_times() {
	local n max
	DRAIN_FIGURES=""
	for n in 0 50 500; do
		max=$DRAIN_MS
		[ $n = 500 ] && max=$DRAIN500_MS
		check "[$ST_WEB] attach --forward ($n idle)" as attach --forward 127.0.0.1:8443
		if [ $n -gt 0 ]; then
			check "[$ST_WEB] $n idle connections open" open_silent $n
			sleep 0.3
		fi
		timed_detach 5
		DRAIN_FIGURES="$DRAIN_FIGURES $n:${DETACH_MS}ms(rc$DETACH_RC)"
		check "[$ST_WEB] detach --wait=5 with $n idle connections: within $max ms (took $DETACH_MS, rc $DETACH_RC)" \
			test "$DETACH_RC" = 0 -a "$DETACH_MS" -lt "$max"
		if [ $n -gt 0 ]; then
			speak_silent
			expect_eq "[$ST_WEB] ... and each of the $n idle connections answered after it" \
				"$(field "$SILENT" answered)" $n
		fi
		case_cleanup
	done
	echo "# [$ST_WEB] drain times (idle connections:detach wall time):$DRAIN_FIGURES"
}

# test_web WEB: every case next to WEB, in a set-up of its own (skipped
# when WEB is not installed).  The cases share the baseline and may
# restart the webserver, so they run in the one test, case_cleanup between.
test_web() {
	ST_WEB=$1
	st_setup || { not_ok "[$ST_WEB] set-up"; return; }
	case_baseline
	case_probes_attached
	case_cleanup
	case_silent_across_detach
	case_cleanup
	case_drain_times
}

st_dmesg_mark
for w in $WEBS; do
	st_test $w test_web $w
done
check "no kernel WARN" st_dmesg_clean
st_summary
