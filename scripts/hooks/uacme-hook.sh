#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# uacme hook for tls-alpn-01 through alpnsteer's built-in responder:
#
#   UACME_CONFDIR=/etc/ssl/uacme uacme -h /path/to/uacme-hook.sh issue NAME...
#
# with `alpnsteer attach` (no --forward) in force.  uacme calls
#   METHOD TYPE IDENT TOKEN AUTH     (METHOD: begin, done or failed)
# and, for tls-alpn-01, AUTH is base64url(SHA-256(keyauth)), not the key
# authorization: acme-keyauth rebuilds it from uacme's account key
# ($UACME_CONFDIR/private/key.pem, UACME_CONFDIR defaulting to uacme's own
# default /etc/ssl/uacme; set it when you pass -c) and checks it against
# AUTH.  Other challenge types are declined (exit 1), so uacme moves on to
# the tls-alpn-01 challenge of the same authorization.  IP identifiers
# (RFC 8738) work: alpnsteer answers the reverse-name SNI.
set -euo pipefail
ALPNSTEER=${ALPNSTEER:-alpnsteer}
here=$(dirname "$(readlink -f "$0")")
[ $# -eq 5 ] || { echo "usage: $(basename "$0") method type ident token auth" >&2; exit 85; }
method=$1 type=$2 ident=$3 token=$4 auth=$5
[ "$type" = tls-alpn-01 ] || exit 1
case $method in
begin)
	ka=$("$here/acme-keyauth" "$token" "$auth" "${UACME_CONFDIR:-/etc/ssl/uacme}/private/key.pem")
	exec "$ALPNSTEER" challenge add "$ident" "$ka"
	;;
done | failed)
	"$ALPNSTEER" challenge remove "$ident" || true
	;;
*)
	echo "$0: invalid method $method" >&2
	exit 1
	;;
esac
