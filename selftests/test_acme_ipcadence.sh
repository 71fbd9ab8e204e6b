#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# IP identifiers on the short-lived cadence (issue 18, point 6): RENEWALS
# (30) forced renewals in a row of one certificate for an IPv4 and an
# IPv6 identifier (RFC 8738: validated through the reverse-name SNI), by
# uacme with scripts/hooks/uacme-hook.sh through an `alpnsteer agent`,
# next to nginx and next to Apache (IPCAD_WEBS), a sha256-checked load
# from another namespace throughout.  Each renewal is a new certificate
# from pebble for exactly both addresses, and between renewals the agent
# is detached with nothing loaded (no pin, state detached, no BPF
# descriptor in the agent); the load sees 0 failed and 0 corrupted
# requests.  uacme is the one client of Debian 12 (and trixie) that
# orders IP identifiers: certbot 2.1 and 4.0 have no --ip-address, and
# lego 4.9.1 sends an address as a dns identifier, which pebble refuses.
. "$(dirname "$0")/lib.sh"
. "$HERE/acme_lib.sh"
st_require_cmd uacme # not installed: skipped, counted
WEBS=${IPCAD_WEBS:-nginx apache2}
RENEWALS=${RENEWALS:-30}
PINS=/sys/fs/bpf/alpnsteer

# As in test_acme_uacme: pebble's HTTPS certificate bind-mounted over the
# system bundle libcurl reads, in a mount namespace of uacme's own.
uacme() {
	local confdir=$1
	shift
	in_srv unshare --mount --propagation private -- bash -c '
		mount --bind "$1" /etc/ssl/certs/ca-certificates.crt
		shift
		exec "$@"' uacme "$CA_BUNDLE" env UACME_CONFDIR="$confdir" ALPNSTEER="$ALPNSTEER" \
		/usr/bin/uacme -v -c "$confdir" -a "$ACME_DIR" -y "$@"
}
no_bpf() { ! ls -l /proc/$1/fd 2>/dev/null | grep -q 'anon_inode:bpf'; }
detached_now() {
	[ ! -e $PINS ] && [ "$(status_field "d['state']")" = detached ] && no_bpf $AGENT
}

test_ipcadence() {
	local U i r serial prev="" fails=0 notnew=0 notdet=0 bad=0 t0 times=""
	ST_WEB=$1
	acme_setup || { not_ok "[$ST_WEB] set-up"; return; }
	st_defer as detach --all --wait=30
	st_dmesg_mark
	U=$ST_WORK/uacme
	st_spawn nsenter --net=/var/run/netns/$ST_SRV "$ALPNSTEER" agent --grace 1s \
		> "$ST_WORK/agent.log" 2>&1
	AGENT=${ST_PIDS[-1]}
	st_defer as agent stop
	for i in $(seq 1 50); do [ -S /run/alpnsteer/agent.sock ] && break; sleep 0.1; done
	check "[$ST_WEB] the agent runs, detached" detached_now
	check "[$ST_WEB] uacme new" logged "$ST_WORK/new.log" uacme "$U" new st@ipcad.test
	acme_loop_start
	sleep 1
	for r in $(seq 1 "$RENEWALS"); do
		t0=$(date +%s)
		if ! logged "$ST_WORK/issue.log" uacme "$U" -f -h "$HOOKS/uacme-hook.sh" issue $SRVCA4 $SRVCA6; then
			fails=$((fails + 1))
			echo "# renewal $r: uacme failed"
			continue
		fi
		times="$times $(( $(date +%s) - t0 ))"
		acme_cert_ok "$U/$SRVCA4/cert.pem" $SRVCA4 $SRVCA6 >/dev/null || { bad=$((bad + 1)); echo "# renewal $r: not pebble's for both"; }
		serial=$(openssl x509 -in "$U/$SRVCA4/cert.pem" -noout -serial)
		[ "$serial" != "$prev" ] || { notnew=$((notnew + 1)); echo "# renewal $r: the same certificate"; }
		prev=$serial
		# The agent's grace is 1 s; nothing loaded before the next one.
		for i in $(seq 1 100); do detached_now && break; sleep 0.1; done
		detached_now || { notdet=$((notdet + 1)); echo "# renewal $r: still attached 10 s after"; }
	done
	echo "# [$ST_WEB] seconds per renewal:$times"
	expect_eq "[$ST_WEB] $RENEWALS renewals of $SRVCA4 and $SRVCA6 by uacme through the agent succeeded" $fails 0
	expect_eq "[$ST_WEB] ... each a new certificate" $notnew 0
	expect_eq "[$ST_WEB] ... each pebble's, for exactly both addresses" $bad 0
	expect_eq "[$ST_WEB] ... and after each the agent was detached, nothing loaded" $notdet 0
	rev6=$(python3 -c 'import ipaddress,sys; print(ipaddress.ip_address(sys.argv[1]).reverse_pointer)' $SRVCA6)
	expect_eq "[$ST_WEB] the IPv4 identifier was validated over IPv4 (SNI 1.5.18.198.in-addr.arpa)" \
		"$(acme_via 1.5.18.198.in-addr.arpa)" ipv4
	expect_eq "[$ST_WEB] the IPv6 identifier over IPv6 (its ip6.arpa SNI)" "$(acme_via $rev6)" ipv6
	check "[$ST_WEB] ... $RENEWALS validations of each were steered" test \
		"$(grep -cF " sni=1.5.18.198.in-addr.arpa to slot" /run/alpnsteer/daemon.log 2>/dev/null || echo 0)" -ge "$RENEWALS"
	acme_loop_stop
	acme_load_expect
	check "[$ST_WEB] agent stop" as agent stop
	check "[$ST_WEB] no kernel WARN" st_dmesg_clean
}

for w in $WEBS; do
	st_test ipcadence_$w test_ipcadence $w
done
st_summary
