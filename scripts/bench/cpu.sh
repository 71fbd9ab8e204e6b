#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# cpu.sh OUTPUT: the CPU that alpnsteer adds to each new connection, as
# CPU time for a fixed amount of work, not as throughput: on a shared
# 2-core VM a throughput benchmark cannot resolve a few microseconds per
# connection (detached, which is direct's code, spread 72-133 % of direct
# on new connections in bench.sh), while CPU time for a fixed number of
# connections does not depend on how fast the machine let them run.
# Root; run it through selftests/isolate.sh (make bench-cpu does).
#
# Work: ab (apache2-utils) makes PLAIN_N plain HTTP/1.0 requests, one
# connection each, to nginx on 198.18.4.21:443, then TLS_N TLS 1.3 GETs
# (ECDSA P-256, no session reuse: one full handshake each) on
# 198.18.4.1:443; both addresses are on the steered port.  ab is one
# single-threaded process whose work per connection is the same in every
# configuration, so its own cost cancels in the paired difference.
#
# Configurations direct, attached, detached (common.sh), REPS repetitions,
# the order rotated each time, each load warmed up (unmeasured) after the
# configuration changed.  Counted for each block of work: the whole
# machine's busy time (/proc/stat: user, nice, system, irq, softirq, in
# clock ticks), nginx's cgroup and ab's cgroup (cpu.stat usage_usec; with
# IRQ time accounting off, as in this kernel, softirq work is charged to
# the task it interrupts: on a veth most of the server's receive path runs
# in ab's context, so the two cgroups are counted together too), and the
# kernel threads' run time (/proc/PID/schedstat of kthreadd's children:
# the psock's teardown runs in a kworker, and softirqs deferred to
# ksoftirqd).  Added CPU per connection: attached (or detached) minus
# direct of the same repetition.
#
# A twin nginx, the same configuration on 198.18.4.31 (TLS) and .32
# (plain), runs in a cgroup of its own that is never attached.  In every
# configuration the work is done in four blocks of half the count, nginx,
# twin, twin, nginx, and nginx - twin is a second, tighter pairing (within
# seconds, same machine state); in direct and detached it is the
# benchmark's own null (A/A) difference.
#
# BASELINE=/path/to/an/older/alpnsteer adds a configuration
# attached-baseline: the same attach made with that binary (its own BPF
# object), interleaved with the others in every repetition, so that a
# change is measured before and after in one run, under the same machine
# state: the report pairs attached - attached-baseline of the same
# repetition as it pairs each with direct.
#
# Then one attached run of each load with kernel.bpf_stats_enabled=1 (BPF
# time and runs per connection; with BASELINE, one with each binary), and
# with PERF=1 a `perf record -a -g` of
# a direct and an attached plain run (PERF_N connections) for the profile.
set -u
OUT=${1:?usage: scripts/bench/cpu.sh OUTPUT}
OUT=$(cd "$OUT" && pwd)
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$BENCH/../.." && pwd)
export ALPNSTEER=$OUT/alpnsteer
. "$TOP/selftests/lib.sh"
. "$BENCH/common.sh"

REPS=${REPS:-5}
PLAIN_N=${PLAIN_N:-20000}  # plain HTTP connections per run
TLS_N=${TLS_N:-2000}       # TLS connections per run
CONC=${CONC:-4}            # ab's concurrency
BASELINE=${BASELINE:-}     # an older alpnsteer: adds attached-baseline
if [ -n "$BASELINE" ]; then
	BASELINE=$(realpath "$BASELINE") && [ -x "$BASELINE" ] || {
		echo "Error: BASELINE is not an executable alpnsteer binary" >&2
		exit 1
	}
	CONFIGS=${CONFIGS:-"direct attached attached-baseline detached"}
else
	CONFIGS=${CONFIGS:-"direct attached detached"}
fi
LOADS=${LOADS:-"plain tls"}
PERF=${PERF:-0}            # 1: also a perf profile of direct and attached
PERF_N=${PERF_N:-30000}    # plain connections per profiled run
RES=$OUT/bench
JSONL=$RES/cpu-results.jsonl
PY=/usr/bin/python3
[ -x $PY ] || PY=python3

if [ "$(id -u)" != 0 ]; then
	echo "Error: the benchmark creates namespaces and loads BPF: run it as root" >&2
	exit 1
fi
for t in ab bpftool nginx; do
	command -v $t >/dev/null || {
		echo "Error: $t is missing (scripts/install-deps.sh)" >&2
		exit 1
	}
done
if [ "$PERF" = 1 ] && ! command -v perf >/dev/null; then
	echo "Error: PERF=1 needs perf (linux-perf, scripts/install-deps.sh)" >&2
	exit 1
fi

mkdir -p "$RES/raw"
: > "$JSONL"
declare -A ADDR=([direct]=198.18.4.1 [attached]=198.18.4.1 [detached]=198.18.4.1
	[attached-baseline]=198.18.4.1)
declare -A URL=([plain]=http://198.18.4.21:443/ [tls]=https://198.18.4.1:443/
	[twin-plain]=http://198.18.4.32:443/ [twin-tls]=https://198.18.4.31:443/)
declare -A NREQ=([plain]=$PLAIN_N [tls]=$TLS_N)

cpu_setup() {
	local w
	st_setup || return 1
	w=$ST_WORK
	kill "${ST_PIDS[0]}" 2>/dev/null
	wait "${ST_PIDS[0]}" 2>/dev/null
	for i in 21 31 32; do
		ip -n $ST_SRV addr add 198.18.4.$i/24 dev $ST_V0
	done
	bench_cert "$w"
	sed "s|@WORK@|$w|g; s|@NAME@|web|; s|@TLS@|198.18.4.1|; s|@PLAIN@|198.18.4.21|" \
		"$BENCH/cpu-nginx.conf.in" > "$w/cpu-nginx.conf"
	sed "s|@WORK@|$w|g; s|@NAME@|twin|; s|@TLS@|198.18.4.31|; s|@PLAIN@|198.18.4.32|" \
		"$BENCH/cpu-nginx.conf.in" > "$w/cpu-twin.conf"
	# nginx and ab each in a cgroup of their own: their CPU time is
	# counted apart from the rest of the machine, and alpnsteer is
	# attached to nginx's only (--cgroup), as bench.sh does.
	BENCH_CG=$(bench_cgroup $ST_NS-web) || return 1
	CLI_CG=$(bench_cgroup $ST_NS-abcli) || return 1
	TWIN_CG=$(bench_cgroup $ST_NS-twin) || return 1
	trap 'st_cleanup; rmdir "$BENCH_CG" "$CLI_CG" "$TWIN_CG" 2>/dev/null
		bpf_stats_restore' EXIT
	st_spawn bash -c 'echo $$ > "$1/cgroup.procs" &&
		exec nsenter --net=/var/run/netns/"$2" nginx -c "$3"' bench \
		"$BENCH_CG" "$ST_SRV" "$w/cpu-nginx.conf"
	st_spawn bash -c 'echo $$ > "$1/cgroup.procs" &&
		exec nsenter --net=/var/run/netns/"$2" nginx -c "$3"' bench \
		"$TWIN_CG" "$ST_SRV" "$w/cpu-twin.conf"
	wait_port 198.18.4.1 443 && wait_port 198.18.4.21 443 &&
		wait_port 198.18.4.31 443 && wait_port 198.18.4.32 443
}

# run_ab LOAD N NAME [twin]: N connections of LOAD from ab in its cgroup,
# to nginx or to its twin; raw output to RES/raw/NAME.txt
run_ab() {
	local tls= u=${URL[${4:+$4-}$1]}
	[ "$1" = tls ] && tls="-f TLS1.3"
	bash -c 'echo $$ > "$1/cgroup.procs" && shift &&
		exec nsenter --net=/var/run/netns/"$1" "${@:2}"' ab \
		"$CLI_CG" "$ST_CLI" ab -q -S -r -n "$2" -c "$CONC" $tls "$u" \
		> "$RES/raw/$3.txt" 2>&1
}

# snap CGROUP: wall ns, machine busy ticks (user nice system irq softirq),
# idle ticks, steal ticks, the webserver's (CGROUP) and ab's cgroup usec,
# kernel threads' ns
snap() {
	local k
	k=$(cat /proc/2/schedstat $(pgrep -P 2 | sed 's|.*|/proc/&/schedstat|') \
		2>/dev/null | awk '{ s += $1 } END { printf "%.0f", s }')
	echo "$(date +%s%N)" \
		"$(awk '/^cpu / { printf "%.0f %.0f %.0f", $2 + $3 + $4 + $7 + $8, $5 + $6, $9 }' /proc/stat)" \
		"$(awk '/^usage_usec/ { print $2 }' "$1/cpu.stat")" \
		"$(awk '/^usage_usec/ { print $2 }' "$CLI_CG/cpu.stat")" "$k"
}

# measure CONFIG REP LOAD: four blocks, nginx twin twin nginx, of half
# the count each; one JSON line per block into JSONL
measure() {
	local c=$1 rep=$2 load=$3 s0 s1 tag nprog b=0 who cg n=$((${NREQ[$3]} / 2))
	# sock_ops programs that run for nginx's sockets: ours when attached,
	# and any other attachment's on an ancestor cgroup (alpnsteer's
	# default --cgroup is the root), which adds to every configuration.
	nprog=$(bpftool cgroup show "$BENCH_CG" effective 2>/dev/null | grep -c sock_ops)
	for who in nginx twin twin nginx; do
		b=$((b + 1))
		tag=cpu-$load-$c-r$rep-b$b
		cg=$BENCH_CG
		[ $who = twin ] && cg=$TWIN_CG
		s0=$(snap "$cg")
		run_ab "$load" $n "$tag" ${who#nginx}
		# the psock's teardown is an RCU work item: let it run inside
		# the measured interval
		sleep 0.3
		s1=$(snap "$cg")
		$PY "$BENCH/benchlib.py" cpurun "$RES/raw/$tag.txt" "$c" "$rep" "$load" \
			$n "$HZ" "$s0" "$s1" "$nprog" $who $b >> "$JSONL"
	done
	tail -n1 "$JSONL" >&2
}

# with_binary CONFIG COMMAND...: COMMAND with ALPNSTEER naming the binary
# CONFIG attaches (as, attach_fwd, detach_wait and kstat all run it)
with_binary() {
	local c=$1
	shift
	if [ "$c" = attached-baseline ]; then
		ALPNSTEER=$BASELINE "$@"
	else
		"$@"
	fi
}

cfg_up() {
	if [ "$1" = attached-baseline ]; then
		with_binary "$1" config_up attached
	else
		config_up "$1"
	fi
}

cfg_down() {
	if [ "$1" = attached-baseline ]; then
		with_binary "$1" config_down attached
	else
		config_down "$1"
	fi
}

one() {
	local c=$1 rep=$2 load
	if cfg_up "$c" && verify "$c"; then
		for load in $LOADS; do
			# Unmeasured, first: an attach or detach (the verifier,
			# the JIT, the daemon's start and exit) leaves the caches
			# cold, which cost the first run after it 10-15 us per
			# plain connection in trials, more than the effect.
			run_ab "$load" $((${NREQ[$load]} / 10)) cpu-warm-$load
			run_ab "$load" $((${NREQ[$load]} / 10)) cpu-warm-$load twin
			measure "$c" "$rep" "$load"
		done
	else
		log "$c rep $rep: not verified, not measured"
		echo "{\"config\": \"$c\", \"rep\": $rep, \"verified\": false}" >> "$JSONL"
	fi
	cfg_down "$c"
}

# One attached run of each load with kernel.bpf_stats_enabled=1: BPF run
# time and runs per connection (a separate run: the statistics' own clock
# reads would add to the measured CPU).  With BASELINE the same with the
# older binary, cpu-kstat-baseline-LOAD, the two alternating by load.
bpf_side() {
	local load c pre
	bpf_stats_on
	for load in $LOADS; do
		for c in attached ${BASELINE:+attached-baseline}; do
			pre=cpu-kstat
			[ $c = attached-baseline ] && pre=cpu-kstat-baseline
			with_binary $c attach_fwd || {
				log "$c: attach for the BPF-stats run failed"
				continue
			}
			run_ab "$load" $((${NREQ[$load]} / 10)) cpu-warm-$load
			with_binary $c kstat $pre-$load run_ab "$load" \
				"${NREQ[$load]}" $pre-$load
			with_binary $c detach_wait
		done
	done
	bpf_stats_restore
}

# PERF=1: `perf record -a -g` (cpu-clock, one sample per 100 us of CPU)
# during PERF_N plain connections, direct and attached; benchlib.py
# perfattr sorts the samples of nginx, ab and the kernel threads into what
# alpnsteer adds (RES/cpu-perf-CONFIG.json).
perf_side() {
	local c pp pids
	for c in direct attached; do
		config_up "$c" || continue
		log "perf: $c, $PERF_N plain connections"
		perf record -q -a -g -e cpu-clock -c 100000 \
			-o "$RES/raw/cpu-perf-$c.data" > /dev/null 2>&1 &
		pp=$!
		sleep 1
		run_ab plain "$PERF_N" cpu-perf-$c
		sleep 0.3
		kill -INT $pp
		wait $pp
		pids=$(cat "$BENCH_CG/cgroup.procs")
		perf script -i "$RES/raw/cpu-perf-$c.data" 2>/dev/null |
			$PY "$BENCH/benchlib.py" perfattr "$PERF_N" 100000 $pids \
				> "$RES/cpu-perf-$c.json"
		config_down "$c"
	done
}

cpu_main() {
	local rep c order
	log "set-up: namespaces, nginx (plain and TLS on :443), cgroups"
	cpu_setup || { log "set-up failed"; exit 1; }
	{
		echo "{\"date\": \"$(date -u +%FT%TZ)\", \"kernel\": \"$(uname -r)\","
		echo " \"cpus\": $(nproc), \"cpu_model\": \"$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n1)\","
		echo " \"loadavg_before\": \"$(cut -d' ' -f1-3 /proc/loadavg)\","
		echo " \"reps\": $REPS, \"plain_n\": $PLAIN_N, \"tls_n\": $TLS_N, \"conc\": $CONC,"
		echo " \"baseline\": \"$BASELINE\"}"
	} > "$RES/cpu-machine.json"
	# warm-up: nginx's workers, the page cache, ab's libraries
	for load in $LOADS; do run_ab "$load" 200 cpu-warmup-$load; done
	for rep in $(seq 1 "$REPS"); do
		order=$(echo $CONFIGS | tr ' ' '\n' | awk -v k=$((rep - 1)) \
			'{a[NR]=$0} END {for (i = 0; i < NR; i++) print a[(i + k) % NR + 1]}')
		for c in $order; do
			log "rep $rep/$REPS: $c"
			one "$c" "$rep"
		done
	done
	log "BPF run time per connection (kernel.bpf_stats_enabled=1)"
	bpf_side
	[ "$PERF" = 1 ] && perf_side
	$PY - "$RES/cpu-machine.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
m['loadavg_after'] = open('/proc/loadavg').read().split()[:3]
json.dump(m, open(sys.argv[1], 'w'))
EOF
	st_dmesg_clean || log "the kernel logged a WARN during the benchmark"
	$PY "$BENCH/benchlib.py" cpureport "$RES"
}

if [ -z "${BENCH_LIB_ONLY:-}" ]; then
	st_dmesg_mark
	cpu_main
fi
