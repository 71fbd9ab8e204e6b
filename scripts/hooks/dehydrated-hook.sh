#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# dehydrated hook for tls-alpn-01 through alpnsteer's built-in responder:
#
#   dehydrated -c -t tls-alpn-01 -k /path/to/dehydrated-hook.sh
#   (or HOOK=... in dehydrated's config; HOOK_CHAIN=yes works too)
#
# with `alpnsteer attach` (no --forward) in force.  dehydrated calls
#   deploy_challenge DOMAIN TOKEN DIGEST [DOMAIN TOKEN DIGEST ...]
#   clean_challenge  DOMAIN TOKEN DIGEST [...]
# where, for tls-alpn-01, DIGEST is SHA-256(keyauth) as colon separated
# hex, not the key authorization.  acme-keyauth rebuilds the key
# authorization from the account key (ALPNSTEER_ACCOUNT_KEY, or every
# $BASEDIR/accounts/*/account_key.pem) and checks it against DIGEST.
# Every other hook call is ignored, so this can be chained from a larger
# hook script: "$0" "$@" from its deploy_challenge/clean_challenge.
set -euo pipefail
ALPNSTEER=${ALPNSTEER:-alpnsteer}
here=$(dirname "$(readlink -f "$0")")
op=${1:-}
shift || true

keys() {
	if [ -n "${ALPNSTEER_ACCOUNT_KEY:-}" ]; then
		echo "$ALPNSTEER_ACCOUNT_KEY"
	else
		ls "${BASEDIR:?dehydrated exports BASEDIR}"/accounts/*/account_key.pem
	fi
}

case $op in
deploy_challenge)
	while [ $# -ge 3 ]; do
		mapfile -t k < <(keys)
		ka=$("$here/acme-keyauth" "$2" "$3" "${k[@]}")
		"$ALPNSTEER" challenge add "$1" "$ka"
		shift 3
	done
	;;
clean_challenge)
	while [ $# -ge 3 ]; do
		# Already gone (a detach, a retry) is not an error for dehydrated.
		"$ALPNSTEER" challenge remove "$1" || true
		shift 3
	done
	;;
*) ;;
esac
exit 0
