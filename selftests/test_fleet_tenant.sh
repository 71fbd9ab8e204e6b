#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A fleet's tenants as attackers (issue 20, points 15-18): a real etcd
# (TLS, client certificates, RBAC from scripts/fleet-recipe.sh) and one
# node (nginx on 443, `alpnsteer agent --store --names`), the tenants
# writing to the store as the recipe's users:
#   - the store watcher runs unprivileged: its uid, no capability,
#     no_new_privs, seccomp (16);
#   - a grant on one address covers no other (18);
#   - etcd's root writes www.victim.test: refused, the node serves only
#     its --names (17);
#   - one tenant writes 1,024 names: it gets its quota, and another
#     tenant's add is still answered; the hook of a name past the quota
#     fails, saying so (15);
#   - 100 values of 1 MB under a tenant's prefix: an Error each, and the
#     watcher stays small (16).
#
#   hub (bridge) 198.18.6.0/24:  ca .1 (etcd, the tenants' clients)  node .11
# The node's agent runs in a mount namespace of its own (its own bpffs and
# /run/alpnsteer), as in test_fleet.sh.
. "$(dirname "$0")/lib.sh"
HUB=$ST_NS-hub
CA=$ST_NS-ca
NODE=$ST_NS-n1
CA4=198.18.6.1
N4=198.18.6.11
ETCD=https://$CA4:2379
HOOKS=$(cd "$HERE/../scripts/hooks" && pwd)
# The names this node serves; empty NAMES_OPT runs the node without
# --names (to measure an older binary).
NAMES_OPT=${NAMES_OPT---names}
AG=

tenant_cleanup() {
	[ -n "$AG" ] && kill "$AG" 2>/dev/null && wait "$AG" 2>/dev/null
	st_cleanup
	ip netns del $NODE 2>/dev/null
	ip netns del $HUB 2>/dev/null
	ip netns del $CA 2>/dev/null
	return 0
}

join() {
	local ns=$1 addr=$2 i=$3
	ip link add $ST_NS-h$i type veth peer name $ST_NS-e$i
	ip link set $ST_NS-h$i netns $HUB
	ip link set $ST_NS-e$i netns $ns
	ip -n $HUB link set $ST_NS-h$i master br0 up
	ip -n $ns addr add $addr/24 dev $ST_NS-e$i
	ip -n $ns link set $ST_NS-e$i up
	ip -n $ns link set lo up
}
in_ns() { local ns=$1; shift; nsenter --net=/var/run/netns/$ns "$@"; }
in_ca() { in_ns $CA "$@"; }
in_node() { nsenter -t "$AG" -m -n "$@"; }
node_attached() { [ -e "/proc/$AG/root/sys/fs/bpf/alpnsteer/link_sockops" ]; }
agent_field() { in_node "$ALPNSTEER" agent status 2>/dev/null | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)" 2>/dev/null; }
node_pending() { in_node "$ALPNSTEER" -j challenge list 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null || echo 0; }
node_has() { in_node "$ALPNSTEER" -j challenge list 2>/dev/null | grep -q "\"identifier\": *\"$1\""; }
etcdctl_root() {
	in_ca env ETCDCTL_API=3 etcdctl --endpoints $ETCD --cacert "$PKI/ca.pem" --cert "$PKI/admin.pem" \
		--key "$PKI/admin.key" --user root:"$(cat "$PKI/root.pw")" "$@"
}
# as_tenant USER CMD...: with USER's store credentials
as_tenant() {
	local u=$1
	shift
	in_ca env ALPNSTEER_STORE=$ETCD ALPNSTEER_STORE_CA="$PKI/ca.pem" ALPNSTEER_STORE_CERT="$PKI/$u.pem" \
		ALPNSTEER_STORE_KEY="$PKI/$u.key" ALPNSTEER_STORE_USER=$u \
		ALPNSTEER_STORE_PASSWORD_FILE="$PKI/$u.pw" ALPNSTEER_RUN_DIR=/nonexistent "$@"
}
etcdput() {
	local u=$1
	shift
	in_ca python3 "$HERE/etcdput.py" --endpoint $CA4:2379 --ca "$PKI/ca.pem" --cert "$PKI/$u.pem" \
		--key "$PKI/$u.key" --user "$u" --password-file "$PKI/$u.pw" "$@"
}
# answers SNI: the node answers an acme-tls/1 hello for SNI with acme-tls/1
answers() {
	in_ca python3 "$HERE/clients.py" tls $N4 --alpn acme-tls/1 --sni "$1" |
		python3 -c 'import json,sys; sys.exit(json.load(sys.stdin).get("alpn") != "acme-tls/1")'
}
not() { ! "$@"; }
wait_for() { # TENTHS CMD...
	local i n=$1
	shift
	for i in $(seq 1 "$n"); do "$@" && return 0; sleep 0.1; done
	return 1
}
store_up() { [ "$(agent_field "d['store_up']")" = True ]; }
watcher_pid() { pgrep -P "$AG" | head -1; }
proc_field() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

tenant_setup() {
	local i W
	tenant_cleanup
	trap 'tenant_cleanup' EXIT
	trap 'exit 130' INT TERM
	ST_WORK=$(mktemp -d /tmp/alpnsteer-tenant.XXXXXX)
	chmod 755 "$ST_WORK"
	ip netns add $HUB
	ip -n $HUB link add br0 type bridge
	ip -n $HUB link set br0 up
	ip netns add $CA
	ip netns add $NODE
	join $CA $CA4 0
	join $NODE $N4 1
	W=$ST_WORK/n1
	mkdir -p "$W/logs" "$W/tmp" "$W/www"
	echo hello-from-nginx > "$W/www/index.html"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=nginx-real \
		-keyout "$W/nginx.key" -out "$W/nginx.crt" 2>/dev/null
	sed "s|@WORK@|$W|g" "$HERE/nginx.conf.in" > "$W/nginx.conf"
	st_spawn ip netns exec $NODE nginx -c "$W/nginx.conf"
	chmod -R a+rX "$ST_WORK"
	PKI=$ST_WORK/pki
	RECIPE=("${RECIPE_SH:-$HERE/../scripts/fleet-recipe.sh}" --pki "$PKI" --etcd $ETCD --etcd-ip $CA4 --node node1
		--client acme=fleet.test --client other=other.test --client ipt=198.18.7.1)
	"${RECIPE[@]}" --apply certs 2>/dev/null || return 1
	"${RECIPE[@]}" etcd > "$ST_WORK/recipe.txt" || return 1
	st_spawn ip netns exec $CA etcd --name fleet --data-dir "$ST_WORK/etcd" \
		--listen-client-urls $ETCD --advertise-client-urls $ETCD \
		--listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
		--initial-cluster fleet=http://127.0.0.1:2380 \
		--cert-file "$PKI/etcd-server.pem" --key-file "$PKI/etcd-server.key" \
		--trusted-ca-file "$PKI/ca.pem" --client-cert-auth >> "$ST_WORK/etcd.log" 2>&1
	for i in $(seq 1 100); do
		in_ca etcdctl --endpoints $ETCD --cacert "$PKI/ca.pem" --cert "$PKI/admin.pem" \
			--key "$PKI/admin.key" endpoint health >/dev/null 2>&1 && break
		sleep 0.1
	done
	in_ca env ETCDCTL_API=3 ETCDCTL_ENDPOINTS=$ETCD ETCDCTL_CACERT="$PKI/ca.pem" \
		ETCDCTL_CERT="$PKI/admin.pem" ETCDCTL_KEY="$PKI/admin.key" \
		"${RECIPE[@]}" --apply etcd 2>/dev/null || return 1
	# What this node serves: the tenants' domains and address, root's.
	printf '# the tenants this node serves\nfleet.test\nother.test\n198.18.7.1\n' > "$ST_WORK/names"
	chmod 644 "$ST_WORK/names"
}

start_agent() {
	local names=()
	[ -n "$NAMES_OPT" ] && names=("$NAMES_OPT" "$ST_WORK/names")
	unshare --mount --propagation private -- bash -c '
		mount -t bpf bpf /sys/fs/bpf -o mode=0700
		mkdir -p /run/alpnsteer
		mount -t tmpfs -o mode=0755 tmpfs /run/alpnsteer
		exec nsenter --net=/var/run/netns/$0 "$@"' $NODE \
		"$ALPNSTEER" agent --grace 1s --ttl 10m --store $ETCD --store-ca "$PKI/ca.pem" \
		--store-cert "$PKI/node1.pem" --store-key "$PKI/node1.key" \
		--store-user node --store-password-file "$PKI/node.pw" "${names[@]}" \
		>> "$ST_WORK/agent.log" 2>&1 &
	AG=$!
}

tenant_setup || { echo "# set-up failed"; tail -5 "$ST_WORK/etcd.log" | sed 's/^/# /'; exit 1; }
st_dmesg_mark
start_agent
check "the node's agent is up, watching the store" wait_for 100 store_up

# 16: the watcher parses the network's JSON with libcurl, OpenSSL and
# json-c: it keeps nothing of root's.
W=$(watcher_pid)
echo "# watcher $W: $(grep -E '^(Uid|CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/$W/status 2>/dev/null | tr -s '\t\n' '  ')"
check "the watcher runs as an unprivileged user (uid $(proc_field "$W" Uid))" \
	test "$(proc_field "$W" Uid)" -ne 0
expect_eq "the watcher has no effective capability" "$(proc_field "$W" CapEff)" 0000000000000000
expect_eq "the watcher has no capability left to gain (bounding set)" "$(proc_field "$W" CapBnd)" 0000000000000000
expect_eq "the watcher has no_new_privs" "$(proc_field "$W" NoNewPrivs)" 1
expect_eq "the watcher is under a seccomp filter" "$(proc_field "$W" Seccomp)" 2

# 18: a grant on one address covers that address only.
check "the recipe grants the address tenant its address's key, terminated" \
	grep -qx "etcdctl role grant-permission acme-198.18.7.1 --prefix=true readwrite /alpnsteer/v1/chal/ip/198.18.7.1/" "$ST_WORK/recipe.txt"
out=$(as_tenant ipt "$ALPNSTEER" challenge add 198.18.7.10 --digest 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef 2>&1) && rc=0 || rc=$?
echo "# ipt adds 198.18.7.10: exit $rc: $(head -1 <<<"$out")"
check "a tenant granted 198.18.7.1 may not add 198.18.7.10 (exit $rc)" test $rc -ne 0
out=$(as_tenant ipt "$ALPNSTEER" challenge add 198.18.7.123 --digest 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef 2>&1) && rc=0 || rc=$?
check "... nor 198.18.7.123 (exit $rc)" test $rc -ne 0
check "... but may add 198.18.7.1" as_tenant ipt "$ALPNSTEER" challenge add 198.18.7.1 --digest 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef --ttl 60s
check "... which the node takes" wait_for 50 node_has 198.18.7.1
as_tenant ipt "$ALPNSTEER" challenge remove 198.18.7.1 >/dev/null 2>&1

# 17: etcd's root (or any writer of the whole prefix) adds a name this
# node does not serve.
now=$(date +%s)
etcdctl_root put /alpnsteer/v1/chal/dns/test.victim.www. \
	'{"ident":"www.victim.test","digest":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","expires":'$((now + 300))',"added":'$now'}' >/dev/null
sleep 1.5
check "www.victim.test from the store's root: an Error in the agent's log" \
	grep -q "store entry /alpnsteer/v1/chal/dns/test.victim.www.: www.victim.test is not among the names this node serves" "$ST_WORK/agent.log"
check "... and the node does not answer it" not answers www.victim.test
check "... nor has it pending" not node_has www.victim.test
etcdctl_root del /alpnsteer/v1/chal/dns/test.victim.www. >/dev/null

# 15: one tenant writes 1,024 names of its domain.
t0=$(date +%s%N)
out=$(etcdput acme entries 1024 fleet.test 600 2>&1)
echo "# acme: $out"
wait_for 300 bash -c '[ "$(grep -c "pending from the store\|nothing steered for it" "$0")" -ge 1024 ]' "$ST_WORK/agent.log"
p=$(node_pending)
echo "# after one tenant's 1,024 names: $p pending on the node ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
check "the tenant got no more than its quota ($p pending, quota $(agent_field "d.get('quota')"))" test "$p" -le 100
check "... and the rest is refused, an Error each" \
	test "$(grep -c 'quota of pending challenges is full' "$ST_WORK/agent.log")" -ge 900
out=$(as_tenant other "$ALPNSTEER" challenge add www.other.test tok.other --ttl 120s 2>&1) && rc=0 || rc=$?
check "another tenant's add (exit $rc)" test $rc -eq 0
check "... is taken by the node" wait_for 50 node_has www.other.test
check "... and answered" answers www.other.test
# The hook of a name past the quota fails, and says why.
out=$(as_tenant acme env ALPNSTEER="$ALPNSTEER" ALPNSTEER_STORE_CHECK=$N4 ALPNSTEER_STORE_CHECK_WAIT=3 \
	"$HOOKS/uacme-hook.sh" begin tls-alpn-01 n5000.fleet.test tok AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8 2>&1) && rc=0 || rc=$?
echo "$out" | sed 's/^/# hook: /'
check "the hook of a name past the tenant's quota fails (exit $rc)" test $rc -ne 0
check "... saying the node does not answer it" grep -q "Error: node $N4 does not answer n5000.fleet.test" <<<"$out"
check "... and where to look" grep -q "Hint: the node.s agent may have refused the challenge" <<<"$out"
etcdctl_root del --prefix /alpnsteer/v1/chal/dns/test.fleet. >/dev/null
as_tenant other "$ALPNSTEER" challenge remove www.other.test >/dev/null 2>&1

# 16: 100 values of 1 MB under a tenant's prefix: seen through the watch,
# then listed by a fresh watcher (the agent starts one when its watcher
# ends: this one is ended here, by its pid).
W=$(watcher_pid)
out=$(etcdput acme big 100 1000000 /alpnsteer/v1/chal/dns/test.fleet. 2>&1)
echo "# acme: $out"
big_errors() { grep -o "store entry /alpnsteer/v1/chal/dns/test.fleet.big[0-9]*\.: over" "$ST_WORK/agent.log" | sort -u | wc -l; }
wait_for 300 bash -c '[ "$(grep -c "test.fleet.big[0-9]*\.: over" "$0")" -ge 100 ]' "$ST_WORK/agent.log"
hwm=$(proc_field "$W" VmHWM)
echo "# watcher $W, through the watch: VmHWM ${hwm:-?} kB"
expect_eq "an Error for each of the 100 oversized values" "$(big_errors)" 100
check "the watcher stayed under 32 MiB through the watch (${hwm:-?} kB)" test "${hwm:-999999}" -lt 32768
kill "$W"
new_watcher() { local p; p=$(watcher_pid); [ -n "$p" ] && [ "$p" != "$W" ] && store_up; }
check "a new watcher, listing the 100 values" wait_for 300 new_watcher
W2=$(watcher_pid)
sleep 3
hwm=$(proc_field "$W2" VmHWM)
echo "# watcher $W2, a fresh listing of the 100 MB: VmHWM ${hwm:-?} kB"
check "the fresh watcher stayed under 32 MiB (${hwm:-?} kB)" test "${hwm:-999999}" -lt 32768
check "... and refused them unread: still one Error per value, once" test "$(grep -c "test.fleet.big0\.: over" "$ST_WORK/agent.log")" -le 2
check "the node is still detached: nothing steered for them" not node_attached
check "a tenant's add is still answered after them" as_tenant other "$ALPNSTEER" challenge add www.other.test tok.o2 --ttl 60s
check "... taken and answered" wait_for 50 answers www.other.test

check "no kernel WARN" st_dmesg_clean
st_summary
