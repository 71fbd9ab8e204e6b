#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The webserver's descriptor of a steered connection looks idle (issue 20,
# point 1).  The webserver keeps an fd for each steered connection until
# its client closes; anyone may send an acme-tls/1 hello for a pending
# name and hold the connection.  Apache (mpm_event, TCP_DEFER_ACCEPT) saw
# that fd readable for as long as it was held and spun (221 ticks in 2 s).
# Next to each of IDLE_WEBS, four steered connections are held open
# (their handshakes done) and the webserver's CPU time over IDLE_S seconds
# is measured, with nothing held and with the four held: the held ones may
# cost no more than IDLE_TICKS ticks (the machine's USER_HZ, 100).
# One st_test per webserver (lib.sh).
. "$(dirname "$0")/lib.sh"
IDLE_WEBS=${IDLE_WEBS:-apache2 nginx lighttpd haproxy caddy}
IDLE_S=${IDLE_S:-2}
IDLE_TICKS=${IDLE_TICKS:-5}
ABUSE=(python3 "$HERE/abuse.py")

# web_ticks: user+system ticks of the webserver's processes so far
web_ticks() {
	local p t=0
	for p in $(web_pids); do
		t=$((t + $(awk '{print $14 + $15}' /proc/$p/stat 2>/dev/null || echo 0)))
	done
	echo $t
}

# ticks_over SECONDS: ticks the webserver used in that long
ticks_over() {
	local a b
	a=$(web_ticks)
	sleep "$1"
	b=$(web_ticks)
	echo $((b - a))
}

test_idle_web() {
	local idle held i pids=()
	ST_WEB=$1
	st_require_web
	st_restart_web || return 1
	check "[$ST_WEB] attach (built-in responder)" as attach --per-source 0 --handshake-timeout 30
	st_defer as detach --all --wait=20
	"$ALPNSTEER" challenge add idle.test ka-idle
	idle=$(ticks_over $IDLE_S)
	for i in 1 2 3 4; do
		nsenter --net=/var/run/netns/$ST_CLI "${ABUSE[@]}" hold $SRV4 idle.test 60 --done \
			> "$ST_WORK/hold.$i" &
		pids+=($!)
		ST_PIDS+=($!)
	done
	wait_for 'd["counters"]["steered"]' 4 100
	sleep 1
	held=$(ticks_over $IDLE_S)
	echo "# [$ST_WEB] CPU ticks in ${IDLE_S}s: $idle with nothing held, $held with 4 steered connections held; holds: $(cat "$ST_WORK"/hold.* | tr '\n' ' ')"
	expect_eq "[$ST_WEB] the four hellos were steered" "$(counter steered)" 4
	check "[$ST_WEB] held steered connections cost the webserver at most $IDLE_TICKS ticks (got $held)" \
		test "$held" -le "$IDLE_TICKS"
	kill "${pids[@]}" 2>/dev/null
	wait "${pids[@]}" 2>/dev/null
	check "[$ST_WEB] detach --wait" as detach --wait=20
}

st_setup
st_dmesg_mark
for w in $IDLE_WEBS; do
	st_test $w test_idle_web $w
done
check "no kernel WARN" st_dmesg_clean
st_summary
