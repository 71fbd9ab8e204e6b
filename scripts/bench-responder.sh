#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Benchmark of the built-in responder (root): validation handshakes through
# the real kernel path (TLS 1.3, P-256), for the new binary and, with
# BASELINE=, an older one in the same run (same namespaces, same nginx).
# For each binary:
#  - for each number of concurrent clients in CLIENTS (one handshake at a
#    time each, for DURATION seconds): handshakes per second of wall time,
#    per CPU second of the daemon's processes (the monitor and its TLS
#    worker together), and the p50/p99 latency of a handshake as its
#    client sees it (connect to the handshake's end);
#  - memory under that load, the monitor and worker together: the peak of
#    their summed PSS (each shared page counted once; sampled every
#    200 ms) and the sum of their VmRSS peaks (VmHWM, reset through
#    /proc/PID/clear_refs just before the load: the pages they share are
#    counted twice); and the sum of VmHWM over their whole life (the
#    monitor's includes the load of the programs, as root);
#  - a burst, as a CA validates a many-name order from several
#    perspectives: BURST_NAMES pending names, each dialed once from each
#    of 12 source addresses in distinct /24s and /48s (IPv4 and IPv6
#    mixed), every dial started within BURST_SPREAD_MS; each checked as a
#    CA does; all must be answered; the time from the first start to the
#    last answer.  A fresh attachment with the default pool; --per-source
#    0, since each source network validates every name at once here (20 >
#    the default cap of 8: see docs/design.md, "The responder pool").
# Prints one JSON line per measurement, then a Markdown table with the
# ratios new/baseline.  RESULTS=FILE keeps the JSON lines.
#
# BASELINE: an alpnsteer binary, or a git revision of this tree, which is
# then built in a temporary worktree (kept as /tmp/alpnsteer-baseline-SHA).
# The single daemon from before the privilege split is d7d487f (main just
# before the merge of 'privsep'): BASELINE=d7d487f.
#   scripts/bench-responder.sh [BUILD_DIR]
#     DURATION=5 CLIENTS="1 2 8 32" BASELINE= BURST_NAMES=20
#     BURST_SPREAD_MS=100 BURST=1 RESULTS=
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
NEW=$(cd "${1:-$here/../build}" && pwd)/alpnsteer
export ALPNSTEER=$NEW
DURATION=${DURATION:-5}
CLIENTS=${CLIENTS:-1 2 8 32}
BASELINE=${BASELINE:-}
BURST=${BURST:-1}
BURST_NAMES=${BURST_NAMES:-20}
BURST_SPREAD_MS=${BURST_SPREAD_MS:-100}
RESULTS=${RESULTS:-}

# A revision: built out of tree once, with this machine's toolchain.
if [ -n "$BASELINE" ] && [ ! -x "$BASELINE" ]; then
	sha=$(git -C "$here/.." rev-parse --verify "$BASELINE^{commit}") ||
		{ echo "Error: BASELINE=$BASELINE is neither a binary nor a revision" >&2; exit 2; }
	bin=/tmp/alpnsteer-baseline-$sha
	if [ ! -x "$bin" ]; then
		wt=$(mktemp -d /tmp/alpnsteer-baseline-wt.XXXXXX)
		git -C "$here/.." worktree add -q --detach "$wt" "$sha"
		echo "# building the baseline $sha in $wt" >&2
		if ! make -C "$wt" -j2 >"$wt.log" 2>&1; then
			echo "Error: the baseline $sha does not build here (see $wt.log)" >&2
			exit 1
		fi
		cp "$wt/build/alpnsteer" "$bin"
		git -C "$here/.." worktree remove --force "$wt"
	fi
	BASELINE=$bin
fi

. "$here/../selftests/lib.sh"
st_setup
clk=$(getconf CLK_TCK)
# One client address makes every handshake of the run, some 1,000 a
# second: its closed connections wait 60 s in TIME_WAIT, and after ~28,000
# of them (the default port range) connect() fails with EADDRNOTAVAIL,
# counted as failed handshakes of whichever binary runs then.  Reuse them
# (timestamps prove the new connection is new) and widen the range.
ip netns exec $ST_CLI sysctl -qw net.ipv4.tcp_tw_reuse=1 \
	net.ipv4.ip_local_port_range="1024 65535"
# The burst's perspectives: 6 IPv4 /24s and 6 IPv6 /48s of the client.
SRC4=$(for i in 17 18 19 20 21 22; do echo 198.18.$i.2; done)
SRC6=$(for i in 1 2 3 4 5 6; do echo fd00:b1:$i::2; done)
for a in $SRC4; do ip -n $ST_CLI addr add $a/32 dev $ST_V1; done
for a in $SRC6; do ip -n $ST_CLI addr add $a/128 dev $ST_V1 nodad; done
ip -n $ST_SRV route add 198.18.16.0/20 dev $ST_V0
ip -n $ST_SRV -6 route add fd00:b1::/32 dev $ST_V0
SOURCES=$(paste -d' ' <(echo "$SRC4") <(echo "$SRC6") | tr ' \n' ',,' | sed 's/,$//')

# The daemon (the monitor) and its children (the TLS worker, none before
# privilege separation).
procs_of() { echo "$1"; pgrep -P "$1" || true; }
cpu_of() { awk '{s += $14 + $15} END {print s + 0}' $(for p in "$@"; do echo /proc/$p/stat; done); }
hwm_of() { local p; for p in "$@"; do awk '/^VmHWM:/ {print $2}' /proc/$p/status; done | paste -sd' '; }
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
emit() { echo "$1"; [ -z "$RESULTS" ] || echo "$1" >> "$RESULTS"; }

# measure LABEL BINARY: JSON lines (one per CLIENTS, memory, burst)
measure() {
	local label=$1 names=() pid ps c0 c1 out hwm0 hwm life i c sampler pss
	ALPNSTEER=$2
	# --per-source 0: one client address plays every CA network here (the
	# cap is test_harden's business; a flood from one /24 is what it stops).
	as attach --pool 64 --per-source 0 >/dev/null
	for i in 1 2 3 4 5; do
		"$ALPNSTEER" challenge add bench$i.test "bench-keyauth-$i"
		names+=(bench$i.test)
	done
	pid=$(status_field 'd["pid"]')
	sleep 0.3
	ps=$(procs_of $pid)
	hwm0=$(hwm_of $ps)
	for i in $ps; do echo 5 > /proc/$i/clear_refs; done
	pss_peak "$ST_WORK/pss.$label" $ps &
	sampler=$!
	for c in $CLIENTS; do
		c0=$(cpu_of $ps)
		out=$(in_cli python3 "$here/bench_handshakes.py" $SRV4 "$DURATION" "$c" "${names[@]}")
		c1=$(cpu_of $ps)
		emit "$(python3 - "$label" "$c" "$out" "$c0" "$c1" "$clk" <<'PY'
import json, sys
label, c, r = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
cpu = (float(sys.argv[5]) - float(sys.argv[4])) / float(sys.argv[6])
print(json.dumps({'binary': label, 'clients': c,
    'handshakes': r['handshakes'], 'failures': r['failures'],
    'wall_per_second': round(r['handshakes'] / r['seconds'], 1),
    'p50_ms': r['p50_ms'], 'p99_ms': r['p99_ms'],
    'daemon_cpu_seconds': round(cpu, 2),
    'per_daemon_cpu_second': round(r['handshakes'] / cpu, 1) if cpu else None}))
PY
)"
	done
	kill $sampler
	wait $sampler 2>/dev/null || true
	pss=$(cat "$ST_WORK/pss.$label" 2>/dev/null || echo 0)
	hwm=$(hwm_of $ps)
	life=$(paste -d' ' <(echo $hwm0 | tr ' ' '\n') <(echo $hwm | tr ' ' '\n') | awk '{print ($1 > $2 ? $1 : $2)}' | paste -sd' ')
	emit "$(python3 - "$label" "$hwm" "$life" "$pss" "$(counter steered)" <<'PY'
import json, sys
hwm = [int(x) for x in sys.argv[2].split()]
life = [int(x) for x in sys.argv[3].split()]
print(json.dumps({'binary': sys.argv[1], 'processes': len(hwm),
    'peak_rss_mib_each': [round(h / 1024, 2) for h in hwm],
    'peak_rss_mib': round(sum(hwm) / 1024, 2),
    'peak_pss_mib': round(int(sys.argv[4]) / 1024, 2),
    'lifetime_peak_rss_mib': round(sum(life) / 1024, 2),
    'steered': int(sys.argv[5])}))
PY
)"
	# Steered connections end when nginx closes its idle fds for them.
	as detach --wait=60 >/dev/null || echo "# detach: still draining after 60 s" >&2
	[ "$BURST" = 1 ] || return 0
	as attach --per-source 0 >/dev/null
	names=()
	for i in $(seq -w 1 "$BURST_NAMES"); do
		"$ALPNSTEER" challenge add burst$i.test "ka-burst$i.test"
		names+=(burst$i.test)
	done
	sleep 0.3
	out=$(in_cli python3 "$here/bench_burst.py" $SRV4 $SRV6 ka- "$BURST_SPREAD_MS" "$SOURCES" "${names[@]}")
	emit "$(python3 - "$label" "$out" "$(counter no_slot)" "$(status_field 'd["pool"]["size"]')" <<'PY'
import json, sys
r = json.loads(sys.argv[2])
r = dict({'binary': sys.argv[1], 'burst': True}, **r)
r['no_slot'], r['pool_size_after'] = int(sys.argv[3]), int(sys.argv[4])
print(json.dumps(r))
PY
)"
	as detach --wait=60 >/dev/null || echo "# detach: still draining after 60 s" >&2
}

[ -z "$RESULTS" ] || : > "$RESULTS"
all=$( { [ -z "$BASELINE" ] || measure baseline "$BASELINE"; measure new "$NEW"; } | tee /dev/stderr)
echo "# $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg), DURATION=$DURATION"
python3 - <<PY
import json
rows = [json.loads(l) for l in '''$all'''.splitlines() if l.startswith('{')]
bins = [b for b in ('baseline', 'new') if any(r['binary'] == b for r in rows)]
get = lambda b, **k: next((r for r in rows if r['binary'] == b and all(r.get(x) == v for x, v in k.items())), None)
f = lambda v, d=1: '-' if v is None else ('%.*f' % (d, v))
print('| clients | ' + ' | '.join('%s /s, p50/p99 ms' % b for b in bins) + (' | wall ratio new/baseline |' if len(bins) == 2 else ' |'))
print('|---' * (len(bins) + 1 + (len(bins) == 2)) + '|')
for c in sorted({r['clients'] for r in rows if 'clients' in r}):
    cells = []
    for b in bins:
        r = get(b, clients=c)
        cells.append('-' if not r else '%s, %s/%s%s' % (f(r['wall_per_second']), f(r['p50_ms'], 2), f(r['p99_ms'], 2),
                     ' (%d failed)' % r['failures'] if r['failures'] else ''))
    if len(bins) == 2:
        a, n = get('baseline', clients=c), get('new', clients=c)
        cells.append(f(n['wall_per_second'] / a['wall_per_second'], 2) if a and n and a['wall_per_second'] else '-')
    print('| %d | %s |' % (c, ' | '.join(cells)))
for b in bins:
    m = next((r for r in rows if r['binary'] == b and 'peak_pss_mib' in r), None)
    if m:
        print('| memory under load, %s | PSS %.1f MiB, sum of VmRSS peaks %.1f MiB (%s) |' % (
            b, m['peak_pss_mib'], m['peak_rss_mib'], ' + '.join('%.1f' % x for x in m['peak_rss_mib_each'])))
    u = next((r for r in rows if r['binary'] == b and r.get('burst')), None)
    if u:
        late = u['start_spread_ms'] > $BURST_SPREAD_MS * 1.5
        print('| burst, %s | %d of %d answered, last answer %s ms after the first start (starts over %s ms%s), p50/p99 %s/%s ms, no_slot %d |' % (
            b, u['answered'], u['dials'], f(u['last_answer_ms']), f(u['start_spread_ms']),
            ': the clients could not start in time, too busy a machine' if late else '',
            f(u['p50_ms']), f(u['p99_ms']), u['no_slot']))
PY
