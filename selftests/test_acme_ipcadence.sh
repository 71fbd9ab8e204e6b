#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# IP identifiers on the short-lived cadence (issue 18, point 6): RENEWALS
# (30) forced renewals in a row of one certificate for an IPv4 and an
# IPv6 identifier (RFC 8738: validated through the reverse-name SNI), by
# uacme with scripts/hooks/uacme-hook.sh through an `alpnsteer agent`,
# next to nginx and next to Apache (IPCAD_WEBS), a sha256-checked load
# from another namespace throughout, by two ACME clients (IPCAD_CLIENTS):
#   - uacme with scripts/hooks/uacme-hook.sh;
#   - certbot with the alpnsteer plugin (certbot/certbot_alpnsteer), the
#     newest Debian ships (sid's 5.5: --ip-address since 5.3), chrooted
#     in the root acme_certbot_root builds once and caches (skipped only
#     when the mirror is unreachable).  Each renewal is `certbot certonly
#     --csr` of one CSR for exactly both addresses: an order of addresses
#     alone gets a certificate whose CN pebble 2.4 fills with the first
#     address, which certbot 5.5 refuses to keep as a lineage (see
#     test_acme_certbot's test_certbot_ip), while --csr only writes the
#     certificate out.
# Each renewal is a new certificate from pebble for exactly both
# addresses, and between renewals the agent is detached with nothing
# loaded (no pin, state detached, no BPF descriptor in the agent); the
# load sees 0 failed and 0 corrupted requests.  Of Debian 12's own
# clients only uacme orders IP identifiers: certbot 2.1 has no
# --ip-address, and lego 4.9.1 sends an address as a dns identifier,
# which pebble refuses.
. "$(dirname "$0")/lib.sh"
. "$HERE/acme_lib.sh"
REPO=$(cd "$HERE/.." && pwd)
WEBS=${IPCAD_WEBS:-nginx apache2}
CLIENTS=${IPCAD_CLIENTS:-uacme certbot}
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

# The certbot side: certbot ARGS... chrooted in the root, its state in
# $ST_WORK/certbot, the plugin from $ST_WORK/py; output in LOG.
cb() {
	local log=$1
	shift
	logged "$log" acme_in_root PYTHONPATH="$ST_WORK/py/usr/lib/python3/dist-packages" \
		REQUESTS_CA_BUNDLE="$CA_BUNDLE" -- certbot --config-dir "$ST_WORK/certbot/etc" \
		--work-dir "$ST_WORK/certbot/lib" --logs-dir "$ST_WORK/certbot/log/${CB_RUN:-0}" \
		--non-interactive --server "$ACME_DIR" "$@"
}

# client_setup: the client's account (and, for certbot, the root, the
# plugin and the CSR for both addresses).
client_setup() {
	case $CLIENT in
	uacme)
		check "[$ST_WEB] uacme new" logged "$ST_WORK/new.log" uacme "$U" new st@ipcad.test ;;
	certbot)
		acme_root_ok || return 1
		check "[$ST_WEB] the plugin laid out as installed (make install-certbot DESTDIR=)" \
			logged "$ST_WORK/py.log" make -C "$REPO" --no-print-directory install-certbot \
			DESTDIR="$ST_WORK/py" PREFIX=/usr || return 1
		mkdir -p "$U"
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout "$U/key.pem" -out "$U/ip.csr" -subj / \
			-addext "subjectAltName=IP:$SRVCA4,IP:$SRVCA6" 2>/dev/null
		cb "$ST_WORK/new.log" --version
		echo "# $(grep -m1 '^certbot ' "$ST_WORK/new.log") (in $CERTBOT_ROOT_DIR)"
		check "[$ST_WEB] certbot register" cb "$ST_WORK/new.log" register \
			--agree-tos -m st@ipcad.test ;;
	esac
}

# client_renew R: renewal R; the certificate in $CERT
client_renew() {
	case $CLIENT in
	uacme)
		CERT=$U/$SRVCA4/cert.pem
		logged "$ST_WORK/issue.log" uacme "$U" -f -h "$HOOKS/uacme-hook.sh" issue $SRVCA4 $SRVCA6 ;;
	certbot)
		CERT=$U/cert.$1.pem
		CB_RUN=$1 cb "$ST_WORK/issue.log" certonly -a alpnsteer --csr "$U/ip.csr" \
			--cert-path "$CERT" --chain-path "$U/chain.$1.pem" \
			--fullchain-path "$U/fullchain.$1.pem" ;;
	esac
}

# test_ipcadence WEB CLIENT
test_ipcadence() {
	local U i r serial prev="" fails=0 notnew=0 notdet=0 bad=0 t0 t1 times="" waits="" CERT notagent adds na nd nr
	ST_WEB=$1 CLIENT=$2
	[ "$CLIENT" != uacme ] || st_require_cmd uacme # not installed: skipped, counted
	acme_setup || { not_ok "[$ST_WEB] set-up"; return; }
	st_defer as detach --all --wait=30
	st_dmesg_mark
	U=$ST_WORK/$CLIENT
	st_spawn nsenter --net=/var/run/netns/$ST_SRV "$ALPNSTEER" agent --grace 1s \
		> "$ST_WORK/agent.log" 2>&1
	AGENT=${ST_PIDS[-1]}
	st_defer as agent stop
	for i in $(seq 1 50); do [ -S /run/alpnsteer/agent.sock ] && break; sleep 0.1; done
	check "[$ST_WEB] the agent runs, detached" detached_now
	client_setup || return
	acme_loop_start
	sleep 1
	t1=$(date +%s)
	for r in $(seq 1 "$RENEWALS"); do
		t0=$(date +%s)
		if ! client_renew $r; then
			fails=$((fails + 1))
			echo "# renewal $r: $CLIENT failed"
			continue
		fi
		times="$times $(( $(date +%s) - t0 ))"
		acme_cert_ok "$CERT" $SRVCA4 $SRVCA6 >/dev/null || { bad=$((bad + 1)); echo "# renewal $r: not pebble's for both"; }
		serial=$(openssl x509 -in "$CERT" -noout -serial)
		[ "$serial" != "$prev" ] || { notnew=$((notnew + 1)); echo "# renewal $r: the same certificate"; }
		prev=$serial
		# The agent's grace is 1 s; nothing loaded before the next one.
		t0=$(date +%s%N)
		for i in $(seq 1 100); do detached_now && break; sleep 0.1; done
		detached_now || { notdet=$((notdet + 1)); echo "# renewal $r: still attached 10 s after"; }
		waits="$waits $(( ($(date +%s%N) - t0) / 100000000 ))"
	done
	echo "# [$ST_WEB] $CLIENT: $RENEWALS renewals in $(( $(date +%s) - t1 )) s; seconds per renewal:$times"
	echo "# [$ST_WEB] ... tenths of a second until detached after each:$waits"
	expect_eq "[$ST_WEB] $RENEWALS renewals of $SRVCA4 and $SRVCA6 by $CLIENT through the agent succeeded" $fails 0
	expect_eq "[$ST_WEB] ... each a new certificate" $notnew 0
	expect_eq "[$ST_WEB] ... each pebble's, for exactly both addresses" $bad 0
	expect_eq "[$ST_WEB] ... and after each the agent was detached, nothing loaded" $notdet 0
	rev6=$(python3 -c 'import ipaddress,sys; print(ipaddress.ip_address(sys.argv[1]).reverse_pointer)' $SRVCA6)
	expect_eq "[$ST_WEB] the IPv4 identifier was validated over IPv4 (SNI 1.5.18.198.in-addr.arpa)" \
		"$(acme_via 1.5.18.198.in-addr.arpa)" ipv4
	expect_eq "[$ST_WEB] the IPv6 identifier over IPv6 (its ip6.arpa SNI)" "$(acme_via $rev6)" ipv6
	# certbot's debug log of each renewal (a directory each: certbot
	# rotates the logs of one directory): no attach, and a remove for
	# every add.  Usually 2 adds; fewer when pebble reused a valid
	# authorization: PEBBLE_AUTHZREUSE=0 still reuses 1 in 100 (a new
	# one only when rand.Intn(100) > 0), seen once in 60 identifiers.
	if [ "$CLIENT" = certbot ]; then
		notagent=0 adds=0
		for r in $(seq 1 "$RENEWALS"); do
			i=$ST_WORK/certbot/log/$r/letsencrypt.log
			i="$(grep -c "certbot_alpnsteer:running .* attach " "$i") $(grep -c "certbot_alpnsteer:running .* challenge add " "$i") $(grep -c "certbot_alpnsteer:running .* challenge remove " "$i")"
			read -r na nd nr <<<"$i"
			adds=$((adds + nd))
			[ "$na" = 0 ] && [ "$nd" = "$nr" ] && [ "$nd" -le 2 ] ||
				{ notagent=$((notagent + 1)); echo "# renewal $r: the plugin ran attach, add, remove $i times"; }
		done
		echo "# [$ST_WEB] the plugin added $adds challenges for $((2 * RENEWALS)) identifiers (pebble reused $((2 * RENEWALS - adds)) valid authorizations)"
		expect_eq "[$ST_WEB] in each renewal the plugin only added and removed (agent mode)" $notagent 0
	fi
	check "[$ST_WEB] ... $RENEWALS validations of each were steered" test \
		"$(grep -cF " sni=1.5.18.198.in-addr.arpa to slot" /run/alpnsteer/daemon.log 2>/dev/null || echo 0)" -ge "$RENEWALS"
	acme_loop_stop
	acme_load_expect
	check "[$ST_WEB] agent stop" as agent stop
	check "[$ST_WEB] no kernel WARN" st_dmesg_clean
}

[[ " $CLIENTS " != *" certbot "* ]] || acme_certbot_root
for c in $CLIENTS; do
	for w in $WEBS; do
		# uacme's keep the names they had
		n=ipcadence_${c}_$w
		[ "$c" != uacme ] || n=ipcadence_$w
		st_test $n test_ipcadence $w $c
	done
done
st_summary
