#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The validation trace (`challenge trace`, issue 18 points 1 and 3): every
# acme-tls/1 hello that reaches port 443, per identifier, with its outcome.
#   outcomes      each outcome this machine can produce, one hello each,
#                 and `challenge trace -j` lists it right: answered, failed
#                 (the client rejects the certificate: an alert received),
#                 not_pending, split (a hello cut before its ALPN),
#                 source_capped (--per-source 1), no_slot (--pool-max 1),
#                 after_removal; v4-mapped shown as IPv4 elsewhere
#                 (test_dualstack), the /24 and /48 of each client here.
#   five          five-perspective readiness: a Boulder-like validator
#                 (selftests/validator.py) dials once from a primary, then
#                 from 6 remotes in 6 distinct /24s and /48s at once, for
#                 each of 20 names of one order; with the default pool and
#                 per-source cap every handshake is answered and traced as
#                 such.  Then a second order with one remote behind MSS 536
#                 (answered) and one whose hello is split before its ALPN
#                 (traced `split`).  The trace is printed as # lines.
#   draining      a validation held mid-handshake keeps a detach draining;
#                 an acme-tls/1 hello for the pending name sent then on a
#                 socket caught before (a blocking echo server's, port
#                 8444) reaches the server whole and is traced `draining`,
#                 in the log too.
#   members       who reads the trace (docs/design.md, "The control
#                 socket"): a --control-group member sees the records of
#                 the challenges it added only, removed ones included;
#                 not root's, nor SNIs never pending, nor their clients;
#                 its status --metrics only its identifiers' series, its
#                 challenge list only its challenges; root sees all.
#   metrics       --metrics-file written by the daemon, `status --metrics`:
#                 promtool check metrics passes, values match status -j.
#   agent         the same trace through the agent, kept after it detached,
#                 and the agent's own --metrics-file.
. "$(dirname "$0")/lib.sh"

VALIDATOR=(in_cli /usr/bin/python3 "$HERE/validator.py" --v4 $SRV4 --v6 $SRV6)
# the validator's perspectives: a primary, and six remotes in distinct
# /24s (IPv4) and /48s (IPv6)
PRIMARY=fd00:b1:a::2
R4="198.18.21.2 198.18.22.2 198.18.23.2"
R6="fd00:b1:1::2 fd00:b1:2::2 fd00:b1:3::2"

trace_json() { "$ALPNSTEER" challenge trace -j "$@"; }

# outcome_of IDENT SOURCE: the outcomes of SOURCE's hellos for IDENT, in order
outcome_of() {
	trace_json "$1" | python3 -c '
import json, sys
t = json.load(sys.stdin)
print(" ".join(h["outcome"] + ("(" + h["detail"] + ")" if h.get("detail") else "")
               for x in t for h in x["hellos"] if h["address"] == sys.argv[1]))' "$2"
}

# trace_field IDENT EXPR: a Python expression over the record x of IDENT
trace_field() {
	trace_json "$1" | python3 -c '
import json, sys
x = json.load(sys.stdin)[0]
print(eval(sys.argv[1]))' "$2"
}

# wait_outcome IDENT SOURCE WANT: until SOURCE's hellos read WANT (5 s)
wait_outcome() {
	local i
	for i in $(seq 1 50); do
		[ "$(outcome_of "$1" "$2")" = "$3" ] && return 0
		sleep 0.1
	done
	echo "# $1 from $2: '$(outcome_of "$1" "$2")', want '$3'"
	return 1
}

cli_py() { in_cli /usr/bin/python3 "$@"; }

test_outcomes() {
	local out s
	check "attach --per-source 1" as attach --per-source 1 --handshake-timeout 60
	st_defer as detach --all --wait=20
	"$ALPNSTEER" challenge add t.test ka-t.test
	# answered
	check "a validation answered" cli_py "$HERE/check_cert.py" $SRV4 t.test ka-t.test \
		--source 198.18.21.2
	check "... traced answered, from its /24" wait_outcome t.test 198.18.21.2 answered
	expect_eq "... with its /24" "$(trace_field t.test 'x["hellos"][0]["net"] + " " + x["hellos"][0]["family"]')" \
		"198.18.21.0/24 ipv4"
	# failed: the client rejects the self-signed certificate
	cli_py - <<-EOF >/dev/null 2>&1
	import socket, ssl
	ctx = ssl.create_default_context()
	ctx.check_hostname = False
	ctx.set_alpn_protocols(['acme-tls/1'])
	s = socket.create_connection(('$SRV6', 443), source_address=('fd00:b1:1::2', 0))
	try:
	    ctx.wrap_socket(s, server_hostname='t.test')
	except ssl.SSLError:
	    pass
	EOF
	check "a client that rejects the certificate: failed, the alert it sent named" \
		wait_outcome t.test fd00:b1:1::2 "failed(alert received: unknown CA)"
	expect_eq "... its /48" "$(trace_json t.test | python3 -c 'import json,sys; print([h["net"] for h in json.load(sys.stdin)[0]["hellos"] if h["address"]=="fd00:b1:1::2"][0])')" \
		"fd00:b1:1::/48"
	# not pending: an SNI nobody added
	tls $SRV4 --alpn acme-tls/1 --sni other.test >/dev/null
	check "an acme-tls/1 hello for another name: not_pending" \
		wait_outcome other.test 198.18.4.2 not_pending
	expect_eq "... under an identifier never pending" "$(trace_field other.test 'x["state"]')" never_pending
	# split: cut before its ALPN
	out=$("${VALIDATOR[@]}" --primary 198.18.22.2 --remote 198.18.23.2/split t.test 2>&1 | tail -1)
	echo "# split dial: $(echo "$out" | cut -c1-300)"
	check "a hello cut before its ALPN: split" wait_outcome t.test 198.18.23.2 split
	# source capped: one held, the next from the same /24 passes on
	s=$(counter steered)
	cli_py "$HERE/abuse.py" hold $SRV4 t.test 30 --source 198.18.22.2 >/dev/null &
	ST_PIDS+=($!)
	wait_for 'd["counters"]["steered"]' $((s + 1)) 100
	tls $SRV4 --alpn acme-tls/1 --sni t.test >/dev/null # from 198.18.4.2: another /24
	check "an answered hello from another /24 meanwhile" wait_outcome t.test 198.18.4.2 answered
	cli_py "$HERE/check_cert.py" $SRV4 t.test ka-t.test --source 198.18.22.3 >/dev/null 2>&1
	check "a second hello from the held /24 (--per-source 1): source_capped" \
		wait_outcome t.test 198.18.22.3 source_capped
	# after removal
	"$ALPNSTEER" challenge remove t.test
	tls $SRV4 --alpn acme-tls/1 --sni t.test >/dev/null
	check "a hello after the challenge's remove: after_removal" \
		wait_outcome t.test 198.18.4.2 "answered after_removal"
	expect_eq "... the identifier removed" "$(trace_field t.test 'x["state"]')" removed
	# no journal here: each event is a line of the daemon's log
	check "the log has the events: trace: t.test source_capped from 198.18.22.3" \
		grep -q "trace: t.test source_capped from 198.18.22.3 port [0-9]* (198.18.22.0/24)" /run/alpnsteer/daemon.log
	check "... and the failed one, with its alert" \
		grep -q "trace: t.test failed (alert received: unknown CA) from fd00:b1:1::2" /run/alpnsteer/daemon.log
	# answered: 198.18.21.2, the split dial's primary 198.18.22.2 and
	# 198.18.4.2; the held one is still in its handshake
	expect_eq "summary: answered 3 from 3 /24s, failed 1" \
		"$(trace_field t.test 'x["summary"]["answered"], x["summary"]["answered_nets24"], x["summary"]["failed"]')" \
		"(3, 3, 1)"
	echo "# trace of t.test:"
	"$ALPNSTEER" challenge trace t.test | sed 's/^/#   /'
}

test_no_slot() {
	check "attach --pool 1 --pool-max 1" as attach --pool 1 --pool-max 1 --handshake-timeout 60
	st_defer as detach --all --wait=20
	"$ALPNSTEER" challenge add n.test ka-n.test
	cli_py "$HERE/abuse.py" hold $SRV4 n.test 30 --source 198.18.21.2 >/dev/null &
	ST_PIDS+=($!)
	wait_for 'd["counters"]["steered"]' 1 100
	cli_py "$HERE/check_cert.py" $SRV4 n.test ka-n.test --source 198.18.22.2 >/dev/null 2>&1
	check "with the one slot held, the next hello: no_slot" wait_outcome n.test 198.18.22.2 no_slot
}

# A hello the verdict sees while draining: only a socket caught before the
# drain, silent until then, and still caught.  The reaper lets a quiet
# socket go at the drain's first tick (100 ms), one a reader sleeps on
# after a second (bpf/alpnsteer.bpf.c, reap_one()): so the "webserver"
# here is blocksrv.py (a blocking echo server) on a second steered port,
# and the client speaks at once after `detach` returns.  A validation held
# mid-handshake keeps the drain going meanwhile.
test_draining() {
	local i
	check "attach --port 443 --port 8444 --handshake-timeout 60" \
		as attach --port 443 --port 8444 --handshake-timeout 60
	st_defer as detach --all --wait=20
	"$ALPNSTEER" challenge add d.test ka-d.test
	cli_py "$HERE/abuse.py" hold $SRV4 d.test 60 --source 198.18.21.2 >/dev/null &
	local hold=$!
	ST_PIDS+=($hold)
	check "a validation held mid-handshake" wait_for 'd["pool"]["in_use"]' 1 100
	rm -f "$ST_WORK/dr.in" "$ST_WORK/dr.out"
	mkfifo "$ST_WORK/dr.in"
	cat > "$ST_WORK/dr.py" <<-'EOF'
	import socket, ssl, sys
	s = socket.create_connection((sys.argv[1], 8444))
	ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
	ctx.check_hostname = False
	ctx.verify_mode = ssl.CERT_NONE
	ctx.set_alpn_protocols(['acme-tls/1'])
	inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
	obj = ctx.wrap_bio(inc, out, server_hostname='d.test')
	try:
	    obj.do_handshake()
	except ssl.SSLWantReadError:
	    pass
	hello = out.read()
	print('connected', flush=True)
	sys.stdin.readline()
	s.sendall(hello)
	s.settimeout(10)
	got = b''
	while len(got) < len(hello):
	    b = s.recv(65536)
	    if not b:
	        break
	    got += b
	print('echoed' if got == hello else 'lost: %d of %d bytes back' % (len(got), len(hello)), flush=True)
	EOF
	cli_py "$ST_WORK/dr.py" $SRV4 < "$ST_WORK/dr.in" > "$ST_WORK/dr.out" 2>&1 &
	local cli=$!
	ST_PIDS+=($cli)
	exec 8>"$ST_WORK/dr.in"
	for i in $(seq 1 100); do grep -q connected "$ST_WORK/dr.out" && break; sleep 0.1; done
	sleep 0.3 # blocksrv's thread asleep in recv()
	check "detach (the held validation keeps it draining)" as detach
	echo go >&8
	exec 8>&-
	wait $cli
	expect_eq "a hello sent on a caught socket now reaches the server, whole" \
		"$(tail -n1 "$ST_WORK/dr.out")" echoed
	expect_eq "... counted passed_draining" "$(counter passed_draining)" 1
	check "... traced draining" wait_outcome d.test 198.18.4.2 draining
	expect_eq "... the held one is not traced yet (in its handshake)" "$(outcome_of d.test 198.18.21.2)" ""
	check "the log has it: trace: d.test draining from 198.18.4.2" \
		grep -q "trace: d.test draining from 198.18.4.2 port [0-9]* (198.18.4.0/24)" /run/alpnsteer/daemon.log
	expect_eq "still draining while the validation is held" "$(status_field 'd.get("lifecycle")')" draining
	kill $hold 2>/dev/null
	check "detach --wait ends once the held client is gone" as detach --wait=60
}

member() { setpriv --reuid=65534 --regid=65534 --clear-groups "$ST_WORK/alpnsteer-copy" "$@" 2>&1; }
member2() { setpriv --reuid=65533 --regid=65534 --clear-groups "$ST_WORK/alpnsteer-copy" "$@" 2>&1; }
# series FILE: the identifiers of the per-identifier series of a metrics text
series() { grep -o 'identifier="[^"]*"' "$1" | sort -u | cut -d'"' -f2 | tr '\n' ' ' | sed 's/ $//'; }

test_members() {
	local out
	check "attach --control-group nogroup" as attach --control-group nogroup
	st_defer as detach --all --wait=20
	"$ALPNSTEER" challenge add r.test ka-r
	check "a member adds m.test" member challenge add m.test ka-m
	check "another member adds o.test" member2 challenge add o.test ka-o
	for n in r m o; do
		cli_py "$HERE/check_cert.py" $SRV4 $n.test ka-$n --source 198.18.21.2 >/dev/null 2>&1
	done
	tls $SRV4 --alpn acme-tls/1 --sni nobody.test >/dev/null
	check "traced" wait_outcome nobody.test 198.18.4.2 not_pending
	expect_eq "root reads every record" "$(idents "$(trace_json)")" "m.test o.test r.test sni:nobody.test"
	expect_eq "a member reads only the challenge it added" "$(idents "$(member challenge trace -j)")" "m.test"
	expect_eq "... asking for root's by name: nothing" "$(idents "$(member challenge trace -j r.test)")" ""
	out=$(member challenge trace)
	check "... its text lists m.test, nothing of root's or the other member's" \
		bash -c '[[ "$1" == *m.test* && "$1" != *r.test* && "$1" != *o.test* && "$1" != *nobody.test* ]]' _ "$out"
	expect_eq "the other member reads its own" "$(idents "$(member2 challenge trace -j)")" "o.test"
	expect_eq "challenge list: a member lists its own pending challenge only" \
		"$(idents "$(member -j challenge list)")" "m.test"
	expect_eq "... root lists all" "$(idents "$("$ALPNSTEER" -j challenge list)")" "m.test o.test r.test"
	out=$(member challenge list)
	check "... the member's table neither" \
		bash -c '[[ "$1" == *m.test* && "$1" != *r.test* && "$1" != *o.test* ]]' _ "$out"
	check "the member removes m.test" member challenge remove m.test
	expect_eq "... and still reads its record (removed)" \
		"$(member challenge trace -j | python3 -c 'import json,sys; print(" ".join(x["identifier"] + ":" + x["state"] for x in json.load(sys.stdin)))')" \
		"m.test:removed"
	member status --metrics > "$ST_WORK/member.prom"
	expect_eq "a member's status --metrics: its identifier's series only" "$(series "$ST_WORK/member.prom")" "m.test"
	"$ALPNSTEER" status --metrics > "$ST_WORK/root.prom"
	expect_eq "root's: every identifier's" "$(series "$ST_WORK/root.prom")" "m.test o.test r.test"
}

# five_check ORDER JSON_OUT: each dial of the validator's output traced
# with the outcome it should have (a split remote: split; others answered)
five_check() {
	python3 - "$1" "$2" <<-'EOF'
	import json, sys
	dials = json.load(open(sys.argv[2]))['dials']
	trace = {x['identifier']: x for x in json.load(open(sys.argv[1]))}
	bad = 0
	for d in dials:
	    want = 'split' if d['role'].endswith('/split') else 'answered'
	    got = [h['outcome'] for h in trace.get(d['name'], {}).get('hellos', [])
	           if h['address'] == d['source']]
	    if got != [want]:
	        bad += 1
	        print('# %s from %s (%s): traced %s, want %s' % (d['name'], d['source'], d['role'], got, want))
	for n, x in trace.items():
	    s = x['summary']
	    if s['hellos'] != 7 or s['answered_nets24'] + s['answered_nets48'] < 6:
	        bad += 1
	        print('# %s: summary %s' % (n, s))
	print(bad)
	EOF
}

# five_round TAG LABEL REMOTE...: 20 names TAGnn[.LABEL].five.test of one
# order, validated, traced
five_round() {
	local tag=$1 label=${2:+.$2} names n out ok failed want
	shift 2
	names=$(for n in $(seq -w 0 19); do echo $tag$n$label.five.test; done)
	for n in $names; do "$ALPNSTEER" challenge add $n ka-$n; done
	out=$("${VALIDATOR[@]}" --primary $PRIMARY --parallel 4 \
		$(for r in "$@"; do echo --remote $r; done) $names)
	echo "$out" > "$ST_WORK/five-$tag.json"
	ok=$(field "$out" ok)
	failed=$(field "$out" failed)
	want=$((20 * 7))
	case "$*" in *split*) want=$((20 * 6)) ;; esac
	echo "# order $tag: $ok of $((ok + failed)) handshakes validated; counters: steered $(counter steered), split $(counter split), src_capped $(counter src_capped), no_slot $(counter no_slot), trace_dropped $(counter trace_dropped)"
	expect_eq "order $tag: validations passed" "$ok" "$want"
	sleep 0.5
	trace_json > "$ST_WORK/trace-$tag.json"
	python3 -c '
import json, sys
t = [x for x in json.load(open(sys.argv[1])) if x["identifier"].startswith(sys.argv[2])]
json.dump(t, open(sys.argv[1], "w"))' "$ST_WORK/trace-$tag.json" $tag
	expect_eq "order $tag: every dial traced with its outcome" \
		"$(five_check "$ST_WORK/trace-$tag.json" "$ST_WORK/five-$tag.json" | tail -1)" 0
	five_check "$ST_WORK/trace-$tag.json" "$ST_WORK/five-$tag.json" | grep '^#' | head -20
}

test_five() {
	local r long
	# the defaults: --pool 64, --pool-max 256, --per-source 8
	check "attach (default pool and per-source cap)" as attach
	st_defer as detach --all --wait=20
	five_round a "" $(for r in $R4 $R6; do echo $r; done)
	echo "# challenge trace a00.five.test (text):"
	"$ALPNSTEER" challenge trace a00.five.test | sed 's/^/#   /'
	echo "# challenge trace -j a00.five.test:"
	"$ALPNSTEER" challenge trace -j a00.five.test | sed 's/^/#   /'
	for r in $(seq -w 0 19); do "$ALPNSTEER" challenge remove a$r.five.test; done
	# the same again: one remote behind MSS 536, one split.  Names of 164
	# characters: with the MSS remote's long cipher list its hello is
	# 601 bytes, two segments, SNI and ALPN in the first (as a Go
	# validator's 1.5 KB hello over MTU 1500)
	long=$(printf 'l%.0s' $(seq 60)).$(printf 'o%.0s' $(seq 60)).$(printf 'n%.0s' $(seq 28))
	five_round b $long 198.18.21.2 198.18.22.2 198.18.23.2/mss=536 fd00:b1:1::2 fd00:b1:2::2 fd00:b1:3::2/split
	expect_eq "the MSS 536 remote's hello spanned two segments, ALPN in the first" \
		"$(python3 -c '
import json, sys
d = [d for d in json.load(open(sys.argv[1]))["dials"] if "mss" in d["role"]]
print(all(x["segments"] >= 2 and x["hello_len"] > 536 and 0 < x["alpn_off"] < 536 - 12 - 20 for x in d), len(d))' "$ST_WORK/five-b.json")" \
		"True 20"
	echo "# challenge trace b00.$long.five.test (text):"
	"$ALPNSTEER" challenge trace b00.$long.five.test | sed 's/^/#   /'
	echo "# challenge trace -j b00.$long.five.test:"
	"$ALPNSTEER" challenge trace -j b00.$long.five.test | sed 's/^/#   /'
}

# metric FILE NAME: one sample's value from a Prometheus text file
metric() { awk -v n="$2" '$1 == n { print $2 }' "$1" 2>/dev/null; }

# metrics_match FILE: the file's counters and pending count are status -j's
metrics_match() {
	python3 - "$1" <<-'EOF'
	import json, subprocess, sys, os
	st = json.loads(subprocess.check_output([os.environ['ALPNSTEER'], '-j', 'status']))
	m = {}
	for line in open(sys.argv[1]):
	    if not line.startswith('#'):
	        k, v = line.rsplit(' ', 1)
	        m[k] = float(v)
	bad = [k for k, v in st['counters'].items() if m.get('alpnsteer_%s_total' % k) != v]
	if m.get('alpnsteer_pending_challenges') != len(st.get('challenges') or []):
	    bad.append('pending')
	print(' '.join(bad) or 'match')
	EOF
}

test_metrics() {
	local f=$ST_WORK/prom/alpnsteer.prom i out
	# node_exporter's textfile directory, writable by the daemon's user
	install -d -o alpnsteer -m 0755 "$ST_WORK/prom"
	check "attach --metrics-file" as attach --metrics-file "$f"
	st_defer as detach --all --wait=20
	"$ALPNSTEER" challenge add m.test ka-m.test
	check "a validation answered" cli_py "$HERE/check_cert.py" $SRV6 m.test ka-m.test \
		--source fd00:b1:3::2
	tls $SRV4 --alpn acme-tls/1 --sni other.test >/dev/null
	for i in $(seq 1 50); do
		[ "$(metric "$f" 'alpnsteer_validation_answered_total{identifier="m.test"}')" = 1 ] && break
		sleep 0.1
	done
	sleep 1.5 # one more write after the last event
	check "the daemon wrote the file, answered 1 for m.test" \
		test "$(metric "$f" 'alpnsteer_validation_answered_total{identifier="m.test"}')" = 1
	out=$(promtool check metrics < "$f" 2>&1) && i=0 || i=$?
	echo "# promtool check metrics < --metrics-file: exit $i ${out:+($out)}"
	expect_eq "promtool check metrics passes on the daemon's file" "$i" 0
	expect_eq "its counters and pending count are status -j's" "$(metrics_match "$f")" match
	"$ALPNSTEER" status --metrics > "$ST_WORK/status.prom"
	out=$(promtool check metrics < "$ST_WORK/status.prom" 2>&1) && i=0 || i=$?
	expect_eq "promtool check metrics passes on status --metrics" "$i" 0
	expect_eq "status --metrics matches status -j" "$(metrics_match "$ST_WORK/status.prom")" match
	check "status --metrics: answered 1 for m.test" \
		test "$(metric "$ST_WORK/status.prom" 'alpnsteer_validation_answered_total{identifier="m.test"}')" = 1
	echo "# the metrics file:"
	sed 's/^/#   /' "$f"
	# the file is replaced, never followed: no .tmp left, a regular file
	check "no temporary file left" test ! -e "$f.tmp"
	check "a regular file of the daemon's user" test "$(stat -c %U:%F "$f")" = "alpnsteer:regular file"
}

test_agent() {
	local i f=$ST_WORK/agent.prom
	st_spawn nsenter --net=/var/run/netns/$ST_SRV "$ALPNSTEER" agent --grace 1s \
		--metrics-file "$f" > "$ST_WORK/agent.log" 2>&1
	st_defer "$ALPNSTEER" agent stop
	for i in $(seq 1 50); do [ -S /run/alpnsteer/agent.sock ] && break; sleep 0.1; done
	check "the agent runs" test -S /run/alpnsteer/agent.sock
	"$ALPNSTEER" challenge add g.test ka-g.test
	check "a validation answered through the agent" \
		cli_py "$HERE/check_cert.py" $SRV6 g.test ka-g.test --source fd00:b1:2::2
	check "... traced through the agent while attached" wait_outcome g.test fd00:b1:2::2 answered
	"$ALPNSTEER" challenge remove g.test
	for i in $(seq 1 100); do
		[ "$(status_field 'd["state"]')" = detached ] && break
		sleep 0.1
	done
	expect_eq "the agent detached" "$(status_field 'd["state"]')" detached
	check "... and its trace still lists the answered hello" wait_outcome g.test fd00:b1:2::2 answered
	expect_eq "... the identifier removed" "$(trace_field g.test 'x["state"]')" removed
	sleep 1.5
	expect_eq "the agent's --metrics-file: detached, answered 1 for g.test" \
		"$(metric "$f" alpnsteer_attached) $(metric "$f" 'alpnsteer_validation_answered_total{identifier="g.test"}')" "0 1"
	check "promtool check metrics passes on the agent's file" promtool check metrics < "$f"
}

st_setup
st_dmesg_mark
st_spawn nsenter --net=/var/run/netns/$ST_SRV python3 "$HERE/blocksrv.py" 8444 "$ST_WORK/blk.json"
wait_port 127.0.0.1 8444
for i in 21 22 23; do
	ip -n $ST_CLI addr add 198.18.$i.2/32 dev $ST_V1
	ip -n $ST_CLI addr add 198.18.$i.3/32 dev $ST_V1
done
for i in 1 2 3 a; do
	ip -n $ST_CLI addr add fd00:b1:$i::2/128 dev $ST_V1 nodad
done
ip -n $ST_SRV route add 198.18.16.0/20 dev $ST_V0
# The binary where the nobody user can run it (members).
cp "$ALPNSTEER" "$ST_WORK/alpnsteer-copy"
chmod 755 "$ST_WORK/alpnsteer-copy"
ip -n $ST_SRV -6 route add fd00:b1::/32 dev $ST_V0
st_test outcomes test_outcomes
st_test no_slot test_no_slot
st_test draining test_draining
st_test five test_five
st_test members test_members
st_test metrics test_metrics
st_test agent test_agent
check "no kernel WARN" st_dmesg_clean
st_summary
