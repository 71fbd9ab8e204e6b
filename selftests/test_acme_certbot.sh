#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# certbot with the alpnsteer authenticator (certbot/certbot_alpnsteer)
# against pebble (tlsPort 443), next to nginx and next to Apache (one
# st_test per webserver, CERTBOT_WEBS), a sha256-checked load throughout
# the first three steps:
#   - `certbot certonly -a alpnsteer`: the plugin attaches as holder
#     certbot, publishes the challenges (one name validated over IPv4
#     only, one over IPv6 only) and detaches;
#   - `certbot renew --force-renewal` twice in a row: a new certificate
#     each time, nothing left attached or pending;
#   - with an `alpnsteer agent` running: `certonly -a alpnsteer` only adds
#     and removes, the agent attaches, and detaches after its grace;
#   - then, the load stopped, `certbot run -a alpnsteer -i nginx|apache`:
#     the installer deploys the certificate into the webserver's (private)
#     configuration and reloads it, and the webserver serves it.  Not
#     under the load: a reload ends the old workers' idle keep-alive
#     connections, and a client that sends its next request on one at that
#     moment sees it closed (4 such failures of 114,416 requests in 3
#     nginx reloads); alpnsteer is detached and drained by then (certbot
#     cleans up the challenges before it deploys), so those are the
#     webserver's and the client's, not steering's.
# The plugin is the tree's, laid out as the package and `make install` lay
# it out (module and egg-info with the entry point), on PYTHONPATH:
# nothing is installed into the system.  Then the same with the newest
# certbot Debian ships (sid's 5.5: acme without TLSALPN01, and IP
# identifiers, --ip-address, from 5.3 on: test_certbot_ip), chrooted in
# a root file system built once and cached (acme_certbot_root).  Debian
# 12's certbot 2.1 has no IP identifiers.
. "$(dirname "$0")/lib.sh"
. "$HERE/acme_lib.sh"
st_require_cmd certbot # not installed: skipped, counted
REPO=$(cd "$HERE/.." && pwd)
WEBS=${CERTBOT_WEBS:-nginx apache2}
NAMES=(v4.cbt.test v6.cbt.test)

# certbot ARGS...: certbot in the server namespace, its state under
# $CB (a log directory per run), pebble trusted through
# REQUESTS_CA_BUNDLE, the plugin from
# $ST_WORK/py; the output in $ST_WORK/certbot.N.log, shown on failure.
# With CB_ROOT set, certbot is the one of the root file system
# acme_certbot_root made (CERTBOT_SUITE's, sid by default), run chrooted
# there (acme_in_root).
CB_N=0
CB_ROOT=
cb() {
	local pp=$ST_WORK/py$PYDIR${CB_PYPATH:+:$CB_PYPATH}
	CB_N=$((CB_N + 1))
	if [ -z "$CB_ROOT" ]; then
		logged "$ST_WORK/certbot.$CB_N.log" in_srv env PYTHONPATH="$pp" \
			REQUESTS_CA_BUNDLE="$CA_BUNDLE" ALPNSTEER="$ALPNSTEER" \
			certbot --config-dir "$CB/etc" --work-dir "$CB/lib" --logs-dir "$CB/log/$CB_N" \
			--non-interactive "$@"
		return
	fi
	logged "$ST_WORK/certbot.$CB_N.log" acme_in_root PYTHONPATH="$pp" \
		REQUESTS_CA_BUNDLE="$CA_BUNDLE" -- \
		certbot --config-dir "$CB/etc" --work-dir "$CB/lib" --logs-dir "$CB/log/$CB_N" \
		--non-interactive "$@" && return
	tail -n 20 /run/alpnsteer/daemon.log 2>/dev/null | sed 's/^/#   daemon.log: /'
	grep -h "alpnsteer" "$CB/log/$CB_N/letsencrypt.log" | tail -n 20 | sed 's/^/#   certbot: /'
	sed -n '/Traceback/,$p' "$CB/log/$CB_N/letsencrypt.log" | tail -n 25 | sed 's/^/#   certbot: /'
	return 1
}
cb_noalpn() {
	local CB_PYPATH=$ST_WORK/noalpn
	cb "$@"
}
# What the plugin ran, from certbot's debug log of the last run.
cb_ran() { grep -c "certbot_alpnsteer:running .*$1" "$CB/log/$CB_N/letsencrypt.log" || true; }
state() { status_field 'd["state"]'; }
# vge A B: version A >= B
vge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }
# pending challenges: none when detached
npending() {
	local out
	out=$("$ALPNSTEER" -j challenge list 2>&1) ||
		{ grep -q "is not attached" <<<"$out" && echo 0 || echo "$out"; return; }
	python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])))' "$out"
}
serial() { openssl x509 -in "$CB/etc/live/${NAMES[0]}/cert.pem" -noout -serial; }
# served HOST:PORT SNI: the fingerprint of the certificate the webserver serves
served() {
	in_cli openssl s_client -connect "$1" -servername "$2" </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 2>/dev/null
}
live_fp() { openssl x509 -in "$CB/etc/live/${NAMES[0]}/cert.pem" -noout -fingerprint -sha256; }

# web_names: the webserver's site answers to the test's names, so that
# the installer finds it (nginx server_name, Apache ServerName/Alias),
# and reload it.
web_names() {
	local c
	case $ST_WEB in
	nginx)
		c=$ST_WORK/web/nginx.conf
		sed -i "s|^\(\t*\)root $ST_WORK/www;|\1server_name ${NAMES[*]};\n&|" "$c"
		kill -HUP "$ST_WEB_PID" ;;
	apache2)
		c=$ST_WORK/web/apache2.conf
		sed -i "s|^\(\t*\)DocumentRoot \"$ST_WORK/www\"|\1ServerName ${NAMES[0]}\n\1ServerAlias ${NAMES[1]}\n&|" "$c"
		kill -USR1 "$ST_WEB_PID" ;;
	esac
	sleep 1
	wait_web
}

# installer_opts: certbot's installer for $ST_WEB, pointed at the test's
# private configuration instead of /etc/nginx or /etc/apache2.
installer_opts() {
	case $ST_WEB in
	nginx)
		echo "-i nginx --nginx-server-root $ST_WORK/web" ;;
	apache2)
		# apache2ctl reads /etc/apache2; this one runs the test's Apache.
		cat > "$ST_WORK/apache2ctl" <<-CTL
		#!/bin/sh
		conf="-d $ST_WORK/apache2 -f $ST_WORK/web/apache2.conf"
		case "\$1" in
		configtest) exec apache2 \$conf -t ;;
		graceful|restart) exec apache2 \$conf -k graceful ;;
		*) exec apache2 \$conf "\$@" ;;
		esac
		CTL
		chmod 755 "$ST_WORK/apache2ctl"
		echo "-i apache --apache-server-root $ST_WORK/web --apache-vhost-root $ST_WORK/web" \
			"--apache-ctl $ST_WORK/apache2ctl --apache-handle-modules False --apache-handle-sites False"
		;;
	esac
}

# cb_serial NAME: the serial of certbot's certificate NAME
cb_serial() { openssl x509 -in "$CB/etc/live/$1/cert.pem" -noout -serial; }

# test_certbot_ip: certonly for an IPv4 and an IPv6 identifier (certbot
# 5.3's --ip-address, RFC 8738: the CA validates through the reverse-name
# SNI), then `renew --force-renewal` of that certificate twice.  With a
# DNS name in the same order: pebble (2.4, Debian 12's) puts the first
# identifier into the subject's CN, an address too when there is no
# name, and certbot 5.5 takes a CN for a DNS name whatever it holds, so
# after issuing an addresses-only certificate it fails ("Requested name
# 198.18.5.1 is an IP address") and can never renew that lineage (a
# "parse failure").  Addresses only, through --csr: test_acme_ipcadence.
test_certbot_ip() {
	local s0 s1 r rev4 rev6 ip=cbt-ip
	rev4=$(python3 -c 'import ipaddress,sys; print(ipaddress.ip_address(sys.argv[1]).reverse_pointer)' $SRVCA4)
	rev6=$(python3 -c 'import ipaddress,sys; print(ipaddress.ip_address(sys.argv[1]).reverse_pointer)' $SRVCA6)
	check "[$ST_WEB] certbot certonly -a alpnsteer -d ip.cbt.test --ip-address $SRVCA4 --ip-address $SRVCA6" \
		cb certonly -a alpnsteer --server "$ACME_DIR" --cert-name $ip \
		-d ip.cbt.test --ip-address $SRVCA4 --ip-address $SRVCA6
	check "[$ST_WEB] ... the certificate is pebble's, for exactly the name and both addresses" \
		acme_cert_ok "$CB/etc/live/$ip/cert.pem" ip.cbt.test $SRVCA4 $SRVCA6
	expect_eq "[$ST_WEB] ... the plugin added and removed both addresses" \
		"$(cb_ran "challenge add .* $SRVCA4 ") $(cb_ran "challenge add .* $SRVCA6 ") $(cb_ran "challenge remove $SRVCA4") $(cb_ran "challenge remove $SRVCA6")" "1 1 1 1"
	expect_eq "[$ST_WEB] ... $SRVCA4 was validated over IPv4 (SNI $rev4)" "$(acme_via $rev4)" ipv4
	expect_eq "[$ST_WEB] ... $SRVCA6 over IPv6 (its ip6.arpa SNI)" "$(acme_via $rev6)" ipv6
	s0=$(cb_serial $ip)
	for r in 1 2; do
		check "[$ST_WEB] certbot renew --force-renewal --cert-name $ip ($r of 2)" \
			cb renew --force-renewal --no-random-sleep-on-renew --cert-name $ip
		s1=$(cb_serial $ip)
		check "[$ST_WEB] ... a new certificate ($s1, was $s0)" test "$s1" != "$s0"
		check "[$ST_WEB] ... pebble's, for the name and both addresses" \
			acme_cert_ok "$CB/etc/live/$ip/cert.pem" ip.cbt.test $SRVCA4 $SRVCA6
		expect_eq "[$ST_WEB] ... attached and detached by the plugin, nothing left pending" \
			"$(cb_ran "attach --holder certbot") $(cb_ran "detach --holder certbot") $(state) $(npending)" "1 1 detached 0"
		s0=$s1
	done
}

# test_certbot WEB [root]: the whole sequence next to WEB, with the
# host's certbot or (root) the newest one Debian ships, from the root
# file system acme_certbot_root made.
test_certbot() {
	local s0 s1 i r opts ver cls
	ST_WEB=$1
	acme_setup || { not_ok "[$ST_WEB] set-up"; return; }
	if [ -n "${2:-}" ]; then
		acme_root_ok || return
		CB_ROOT=$CERTBOT_ROOT_DIR
	fi
	st_defer as detach --all --wait=30
	st_dmesg_mark
	CB=$ST_WORK/certbot
	PYDIR=/usr/lib/python3/dist-packages
	check "[$ST_WEB] the plugin laid out as installed (make install-certbot DESTDIR=)" \
		logged "$ST_WORK/py.log" make -C "$REPO" --no-print-directory install-certbot \
		DESTDIR="$ST_WORK/py" PREFIX=/usr
	acme_dns a v4.cbt.test $SRVCA4
	acme_dns aaaa v6.cbt.test $SRVCA6
	acme_dns a agent.cbt.test $SRVCA4
	acme_dns a noalpn.cbt.test $SRVCA4
	acme_dns a ip.cbt.test $SRVCA4
	web_names || { not_ok "[$ST_WEB] the site answers to ${NAMES[*]}"; return; }
	opts=$(installer_opts)
	cb --version >/dev/null
	ver=$(sed -n 's/^certbot \([0-9.]*\).*/\1/p' "$ST_WORK/certbot.$CB_N.log" | head -n1)
	echo "# certbot $ver${CB_ROOT:+ (in $CB_ROOT)}"
	acme_loop_start
	sleep 1

	check "[$ST_WEB] certbot certonly -a alpnsteer -d ${NAMES[0]} -d ${NAMES[1]}" \
		cb certonly -a alpnsteer --agree-tos -m st@cbt.test \
		--server "$ACME_DIR" -d "${NAMES[0]}" -d "${NAMES[1]}"
	check "[$ST_WEB] the certificate is pebble's, for both names, and its chain verifies" \
		acme_cert_ok "$CB/etc/live/${NAMES[0]}/cert.pem" "${NAMES[@]}"
	expect_eq "[$ST_WEB] ${NAMES[0]} (A only) was validated over IPv4" "$(acme_via ${NAMES[0]})" ipv4
	expect_eq "[$ST_WEB] ${NAMES[1]} (AAAA only) was validated over IPv6" "$(acme_via ${NAMES[1]})" ipv6
	expect_eq "[$ST_WEB] the plugin attached as holder certbot, added 2, removed 2, detached" \
		"$(cb_ran "attach --holder certbot") $(cb_ran "challenge add") $(cb_ran "challenge remove") $(cb_ran "detach --holder certbot")" "1 2 2 1"
	expect_eq "[$ST_WEB] nothing attached after certbot" "$(state)" detached
	# acme 5.0 removed TLSALPN01: from certbot 5.0 on, the plugin's own.
	if vge "$ver" 5.0; then
		cls="certbot_alpnsteer.TLSALPN01 (acme 5.0 has none)"
	else
		cls="acme.challenges.TLSALPN01 (acme before 5.0)"
	fi
	check "[$ST_WEB] ... with the tls-alpn-01 class ${cls}" \
		grep -q "tls-alpn-01 challenge class: ${cls%% *}$" "$CB/log/$CB_N/letsencrypt.log"

	s0=$(serial)
	for r in 1 2; do
		check "[$ST_WEB] certbot renew --force-renewal ($r of 2)" \
			cb renew --force-renewal --no-random-sleep-on-renew
		s1=$(serial)
		check "[$ST_WEB] ... a new certificate ($s1, was $s0)" test "$s1" != "$s0"
		check "[$ST_WEB] ... pebble's, for both names" \
			acme_cert_ok "$CB/etc/live/${NAMES[0]}/cert.pem" "${NAMES[@]}"
		expect_eq "[$ST_WEB] ... attached and detached by the plugin" \
			"$(cb_ran "attach --holder certbot") $(cb_ran "detach --holder certbot")" "1 1"
		expect_eq "[$ST_WEB] ... nothing attached after it" "$(state)" detached
		expect_eq "[$ST_WEB] ... no challenge left pending" "$(npending)" 0
		s0=$s1
	done

	if vge "$ver" 5.3; then
		test_certbot_ip
	else
		echo "# certbot $ver has no --ip-address (5.3 added it): no IP identifiers"
	fi

	# Through the agent: the plugin only adds and removes.
	st_spawn nsenter --net=/var/run/netns/$ST_SRV "$ALPNSTEER" agent --grace 1s \
		> "$ST_WORK/agent.log" 2>&1
	st_defer as agent stop
	for i in $(seq 1 50); do [ -S /run/alpnsteer/agent.sock ] && break; sleep 0.1; done
	check "[$ST_WEB] certbot certonly -a alpnsteer -d agent.cbt.test, an agent running" \
		cb certonly -a alpnsteer --server "$ACME_DIR" -d agent.cbt.test
	check "[$ST_WEB] ... the certificate is pebble's" \
		acme_cert_ok "$CB/etc/live/agent.cbt.test/cert.pem" agent.cbt.test
	expect_eq "[$ST_WEB] ... the plugin neither attached nor detached; it added and removed" \
		"$(cb_ran "attach --holder") $(cb_ran "detach --holder") $(cb_ran "challenge add .*agent.cbt.test") $(cb_ran "challenge remove agent.cbt.test")" "0 0 1 1"
	check "[$ST_WEB] ... the agent attached for it" grep -q '"attaches": *[1-9]' <(in_srv "$ALPNSTEER" agent status)
	for i in $(seq 1 100); do [ "$(state)" = detached ] && break; sleep 0.1; done
	expect_eq "[$ST_WEB] ... and detached after its grace" "$(state)" detached
	check "[$ST_WEB] agent stop" as agent stop

	# acme 5.0 has no TLSALPN01: taken out of acme's registry before
	# certbot starts (a sitecustomize on PYTHONPATH), the plugin's own
	# tls-alpn-01 is the one certbot deserializes the CA's challenge into.
	mkdir -p "$ST_WORK/noalpn"
	cat > "$ST_WORK/noalpn/sitecustomize.py" <<-PY
	from acme import challenges
	challenges.Challenge.TYPES.pop("tls-alpn-01", None)
	challenges.ChallengeResponse.TYPES.pop("tls-alpn-01", None)
	PY
	check "[$ST_WEB] certonly -a alpnsteer -d noalpn.cbt.test, acme without TLSALPN01 (as acme 5.0)" \
		cb_noalpn certonly -a alpnsteer --server "$ACME_DIR" -d noalpn.cbt.test
	check "[$ST_WEB] ... the certificate is pebble's" \
		acme_cert_ok "$CB/etc/live/noalpn.cbt.test/cert.pem" noalpn.cbt.test
	check "[$ST_WEB] ... through the plugin's own tls-alpn-01 class" \
		grep -q "tls-alpn-01 challenge class: certbot_alpnsteer.TLSALPN01$" "$CB/log/$CB_N/letsencrypt.log"

	acme_loop_stop
	acme_load_expect

	# The installers, the load stopped (see the top of the file).
	# shellcheck disable=SC2086 # options, split on purpose
	check "[$ST_WEB] certbot run -a alpnsteer $opts --force-renewal" \
		cb run -a alpnsteer $opts --no-redirect --force-renewal \
		--server "$ACME_DIR" -d "${NAMES[0]}" -d "${NAMES[1]}"
	s1=$(serial)
	check "[$ST_WEB] ... a new certificate ($s1, was $s0)" test "$s1" != "$s0"
	expect_eq "[$ST_WEB] ... attached and detached by the plugin" \
		"$(cb_ran "attach --holder certbot") $(cb_ran "detach --holder certbot")" "1 1"
	expect_eq "[$ST_WEB] ... nothing attached after it" "$(state)" detached
	expect_eq "[$ST_WEB] ... $ST_WEB serves it (the installer deployed it) to ${NAMES[0]} over IPv4" \
		"$(served $SRV4:443 ${NAMES[0]})" "$(live_fp)"
	expect_eq "[$ST_WEB] ... and to ${NAMES[1]} over IPv6" "$(served "[$SRV6]:443" ${NAMES[1]})" "$(live_fp)"
	check "[$ST_WEB] no kernel WARN" st_dmesg_clean
}

for w in $WEBS; do
	st_test certbot_$w test_certbot $w
done
# The newest certbot Debian ships (CERTBOT_SUITE, sid by default: 5.5.0
# as of this writing), chrooted in a root built once and cached
# (acme_certbot_root); skipped only when the mirror is unreachable.
# CERTBOT_SUITE=none leaves it out.
if [ "${CERTBOT_SUITE:-}" != none ] && { [ -z "${ST_ONLY:-}" ] || [[ " $ST_ONLY " == *" certbot_root_"* ]]; }; then
	acme_certbot_root
	for w in $WEBS; do
		st_test certbot_root_$w test_certbot $w root
	done
fi
st_summary
