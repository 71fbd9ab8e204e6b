#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# alpnsteer agent on one host, nginx on 443 busy throughout: detached (no
# program loaded) while nothing is pending; attached within 100 ms of a
# `challenge add`; detached after the last remove and the grace; a crashed
# client's challenge (add, no remove, short --ttl) expires and the agent
# detaches; a second agent is refused; uacme with its hook in agent mode
# gets a certificate from pebble through the agent.
. "$(dirname "$0")/lib.sh"
. "$HERE/acme_lib.sh"
PINS=/sys/fs/bpf/alpnsteer
GRACE=1
acme_setup
st_dmesg_mark
acme_dns a v4.agent.test $SRVCA4
acme_loop_start

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
agent_field() { "$ALPNSTEER" agent status | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# no_bpf PID: the process holds no BPF object (program, map or link)
no_bpf() { ! ls -l /proc/$1/fd 2>/dev/null | grep -q 'anon_inode:bpf'; }
# detached_now: nothing pinned, nothing attached, the agent holds no BPF fd
detached_now() {
	[ ! -e $PINS ] && [ "$(status_field "d['state']")" = detached ] && no_bpf $AGENT
}
# wait_detached TENTHS: poll until detached_now
wait_detached() {
	local i
	for i in $(seq 1 "$1"); do
		detached_now && return 0
		sleep 0.1
	done
	return 1
}

# The baseline on this machine as it is now: what a hook without an agent
# pays, attach then challenge add.
BASE=()
for n in 1 2 3 4 5; do
	t0=$(now_ms)
	as attach --holder base >/dev/null && as challenge add b$n.agent.test tok$n.thumb
	BASE+=($(( $(now_ms) - t0 )))
	as detach --holder base --wait=30 >/dev/null
done

st_spawn nsenter --net=/var/run/netns/$ST_SRV "$ALPNSTEER" agent --grace ${GRACE}s \
	> "$ST_WORK/agent.log" 2>&1
AGENT=${ST_PIDS[-1]}
for i in $(seq 1 50); do [ -S /run/alpnsteer/agent.sock ] && break; sleep 0.1; done
check "the agent's socket is there" test -S /run/alpnsteer/agent.sock
check "the agent is detached: no pin directory, state detached, no BPF fd" detached_now

# A second agent on the same host is refused at once, with Error and Hint.
out=$(as agent --grace 1s 2>&1) && rc=0 || rc=$?
echo "$out" | sed 's/^/# /'
check "a second agent is refused (exit $rc)" test $rc -eq 1
check "... with Error: another alpnsteer agent is running" grep -q "^Error: another alpnsteer agent is running on this host (pid $AGENT)" <<<"$out"
check "... and a Hint" grep -q "^Hint: " <<<"$out"
check "... and the first one is still detached and serving" detached_now

# Attach from challenge add; detach after the last remove and the grace.
ATT=() DET=() IDS=""
for n in 1 2 3 4 5; do
	t0=$(now_ms)
	as challenge add c$n.agent.test tok$n.thumb
	t1=$(now_ms)
	ATT+=($((t1 - t0)))
	[ -e $PINS/link_sockops ] && [ "$(status_field "d['state']")" = attached ] ||
		not_ok "attached once challenge add returned (cycle $n)"
	IDS="$IDS $(status_field "' '.join(str(v) for v in d['progs'].values() if v)")"
	[ "$(tls $SRV4 --alpn acme-tls/1 --sni c$n.agent.test | python3 -c 'import json,sys; print(json.load(sys.stdin).get("alpn"))')" = acme-tls/1 ] ||
		not_ok "the pending name is answered by the responder (cycle $n)"
	t0=$(now_ms)
	as challenge remove c$n.agent.test
	wait_detached 200 || not_ok "detached within 20 s of the last remove (cycle $n)"
	DET+=($(( $(now_ms) - t0 )))
done
echo "# attach latency from challenge add (ms): ${ATT[*]}"
echo "# detach after the last remove (ms, grace ${GRACE}s included): ${DET[*]}"
best=$(printf '%s\n' "${ATT[@]}" | sort -n | head -1)
med=$(printf '%s\n' "${ATT[@]}" | sort -n | sed -n 3p)
bmed=$(printf '%s\n' "${BASE[@]}" | sort -n | sed -n 3p)
echo "# attach + challenge add without the agent, same machine (ms): ${BASE[*]}"
echo "# the agent's own figure for its last attach: $(agent_field "d['last_attach_ms']") ms; load average $(cut -d' ' -f1-3 /proc/loadavg)"
# The attach itself is the lifecycle's (BPF load, pool, keeper).  Time is
# measured, not promised, here: on a 2-core machine shared with other runs
# both figures swing by hundreds of ms, so the check only catches an agent
# that waits where it should not (a missed wake-up costs a tick, 100 ms,
# or a retry, 5 s); the figures are printed, and scripts/bench/agent.sh
# measures them on a quiet machine.
check "the agent's attach costs no more than twice attach + add, plus 1 s (median $med ms vs $bmed ms; best $best ms)" \
	test "$med" -lt $((2 * bmed + 1000))
dmin=$(printf '%s\n' "${DET[@]}" | sort -n | head -1)
dmax=$(printf '%s\n' "${DET[@]}" | sort -n | tail -1)
check "detached no sooner than the grace ($dmin ms >= ${GRACE}000)" test "$dmin" -ge $((GRACE * 1000))
# Headroom for a loaded machine (a load average of 7 made it 4,031 ms with
# a 3 s margin): what this catches is an agent that waits for something
# else (a ttl, a retry) instead of its grace; scripts/bench/agent.sh holds
# the tight figure.
check "detached soon after the grace ($dmax ms < $((GRACE * 1000 + 10000)))" test "$dmax" -lt $((GRACE * 1000 + 10000))
check "five attaches, five detaches" test "$(agent_field "d['attaches'], d['detaches']")" = "5 5"
check "the detached state has nothing loaded: programs$IDS gone from bpftool prog show" \
	bash -c 'for id in $0; do bpftool prog show id $id >/dev/null 2>&1 && exit 1; done; exit 0' "$IDS"
check "... and the agent holds no BPF object" no_bpf $AGENT

# A client that crashed between its hooks: added, never removed.
t0=$(now_ms)
check "challenge add --ttl 3s (then the client 'crashes')" as challenge add crashed.agent.test tok.x --ttl 3s
check "... attached" test "$(status_field "d['state']")" = attached
check "... listed by the agent with its expiry" \
	bash -c '"$0" -j challenge list | python3 -c "import json,sys; l=json.load(sys.stdin); assert l[0][\"identifier\"] == \"crashed.agent.test\" and 0 < l[0][\"expires_in\"] <= 3"' "$ALPNSTEER"
check "it expires and the agent detaches (within ttl + grace + 10 s)" wait_detached $(( (3 + GRACE + 10) * 10 ))
exp=$(( $(now_ms) - t0 ))
echo "# crashed client: detached $exp ms after its add (ttl 3 s, grace ${GRACE} s)"
# Expiry is counted in whole seconds of the wall clock (a store entry's
# "expires"): up to a second early.
check "... not before its ttl (less a second) and the grace" test $exp -ge $(( (3 - 1 + GRACE) * 1000 ))
check "the agent says it expired" grep -q "challenge crashed.agent.test expired (ttl)" "$ST_WORK/agent.log"

# A bad request changes nothing.
check "a bad digest is refused through the agent" bash -c '! "$0" challenge add x.agent.test --digest zz 2>&1 | grep -q "^Error: .zz. is not a SHA-256 digest" && exit 1 || exit 0' "$ALPNSTEER"
check "... and leaves the agent detached" detached_now

# uacme with its hook: ALPNSTEER_HOOK_ATTACH=1, yet agent mode (the agent's
# socket) makes it only add and remove.
uacme() {
	local confdir=$1
	shift
	in_srv unshare --mount --propagation private -- bash -c '
		mount --bind "$1" /etc/ssl/certs/ca-certificates.crt
		shift
		exec "$@"' uacme "$CA_BUNDLE" env UACME_CONFDIR="$confdir" ALPNSTEER_HOOK_ATTACH=1 \
		ALPNSTEER="$ALPNSTEER" /usr/bin/uacme -v -c "$confdir" -a "$ACME_DIR" -y "$@"
}
U=$ST_WORK/uacme
before=$(agent_field "d['attaches']")
check "uacme new" logged "$ST_WORK/new.log" uacme "$U" new st@agent.test
check "uacme issue v4.agent.test $SRVCA4 (hook in agent mode)" \
	logged "$ST_WORK/issue.log" uacme "$U" -h "$HOOKS/uacme-hook.sh" issue v4.agent.test $SRVCA4
check "the certificate is pebble's, for the name and the address, and its chain verifies" \
	acme_cert_ok "$U/v4.agent.test/cert.pem" v4.agent.test $SRVCA4
check "the agent attached for it" test "$(agent_field "d['attaches']")" -gt "$before"
check "the hook never attached nor detached as its own holder" \
	bash -c '! grep -q "holder uacme" /run/alpnsteer/daemon.log "$0"' "$ST_WORK/issue.log"
expect_eq "v4.agent.test was validated over IPv4" "$(acme_via v4.agent.test)" ipv4
check "after the hooks' removes and the grace, the agent is detached" wait_detached 100

kill "$AGENT"
wait "$AGENT" 2>/dev/null || true
check "a stopped agent leaves no socket" test ! -e /run/alpnsteer/agent.sock

# alpn: the ALPN a pending name's acme-tls/1 hello gets ("None": the
# webserver's, nothing steered)
alpn() { tls $SRV4 --alpn acme-tls/1 --sni "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("alpn"))'; }
gone() { ! kill -0 "$1" 2>/dev/null || [ "$(awk '{print $3}' /proc/$1/stat 2>/dev/null)" = Z ]; }
start_agent() {
	st_spawn nsenter --net=/var/run/netns/$ST_SRV "$ALPNSTEER" agent --grace ${GRACE}s \
		> "$ST_WORK/$1" 2>&1
	AGENT=${ST_PIDS[-1]}
	for i in $(seq 1 50); do "$ALPNSTEER" agent status >/dev/null 2>&1 && break; sleep 0.1; done
}

# agent.sock is served without blocking: 20 idle connections (any
# --control-group member may make them) do not keep root's list out.
start_agent agent2.log
python3 -c '
import socket, sys, time
ss = []
for i in range(20):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect("/run/alpnsteer/agent.sock")
    ss.append(s)
print("idle", flush=True)
time.sleep(45)' > "$ST_WORK/idle.out" 2>&1 &
IDLE=$!
ST_PIDS+=($IDLE)
for i in $(seq 1 50); do grep -q idle "$ST_WORK/idle.out" && break; sleep 0.1; done
t0=$(now_ms)
as challenge list > /dev/null 2>&1 && rc=0 || rc=$?
t=$(( $(now_ms) - t0 ))
echo "# challenge list with 20 idle connections on agent.sock: exit $rc in $t ms"
check "challenge list with 20 idle connections on agent.sock succeeds" test $rc -eq 0
check "... within 10 s ($t ms)" test $t -lt 10000
kill $IDLE 2>/dev/null || true
wait $IDLE 2>/dev/null || true

# A SIGKILLed agent: its socket stays, refusing connections.  The daemon
# expires the challenge by its own ttl, however long the dead agent's
# holder lasts.
# (A ttl of 10 s: the checks before it runs out take a few seconds on a
# loaded machine.)
check "challenge add killed.agent.test --ttl 10s" as challenge add killed.agent.test tok.k --ttl 10s
t0=$(now_ms)
kill -9 $AGENT
wait $AGENT 2>/dev/null || true
check "the killed agent's socket is left behind" test -S /run/alpnsteer/agent.sock
check "... challenge list goes to the daemon" bash -c '"$0" -j challenge list | grep -q killed.agent.test' "$ALPNSTEER"
expect_eq "... its attachment stays (holder agent)" "$(status_field '" ".join(h["name"] for h in d["holders"])')" agent
expect_eq "... and the name is answered until its ttl" "$(alpn killed.agent.test)" acme-tls/1
for i in $(seq 1 200); do [ "$(alpn killed.agent.test)" != acme-tls/1 ] && break; sleep 0.1; done
t=$(( $(now_ms) - t0 ))
check "the daemon stopped answering it at its ttl, with the agent dead ($t ms after the kill; ttl 10 s)" test "$(alpn killed.agent.test)" != acme-tls/1
check "... and lists it no more" bash -c '! "$0" -j challenge list | grep -q killed.agent.test' "$ALPNSTEER"

# A new agent takes the attachment its predecessor left, and detaches it
# after the grace: "detached" once the keeper and daemon are gone.
keeper=$(status_field 'd["keeper_pid"]')
daemon=$(status_field 'd["pid"]')
start_agent agent3.log
check "a restarted agent takes over the attachment left (holder agent)" grep -q "previous agent's attachment" "$ST_WORK/agent3.log"
check "... and detaches it after the grace" wait_detached 100
for i in $(seq 1 50); do grep -q "agent: detached in" "$ST_WORK/agent3.log" && break; sleep 0.1; done
check "... saying detached" grep -q "agent: detached in .* (keeper and daemon gone)" "$ST_WORK/agent3.log"
check "... when its keeper $keeper and daemon $daemon are gone" bash -c 'gone() { ! kill -0 "$1" 2>/dev/null || [ "$(awk "{print \$3}" /proc/$1/stat)" = Z ]; }; gone $0 && gone $1' "$keeper" "$daemon"
expect_eq "... agent status says detached, not detaching" "$(agent_field 'd["attached"], d["detaching"]')" "False False"

# A killed agent's socket does not put the hooks in agent mode: the uacme
# hook with ALPNSTEER_HOOK_ATTACH=1 attaches as its own holder.
kill -9 $AGENT
wait $AGENT 2>/dev/null || true
check "the killed (detached) agent's socket is left behind" test -S /run/alpnsteer/agent.sock
dg=$(python3 -c 'import base64,hashlib; print(base64.urlsafe_b64encode(hashlib.sha256(b"tok.stale").digest()).decode().rstrip("="))')
out=$(in_srv env ALPNSTEER="$ALPNSTEER" ALPNSTEER_HOOK_ATTACH=1 "$HOOKS/uacme-hook.sh" begin tls-alpn-01 stale.agent.test tok "$dg" 2>&1) && rc=0 || rc=$?
echo "$out" | sed 's/^/# /'
check "uacme hook begin with a stale agent.sock attaches itself (exit $rc)" test $rc -eq 0
expect_eq "... as its own holder" "$(status_field '" ".join(h["name"] for h in d["holders"])')" uacme:stale.agent.test
expect_eq "... and the name is answered" "$(alpn stale.agent.test)" acme-tls/1
check "uacme hook done detaches it" in_srv env ALPNSTEER="$ALPNSTEER" ALPNSTEER_HOOK_ATTACH=1 "$HOOKS/uacme-hook.sh" done tls-alpn-01 stale.agent.test tok "$dg"
expect_eq "... detached" "$(status_field 'd["state"]')" detached

# agent stop: the running agent detaches, drains and exits; stop returns
# once it has; 0 also with no agent.  (Instead of a pid file and a name
# match in the package's prerm.)
start_agent agent4.log
check "a new agent starts over the stale socket" bash -c '"$0" agent status | grep -q "\"attached\":false"' "$ALPNSTEER"
check "challenge add stop.agent.test" as challenge add stop.agent.test tok.s
keeper=$(status_field 'd["keeper_pid"]')
daemon=$(status_field 'd["pid"]')
out=$(as agent stop 2>&1) && rc=0 || rc=$?
echo "$out" | sed 's/^/# /'
check "agent stop (exit $rc)" test $rc -eq 0
check "... the agent has exited when it returns" gone $AGENT
expect_eq "... detached" "$(status_field 'd["state"]')" detached
check "... its keeper $keeper and daemon $daemon gone" bash -c 'gone() { ! kill -0 "$1" 2>/dev/null || [ "$(awk "{print \$3}" /proc/$1/stat)" = Z ]; }; gone $0 && gone $1' "$keeper" "$daemon"
check "... and its socket" test ! -e /run/alpnsteer/agent.sock
out=$(as agent stop 2>&1) && rc=0 || rc=$?
check "agent stop with no agent: exit 0 ($rc: $out)" test $rc -eq 0
wait $AGENT 2>/dev/null || true

# Two agents started at the same instant: exactly one stays.
# (nsenter itself, not the in_srv function: a function sent to the
# background is a subshell, and killing it leaves the agent running into
# the next selftest)
st_spawn nsenter --net=/var/run/netns/$ST_SRV "$ALPNSTEER" agent --grace 1s > "$ST_WORK/race1.log" 2>&1
R1=${ST_PIDS[-1]}
st_spawn nsenter --net=/var/run/netns/$ST_SRV "$ALPNSTEER" agent --grace 1s > "$ST_WORK/race2.log" 2>&1
R2=${ST_PIDS[-1]}
sleep 1.5
alive=0
for p in $R1 $R2; do kill -0 $p 2>/dev/null && alive=$((alive + 1)); done
check "two agents racing: exactly one stays ($alive)" test $alive -eq 1
check "... the other said why" grep -qh "^Error: another alpnsteer agent is running on this host" "$ST_WORK/race1.log" "$ST_WORK/race2.log"
check "... and the one left is serving, detached" bash -c '"$0" agent status | grep -q "\"attached\":false"' "$ALPNSTEER"
kill $R1 $R2 2>/dev/null || true
wait $R1 $R2 2>/dev/null || true
check "no agent is left running" bash -c '! kill -0 $0 2>/dev/null && ! kill -0 $1 2>/dev/null' $R1 $R2
check "... nor its socket" test ! -e /run/alpnsteer/agent.sock
acme_load_check
check "no kernel WARN" st_dmesg_clean
st_summary
