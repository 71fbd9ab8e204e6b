#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Install everything alpnsteer builds, tests and demos with, from Debian.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "Error: run as root (apt-get)" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
	make gcc clang llvm libc6-dev pkg-config \
	libbpf-dev bpftool libelf-dev zlib1g-dev \
	libssl-dev openssl libnl-3-dev libnl-route-3-dev libnl-idiag-3-dev \
	libseccomp-dev \
	libclang-rt-14-dev \
	nginx-light curl python3 python3-cryptography xxd iproute2 ethtool kmod procps util-linux \
	ca-certificates \
	pebble lego dehydrated uacme systemd \
	wrk haproxy sslh libnginx-mod-stream gnuplot-nox strace \
	apache2 lighttpd lighttpd-mod-openssl caddy \
	qemu-system-x86 busybox-static cpio xz-utils zstd
# pebble (with pebble-challtestsrv), lego, dehydrated and uacme: the local
# ACME CA and the clients of the demo and the selftests/test_acme_*.sh;
# systemd for systemd-analyze verify and security of scripts/systemd/
# (strace also traces the units' commands in selftests/test_acme_units.sh);
# wrk ... strace: make bench, the splitters it compares against and its
# plot; haproxy and the apache2 line: the webservers of
# selftests/test_webservers.sh and the field selftests (ST_WEB in
# selftests/lib.sh), each run with a private config, never as the system
# service (lighttpd's TLS is its own package); the last line: make vmtest
# (scripts/vmtest/: qemu, the initramfs, Debian's .ko.xz).
# bpffs and the cgroup2 mount are set up by alpnsteer itself when missing.
# The daemon gives up root once steering is live and runs as this user.
id -u alpnsteer >/dev/null 2>&1 ||
	useradd --system --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin alpnsteer
