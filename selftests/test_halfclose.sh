#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A client that half-closes after its hello (issue 20, point 5): it sends
# an acme-tls/1 ClientHello for a pending name, then shutdown(SHUT_WR),
# then reads (halfclose.py).  Its bare FIN once went to the slot, where
# the psock's backlog took it for an error (EPIPE on the slot pair's end,
# its transmit stopped), and the webserver, woken by the FIN with nothing
# in its psock, got EAGAIN from a blocking recv(): a webserver that does
# not expect it closed the connection under the responder.  Next to a
# blocking webserver that keeps its descriptor a while after the FIN
# (holdsrv.py, steered on 8445), every such client must be answered and
# no recv() may return EAGAIN.  Next to nginx, which closes at the FIN and
# so races with the responder, what is answered is printed, and nothing
# may break: the next validation passes and every connection is gone.
# One function per test (lib.sh, st_test).
. "$(dirname "$0")/lib.sh"
N=${HALFCLOSE_N:-10}

# half N HOST PORT [PAUSE]: N half-closing clients, one after the other
half() { in_cli python3 "$HERE/halfclose.py" "$2" hc.test --port "$3" --count "$1" --pause "${4:-0}"; }

# hold_stat KEY: holdsrv.py's count KEY so far
hold_stat() { field "$(cat "$ST_WORK/hold.json" 2>/dev/null || echo '{}')" "$1" | sed 's/None/0/'; }

# hold_wait C0 N: until holdsrv.py has closed N connections past C0
hold_wait() {
	local i
	for i in $(seq 1 100); do
		[ $(($(hold_stat connections) - $1)) -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

test_halfclose_held() {
	local a b c0 e0 g0 f0
	check "attach --port 8445" as attach --pool 8 --per-source 0 --port 443 --port 8445
	st_defer as detach --all --wait=20
	check "challenge add hc.test" "$ALPNSTEER" challenge add hc.test ka-hc
	c0=$(hold_stat connections) e0=$(hold_stat eof)
	a=$(half $N $SRV4 8445)
	b=$(half $N $SRV6 8445)
	echo "# FIN right after the hello: IPv4 $a; IPv6 $b"
	expect_eq "every IPv4 client that half-closed is answered" "$(field "$a" serverhello)" $N
	expect_eq "every IPv6 client that half-closed is answered" "$(field "$b" serverhello)" $N
	hold_wait $c0 $((2 * N))
	echo "# webserver: $(cat "$ST_WORK/hold.json")"
	# The FIN 0.3 s after the hello, while the webserver sleeps in recv():
	# the FIN's own wake-up is then told apart (holdsrv.py: eagain_fin).
	g0=$(hold_stat eagain) f0=$(hold_stat eagain_fin)
	a=$(half $N $SRV4 8445 0.3)
	echo "# FIN 0.3 s after the hello: $a"
	expect_eq "... and when the FIN comes while the webserver sleeps" "$(field "$a" serverhello)" $N
	hold_wait $c0 $((3 * N))
	echo "# webserver: $(cat "$ST_WORK/hold.json")"
	expect_eq "the webserver read each FIN as the end of the stream" $(($(hold_stat eof) - e0)) $((3 * N))
	expect_eq "... and no FIN woke its blocking recv() into EAGAIN" $(($(hold_stat eagain_fin) - f0)) 0
	check "detach --wait" as detach --wait=20
}

test_halfclose_nginx() {
	local a
	check "attach" as attach --pool 8 --per-source 0
	st_defer as detach --all --wait=20
	check "challenge add hc.test" "$ALPNSTEER" challenge add hc.test ka-hc
	check "a validation passes every CA rule" \
		ip netns exec $ST_CLI /usr/bin/python3 "$HERE/check_cert.py" $SRV4 hc.test ka-hc
	a=$(half $N $SRV4 443)
	echo "# next to nginx (it closes at the FIN, racing the responder): $a"
	expect_eq "every client that half-closed was steered" "$(counter steered)" $((N + 1))
	check "a validation right after passes every CA rule" \
		ip netns exec $ST_CLI /usr/bin/python3 "$HERE/check_cert.py" $SRV4 hc.test ka-hc
	check "every steered connection is gone within 10 s" wait_for 'd["conns_held"]' 0 100
	check "detach --wait" as detach --wait=20
}

st_setup
st_dmesg_mark
st_spawn nsenter --net=/var/run/netns/$ST_SRV python3 "$HERE/holdsrv.py" 8445 "$ST_WORK/hold.json" 3
wait_port 127.0.0.1 8445
hold_wait 0 1 # wait_port's own connection, held 3 s
st_test halfclose_held test_halfclose_held
st_test halfclose_nginx test_halfclose_nginx
check "no kernel WARN" st_dmesg_clean
st_summary
