#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The loss test: while keep-alive GETs, sha256-checked 10 MiB downloads,
# sha256-checked 2 MiB uploads and new-connection storms run against nginx
# (or ST_WEB) over IPv4 and IPv6, CYCLES attach -> acme-tls/1 handshake -> detach
# cycles run.  Nothing may fail, nothing may be corrupted, no kernel WARN.
# One function per test (lib.sh, st_test).
. "$(dirname "$0")/lib.sh"
CYCLES=${CYCLES:-20}
MODE=${MODE:-forward} # forward | builtin

attach_args=(--forward 127.0.0.1:8443)
[ "$MODE" = builtin ] && attach_args=()

test_cycles_under_load() {
	local c h want r rc load n steered attach_fail detach_fail
	st_spawn ip netns exec $ST_CLI python3 "$HERE/loadgen.py" --host $SRV4 --host $SRV6 \
		--duration $((CYCLES * 4 + 20)) --big-sha256 "$BIG_SHA" \
		--gets 3 --downloads 2 --uploads 2 --storms 1 > "$ST_WORK/load.json"
	LOAD=${ST_PIDS[-1]}
	st_defer as detach --all --wait=30
	sleep 2

	steered=0 attach_fail=0 detach_fail=0
	for c in $(seq 1 $CYCLES); do
		h=$SRV4
		[ $((c % 2)) = 0 ] && h=$SRV6
		as attach "${attach_args[@]}" >/dev/null || attach_fail=$((attach_fail + 1))
		if [ "$MODE" = builtin ]; then
			"$ALPNSTEER" challenge add cycle$c.test "tok$c.thumb" || true
			want=cycle$c.test
		else
			want=acme-responder
		fi
		[ "$(field "$(tls $h --alpn acme-tls/1 --sni cycle$c.test)" cn)" = "$want" ] &&
			steered=$((steered + 1))
		sleep 0.$((RANDOM % 9 + 1))
		as detach --wait=30 >/dev/null || detach_fail=$((detach_fail + 1))
		sleep 0.$((RANDOM % 9 + 1))
	done
	expect_eq "attach succeeded every cycle" $attach_fail 0
	expect_eq "detach drained every cycle" $detach_fail 0
	expect_eq "a validation steered in every cycle ($MODE)" $steered $CYCLES
	wait $LOAD
	rc=$?
	load=$(cat "$ST_WORK/load.json")
	echo "# load: $load"
	echo "# cycles: $CYCLES, validations steered: $steered"
	expect_eq "load generator saw no failure" $rc 0
	expect_eq "failures" "$(field "$load" failures)" 0
	expect_eq "corrupted bodies" "$(field "$load" corrupted)" 0
	check "downloads happened" test "$(field "$load" downloads)" -gt 0
	check "uploads happened" test "$(field "$load" uploads)" -gt 0
	if [ -n "${ST_TFO:-}" ]; then
		n=$(tfo_passive)
		check "TFO: the server accepted $n connections with the hello in the SYN" test "${n:-0}" -gt 0
	fi
}

st_setup
st_dmesg_mark
st_test cycles_under_load test_cycles_under_load
check "no kernel WARN" st_dmesg_clean
st_summary
