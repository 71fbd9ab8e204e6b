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
# where, for tls-alpn-01, DIGEST is SHA-256(keyauth) as colon-separated
# hex, not the key authorization: `alpnsteer challenge add --digest` takes
# it as it is, so the hook never needs the account key.  Every other hook
# call is ignored, so this can be chained from a larger hook script:
# "$0" "$@" from its deploy_challenge/clean_challenge.
set -euo pipefail
ALPNSTEER=${ALPNSTEER:-alpnsteer}
op=${1:-}
shift || true

case $op in
deploy_challenge)
	while [ $# -ge 3 ]; do
		"$ALPNSTEER" challenge add "$1" --digest "$3"
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
