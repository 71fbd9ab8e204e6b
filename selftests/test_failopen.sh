#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Fail open: with the pool exhausted or the daemon killed, acme-tls/1
# connections go to the webserver (nginx, or ST_WEB), normal traffic is
# untouched, and detach and attach still work afterwards.  One function
# per test (lib.sh, st_test).
. "$(dirname "$0")/lib.sh"

curl_ok() { [ "$(web_curl -sk --max-time 5 https://$SRV4/)" = hello-from-nginx ]; }

test_pool_exhausted() {
	check "attach --forward --pool 1 --pool-max 1" as attach --forward 127.0.0.1:8443 --pool 1 --pool-max 1
	st_defer as detach --all --wait=10
	# A validation that never finishes its handshake holds the only slot.
	st_spawn ip netns exec $ST_CLI python3 "$HERE/clients.py" hold $SRV4 \
		--alpn acme-tls/1 --sni hold.test --seconds 60 >/dev/null
	local hold=${ST_PIDS[-1]}
	check "the silent client holds the slot" wait_for 'd["pool"]["in_use"]' 1
	check "pool exhausted: acme-tls/1 falls back to $ST_WEB" nginx_refuses_acme $SRV4 next.test
	expect_eq "counter no_slot" "$(counter no_slot)" 1
	check "normal traffic untouched" curl_ok
	kill $hold
	check "the slot comes back when its client closes" wait_for 'd["pool"]["in_use"]' 0
	expect_eq "and serves again" "$(field "$(tls $SRV6 --alpn acme-tls/1 --sni again.test)" cn)" acme-responder
	check "detach --wait" as detach --wait=10
}

test_daemon_killed() {
	local pid h
	check "attach --forward" as attach --forward 127.0.0.1:8443
	st_defer as detach --all --wait=10
	pid=$(status_field 'd["pid"]')
	kill -9 "$pid"
	check "status sees the daemon gone" wait_for 'd["daemon_running"]' False
	for h in $SRV4 $SRV6; do
		check "[$h] daemon killed: acme-tls/1 falls back to $ST_WEB" nginx_refuses_acme $h dead.test
		check "[$h] daemon killed: normal traffic untouched" \
			test "$(web_curl -sk --max-time 5 "https://$(echo $h | sed 's/.*:.*/[&]/')/")" = hello-from-nginx
	done
	expect_eq "counter no_responder" "$(counter no_responder)" 2
	expect_eq "status: orphaned" "$(status_field 'd["lifecycle"]')" orphaned
	# An orphan fails every renewal: attach drains and replaces it.
	check "attach over a dead daemon replaces it" as attach --forward 127.0.0.1:8443
	expect_eq "... with a live daemon" "$(status_field 'd["lifecycle"], d["daemon_running"]')" "attached True"
	expect_eq "... that steers" "$(field "$(tls $SRV4 --alpn acme-tls/1 --sni replaced.test)" cn)" acme-responder
	pid=$(status_field 'd["pid"]')
	kill -9 "$pid"
	check "status sees the new daemon gone" wait_for 'd["lifecycle"]' orphaned
	check "detach --wait=10 cleans up after a dead daemon" as detach --wait=10
	check "pins are gone" test ! -e /sys/fs/bpf/alpnsteer
	check "attach again" as attach --forward 127.0.0.1:8443
	expect_eq "steering works again" "$(field "$(tls $SRV4 --alpn acme-tls/1 --sni back.test)" cn)" acme-responder
	check "detach --wait" as detach --wait=10
}

# Non-TLS and malformed first bytes go to nginx, which answers them.
test_malformed() {
	check "attach" as attach --forward 127.0.0.1:8443
	st_defer as detach --all --wait=10
	in_cli python3 "$HERE/clients.py" raw $SRV4 160301000401000000 >/dev/null
	expect_eq "truncated ClientHello: counted malformed" "$(counter malformed)" 1
	in_cli python3 "$HERE/clients.py" raw $SRV4 160303480101 >/dev/null
	check "record claiming more than 18 KiB: passed at once as oversized" test "$(counter oversized)" -eq 1
	check "normal traffic untouched" curl_ok
	check "detach --wait" as detach --wait=10
}

# A failure midway leaves nothing behind: in a namespace whose loopback is
# down the pool cannot be built, after the maps were pinned and the map
# programs linked.
test_failed_attach_leaves_nothing() {
	local out r
	ip netns add $ST_NS-lo
	st_defer ip netns del $ST_NS-lo
	out=$(nsenter --net=/var/run/netns/$ST_NS-lo "$ALPNSTEER" attach 2>&1) && r=0 || r=$?
	echo "$out" | sed 's/^/# /'
	check "attach with no loopback fails" test "$r" -ne 0
	check "... with one clear error and a hint" test "$(grep -c '^Error: ' <<<"$out")" = 1 -a "$(grep -c '^Hint: ' <<<"$out")" -ge 1
	check "... and leaves no pin behind" test -z "$(ls -A /sys/fs/bpf/alpnsteer 2>/dev/null)"
	expect_eq "... status says detached" "$(status_field 'd["state"]')" detached
	check "attach works right after" as attach --forward 127.0.0.1:8443
	st_defer as detach --all --wait=10
	check "detach --wait" as detach --wait=10
}

st_setup
st_dmesg_mark
st_test pool_exhausted test_pool_exhausted
st_test daemon_killed test_daemon_killed
st_test malformed test_malformed
st_test failed_attach_leaves_nothing test_failed_attach_leaves_nothing
check "no kernel WARN" st_dmesg_clean
st_summary
