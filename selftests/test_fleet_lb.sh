#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The fleet behind a balancer, as an operator runs it (issue 17): HAProxy
# in mode tcp (round robin, send-proxy-v2, TCP health checks every 2 s) in
# front of two nginx nodes (`listen 443 ssl proxy_protocol` and
# `[::]:443`), each with `alpnsteer agent --store ... --proxy-protocol
# 443`; etcd with TLS, client certificates and the recipe's roles
# (scripts/fleet-recipe.sh); uacme with scripts/hooks/uacme-hook.sh on
# node 1 only; pebble, whose names resolve to the balancer, so that its
# validations reach whichever node round robin picks; a sha256-checked
# load through the balancer all along.  Then etcd is killed right after a
# hook's add: the pending name is still validated, the lost remove leaves
# both nodes attached until ttl + grace, and nothing attaches again when
# etcd returns.  The figures go to the log as '#' lines.
#
#   hub (bridge) 198.18.7.0/24 fd00:a5:7::/64:  ca .1 (pebble, challtestsrv,
#   etcd)   lb .5 (haproxy)   nodes .11 .12 (nginx, hashsrv, agent)
#   client .20 (loadgen)
# Each node's agent runs in a mount namespace of its own (its own bpffs
# and /run/alpnsteer): two hosts in one.  One scenario from top to bottom
# (ST_ONLY does not pick parts of it).
. "$(dirname "$0")/lib.sh"
. "$HERE/fleet_lib.sh" # the hub, join, in_ns, in_ca, etcd
. "$HERE/acme_lib.sh" # logged, acme_cert_ok; its variables are set anew below
HUB=$ST_NS-hub
CA=$ST_NS-ca
LB=$ST_NS-lb
CL=$ST_NS-cl
CA4=198.18.7.1
CA6=fd00:a5:7::1
LB4=198.18.7.5
LB6=fd00:a5:7::5
CL4=198.18.7.20
NODES="1 2"
node4() { echo 198.18.7.1$1; }
node6() { echo fd00:a5:7::1$1; }
ACME_DIR=https://$CA4:14000/dir
ACME_MGMT=https://$CA4:15000
ETCD=https://$CA4:2379
HOOKS=$(cd "$HERE/../scripts/hooks" && pwd)
TTL=30    # the agents' --ttl: how long a challenge whose remove was lost lives
GRACE=1   # the agents' --grace
# What the agents are told about the balancer: HAProxy, and node 1
# (whose hook checks each node directly with a PROXY header, over IPv4
# and IPv6).
PROXY_OPTS=(--proxy-protocol 443 --proxy-from $LB4/32 --proxy-from $LB6/128 --proxy-from $(node4 1)/32 --proxy-from $(node6 1)/128)
declare -A AG

lb_cleanup() {
	local n
	for n in $NODES; do
		[ -n "${AG[$n]:-}" ] && kill "${AG[$n]}" 2>/dev/null
	done
	for n in $NODES; do
		[ -n "${AG[$n]:-}" ] && wait "${AG[$n]}" 2>/dev/null
	done
	if [ -n "${ST_WORK:-}" ] && [ -s "$ST_WORK/loadloop.pid" ]; then
		kill "$(cat "$ST_WORK/loadloop.pid")" 2>/dev/null || true
	fi
	touch "${ST_WORK:-/nonexistent}/loadloop.stop" 2>/dev/null
	st_cleanup
	for n in $NODES; do ip netns del $ST_NS-n$n 2>/dev/null; done
	for n in $HUB $CA $LB $CL; do ip netns del $n 2>/dev/null; done
	return 0
}

node_pins() { echo "/proc/${AG[$1]}/root/sys/fs/bpf/alpnsteer"; }
node_attached() { [ -e "$(node_pins $1)/link_sockops" ]; }
node_detached() { ! node_attached $1; }
node_log() { echo "/proc/${AG[$1]}/root/run/alpnsteer/daemon.log"; }
agent_field() { nsenter -t "${AG[$1]}" -m -n "$ALPNSTEER" agent status 2>/dev/null | python3 -c "import json,sys; d=json.load(sys.stdin); print($2)" 2>/dev/null; }
store_up() { [ "$(agent_field $1 "d['store_up']")" = True ]; }
store_down() { ! store_up $1; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# pebble's validation hellos for SNI that node N steered, having come
# through the balancer (the hook's readiness checks come from node 1)
steered_on() {
	grep -F " sni=$2 to slot" "$(node_log $1)" 2>/dev/null |
		grep -E -c "steered ($CA4|\[$CA6\]):[0-9]+ via ($LB4|\[$LB6\]):" || true
}

# wait_all PRED TENTHS: PRED N true for every node
wait_all() {
	local i n ok
	for i in $(seq 1 "$2"); do
		ok=1
		for n in $NODES; do $1 $n || { ok=0; break; }; done
		[ $ok = 1 ] && return 0
		sleep 0.1
	done
	return 1
}


# The balancer: one frontend on 443 over IPv4 and IPv6, round robin to
# node 1 over IPv4 and node 2 over IPv6 (so both of nginx's listeners see
# headers), PROXY v2 on every connection, health checks included
# (HAProxy sends the header on checks when the server has send-proxy-v2).
haproxy_cfg() {
	cat <<-EOF
	global
	    maxconn 4096
	    log stdout format raw local0 notice
	defaults
	    mode tcp
	    log global
	    timeout connect 5s
	    timeout client 60s
	    timeout server 60s
	frontend fleet
	    bind $LB4:443
	    bind [$LB6]:443
	    default_backend nodes
	backend nodes
	    balance roundrobin
	    server node1 $(node4 1):443 send-proxy-v2 check inter 2s
	    server node2 [$(node6 2)]:443 send-proxy-v2 check inter 2s
	EOF
}

lb_setup() {
	local n i W
	lb_cleanup
	trap 'lb_cleanup' EXIT
	trap 'exit 130' INT TERM
	ST_WORK=$(mktemp -d /tmp/alpnsteer-fleetlb.XXXXXX)
	chmod 755 "$ST_WORK"
	fleet_hub
	for n in $CA $LB $CL; do ip netns add $n; done
	join $CA $CA4 0 $CA6
	join $LB $LB4 5 $LB6
	join $CL $CL4 9 fd00:a5:7::20
	mkdir -p "$ST_WORK/www" "$ST_WORK/logs"
	echo hello-from-nginx > "$ST_WORK/www/index.html"
	head -c 10485760 /dev/urandom > "$ST_WORK/www/big.bin"
	BIG_SHA=$(sha256sum "$ST_WORK/www/big.bin" | cut -d' ' -f1)
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=nginx-real \
		-keyout "$ST_WORK/nginx.key" -out "$ST_WORK/nginx.crt" 2>/dev/null
	for n in $NODES; do
		ip netns add $ST_NS-n$n
		join $ST_NS-n$n "$(node4 $n)" $n "$(node6 $n)"
		W=$ST_WORK/n$n
		mkdir -p "$W/logs" "$W/tmp"
		ln -s "$ST_WORK/www" "$W/www"
		cp "$ST_WORK/nginx.crt" "$ST_WORK/nginx.key" "$W/"
		sed "s|@WORK@|$W|g" "$HERE/web/nginx-lb.conf.in" > "$W/nginx.conf"
		st_spawn ip netns exec $ST_NS-n$n nginx -c "$W/nginx.conf"
		st_spawn nsenter --net=/var/run/netns/$ST_NS-n$n python3 "$HERE/hashsrv.py" 8081 \
			"$ST_WORK/www" 2>>"$W/logs/hashsrv.log"
	done
	haproxy_cfg > "$ST_WORK/haproxy.cfg"
	st_spawn ip netns exec $LB haproxy -db -f "$ST_WORK/haproxy.cfg" >> "$ST_WORK/logs/haproxy.log" 2>&1
	chmod -R a+rX "$ST_WORK"

	# The operators' recipe: the fleet's CA, etcd's certificate, a
	# client certificate per node and for the ACME client, the roles.
	PKI=$ST_WORK/pki
	RECIPE=("$HERE/../scripts/fleet-recipe.sh" --pki "$PKI" --etcd $ETCD --etcd-ip $CA4
		--node node1 --node node2 --client acme=lb.test)
	fleet_etcd || return 1

	acme_pebble_start $CA
	for i in $(seq 1 150); do
		in_ns $ST_NS-n1 curl -sf --cacert "$CA_BUNDLE" "$ACME_DIR" >/dev/null &&
			in_ca bash -c "exec 3<>/dev/tcp/$CA4/8055" 2>/dev/null && break
		sleep 0.1
	done
	in_ns $ST_NS-n1 curl -sf --cacert "$CA_BUNDLE" "$ACME_MGMT/roots/0" -o "$ST_WORK/ca/root.pem" &&
		in_ns $ST_NS-n1 curl -sf --cacert "$CA_BUNDLE" "$ACME_MGMT/intermediates/0" \
			-o "$ST_WORK/ca/intermediate.pem" || return 1
	# The hook as uacme runs it, wrapped to record when each call
	# started and ended (the detach times are measured from the
	# remove), and, for the outage, to kill etcd right after the add.
	cat > "$ST_WORK/hook.sh" <<-'EOF'
	#!/bin/bash
	t0=$(( $(date +%s%N) / 1000000 ))
	"$REAL_HOOK" "$@"
	rc=$?
	echo "$1 $3 $rc $t0 $(( $(date +%s%N) / 1000000 ))" >> "$HOOK_LOG"
	if [ "$1" = begin ] && [ $rc = 0 ] && [ -n "${KILL_ETCD:-}" ]; then
		kill "$(cat "$KILL_ETCD")"
		echo "etcd-killed $3 0 $(( $(date +%s%N) / 1000000 )) 0" >> "$HOOK_LOG"
		sleep 3 # the agents see the store go before the CA validates
	fi
	exit $rc
	EOF
	chmod 755 "$ST_WORK/hook.sh"
	# Both nginx and the balancer up, the balancer's checks passing.
	for i in $(seq 1 150); do
		[ "$(in_ns $CL curl -sk --max-time 2 https://$LB4/)" = hello-from-nginx ] &&
			[ "$(in_ns $CL curl -sk --max-time 2 "https://[$LB6]/")" = hello-from-nginx ] && return 0
		sleep 0.1
	done
	return 1
}

acme_dns() { # a|aaaa NAME ADDR
	in_ca curl -sf -X POST -d "{\"host\":\"$2.\",\"addresses\":[\"$3\"]}" \
		http://$CA4:8055/add-$1 >/dev/null
}

# start_agent N: node N's agent, in a mount namespace of its own
start_agent() {
	local n=$1
	unshare --mount --propagation private -- bash -c '
		mount -t bpf bpf /sys/fs/bpf -o mode=0700
		mkdir -p /run/alpnsteer
		mount -t tmpfs -o mode=0755 tmpfs /run/alpnsteer
		exec nsenter --net=/var/run/netns/$0 "$@"' $ST_NS-n$n \
		"$ALPNSTEER" agent --grace ${GRACE}s --ttl ${TTL}s "${PROXY_OPTS[@]}" \
		--store $ETCD --store-ca "$PKI/ca.pem" \
		--store-cert "$PKI/node$n.pem" --store-key "$PKI/node$n.key" \
		--store-user node --store-password-file "$PKI/node.pw" \
		>> "$ST_WORK/agent$n.log" 2>&1 &
	AG[$n]=$!
}

# watch_nodes: every attach and detach of each node, with its time, in
# $ST_WORK/transitions ("N attached|detached MS")
watch_nodes() {
	(
		declare -A was
		while :; do
			for n in $NODES; do
				if node_attached $n; then s=attached; else s=detached; fi
				if [ "${was[$n]:-detached}" != $s ]; then
					echo "$n $s $(now_ms)" >> "$ST_WORK/transitions"
					was[$n]=$s
				fi
			done
			sleep 0.05
		done
	) &
	ST_PIDS+=($!)
}

# detached_after N MS: when node N next went from attached to detached
# at or after MS (empty: not yet)
detached_after() {
	awk -v n=$1 -v t=$2 '$1 == n && $2 == "detached" && $3 >= t { print $3; exit }' "$ST_WORK/transitions"
}
attached_after() {
	awk -v n=$1 -v t=$2 '$1 == n && $2 == "attached" && $3 >= t { print $3; exit }' "$ST_WORK/transitions"
}
# hook_time METHOD IDENT FIELD: from the wrapper's log (4: start, 5: end)
hook_time() { awk -v m=$1 -v i=$2 -v f=$3 '$1 == m && $2 == i { v = $f } END { print v }' "$ST_WORK/hook.log"; }

load_start() { acme_loop_start $CL $LB4 $LB6; }
load_stop() {
	acme_loop_stop
	LOAD=$ACME_LOOP_SUM
}

# uacme CONFDIR ARGS...: uacme on node 1, its hook writing to the store
# and checking both nodes directly with a PROXY header before the CA may
# validate
uacme() {
	local confdir=$1
	shift
	in_ns $ST_NS-n1 unshare --mount --propagation private -- bash -c '
		mount --bind "$1" /etc/ssl/certs/ca-certificates.crt
		shift
		exec "$@"' uacme "$CA_BUNDLE" env UACME_CONFDIR="$confdir" ALPNSTEER="$ALPNSTEER" \
		ALPNSTEER_STORE=$ETCD ALPNSTEER_STORE_CA="$PKI/ca.pem" ALPNSTEER_STORE_CERT="$PKI/acme.pem" \
		ALPNSTEER_STORE_KEY="$PKI/acme.key" ALPNSTEER_STORE_USER=acme \
		ALPNSTEER_STORE_PASSWORD_FILE="$PKI/acme.pw" ALPNSTEER_RUN_DIR=/nonexistent \
		ALPNSTEER_STORE_CHECK="$(node4 1) $(node6 2)" ALPNSTEER_STORE_CHECK_OPTS="--proxy-protocol v2" \
		REAL_HOOK="$HOOKS/uacme-hook.sh" HOOK_LOG="$ST_WORK/hook.log" KILL_ETCD="${KILL_ETCD:-}" \
		/usr/bin/uacme -v -c "$confdir" -a "$ACME_DIR" -y -h "$ST_WORK/hook.sh" "$@"
}

st_require_cmd haproxy nginx etcd etcdctl pebble pebble-challtestsrv uacme curl
st_require_usable
lb_setup || { echo "# set-up failed"; tail -5 "$ST_WORK/etcd.log" "$ST_WORK/logs/haproxy.log" 2>/dev/null | sed 's/^/# /'; exit 1; }
st_dmesg_mark
for n in $NODES; do start_agent $n; done
check "two agents up (${PROXY_OPTS[*]}), each watching the store" wait_all store_up 100
check "both nodes detached (nothing pinned)" wait_all node_detached 10
watch_nodes
load_start
U=$ST_WORK/uacme
check "uacme new (node 1)" logged "$ST_WORK/new.log" uacme "$U" new st@lb.test

# Three certificates while the store is up: a and b resolve to the
# balancer's IPv4 address, c to its IPv6 address only.
acme_dns a a.lb.test $LB4
acme_dns a b.lb.test $LB4
acme_dns aaaa c.lb.test $LB6
acme_dns a d.lb.test $LB4
certs=0
for name in a.lb.test b.lb.test c.lb.test; do
	check "uacme issue $name on node 1, validated through the balancer" \
		logged "$ST_WORK/issue-$name.log" uacme "$U" issue $name
	check "... the certificate is pebble's for $name and its chain verifies" \
		acme_cert_ok "$U/$name/cert.pem" $name && certs=$((certs + 1))
done
# Detach after the last remove: from the end of c's done hook (its
# remove) to each node's detach, seen by the watcher.
t_rm=$(hook_time "done" c.lb.test 4)
check "c.lb.test's done hook removed the challenge" test "$(hook_time "done" c.lb.test 3)" = 0
det_ok() {
	local n
	for n in $NODES; do [ -n "$(detached_after $n "$t_rm")" ] && ! node_attached $n || return 1; done
}
wait_until() { # PRED TENTHS
	local i
	for i in $(seq 1 "$2"); do $1 && return 0; sleep 0.1; done
	return 1
}
check "after the last remove, both nodes detach" wait_until det_ok 300
det_rm=""
for n in $NODES; do
	d=$(detached_after $n "$t_rm")
	det_rm="$det_rm node$n=$(( ${d:-$t_rm} - t_rm ))ms"
	check "node $n detached within $((GRACE + 20)) s of the last remove ($(( ${d:-0} - t_rm )) ms, grace $GRACE s)" \
		test -n "$d" -a $(( ${d:-0} - t_rm )) -lt $(( (GRACE + 20) * 1000 ))
done
echo "# detach after the last remove (grace ${GRACE} s):$det_rm"

# The store down mid-way: the hook's add reaches etcd, then etcd is
# killed (by the wrapper); the CA still validates d.lb.test through the
# balancer on whichever node it reaches, the done hook's remove fails
# (and says so), and both nodes detach once the challenge's ttl (the
# agents' --ttl, from its add) and the grace have run out.
KILL_ETCD=$ST_WORK/etcd.pid
out=$(KILL_ETCD=$KILL_ETCD uacme "$U" issue d.lb.test 2>&1) && rc=0 || rc=$?
echo "$out" > "$ST_WORK/issue-d.lb.test.log"
wait "$ETCD_PID" 2>/dev/null
t_add=$(hook_time begin d.lb.test 4)
check "etcd was killed right after d.lb.test's add" grep -q "^etcd-killed d.lb.test" "$ST_WORK/hook.log"
check "with etcd down, d.lb.test is still validated and issued (uacme exit $rc)" \
	acme_cert_ok "$U/d.lb.test/cert.pem" d.lb.test && certs=$((certs + 1))
check "... the done hook's remove failed and said so (exit $(hook_time "done" d.lb.test 3))" \
	bash -c '[ "$0" = 1 ] && grep -q "could not remove the challenge for d.lb.test" <<<"$1"' \
	"$(hook_time "done" d.lb.test 3)" "$out"
check "with etcd killed, both nodes report the store down" wait_all store_down 50
check "both nodes detach once the ttl has run out (${TTL} s + grace ${GRACE} s)" \
	wait_all node_detached $(( (TTL + GRACE + 20) * 10 ))
sleep 0.3
det_ttl=""
for n in $NODES; do
	d=$(detached_after $n "$t_add")
	el=$(( ${d:-0} - t_add ))
	det_ttl="$det_ttl node$n=${el}ms"
	check "node $n detached at ttl + grace (${el} ms after the add): not before ${TTL} s" \
		test -n "$d" -a $el -ge $(( TTL * 1000 - 500 ))
	check "... nor long after ($((TTL + GRACE + 15)) s)" test $el -lt $(( (TTL + GRACE + 15) * 1000 ))
done
echo "# store down: detached after the add (ttl ${TTL} s, grace ${GRACE} s):$det_ttl"
# etcd back, its lease (1 h) still holding the entry whose remove was
# lost: the expiry is absolute, no node takes the challenge again.
t_back=$(now_ms)
start_etcd
check "etcd back: both nodes report the store up" wait_all store_up 200
sleep 5
again=""
for n in $NODES; do
	[ -n "$(attached_after $n "$t_back")" ] && again="$again node$n"
done
check "... and neither attaches again for the expired challenge (5 s later:${again:- none})" test -z "$again"
load_stop

# The figures, and the load.
vals=""
for n in $NODES; do
	v=0
	for name in a.lb.test b.lb.test c.lb.test d.lb.test; do v=$((v + $(steered_on $n $name))); done
	vals="$vals node$n=$v"
	check "node $n answered validations that came through the balancer ($v)" test "$v" -ge 1
	eval "VAL$n=$v"
done
for name in a.lb.test b.lb.test c.lb.test d.lb.test; do
	check "$name validated through the balancer" test $(( $(steered_on 1 $name) + $(steered_on 2 $name) )) -ge 1
done
c6=$(cat "$(node_log 1)" "$(node_log 2)" 2>/dev/null | grep -F " sni=c.lb.test to slot" | grep -c "steered \[$CA6\]:" || true)
check "c.lb.test (AAAA only) was validated by pebble over IPv6, through the balancer ($c6)" test $c6 -ge 1
down=$(grep -c "is DOWN" "$ST_WORK/logs/haproxy.log" || true)
expect_eq "the balancer's health checks never took a node out" "$down" 0
echo "# certificates issued: $certs of 4 (a, b, c with the store up; d with it down)"
echo "# validations answered per node (pebble's hellos through the balancer):$vals"
echo "# load: $LOAD"
expect_eq "failed requests (loadgen runs: $(field "$LOAD" runs))" "$(field "$LOAD" failures)" 0
expect_eq "corrupted bodies" "$(field "$LOAD" corrupted)" 0
check "requests were served through the balancer" test "$(field "$LOAD" gets)" -gt 0
# What nginx logged for the steered validations (docs/usage.md, "PROXY
# protocol and the webserver's log"): counted, not asserted here
# (test_weblogs.sh asserts them); nothing above error level at all.
for n in $NODES; do
	el=$ST_WORK/n$n/logs/error.log
	lb=$LB4 me=$(node4 1)
	[ $n = 2 ] && lb=$LB6 me=$(node6 1)
	bh=$(grep -c "broken header: \"\" while reading PROXY protocol, client: $lb," "$el" || true)
	eval "v=\$VAL$n"
	echo "# node $n nginx: broken header \"\" (error) naming the balancer: $bh for $v validations through it;" \
		"naming node 1 (the hook's checks): $(grep -c "broken header: \"\" while reading PROXY protocol, client: $me," "$el" || true);" \
		"the balancer's health checks: $(grep -c "recv() failed (104: Connection reset by peer) while SSL handshaking, client: $lb," "$el" || true)" \
		"\"recv() failed (104: ...) while SSL handshaking\" (info); what it logged while handshaking:"
	sed -E 's/^[0-9/: ]+//; s/[0-9]+#[0-9]+: \*[0-9]+ //; s/, server: .*//' "$el" |
		grep -E 'handshaking|PROXY protocol' | sort | uniq -c | sort -rn | sed 's/^/#   /'
	check "node $n nginx: no more broken headers naming the balancer than validations ($bh <= $v)" test "$bh" -le "$v"
	check "node $n nginx: nothing at crit, alert or emerg" bash -c '! grep -q "\[\(crit\|alert\|emerg\)\]" "$0"' "$el"
done
check "no kernel WARN" st_dmesg_clean
st_summary
