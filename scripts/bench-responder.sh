#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Benchmark of the built-in responder (root): validation handshakes through
# the real kernel path, as many as the clients can make for DURATION
# seconds; reports handshakes per second of wall time, handshakes per CPU
# second of the daemon (what one core sustains), and the daemon's peak RSS.
#   scripts/bench-responder.sh [OUTPUT]     (DURATION=15 PROCS=2)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export ALPNSTEER=${1:-$here/../build}/alpnsteer
DURATION=${DURATION:-15}
PROCS=${PROCS:-2}
. "$here/../selftests/lib.sh"
st_setup
as attach --pool 64 >/dev/null
names=()
for i in 1 2 3 4 5; do
	"$ALPNSTEER" challenge add bench$i.test "bench-keyauth-$i"
	names+=(bench$i.test)
done
pid=$(status_field 'd["pid"]')
clk=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' /proc/$pid/stat; }
c0=$(cpu)
out=$(ip netns exec $ST_CLI python3 "$here/bench_handshakes.py" $SRV4 "$DURATION" "$PROCS" "${names[@]}")
c1=$(cpu)
hwm=$(awk '/^VmHWM:/ {print $2}' /proc/$pid/status)
steered=$(counter steered)
held=$(status_field 'd["conns_held"]')
# Steered connections end when nginx closes its idle fds for them.
as detach --wait=60 >/dev/null || echo "# detach: still draining after 60 s" >&2
python3 - "$out" "$c0" "$c1" "$clk" "$hwm" "$steered" "$held" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
c0, c1, clk, hwm, steered, held = (float(x) for x in sys.argv[2:])
cpu = (c1 - c0) / clk
print(json.dumps({
    'handshakes': r['handshakes'], 'failures': r['failures'],
    'steered': int(steered), 'conns_held_at_end': int(held),
    'wall_per_second': round(r['handshakes'] / r['seconds'], 1),
    'daemon_cpu_seconds': round(cpu, 2),
    'per_daemon_cpu_second': round(r['handshakes'] / cpu, 1) if cpu else None,
    'daemon_peak_rss_mib': round(hwm / 1024, 2)}))
PY
