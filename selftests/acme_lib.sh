#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# acme_lib.sh - a local ACME CA for the selftests and the demo (sourced
# after lib.sh, root).
#
# On top of lib.sh's st-srv/st-cli pair, a third namespace $ST_NS-ca holds
# pebble (tlsPort 443, so it validates on the real port) and
# pebble-challtestsrv as its DNS server, joined to st-srv by its own veth:
#   st-srv 198.18.5.1/24 fd00:a5:5::1/64  <->  st-ca 198.18.5.2/24 fd00:a5:5::2/64
# The names under test resolve (through challtestsrv) to st-srv's addresses
# on that link, where nginx listens on 443 and alpnsteer steers.  The ACME
# clients run in st-srv; the load generator runs in st-cli.

ST_CA=$ST_NS-ca
ST_V2=$ST_NS-v2
ST_V3=$ST_NS-v3
CA4=198.18.5.2
CA6=fd00:a5:5::2
SRVCA4=198.18.5.1
SRVCA6=fd00:a5:5::1
ACME_DIR=https://$CA4:14000/dir
ACME_MGMT=https://$CA4:15000
HOOKS=$(cd "$HERE/../scripts/hooks" && pwd)

in_ca() { ip netns exec $ST_CA "$@"; }

acme_cleanup() {
	# The load loop's current loadgen run ends by PID before its namespace
	# goes; the loop itself is in ST_PIDS.
	if [ -n "${ST_WORK:-}" ] && [ -d "$ST_WORK" ]; then
		touch "$ST_WORK/loadloop.stop"
		if [ -s "$ST_WORK/loadloop.pid" ]; then
			kill "$(cat "$ST_WORK/loadloop.pid")" 2>/dev/null || true
		fi
	fi
	st_cleanup
	ip netns del $ST_CA 2>/dev/null || true
	return 0
}

# acme_pebble_start NS: pebble on $CA4 in namespace NS, and
# pebble-challtestsrv as its DNS server; sets CA_BUNDLE.
acme_pebble_start() {
	# pebble's HTTPS (ACME API and management) certificate; the clients
	# trust it through CA_BUNDLE, never through the system store.
	mkdir -p "$ST_WORK/ca"
	CA_BUNDLE=$ST_WORK/ca/pebble-https.pem
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-days 2 -subj /CN=pebble-local -addext "subjectAltName=IP:$CA4" \
		-keyout "$ST_WORK/ca/pebble-https.key" -out "$CA_BUNDLE" 2>/dev/null
	cat > "$ST_WORK/ca/pebble.json" <<-JSON
	{ "pebble": {
	    "listenAddress": "$CA4:14000",
	    "managementListenAddress": "$CA4:15000",
	    "certificate": "$CA_BUNDLE",
	    "privateKey": "$ST_WORK/ca/pebble-https.key",
	    "httpPort": 5002,
	    "tlsPort": 443,
	    "ocspResponderURL": "",
	    "externalAccountBindingRequired": false } }
	JSON
	# No default answers: a name resolves only to the records a test adds,
	# so an AAAA-only name can be validated over IPv6 only.
	# ip netns exec (and env) exec the program: the PID st_spawn records is
	# the server's own, so cleanup ends it (a shell function here would
	# record a subshell and leave the server behind).
	st_spawn ip netns exec "$1" pebble-challtestsrv -defaultIPv4 "" -defaultIPv6 "" \
		-dns01 $CA4:8053 -management $CA4:8055 -http01 "" -https01 "" \
		-tlsalpn01 "" > "$ST_WORK/ca/challtestsrv.log" 2>&1
	# No random validation sleeps, no nonce rejections, and never reuse a
	# valid authorization: every order is validated through alpnsteer.
	st_spawn ip netns exec "$1" env PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 \
		PEBBLE_AUTHZREUSE=0 pebble -config "$ST_WORK/ca/pebble.json" \
		-dnsserver $CA4:8053 > "$ST_WORK/ca/pebble.log" 2>&1
}

# acme_setup: lib.sh's set-up, then the CA namespace with pebble and
# challtestsrv; CA_BUNDLE is the certificate pebble's own HTTPS uses.
acme_setup() {
	st_require_cmd pebble pebble-challtestsrv
	ip netns del $ST_CA 2>/dev/null || true
	st_setup
	st_on_exit acme_cleanup
	ip netns add $ST_CA
	ip link add $ST_V2 type veth peer name $ST_V3
	ip link set $ST_V2 netns $ST_SRV
	ip link set $ST_V3 netns $ST_CA
	ip -n $ST_SRV addr add $SRVCA4/24 dev $ST_V2
	ip -n $ST_CA addr add $CA4/24 dev $ST_V3
	ip -n $ST_SRV addr add $SRVCA6/64 dev $ST_V2 nodad
	ip -n $ST_CA addr add $CA6/64 dev $ST_V3 nodad
	ip -n $ST_CA link set lo up
	ip -n $ST_SRV link set $ST_V2 up
	ip -n $ST_CA link set $ST_V3 up

	acme_pebble_start $ST_CA
	local i
	for i in $(seq 1 150); do
		in_srv curl -sf --cacert "$CA_BUNDLE" "$ACME_DIR" >/dev/null &&
			in_ca bash -c "exec 3<>/dev/tcp/$CA4/8055" 2>/dev/null && break
		sleep 0.1
	done
	in_srv curl -sf --cacert "$CA_BUNDLE" "$ACME_DIR" >/dev/null || {
		echo "# pebble did not come up:"; sed 's/^/#   /' "$ST_WORK/ca/pebble.log"; return 1; }
	# pebble makes a new root and intermediate at every start.
	in_srv curl -sf --cacert "$CA_BUNDLE" "$ACME_MGMT/roots/0" -o "$ST_WORK/ca/root.pem" &&
		in_srv curl -sf --cacert "$CA_BUNDLE" "$ACME_MGMT/intermediates/0" -o "$ST_WORK/ca/intermediate.pem"
}

# acme_dns a|aaaa NAME ADDR: a record in challtestsrv
acme_dns() {
	in_ca curl -sf -X POST -d "{\"host\":\"$2.\",\"addresses\":[\"$3\"]}" \
		http://$CA4:8055/add-$1 >/dev/null
}

# acme_cert_ok CERT NAME...: the leaf in CERT (a PEM chain) was issued by
# pebble for exactly NAMEs (DNS names or IP addresses, any order), and
# verifies against the root and intermediate of this pebble run.
acme_cert_ok() {
	local cert=$1 leaf=$ST_WORK/ca/leaf.$$.pem got want n
	shift
	openssl x509 -in "$cert" -out "$leaf" 2>/dev/null || { echo "# no certificate in $cert"; return 1; }
	if ! openssl x509 -in "$leaf" -noout -issuer | grep -q "CN = Pebble Intermediate CA"; then
		echo "# issuer: $(openssl x509 -in "$leaf" -noout -issuer)"
		return 1
	fi
	if ! openssl verify -CAfile "$ST_WORK/ca/root.pem" -untrusted "$ST_WORK/ca/intermediate.pem" \
		-purpose sslserver "$leaf" >/dev/null; then
		echo "# the chain does not verify against this pebble's root"
		return 1
	fi
	got=$(openssl x509 -in "$leaf" -noout -ext subjectAltName | tail -n +2 | tr ',' '\n' |
	      sed 's/^ *//; s/^DNS://; s/^IP Address://' | tr 'A-Z' 'a-z' | sort | tr '\n' ' ')
	want=$(for n in "$@"; do echo "$n"; done | tr 'A-Z' 'a-z' | sort | tr '\n' ' ')
	# openssl prints IPv6 SANs in full, upper case, without "::"
	want=$(for n in $want; do python3 -c "import ipaddress,sys
try: print(ipaddress.ip_address(sys.argv[1]).exploded if ':' in sys.argv[1] else sys.argv[1])
except ValueError: print(sys.argv[1])" "$n"; done | sort | tr '\n' ' ')
	got=$(for n in $got; do python3 -c "import ipaddress,sys
try: print(ipaddress.ip_address(sys.argv[1]).exploded if ':' in sys.argv[1] else sys.argv[1])
except ValueError: print(sys.argv[1])" "$n"; done | sort | tr '\n' ' ')
	if [ "$got" != "$want" ]; then
		echo "# names in the certificate: '$got', want '$want'"
		return 1
	fi
	rm -f "$leaf"
}

# acme_via SNI: how the CA's validation hellos for SNI reached alpnsteer,
# from the daemon's log: "ipv4", "ipv6", "ipv4 ipv6" or "none".  Shows
# that an AAAA-only name really was validated over IPv6.
acme_via() {
	local lines v=""
	lines=$(grep -F " sni=$1 to slot" /run/alpnsteer/daemon.log 2>/dev/null || true)
	grep -q "steered $CA4:" <<<"$lines" && v="ipv4"
	grep -q "steered \[$CA6\]:" <<<"$lines" && v="${v:+$v }ipv6"
	echo "${v:-none}"
}

# acme_dehydrated_config DIR EMAIL: a dehydrated base directory DIR set up
# for tls-alpn-01 against pebble; prints the config file's path.
acme_dehydrated_config() {
	mkdir -p "$1"
	cat > "$1/config" <<CFG
CA=$ACME_DIR
CURL_OPTS="--cacert $CA_BUNDLE"
BASEDIR=$1
CHALLENGETYPE=tls-alpn-01
KEYSIZE=2048
CONTACT_EMAIL=$2
CFG
	echo "$1/config"
}

# logged LOG CMD...: run CMD with its output in LOG, shown only on failure
logged() {
	local log=$1
	shift
	"$@" > "$log" 2>&1 && return 0
	sed 's/^/#   /' "$log"
	return 1
}

# acme_load_check: stop the load loop and assert that nothing failed or was
# corrupted and that requests were served.
acme_load_check() {
	acme_loop_stop
	acme_load_expect
}

# acme_load_expect: acme_load_check's assertions on ACME_LOOP_SUM, for a
# test function (st_test): only the shell that started the loop can stop
# it, so the file stops it outside the tests, then runs this as one.
acme_load_expect() {
	echo "# load: $ACME_LOOP_SUM"
	expect_eq "failed requests (loadgen runs: $(field "$ACME_LOOP_SUM" runs))" "$(field "$ACME_LOOP_SUM" failures)" 0
	expect_eq "corrupted bodies" "$(field "$ACME_LOOP_SUM" corrupted)" 0
	check "requests were served during the run" test "$(field "$ACME_LOOP_SUM" gets)" -gt 0
}

# acme_loop_start [NS HOST...]: loadgen.py runs of 10 s back to back, from
# NS to every HOST (default: from st-cli to $SRV4 and $SRV6) until
# acme_loop_stop, so the load lasts as long as whatever runs meanwhile; one
# JSON line per run in $ST_WORK/loadloop.jsonl.  A stop and a new start
# carry on adding to the same file.
acme_loop_start() {
	local ns=${1:-$ST_CLI} hosts=() h
	[ $# -gt 1 ] && shift || set -- $SRV4 $SRV6
	for h in "$@"; do hosts+=(--host "$h"); done
	touch "$ST_WORK/loadloop.jsonl"
	rm -f "$ST_WORK/loadloop.stop"
	(
		while [ ! -e "$ST_WORK/loadloop.stop" ]; do
			# ip netns exec execs python: $! is the PID to end.
			ip netns exec "$ns" python3 "$HERE/loadgen.py" "${hosts[@]}" \
				--duration 10 --big-sha256 "$BIG_SHA" --gets 2 --downloads 1 \
				--uploads 1 --storms 1 >> "$ST_WORK/loadloop.jsonl" &
			echo $! > "$ST_WORK/loadloop.pid"
			n=$(wc -l < "$ST_WORK/loadloop.jsonl")
			# A run that died without its JSON line counts as a failure.
			wait $! || [ "$(wc -l < "$ST_WORK/loadloop.jsonl")" -gt "$n" ] ||
				echo '{"failures": 1, "corrupted": 0, "loadgen_died": 1}' >> "$ST_WORK/loadloop.jsonl"
			# Never leave a PID behind that could be reused by another process.
			rm -f "$ST_WORK/loadloop.pid"
		done
	) &
	ACME_LOOP=$!
	ST_PIDS+=($ACME_LOOP)
}

# acme_loop_stop: end the loop after its current run; ACME_LOOP_SUM is the
# sum of the counts of every run since the first start, as one JSON object.
acme_loop_stop() {
	touch "$ST_WORK/loadloop.stop"
	wait $ACME_LOOP || true
	ACME_LOOP_SUM=$(python3 -c '
import json, sys
t = {"runs": 0}
for line in open(sys.argv[1]):
    t["runs"] += 1
    for k, v in json.loads(line).items():
        if isinstance(v, int):
            t[k] = t.get(k, 0) + v
        elif isinstance(v, dict):
            e = t.setdefault(k, {})
            for w, n in v.items():
                e[w] = e.get(w, 0) + n
print(json.dumps(t))' "$ST_WORK/loadloop.jsonl")
}

# The newest certbot Debian ships (CERTBOT_SUITE, default sid) for the
# certbot selftests: it needs the Python of its own release, which does not
# run on Debian 12's libraries, so it runs chrooted in a root file system
# of that suite (scripts/certbot-root.sh).  CERTBOT_ROOT=DIR names one;
# otherwise acme_certbot_root builds it once into CERTBOT_CACHE
# (/var/cache/alpnsteer-ci)/certbot-SUITE, which later runs reuse (about a
# minute from a fast mirror; a root without the script's last mark is
# incomplete and built again).  Outside any st_test, once per file; sets
# CERTBOT_ROOT_DIR, or CERTBOT_ROOT_SKIP (the mirror is unreachable: the
# root's tests are skipped, with that reason) or CERTBOT_ROOT_FAIL (it was
# reachable and the build failed: the root's tests fail).
acme_certbot_root() {
	local suite=${CERTBOT_SUITE:-sid} cache=${CERTBOT_CACHE:-/var/cache/alpnsteer-ci}
	local dir mirror=${CERTBOT_MIRROR:-http://deb.debian.org/debian} t0 log
	CERTBOT_ROOT_DIR= CERTBOT_ROOT_SKIP= CERTBOT_ROOT_FAIL=
	if [ -n "${CERTBOT_ROOT:-}" ]; then
		CERTBOT_ROOT_DIR=$CERTBOT_ROOT
		return 0
	fi
	dir=$cache/certbot-$suite
	if [ -s "$dir/.alpnsteer-certbot-root" ]; then
		CERTBOT_ROOT_DIR=$dir
		echo "# $(cat "$dir/.alpnsteer-certbot-root") in $dir (cached)"
		return 0
	fi
	if ! command -v debootstrap >/dev/null; then
		CERTBOT_ROOT_SKIP="debootstrap is not installed"
		return 0
	fi
	if ! curl -sf -o /dev/null --max-time 30 "$mirror/dists/$suite/InRelease"; then
		CERTBOT_ROOT_SKIP="the mirror $mirror is unreachable (no $suite root for certbot)"
		return 0
	fi
	mkdir -p "$cache"
	log=$cache/certbot-$suite.log
	t0=$(date +%s)
	# Built beside it and renamed: a run stopped halfway leaves no root
	# that looks complete.  Mounts into a root are only ever made in
	# mount namespaces of their own, so none is left in it.
	rm -rf --one-file-system "$dir.new"
	if ! CERTBOT_MIRROR=$mirror bash "$HERE/../scripts/certbot-root.sh" "$dir.new" "$suite" > "$log" 2>&1; then
		CERTBOT_ROOT_FAIL="scripts/certbot-root.sh $dir.new $suite failed (log: $log)"
		tail -n 20 "$log" | sed 's/^/#   /'
		return 0
	fi
	rm -rf --one-file-system "$dir"
	mv "$dir.new" "$dir"
	CERTBOT_ROOT_DIR=$dir
	echo "# $(cat "$dir/.alpnsteer-certbot-root") in $dir, built in $(($(date +%s) - t0)) s"
}

# acme_root_ok: in a test using the root, skip or fail as
# acme_certbot_root found; then write $ST_WORK/alpnsteer-host, the
# alpnsteer that certbot's plugin runs inside the root (acme_in_root).
acme_root_ok() {
	[ -z "$CERTBOT_ROOT_SKIP" ] || st_skip "$CERTBOT_ROOT_SKIP"
	if [ -n "$CERTBOT_ROOT_FAIL" ]; then
		not_ok "$CERTBOT_ROOT_FAIL"
		return 1
	fi
	printf '#!/bin/sh\nexec chroot /host %s "$@"\n' "$ALPNSTEER" > "$ST_WORK/alpnsteer-host"
	chmod 755 "$ST_WORK/alpnsteer-host"
}

# acme_in_root ENV... -- CMD...: CMD chrooted in CERTBOT_ROOT_DIR, in the
# server namespace and a mount namespace of its own, with only ENV (and
# PATH) in its environment: /proc, /sys (with the bpffs), /dev,
# /run/alpnsteer and $ST_WORK bound in, and this host's whole file system
# tree at /host, where $ST_WORK/alpnsteer-host runs the tree's alpnsteer
# (chroot /host): built for Debian 12, it runs on Debian 12's files, its
# /proc/self/exe (which it execs as its TLS worker) its own binary, not a
# loader, and its daemon's user the host's.
acme_in_root() {
	local envs=()
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	in_srv unshare --mount --propagation private -- \
		sh -c 'set -e
		r=$1 w=$2
		shift 2
		mkdir -p "$r/host" "$r/run/alpnsteer" "$r$w"
		mount --rbind / "$r/host"
		for d in proc sys dev; do mount --rbind /$d "$r/$d"; done
		mount --bind /run/alpnsteer "$r/run/alpnsteer"
		mount --bind "$w" "$r$w"
		exec chroot "$r" "$@"' root "$CERTBOT_ROOT_DIR" "$ST_WORK" \
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin ALPNSTEER="$ST_WORK/alpnsteer-host" "${envs[@]}" "$@"
}
