#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# scripts/systemd/: the units pass `systemd-analyze verify` (with the
# binary's path pointed at the build), a broken copy does not, and the
# commands the units run really attach and detach: the forward@ template's
# ExecStart/ExecStop, and alpnsteer.service's `run` ended by SIGTERM as
# systemd would.  The hardening: each unit scores 3.0 or better in
# `systemd-analyze security --offline=yes`, and the commands run under
# what of it can be reproduced without systemd as PID 1 (the bounding
# set, no_new_privs, /proc with subset=pid, a private mount namespace),
# traced, and every system call they make is one the unit's
# SystemCallFilter allows.  Not reproduced here: ProtectSystem and the
# other file-system views, RestrictAddressFamilies, the seccomp filter
# itself (checked by the trace instead), and whether /sys/fs/bpf is
# writable in the unit's mount namespace (only its setting is checked).
. "$(dirname "$0")/lib.sh"
UNITS=$(cd "$HERE/../scripts/systemd" && pwd)
st_require_cmd systemd-analyze strace
st_setup
st_dmesg_mark
U=$ST_WORK/units
mkdir -p "$U"
for f in "$UNITS"/*.service; do
	sed "s|/usr/local/sbin/alpnsteer|$ALPNSTEER|g" "$f" > "$U/$(basename "$f")"
done
ln -s alpnsteer-forward@.service "$U/alpnsteer-forward@8443.service"

# verify UNIT...: exit 0 and nothing said
verify() {
	local out
	out=$(cd "$U" && systemd-analyze verify "$@" 2>&1) || { echo "$out" | sed 's/^/#   /'; return 1; }
	[ -z "$out" ] || { echo "$out" | sed 's/^/#   /'; return 1; }
}
for u in alpnsteer.service alpnsteer-attach.service alpnsteer-forward@8443.service alpnsteer-agent.service; do
	check "systemd-analyze verify $u" verify "./$u"
done
sed 's/^ExecStart=/ExecStrat=/' "$U/alpnsteer-attach.service" > "$U/broken1.service"
refused() { ! verify "$@"; }
check "verify catches a misspelt key" refused ./broken1.service
sed "s|$ALPNSTEER|/nonexistent/alpnsteer|" "$U/alpnsteer-attach.service" > "$U/broken2.service"
check "verify catches a missing binary" refused ./broken2.service

# score UNIT: the overall exposure systemd-analyze gives it
score() {
	(cd "$U" && systemd-analyze security --offline=yes "./$1" 2>&1) |
		sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p'
}
for u in alpnsteer.service alpnsteer-attach.service alpnsteer-forward@8443.service alpnsteer-agent.service; do
	sc=$(score $u)
	echo "# $u: exposure $sc"
	check "$u scores 3.0 or better in systemd-analyze security (got $sc)" \
		python3 -c 'import sys; sys.exit(not (sys.argv[1] and float(sys.argv[1]) <= 3.0))' "$sc"
done
for u in alpnsteer.service alpnsteer-attach.service alpnsteer-forward@.service alpnsteer-agent.service; do
	check "$u: no CAP_SYS_ADMIN in its bounding set" bash -c "! grep -q '^CapabilityBoundingSet=.*CAP_SYS_ADMIN' '$U/$u'"
done
# The pins under the sandbox: with ProtectKernelTunables=yes systemd 252
# mounts /sys/fs/bpf read-only, and a ReadWritePaths= or BindPaths= entry
# for it inherits that; the units keep /sys read-only themselves and
# /sys/fs/bpf writable (scripts/vmtest/systemd-guest.sh proves it under
# systemd as PID 1, which this machine lacks).
for u in alpnsteer.service alpnsteer-attach.service alpnsteer-forward@.service alpnsteer-agent.service; do
	check "$u: /sys read-only, /sys/fs/bpf writable, no ProtectKernelTunables=yes" \
		bash -c "grep -q '^ReadOnlyPaths=/sys\$' '$U/$u' && grep -q '^ReadWritePaths=/sys/fs/bpf\$' '$U/$u' &&
			! grep -q '^ProtectKernelTunables=yes' '$U/$u' && grep -q '^ProcSubset=pid' '$U/$u'"
done

# The unit's restrictions that can be applied without systemd, around a
# command: the bounding set (root's permitted set follows it at exec),
# no_new_privs, a private mount namespace with /proc subset=pid.
CAPS=$(sed -n 's/^CapabilityBoundingSet=//p' "$U/alpnsteer.service" |
	tr ' ' '\n' | sed 's/^CAP_//; s/^/+/' | tr 'A-Z' 'a-z' | paste -sd,)
RESTRICT=(unshare --mount --propagation private -- bash -c \
	'mount -t proc -o subset=pid proc /proc && exec setpriv --bounding-set "-all,$0" --inh-caps -all --no-new-privs "$@"' "$CAPS")
# RuntimeDirectory=alpnsteer, as systemd sets it up at each start.
runtime_dir() { mkdir -p /run/alpnsteer && chown root:root /run/alpnsteer && chmod 0755 /run/alpnsteer; }
# A trace of every command below, to hold against SystemCallFilter.
TRACE=(strace -f -qq -o)

# unit_cmd FILE KEY INSTANCE: KEY's command line with %i and $VARs expanded
# the way systemd does here (the variables are unset: empty words vanish).
unit_cmd() {
	sed -n "s/^$2=//p" "$1" | sed "s/%i/$3/g; s/\\\$[A-Z_]*//g"
}
start=$(unit_cmd "$U/alpnsteer-forward@.service" ExecStart 8443)
stop=$(unit_cmd "$U/alpnsteer-forward@.service" ExecStop 8443)
runtime_dir
# attach returns once steering is live, but its daemon goes on under
# strace -f: the trace ends when the daemon does, after ExecStop.
in_srv "${RESTRICT[@]}" "${TRACE[@]}" "$ST_WORK/trace.start" $start > "$ST_WORK/start.out" 2>&1 &
TRACER=$!
ST_PIDS+=($TRACER)
check "forward@8443 ExecStart ($start), restricted as the unit" wait_for 'd["attached"]' True 150
expect_eq "... attached, forwarding to 127.0.0.1:8443" "$(status_field 'd["attached"], d["forward"]')" "True 127.0.0.1:8443"
expect_eq "... an acme-tls/1 hello reaches the side-port responder" \
	"$(field "$(tls $SRV4 --alpn acme-tls/1 --sni unit.test)" cn)" acme-responder
check "forward@8443 ExecStop ($stop), restricted" in_srv "${RESTRICT[@]}" "${TRACE[@]}" "$ST_WORK/trace.stop" $stop
wait $TRACER
expect_eq "... detached" "$(status_field 'd["state"]')" detached

quiet() { "$@" > /dev/null; }
run=$(unit_cmd "$U/alpnsteer.service" ExecStart "")
# nsenter execs the command: $! is alpnsteer itself, as systemd's MainPID.
runtime_dir
nsenter --net=/var/run/netns/$ST_SRV "${RESTRICT[@]}" $run > "$ST_WORK/run.log" 2>&1 &
RUN=$!
ST_PIDS+=($RUN)
for i in $(seq 1 100); do [ "$(status_field 'd["attached"]')" = True ] && break; sleep 0.1; done
expect_eq "alpnsteer.service's ExecStart ($run), restricted, attaches" "$(status_field 'd["attached"]')" True
check "... a challenge can be added while it runs" "$ALPNSTEER" challenge add unit.test ka.unit
check "... and is answered" quiet ip netns exec $ST_CLI python3 "$HERE/check_cert.py" $SRV6 unit.test ka.unit
kill -TERM $RUN
rc=0
wait $RUN || rc=$?
expect_eq "SIGTERM (systemctl stop) ends it with status 0" $rc 0
expect_eq "... detached" "$(status_field 'd["state"]')" detached

# What the traced commands called (strace's execve of them aside) against
# what the filter allows.
allowed() {
	python3 - "$@" <<'PY'
import re, subprocess, sys

def expand(name, seen=set()):
    if not name.startswith('@'):
        return {name}
    if name in seen:
        return set()
    seen.add(name)
    out = subprocess.run(['systemd-analyze', 'syscall-filter', name],
                         capture_output=True, text=True).stdout
    calls = set()
    for line in out.splitlines()[1:]:
        w = line.strip()
        if w and not w.startswith('#'):
            calls |= expand(w)
    return calls

allow, deny = set(), set()
for line in open(sys.argv[1]):
    m = re.match(r'SystemCallFilter=(~?)(.*)', line.strip())
    if not m:
        continue
    names = set().union(*(expand(n) for n in m.group(2).split()))
    (deny if m.group(1) else allow).update(names)
used = set()
for f in sys.argv[2:]:
    for line in open(f):
        m = re.match(r'\d+ +(?:<\.\.\. )?([a-z0-9_]+)[( ]', line)
        if m:
            used.add(m.group(1))
used -= {'execve'}
bad = sorted(c for c in used if c not in allow or c in deny)
print('# %d system calls used; outside the filter: %s' % (len(used), ' '.join(bad) or 'none'))
sys.exit(1 if bad or len(used) < 20 else 0)
PY
}
check "every system call of attach and detach is allowed by SystemCallFilter" \
	allowed "$U/alpnsteer-forward@.service" "$ST_WORK/trace.start" "$ST_WORK/trace.stop"
# alpnsteer-agent.service's ExecStart (ALPNSTEER_AGENT_OPTS="--grace 1s"),
# restricted and traced: detached, attached by a challenge, detached again.
agent=$(unit_cmd "$U/alpnsteer-agent.service" ExecStart "")
runtime_dir
nsenter --net=/var/run/netns/$ST_SRV "${RESTRICT[@]}" "${TRACE[@]}" "$ST_WORK/trace.agent" \
	$agent --grace 1s > "$ST_WORK/agent.log" 2>&1 &
AGENT=$!
ST_PIDS+=($AGENT)
for i in $(seq 1 100); do [ -S /run/alpnsteer/agent.sock ] && break; sleep 0.1; done
expect_eq "alpnsteer-agent.service's ExecStart ($agent --grace 1s), restricted, starts detached" \
	"$(status_field 'd["state"]')" detached
check "... a challenge add attaches it" "$ALPNSTEER" challenge add agent.unit.test ka.agent
check "... and is answered" quiet ip netns exec $ST_CLI python3 "$HERE/check_cert.py" $SRV4 agent.unit.test ka.agent
check "... its remove detaches it after the grace" \
	bash -c '"$0" challenge remove agent.unit.test && for i in $(seq 1 100); do [ ! -e /sys/fs/bpf/alpnsteer ] && exit 0; sleep 0.1; done; exit 1' "$ALPNSTEER"
# $! is strace (the exec chain ends in it): the agent is its child, which
# systemd's MainPID would be.
MAIN=$(cat /proc/$AGENT/task/$AGENT/children 2>/dev/null | cut -d' ' -f1)
check "... the agent runs (pid ${MAIN:-none})" test -n "$MAIN"
[ -n "$MAIN" ] && kill -TERM "$MAIN"
rc=0
timeout 30 tail --pid=$AGENT -f /dev/null || rc=timeout
wait $AGENT || rc=$?
expect_eq "SIGTERM (systemctl stop) ends the agent with status 0" $rc 0
check "... a stopped agent leaves no socket" test ! -e /run/alpnsteer/agent.sock
check "every system call of the agent (and its keeper and daemon) is allowed by its SystemCallFilter" \
	allowed "$U/alpnsteer-agent.service" "$ST_WORK/trace.agent"
check "no kernel WARN" st_dmesg_clean
st_summary
