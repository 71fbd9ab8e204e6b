#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Back-to-back renewals next to health checks (issue 8, points 2-4): a TCP
# health check (connect, close, no byte) every second against the
# webserver (RENEW_WEBS, nginx by default) while five renewals run in a
# row, each through scripts/hooks/prepost-hook.sh: pre (attach --forward to
# the ACME client's own TLS-ALPN-01 listener, here openssl s_server with a
# real validation certificate), a validation as a CA does it (`alpnsteer
# check`), post (detach --wait).  Every hook call succeeds, every
# validation passes, every post returns within 3 s, and the webserver is
# left with none of the health checks' sockets.  One st_test per webserver
# (lib.sh), each in a set-up of its own, skipped if it is not installed.
. "$(dirname "$0")/lib.sh"
HOOKS=$(cd "$HERE/../scripts/hooks" && pwd)
WEBS=${RENEW_WEBS:-nginx}
RENEWALS=${RENEWALS:-5}
POST_MS=${POST_MS:-3000}
# The hook's own default is 60 s; bounded here so that a failing run ends.
export ALPNSTEER_DETACH_WAIT=${RENEW_DETACH_WAIT:-10}
export ALPNSTEER

# The hook calls, in one place: the lifecycle work adds options to them
# (a holder name, a TTL); adapt here.
hook_pre() { in_srv "$HOOKS/prepost-hook.sh" pre "$1"; }
hook_post() { in_srv "$HOOKS/prepost-hook.sh" post; }

# responder NAME KEYAUTH PORT: what an ACME client listens with for
# TLS-ALPN-01 (RFC 8737): a certificate for NAME with the critical
# acmeIdentifier extension, SHA-256 of KEYAUTH, ALPN acme-tls/1 only.
# Its PID in RESP_PID.
responder() {
	local d=$ST_WORK/resp.$3 dg
	mkdir -p "$d"
	dg=$(printf %s "$2" | sha256sum | cut -c1-64 | sed 's/../&:/g; s/:$//')
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
		-subj "/CN=$1" -addext "subjectAltName=DNS:$1" \
		-addext "1.3.6.1.5.5.7.1.31=critical,DER:04:20:$dg" \
		-keyout "$d/key.pem" -out "$d/cert.pem" 2>/dev/null
	rm -f "$d/in"
	mkfifo "$d/in"
	nsenter --net=/var/run/netns/$ST_SRV openssl s_server -quiet -accept 127.0.0.1:$3 \
		-alpn acme-tls/1 -cert "$d/cert.pem" -key "$d/key.pem" < "$d/in" > "$d/log" 2>&1 &
	RESP_PID=$!
	ST_PIDS+=($RESP_PID)
	exec 7>"$d/in"
	wait_port 127.0.0.1 $3
}

responder_stop() {
	exec 7>&-
	kill $RESP_PID 2>/dev/null || true
	wait $RESP_PID 2>/dev/null || true
}

web_closewait() {
	in_srv ss -Htn state close-wait '( sport = :443 )' | wc -l
}

# test_renewals WEB: RENEWALS renewals through the hooks next to WEB's
# health checks; the hooks attach and detach, the test only makes sure that
# nothing is left attached or draining after it, whatever the outcome.
test_renewals() {
	local r t0 ms out rc posts="" pre_fail=0 check_fail=0 post_fail=0 slow=0
	ST_WEB=$1
	st_setup || { not_ok "[$ST_WEB] set-up"; return; }
	st_defer as detach --all --wait=70
	ip netns exec $ST_CLI python3 "$HERE/probes.py" health $SRV4,$SRV6 --every 1 > "$ST_WORK/health.out" &
	HEALTH=$!
	ST_PIDS+=($HEALTH)
	sleep 1.5
	for r in $(seq 1 "$RENEWALS"); do
		responder renew$r.test "ka-renew-$r.thumb" 5443
		out=$(hook_pre 127.0.0.1:5443 2>&1) && rc=0 || rc=$?
		if [ $rc != 0 ]; then
			pre_fail=$((pre_fail + 1))
			echo "# renewal $r: pre failed ($rc): $out"
		fi
		out=$(in_cli "$ALPNSTEER" check renew$r.test --address $SRV4 --keyauth "ka-renew-$r.thumb" 2>&1) &&
			rc=0 || rc=$?
		if [ $rc != 0 ]; then
			check_fail=$((check_fail + 1))
			echo "# renewal $r: validation failed:"
			echo "$out" | grep -v '^ok' | head -5 | sed 's/^/#   /'
		fi
		sleep 1.2 # the ACME client asks the CA, waits for the order, ...
		echo "# renewal $r: before post: $(web_closewait) webserver sockets in CLOSE-WAIT, counters seen=$(counter seen) normal=$(counter normal) released=$(counter released)"
		t0=$(date +%s%N)
		out=$(hook_post 2>&1) && rc=0 || rc=$?
		ms=$(( ($(date +%s%N) - t0) / 1000000 ))
		posts="$posts $ms"
		if [ $rc != 0 ]; then
			post_fail=$((post_fail + 1))
			echo "# renewal $r: post failed ($rc) after $ms ms: $out"
		fi
		[ $ms -lt "$POST_MS" ] || slow=$((slow + 1))
		responder_stop
	done
	echo "# post-hook (detach) times, ms:$posts"
	expect_eq "[$ST_WEB] $RENEWALS pre-hooks (attach) succeeded" $pre_fail 0
	expect_eq "[$ST_WEB] $RENEWALS validations passed (alpnsteer check)" $check_fail 0
	expect_eq "[$ST_WEB] $RENEWALS post-hooks (detach --wait) succeeded" $post_fail 0
	expect_eq "[$ST_WEB] every post-hook returned within $POST_MS ms" $slow 0
	kill $HEALTH 2>/dev/null
	wait $HEALTH 2>/dev/null
	expect_eq "[$ST_WEB] every health check connected" "$(grep -c health_fail "$ST_WORK/health.out")" 0
	local i
	for i in $(seq 1 10); do [ "$(web_closewait)" = 0 ] && break; sleep 0.1; done
	expect_eq "[$ST_WEB] within 1 s of the last health check, no webserver socket in CLOSE-WAIT" "$(web_closewait)" 0
}

st_dmesg_mark
for w in $WEBS; do
	st_test renewals_$w test_renewals $w
done
check "no kernel WARN" st_dmesg_clean
st_summary
