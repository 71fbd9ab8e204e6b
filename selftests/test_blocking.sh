#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A blocking reader next to alpnsteer (issue 20, point 4).  A server thread
# blocked in recv() on a caught socket sleeps in tcp_bpf_recvmsg_parser();
# when the socket was released (its client's ACK, RTT_CB) before the
# client's next bytes, those bytes took the ordinary path, woke it, and
# recv() returned EAGAIN on a blocking socket.  Here blocksrv.py (a line
# echo server, one thread per connection, plain blocking recv()) listens on
# port 8444 next to the webserver, steered as well, and clients pause 60 ms
# between two lines, their ACKs delayed as over a real path (slowcli.py):
# no recv() may return EAGAIN, and every connection is
# answered; with nothing attached, the same (the baseline).  Also fast
# clients (no pause).  One function per test (lib.sh, st_test).
. "$(dirname "$0")/lib.sh"
N=${BLOCK_N:-120}

# run_clients PAUSE: one slowcli.py run against the blocking server; its
# JSON and the server's EAGAIN count since the last run
run_clients() {
	local before after out
	before=$(field "$(cat "$ST_WORK/blk.json" 2>/dev/null || echo '{"eagain": 0}')" eagain)
	out=$(in_cli python3 "$HERE/slowcli.py" $SRV4 8444 $N --pause "$1")
	sleep 0.5
	after=$(field "$(cat "$ST_WORK/blk.json")" eagain)
	echo "$out $((after - before))"
}

test_blocking_reader() {
	local r e i
	r=$(run_clients 0.06)
	echo "# nothing attached, 60 ms pauses: $r"
	expect_eq "baseline: no EAGAIN" "${r##* }" 0
	check "attach --port 443 --port 8444" as attach --port 443 --port 8444 --forward 127.0.0.1:8443
	st_defer as detach --all --wait=20
	r=$(run_clients 0.06)
	echo "# attached, 60 ms pauses: $r; released $(counter released), deferred $(counter release_deferred), kept $(counter kept_blocking)"
	expect_eq "attached, $N clients pausing 60 ms: every one answered" "$(field "${r% *}" answered)" $N
	expect_eq "... and no blocking recv() returned EAGAIN" "${r##* }" 0
	# A recv() that enters between the guard's read and the removal is
	# not seen (fast clients got 0 to 2 EAGAINs that way): a blocking
	# descriptor is never released, at an ACK or at its FIN.
	expect_eq "... each blocking descriptor kept, none released" \
		"$(counter kept_blocking) $(counter released)" "$N 0"
	# Three rounds: before the blocking descriptor was kept, one round in
	# three had an EAGAIN.
	e=0
	for i in 1 2 3; do
		r=$(run_clients 0)
		echo "# attached, no pause, round $i: $r"
		e=$((e + ${r##* }))
	done
	echo "# released $(counter released), at the FIN $(counter released_closing), kept $(counter kept_blocking)"
	expect_eq "attached, 3 x $N fast clients: no EAGAIN" "$e" 0
	expect_eq "... none released, at an ACK or at the FIN" \
		"$(counter released) $(counter released_closing)" "0 0"
	check "detach --wait" as detach --wait=20
}

# A reader asleep in recv() keeps its socket caught, but must not hold a
# drain: a client that says one line and then stays silent leaves the
# server's thread blocked for as long as it likes, and detach must still
# finish (the reaper lets such a socket go after a second: fail open).
test_blocking_drain() {
	local t0 t1
	check "attach --port 8444" as attach --port 443 --port 8444 --forward 127.0.0.1:8443
	st_defer as detach --all --wait=20
	st_spawn in_cli python3 -c '
import socket, sys, time
s = socket.create_connection((sys.argv[1], 8444))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 0)
s.sendall(b"one line\n")
s.recv(100)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 0)
time.sleep(60)' $SRV4
	# Caught once its client is up (seconds under qemu's TCG), and still
	# caught a second later: its delayed ACK came while the server slept
	# in recv() again.
	wait_for 'd["conns_held"]' 1 100
	sleep 1
	expect_eq "the idle connection stays caught (a reader sleeps on it)" \
		"$(status_field 'd["conns_held"]')" 1
	echo "# released $(counter released), deferred $(counter release_deferred)"
	t0=$(date +%s%N)
	check "detach --wait with a reader asleep on an idle connection" as detach --wait=20
	t1=$(date +%s%N)
	echo "# detach took $(((t1 - t0) / 1000000)) ms"
	check "... within 10 s" test $(((t1 - t0) / 1000000)) -lt 10000
}

st_setup
st_dmesg_mark
st_spawn nsenter --net=/var/run/netns/$ST_SRV python3 "$HERE/blocksrv.py" 8444 "$ST_WORK/blk.json"
wait_port 127.0.0.1 8444
st_test blocking_reader test_blocking_reader
st_test blocking_drain test_blocking_drain
check "no kernel WARN" st_dmesg_clean
st_summary
