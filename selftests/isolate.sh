#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# isolate.sh NAME COMMAND...: run COMMAND (as root) with its own bpffs on
# /sys/fs/bpf, its own /run/alpnsteer and netns/veth names prefixed NAME,
# so that it never sees, nor disturbs, the pins, control socket or test
# namespaces of a real attachment or of another test run on the same host.
#
# Only the file-system view is private: the BPF programs attach to the real
# cgroup, where each attachment only catches connections of the network
# namespace it was started in (netns cookie), so runs do not mix.
set -euo pipefail
name=${1:?usage: selftests/isolate.sh NAME COMMAND...}
shift
[ $# -gt 0 ] || { echo "usage: selftests/isolate.sh NAME COMMAND..." >&2; exit 2; }
case $name in
*[!a-z0-9]* | ?????????*)
	echo "Error: NAME must be 1-8 lowercase letters or digits (it prefixes veth names)" >&2
	exit 2
	;;
esac
mkdir -p /run/alpnsteer
export ST_NS=$name
exec unshare --mount --propagation private -- bash -c '
	set -e
	mount -t bpf bpf /sys/fs/bpf -o mode=0700
	mount -t tmpfs -o mode=0755 tmpfs /run/alpnsteer
	exec "$@"' isolate "$@"
