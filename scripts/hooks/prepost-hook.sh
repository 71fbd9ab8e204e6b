#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Pre/post hook for clients that run their own TLS-ALPN-01 listener on a
# side port and only need port 443's acme-tls/1 hellos sent there while
# they run (acme.sh --alpn --tlsport PORT; lego 5 --tls --tls.address
# HOST:PORT, lego 4.9.1 --tls --tls.port HOST:PORT):
#
#   prepost-hook.sh pre 127.0.0.1:10443   # alpnsteer attach --holder ... --ttl 1h --forward ...
#   prepost-hook.sh post                  # alpnsteer detach --holder ... --wait=60
#
#   acme.sh --issue --alpn --tlsport 10443 -d example.org \
#     --pre-hook  '/usr/local/lib/alpnsteer/hooks/prepost-hook.sh pre 127.0.0.1:10443' \
#     --post-hook '/usr/local/lib/alpnsteer/hooks/prepost-hook.sh post'
#
#   lego run --tls --tls.address 127.0.0.1:10443 -d example.org ... \
#     --pre-hook  '/usr/local/lib/alpnsteer/hooks/prepost-hook.sh pre 127.0.0.1:10443' \
#     --post-hook '/usr/local/lib/alpnsteer/hooks/prepost-hook.sh post'
#
# lego 5 runs its pre-hook only when it obtains or renews, and splits the
# hook at spaces (no shell).  lego 4.9.1 has no pre/post hooks: call
# `pre` before `lego --tls --tls.port 127.0.0.1:10443 ... run` (or renew)
# and `post` after it (docs/acme-clients.md).
#
# Extra arguments after HOST:PORT go to attach (--domain NAME, --port N).
# The hook attaches as its own holder (ALPNSTEER_HOLDER, default
# prepost-hook): its detach ends only what it attached, never steering that
# another holder (alpnsteer.service, a unit) keeps on; with the same
# options as a live attachment it joins it, during a drain it calls the
# drain off, with other options it is refused (exit 1, saying what
# differs).  ALPNSTEER_TTL (default 1h): steering for this holder ends by
# itself if the post-hook never runs.  detach waits for the validations in
# flight and exits 1 if they outlast ALPNSTEER_DETACH_WAIT (60 s).
set -euo pipefail
ALPNSTEER=${ALPNSTEER:-alpnsteer}
holder=${ALPNSTEER_HOLDER:-prepost-hook}
case ${1:-} in
pre)
	fwd=${2:?usage: prepost-hook.sh pre HOST:PORT [attach options] | post}
	shift 2
	# lego 5 names the certificate in its hooks' environment
	[ -z "${LEGO_HOOK_CERT_NAME:-}" ] ||
		echo "prepost-hook: lego 5 pre-hook for ${LEGO_HOOK_CERT_NAME}: forwarding to $fwd" >&2
	exec "$ALPNSTEER" attach --holder "$holder" --ttl "${ALPNSTEER_TTL:-1h}" \
		--forward "$fwd" "$@"
	;;
post)
	exec "$ALPNSTEER" detach --holder "$holder" --wait="${ALPNSTEER_DETACH_WAIT:-60}"
	;;
*)
	echo "usage: prepost-hook.sh pre HOST:PORT [attach options] | post" >&2
	exit 2
	;;
esac
