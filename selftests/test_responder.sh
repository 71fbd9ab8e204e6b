#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The built-in responder through the real kernel path, nginx on 443:
# pending names get a valid validation certificate (checked by an
# independent script), everything else reaches nginx; concurrency; the
# dehydrated --alpn-dir; the control socket's permissions.
. "$(dirname "$0")/lib.sh"
st_setup
st_dmesg_mark
CHECK=(ip netns exec $ST_CLI /usr/bin/python3 "$HERE/check_cert.py")
ALPNDIR=$ST_WORK/alpn
mkdir -p "$ALPNDIR"

# --per-source 0: one client machine plays every CA network here (the cap
# is test_harden's business).
check "attach (built-in responder, --alpn-dir)" as attach --pool 32 --per-source 0 --alpn-dir "$ALPNDIR"
pid=$(status_field 'd["pid"]')
expect_eq "the daemon runs as the alpnsteer user" "$(awk '/^Uid:/ {print $2}' /proc/$pid/status)" "$(id -u alpnsteer)"
# The monitor keeps no capability but, for --alpn-dir, CAP_DAC_READ_SEARCH
# (2); the TLS worker none (selftests/test_privsep.sh).
expect_eq "... with only the capabilities it needs" "$(awk '/^CapEff:/ {print $2}' /proc/$pid/status)" 0000000000000004
check "challenge add a DNS name" "$ALPNSTEER" challenge add Example.TEST key.auth-1
check "challenge add an IPv4 address" "$ALPNSTEER" challenge add $SRV4 key.auth-ip4
check "challenge add an IPv6 address" "$ALPNSTEER" challenge add $SRV6 key.auth-ip6
# What dehydrated and uacme hand their hooks: SHA-256 of the key
# authorization, as colon-separated hex or as base64url.
check "challenge add --digest (dehydrated's colon hex)" "$ALPNSTEER" challenge add dg1.test \
	--digest "$(printf %s dg-ka-1 | sha256sum | cut -c1-64 | sed 's/../&:/g; s/:$//')"
check "challenge add --digest (uacme's base64url)" "$ALPNSTEER" challenge add dg2.test \
	--digest "$(printf %s dg-ka-2 | openssl dgst -sha256 -binary | basenc --base64url | tr -d =)"
out=$("$ALPNSTEER" challenge add dg3.test --digest 12ab 2>&1)
check "a bad digest gets a clear error" grep -q "^Error: .*not a SHA-256 digest" <<<"$out"
out=$("$ALPNSTEER" challenge add 'not_a.name' x 2>&1)
check "a bad identifier gets a clear error" grep -q "^Error: .*not a DNS name" <<<"$out"
out=$("$ALPNSTEER" challenge add '*.example.test' x 2>&1)
check "a wildcard is refused" grep -q "^Error: .*wildcard" <<<"$out"
out=$("$ALPNSTEER" challenge add ok.test 'two words' 2>&1)
check "white space in the key authorization is refused" grep -q "^Error: .*white space" <<<"$out"

for tls in 1.2 1.3; do
	for h in $SRV4 $SRV6; do
		check "[$h TLS $tls] example.test passes every CA rule" "${CHECK[@]}" $h example.test key.auth-1 --tls $tls
	done
	check "[TLS $tls] IPv4 identifier (reverse-name SNI) passes" "${CHECK[@]}" $SRV4 $SRV4 key.auth-ip4 --tls $tls
	check "[TLS $tls] IPv6 identifier (reverse-name SNI) passes" "${CHECK[@]}" $SRV6 $SRV6 key.auth-ip6 --tls $tls
done
# alpnsteer's own CA-style check agrees with the independent one, and fails
# where a CA would.
for h in $SRV4 $SRV6; do
	check "[$h] alpnsteer check passes a pending name" in_cli "$ALPNSTEER" check example.test --address $h --keyauth key.auth-1
done
check "alpnsteer check passes an IPv6 identifier" in_cli "$ALPNSTEER" check $SRV6 --keyauth key.auth-ip6
out=$(in_cli "$ALPNSTEER" check example.test --address $SRV4 --keyauth wrong 2>&1) && r=0 || r=$?
echo "$out" | sed 's/^/# /'
check "alpnsteer check fails a wrong key authorization, rule by rule" \
	test "$r" -ne 0 -a "$(grep -c '^FAIL tls1\.[23] acme_ext_digest' <<<"$out")" = 2
out=$(in_cli "$ALPNSTEER" check nobody.test --address $SRV4 2>&1) && r=0 || r=$?
check "alpnsteer check fails a name that is not pending (nginx answers it)" test "$r" -ne 0
check "a name added by digest passes every CA rule (IPv4)" "${CHECK[@]}" $SRV4 dg1.test dg-ka-1
check "a name added by digest passes every CA rule (IPv6)" "${CHECK[@]}" $SRV6 dg2.test dg-ka-2
out=$("${CHECK[@]}" $SRV4 example.test wrong-keyauth 2>&1)
check "the independent checker can fail (wrong key authorization)" grep -q "FAIL acme_identifier_matches_keyauth" <<<"$out"

check "unknown SNI with acme-tls/1 reaches nginx" nginx_refuses_acme $SRV4 unknown.test
expect_eq "no ALPN reaches nginx" "$(field "$(tls $SRV4 --sni example.test)" cn)" nginx-real
expect_eq "http/1.1 for a pending name reaches nginx" "$(field "$(tls $SRV6 --alpn http/1.1 --sni example.test)" cn)" nginx-real
# TLS 1.3 HelloRetryRequest (issue 20, point 8): the first hello (steered:
# acme-tls/1 for a pending name) draws a retry; the second is checked as
# the first was, or the validation certificate goes to a hello without
# acme-tls/1 or for another name.
hrr() { in_cli python3 "$HERE/hrr.py" "$@"; }
expect_eq "[HRR] a real client's second hello is answered" "$(hrr $SRV4 example.test same)" serverhello
expect_eq "[HRR] a second hello without ALPN is refused" "$(hrr $SRV4 example.test noalpn)" alert:120
expect_eq "[HRR] a second hello without ALPN or SNI is refused" "$(hrr $SRV6 example.test bare)" alert:120
expect_eq "[HRR] a second hello for another name is refused" "$(hrr $SRV4 example.test othersni)" alert:112

# 50 concurrent validations for 5 identifiers, IPv4 and IPv6.
for i in 1 2 3 4 5; do "$ALPNSTEER" challenge add n$i.test ka-$i; done
before=$(counter steered)
seq 0 49 | xargs -P 50 -I{} bash -c '
	i=$(( {} % 5 + 1 )); h='$SRV4'; [ $(( {} % 2 )) = 1 ] && h='$SRV6'
	ip netns exec '$ST_CLI' /usr/bin/python3 '"$HERE"'/check_cert.py $h n$i.test ka-$i >/dev/null && echo OK' > "$ST_WORK/conc.out"
expect_eq "50 concurrent validations for 5 names all pass" "$(grep -c OK "$ST_WORK/conc.out")" 50
expect_eq "all 50 were steered" $(( $(counter steered) - before )) 50
# A client has the certificate before the responder has read its Finished:
# give the daemon a moment to count the last handshakes.
answers() {
	"$ALPNSTEER" -j status | python3 -c 'import json,sys; c={x["identifier"]:x for x in json.load(sys.stdin)["challenges"]}; print(c["n1.test"]["answered_ipv4"], c["n1.test"]["answered_ipv6"], len(c["n1.test"]["last_clients"]) > 0)'
}
for i in $(seq 1 100); do [ "$(answers)" = "5 5 True" ] && break; sleep 0.1; done
expect_eq "status counts answers per identifier and family" "$(answers)" "5 5 True"

# A flood of validations leaves nothing behind: every webserver fd of a
# steered connection is closed as soon as its client is, so the drain does
# not wait for nginx's 60 s handshake timeout.  (A close_notify sent after
# the client had gone once left ~0.2% of them stuck.)
flood=$(in_cli python3 "$HERE/../scripts/bench_handshakes.py" $SRV4 4 2 n1.test n2.test n3.test)
echo "# flood: $flood"
check "a flood of validations all passed" python3 -c 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(not (r["handshakes"] > 200 and r["failures"] == 0))' "$flood"
check "... and every steered connection is gone within 10 s" wait_for 'd["conns_held"]' 0 100

# dehydrated's --alpn directory: files appear, then disappear.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-days 2 -subj /CN=dir.test -addext subjectAltName=DNS:dir.test \
	-addext "1.3.6.1.5.5.7.1.31=critical,DER:0420$(printf '%s' dir-ka | sha256sum | cut -c1-64)" \
	-keyout "$ALPNDIR/dir.test.key.pem" -out "$ST_WORK/dir.crt" 2>/dev/null
cp "$ST_WORK/dir.crt" "$ALPNDIR/dir.test.crt.pem"
sleep 0.3
check "a dehydrated-style certificate is served" "${CHECK[@]}" $SRV4 dir.test dir-ka
rm -f "$ALPNDIR"/dir.test.*
sleep 0.3
check "when its files go, the name stays with nginx" nginx_refuses_acme $SRV4 dir.test

check "challenge remove" "$ALPNSTEER" challenge remove example.test
check "a removed name stays with nginx" nginx_refuses_acme $SRV4 example.test
out=$("$ALPNSTEER" challenge remove example.test 2>&1)
check "removing it twice says so" grep -q "no pending challenge" <<<"$out"

# Only root may talk to the control socket.
cp "$ALPNSTEER" "$ST_WORK/alpnsteer-copy"
chmod 755 "$ST_WORK/alpnsteer-copy"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$ST_WORK/alpnsteer-copy" challenge add evil.test x 2>&1)
check "the control socket refuses an unprivileged user" grep -q "permission denied" <<<"$out"
check "the socket is not writable by others" test "$(stat -c %a /run/alpnsteer/control.sock)" = 600
check "evil.test was not added" nginx_refuses_acme $SRV4 evil.test

check "detach --wait" as detach --wait=10
check "no kernel WARN" st_dmesg_clean
st_summary
