#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Where the keeper lives (docs/design.md, "Where the keeper lives"): under
# systemd it moves into a transient scope of its own before it forks the
# daemon, so a unit's stop ends only that unit's holder.
#
# This machine may have no systemd as PID 1, so systemd's two parts in it
# are played here: the manager's StartTransientUnit on a private system
# bus (selftests/fake_systemd1.py, which makes the scope's cgroup and
# moves the pids, as systemd does) and a unit's stop (its ExecStop, then
# cgroup.kill on what is left in the unit's cgroup, as systemd's
# KillMode=control-group does).  sd_booted() is made true only in this
# test's mount namespace (a tmpfs on /run/systemd).  The real keeper,
# daemon and BPF programs run; the VM test checks the same under a real
# systemd.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
st_require_cmd dbus-daemon
$PY -c 'import dbus, dbus.mainloop.glib; from gi.repository import GLib' 2>/dev/null ||
	st_skip "Debian's python3-dbus and python3-gi are not installed"
CG=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
[ -n "$CG" ] || st_skip "no cgroup2 mount"
st_setup
st_dmesg_mark

# sd_booted(): /run/systemd/system, in our mount namespace only (an empty
# /run/systemd on the host tells nobody anything).
made_dir=
[ -d /run/systemd ] || { mkdir /run/systemd && made_dir=1; }
mount -t tmpfs -o mode=0755 tmpfs /run/systemd
mkdir /run/systemd/system
# Our slice, and a unit's cgroup in it.
SLICE=alpnsteer-test-$ST_NS.slice
rmdir "$CG/$SLICE"/*/ "$CG/$SLICE" 2>/dev/null || true
mkdir "$CG/$SLICE"
BUS=$ST_WORK/bus.sock
CALLS=$ST_WORK/calls
: > "$CALLS"
cat > "$ST_WORK/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <listen>unix:path=$BUS</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="root"/>
    <allow own="org.freedesktop.systemd1"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
CONF
st_spawn dbus-daemon --config-file="$ST_WORK/bus.conf" --nofork
for i in $(seq 1 50); do [ -S "$BUS" ] && break; sleep 0.1; done
st_spawn $PY "$HERE/fake_systemd1.py" "unix:path=$BUS" "$CG/$SLICE" "$CALLS" > "$ST_WORK/fake.out" 2>&1
for i in $(seq 1 50); do grep -q ready "$ST_WORK/fake.out" && break; sleep 0.1; done
check "a stand-in systemd manager is on the private system bus" grep -q ready "$ST_WORK/fake.out"
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$BUS

lifecycle() { status_field 'd.get("lifecycle")'; }
holders() { status_field '" ".join(h["name"] for h in d["holders"])'; }
acme_ok() { in_cli python3 "$HERE/check_cert.py" "$@" >/dev/null 2>&1; }
cg_of() { sed -n 's/^0:://p' /proc/$1/cgroup 2>/dev/null; }
# in_unit NAME CMD...: run CMD in the cgroup of unit NAME (made if new),
# as systemd starts a unit's ExecStart
in_unit() {
	local u=$CG/$SLICE/$1
	shift
	mkdir -p "$u"
	bash -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$u" "$@"
}
# stop_unit NAME: what systemd does at a unit's stop once its ExecStop
# has run: kill whatever is left in the unit's cgroup
stop_unit() {
	local u=$CG/$SLICE/$1 i
	echo 1 > "$u/cgroup.kill"
	for i in $(seq 1 100); do [ -z "$(cat "$u/cgroup.procs")" ] && break; sleep 0.05; done
	rmdir "$u"
}

# 1. A unit's attach, a second holder, the unit's stop: the second
# holder keeps steering (issue 21, point 2).
test_unit_stop_keeps_other_holder() {
	local keeper daemon out rc
	st_defer as detach --all --wait=10
	out=$(in_unit attach.service nsenter --net=/var/run/netns/$ST_SRV "$ALPNSTEER" attach --holder attach.service 2>&1) && rc=0 || rc=$?
	echo "$out" | sed 's/^/#   /'
	expect_eq "attach from the unit's cgroup" "$rc" 0
	check "... no Warning" bash -c '! grep -q "^Warning:" <<<"$0"' "$out"
	keeper=$(status_field 'd["keeper_pid"]')
	daemon=$(status_field 'd["pid"]')
	expect_eq "the keeper is in a scope of its own" "$(cg_of $keeper)" "/$SLICE/alpnsteer-keeper-$keeper.scope"
	expect_eq "... its daemon too" "$(cg_of $daemon)" "/$SLICE/alpnsteer-keeper-$keeper.scope"
	check "... asked for with mode fail and PIDs=[the keeper]" \
		grep -q "^alpnsteer-keeper-$keeper.scope fail .*PIDs=$keeper\b" "$CALLS"
	check "... in system.slice, collected when it ends" \
		grep -q "^alpnsteer-keeper-$keeper.scope .*CollectMode=inactive-or-failed .*Slice=system.slice" "$CALLS"
	check "a second holder joins (a hook's attach)" as attach --holder uacme:other.test
	expect_eq "... two holders" "$(holders)" "attach.service uacme:other.test"
	# The unit's stop: its ExecStop, then the cgroup is killed.
	check "the unit's ExecStop: detach --holder attach.service --wait" \
		in_unit attach.service nsenter --net=/var/run/netns/$ST_SRV "$ALPNSTEER" detach --holder attach.service --wait=10
	stop_unit attach.service
	expect_eq "after the unit's stop: still attached" "$(lifecycle)" attached
	expect_eq "... for the other holder" "$(holders)" "uacme:other.test"
	check "... the keeper $keeper lives" kill -0 $keeper
	check "... and steers: challenge add, a validation" \
		bash -c '"$0" challenge add other.test ka.other' "$ALPNSTEER"
	check "... answered" acme_ok $SRV4 other.test ka.other
	check "the other holder's detach ends it" as detach --holder uacme:other.test --wait=10
	expect_eq "... detached" "$(lifecycle)" detached
	check "... and its scope is empty" bash -c '[ -z "$(cat "$0/cgroup.procs")" ]' "$CG/$SLICE/alpnsteer-keeper-$keeper.scope"
	rmdir "$CG/$SLICE/alpnsteer-keeper-$keeper.scope"
}

# ... and an ACME client's service whose hook attached: its end (the
# service's cgroup killed once the client exits) leaves the hook's holder
# steering until its own detach or ttl.
test_client_service_end() {
	local keeper
	st_defer as detach --all --wait=10
	check "a hook's attach from certbot.service" \
		in_unit certbot.service nsenter --net=/var/run/netns/$ST_SRV "$ALPNSTEER" attach --holder certbot:hook.test --ttl 10m
	keeper=$(status_field 'd["keeper_pid"]')
	stop_unit certbot.service
	expect_eq "after the service's end: still attached for the hook's holder" "$(lifecycle) $(holders)" "attached certbot:hook.test"
	check "... its keeper lives" kill -0 "$keeper"
	check "the hook's detach ends it" as detach --holder certbot:hook.test --wait=10
	rmdir "$CG/$SLICE/alpnsteer-keeper-$keeper.scope"
}

# 2. A manager that refuses: attach goes on, the keeper stays where it
# was started, and one Warning says what that means.
test_refused_stays() {
	local keeper out rc
	st_defer as detach --all --wait=10
	touch "$CALLS.refuse"
	st_defer rm -f "$CALLS.refuse"
	out=$(in_unit refused.service nsenter --net=/var/run/netns/$ST_SRV "$ALPNSTEER" attach 2>&1) && rc=0 || rc=$?
	echo "$out" | sed 's/^/#   /'
	expect_eq "attach with the scope refused: exit 0" "$rc" 0
	expect_eq "... one Warning" "$(grep -c '^Warning: the keeper stays' <<<"$out")" 1
	check "... no Error" bash -c '! grep -q "^Error:" <<<"$0"' "$out"
	keeper=$(status_field 'd["keeper_pid"]')
	expect_eq "... the keeper stays in the unit's cgroup" "$(cg_of $keeper)" "/$SLICE/refused.service"
	check "detach --wait" as detach --wait=10
	stop_unit refused.service
}

# 3. ALPNSTEER_KEEPER_SCOPE=no: no request at all.
test_disabled() {
	local keeper n
	st_defer as detach --all --wait=10
	n=$(wc -l < "$CALLS")
	check "attach with ALPNSTEER_KEEPER_SCOPE=no" \
		in_unit plain.service env ALPNSTEER_KEEPER_SCOPE=no nsenter --net=/var/run/netns/$ST_SRV "$ALPNSTEER" attach
	keeper=$(status_field 'd["keeper_pid"]')
	expect_eq "... no StartTransientUnit" "$(wc -l < "$CALLS")" "$n"
	expect_eq "... the keeper stays in the unit's cgroup" "$(cg_of $keeper)" "/$SLICE/plain.service"
	check "detach --wait" as detach --wait=10
	stop_unit plain.service
}

st_test unit_stop_keeps_other_holder test_unit_stop_keeps_other_holder
st_test client_service_end test_client_service_end
st_test refused_stays test_refused_stays
st_test disabled test_disabled
umount /run/systemd
[ -z "$made_dir" ] || rmdir /run/systemd
rmdir "$CG/$SLICE"/*/ "$CG/$SLICE" 2>/dev/null || true
check "no kernel WARN" st_dmesg_clean
st_summary
