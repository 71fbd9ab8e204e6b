#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Benchmark of the built-in responder (root): validation handshakes through
# the real kernel path, as many as the clients can make for DURATION
# seconds; reports handshakes per second of wall time, handshakes per CPU
# second of the daemon's processes (the monitor and its TLS worker
# together: what one core sustains), and their peak RSS (the sum of their
# VmHWM): over their whole life (the monitor's includes the load of the
# programs, as root, before the worker exists) and under the validation
# load alone (VmHWM reset through /proc/PID/clear_refs just before it),
# and the peak of their summed PSS under the load (each shared page once).
# With BASELINE=/path/to/an/older/alpnsteer, that binary is
# measured first in the same run (same namespaces, same nginx), and the
# ratios new/baseline are printed too.
#   scripts/bench-responder.sh [OUTPUT]     (DURATION=15 PROCS=2 BASELINE=)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
NEW=${1:-$here/../build}/alpnsteer
export ALPNSTEER=$NEW
DURATION=${DURATION:-15}
PROCS=${PROCS:-2}
BASELINE=${BASELINE:-}
. "$here/../selftests/lib.sh"
st_setup
clk=$(getconf CLK_TCK)
# The daemon (the monitor) and its children (the TLS worker, none before
# privilege separation).
procs_of() { echo "$1"; pgrep -P "$1" || true; }
cpu_of() { awk '{s += $14 + $15} END {print s + 0}' $(for p in "$@"; do echo /proc/$p/stat; done); }
cpu_each() { local p; for p in "$@"; do awk '{print $14 + $15}' /proc/$p/stat; done | paste -sd' '; }
hwm_of() { local p; for p in "$@"; do awk '/^VmHWM:/ {print $2}' /proc/$p/status; done | paste -sd' '; }
# The processes' proportional set size together (kB): what they cost in
# memory, each shared page counted once in all, where the sum of RSS counts
# the pages the worker shares with the monitor since the fork twice.
pss_of() { cat $(for p in "$@"; do echo /proc/$p/smaps_rollup; done) 2>/dev/null | awk '/^Pss:/ {s += $2} END {print s + 0}'; }
# pss_peak FILE PID...: sample pss_of every 200 ms into FILE's max, until killed
pss_peak() {
	local f=$1 max=0 v
	shift
	while :; do
		v=$(pss_of "$@")
		[ "$v" -gt "$max" ] && max=$v && echo $max > "$f"
		sleep 0.2
	done
}

# measure LABEL BINARY: one JSON line
measure() {
	local label=$1 names=() pid ps c0 c1 e0 e1 out hwm hwm_life steered held i sampler pss
	ALPNSTEER=$2
	# --per-source 0: one client address plays every CA network here (the
	# cap is test_harden's business; a flood from one /24 is what it stops).
	as attach --pool 64 --per-source 0 >/dev/null
	for i in 1 2 3 4 5; do
		"$ALPNSTEER" challenge add bench$i.test "bench-keyauth-$i"
		names+=(bench$i.test)
	done
	pid=$(status_field 'd["pid"]')
	sleep 0.2
	ps=$(procs_of $pid)
	hwm_life=$(hwm_of $ps)
	for i in $ps; do echo 5 > /proc/$i/clear_refs; done
	c0=$(cpu_of $ps)
	e0=$(cpu_each $ps)
	pss_peak "$ST_WORK/pss.$label" $ps &
	sampler=$!
	out=$(ip netns exec $ST_CLI python3 "$here/bench_handshakes.py" $SRV4 "$DURATION" "$PROCS" "${names[@]}")
	kill $sampler
	wait $sampler 2>/dev/null || true
	pss=$(cat "$ST_WORK/pss.$label" 2>/dev/null || echo 0)
	c1=$(cpu_of $ps)
	e1=$(cpu_each $ps)
	hwm=$(hwm_of $ps)
	hwm_life=$(paste -d' ' <(echo $hwm_life | tr ' ' '\n') <(echo $hwm | tr ' ' '\n') | awk '{print ($1 > $2 ? $1 : $2)}' | paste -sd' ')
	steered=$(counter steered)
	held=$(status_field 'd["conns_held"]')
	# Steered connections end when nginx closes its idle fds for them.
	as detach --wait=60 >/dev/null || echo "# detach: still draining after 60 s" >&2
	python3 - "$label" "$out" "$c0" "$c1" "$clk" "$hwm" "$steered" "$held" "$(echo $ps | wc -w)" "$hwm_life" "$e0" "$e1" "$pss" <<'PY'
import json, sys
label, r = sys.argv[1], json.loads(sys.argv[2])
c0, c1, clk = (float(x) for x in sys.argv[3:6])
hwm = [int(x) for x in sys.argv[6].split()]
steered, held, nproc = (int(x) for x in sys.argv[7:10])
life = [int(x) for x in sys.argv[10].split()]
each = [(float(b) - float(a)) / clk for a, b in zip(sys.argv[11].split(), sys.argv[12].split())]
cpu = (c1 - c0) / clk
print(json.dumps({
    'binary': label, 'processes': nproc,
    'handshakes': r['handshakes'], 'failures': r['failures'],
    'steered': steered, 'conns_held_at_end': held,
    'wall_per_second': round(r['handshakes'] / r['seconds'], 1),
    'daemon_cpu_seconds': round(cpu, 2),
    'cpu_seconds_each': [round(x, 2) for x in each],
    'per_daemon_cpu_second': round(r['handshakes'] / cpu, 1) if cpu else None,
    'peak_rss_mib_each': [round(h / 1024, 2) for h in hwm],
    'peak_rss_mib': round(sum(hwm) / 1024, 2),
    'lifetime_peak_rss_mib_each': [round(h / 1024, 2) for h in life],
    'lifetime_peak_rss_mib': round(sum(life) / 1024, 2),
    'peak_pss_mib': round(int(sys.argv[13]) / 1024, 2)}))
PY
}

base=
[ -n "$BASELINE" ] && base=$(measure baseline "$BASELINE") && echo "$base"
new=$(measure new "$NEW")
echo "$new"
if [ -n "$base" ]; then
	python3 - "$base" "$new" <<'PY'
import json, sys
b, n = json.loads(sys.argv[1]), json.loads(sys.argv[2])
ratio = lambda k: round(n[k] / b[k], 3) if b.get(k) else None
print(json.dumps({'ratio_new_to_baseline': {k: ratio(k) for k in
      ('wall_per_second', 'per_daemon_cpu_second', 'peak_rss_mib',
       'lifetime_peak_rss_mib', 'peak_pss_mib')}}))
PY
fi
