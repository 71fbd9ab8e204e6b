#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Install everything alpnsteer builds, tests and demos with, from Debian.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "Error: run as root (apt-get)" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
	make gcc clang llvm libc6-dev pkg-config clang-format \
	libbpf-dev bpftool libelf-dev zlib1g-dev libseccomp-dev \
	debhelper dpkg-dev fakeroot lintian \
	libssl-dev openssl libnl-3-dev libnl-route-3-dev libnl-idiag-3-dev \
	libcurl4-openssl-dev libjson-c-dev etcd-server etcd-client \
	libsystemd-dev dbus-daemon python3-dbus python3-gi \
	libclang-rt-14-dev \
	nginx-light curl python3 python3-cryptography xxd iproute2 ethtool kmod procps util-linux \
	ca-certificates \
	pebble lego dehydrated uacme systemd \
	certbot python3-certbot-nginx python3-certbot-apache dh-python debootstrap \
	wrk haproxy sslh libnginx-mod-stream gnuplot-nox strace apache2-utils linux-perf \
	apache2 lighttpd lighttpd-mod-openssl caddy \
	qemu-system-x86 busybox-static cpio xz-utils zstd \
	bash-completion groff-base \
	prometheus
# debhelper ... lintian: make deb and selftests/test_package.sh (libseccomp-dev
# for the worker's seccomp filter, a build dependency of the package too);
# pebble (with pebble-challtestsrv), lego, dehydrated and uacme: the local
# ACME CA and the clients of the demo and the selftests/test_acme_*.sh;
# certbot and its nginx and Apache installers: selftests/test_acme_certbot.sh
# and tests/test_certbot_plugin.sh (certbot/, the alpnsteer authenticator);
# dh-python: dh_python3 for the package python3-certbot-alpnsteer;
# debootstrap: scripts/certbot-root.sh, trixie's certbot for that test;
# systemd for systemd-analyze verify and security of scripts/systemd/
# (strace also traces the units' commands in selftests/test_acme_units.sh);
# wrk ... linux-perf: make bench, the splitters it compares against, its
# plot, the fixed-count load of the CPU benchmark (ab, scripts/bench/cpu.sh)
# and its PERF=1 profile; haproxy and the apache2 line: the webservers of
# selftests/test_webservers.sh and the field selftests (ST_WEB in
# selftests/lib.sh), each run with a private config, never as the system
# service (lighttpd's TLS is its own package); the last line: make vmtest
# (scripts/vmtest/: qemu, the initramfs, Debian's .ko.xz); bash-completion
# and groff-base: tests/test_docs.sh runs the completion and renders
# alpnsteer(8) with warnings on.
# prometheus: its promtool checks the --metrics-file exposition in
# selftests/test_trace.sh (the server itself is never started there).
# libsystemd-dev: sd-bus, with which the keeper asks systemd for a
# transient scope of its own (user/lifecycle/keeper_scope.c); dbus-daemon,
# python3-dbus and python3-gi: selftests/test_keeper_scope.sh plays
# systemd's manager on a private bus where systemd is not PID 1.
# libcurl and json-c: the agent's etcd store (user/agent/store_etcd.c); etcd-server
# and etcd-client: selftests/test_fleet.sh starts its own etcd in a network
# namespace, so the packaged etcd.service, which Debian starts on
# 127.0.0.1:2379 at install, is not needed: stopped and disabled.
systemctl disable --now etcd.service >/dev/null 2>&1 || true
# bpffs and the cgroup2 mount are set up by alpnsteer itself when missing.
# The daemon gives up root once steering is live and runs as this user,
# declared where the package and `make install-user` find it too.
# (systemd-sysusers looks a relative name up in its own directories)
systemd-sysusers "$(cd "$(dirname "$0")" && pwd)/sysusers.d/alpnsteer.conf"
