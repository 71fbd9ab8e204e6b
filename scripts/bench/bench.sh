#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# bench.sh OUTPUT: the cost of alpnsteer against the same nginx with nothing
# in front (direct) and against the user-space splitters people use today.
# Root; run it through selftests/isolate.sh (make bench does).
#
# Topology (selftests/lib.sh): netns $ST_NS-srv holds the webserver, the
# splitters, the acme-tls/1 responder and alpnsteer; $ST_NS-cli holds wrk
# and curl.  Every server runs for the whole benchmark, each on its own
# address, so that configurations differ only in where the client goes:
#   direct, attached, detached  nginx           198.18.4.1:443
#   nginx-stream                nginx ssl_preread 198.18.4.11:443
#   haproxy                     req.ssl_alpn    198.18.4.12:443
#   sslh                        sslh-select     198.18.4.13:443
#   ualpn                       uacme's ualpn   198.18.4.14:443
# The splitters send acme-tls/1 to openssl s_server on 127.0.0.1:8443 (ualpn
# answers it itself) and everything else to nginx on 127.0.0.1:4443.
#
# REPS repetitions, round-robin over CONFIGS (never all repetitions of one
# configuration in a row); each configuration is routing-verified before it
# is measured.  Then the kernel side: BPF run time per program under load,
# attach/detach wall time, the self-release rate.  Raw results go to
# OUTPUT/bench/results.jsonl and kernel.json; report.py makes the table.
set -u
OUT=${1:?usage: scripts/bench/bench.sh OUTPUT}
OUT=$(cd "$OUT" && pwd)
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$BENCH/../.." && pwd)
export ALPNSTEER=$OUT/alpnsteer
. "$TOP/selftests/lib.sh"
. "$BENCH/common.sh"

REPS=${REPS:-3}
DUR=${DUR:-5}                # seconds per wrk run
CONNS=${CONNS:-32}           # wrk connections, keep-alive and new-connection
BIG_MIB=${BIG_MIB:-100}      # size of the download and of each upload
UPLOADS=${UPLOADS:-4}        # uploads per measurement
CYCLES=${CYCLES:-10}         # attach/detach latency samples
CONFIGS=${CONFIGS:-"direct attached detached nginx-stream haproxy sslh ualpn preclass"}
RES=$OUT/bench
JSONL=$RES/results.jsonl
PY=/usr/bin/python3
[ -x $PY ] || PY=python3

if [ "$(id -u)" != 0 ]; then
	echo "Error: the benchmark creates namespaces and loads BPF: run it as root" >&2
	exit 1
fi
for t in wrk curl haproxy sslh-select ualpn bpftool strace; do
	command -v $t >/dev/null || {
		echo "Error: $t is missing (scripts/install-deps.sh)" >&2
		exit 1
	}
done
[ -f /usr/lib/nginx/modules/ngx_stream_module.so ] || {
	echo "Error: nginx's stream module is missing (libnginx-mod-stream)" >&2
	exit 1
}

mkdir -p "$RES"
: > "$JSONL"

declare -A ADDR=([direct]=198.18.4.1 [attached]=198.18.4.1 [detached]=198.18.4.1
	[nginx-stream]=198.18.4.11 [haproxy]=198.18.4.12 [sslh]=198.18.4.13
	[ualpn]=198.18.4.14 [preclass]=198.18.4.1)
declare -A SPLITTER_PID=()

bench_setup() {
	local w
	st_setup || return 1
	w=$ST_WORK
	# The selftests' nginx goes; the benchmark's takes its place.
	kill "${ST_PIDS[0]}" 2>/dev/null
	wait "${ST_PIDS[0]}" 2>/dev/null
	for i in 11 12 13 14; do
		ip -n $ST_SRV addr add 198.18.4.$i/24 dev $ST_V0
	done
	bench_cert "$w"
	head -c $((BIG_MIB << 20)) /dev/urandom > "$w/www/big.bin"
	head -c $((BIG_MIB << 20)) /dev/urandom > "$w/upload.bin"
	for f in nginx-web.conf nginx-stream.conf haproxy.cfg sslh.cfg; do
		sed "s|@WORK@|$w|g" "$BENCH/$f.in" > "$w/$f"
	done
	# The webserver in a cgroup of its own, as a service manager would
	# put it, and alpnsteer attached there (--cgroup): sock_ops then runs
	# for nginx's sockets only, not for wrk's or the splitters' on this
	# same host, and its run time is nginx's alone.
	BENCH_CG=$(bench_cgroup $ST_NS-web) || return 1
	# (bpf_stats_enabled is host-wide: put back as found even when killed)
	trap 'st_cleanup; rmdir "$BENCH_CG" 2>/dev/null
		bpf_stats_restore' EXIT
	st_spawn bash -c 'echo $$ > "$1/cgroup.procs" &&
		exec nsenter --net=/var/run/netns/"$2" nginx -c "$3"' bench \
		"$BENCH_CG" "$ST_SRV" "$w/nginx-web.conf"
	st_spawn nsenter --net=/var/run/netns/$ST_SRV nginx -c "$w/nginx-stream.conf"
	SPLITTER_PID[nginx-stream]=$!
	st_spawn nsenter --net=/var/run/netns/$ST_SRV haproxy -db -f "$w/haproxy.cfg"
	SPLITTER_PID[haproxy]=$!
	st_spawn nsenter --net=/var/run/netns/$ST_SRV sslh-select -F"$w/sslh.cfg"
	SPLITTER_PID[sslh]=$!
	# -P 0: no PROXY header, like the other splitters here (the client
	# address is lost, as with them).
	st_spawn nsenter --net=/var/run/netns/$ST_SRV ualpn -b 198.18.4.14@443 \
		-c 127.0.0.1@4443 -P 0 -n 2 -p "$w/ualpn.pid" -s "$w/ualpn.sock" \
		-l "$w/logs/ualpn.log"
	SPLITTER_PID[ualpn]=$!
	wait_port 198.18.4.1 443 && wait_port 127.0.0.1 4443 &&
		wait_port 198.18.4.11 443 && wait_port 198.18.4.12 443 &&
		wait_port 198.18.4.13 443 && wait_port 198.18.4.14 443 || return 1
	# ualpn answers acme-tls/1 itself, for identifiers it was told about.
	local ka
	ka=$(printf 'bench-token.bench-thumb' | openssl dgst -sha256 -binary |
		basenc --base64url | tr -d '=')
	# (its client mode exits 1 at end of input even when the server said OK)
	echo "auth bench.test $ka" | in_srv ualpn -s "$w/ualpn.sock" | grep -q '^OK'
}

# run_wrk NAME ARGS...: raw output to RES/raw, parsed JSON on stdout
run_wrk() {
	local name=$1
	shift
	in_cli wrk "$@" > "$RES/raw/$name.txt" 2>&1
	$PY "$BENCH/benchlib.py" wrk "$RES/raw/$name.txt"
}

# UPLOADS uploads of BIG_MIB each, one after the other (a new connection
# each); bytes/s over the time curl reports for them.
run_uploads() {
	local i out
	out=$RES/raw/$1.txt
	: > "$out"
	for i in $(seq 1 "$UPLOADS"); do
		in_cli curl -sk -o /dev/null -X POST --data-binary @"$ST_WORK/upload.bin" \
			-H 'Expect:' -w '%{http_code} %{size_upload} %{time_total}\n' \
			"https://$2/sink" >> "$out" 2>&1
	done
	$PY "$BENCH/benchlib.py" curl "$out" $((BIG_MIB << 20))
}

# measure CONFIG REP: one JSON line into JSONL
measure() {
	local c=$1 rep=$2 a=${ADDR[$1]} t0 t1 ka nc dl ul cpu0 cpu1 tag
	tag=$c-r$rep
	cpu0=$(cpu_ticks "${SPLITTER_PID[$c]:-}")
	t0=$(ms_now)
	ka=$(run_wrk $tag-ka -t1 -c$CONNS -d${DUR}s --latency "https://$a/")
	nc=$(run_wrk $tag-nc -t1 -c$CONNS -d${DUR}s --latency -H 'Connection: close' "https://$a/")
	dl=$(run_wrk $tag-dl -t1 -c1 -d${DUR}s "https://$a/big.bin")
	ul=$(run_uploads $tag-ul "$a")
	t1=$(ms_now)
	cpu1=$(cpu_ticks "${SPLITTER_PID[$c]:-}")
	$PY - "$c" "$rep" "$ka" "$nc" "$dl" "$ul" $(((cpu1 - cpu0))) "$HZ" \
		$((t1 - t0)) "${SPLITTER_PID[$c]:+1}" >> "$JSONL" <<'EOF'
import json, sys
c, rep, ka, nc, dl, ul, ticks, hz, ms, has = sys.argv[1:11]
ka, nc, dl, ul = (json.loads(x) for x in (ka, nc, dl, ul))
print(json.dumps({'config': c, 'rep': int(rep), 'verified': True,
    'ka_rps': ka['rps'], 'ka_p99_ms': ka['p99_ms'],
    'nc_rps': nc['rps'], 'nc_p99_ms': nc['p99_ms'],
    'dl_MiBps': dl['bytes_per_s'] / 2**20, 'ul_MiBps': ul['bytes_per_s'] / 2**20,
    'splitter_cpu_s': int(ticks) / int(hz) if has else None,
    'errors': ka['errors'] + nc['errors'] + dl['errors'] + ul['errors'],
    'wall_s': int(ms) / 1000}))
EOF
	tail -n1 "$JSONL" >&2
}

unverified() {
	echo "{\"config\": \"$1\", \"rep\": $2, \"verified\": false}" >> "$JSONL"
}

# The tc pre-classifier spike (docs/benchmarks.md), when this build has it.
HAS_PRECLASS=0
grep -q -- preclassify "$ALPNSTEER" && HAS_PRECLASS=1
CONFIGS=$(for c in $CONFIGS; do [ $c = preclass ] && [ $HAS_PRECLASS = 0 ] || echo $c; done)

# one CONFIG REP: set up, verify, measure, undo
one() {
	local c=$1 rep=$2 ok=1
	config_up "$c" || ok=0
	if [ $ok = 1 ] && verify "$c"; then
		measure "$c" "$rep"
	else
		log "$c rep $rep: not verified, not measured"
		unverified "$c" "$rep"
	fi
	config_down "$c"
}

# The kernel side: attach/detach wall time with nothing in flight, what
# dominates it, BPF run time per program under load, self-release.
kernel_side() {
	local i t0 t1 att="" det="" a=198.18.4.1
	log "attach/detach latency, $CYCLES cycles, nothing in flight"
	for i in $(seq 1 "$CYCLES"); do
		t0=$(ms_now); attach_fwd; t1=$(ms_now)
		att="$att $((t1 - t0))"
		sleep 0.3
		t0=$(ms_now); detach_wait; t1=$(ms_now)
		det="$det $((t1 - t0))"
		sleep 0.3
	done
	# Where the attach time goes: the bpf() calls, by command.  The
	# daemon outlives the command, so strace (-f) is stopped, by PID,
	# once steering is live; it then lets go of the daemon.
	in_srv strace -f -qq -T -e trace=bpf -o "$RES/raw/attach.strace" \
		"$ALPNSTEER" attach --forward 127.0.0.1:8443 > /dev/null &
	local sp=$!
	for i in $(seq 1 100); do
		[ "$(status_field "d['attached']" 2>/dev/null)" = True ] && break
		sleep 0.1
	done
	sleep 0.5
	kill "$sp" 2>/dev/null
	wait "$sp" 2>/dev/null
	detach_wait

	log "BPF run time under load (kernel.bpf_stats_enabled=1)"
	local modes=plain mode
	[ $HAS_PRECLASS = 1 ] && modes="plain preclass"
	for mode in $modes; do
		if [ $mode = preclass ]; then
			attach_fwd --preclassify "$ST_V0,lo"
		else
			attach_fwd
		fi
		bpf_stats_on
		verify attached || log "$mode: not verified for the BPF-stats run"
		kstat kstat-$mode-nc run_wrk kstat-$mode-nc -t1 -c$CONNS -d${DUR}s \
			-H 'Connection: close' "https://$a/" > /dev/null
		kstat kstat-$mode-ka run_wrk kstat-$mode-ka -t1 -c$CONNS -d${DUR}s \
			"https://$a/" > /dev/null
		kstat kstat-$mode-dl run_wrk kstat-$mode-dl -t1 -c1 -d${DUR}s \
			"https://$a/big.bin" > /dev/null
		bpf_stats_restore
		detach_wait
	done
	$PY "$BENCH/benchlib.py" kernel "$RES" "$att" "$det" > "$RES/kernel.json"
}

bench_main() {
	local rep c n=0 order
	mkdir -p "$RES/raw"
	log "set-up: namespaces, nginx, splitters (${BIG_MIB} MiB files)"
	bench_setup || { log "set-up failed"; exit 1; }
	{
		echo "{\"date\": \"$(date -u +%FT%TZ)\", \"kernel\": \"$(uname -r)\","
		echo " \"cpus\": $(nproc), \"cpu_model\": \"$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n1)\","
		echo " \"loadavg_before\": \"$(cut -d' ' -f1-3 /proc/loadavg)\","
		echo " \"reps\": $REPS, \"dur_s\": $DUR, \"conns\": $CONNS, \"big_mib\": $BIG_MIB, \"uploads\": $UPLOADS}"
	} > "$RES/machine.json"
	for rep in $(seq 1 "$REPS"); do
		# Rotate the order too: no configuration always runs first.
		order=$(echo $CONFIGS | tr ' ' '\n' | awk -v k=$((rep - 1)) \
			'{a[NR]=$0} END {for (i = 0; i < NR; i++) print a[(i + k) % NR + 1]}')
		for c in $order; do
			n=$((n + 1))
			log "rep $rep/$REPS: $c"
			one "$c" "$rep"
		done
	done
	kernel_side
	$PY - "$RES/machine.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
m['loadavg_after'] = open('/proc/loadavg').read().split()[:3]
json.dump(m, open(sys.argv[1], 'w'))
EOF
	st_dmesg_clean || log "the kernel logged a WARN during the benchmark"
	$PY "$BENCH/benchlib.py" report "$RES" "${BENCH_PNG:-$RES/bench.png}"
}

# BENCH_LIB_ONLY=1: define the functions only (to poke at one by hand).
if [ -z "${BENCH_LIB_ONLY:-}" ]; then
	st_dmesg_mark
	bench_main
fi
