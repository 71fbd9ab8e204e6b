#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# demo.sh - real certificates from a local ACME CA through alpnsteer while
# nginx keeps serving on the same port 443.  Run as root on Debian 12:
#
#   sudo scripts/demo.sh
#
# It installs its dependencies (scripts/install-deps.sh; DEMO_NO_INSTALL=1
# skips that), builds, and then, in network namespaces of its own
# (demo-srv, demo-cli, demo-ca; 198.18.4.0/24, 198.18.5.0/24, fd00:a5:4::/64
# and fd00:a5:5::/64 on its own veths, nothing else is ever contacted):
#   - pebble (tlsPort 443) and pebble-challtestsrv as its DNS in demo-ca;
#   - nginx on 443 with a self-signed certificate in demo-srv, kept busy by
#     a load generator in demo-cli throughout;
#   - alpnsteer attach in demo-srv;
#   - dehydrated (--alpn DIR, watched by alpnsteer --alpn-dir) issues one
#     certificate for www.demo.test (A record only: validated over IPv4)
#     and v6.demo.test (AAAA only: validated over IPv6);
#   - uacme (hook calling alpnsteer challenge add/remove) issues one for the
#     IP identifier 198.18.5.1 (RFC 8738; Debian's dehydrated 0.7.0 and
#     lego 4.9.1 cannot order IP identifiers);
#   - the first is installed into nginx (reload by PID), openssl s_client
#     sees it (issuer: pebble), alpnsteer detaches, and a summary follows.
# With --agent, `alpnsteer agent --alpn-dir DIR` runs instead of the
# attach: detached (nothing loaded) until dehydrated's files or uacme's
# hook make a challenge pending, attached while one is, detached again a
# grace (2 s) after the last.
# Everything is undone on exit, also on Ctrl-C: processes by PID,
# namespaces, pins (the pins and /run/alpnsteer are private to the demo:
# it runs under selftests/isolate.sh).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
AGENT=0
case "${1:-}" in
--agent) AGENT=1 ;;
"") ;;
*) echo "usage: scripts/demo.sh [--agent]" >&2; exit 2 ;;
esac
if [ "$(id -u)" != 0 ]; then
	echo "Error: the demo creates network namespaces and loads BPF programs: run it as root (sudo scripts/demo.sh)" >&2
	exit 1
fi

if [ -z "${ST_NS:-}" ]; then
	if [ -z "${DEMO_NO_INSTALL:-}" ]; then
		echo "== installing dependencies (scripts/install-deps.sh)"
		"$ROOT/scripts/install-deps.sh" > /tmp/alpnsteer-demo-install.log 2>&1 || {
			tail -20 /tmp/alpnsteer-demo-install.log; exit 1; }
	fi
	echo "== building (make)"
	make -s -C "$ROOT" > /tmp/alpnsteer-demo-build.log 2>&1 || {
		tail -20 /tmp/alpnsteer-demo-build.log; exit 1; }
	# Own bpffs, own /run/alpnsteer, names prefixed "demo": the demo never
	# meets a real attachment or a test run on the same host.
	exec "$ROOT/selftests/isolate.sh" demo "$0" "$@"
fi

export ALPNSTEER=${ALPNSTEER:-$ROOT/build/alpnsteer}
. "$ROOT/selftests/lib.sh"
. "$ROOT/selftests/acme_lib.sh"
START=$SECONDS
FAILS=0
fail() {
	echo "!! $*"
	FAILS=$((FAILS + 1))
}
step() { echo; echo "== [$((SECONDS - START)) s] $*"; }

step "namespaces $ST_SRV, $ST_CLI, $ST_CA; nginx on 443 (self-signed); pebble with tlsPort 443"
acme_setup
st_dmesg_mark
echo "   nginx answers with: $(field "$(tls $SRV4 --sni www.demo.test)" cn) (self-signed)"
acme_dns a www.demo.test $SRVCA4
acme_dns aaaa v6.demo.test $SRVCA6
echo "   DNS (challtestsrv): www.demo.test A $SRVCA4 (no AAAA); v6.demo.test AAAA $SRVCA6 (no A)"
echo "   ACME directory: $ACME_DIR"

step "load generator: keep-alive GETs, sha256-checked downloads and uploads, new-connection storms, IPv4 and IPv6"
acme_loop_start
sleep 1

ALPN=$ST_WORK/alpn-certs
mkdir -p "$ALPN"
if [ $AGENT = 1 ]; then
	step "alpnsteer agent --alpn-dir --grace 2s (in $ST_SRV): resident, detached"
	st_spawn nsenter --net=/var/run/netns/$ST_SRV "$ALPNSTEER" agent --alpn-dir "$ALPN" \
		--grace 2s > "$ST_WORK/agent.log" 2>&1
	AGENT_PID=${ST_PIDS[-1]}
	for i in $(seq 1 50); do [ -S /run/alpnsteer/agent.sock ] && break; sleep 0.1; done
	echo "   state: $(status_field 'd["state"]'); pins: $(ls /sys/fs/bpf/alpnsteer 2>/dev/null | wc -l); BPF programs loaded by it: none"
	[ "$(status_field 'd["state"]')" = detached ] || fail "the agent is not detached at start"
else
	step "alpnsteer attach --alpn-dir (in $ST_SRV)"
	as attach --alpn-dir "$ALPN"
fi

step "dehydrated -t tls-alpn-01 --alpn $ALPN: www.demo.test, v6.demo.test"
D=$ST_WORK/dehydrated
dehydrated=(in_srv dehydrated -f "$(acme_dehydrated_config "$D" demo@demo.test)")
logged "$ST_WORK/dehydrated-reg.log" "${dehydrated[@]}" --register --accept-terms ||
	fail "dehydrated --register"
if logged "$ST_WORK/dehydrated.log" "${dehydrated[@]}" -c --alpn "$ALPN" \
	-d www.demo.test -d v6.demo.test; then
	grep -E 'Handling authorization|Challenge is valid|Done' "$ST_WORK/dehydrated.log" | sed 's/^/   /'
else
	fail "dehydrated -c"
fi
CERT1=$D/certs/www.demo.test/fullchain.pem
acme_cert_ok "$CERT1" www.demo.test v6.demo.test || fail "the dehydrated certificate"

step "uacme with scripts/hooks/uacme-hook.sh: the IP identifier $SRVCA4"
U=$ST_WORK/uacme
# uacme has no CA-file option: in a mount namespace of its own, pebble's
# HTTPS certificate is bind-mounted over the bundle libcurl reads.
uacme() {
	in_srv unshare --mount --propagation private -- bash -c '
		mount --bind "$1" /etc/ssl/certs/ca-certificates.crt
		shift
		exec "$@"' uacme "$CA_BUNDLE" env UACME_CONFDIR="$U" \
		/usr/bin/uacme -v -c "$U" -a "$ACME_DIR" -y "$@"
}
logged "$ST_WORK/uacme-new.log" uacme new demo@demo.test || fail "uacme new"
if logged "$ST_WORK/uacme.log" uacme -h "$ROOT/scripts/hooks/uacme-hook.sh" issue $SRVCA4; then
	grep -E 'challenge|hook|issued|installed|saved' "$ST_WORK/uacme.log" | head -6 | sed 's/^/   /'
else
	fail "uacme issue"
fi
CERT2=$U/$SRVCA4/cert.pem
acme_cert_ok "$CERT2" $SRVCA4 || fail "the uacme certificate"

step "how pebble's validation hellos reached alpnsteer (daemon log: source addresses)"
VIA4=$(acme_via www.demo.test) VIA6=$(acme_via v6.demo.test) VIAIP=$(acme_via 1.5.18.198.in-addr.arpa)
echo "   www.demo.test: $VIA4; v6.demo.test: $VIA6; $SRVCA4 (SNI 1.5.18.198.in-addr.arpa): $VIAIP"
grep -E ' (steered|answered) ' /run/alpnsteer/daemon.log | sed 's/^/   /'
[ "$VIA4" = ipv4 ] || fail "www.demo.test was not validated over IPv4 only"
[ "$VIA6" = ipv6 ] || fail "v6.demo.test was not validated over IPv6 only"
[ "$VIAIP" = ipv4 ] || fail "$SRVCA4 was not validated over IPv4"
if [ $AGENT = 1 ]; then
	# The agent may have detached already: the counters went with the
	# maps, the daemon's log stays.
	STEERED=$(grep -c ' to slot' /run/alpnsteer/daemon.log || true)
	NOT_PENDING="n/a (agent)"
	step "alpnsteer agent status"
	"$ALPNSTEER" agent status | sed 's/^/   /'
else
	STEERED=$(counter steered)
	NOT_PENDING=$(counter not_pending)
	step "alpnsteer status while attached"
	"$ALPNSTEER" status | sed 's/^/   /'
fi

# nginx's own graceful reload closes idle keep-alive connections, and a
# request that races that close fails (RemoteDisconnected), alpnsteer or
# not (measured: 5 such failures in 3 reloads under this load, detached).
# So the load pauses across the reload, and resumes until after detach.
step "load paused for nginx's reload (its keep-alive close race is not alpnsteer's)"
acme_loop_stop
step "install the www.demo.test certificate into nginx and reload it (SIGHUP to its master, by PID)"
cp "$CERT1" "$ST_WORK/nginx.crt"
cp "$D/certs/www.demo.test/privkey.pem" "$ST_WORK/nginx.key"
kill -HUP "$(cat "$ST_WORK/nginx.pid")"
for i in $(seq 1 50); do
	[ "$(field "$(tls $SRV4 --sni www.demo.test)" cn)" = www.demo.test ] && break
	sleep 0.1
done

step "openssl s_client -connect $SRV4:443 -servername www.demo.test (from $ST_CLI), verified against pebble's root"
in_cli openssl s_client -connect $SRV4:443 -servername www.demo.test \
	-CAfile "$ST_WORK/ca/root.pem" -verify_hostname www.demo.test -verify_return_error \
	< /dev/null > "$ST_WORK/s_client.out" 2>&1 || fail "openssl s_client"
grep -E '^(subject|issuer)=|Verify return code' "$ST_WORK/s_client.out" | sed 's/^/   /'
grep -q 'Verify return code: 0 (ok)' "$ST_WORK/s_client.out" || fail "s_client did not verify the chain"
grep -q '^issuer=.*Pebble Intermediate CA' "$ST_WORK/s_client.out" || fail "nginx does not serve pebble's certificate"
in_cli openssl s_client -connect "[$SRV6]:443" -servername v6.demo.test \
	-CAfile "$ST_WORK/ca/root.pem" -verify_hostname v6.demo.test -verify_return_error \
	< /dev/null > "$ST_WORK/s_client6.out" 2>&1 || fail "openssl s_client over IPv6"
echo "   over IPv6 ([$SRV6]:443, v6.demo.test): $(grep 'Verify return code' "$ST_WORK/s_client6.out")"

step "load resumed"
acme_loop_start
sleep 2
if [ $AGENT = 1 ]; then
	step "the agent detaches by itself, the grace after the last challenge"
	for i in $(seq 1 100); do [ "$(status_field 'd["state"]')" = detached ] && break; sleep 0.1; done
	echo "   state: $(status_field 'd["state"]'); pins: $(ls /sys/fs/bpf/alpnsteer 2>/dev/null | wc -l)"
	[ "$(status_field 'd["state"]')" = detached ] || fail "the agent did not detach"
	grep -E 'agent: (attached|no challenge)' "$ST_WORK/agent.log" | sed 's/^/   /'
	kill "$AGENT_PID"
else
	step "alpnsteer detach --wait"
	as detach --wait=30 || fail "detach"
	echo "   state: $(status_field 'd["state"]')"
fi
acme_loop_stop
LOAD=$ACME_LOOP_SUM
FAILS=$((FAILS + $(field "$LOAD" failures)))
WARNS=ok
st_dmesg_clean || { WARNS="WARN/BUG in the kernel log (above)"; fail "kernel WARN"; }

ISSUER=$(openssl x509 -in "$CERT1" -noout -issuer | sed 's/^issuer=//')
step "summary"
cat <<SUM
   names issued:         www.demo.test (validated over $VIA4), v6.demo.test (over $VIA6) [dehydrated]; $SRVCA4 (over $VIAIP) [uacme]
   issuer:               $ISSUER (root: $(openssl x509 -in "$ST_WORK/ca/root.pem" -noout -subject | sed 's/^subject=//'))
   validation handshakes steered by alpnsteer: $STEERED (not pending, left to nginx: $NOT_PENDING)
   requests served by nginx during the run: $(( $(field "$LOAD" gets) + $(field "$LOAD" downloads) + $(field "$LOAD" uploads) )) (gets $(field "$LOAD" gets), downloads $(field "$LOAD" downloads), uploads $(field "$LOAD" uploads); $(field "$LOAD" bytes_hashed) bytes sha256-checked; $(field "$LOAD" conns) TLS connections)
   corrupted bodies:     $(field "$LOAD" corrupted)
   load errors:          $(field "$LOAD" errors)
   kernel log:           $WARNS
   failures:             $FAILS
   time (after install): $((SECONDS - START)) s
SUM
[ "$FAILS" -eq 0 ]
