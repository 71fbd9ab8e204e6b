#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# How long steering takes to be live from `challenge add` through
# `alpnsteer agent`, against the same machine's `attach` + `challenge add`
# without an agent, in alternating blocks so that both see the same load;
# and how long after the last remove the agent has detached.  Root, under
# selftests/isolate.sh (make bench-agent):
#   scripts/bench/agent.sh OUTPUT [ROUNDS (3)] [PER_ROUND (5)]
set -u
out=${1:?usage: scripts/bench/agent.sh OUTPUT [ROUNDS] [PER_ROUND]}
ROUNDS=${2:-3} PER=${3:-5}
export ALPNSTEER=$out/alpnsteer
here=$(cd "$(dirname "$0")/../../selftests" && pwd)
. "$here/lib.sh"
st_setup >/dev/null
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
BASE=() AGENT=() DET=()
for r in $(seq 1 "$ROUNDS"); do
	for n in $(seq 1 "$PER"); do
		t0=$(now_ms)
		as attach --holder base >/dev/null && as challenge add b$n.bench.test tok.thumb
		BASE+=($(( $(now_ms) - t0 )))
		as detach --holder base --wait=30 >/dev/null
	done
	st_spawn nsenter --net=/var/run/netns/$ST_SRV "$ALPNSTEER" agent --grace 1s \
		> "$ST_WORK/agent.$r.log" 2>&1
	pid=${ST_PIDS[-1]}
	for i in $(seq 1 50); do [ -S /run/alpnsteer/agent.sock ] && break; sleep 0.1; done
	for n in $(seq 1 "$PER"); do
		t0=$(now_ms)
		as challenge add a$n.bench.test tok.thumb
		AGENT+=($(( $(now_ms) - t0 )))
		t0=$(now_ms)
		as challenge remove a$n.bench.test
		while [ -e /sys/fs/bpf/alpnsteer ]; do sleep 0.01; done
		DET+=($(( $(now_ms) - t0 )))
	done
	kill "$pid"
	wait "$pid" 2>/dev/null
done
b=$(printf '%s\n' "${BASE[@]}" | median)
a=$(printf '%s\n' "${AGENT[@]}" | median)
d=$(printf '%s\n' "${DET[@]}" | median)
echo "attach + challenge add, no agent (ms): ${BASE[*]}"
echo "challenge add through the agent, live (ms): ${AGENT[*]}"
echo "detached after the last remove, grace 1 s (ms): ${DET[*]}"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v a="$a" -v b="$b" -v d="$d" 'BEGIN {
	printf "median: agent %d ms, attach + add %d ms (agent/baseline %.2f); detach %d ms after the last remove (grace 1000 ms)\n", a, b, a / b, d }'
