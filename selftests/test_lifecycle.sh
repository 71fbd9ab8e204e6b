#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The attach/detach lifecycle: attach during a drain, attach with other
# options, holders, --ttl, a daemon that starts clean (descriptors, cwd,
# umask, a caller's flock), v4-mapped clients behind a dual-stack listener,
# the run and pin directories staying root's (symlinks and chowned
# directories planted as a compromised daemon would), and a --user that
# does not exist.  One function per test (lib.sh, st_test), each with its
# own attachment and the cleanup of what it planted.
. "$(dirname "$0")/lib.sh"
RUN=/run/alpnsteer
PINS=/sys/fs/bpf/alpnsteer
H=$HERE/../scripts/hooks

lifecycle() { status_field 'd.get("lifecycle")'; }
holders() { status_field '" ".join(h["name"] for h in d["holders"])'; }
acme_ok() { in_cli python3 "$HERE/check_cert.py" "$@" >/dev/null 2>&1; }
# attach_out VAR ARGS...: run attach, its output in $out and status in $rc
attach_out() { out=$(as attach "$@" 2>&1) && rc=0 || rc=$?; echo "$out" | sed 's/^/#   /'; }
# Whatever a test leaves attached (or draining) goes before the next.
detach_after() { st_defer as detach --all --wait=10; }

# A validation held mid-handshake: started now, its hello sent at once,
# finished by mid_release.
mid_start() {
	rm -f "$ST_WORK/mid.in" "$ST_WORK/mid.out"
	mkfifo "$ST_WORK/mid.in"
	in_cli python3 "$HERE/midflight.py" $SRV4 "$1" "$2" < "$ST_WORK/mid.in" > "$ST_WORK/mid.out" 2>&1 &
	MID=$!
	ST_PIDS+=($MID)
	exec 8>"$ST_WORK/mid.in"
	echo go >&8
	for i in $(seq 1 100); do grep -q sent "$ST_WORK/mid.out" && break; sleep 0.1; done
}
mid_release() {
	echo go >&8
	exec 8>&-
	wait $MID
}

# 1. attach during a drain: the same options call the drain off.
test_attach_calls_drain_off() {
	local out rc r
	check "attach (built-in)" as attach
	detach_after
	check "challenge add mid.test" "$ALPNSTEER" challenge add mid.test ka.mid
	mid_start mid.test ka.mid
	check "a validation is held mid-handshake" wait_for 'd["pool"]["in_use"]' 1
	check "detach (no wait)" as detach
	expect_eq "... draining while it is held" "$(lifecycle)" draining
	attach_out
	expect_eq "attach during the drain succeeds" "$rc" 0
	check "... saying the drain was called off" grep -q "drain was called off" <<<"$out"
	expect_eq "... attached again, same daemon" "$(lifecycle) $(status_field 'd["daemon_running"]')" "attached True"
	check "... and steering works (a new validation)" acme_ok $SRV4 mid.test ka.mid
	mid_release && r=0 || r=$?
	expect_eq "the held validation completes across the drain and the attach" "$r" 0
	check "detach --wait" as detach --wait=10
}

# ... and other options wait for the drain to end, then attach anew.
test_attach_waits_for_drain() {
	local att
	check "attach (built-in)" as attach
	detach_after
	check "challenge add mid.test" "$ALPNSTEER" challenge add mid.test ka.mid
	mid_start mid.test ka.mid
	check "a validation is held mid-handshake" wait_for 'd["pool"]["in_use"]' 1
	check "detach (no wait)" as detach
	( as attach --forward 127.0.0.1:8443 > "$ST_WORK/att.out" 2>&1; echo $? > "$ST_WORK/att.rc" ) &
	att=$!
	sleep 1.5
	check "attach --forward during the drain waits for it" test ! -e "$ST_WORK/att.rc"
	mid_release || true
	wait $att
	sed 's/^/#   /' "$ST_WORK/att.out"
	expect_eq "... then attaches anew once it is over" "$(cat "$ST_WORK/att.rc")" 0
	expect_eq "... forwarding" "$(status_field 'd["lifecycle"], d["forward"]')" "attached 127.0.0.1:8443"
	expect_eq "... and steers" "$(field "$(tls $SRV4 --alpn acme-tls/1 --sni fwd.test)" cn)" acme-responder
	check "detach --wait" as detach --wait=10
}

# 2. attach with other options than the live attachment: refused, named.
test_other_options_refused() {
	local out rc
	check "attach (built-in)" as attach
	detach_after
	attach_out --forward 127.0.0.1:8443
	expect_eq "attach --forward over a built-in attachment: exit 1" "$rc" 1
	check "... an Error naming the responder, and a Hint" \
		bash -c 'grep -q "^Error: .*responder: attached with the built-in one, asked for 127.0.0.1:8443" <<<"$0" && grep -q "^Hint: " <<<"$0"' "$out"
	attach_out --port 8443
	expect_eq "attach --port 8443: exit 1" "$rc" 1
	check "... naming --port" grep -q "^Error: .*--port: attached with 443, asked for 8443" <<<"$out"
	attach_out --pool 4
	expect_eq "attach --pool 4: exit 1" "$rc" 1
	check "... naming --pool" grep -q "^Error: .*--pool: attached with 64, asked for 4" <<<"$out"
	expect_eq "the live attachment is untouched" "$(status_field 'd["lifecycle"], d["responder"], d["pool"]["size"]')" "attached builtin 64"
	# Every option is recorded and compared: --per-source and --pool-max
	# once joined silently whatever they said.
	attach_out --per-source 2
	expect_eq "attach --per-source 2: exit 1" "$rc" 1
	check "... naming --per-source" grep -q "^Error: .*--per-source: attached with 8, asked for 2" <<<"$out"
	attach_out --pool-max 300
	expect_eq "attach --pool-max 300: exit 1" "$rc" 1
	check "... naming --pool-max" grep -q "^Error: .*--pool-max: attached with 256, asked for 300" <<<"$out"
	attach_out --proxy-protocol 443 --proxy-from 198.18.4.2
	expect_eq "attach --proxy-protocol 443: exit 1" "$rc" 1
	check "... naming --proxy-protocol" grep -q "^Error: .*--proxy-protocol: attached with none, asked for 443" <<<"$out"
	expect_eq "status -j shows every option" "$(status_field 'd["options"]["per-source"], d["options"]["pool-max"], d["options"]["handshake-timeout"], d["options"]["port"]')" "8 256 30 [443]"
	check "status shows --per-source" bash -c '"$ALPNSTEER" status | grep -q "^ *--per-source *8$"'
	attach_out
	expect_eq "the same options join it (exit 0)" "$rc" 0
	check "detach --wait" as detach --wait=10
}

# 3. holders: a permanent holder and a hook's; the hook's detach leaves it.
test_holders() {
	local exp out rc
	check "attach --holder alpnsteer.service --forward" as attach --holder alpnsteer.service --forward 127.0.0.1:8443
	detach_after
	check "prepost-hook.sh pre (holder prepost-hook, ttl 1h)" in_srv "$H/prepost-hook.sh" pre 127.0.0.1:8443
	expect_eq "two holders" "$(holders)" "alpnsteer.service prepost-hook"
	exp=$(status_field '[h["expires_in"] for h in d["holders"]]')
	check "the hook's holder expires in about an hour, the service's never ($exp)" \
		python3 -c "import sys; a=$exp; sys.exit(not (a[0] is None and 3500 <= a[1] <= 3600))"
	check "prepost-hook.sh post" in_srv "$H/prepost-hook.sh" post
	expect_eq "... steering stays on for the permanent holder" "$(lifecycle) $(holders)" "attached alpnsteer.service"
	expect_eq "... and works" "$(field "$(tls $SRV4 --alpn acme-tls/1 --sni held.test)" cn)" acme-responder
	out=$(as detach --holder nothere --wait=5 2>&1) && rc=0 || rc=$?
	echo "$out" | sed 's/^/#   /'
	check "detach of a holder that does not hold it says so" grep -q "holder 'nothere' does not hold" <<<"$out"
	expect_eq "... and leaves it attached" "$(lifecycle)" attached
	check "detach --holder alpnsteer.service --wait (the last holder)" as detach --holder alpnsteer.service --wait=10
	expect_eq "... detached" "$(lifecycle)" detached
}

# ... the same with alpnsteer.service's own command, `run`, and the case of
# issue 8: a permanent built-in attachment, acme.sh wired with the forward
# hook.  The hook's attach is refused (the order is not left to fail at
# nginx); its post-hook leaves the permanent attachment on.
test_run_unit_and_forward_hook() {
	local svc out rc
	nsenter --net=/var/run/netns/$ST_SRV "$ALPNSTEER" run --holder alpnsteer.service > "$ST_WORK/run.log" 2>&1 &
	svc=$!
	ST_PIDS+=($svc)
	detach_after
	check "run --holder alpnsteer.service attaches" wait_for 'd.get("lifecycle")' attached 100
	out=$(in_srv "$H/prepost-hook.sh" pre 127.0.0.1:8443 2>&1) && rc=0 || rc=$?
	echo "$out" | sed 's/^/#   /'
	expect_eq "the forward hook next to the built-in unit: refused, exit 1" "$rc" 1
	check "... saying the responder differs" grep -q "^Error: .*responder: attached with the built-in one, asked for 127.0.0.1:8443" <<<"$out"
	check "prepost-hook.sh post (it holds nothing)" in_srv "$H/prepost-hook.sh" post
	expect_eq "... the unit's attachment stays on" "$(lifecycle) $(holders)" "attached alpnsteer.service"
	check "a built-in hook holder joins it" as attach --holder dehydrated --ttl 1h
	check "... and its detach --wait returns, leaving it on" as detach --holder dehydrated --wait=10
	expect_eq "... still attached for the unit" "$(lifecycle)" attached
	check "challenge add unit.test" "$ALPNSTEER" challenge add unit.test ka.unit
	check "... answered" acme_ok $SRV4 unit.test ka.unit
	kill -TERM $svc
	rc=0
	wait $svc || rc=$?
	expect_eq "SIGTERM (systemctl stop) ends run with status 0" "$rc" 0
	expect_eq "... detached" "$(lifecycle)" detached
}

# The built-in hooks attach as their own holders when asked to.
test_hooks_attach_as_holders() {
	detach_after
	check "dehydrated-hook.sh startup_hook (ALPNSTEER_HOOK_ATTACH=1)" \
		in_srv env ALPNSTEER="$ALPNSTEER" ALPNSTEER_HOOK_ATTACH=1 "$H/dehydrated-hook.sh" startup_hook
	expect_eq "... attached for holder dehydrated, ttl 1h" \
		"$(status_field 'd["lifecycle"], [(h["name"], 3500 <= h["expires_in"] <= 3600) for h in d["holders"]]')" \
		"attached [('dehydrated', True)]"
	check "uacme-hook.sh begin (ALPNSTEER_HOOK_ATTACH=1)" \
		in_srv env ALPNSTEER="$ALPNSTEER" ALPNSTEER_HOOK_ATTACH=1 "$H/uacme-hook.sh" begin tls-alpn-01 u.test tok \
		"$(printf %s u-ka | openssl dgst -sha256 -binary | basenc --base64url | tr -d =)"
	expect_eq "... joined as holder uacme:u.test" "$(holders)" "dehydrated uacme:u.test"
	check "... and its challenge is answered" acme_ok $SRV4 u.test u-ka
	check "uacme-hook.sh done" in_srv env ALPNSTEER="$ALPNSTEER" ALPNSTEER_HOOK_ATTACH=1 "$H/uacme-hook.sh" done tls-alpn-01 u.test tok x
	check "dehydrated-hook.sh exit_hook" in_srv env ALPNSTEER="$ALPNSTEER" ALPNSTEER_HOOK_ATTACH=1 "$H/dehydrated-hook.sh" exit_hook
	expect_eq "... detached" "$(lifecycle)" detached
}

# The keeper killed: its daemon drains and goes, the next attach replaces
# what is left.
test_keeper_killed() {
	local keeper pid i
	check "attach" as attach
	detach_after
	keeper=$(status_field 'd["keeper_pid"]')
	pid=$(status_field 'd["pid"]')
	kill -9 "$keeper"
	for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	check "keeper killed: its daemon exits too" bash -c '! kill -0 '$pid' 2>/dev/null'
	expect_eq "... orphaned" "$(lifecycle)" orphaned
	check "... acme-tls/1 goes to nginx" nginx_refuses_acme $SRV4 orphan.test
	check "attach replaces it" as attach
	check "challenge add rep.test" "$ALPNSTEER" challenge add rep.test ka.rep
	check "... and steers" acme_ok $SRV4 rep.test ka.rep
	check "detach --wait" as detach --wait=10
}

# 4. --ttl: steering ends by itself when the detach never comes.
test_ttl() {
	check "attach --holder short --ttl 3s" as attach --holder short --ttl 3s
	detach_after
	expect_eq "attached" "$(lifecycle)" attached
	check "... and detached by itself within 10 s" wait_for 'd["lifecycle"]' detached 100
	check "... acme-tls/1 goes to nginx again" nginx_refuses_acme $SRV4 ttl.test
	check "... and the pins are gone" test ! -e $PINS
}

# 5. the daemon starts clean: no caller descriptor, cwd /, its own umask;
# 7 (issue 9): the run and pin directories are root's while attached.
test_daemon_starts_clean() {
	local pid keeper p fds lockfd
	mkdir -p "$ST_WORK/cwd"
	exec 7>"$ST_WORK/inherited"
	check "flock FILE alpnsteer attach (from another cwd, fd 7 open)" \
		bash -c 'cd "$0" && flock "$1" nsenter --net=/var/run/netns/'$ST_SRV' "$2" attach' \
		"$ST_WORK/cwd" "$ST_WORK/cron.lock" "$ALPNSTEER"
	detach_after
	exec 7>&-
	check "the caller's flock is free once attach returned" flock -n "$ST_WORK/cron.lock" true
	pid=$(status_field 'd["pid"]')
	keeper=$(status_field 'd["keeper_pid"]')
	for p in $pid $keeper; do
		fds=$(ls -l /proc/$p/fd 2>/dev/null | sed 1d)
		check "[$p] no descriptor on the caller's lock or fd 7" \
			bash -c '! grep -qE "cron.lock|inherited" <<<"$0"' "$fds"
		expect_eq "[$p] cwd is /" "$(readlink /proc/$p/cwd)" /
	done
	expect_eq "the daemon's umask" "$(awk '/^Umask/ {print $2}' /proc/$pid/status)" 0077
	expect_eq "the keeper's umask" "$(awk '/^Umask/ {print $2}' /proc/$keeper/status)" 0022
	check "the daemon holds no descriptor on the lock files" \
		bash -c '! ls -l /proc/$0/fd | grep -q "'$RUN'/.*lock"' $pid
	lockfd=$(ls -l /proc/$keeper/fd | awk -v f="$RUN/lock" '$NF == f {print $9}')
	expect_eq "the keeper's lock descriptor is O_RDONLY" \
		"$(python3 -c 'import sys; print(int(open(sys.argv[1]).read().split("flags:")[1].split()[0], 8) & 3)' /proc/$keeper/fdinfo/${lockfd:-none} 2>/dev/null)" 0
	expect_eq "while attached: $RUN is root's" "$(stat -c %U $RUN)" root
	expect_eq "while attached: $PINS is root's" "$(stat -c %U $PINS)" root
	check "detach --wait" as detach --wait=10
	expect_eq "after detach: $RUN is root's" "$(stat -c %U $RUN)" root
	check "after detach: $PINS is gone" test ! -e $PINS
}

# Planted by a compromised daemon (issue 9): symlinks to a root-only file,
# the run and pin directories handed to the daemon user, a symlinked pin
# directory.  Each is taken away again after the test.
test_planted_run_and_pins() {
	local f out rc
	# Only what was planted goes (last first: the detach, then these).
	st_defer bash -c 'for f in "$@"; do [ ! -L "$f" ] || rm -f "$f"; done' - \
		$RUN/daemon.log $RUN/lock $PINS
	st_defer chown root $RUN
	detach_after
	printf secret > "$ST_WORK/rootonly"
	chmod 600 "$ST_WORK/rootonly"
	for f in daemon.log lock; do
		ln -sfn "$ST_WORK/rootonly" $RUN/$f
		attach_out
		check "$RUN/$f -> a root-only file: attach refuses (exit $rc)" test "$rc" -eq 1
		check "... with an Error" grep -q "^Error: .*$f" <<<"$out"
		expect_eq "... the file is untouched" "$(cat "$ST_WORK/rootonly")" secret
		expect_eq "... nothing attached" "$(lifecycle)" detached
		rm -f $RUN/$f
	done
	# The run directory handed to the daemon user, as older versions did,
	# with what a stopped agent leaves there (its lock and pid files):
	# ours, so emptied too.
	ln -sfn "$ST_WORK/rootonly" $RUN/daemon.log
	chown -h alpnsteer $RUN/daemon.log
	: > $RUN/agent.lock
	echo 1 > $RUN/agent.pid
	chown alpnsteer $RUN
	attach_out
	expect_eq "$RUN owned by alpnsteer: attach takes it back and attaches" "$rc" 0
	expect_eq "... $RUN is root's" "$(stat -c %U $RUN)" root
	expect_eq "... the planted symlink is gone" "$(stat -c %F $RUN/daemon.log)" "regular file"
	expect_eq "... the file is untouched" "$(cat "$ST_WORK/rootonly")" secret
	check "detach --wait" as detach --wait=10
	mkdir -p $PINS
	chown alpnsteer $PINS
	check "$PINS left empty and owned by alpnsteer: attach remakes it" as attach
	expect_eq "... root's" "$(stat -c %U $PINS)" root
	check "detach --wait" as detach --wait=10
	mkdir -p "$ST_WORK/pins"
	ln -sfn "$ST_WORK/pins" $PINS
	attach_out
	check "$PINS a symlink: attach refuses (exit $rc)" test "$rc" -eq 1
	check "... nothing pinned through it" test -z "$(ls -A "$ST_WORK/pins")"
	rm -f $PINS
}

# 8 (issue 9). A --user that does not exist.
test_user_missing() {
	local out rc
	detach_after
	attach_out --user nosuchuser
	expect_eq "--user nosuchuser: exit 1" "$rc" 1
	check "... an Error and a Hint" bash -c 'grep -q "^Error: .*nosuchuser" <<<"$0" && grep -q "^Hint: .*--user root" <<<"$0"' "$out"
	expect_eq "... nothing attached" "$(lifecycle)" detached
	check "--user root, given: attaches" as attach --user root
	expect_eq "... the daemon is root" "$(awk '/^Uid/ {print $2}' /proc/$(status_field 'd["pid"]')/status)" 0
	check "detach --wait" as detach --wait=10
}

# 6. v4-mapped: nginx on [::]:443 with ipv6only=off only.  Last: it ends
# lib.sh's nginx, and the dual-stack one it starts ends with the test.
test_v4_mapped() {
	local old i
	old=$(cat "$ST_WORK/nginx.pid")
	kill "$old"
	for i in $(seq 1 100); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
	sed -e '/listen 443 ssl;/d' -e 's/listen \[::\]:443 ssl;/listen [::]:443 ssl ipv6only=off;/' \
		"$ST_WORK/web/nginx.conf" > "$ST_WORK/nginx-dual.conf"
	st_spawn ip netns exec $ST_SRV nginx -c "$ST_WORK/nginx-dual.conf"
	wait_port 127.0.0.1 443
	listeners() { in_srv ss -Hltn "sport = :443" | awk '{print $4}' | sort | tr '\n' ' '; }
	for i in $(seq 1 100); do [ "$(listeners)" = "*:443 " ] && break; sleep 0.1; done
	expect_eq "nginx listens on [::]:443 only (dual-stack)" "$(listeners)" "*:443 "
	check "attach (built-in)" as attach
	detach_after
	check "challenge add v4m.test" "$ALPNSTEER" challenge add v4m.test ka.v4m
	check "an IPv4 validation through the dual-stack listener" acme_ok $SRV4 v4m.test ka.v4m
	check "... logged as IPv4" grep -q "answered 198.18.4.2:[0-9]* for v4m.test" $RUN/daemon.log
	check "... not as v4-mapped IPv6" bash -c '! grep -q "::ffff:" '$RUN/daemon.log
	expect_eq "... counted as IPv4" \
		"$("$ALPNSTEER" -j challenge list | python3 -c 'import json,sys; c=json.load(sys.stdin)[0]; print(c["answered_ipv4"], c["answered_ipv6"])')" "1 0"
	check "detach --wait" as detach --wait=10
}

# Every failed attach says what failed, once: with /sys/fs/bpf read-only
# (as a systemd unit's ProtectKernelTunables=yes makes it), the pin
# directory cannot be made; attach exits 1 with one Error naming it and a
# Hint, and leaves nothing behind.
test_readonly_bpffs() {
	local out rc
	detach_after
	out=$(unshare --mount --propagation private -- sh -c \
		'mount -o remount,ro,bind /sys/fs/bpf && exec nsenter --net=/var/run/netns/'"$ST_SRV"' "$0" -d attach' \
		"$ALPNSTEER" 2>&1) && rc=0 || rc=$?
	grep -E '^(Error|Hint|Warning): ' <<<"$out" | sed 's/^/#   /'
	expect_eq "attach on a read-only /sys/fs/bpf: exit 1" "$rc" 1
	expect_eq "... one Error line" "$(grep -c '^Error: ' <<<"$out")" 1
	check "... naming the pin directory and why" grep -q "^Error: .*$PINS.*Read-only file system" <<<"$out"
	expect_eq "... one Hint line" "$(grep -c '^Hint: ' <<<"$out")" 1
	expect_eq "... nothing attached" "$(lifecycle)" detached
	check "... no keeper or daemon left" bash -c '! pgrep -f "alpnsteer -d [a]ttach" >/dev/null'
}

# The daemon expires a challenge by its ttl itself, with or without an
# agent: `challenge add --ttl` straight to the daemon.
test_challenge_ttl() {
	local out rc
	check "attach" as attach
	detach_after
	out=$("$ALPNSTEER" challenge add ttlc.test ka.ttlc --ttl 2s 2>&1) && rc=0 || rc=$?
	echo "$out" | sed 's/^/#   /'
	expect_eq "challenge add --ttl 2s without an agent" "$rc" 0
	check "... answered meanwhile" acme_ok $SRV4 ttlc.test ka.ttlc
	check "... listed with its expiry" bash -c '"$0" -j challenge list | python3 -c "import json,sys,time; l=json.load(sys.stdin); assert 0 < l[0][\"expires\"] - time.time() <= 3"' "$ALPNSTEER"
	check "... gone from the list within 5 s" wait_for 'len(json.loads(__import__("subprocess").check_output(["'"$ALPNSTEER"'", "-j", "challenge", "list"])))' 0 50
	check "... and no longer answered: acme-tls/1 goes to nginx" nginx_refuses_acme $SRV4 ttlc.test
	check "... the daemon said so" grep -q "challenge ttlc.test expired (ttl)" $RUN/daemon.log
	check "detach --wait" as detach --wait=10
}

# detach --wait returns once the keeper, the daemon and its TLS worker are
# gone, not only the pins: a package's prerm or a unit's stop that follows
# must find no process of ours.
test_detach_wait_processes_gone() {
	local keeper pid worker p left=""
	check "attach" as attach
	detach_after
	keeper=$(status_field 'd["keeper_pid"]')
	pid=$(status_field 'd["pid"]')
	worker=$(pgrep -P "$pid" | head -1)
	check "detach --wait" as detach --wait=10
	for p in $keeper $pid $worker; do
		[ -e /proc/$p ] && [ "$(awk '{print $3}' /proc/$p/stat 2>/dev/null)" != Z ] && left="$left $p"
	done
	expect_eq "keeper $keeper, daemon $pid, worker $worker gone when detach --wait returns" "${left:-none}" none
	expect_eq "... and status says detached" "$(lifecycle)" detached
}

st_setup
st_dmesg_mark
st_test attach_calls_drain_off test_attach_calls_drain_off
st_test attach_waits_for_drain test_attach_waits_for_drain
st_test other_options_refused test_other_options_refused
st_test holders test_holders
st_test run_unit_and_forward_hook test_run_unit_and_forward_hook
st_test hooks_attach_as_holders test_hooks_attach_as_holders
st_test keeper_killed test_keeper_killed
st_test ttl test_ttl
st_test daemon_starts_clean test_daemon_starts_clean
st_test planted_run_and_pins test_planted_run_and_pins
st_test user_missing test_user_missing
st_test readonly_bpffs test_readonly_bpffs
st_test challenge_ttl test_challenge_ttl
st_test detach_wait_processes_gone test_detach_wait_processes_gone
st_test v4_mapped test_v4_mapped
check "no kernel WARN" st_dmesg_clean
st_summary
