#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# dehydrated -t tls-alpn-01 against pebble (tlsPort 443), nginx on 443
# busy throughout, two ways:
#   1. dehydrated --alpn DIR, alpnsteer attach --alpn-dir DIR (the daemon
#      serves the validation certificates dehydrated writes);
#   2. dehydrated -k scripts/hooks/dehydrated-hook.sh, whose
#      deploy_challenge/clean_challenge call alpnsteer challenge add/remove.
# Debian 12's dehydrated (0.7.0) orders every identifier as type "dns", so
# IP identifiers are not tried here (uacme's test does them).
. "$(dirname "$0")/lib.sh"
. "$HERE/acme_lib.sh"
st_require_cmd dehydrated # not installed: skipped, counted
acme_setup
st_dmesg_mark
acme_dns a v4.dehydrated.test $SRVCA4
acme_dns aaaa v6.dehydrated.test $SRVCA6
acme_dns a hook4.dehydrated.test $SRVCA4
acme_dns aaaa hook6.dehydrated.test $SRVCA6
acme_loop_start
sleep 1

D=$ST_WORK/dehydrated
mkdir -p "$ST_WORK/alpn"
dehydrated=(in_srv dehydrated -f "$(acme_dehydrated_config "$D" st@dehydrated.test)")
check "dehydrated --register --accept-terms" \
	logged "$ST_WORK/reg.log" "${dehydrated[@]}" --register --accept-terms

# 1. --alpn DIR watched by the daemon
check "attach --alpn-dir" as attach --alpn-dir "$ST_WORK/alpn"
before=$(counter steered)
check "dehydrated -c --alpn DIR (v4.dehydrated.test, v6.dehydrated.test)" \
	logged "$ST_WORK/d1.log" "${dehydrated[@]}" -c --alpn "$ST_WORK/alpn" \
	-d v4.dehydrated.test -d v6.dehydrated.test
check "[--alpn-dir] the certificate is pebble's, for both names, and its chain verifies" \
	acme_cert_ok "$D/certs/v4.dehydrated.test/fullchain.pem" v4.dehydrated.test v6.dehydrated.test
steered=$(( $(counter steered) - before ))
check "[--alpn-dir] pebble's validations were steered ($steered)" test $steered -ge 2
expect_eq "[--alpn-dir] v4.dehydrated.test (A only) was validated over IPv4" "$(acme_via v4.dehydrated.test)" ipv4
expect_eq "[--alpn-dir] v6.dehydrated.test (AAAA only) was validated over IPv6" "$(acme_via v6.dehydrated.test)" ipv6
check "[--alpn-dir] dehydrated removed its validation certificates" \
	test -z "$(ls -A "$ST_WORK/alpn")"
check "detach --wait" as detach --wait=30

# 2. the hook script and the built-in responder
check "attach (built-in responder)" as attach
before=$(counter steered)
check "dehydrated -c -k dehydrated-hook.sh (hook4/hook6.dehydrated.test)" \
	logged "$ST_WORK/d2.log" "${dehydrated[@]}" -c \
	-k "$HOOKS/dehydrated-hook.sh" -d hook4.dehydrated.test -d hook6.dehydrated.test
check "[hook] the certificate is pebble's, for both names, and its chain verifies" \
	acme_cert_ok "$D/certs/hook4.dehydrated.test/fullchain.pem" hook4.dehydrated.test hook6.dehydrated.test
steered=$(( $(counter steered) - before ))
check "[hook] pebble's validations were steered ($steered)" test $steered -ge 2
expect_eq "[hook] hook4.dehydrated.test was validated over IPv4" "$(acme_via hook4.dehydrated.test)" ipv4
expect_eq "[hook] hook6.dehydrated.test was validated over IPv6" "$(acme_via hook6.dehydrated.test)" ipv6
check "[hook] clean_challenge removed the challenges" \
	test "$("$ALPNSTEER" -j challenge list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 0
check "detach --wait" as detach --wait=30

acme_load_check
check "no kernel WARN" st_dmesg_clean
st_summary
