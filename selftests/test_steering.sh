#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Steering with an external responder (--forward): acme-tls/1 reaches the
# responder; every other client reaches the webserver (nginx, or ST_WEB)
# exactly as with nothing attached; IPv4 and IPv6; attach/detach edge cases.
# One function per test (lib.sh, st_test); what the clients see with
# nothing attached is recorded once, before the tests.
. "$(dirname "$0")/lib.sh"

# What nginx answers to each kind of client, as a comparable line.
probe_all() {
	local h=$1
	echo "h2 $(field "$(tls $h --alpn h2)" cn)"
	echo "http11 $(field "$(tls $h --alpn http/1.1)" cn) $(field "$(tls $h --alpn http/1.1)" alpn)"
	echo "none $(field "$(tls $h)" cn)"
	echo "curl $(web_curl -sk --max-time 5 "https://$(echo $h | sed 's/.*:.*/[&]/')/")"
	echo "plain $(in_cli python3 "$HERE/clients.py" raw $h "$(printf 'GET / HTTP/1.0\r\n\r\n' | xxd -p | tr -d '\n')" | grep -o '400 Bad Request' | head -1)"
	echo "garbage $(in_cli python3 "$HERE/clients.py" raw $h 00ff13370a0d0a | wc -c)"
}

test_detached() {
	local h
	for h in $SRV4 $SRV6; do
		check "[$h] detached: acme-tls/1 reaches $ST_WEB (nginx: no_application_protocol)" \
			nginx_refuses_acme $h a.test
	done
}

test_forward() {
	local h r out
	check "attach --forward" as attach --forward 127.0.0.1:8443
	st_defer as detach --all --wait=10
	expect_eq "status says attached" "$(status_field 'd["state"]')" attached
	out=$(as attach --forward 127.0.0.1:8443 2>&1)
	check "double attach exits 0 and says so" grep -q "already attached" <<<"$out"

	for h in $SRV4 $SRV6; do
		r=$(tls $h --alpn acme-tls/1 --sni a.test)
		expect_eq "[$h] acme-tls/1 gets the responder's certificate" "$(field "$r" cn)" acme-responder
		expect_eq "[$h] acme-tls/1 negotiated" "$(field "$r" alpn)" acme-tls/1
		r=$(tls $h --alpn h2,acme-tls/1,http/1.1 --sni a.test)
		expect_eq "[$h] acme-tls/1 among others is steered too" "$(field "$r" cn)" acme-responder
		probe_all $h > "$ST_WORK/after.$h"
		if diff -u "$ST_WORK/before.$h" "$ST_WORK/after.$h"; then
			ok "[$h] h2, http/1.1, no ALPN, curl, plain HTTP, garbage: as with nothing attached"
		else
			not_ok "[$h] other clients see a difference"
		fi
		if web_says_400; then
			check "[$h] $ST_WEB still answered the plain-HTTP probe" grep -q "plain 400 Bad Request" "$ST_WORK/after.$h"
		fi
	done

	expect_eq "counter steered" "$(counter steered)" 4
	check "counter normal counts the TLS probes" test "$(counter normal)" -ge 10
	expect_eq "counter not_tls (plain HTTP + garbage, v4 and v6)" "$(counter not_tls)" 4
	check "normal sockets released" test "$(counter released)" -ge 10

	check "detach --wait" as detach --wait=10
	expect_eq "status says detached" "$(status_field 'd["state"]')" detached
	check "pins are gone" test ! -e /sys/fs/bpf/alpnsteer
	for h in $SRV4 $SRV6; do
		check "[$h] after detach acme-tls/1 reaches $ST_WEB again" nginx_refuses_acme $h a.test
		probe_all $h > "$ST_WORK/detached.$h"
		check "[$h] after detach, others as before" diff -q "$ST_WORK/before.$h" "$ST_WORK/detached.$h"
	done
	out=$(as detach 2>&1)
	check "detach with nothing attached exits 0 and says so" grep -q "not attached" <<<"$out"
}

# --domain: only the named SNI is steered, others stay with nginx.
test_domain() {
	check "attach --forward --domain b.test" as attach --forward 127.0.0.1:8443 --domain B.test
	st_defer as detach --all --wait=10
	expect_eq "pending SNI is steered" "$(field "$(tls $SRV4 --alpn acme-tls/1 --sni b.test)" cn)" acme-responder
	check "other SNI stays with $ST_WEB" nginx_refuses_acme $SRV4 c.test
	expect_eq "counter not_pending" "$(counter not_pending)" 1
	check "detach" as detach --wait=10
}

# run: the foreground form for service managers; SIGTERM detaches.
test_run() {
	local run i rc
	nsenter --net=/var/run/netns/$ST_SRV "$ALPNSTEER" run --forward 127.0.0.1:8443 2>"$ST_WORK/run.log" &
	run=$!
	st_defer kill -TERM $run
	for i in $(seq 1 50); do [ "$(status_field 'd["state"]')" = attached ] && break; sleep 0.1; done
	expect_eq "run: attached in the foreground" "$(status_field 'd["state"]')" attached
	expect_eq "run: steering" "$(field "$(tls $SRV4 --alpn acme-tls/1 --sni run.test)" cn)" acme-responder
	kill -TERM $run
	wait $run
	rc=$?
	expect_eq "run: SIGTERM detaches and exits 0" $rc 0
	# The daemon is not root by then: it removes every pin, but the empty
	# directory (in root's /sys/fs/bpf) waits for the next attach or detach.
	check "run: no pin left behind" test -z "$(ls -A /sys/fs/bpf/alpnsteer 2>/dev/null)"
	check "run: status says detached" test "$(status_field 'd["state"]')" = detached
}

# A webserver outside the attached cgroup is named, and not steered.
test_cgroup_outside() {
	local cg out
	cg=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)/alpnsteer-selftest-$ST_NS
	mkdir -p "$cg"
	st_defer rmdir "$cg"
	out=$(as attach --forward 127.0.0.1:8443 --cgroup "$cg" 2>&1)
	st_defer as detach --all --wait=10
	check "attach warns about the listener outside --cgroup" grep -q "outside the attached cgroup" <<<"$out"
	check "... whose connections are indeed not steered" nginx_refuses_acme $SRV4 cg.test
	as detach --wait=10 >/dev/null
}

st_setup
st_dmesg_mark
for h in $SRV4 $SRV6; do
	probe_all $h > "$ST_WORK/before.$h"
done
st_test detached test_detached
st_test forward test_forward
st_test domain test_domain
st_test run test_run
st_test cgroup_outside test_cgroup_outside
check "no kernel WARN" st_dmesg_clean
st_summary
