#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# certbot-root.sh DIR [SUITE]: a Debian SUITE (default sid) root file
# system in DIR with that suite's certbot and its nginx and Apache
# installers, for selftests/test_acme_certbot.sh and
# test_acme_ipcadence.sh (which build one themselves when CERTBOT_ROOT
# does not name one): the newest certbot Debian ships needs the Python of
# its own release, which does not run on Debian 12's libraries, so it
# runs chrooted there.  Ends by writing DIR/.alpnsteer-certbot-root
# (certbot's version): a root without it is incomplete.
# Root; fetches from deb.debian.org with debootstrap (scripts/install-deps.sh).
set -euo pipefail
dir=${1:?usage: scripts/certbot-root.sh DIR [SUITE]}
suite=${2:-sid}
[ "$(id -u)" = 0 ] || { echo "Error: run as root (debootstrap, chroot)" >&2; exit 1; }
mirror=${CERTBOT_MIRROR:-http://deb.debian.org/debian}
# debootstrap's --include does not resolve virtual packages
# (python3-cffi-backend-api-*), so certbot comes from apt in the root.
[ -x "$dir/usr/bin/apt-get" ] || debootstrap --variant=minbase "$suite" "$dir" "$mirror"
# Nothing in the root may start a service on this host's network.
printf '#!/bin/sh\nexit 101\n' > "$dir/usr/sbin/policy-rc.d"
chmod 755 "$dir/usr/sbin/policy-rc.d"
# sid's (and testing's) Release carries a Valid-Until a week ahead; a
# mirror that is a snapshot (CI's) serves one that has passed, and apt
# would refuse it.  The signature is still checked; this root only runs
# certbot for the selftests.
echo 'Acquire::Check-Valid-Until "false";' > "$dir/etc/apt/apt.conf.d/99alpnsteer-valid-until"
chroot "$dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
	sh -c 'apt-get update -q && apt-get install -y -q --no-install-recommends \
		certbot python3-certbot-nginx python3-certbot-apache nginx-light apache2 &&
		apt-get clean'
chroot "$dir" /usr/bin/certbot --version 2>&1 | tee "$dir/.alpnsteer-certbot-root"
