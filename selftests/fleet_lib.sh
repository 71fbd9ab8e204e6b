# SPDX-License-Identifier: GPL-2.0-only
# fleet_lib.sh: what the fleet selftests (test_fleet, test_fleet_lb,
# test_fleet_tenant) share: a hub bridge that joins their namespaces, and
# the fleet's etcd (TLS, client certificates, the recipe's roles) in the
# CA's namespace.  Sourced after lib.sh; the caller sets HUB, CA, CA4,
# ETCD, PKI and RECIPE (scripts/fleet-recipe.sh and its arguments).

# fleet_hub: the namespace whose bridge every other one joins
fleet_hub() {
	ip netns add $HUB
	ip -n $HUB link add br0 type bridge
	ip -n $HUB link set br0 up
}

# join NS ADDR I [ADDR6]: a veth from NS to the hub's bridge, NS's end
# ADDR/24 (and ADDR6/64)
join() {
	local ns=$1 addr=$2 i=$3 addr6=${4:-}
	ip link add $ST_NS-h$i type veth peer name $ST_NS-e$i
	ip link set $ST_NS-h$i netns $HUB
	ip link set $ST_NS-e$i netns $ns
	ip -n $HUB link set $ST_NS-h$i master br0 up
	ip -n $ns addr add $addr/24 dev $ST_NS-e$i
	[ -z "$addr6" ] || ip -n $ns addr add $addr6/64 dev $ST_NS-e$i nodad
	ip -n $ns link set $ST_NS-e$i up
	ip -n $ns link set lo up
}

in_ns() { local ns=$1; shift; nsenter --net=/var/run/netns/$ns "$@"; }
in_ca() { in_ns $CA "$@"; }

# start_etcd: the fleet's etcd, in the CA's namespace; ETCD_PID (also in
# $ST_WORK/etcd.pid, for a test's background hook that stops it)
start_etcd() {
	st_spawn ip netns exec $CA etcd --name fleet --data-dir "$ST_WORK/etcd" \
		--listen-client-urls $ETCD --advertise-client-urls $ETCD \
		--listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
		--initial-cluster fleet=http://127.0.0.1:2380 \
		--cert-file "$PKI/etcd-server.pem" --key-file "$PKI/etcd-server.key" \
		--trusted-ca-file "$PKI/ca.pem" --client-cert-auth >> "$ST_WORK/etcd.log" 2>&1
	ETCD_PID=${ST_PIDS[-1]}
	echo "$ETCD_PID" > "$ST_WORK/etcd.pid"
}

# fleet_etcd: the recipe's certificates, etcd, and the recipe's users and
# roles (RBAC: nodes read the prefix; each ACME client writes only the
# keys of its own names).  etcdctl warns about --user while auth is off:
# quiet.
fleet_etcd() {
	local i
	"${RECIPE[@]}" --apply certs 2>/dev/null || return 1
	start_etcd
	for i in $(seq 1 100); do
		in_ca etcdctl --endpoints $ETCD --cacert "$PKI/ca.pem" --cert "$PKI/admin.pem" \
			--key "$PKI/admin.key" endpoint health >/dev/null 2>&1 && break
		sleep 0.1
	done
	in_ca env ETCDCTL_API=3 ETCDCTL_ENDPOINTS=$ETCD ETCDCTL_CACERT="$PKI/ca.pem" \
		ETCDCTL_CERT="$PKI/admin.pem" ETCDCTL_KEY="$PKI/admin.key" \
		"${RECIPE[@]}" --apply etcd 2>/dev/null
}
