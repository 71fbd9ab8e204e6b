#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# uacme against pebble (tlsPort 443) with scripts/hooks/uacme-hook.sh
# calling alpnsteer challenge add/remove, nginx on 443 busy throughout:
# one certificate for a DNS name validated over IPv4, one validated over
# IPv6, and both of the server's addresses as IP identifiers (RFC 8738:
# the validation hello carries the reverse name as SNI).  Then an EC
# account key, to exercise the hook's other thumbprint.
. "$(dirname "$0")/lib.sh"
. "$HERE/acme_lib.sh"
st_require_cmd uacme # not installed: skipped, counted
acme_setup
st_dmesg_mark
acme_dns a v4.uacme.test $SRVCA4
acme_dns aaaa v6.uacme.test $SRVCA6
acme_loop_start
sleep 1

# uacme has no CA-file option: in a mount namespace of its own, pebble's
# HTTPS certificate is bind-mounted over the system bundle libcurl reads.
uacme() {
	local confdir=$1
	shift
	in_srv unshare --mount --propagation private -- bash -c '
		mount --bind "$1" /etc/ssl/certs/ca-certificates.crt
		shift
		exec "$@"' uacme "$CA_BUNDLE" env UACME_CONFDIR="$confdir" \
		/usr/bin/uacme -v -c "$confdir" -a "$ACME_DIR" -y "$@"
}
U=$ST_WORK/uacme
check "attach (built-in responder)" as attach
check "uacme new (RSA account key)" logged "$ST_WORK/new.log" uacme "$U" new st@uacme.test
before=$(counter steered)
check "uacme issue v4.uacme.test v6.uacme.test $SRVCA4 $SRVCA6 (hook)" \
	logged "$ST_WORK/issue.log" uacme "$U" -h "$HOOKS/uacme-hook.sh" \
	issue v4.uacme.test v6.uacme.test $SRVCA4 $SRVCA6
check "the certificate is pebble's, for the names and both addresses, and its chain verifies" \
	acme_cert_ok "$U/v4.uacme.test/cert.pem" v4.uacme.test v6.uacme.test $SRVCA4 $SRVCA6
steered=$(( $(counter steered) - before ))
check "pebble's validations were steered ($steered)" test $steered -ge 4
expect_eq "v4.uacme.test was validated over IPv4" "$(acme_via v4.uacme.test)" ipv4
expect_eq "v6.uacme.test was validated over IPv6" "$(acme_via v6.uacme.test)" ipv6
expect_eq "$SRVCA4 was validated over IPv4, SNI 1.5.18.198.in-addr.arpa" "$(acme_via 1.5.18.198.in-addr.arpa)" ipv4
rev6=$(python3 -c 'import ipaddress,sys; print(ipaddress.ip_address(sys.argv[1]).reverse_pointer)' $SRVCA6)
expect_eq "$SRVCA6 was validated over IPv6, SNI its ip6.arpa name" "$(acme_via $rev6)" ipv6
check "the hook removed the challenges (done)" \
	test "$("$ALPNSTEER" -j challenge list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 0

U2=$ST_WORK/uacme-ec
check "uacme -t EC new (EC P-256 account key)" logged "$ST_WORK/new2.log" uacme "$U2" -t EC new
check "... which is an EC key" bash -c 'openssl pkey -in "$0/private/key.pem" -noout -text | grep -q prime256v1' "$U2"
check "uacme issue $SRVCA6 (IPv6 identifier only, EC account)" \
	logged "$ST_WORK/issue2.log" uacme "$U2" -t EC -h "$HOOKS/uacme-hook.sh" issue $SRVCA6
check "that certificate is pebble's, for $SRVCA6" acme_cert_ok "$U2/$SRVCA6/cert.pem" $SRVCA6

# A malformed digest is refused with alpnsteer's clear error: nothing added.
out=$("$HOOKS/uacme-hook.sh" begin tls-alpn-01 bad.uacme.test tok not-a-digest 2>&1) && rc=0 || rc=$?
echo "$out" | sed 's/^/# /'
check "the hook fails on a malformed digest (exit $rc)" test $rc -ne 0
check "... with alpnsteer's error" grep -q "^Error: .*not a SHA-256 digest" <<<"$out"
check "... and adds nothing" \
	test "$("$ALPNSTEER" -j challenge list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 0
check "the hook declines other challenge types" \
	bash -c '! "$0" begin http-01 x.test tok auth' "$HOOKS/uacme-hook.sh"
check "detach --wait" as detach --wait=30

acme_load_check
check "no kernel WARN" st_dmesg_clean
st_summary
