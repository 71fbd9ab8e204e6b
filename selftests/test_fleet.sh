#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A fleet: three webserver nodes (nginx on 443 each) with `alpnsteer agent
# --store` on each, sharing challenges through a real etcd (TLS, client
# certificates made here, RBAC on); pebble, whose DNS points each name at
# a different node; uacme on node 1 only, its hook writing to the store.
# Every name is issued and each validation is answered on the node it
# reached, while the nodes serve a sha256-checked load.  Then a garbage
# entry (a per-entry error, nothing steered), a node down during a
# validation, and the store down (known challenges still answered, and
# the agents detach once their ttl has run out).
#
#   hub (bridge) 198.18.6.0/24:  ca .1 (pebble, challtestsrv, etcd)
#   nodes .11 .12 .13 (nginx, hashsrv, agent)   client .20 (loadgen)
# Each node's agent runs in a mount namespace of its own (its own bpffs
# and /run/alpnsteer): three hosts in one.
. "$(dirname "$0")/lib.sh"
. "$HERE/fleet_lib.sh" # the hub, join, in_ns, in_ca, etcd
. "$HERE/acme_lib.sh" # logged, acme_cert_ok; its variables are set anew below
HUB=$ST_NS-hub
CA=$ST_NS-ca
CL=$ST_NS-cl
CA4=198.18.6.1
CL4=198.18.6.20
NODES="1 2 3"
node4() { echo 198.18.6.1$1; }
ACME_DIR=https://$CA4:14000/dir
ACME_MGMT=https://$CA4:15000
ETCD=https://$CA4:2379
HOOKS=$(cd "$HERE/../scripts/hooks" && pwd)
TTL=20
declare -A AG

fleet_cleanup() {
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
	ip netns del $HUB 2>/dev/null
	ip netns del $CA 2>/dev/null
	ip netns del $CL 2>/dev/null
	return 0
}

# in_node N CMD: in node N's network and mount namespaces (its pins)
in_node() { local n=$1; shift; nsenter -t "${AG[$n]}" -m -n "$@"; }
node_pins() { echo "/proc/${AG[$1]}/root/sys/fs/bpf/alpnsteer"; }
node_attached() { [ -e "$(node_pins $1)/link_sockops" ]; }
node_log() { echo "/proc/${AG[$1]}/root/run/alpnsteer/daemon.log"; }
agent_field() { in_node $1 "$ALPNSTEER" agent status 2>/dev/null | python3 -c "import json,sys; d=json.load(sys.stdin); print($2)" 2>/dev/null; }
# steered_on N SNI: pebble's validation hellos for SNI that node N's daemon
# steered (the hook's readiness checks come from node 1, not from pebble)
steered_on() { grep -F " sni=$2 to slot" "$(node_log $1)" 2>/dev/null | grep -c -F "steered $CA4:" || true; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

etcdctl_root() {
	in_ca env ETCDCTL_API=3 etcdctl --endpoints $ETCD --cacert "$PKI/ca.pem" --cert "$PKI/admin.pem" \
		--key "$PKI/admin.key" --user root:"$(cat "$PKI/root.pw")" "$@"
}


fleet_setup() {
	local n i
	fleet_cleanup
	trap 'fleet_cleanup' EXIT
	trap 'exit 130' INT TERM
	ST_WORK=$(mktemp -d /tmp/alpnsteer-fleet.XXXXXX)
	chmod 755 "$ST_WORK"
	fleet_hub
	ip netns add $CA
	ip netns add $CL
	join $CA $CA4 0
	join $CL $CL4 9
	mkdir -p "$ST_WORK/www"
	echo hello-from-nginx > "$ST_WORK/www/index.html"
	head -c 10485760 /dev/urandom > "$ST_WORK/www/big.bin"
	BIG_SHA=$(sha256sum "$ST_WORK/www/big.bin" | cut -d' ' -f1)
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=nginx-real \
		-keyout "$ST_WORK/nginx.key" -out "$ST_WORK/nginx.crt" 2>/dev/null
	for n in $NODES; do
		ip netns add $ST_NS-n$n
		join $ST_NS-n$n "$(node4 $n)" $n
		W=$ST_WORK/n$n
		mkdir -p "$W/logs" "$W/tmp"
		ln -s "$ST_WORK/www" "$W/www"
		cp "$ST_WORK/nginx.crt" "$ST_WORK/nginx.key" "$W/"
		sed "s|@WORK@|$W|g" "$HERE/nginx.conf.in" > "$W/nginx.conf"
		st_spawn ip netns exec $ST_NS-n$n nginx -c "$W/nginx.conf"
		st_spawn nsenter --net=/var/run/netns/$ST_NS-n$n python3 "$HERE/hashsrv.py" 8081 \
			"$ST_WORK/www" 2>>"$W/logs/hashsrv.log"
	done
	chmod -R a+rX "$ST_WORK"

	# The fleet's own CA, etcd's server certificate, and client
	# certificates without a CN (etcd's JSON gateway refuses a client
	# certificate with one), one per role holder, and a password per
	# user: the operators' recipe, scripts/fleet-recipe.sh, applied.
	PKI=$ST_WORK/pki
	RECIPE=("$HERE/../scripts/fleet-recipe.sh" --pki "$PKI" --etcd $ETCD --etcd-ip $CA4
		--node node1 --node node2 --node node3 --client acme=fleet.test --client other=other.test)
	"${RECIPE[@]}" > "$ST_WORK/recipe.txt" || return 1
	fleet_etcd || return 1

	acme_pebble_start $CA
	for i in $(seq 1 150); do
		in_ns $ST_NS-n1 curl -sf --cacert "$CA_BUNDLE" "$ACME_DIR" >/dev/null &&
			in_ca bash -c "exec 3<>/dev/tcp/$CA4/8055" 2>/dev/null && break
		sleep 0.1
	done
	in_ns $ST_NS-n1 curl -sf --cacert "$CA_BUNDLE" "$ACME_MGMT/roots/0" -o "$ST_WORK/ca/root.pem" &&
		in_ns $ST_NS-n1 curl -sf --cacert "$CA_BUNDLE" "$ACME_MGMT/intermediates/0" \
			-o "$ST_WORK/ca/intermediate.pem"
}

acme_dns() {
	in_ca curl -sf -X POST -d "{\"host\":\"$1.\",\"addresses\":[\"$2\"]}" \
		http://$CA4:8055/add-a >/dev/null
}

# start_agent N: node N's agent, in a mount namespace of its own
start_agent() {
	local n=$1
	unshare --mount --propagation private -- bash -c '
		mount -t bpf bpf /sys/fs/bpf -o mode=0700
		mkdir -p /run/alpnsteer
		mount -t tmpfs -o mode=0755 tmpfs /run/alpnsteer
		exec nsenter --net=/var/run/netns/$0 "$@"' $ST_NS-n$n \
		"$ALPNSTEER" agent --grace 1s --ttl "${AGENT_TTL:-2m}" --store $ETCD --store-ca "$PKI/ca.pem" \
		--store-cert "$PKI/node$n.pem" --store-key "$PKI/node$n.key" \
		--store-user node --store-password-file "$PKI/node.pw" \
		>> "$ST_WORK/agent$n.log" 2>&1 &
	AG[$n]=$!
}

# as_acme CMD...: with the ACME client's store credentials
as_acme() {
	in_ns $ST_NS-n1 env ALPNSTEER_STORE=$ETCD ALPNSTEER_STORE_CA="$PKI/ca.pem" ALPNSTEER_STORE_CERT="$PKI/acme.pem" \
		ALPNSTEER_STORE_KEY="$PKI/acme.key" ALPNSTEER_STORE_USER=acme \
		ALPNSTEER_STORE_PASSWORD_FILE="$PKI/acme.pw" "$@"
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
node_detached() { ! node_attached $1; }
store_up() { [ "$(agent_field $1 "d['store_up']")" = True ]; }
store_down() { ! store_up $1; }

load_start() { acme_loop_start $CL "$(node4 1)" "$(node4 2)" "$(node4 3)"; }
load_stop() {
	acme_loop_stop
	LOAD=$ACME_LOOP_SUM
}

# answers N SNI: node N answers an acme-tls/1 hello for SNI with acme-tls/1
answers() {
	ip netns exec $CL python3 "$HERE/clients.py" tls "$(node4 $1)" --alpn acme-tls/1 --sni "$2" |
		python3 -c 'import json,sys; sys.exit(json.load(sys.stdin).get("alpn") != "acme-tls/1")'
}

fleet_setup || { echo "# fleet set-up failed"; tail -5 "$ST_WORK/etcd.log" | sed 's/^/# /'; exit 1; }
st_dmesg_mark
check "the recipe's etcd role for fleet.test is its key prefix" \
	grep -qx "etcdctl role grant-permission acme-fleet.test --prefix=true readwrite /alpnsteer/v1/chal/dns/test.fleet." "$ST_WORK/recipe.txt"
check "the recipe's drop-in runs the agent with the node's certificate and password" \
	grep -q -- "^ExecStart=/usr/local/sbin/alpnsteer agent --store $ETCD --store-ca $PKI/ca.pem --store-cert $PKI/node1.pem --store-key $PKI/node1.key --store-user node --store-password-file $PKI/node.pw" "$ST_WORK/recipe.txt"
for n in $NODES; do start_agent $n; done
check "three agents up, each watching the store" wait_all store_up 100
check "every node detached (nothing pinned)" wait_all node_detached 10

# RBAC: the ACME client may add fleet.test's names only; a node may not
# write at all; a certificate from another CA gets no connection.
out=$(as_acme "$ALPNSTEER" challenge add www.other.test tok.x 2>&1) && rc=0 || rc=$?
echo "$out" | sed 's/^/# /'
check "the ACME client may not add a name outside fleet.test (exit $rc)" \
	bash -c '[ $0 -ne 0 ] && grep -q "^Error: store: .*permission denied" <<<"$1"' $rc "$out"
out=$(in_ns $ST_NS-n1 env ALPNSTEER_STORE=$ETCD ALPNSTEER_STORE_CA="$PKI/ca.pem" ALPNSTEER_STORE_CERT="$PKI/node1.pem" \
	ALPNSTEER_STORE_KEY="$PKI/node1.key" ALPNSTEER_STORE_USER=node ALPNSTEER_STORE_PASSWORD_FILE="$PKI/node.pw" \
	"$ALPNSTEER" challenge add n1.fleet.test tok.x 2>&1) && rc=0 || rc=$?
check "a node may not write (exit $rc)" test $rc -ne 0
no_lease() { etcdctl_root lease list 2>/dev/null | grep -q "^found 0 leases"; }
check "the refused adds left no lease behind" no_lease
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/O=rogue" \
	-keyout "$PKI/rogue-self.key" -out "$PKI/rogue-self.pem" 2>/dev/null
out=$(in_ns $ST_NS-n1 env ALPNSTEER_STORE=$ETCD ALPNSTEER_STORE_CA="$PKI/ca.pem" ALPNSTEER_STORE_CERT="$PKI/rogue-self.pem" \
	ALPNSTEER_STORE_KEY="$PKI/rogue-self.key" ALPNSTEER_STORE_USER=acme ALPNSTEER_STORE_PASSWORD_FILE="$PKI/acme.pw" \
	"$ALPNSTEER" challenge add n1.fleet.test tok.x 2>&1) && rc=0 || rc=$?
echo "$out" | sed 's/^/# /'
check "a client certificate from another CA is refused, the right password notwithstanding (exit $rc)" test $rc -ne 0
check "... and nothing was steered: every node still detached" wait_all node_detached 10

# Attach latency across the fleet: from the add's return to each node's
# sock_ops link pinned.
t0=$(now_ms)
check "challenge add --store (the ACME client's credentials)" as_acme "$ALPNSTEER" challenge add probe.fleet.test tok.p --ttl 30s
declare -A LAT
for i in $(seq 1 300); do
	for n in $NODES; do
		[ -z "${LAT[$n]:-}" ] && node_attached $n && LAT[$n]=$(( $(now_ms) - t0 ))
	done
	[ -n "${LAT[1]:-}" ] && [ -n "${LAT[2]:-}" ] && [ -n "${LAT[3]:-}" ] && break
	sleep 0.01
done
echo "# fleet attach latency from challenge add --store (ms): node1 ${LAT[1]:-none} node2 ${LAT[2]:-none} node3 ${LAT[3]:-none}"
# Learning of it is the watch's part: the attach that follows is the
# lifecycle's, several hundred ms on a busy 2-core machine.
for n in $NODES; do
	a=$(agent_field $n "d['last_attach_ms']")
	learn=$(( ${LAT[$n]:-9999} - ${a:-0} ))
	echo "# node $n: attached ${LAT[$n]:-never} ms after the add, its attach took ${a:-?} ms: learned in ~$learn ms"
	check "node $n learned of the challenge within 1 s of the add (~$learn ms)" test "$learn" -lt 1000
	check "node $n attached within 2 s of the add (${LAT[$n]:-never} ms)" test "${LAT[$n]:-9999}" -lt 2000
	check "node $n answers probe.fleet.test" answers $n probe.fleet.test
done
t0=$(now_ms)
check "challenge remove --store" as_acme "$ALPNSTEER" challenge remove probe.fleet.test
check "every node detaches after the remove and the grace" wait_all node_detached 100
echo "# fleet: all detached $(( $(now_ms) - t0 )) ms after the remove (grace 1 s)"

# A garbage entry, and one whose key is not its name's: an error each,
# nothing steered.
etcdctl_root put /alpnsteer/v1/chal/dns/test.fleet.junk. 'not json' >/dev/null
etcdctl_root put /alpnsteer/v1/chal/dns/test.fleet.mask. \
	'{"ident":"www.bank.test","digest":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","expires":'$(( $(date +%s) + 60 ))'}' >/dev/null
sleep 1
for n in $NODES; do
	check "node $n: an error for the garbage entry" grep -q "store entry /alpnsteer/v1/chal/dns/test.fleet.junk.: not a JSON object; nothing steered for it" "$ST_WORK/agent$n.log"
	check "node $n: an error for the masked name" grep -q "store entry /alpnsteer/v1/chal/dns/test.fleet.mask.: the key does not belong to identifier 'www.bank.test'" "$ST_WORK/agent$n.log"
	check "node $n: still detached" node_detached $n
done
etcdctl_root del --prefix /alpnsteer/v1/chal/dns/test.fleet. >/dev/null

# uacme on node 1, its hook writing to the store; each name resolves to
# another node.
for n in $NODES; do acme_dns n$n.fleet.test "$(node4 $n)"; done
load_start
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
		ALPNSTEER_STORE_CHECK="${CHECK:-}" /usr/bin/uacme -v -c "$confdir" -a "$ACME_DIR" -y "$@"
}
U=$ST_WORK/uacme
check "uacme new (node 1)" logged "$ST_WORK/new.log" uacme "$U" new st@fleet.test
CHECK="$(node4 1) $(node4 2) $(node4 3)" \
check "uacme issue n1 n2 n3.fleet.test on node 1, challenges through the store" \
	logged "$ST_WORK/issue.log" uacme "$U" -h "$HOOKS/uacme-hook.sh" issue n1.fleet.test n2.fleet.test n3.fleet.test
check "the certificate is pebble's, for the three names, and its chain verifies" \
	acme_cert_ok "$U/n1.fleet.test/cert.pem" n1.fleet.test n2.fleet.test n3.fleet.test
counts=""
for n in $NODES; do
	for m in $NODES; do
		c=$(steered_on $m n$n.fleet.test)
		counts="$counts n$n@node$m=$c"
		if [ $m = $n ]; then
			check "n$n.fleet.test validated on node $n ($c handshakes)" test "$c" -ge 1
		else
			check "... and not on node $m" test "$c" -eq 0
		fi
	done
done
echo "# per-node validation handshakes:$counts"
check "after the hooks' removes, every node detaches" wait_all node_detached 100

# One node down during a validation: node 3 leaves the network while
# n1 and n2 are validated again; node 3 comes back and catches up.
ip -n $ST_NS-n3 link set $ST_NS-e3 down
b1=$(steered_on 1 n1.fleet.test) b2=$(steered_on 2 n2.fleet.test)
check "uacme issue n2 n1.fleet.test with node 3 down (the hook waits 2 s)" \
	logged "$ST_WORK/issue2.log" uacme "$U" -h "$HOOKS/uacme-hook.sh" issue n2.fleet.test n1.fleet.test
check "... issued" acme_cert_ok "$U/n2.fleet.test/cert.pem" n1.fleet.test n2.fleet.test
# pebble reuses a valid authorization half the time (PEBBLE_AUTHZREUSE):
# a name uacme got no challenge for is not validated again.
validated_again() { # N COUNT_BEFORE
	[ "$(steered_on $1 n$1.fleet.test)" -gt "$2" ] ||
		! grep -q "uacme-hook.sh begin tls-alpn-01 n$1.fleet.test " "$ST_WORK/issue2.log"
}
validated_both() { validated_again 1 "$1" && validated_again 2 "$2"; }
check "... validated on nodes 1 and 2 (each name with a new challenge)" validated_both $b1 $b2
as_acme "$ALPNSTEER" challenge add late.fleet.test tok.l --ttl 30s
ip -n $ST_NS-n3 link set $ST_NS-e3 up
check "node 3 back: it learns of what was added while it was away" \
	bash -c 'for i in $(seq 1 150); do [ -e "$0/link_sockops" ] && exit 0; sleep 0.1; done; exit 1' "$(node_pins 3)"
check "... and answers it" answers 3 late.fleet.test
as_acme "$ALPNSTEER" challenge remove late.fleet.test
check "every node detaches again" wait_all node_detached 150
load_stop
echo "# load: $LOAD"
expect_eq "failed requests (loadgen runs: $(field "$LOAD" runs))" "$(field "$LOAD" failures)" 0
expect_eq "corrupted bodies" "$(field "$LOAD" corrupted)" 0

# The store down: what the nodes have, they keep answering; they detach
# once its ttl has run out, here the agents' --ttl (the writer asked for
# an hour, as a hook without ALPNSTEER_TTL once did), and a remove lost
# meanwhile does not bring it back when the store returns.
for n in $NODES; do in_node $n "$ALPNSTEER" agent stop >/dev/null 2>&1; done
for n in $NODES; do wait "${AG[$n]}" 2>/dev/null; done
for n in $NODES; do AGENT_TTL=${TTL}s start_agent $n; done
check "the agents again, with --ttl ${TTL}s" wait_all store_up 100
t0=$(now_ms)
as_acme "$ALPNSTEER" challenge add known.fleet.test tok.k --ttl 1h
check "every node attached for known.fleet.test" wait_all node_attached 30
kill $ETCD_PID
wait $ETCD_PID 2>/dev/null
check "with etcd killed, every node reports the store down" \
	wait_all store_down 50
for n in $NODES; do
	check "node $n still answers known.fleet.test with the store down" answers $n known.fleet.test
done
check "every node detaches once the ttl has run out (${TTL} s)" wait_all node_detached $(( (TTL + 8) * 10 ))
el=$(( $(now_ms) - t0 ))
echo "# store down: nodes detached $el ms after the add (ttl ${TTL} s, grace 1 s)"
check "... not before the ttl" test $el -ge $(( TTL * 1000 - 500 ))
for n in $NODES; do
	check "node $n: its agent says the challenge expired" grep -q "challenge known.fleet.test expired (ttl)" "$ST_WORK/agent$n.log"
done
# etcd back: its lease (1 h) still holds the entry whose remove was lost.
# Its expiry is absolute (the add's time + the agents' ttl): no node
# takes it again.
start_etcd
check "etcd back: every node reports the store up" wait_all store_up 200
sleep 3
attached_list() { local n; for n in $NODES; do node_attached $n && echo -n "node$n "; done; return 0; }
again=$(attached_list)
check "... and no node attaches again for the expired challenge (3 s later: ${again:-none})" test -z "$again"
for n in $NODES; do
	check "node $n: no 'pending from the store' after the expiry" \
		bash -c '[ "$(grep -c "known.fleet.test pending from the store" "$0")" -le 1 ]' "$ST_WORK/agent$n.log"
done

check "no kernel WARN" st_dmesg_clean
st_summary
