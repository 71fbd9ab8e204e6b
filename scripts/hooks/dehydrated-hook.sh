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
# "$0" "$@" from its deploy_challenge/clean_challenge.  Every add carries
# --ttl ALPNSTEER_TTL (1h), in store mode too (the entry's lease and
# expiry); a remove that fails is an Error line on stderr and exit 1.
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
# the CA may validate at once: wait until every address in
# ALPNSTEER_STORE_CHECK (a list: name each node, not the balancer, which
# picks one) answers IDENT as a CA would (`alpnsteer check`, with
# ALPNSTEER_STORE_CHECK_OPTS, e.g. "--proxy-protocol v2" for nodes behind
# a balancer that sends PROXY headers), up to ALPNSTEER_STORE_CHECK_WAIT
# seconds (default 10) each, or ALPNSTEER_STORE_SETTLE seconds (default 2)
# without a list.  A node that never answers fails the hook: the CA would
# reach it.
store_settle() {
	local a i n out
	[ -n "${ALPNSTEER_STORE:-}" ] || return 0
	if [ -z "${ALPNSTEER_STORE_CHECK:-}" ]; then
		sleep "${ALPNSTEER_STORE_SETTLE:-2}"
		return 0
	fi
	n=$(( ${ALPNSTEER_STORE_CHECK_WAIT:-10} * 5 ))
	for a in $ALPNSTEER_STORE_CHECK; do
		for i in $(seq 1 "$n"); do
			# shellcheck disable=SC2086 # options, split on purpose
			out=$("$ALPNSTEER" check "$1" --address "$a" \
				${ALPNSTEER_STORE_CHECK_OPTS:-} 2>&1) && continue 2
			sleep 0.2
		done
		echo "$(basename "$0"): Error: node $a does not answer $1 for the CA: $(grep -m1 FAIL <<<"$out" || echo "${out##*$'\n'}")" >&2
		echo "$(basename "$0"): Hint: the node's agent may have refused the challenge: its log says why (not among its --names, its domain's --quota full)" >&2
		return 1
	done
}
# A remove that fails (the store or the agent unreachable) leaves the name
# answered until its ttl: say so, and fail, so the ACME client logs it.
# Already gone (removed before, expired, a detach) is not a failure.
remove_or_report() {
	local out
	out=$("$ALPNSTEER" challenge remove "$1" 2>&1) && return 0
	case $out in
	*"no pending challenge for"* | *"alpnsteer is not attached"*) return 0 ;;
	esac
	echo "$out" >&2
	echo "$(basename "$0"): Error: could not remove the challenge for $1; it stays answered until its ttl (${ALPNSTEER_TTL:-1h})" >&2
	return 1
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
		"$ALPNSTEER" challenge add "$1" --digest "$3" --ttl "${ALPNSTEER_TTL:-1h}"
		if ! store_settle "$1"; then
			remove_or_report "$1" || true
			exit 1
		fi
		shift 3
	done
	;;
clean_challenge)
	rc=0
	while [ $# -ge 3 ]; do
		remove_or_report "$1" || rc=1
		shift 3
	done
	exit $rc
	;;
*) ;;
esac
exit 0
