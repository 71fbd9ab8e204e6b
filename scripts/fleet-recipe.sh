#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# fleet-recipe.sh - the set-up of a fleet's etcd for `alpnsteer agent
# --store` (docs/usage.md, "Agent and fleet"; docs/design.md, "Who may add
# what"), printed as the commands an operator runs, or run with --apply:
#
#   certs   the fleet's CA (openssl), etcd's server certificate, and one
#           client certificate per node and per ACME client, all without
#           a CN (etcd's JSON gateway refuses a client certificate with
#           one), and a random password per user (USER.pw, mode 0600)
#   etcd    etcdctl: users root, NODE_USER (role of the same name: read on
#           /alpnsteer/v1/chal/) and one user per ACME client (a role with
#           readwrite on the key prefix of each of its domains), then
#           `auth enable`.  etcdctl's endpoint and TLS come from its
#           environment (ETCDCTL_ENDPOINTS, ETCDCTL_CACERT, ETCDCTL_CERT,
#           ETCDCTL_KEY; ETCDCTL_USER=root:PW once auth is on)
#   dropin  the agent's unit drop-in (alpnsteer-agent.service.d/store.conf)
#           for one node, and the hook's environment for an ACME client
#
#   fleet-recipe.sh [--apply] [--pki DIR] [--etcd URL] [--etcd-ip ADDR]
#       [--node NAME]... [--node-user USER] [--client USER=DOMAIN[,DOMAIN]]...
#       [--sbin DIR] [SECTION...]
#
# e.g. fleet-recipe.sh --etcd https://198.18.6.1:2379 --etcd-ip 198.18.6.1 \
#        --node web1 --node web2 --client acme=example.org,example.net
# Without SECTION: all three, printed.  Run `certs --apply` on the host
# that keeps the CA key, then copy each node's files (NAME.pem, NAME.key,
# ca.pem, NODE_USER.pw) to it.
set -euo pipefail
PREFIX=/alpnsteer/v1/chal/
pki=/etc/alpnsteer/fleet etcd=https://etcd.example:2379 etcd_ip="" node_user=node
sbin=/usr/local/sbin apply=0
nodes=() clients=() sections=()
usage() {
	sed -n '/^#   fleet-recipe.sh \[/,/^#       \[--sbin/p' "$0" | sed 's/^# *//' >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--apply) apply=1 ;;
	--pki) pki=${2:?}; shift ;;
	--etcd) etcd=${2:?}; shift ;;
	--etcd-ip) etcd_ip=${2:?}; shift ;;
	--node) nodes+=("${2:?}"); shift ;;
	--node-user) node_user=${2:?}; shift ;;
	--client)
		case ${2:-} in *=?*) ;; *) echo "Error: --client USER=DOMAIN[,DOMAIN...]" >&2; exit 2 ;; esac
		clients+=("$2"); shift ;;
	--sbin) sbin=${2:?}; shift ;;
	certs | etcd | dropin) sections+=("$1") ;;
	-h | --help) usage ;;
	*) echo "Error: unknown argument '$1'" >&2; usage ;;
	esac
	shift
done
[ ${#sections[@]} -gt 0 ] || sections=(certs etcd dropin)
[ ${#nodes[@]} -gt 0 ] || nodes=(node1)

# The key prefix of a domain: labels reversed, each followed by a dot, so
# that "example.org" covers every name under it and not "examples.org";
# of an IP address, the address and a slash, so that 198.18.7.1 does not
# cover 198.18.7.10.  Anything else is refused: a grant on a partial
# address ("198.18.7") or an all-digit name would cover identifiers that
# are not the client's.
key_prefix() {
	local d=${1%.} out="" l
	d=${d,,}
	case $d in
	*:*)
		[[ $d =~ ^[0-9a-f:.]+$ ]] || { echo "Error: --client: '$1' is not an IP address or a domain" >&2; return 1; }
		echo "${PREFIX}ip/$d/"
		return 0
		;;
	esac
	if [[ $d =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]]; then
		echo "${PREFIX}ip/$d/"
		return 0
	fi
	if ! [[ $d =~ ^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]*[a-z0-9])?$ ]] ||
		[[ ${d##*.} =~ ^[0-9]+$ ]]; then
		echo "Error: --client: '$1' is neither a domain nor a whole IP address; a grant on it would cover others' identifiers" >&2
		return 1
	fi
	IFS=. read -r -a l <<<"$d"
	for ((i = ${#l[@]} - 1; i >= 0; i--)); do out+="${l[i]}."; done
	echo "${PREFIX}dns/${out}"
}

# Every client's domains checked before anything is printed or applied.
for c in "${clients[@]}"; do
	IFS=, read -r -a doms <<<"${c#*=}"
	for d in "${doms[@]}"; do key_prefix "$d" >/dev/null || exit 2; done
done

# emit CMD...: one command, quoted, for the printout or for bash
emit() {
	local a out=""
	for a in "$@"; do out+="$(printf '%q' "$a") "; done
	echo "${out% }"
}

certs() {
	local n u host san
	emit umask 077
	emit mkdir -p "$pki"
	emit openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
		-subj "/O=alpnsteer fleet CA" -keyout "$pki/ca.key" -out "$pki/ca.pem"
	# cert NAME SUBJECT EXT: a key, and a certificate of the fleet's CA
	cert() {
		emit openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "$2" \
			-keyout "$pki/$1.key" -out "$pki/$1.csr"
		printf "printf '%%b\\\\n' %q > %q\n" "$3" "$pki/$1.ext"
		emit openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" \
			-CAcreateserial -days 825 -extfile "$pki/$1.ext" -out "$pki/$1.pem"
	}
	host=$(sed -E 's|^https?://||; s|,.*||; s|:[0-9]+$||; s|^\[(.*)\]$|\1|' <<<"$etcd")
	case $host in
	*[!0-9.]* | "") san="DNS:$host" ;; # a name (an IPv6 address is given by --etcd-ip)
	*) san="IP:$host" ;;
	esac
	[ -z "$etcd_ip" ] || [ "IP:$etcd_ip" = "$san" ] || san="IP:$etcd_ip,$san"
	cert etcd-server "/O=etcd" "subjectAltName=$san\nextendedKeyUsage=serverAuth,clientAuth"
	cert admin "/O=fleet admin" "extendedKeyUsage=clientAuth"
	for n in "${nodes[@]}"; do cert "$n" "/O=fleet node $n" "extendedKeyUsage=clientAuth"; done
	for u in "${clients[@]}"; do cert "${u%%=*}" "/O=fleet acme client ${u%%=*}" "extendedKeyUsage=clientAuth"; done
	for u in root "$node_user" "${clients[@]%%=*}"; do
		echo "[ -s $(printf '%q' "$pki/$u.pw") ] || openssl rand -hex 24 > $(printf '%q' "$pki/$u.pw")"
	done
	echo "# etcd: --cert-file $pki/etcd-server.pem --key-file $pki/etcd-server.key --trusted-ca-file $pki/ca.pem --client-cert-auth"
}

etcd() {
	local c u d role
	pw() { echo "\"\$(cat $(printf '%q' "$pki/$1.pw"))\""; }
	echo "etcdctl user add root --new-user-password $(pw root)"
	emit etcdctl role add root
	emit etcdctl user grant-role root root
	echo "etcdctl user add $(printf '%q' "$node_user") --new-user-password $(pw "$node_user")"
	emit etcdctl role add "$node_user"
	emit etcdctl role grant-permission "$node_user" --prefix=true read "$PREFIX"
	emit etcdctl user grant-role "$node_user" "$node_user"
	for c in "${clients[@]}"; do
		u=${c%%=*}
		echo "etcdctl user add $(printf '%q' "$u") --new-user-password $(pw "$u")"
		IFS=, read -r -a doms <<<"${c#*=}"
		for d in "${doms[@]}"; do
			role=acme-${d,,}
			emit etcdctl role add "$role"
			emit etcdctl role grant-permission "$role" --prefix=true readwrite "$(key_prefix "$d")"
			emit etcdctl user grant-role "$u" "$role"
		done
	done
	emit etcdctl auth enable
}

dropin() {
	local n=${nodes[0]} c
	echo "# on each node (here ${n}): /etc/systemd/system/alpnsteer-agent.service.d/store.conf"
	echo "cat <<'EOF'"
	cat <<EOF
[Service]
# The fleet's store (scripts/fleet-recipe.sh): the node's certificate of
# the fleet's CA and user $node_user's password, both only root's.
ExecStart=
ExecStart=$sbin/alpnsteer agent --store $etcd --store-ca $pki/ca.pem --store-cert $pki/$n.pem --store-key $pki/$n.key --store-user $node_user --store-password-file $pki/$node_user.pw \$ALPNSTEER_AGENT_OPTS
EOF
	echo "EOF"
	for c in "${clients[@]}"; do
		echo "# the ACME client ${c%%=*}'s hook environment (uacme, dehydrated)"
		echo "cat <<'EOF'"
		cat <<EOF
ALPNSTEER_STORE=$etcd
ALPNSTEER_STORE_CA=$pki/ca.pem
ALPNSTEER_STORE_CERT=$pki/${c%%=*}.pem
ALPNSTEER_STORE_KEY=$pki/${c%%=*}.key
ALPNSTEER_STORE_USER=${c%%=*}
ALPNSTEER_STORE_PASSWORD_FILE=$pki/${c%%=*}.pw
ALPNSTEER_TTL=1h
EOF
		echo "EOF"
	done
}

for s in "${sections[@]}"; do
	if [ $apply = 1 ]; then
		# Applied: the same commands, run; a failure stops here.
		[ "$s" = dropin ] && { dropin | bash; continue; }
		{ echo "set -e"; $s; } | bash >/dev/null
	else
		echo "# --- $s"
		$s
	fi
done
