#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# lego 4.9.1's --tls --tls.port against pebble (tlsPort 443), alpnsteer attached
# with --forward to lego's own listener, nginx on 443 busy throughout: the
# certificate comes from pebble for both names (one validated over IPv4
# only, one over IPv6 only), and no request of the load fails.
# One function per test (lib.sh, st_test), each with its own attachment;
# pebble and the load are the set-up they share.
. "$(dirname "$0")/lib.sh"
. "$HERE/acme_lib.sh"
st_require_cmd lego # not installed: skipped, counted
# lego 5 renamed --tls.port to --tls.address and moved every flag after
# its command (docs/acme-clients.md, "lego 5"): these are 4.9.1's
# commands (Debian 12's); lego 5's flow is documented, not run here.
if lego run --help 2>&1 | grep -q -- '--tls.address'; then
	st_skip "lego 5 (--tls.address): this test runs lego 4.9.1's commands (--tls.port)"
fi
CRT=certificates/v4.lego.test.crt

test_run() {
	local before steered t0 t1
	check "attach --forward 127.0.0.1:5443" as attach --forward 127.0.0.1:5443
	st_defer as detach --all --wait=30
	before=$(counter steered)
	check "lego run (v4.lego.test, v6.lego.test)" \
		logged "$ST_WORK/lego.log" "${lego[@]}" -d v4.lego.test -d v6.lego.test run
	check "the certificate is pebble's, for both names, and its chain verifies" \
		acme_cert_ok "$ST_WORK/lego/$CRT" v4.lego.test v6.lego.test
	steered=$(( $(counter steered) - before ))
	check "pebble's validations were steered to lego ($steered)" test $steered -ge 2
	expect_eq "v4.lego.test (A only) was validated over IPv4" "$(acme_via v4.lego.test)" ipv4
	expect_eq "v6.lego.test (AAAA only) was validated over IPv6" "$(acme_via v6.lego.test)" ipv6
	# The drain ends when nginx has closed every validation connection:
	# at once, when pebble resets them, not at nginx's 60 s handshake
	# timeout (a receive mark set over bytes the verdict had not taken
	# yet left nginx reading EAGAIN after the reset: docs/design.md,
	# "Steered connections").
	t0=$(date +%s%N)
	check "detach --wait" as detach --wait=30
	t1=$(date +%s%N)
	echo "# the drain took $(((t1 - t0) / 1000000)) ms"
	check "... within 10 s (nginx closed every validation connection)" \
		test $(((t1 - t0) / 1000000)) -lt 10000
}

# A forced renewal with the existing account, steering brought up and down
# by scripts/hooks/prepost-hook.sh as acme.sh's --pre-hook/--post-hook would.
test_renew_with_prepost_hook() {
	local serial1 serial2
	[ -e "$ST_WORK/lego/$CRT" ] || st_skip "no certificate to renew (test run did not get one)"
	serial1=$(openssl x509 -in "$ST_WORK/lego/$CRT" -noout -serial)
	check "prepost-hook.sh pre 127.0.0.1:5443" in_srv "$HOOKS/prepost-hook.sh" pre 127.0.0.1:5443
	st_defer as detach --all --wait=30
	expect_eq "... attached with --forward 127.0.0.1:5443" "$(status_field 'd["attached"], d["forward"]')" "True 127.0.0.1:5443"
	# lego renew sleeps up to 8 minutes at random when not on a terminal (to
	# spread renewals over time); a test does not need that.
	check "lego renew --days 9999 --no-random-sleep (forced renewal, same names)" \
		logged "$ST_WORK/lego2.log" "${lego[@]}" -d v4.lego.test -d v6.lego.test renew --days 9999 --no-random-sleep
	check "the renewed certificate is pebble's too" \
		acme_cert_ok "$ST_WORK/lego/$CRT" v4.lego.test v6.lego.test
	serial2=$(openssl x509 -in "$ST_WORK/lego/$CRT" -noout -serial)
	check "... and a new one ($serial2, was $serial1)" test "$serial1" != "$serial2"
	check "prepost-hook.sh post" in_srv "$HOOKS/prepost-hook.sh" post
	expect_eq "... detached" "$(status_field 'd["state"]')" detached
}

acme_setup
st_dmesg_mark
acme_dns a v4.lego.test $SRVCA4
acme_dns aaaa v6.lego.test $SRVCA6
lego=(in_srv env LEGO_CA_CERTIFICATES="$CA_BUNDLE" lego --path "$ST_WORK/lego"
      --server "$ACME_DIR" --accept-tos --email st@lego.test
      --tls --tls.port 127.0.0.1:5443)
acme_loop_start
sleep 1

st_test run test_run
st_test renew_with_prepost_hook test_renew_with_prepost_hook
# Only the shell that started the load can stop it: here, not in a test.
acme_loop_stop
st_test load_untouched acme_load_expect
check "no kernel WARN" st_dmesg_clean
st_summary
