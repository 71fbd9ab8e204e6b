#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The drain's reaper under SYN churn (issue 20, point 2).  The reaper
# releases idle caught sockets so that they cannot hold a detach; as a tcp
# iterator it walked every TCP socket of the namespace, and 6.18 kernels
# without "bpf: tcp: Fix use-after-free in bpf_iter_tcp_established_batch()"
# sock_hold() request sockets there while reqsk_queue_hash_req() still has
# them at refcount 0: "refcount_t: addition on 0; use-after-free".  Here
# new connections churn (a request socket each) while the reaper runs over
# and over (as a drain tick runs it) and detach/attach cycles drain: no
# refcount or WARN line may appear, and the reaper is no iterator.
#
# The server namespace gets its own small established hash
# (net.ipv4.tcp_child_ehash_entries, as containers set it), so that an
# iterator walks it in microseconds and meets a fresh request socket
# often; with the host's shared table (262144 buckets here) the same race
# takes hours (with the tcp iterator, this test logged the warning within
# seconds).  A refcount_t warning is printed once per boot: on a kernel that
# already printed it only the reaper's program type shows the difference.
# One function per test (lib.sh, st_test).
. "$(dirname "$0")/lib.sh"
REAP_S=${REAP_S:-30}
REAP_EHASH=${REAP_EHASH:-128}
EH_NS=$ST_NS-eh

# st_setup's `ip netns add` of the server namespace, made from a namespace
# whose tcp_child_ehash_entries is small (the child inherits the parent's)
ip() {
	if [ "$1 $2 $3" = "netns add $ST_SRV" ]; then
		command ip netns add $EH_NS 2>/dev/null || true
		command ip netns exec $EH_NS sysctl -qw net.ipv4.tcp_child_ehash_entries=$REAP_EHASH
		nsenter --net=/var/run/netns/$EH_NS ip netns add "$3"
		return
	fi
	# st_spawn runs this in a subshell: exec, so that its PID is the
	# process itself (ended by PID), not a shell above it
	[ "$BASHPID" != "$$" ] && exec ip "$@"
	command ip "$@"
}

# reap_loop SECONDS: run the pinned reaper as often as possible, as each
# drain tick does; prints how many runs completed
reap_loop() {
	local end=$((SECONDS + $1)) n=0
	head -c 64 /dev/zero > "$ST_WORK/pkt"
	while [ $SECONDS -lt $end ]; do
		if in_srv bpftool prog run pinned /sys/fs/bpf/alpnsteer/prog_reap \
			data_in "$ST_WORK/pkt" >/dev/null 2>&1; then
			n=$((n + 1))
		else
			sleep 0.01 # detached between two cycles
		fi
	done
	echo $n
}

# reaper_type: the type of the loaded reaper program (bpftool)
reaper_type() {
	bpftool -j prog show pinned /sys/fs/bpf/alpnsteer/prog_reap |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["type"])'
}

test_reap_under_syn_churn() {
	local churn reaps cycles=0 fail=0 t_end
	st_dmesg_mark
	check "attach" as attach --forward 127.0.0.1:8443
	st_defer as detach --all --wait=30
	# no tcp iterator: a program run over the caught sockets only
	expect_eq "the reaper is no iterator" "$(reaper_type)" sched_cls
	st_spawn ip netns exec $ST_CLI python3 "$HERE/synchurn.py" $SRV4 443 $REAP_S \
		> "$ST_WORK/churn4.json"
	st_spawn ip netns exec $ST_CLI python3 "$HERE/synchurn.py" $SRV6 443 $REAP_S \
		> "$ST_WORK/churn6.json"
	reap_loop $REAP_S > "$ST_WORK/reaps.1" &
	ST_PIDS+=($!)
	reap_loop $REAP_S > "$ST_WORK/reaps.2" &
	ST_PIDS+=($!)
	# detach/attach cycles meanwhile: each drain runs the reaper itself
	t_end=$((SECONDS + REAP_S - 3))
	while [ $SECONDS -lt $t_end ]; do
		sleep 1
		as detach --wait=20 >/dev/null || fail=$((fail + 1))
		as attach --forward 127.0.0.1:8443 >/dev/null || fail=$((fail + 1))
		cycles=$((cycles + 1))
	done
	wait "${ST_PIDS[@]: -4}" 2>/dev/null
	churn=$(cat "$ST_WORK/churn4.json")
	reaps=$(($(cat "$ST_WORK/reaps.1") + $(cat "$ST_WORK/reaps.2")))
	echo "# connections (IPv4): $churn, IPv6: $(cat "$ST_WORK/churn6.json")"
	echo "# reaper runs: $reaps, detach/attach cycles: $cycles"
	check "new connections churned" test "$(field "$churn" established)" -gt 1000
	check "the reaper ran over and over" test "$reaps" -gt 50
	expect_eq "every detach and attach succeeded" $fail 0
	check "no refcount or WARN line in the kernel log" st_dmesg_clean
}

st_setup
st_on_exit "st_cleanup; command ip netns del $EH_NS 2>/dev/null"
st_test reap_under_syn_churn test_reap_under_syn_churn
st_summary
