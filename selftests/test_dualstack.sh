#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The per-source cap behind a dual-stack [::]:443 listener (issue 20,
# point 6).  There every IPv4 client is ::ffff:a.b.c.d; counted as IPv6,
# all of them were one /48 ("::"), so an attacker holding --per-source
# connections from any IPv4 address shut every IPv4 validation out.  Here
# an attacker holds connections from two /24s (one of them past its cap),
# and a five-perspective burst of validations from five other /24s must
# all pass, each of them answered by the responder.  ST_WEB defaults to
# Caddy (one [::]:443 listener); Apache as Debian ships it listens the
# same way.  One function per test (lib.sh, st_test).
ST_WEB=${ST_WEB:-caddy}
. "$(dirname "$0")/lib.sh"
ABUSE=(python3 "$HERE/abuse.py")
HD_PIDS=()
cli_bg() {
	nsenter --net=/var/run/netns/$ST_CLI "$@" &
	HD_PIDS+=($!)
	ST_PIDS+=($!)
}
end_clients() {
	local p
	for p in "${HD_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${HD_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	HD_PIDS=()
}

# the webserver's listener on 443 is one dual-stack [::] socket
dual_stack_only() {
	local l
	l=$(in_srv ss -Htln '( sport = :443 )' | awk '{print $4}')
	[ "$l" = "*:443" ] || [ "$l" = "[::]:443" ]
}

test_v4mapped_burst() {
	local i out srcs pids
	check "$ST_WEB listens on one dual-stack socket" dual_stack_only
	# a handshake timeout longer than the test: the attacker's holds
	# keep their slots throughout
	check "attach --pool 16 --pool-max 16 --per-source 2 --handshake-timeout 60" \
		as attach --pool 16 --pool-max 16 --per-source 2 --handshake-timeout 60
	st_defer as detach --all --wait=20
	"$ALPNSTEER" challenge add ds.test ka-ds
	# the attacker: three holds from one /24 (one past the cap), one
	# from another
	for i in 1 2 3; do
		cli_bg "${ABUSE[@]}" hold $SRV4 ds.test 60 --source 198.18.16.2 > /dev/null
	done
	cli_bg "${ABUSE[@]}" hold $SRV4 ds.test 60 --source 198.18.17.2 > /dev/null
	# 4 hellos seen: 3 steered and 1 capped now, 2 and 2 before
	wait_for 'd["counters"]["steered"] + d["counters"]["src_capped"]' 4 100
	expect_eq "the attacker holds three slots (two /24s)" "$(counter steered)" 3
	# five perspectives at once, IPv4, each from its own /24
	srcs="198.18.18.2 198.18.19.2 198.18.20.2 198.18.21.2 198.18.22.2"
	pids=()
	for i in $srcs; do
		(in_cli /usr/bin/python3 "$HERE/check_cert.py" $SRV4 ds.test ka-ds --source $i \
			>/dev/null 2>&1 && echo "OK $i" || echo "FAIL $i") >> "$ST_WORK/burst.out" &
		pids+=($!)
	done
	wait "${pids[@]}"
	out=$(sort "$ST_WORK/burst.out" | tr '\n' ' ')
	echo "# burst: $out; counters: steered $(counter steered), src_capped $(counter src_capped)"
	expect_eq "five IPv4 perspectives from five /24s all validate" "$(grep -c '^OK' "$ST_WORK/burst.out")" 5
	expect_eq "... none of them capped" "$(counter src_capped)" 1
	end_clients
}

st_setup
st_dmesg_mark
for i in $(seq 16 22); do
	ip -n $ST_CLI addr add 198.18.$i.2/32 dev $ST_V1
done
ip -n $ST_SRV route add 198.18.16.0/20 dev $ST_V0
st_test v4mapped_burst test_v4mapped_burst
check "no kernel WARN" st_dmesg_clean
st_summary
