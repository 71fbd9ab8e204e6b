#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# dehydrated hook for tls-alpn-01 through alpnsteer's built-in responder:
#
#   dehydrated -c -t tls-alpn-01 -k /path/to/dehydrated-hook.sh
#   (or HOOK=... in dehydrated's config; HOOK_CHAIN=yes works too)
#
# with `alpnsteer attach` (no --forward) in force, or, with
# ALPNSTEER_HOOK_ATTACH=1, attached by the hook itself for the run: at
# startup_hook as holder ALPNSTEER_HOLDER (default dehydrated) with
# --ttl ALPNSTEER_TTL (default 1h; steering ends by itself should
# exit_hook never run) and ALPNSTEER_ATTACH_OPTS, detached at exit_hook:
# only that holder lets go, so a permanent attachment (alpnsteer.service)
# stays on.  dehydrated calls
#   deploy_challenge DOMAIN TOKEN DIGEST [DOMAIN TOKEN DIGEST ...]
#   clean_challenge  DOMAIN TOKEN DIGEST [...]
# where, for tls-alpn-01, DIGEST is SHA-256(keyauth) as colon-separated
# hex, not the key authorization: `alpnsteer challenge add --digest` takes
# it as it is, so the hook never needs the account key.  Every other hook
# call is ignored, so this can be chained from a larger hook script:
# "$0" "$@" from its deploy_challenge/clean_challenge.
set -euo pipefail
ALPNSTEER=${ALPNSTEER:-alpnsteer}
# Agent mode (ALPNSTEER_AGENT=1, or an `alpnsteer agent` running: it
# answers on its socket; one left by a killed agent refuses connections
# and does not count): only add and remove, never attach or detach; the
# agent attaches while a challenge is pending.  With ALPNSTEER_STORE (and the
# other ALPNSTEER_STORE_* variables) the challenges go to the shared store
# instead, for the agents of every node.
agent_live() {
	[ -S "${ALPNSTEER_RUN_DIR:-/run/alpnsteer}/agent.sock" ] &&
		"$ALPNSTEER" agent status >/dev/null 2>&1
}
if [ "${ALPNSTEER_AGENT:-}" = 1 ] || [ -n "${ALPNSTEER_STORE:-}" ] || agent_live; then
	ALPNSTEER_HOOK_ATTACH=0
fi
# With a store, the nodes' agents learn of a challenge within a second, but
# the CA may validate at once: wait until each address in
# ALPNSTEER_STORE_CHECK answers IDENT as a CA would (`alpnsteer check`, up
# to 10 s each), or ALPNSTEER_STORE_SETTLE seconds (default 2).
store_settle() {
	local a i
	[ -n "${ALPNSTEER_STORE:-}" ] || return 0
	if [ -z "${ALPNSTEER_STORE_CHECK:-}" ]; then
		sleep "${ALPNSTEER_STORE_SETTLE:-2}"
		return 0
	fi
	for a in $ALPNSTEER_STORE_CHECK; do
		for i in $(seq 1 50); do
			"$ALPNSTEER" check "$1" --address "$a" >/dev/null 2>&1 && break
			sleep 0.2
		done
	done
}
holder=${ALPNSTEER_HOLDER:-dehydrated}
op=${1:-}
shift || true

case $op in
startup_hook)
	if [ "${ALPNSTEER_HOOK_ATTACH:-0}" = 1 ]; then
		# shellcheck disable=SC2086 # options, split on purpose
		"$ALPNSTEER" attach --holder "$holder" --ttl "${ALPNSTEER_TTL:-1h}" \
			${ALPNSTEER_ATTACH_OPTS:-}
	fi
	;;
exit_hook)
	if [ "${ALPNSTEER_HOOK_ATTACH:-0}" = 1 ]; then
		"$ALPNSTEER" detach --holder "$holder" --wait="${ALPNSTEER_DETACH_WAIT:-60}"
	fi
	;;
deploy_challenge)
	while [ $# -ge 3 ]; do
		"$ALPNSTEER" challenge add "$1" --digest "$3"
		store_settle "$1"
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
