#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The steering, loss and fail-open selftests next to each real webserver
# from Debian (lib.sh's ST_WEB): nginx, nginx deferred+reuseport, nginx with
# TCP Fast Open, Apache (mpm_event, mod_ssl, as Debian ships it), lighttpd,
# HAProxy terminating TLS and Caddy; IPv4 and IPv6 in each.  The loss test
# runs LOSS_CYCLES (4) cycles so that all of it fits a CI run.  Prints, per
# webserver, the load's requests, bytes hashed and failures, and the
# checks each selftest failed.  One st_test per webserver (lib.sh).
. "$(dirname "$0")/lib.sh"
WEBS=${WEBSERVERS:-$ST_WEBS}
LOSS_CYCLES=${LOSS_CYCLES:-4}
LOG=$(mktemp -d /tmp/alpnsteer-webservers.XXXXXX)

# sub WEB TEST [VAR=VALUE...]: one selftest next to WEB, its log kept
sub() {
	local w=$1 t=$2 rc
	shift 2
	env ST_WEB=$w "$@" bash "$HERE/$t.sh" > "$LOG/$w.$t.log" 2>&1 && rc=0 || rc=$?
	grep '^not ok' "$LOG/$w.$t.log" | sed "s/^/#   [$w $t] /"
	if [ $rc = "$ST_SKIPPED" ]; then
		skipped "[$w] $t ($(sed -n 's/^# SKIP: //p' "$LOG/$w.$t.log" | head -n1))"
	elif [ $rc = 0 ]; then
		ok "[$w] $t ($(tail -1 "$LOG/$w.$t.log"))"
	else
		not_ok "[$w] $t ($(tail -1 "$LOG/$w.$t.log"))"
	fi
}

# test_web WEB: the three selftests next to WEB; skipped when WEB is not
# installed here (counted, not a pass)
test_web() {
	local w=$1 t0 load
	st_require_web $w
	t0=$(date +%s)
	sub $w test_steering
	sub $w test_loss CYCLES=$LOSS_CYCLES
	sub $w test_failopen
	load=$(sed -n 's/^# load: //p' "$LOG/$w.test_loss.log")
	printf '%-15s %s  (%d s)\n' $w "$(python3 -c '
import json, sys
try:
    d = json.loads(sys.argv[1])
except ValueError:
    print("no load figures"); sys.exit()
print("requests %d (gets %d, downloads %d, uploads %d) bytes_hashed %d failures %d corrupted %d" % (
    d["gets"] + d["downloads"] + d["uploads"], d["gets"], d["downloads"], d["uploads"],
    d["bytes_hashed"], d["failures"], d["corrupted"]))' "$load")" $(( $(date +%s) - t0 )) >> "$LOG/summary"
}

for w in $WEBS; do
	st_test $w test_web $w
done
echo "# per webserver (loss test, $LOSS_CYCLES attach/detach cycles, IPv4 and IPv6):"
sed 's/^/#   /' "$LOG/summary" 2>/dev/null
echo "# logs in $LOG"
st_summary
