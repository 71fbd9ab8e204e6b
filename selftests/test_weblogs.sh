#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# What the webserver logs for steered validations (docs/usage.md, "PROXY
# protocol and the webserver's log"): nginx, Apache and HAProxy, each with
# PROXY headers on 443 (nginx `listen ... proxy_protocol`, Apache
# mod_remoteip `RemoteIPProxyProtocol On`, HAProxy `bind ... accept-proxy`;
# alpnsteer --proxy-protocol 443) and without, each at info level so that
# every line it could write shows.  A steered validation must look to the
# webserver exactly like a client that never spoke:
#   - header and hello in one segment, or the header alone but both in the
#     receive queue before the webserver accepted (they are coalesced, and
#     the verdict sees one skb): the whole connection, header included, is
#     the responder's; the webserver logs what it logs for a connection
#     that closed without a byte (nginx: `broken header: ""`, error level)
#   - the header alone, read by the webserver before the hello came: what
#     it logs for a balancer's health check (the header, then the close)
#   - no PROXY header: what it logs for a connect and close
# Each steered case is compared, line for line (times, pids and ports
# taken out), with its reference case, four connections each (IPv4 and
# IPv6; v1 and v2 headers).  One function per webserver and mode.
. "$(dirname "$0")/lib.sh"
KA=weblog-key.auth-1
# attach's PROXY options: every header comes from the client namespace.
PROXY_OPTS=(--proxy-protocol 443 --proxy-from 198.18.4.2/32 --proxy-from fd00:a5:4::2/128)

pc() { in_cli python3 "$HERE/proxyclient.py" "$@"; }

# bare HOST [HEADER]: connect, send the PROXY header (v1, v2) or nothing,
# close: a scanner, or a balancer's TCP health check
bare() {
	in_cli python3 - "$@" <<-'EOF'
	import os, socket, sys, time
	sys.path.insert(0, os.environ['HERE'])
	from proxyclient import header
	host, hdr = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else ''
	fam = socket.AF_INET6 if ':' in host else socket.AF_INET
	s = socket.socket(fam, socket.SOCK_STREAM)
	s.connect((host, 443))
	if hdr:
	    ip = '2001:db8:9::7' if fam == socket.AF_INET6 else '198.51.100.9'
	    s.sendall(header(hdr, (ip, 4000), (host, 443)))
	time.sleep(0.05)
	s.close()
	EOF
}
export HERE

# web_start WEB plain|proxy: WEB on 443 in the server namespace, logging
# at info level to WEB_LOG
web_start() {
	local web=$1 mode=$2 i conf
	if [ -n "${WEB_PID:-}" ]; then
		kill "$WEB_PID" 2>/dev/null
		wait "$WEB_PID" 2>/dev/null
	fi
	for i in $(seq 1 100); do
		[ -z "$(in_srv ss -Htln '( sport = :443 )')" ] && break
		sleep 0.1
	done
	case $web in
	nginx)
		conf=$HERE/nginx.conf.in
		[ $mode = proxy ] && conf=$HERE/web/nginx-proxy.conf.in
		sed "s|@WORK@|$ST_WORK|g" "$conf" > "$ST_WORK/wl-nginx.conf"
		WEB_LOG=$ST_WORK/logs/error.log
		touch "$WEB_LOG"
		st_spawn ip netns exec $ST_SRV nginx -c "$ST_WORK/wl-nginx.conf" ;;
	apache2)
		mkdir -p "$ST_WORK/apache2/run"
		sed -e "s|@WORK@|$ST_WORK|g" -e 's|^LogLevel warn|LogLevel info|' "$HERE/web/apache2.conf.in" > "$ST_WORK/wl-apache2.conf"
		if [ $mode = proxy ]; then
			sed -i -e '/^LoadModule proxy_http_module/a LoadModule remoteip_module /usr/lib/apache2/modules/mod_remoteip.so' \
				-e 's|^\tSSLEngine on|\tRemoteIPProxyProtocol On\n\tSSLEngine on|' "$ST_WORK/wl-apache2.conf"
		fi
		WEB_LOG=$ST_WORK/logs/apache2-error.log
		touch "$WEB_LOG"
		st_spawn ip netns exec $ST_SRV apache2 -DFOREGROUND -d "$ST_WORK/apache2" -f "$ST_WORK/wl-apache2.conf" ;;
	haproxy)
		cat "$ST_WORK/nginx.crt" "$ST_WORK/nginx.key" > "$ST_WORK/web.pem"
		sed -e "s|@WORK@|$ST_WORK|g" -e 's|local0 warning|local0 info|' \
			-e 's|^\tmode http|\tmode http\n\toption httplog|' "$HERE/web/haproxy.cfg.in" > "$ST_WORK/wl-haproxy.cfg"
		if [ $mode = proxy ]; then
			sed -i -e 's|bind :443 ssl|bind :443 accept-proxy ssl|' \
				-e 's|v6only ssl|v6only accept-proxy ssl|' "$ST_WORK/wl-haproxy.cfg"
		fi
		WEB_LOG=$ST_WORK/logs/haproxy-$mode.log
		touch "$WEB_LOG"
		st_spawn ip netns exec $ST_SRV haproxy -db -f "$ST_WORK/wl-haproxy.cfg" >> "$WEB_LOG" 2>&1 ;;
	esac
	WEB_PID=${ST_PIDS[-1]}
	wait_port 127.0.0.1 443 || return 1
	sleep 1 # its start-up lines
}

# norm WEB: its log lines about connections, without what differs from
# one connection to the next (times, pids, connection numbers, client
# ports); not the lines about its own processes (the late case's
# SIGSTOP makes nginx log its workers' interrupted epoll_wait)
norm() {
	case $1 in
	nginx) grep ', client: ' | sed -E 's/^[0-9\/]+ [0-9:]+ //; s/[0-9]+#[0-9]+: \*[0-9]+ //' ;;
	apache2) grep '\[client ' | sed -E 's/^\[[^]]*\] //; s/\[pid [0-9]+(:tid [0-9]+)?\] //; s/(\[client [^]]*):[0-9]+\]/\1]/; s/child [0-9]+/child N/' ;;
	haproxy) grep -v -E '^\[(NOTICE|WARNING)\]' | sed -E 's/:[0-9]+ \[[^]]*\]//; s/[0-9]+\/[0-9]+\/[0-9]+\/[0-9]+\/[0-9]+/T/g' ;;
	esac
}

# web_pids_all: the webserver's processes, to stop them (the late case)
web_pids_all() { echo "$WEB_PID"; pgrep -P "$WEB_PID" || true; }

# run_case WEB MODE CASE: four connections of one kind (IPv4 and IPv6, v1
# and v2 headers), then the lines the webserver logged for them, in
# $ST_WORK/out/WEB-MODE-CASE; ANSWERED counts validations the responder
# answered.
run_case() {
	local web=$1 mode=$2 kase=$3 before srv v cl r p w tr=""
	local out=$ST_WORK/out/$web-$mode-$kase
	mkdir -p "$ST_WORK/out"
	before=$(wc -l < "$WEB_LOG")
	ANSWERED=0
	# Where each steered connection's header went: the responder peeks
	# at its slot before TLS (proxy_consume()), and a header there
	# starts with v2's signature or v1's "PROXY ".
	if [ $mode = proxy ]; then
		case $kase in
		joined | split | late)
			w=$(pgrep -P "$(status_field 'd["pid"]')" | head -1)
			strace -qq -e trace=recvfrom -s 12 -o "$out.strace" -p "$w" &
			tr=$!
			# traced from the first connection on
			for p in $(seq 1 100); do
				[ "$(awk '/^TracerPid:/ {print $2}' /proc/$w/status 2>/dev/null)" = "$tr" ] && break
				sleep 0.05
			done ;;
		esac
	fi
	for srv in $SRV4 $SRV6; do
		cl=198.51.100.9:4000
		[ $srv = $SRV6 ] && cl="[2001:db8:9::7]:4000"
		for v in v1 v2; do
			case $kase in
			bare) bare $srv ;;
			healthcheck) bare $srv $v ;;
			joined) r=$(pc $srv 443 --header $v --client $cl --alpn acme-tls/1 --sni a.test) ;;
			split) r=$(pc $srv 443 --header $v --split --client $cl --alpn acme-tls/1 --sni a.test) ;;
			late)
				# The header alone on the wire, but the webserver
				# stopped: it accepts once both segments are queued.
				for p in $(web_pids_all); do kill -STOP $p; done
				pc $srv 443 --header $v --split --client $cl --alpn acme-tls/1 \
					--sni a.test > "$ST_WORK/late.json" &
				sleep 0.5
				for p in $(web_pids_all); do kill -CONT $p; done
				wait $!
				r=$(cat "$ST_WORK/late.json") ;;
			plain) r=$(tls $srv --alpn acme-tls/1 --sni a.test) ;;
			esac
			case $kase in
			joined | split | late) [ "$(field "$r" acme_cert)" = True ] && ANSWERED=$((ANSWERED + 1)) ;;
			plain) [ "$(field "$r" alpn)" = acme-tls/1 ] && ANSWERED=$((ANSWERED + 1)) ;;
			esac
		done
	done
	sleep 1.5 # the webserver's closes and its log
	tail -n +$((before + 1)) "$WEB_LOG" | norm $web | sort > "$out"
	echo "# $web ($mode) $kase: $(wc -l < "$out") line(s) for 4 connections"
	uniq -c "$out" | sed 's/^/#   /'
	if [ -n "$tr" ]; then
		kill $tr
		wait $tr 2>/dev/null
		grep 'MSG_PEEK' "$out.strace" | grep -c -E '"(\\r\\n\\r\\n\\0\\r\\nQUIT|PROXY )' > "$out.peeks" || true
	fi
}

# within WEB MODE CASE: every line CASE logged is one that the reference
# cases (a connection closed without a byte, a health check) log
within() {
	local f=$ST_WORK/out/$1-$2-$3 extra
	cat "$ST_WORK/out/$1-$2-bare" "$ST_WORK/out/$1-$2-healthcheck" | sort -u > "$f.ref"
	extra=$(sort -u "$f" | comm -23 - "$f.ref")
	[ -z "$extra" ] || { sed 's/^/#   not a reference line: /' <<<"$extra"; return 1; }
}

# same WEB MODE CASE REF: CASE logged exactly what REF logged
same() {
	diff "$ST_WORK/out/$1-$2-$4" "$ST_WORK/out/$1-$2-$3" | sed 's/^/#   /'
	cmp -s "$ST_WORK/out/$1-$2-$4" "$ST_WORK/out/$1-$2-$3"
}

# errors WEB MODE CASE: lines at error level or above
errors() {
	grep -c -i -E '\[(error|crit|alert|emerg)\]|\[[a-z_]+:(error|crit|alert|emerg)\]' "$ST_WORK/out/$1-$2-$3" || true
}

weblog() {
	local web=$1 mode=$2 k
	st_require_web $web
	web_start $web $mode || { not_ok "$web ($mode) starts"; return 1; }
	if [ $mode = proxy ]; then
		check "attach ${PROXY_OPTS[*]}" as attach "${PROXY_OPTS[@]}" --per-source 0
	else
		check "attach" as attach --per-source 0
	fi
	st_defer as detach --all --wait=10
	check "challenge add a.test" "$ALPNSTEER" challenge add a.test $KA
	if [ $mode = plain ]; then
		run_case $web $mode bare
		run_case $web $mode plain
		expect_eq "[$web] the 4 validations were answered" $ANSWERED 4
		check "[$web] a steered validation logs what a connect and close logs" same $web $mode plain bare
		expect_eq "[$web] nothing at error level" "$(errors $web $mode plain)" 0
		return 0
	fi
	for k in bare healthcheck joined split late; do
		run_case $web $mode $k
		case $k in
		joined | split | late) expect_eq "[$web, $k] the 4 validations were answered" $ANSWERED 4 ;;
		esac
	done
	check "[$web] header and hello in one segment: logged as a connection closed without a byte" \
		same $web $mode joined bare
	# The header alone on the wire: read by the webserver before the
	# hello came (a health check, to the webserver), or, when the hello
	# came before the webserver took the connection (the late case, or
	# Apache's deferred accept on a busy machine), coalesced with it in
	# the receive queue and steered with it (a connection without a byte).
	for k in split late; do
		check "[$web, $k] header alone: each logged as a health check or a connection without a byte" \
			within $web $mode $k
	done
	# No header lost, none twice: the responder read a header for
	# exactly the connections whose webserver got none.
	case $web in
	nginx) pat='broken header: ""' ;;
	apache2) pat='AH10634: RemoteIPProxyProtocol: connection closed before a complete header' ;;
	haproxy) pat="Connection closed while waiting for PROXY protocol header" ;;
	*) pat="" ;;
	esac
	for k in joined split late; do
		peeks=$(cat "$ST_WORK/out/$web-$mode-$k.peeks" 2>/dev/null)
		if [ -n "$pat" ]; then
			hl=$(grep -c "$pat" "$ST_WORK/out/$web-$mode-$k" || true)
			echo "# [$web, $k] headers the responder read: ${peeks:-?}; connections $web got no header on: $hl"
			expect_eq "[$web, $k] the responder read a header for each connection $web got none on" "${peeks:-?}" "$hl"
		else
			echo "# [$web, $k] headers the responder read: ${peeks:-?}"
		fi
	done
	expect_eq "[$web, joined] the responder read all 4 headers" "$(cat "$ST_WORK/out/$web-$mode-joined.peeks" 2>/dev/null)" 4
	if [ $web = nginx ]; then
		expect_eq "[nginx] a connection closed without a byte: broken header \"\" (error), one each" \
			"$(grep -c '^\[error\] broken header: "" while reading PROXY protocol, client: ' "$ST_WORK/out/nginx-proxy-bare")" 4
	else
		expect_eq "[$web] nothing at error level" "$(errors $web $mode joined)" 0
	fi
	expect_eq "[$web] a health check (so a header read before the hello): nothing at error level" \
		"$(errors $web $mode healthcheck)" 0
}

st_require_cmd strace
st_setup
st_dmesg_mark
WEB_PID=$ST_WEB_PID
for web in nginx apache2 haproxy; do
	st_test $web-proxy weblog $web proxy
	st_test $web-plain weblog $web plain
done
check "no kernel WARN" st_dmesg_clean
st_summary
