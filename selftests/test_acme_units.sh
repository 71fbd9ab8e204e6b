#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# scripts/systemd/: the units pass `systemd-analyze verify` (with the
# binary's path pointed at the build), a broken copy does not, and the
# commands the units run really attach and detach: the forward@ template's
# ExecStart/ExecStop, and alpnsteer.service's `run` ended by SIGTERM as
# systemd would.
. "$(dirname "$0")/lib.sh"
UNITS=$(cd "$HERE/../scripts/systemd" && pwd)
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
for u in alpnsteer.service alpnsteer-attach.service alpnsteer-forward@8443.service; do
	check "systemd-analyze verify $u" verify "./$u"
done
sed 's/^ExecStart=/ExecStrat=/' "$U/alpnsteer-attach.service" > "$U/broken1.service"
refused() { ! verify "$@"; }
check "verify catches a misspelt key" refused ./broken1.service
sed "s|$ALPNSTEER|/nonexistent/alpnsteer|" "$U/alpnsteer-attach.service" > "$U/broken2.service"
check "verify catches a missing binary" refused ./broken2.service

# unit_cmd FILE KEY INSTANCE: KEY's command line with %i and $VARs expanded
# the way systemd does here (the variables are unset: empty words vanish).
unit_cmd() {
	sed -n "s/^$2=//p" "$1" | sed "s/%i/$3/g; s/\\\$[A-Z_]*//g"
}
start=$(unit_cmd "$U/alpnsteer-forward@.service" ExecStart 8443)
stop=$(unit_cmd "$U/alpnsteer-forward@.service" ExecStop 8443)
check "forward@8443 ExecStart ($start)" in_srv $start
expect_eq "... attached, forwarding to 127.0.0.1:8443" "$(status_field 'd["attached"], d["forward"]')" "True 127.0.0.1:8443"
expect_eq "... an acme-tls/1 hello reaches the side-port responder" \
	"$(field "$(tls $SRV4 --alpn acme-tls/1 --sni unit.test)" cn)" acme-responder
check "forward@8443 ExecStop ($stop)" in_srv $stop
expect_eq "... detached" "$(status_field 'd["state"]')" detached

quiet() { "$@" > /dev/null; }
run=$(unit_cmd "$U/alpnsteer.service" ExecStart "")
# nsenter execs the command: $! is alpnsteer itself, as systemd's MainPID.
nsenter --net=/var/run/netns/$ST_SRV $run > "$ST_WORK/run.log" 2>&1 &
RUN=$!
ST_PIDS+=($RUN)
for i in $(seq 1 100); do [ "$(status_field 'd["attached"]')" = True ] && break; sleep 0.1; done
expect_eq "alpnsteer.service's ExecStart ($run) attaches" "$(status_field 'd["attached"]')" True
check "... a challenge can be added while it runs" "$ALPNSTEER" challenge add unit.test ka.unit
check "... and is answered" quiet ip netns exec $ST_CLI python3 "$HERE/check_cert.py" $SRV6 unit.test ka.unit
kill -TERM $RUN
rc=0
wait $RUN || rc=$?
expect_eq "SIGTERM (systemctl stop) ends it with status 0" $rc 0
expect_eq "... detached" "$(status_field 'd["state"]')" detached
check "no kernel WARN" st_dmesg_clean
st_summary
