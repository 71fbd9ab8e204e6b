#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Internet-facing hardening (issue 9, findings 4-7), as an attacker would
# try it: silent and finished clients that sit on the validation pool, one
# network taking it all, a burst of 50 validations from several networks,
# an idle control-socket client, symlinks/FIFOs/huge files in --alpn-dir,
# forged log lines through the SNI, a ClientHello with two ALPN
# extensions, long names, 1,025 challenges and non-root status.  One
# function per test (lib.sh, st_test), each with its own attachment.
. "$(dirname "$0")/lib.sh"
ABUSE=(python3 "$HERE/abuse.py")
LOG=/run/alpnsteer/daemon.log
valid() { "${CHECK[@]}" "$@" > /dev/null 2>&1; }
pid_of_daemon() { status_field 'd["pid"]'; }
log_has() { grep -q -- "$1" "$LOG"; }
quiet() { "$@" > /dev/null; }
npending() { "$ALPNSTEER" -j challenge list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
# Clients started here, ended by PID before each detach (the end of the
# test ends them too); nsenter execs, so $! is the client itself.
HD_PIDS=()
cli_bg() {
	nsenter --net=/var/run/netns/$ST_CLI "$@" &
	HD_PIDS+=($!)
	ST_PIDS+=($!)
}
end_clients() {
	local p
	for p in "${HD_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${HD_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	HD_PIDS=()
}
# attach_test DESCRIPTION ARGS...: the test's attachment, detached after it
attach_test() {
	local what=$1
	shift
	check "$what" as attach "$@"
	st_defer as detach --all --wait=20
}
# add_burst_names: b1-b5.test, the names the burst and the idle clients use
add_burst_names() {
	local i
	for i in 1 2 3 4 5; do "$ALPNSTEER" challenge add b$i.test ka-$i; done
}

# --- finding 4: the pool -------------------------------------------------
POOL4=(--pool 4 --pool-max 4 --per-source 0 --handshake-timeout 2)
test_silent_clients_time_out() {
	local i t0 t1 ok_after=0
	attach_test "attach --pool 4 --pool-max 4 --per-source 0 --handshake-timeout 2" "${POOL4[@]}"
	check "challenge add pool.test" "$ALPNSTEER" challenge add pool.test ka-pool
	# Four silent clients take the whole pool for 60 s.
	for i in 1 2 3 4; do
		cli_bg "${ABUSE[@]}" hold $SRV4 pool.test 60 > /dev/null
	done
	check "four silent acme-tls/1 clients took the four slots" wait_for 'd["counters"]["steered"]' 4 100
	t0=$(date +%s%N)
	# The handshake timeout (2 s, swept every second) frees the slots; the
	# silent clients are still connected.
	for i in $(seq 1 40); do
		if valid $SRV4 pool.test ka-pool; then ok_after=1; break; fi
		sleep 0.25
	done
	t1=$(date +%s%N)
	echo "# a validation passed $(( (t1 - t0) / 1000000 )) ms after the pool was held"
	check "a validation arriving after the timeout passes while the silent clients stay" test $ok_after = 1
	check "... within 8 s of the pool being held (timeout 2 s)" test $(( (t1 - t0) / 1000000 )) -lt 8000
	# Late bytes of a timed-out client never reach the next one: its slot
	# was disowned, so the kernel drops them.
	check "every slot is free again within 4 s, the silent clients still connected" wait_for 'd["pool"]["in_use"]' 0 40
	end_clients
	check "detach --wait" as detach --wait=20
}

# Four clients that finished a validation and stay connected.
test_finished_clients_free_slots() {
	local i t0 t1
	attach_test "attach --pool 4 --pool-max 4 --per-source 0 --handshake-timeout 2" "${POOL4[@]}"
	check "challenge add pool.test" "$ALPNSTEER" challenge add pool.test ka-pool
	for i in 1 2 3 4; do
		cli_bg "${ABUSE[@]}" hold $SRV4 pool.test 60 --done > "$ST_WORK/done$i.out"
	done
	for i in $(seq 1 100); do
		[ "$(cat "$ST_WORK"/done*.out 2>/dev/null | grep -c '"done": true')" = 4 ] && break
		sleep 0.1
	done
	expect_eq "four clients finished their validation and stay connected" \
		"$(cat "$ST_WORK"/done*.out | grep -c '"done": true')" 4
	t0=$(date +%s%N)
	check "a fifth validation passes at once (slots freed right after the handshake)" valid $SRV4 pool.test ka-pool
	t1=$(date +%s%N)
	check "... well before the handshake timeout" test $(( (t1 - t0) / 1000000 )) -lt 1900
	check "... and every slot is free again" wait_for 'd["pool"]["in_use"]' 0 20
	end_clients
	check "detach --wait" as detach --wait=20
}

# The per-source cap: one /24 holds at most --per-source slots.
test_per_source_cap() {
	local i out r
	attach_test "attach --pool 16 --pool-max 16 --per-source 2" --pool 16 --pool-max 16 --per-source 2
	check "challenge add cap.test" "$ALPNSTEER" challenge add cap.test ka-cap
	for i in 1 2 3 4; do
		cli_bg "${ABUSE[@]}" hold $SRV4 cap.test 60 --source 198.18.16.2 > /dev/null
	done
	check "one /24 got two slots" wait_for 'd["counters"]["steered"]' 2 100
	check "... and the other two hellos were capped" wait_for 'd["counters"]["src_capped"]' 2 100
	check "a validation from another /24 passes" valid $SRV4 cap.test ka-cap --source 198.18.17.2
	check "a validation from IPv6 passes" valid $SRV6 cap.test ka-cap
	out=$("${CHECK[@]}" $SRV4 cap.test ka-cap --source 198.18.16.2 2>&1) && r=0 || r=$?
	check "a third from the capped /24 goes to the webserver" test $r -ne 0
	end_clients
	check "detach --wait" as detach --wait=20
}

# Default options: a burst of 50 validations at the same instant from 13
# networks (the CA's perspectives), more than the 16 slots made at attach.
test_burst_default_options() {
	local srcs out
	attach_test "attach (default pool options)"
	add_burst_names
	srcs=$(seq -s, -f '198.18.%g.2' 16 28)
	out=$(in_cli "${ABUSE[@]}" burst $SRV4 50 "$srcs" b1.test b2.test b3.test b4.test b5.test)
	echo "# burst: $out; pool after it: $(status_field 'd["pool"]')"
	expect_eq "50 simultaneous validations from 13 networks all pass (default options)" \
		"$(field "$out" ok)" 50
	expect_eq "none was capped or left without a slot" "$(status_field 'd["counters"]["no_slot"] + d["counters"]["src_capped"]')" 0
	seq 0 9 | xargs -P 10 -I{} bash -c '
		i=$(( {} % 5 + 1 )); src=198.18.$(( {} % 13 + 16 )).2
		ip netns exec '$ST_CLI' /usr/bin/python3 '"$HERE"'/check_cert.py '$SRV4' b$i.test ka-$i --source $src >/dev/null && echo OK' > "$ST_WORK/burst.out"
	expect_eq "... and 10 more pass every CA rule (check_cert.py)" "$(grep -c OK "$ST_WORK/burst.out")" 10
}

# --- finding 7: long names, bad identifiers, the pending limit ----------
test_names() {
	local long out r m0 s0
	attach_test "attach (default pool options)"
	add_burst_names
	long=$(printf 'a%.0s' $(seq 1 63)).$(printf 'b%.0s' $(seq 1 63)).$(printf 'c%.0s' $(seq 1 50)).test
	check "a ${#long}-character name can be added" "$ALPNSTEER" challenge add "$long" ka-long
	check "... and passes every CA rule" valid $SRV4 "$long" ka-long
	out=$("$ALPNSTEER" challenge add 1.2.3.4. x 2>&1) && r=0 || r=$?
	check "'1.2.3.4.' is refused as a DNS name" grep -q "^Error: .*not a DNS name" <<<"$out"
	# Same ALPN twice, the first offering acme-tls/1: malformed, the webserver's.
	m0=$(counter malformed)
	s0=$(counter steered)
	in_cli "${ABUSE[@]}" hello $SRV4 "$(printf b1.test | od -An -tx1 | tr -d ' \n')" acme-tls/1,h2 --alpn-twice > /dev/null
	expect_eq "a hello with two ALPN extensions is malformed" $(( $(counter malformed) - m0 )) 1
	expect_eq "... and not steered" $(( $(counter steered) - s0 )) 0
}

# Non-root status cannot read the pins: it must not say "detached".
test_nonroot_status() {
	local out
	attach_test "attach (default pool options)"
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$ST_WORK/alpnsteer-copy" -j status 2>&1)
	echo "# non-root status: ${out:0:120}"
	check "status as a non-root user does not say detached while attached" \
		python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(not (d["state"] != "detached" and d["attached"] is not False))' "$out"
}

# 1,024 pending names fit the kernel's map; the 1,025th is refused.
test_pending_limit() {
	local n i out r
	attach_test "attach (default pool options)"
	add_burst_names
	n=$(npending)
	for i in $(seq $((n + 1)) 1024); do
		"$ALPNSTEER" challenge add "p$i.a-long-label-to-make-the-list-big.test" "ka-$i" || break
	done
	out=$("$ALPNSTEER" challenge add one-too-many.test x 2>&1) && r=0 || r=$?
	check "the 1,025th challenge is refused at add time" grep -q "^Error: too many pending challenges (at most 1024" <<<"$out"
	"$ALPNSTEER" -j challenge list > "$ST_WORK/list.json"
	echo "# challenge list -j: $(wc -c < "$ST_WORK/list.json") bytes"
	check "challenge list -j past 64 KiB is valid JSON with 1,024 entries" \
		python3 -c 'import json,sys; sys.exit(len(json.load(open(sys.argv[1]))) != 1024)' "$ST_WORK/list.json"
	check "status -j is valid JSON with 1,024 challenges" \
		python3 -c 'import json,subprocess,sys; d=json.loads(subprocess.check_output([sys.argv[1], "-j", "status"])); sys.exit(len(d["challenges"]) != 1024)' "$ALPNSTEER"
}

# --- finding 5: an idle control client ----------------------------------
# idle_up FILE: the idle client in FILE has connected
idle_up() { wait_file "$1" '"idle": true'; }
wait_file() { local i; for i in $(seq 1 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
test_idle_control_client() {
	local i pid
	attach_test "attach (default pool options)"
	add_burst_names
	in_srv "${ABUSE[@]}" ctl-idle /run/alpnsteer/control.sock 8 > "$ST_WORK/idle.out" &
	ST_PIDS+=($!)
	check "an idle control client is connected" idle_up "$ST_WORK/idle.out"
	sleep 0.2
	check "with an idle control client, a validation still passes" valid $SRV6 b1.test ka-1
	check "... and a challenge can be added (replaced)" timeout 5 "$ALPNSTEER" challenge add b2.test ka-2
	for i in $(seq 1 10); do
		in_srv "${ABUSE[@]}" ctl-idle /run/alpnsteer/control.sock 8 > /dev/null &
		ST_PIDS+=($!)
	done
	sleep 0.3
	check "with ten idle control clients, challenge list still answers" quiet timeout 5 "$ALPNSTEER" challenge list
	for i in $(seq 1 50); do grep -q closed_by_daemon "$ST_WORK/idle.out" && break; sleep 0.1; done
	check "the idle client was dropped at its deadline" grep -q '"closed_by_daemon": true' "$ST_WORK/idle.out"
	in_srv "${ABUSE[@]}" ctl-idle /run/alpnsteer/control.sock 30 > "$ST_WORK/idle2.out" &
	ST_PIDS+=($!)
	idle_up "$ST_WORK/idle2.out"
	sleep 0.2
	pid=$(pid_of_daemon)
	kill -TERM "$pid"
	for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	check "SIGTERM ends the daemon while a control client is idle" test ! -d /proc/$pid
	expect_eq "... detached" "$(status_field 'd["state"]')" detached
}

# --control-group: the socket gets its group and mode as it is created.
test_control_group() {
	local out r
	attach_test "attach --control-group nogroup --forward (every acme-tls/1 hello steered)" \
		--control-group nogroup --forward 127.0.0.1:8443
	expect_eq "the socket is root:nogroup 660" "$(stat -c '%U:%G %a' /run/alpnsteer/control.sock)" "root:nogroup 660"
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$ST_WORK/alpnsteer-copy" challenge list 2>&1) && r=0 || r=$?
	check "a member of the group may list challenges" test $r = 0
	out=$(setpriv --reuid=65534 --regid=100 --clear-groups "$ST_WORK/alpnsteer-copy" challenge list 2>&1) && r=0 || r=$?
	check "someone outside the group may not" grep -qi "permission denied" <<<"$out"
}

# Issue 20, point 9: a --control-group member adds challenges for itself,
# never over root's or another member's, and (with root's
# /etc/alpnsteer/control-names) only for its names and their subdomains.
test_control_group_owners() {
	local out r
	member() { setpriv --reuid=65534 --regid=65534 --clear-groups "$ST_WORK/alpnsteer-copy" "$@" 2>&1; }
	member2() { setpriv --reuid=65533 --regid=65534 --clear-groups "$ST_WORK/alpnsteer-copy" "$@" 2>&1; }
	pending() { "$ALPNSTEER" -j challenge list 2>/dev/null | python3 -c 'import json,sys; print(" ".join(sorted(c["identifier"] for c in json.load(sys.stdin))))'; }
	attach_test "attach --control-group nogroup" --control-group nogroup
	check "root adds a.test" "$ALPNSTEER" challenge add a.test root-ka
	out=$(member challenge add a.test member-ka) && r=0 || r=$?
	echo "# member add over root's: $out"
	check "a member cannot replace root's challenge" test $r != 0
	out=$(member challenge remove a.test) && r=0 || r=$?
	check "a member cannot remove root's challenge" test $r != 0
	check "root's a.test still validates with root's key authorization" "${CHECK[@]}" $SRV4 a.test root-ka
	check "a member adds its own name" member challenge add m.test m-ka
	out=$(member2 challenge add m.test other-ka) && r=0 || r=$?
	check "another member cannot replace it" test $r != 0
	check "... which still validates with the first member's" "${CHECK[@]}" $SRV4 m.test m-ka
	check "root may replace a member's challenge" "$ALPNSTEER" challenge add m.test root-ka2
	check "the member removes its own" member challenge add m2.test x
	check "... and may remove it" member challenge remove m2.test
	as detach --all --wait=20
	# The policy file, root's, in this test's own mount namespace.
	mkdir -p /etc/alpnsteer
	mount -t tmpfs -o mode=0755 tmpfs /etc/alpnsteer
	st_defer umount /etc/alpnsteer
	printf '# the shop team\nshop.test\n' > /etc/alpnsteer/control-names
	chmod 644 /etc/alpnsteer/control-names
	attach_test "attach --control-group nogroup with a name policy" --control-group nogroup
	out=$(member challenge add www.bank.test evil-ka) && r=0 || r=$?
	echo "# member add outside its names: $out"
	check "a member cannot add a name outside its policy" test $r != 0
	check "a member adds a subdomain of its name" member challenge add www.shop.test shop-ka
	check "root adds any name" "$ALPNSTEER" challenge add www.bank.test bank-ka
	expect_eq "pending: root's and the member's allowed one" "$(pending)" "www.bank.test www.shop.test"
	chmod 666 /etc/alpnsteer/control-names
	as detach --all --wait=20
	out=$(as attach --control-group nogroup 2>&1) && r=0 || r=$?
	check "a policy file others may write stops attach" grep -q "^Error: .*control-names" <<<"$out"
}

# Issue 20, point 12: daemon.log (tmpfs) grew 113 bytes per steered
# handshake with no bound.  Its lines are now rate-limited (a burst of 100,
# then 10 a second, errors exempt; what is left out is counted in a note)
# and the file is cut back at 1 MiB with a note.
test_log_bounded() {
	local before after flood hs secs lines limit size
	attach_test "attach (built-in responder)" --pool 32 --per-source 0
	for i in 1 2 3; do "$ALPNSTEER" challenge add lg$i.test ka-$i; done
	sleep 1
	before=$(wc -l < "$LOG")
	flood=$(in_cli python3 "$HERE/../scripts/bench_handshakes.py" $SRV4 4 2 lg1.test lg2.test lg3.test)
	sleep 0.5
	after=$(wc -l < "$LOG")
	hs=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["handshakes"])' "$flood")
	secs=$(python3 -c 'import json,sys; print(int(json.loads(sys.argv[1])["seconds"]) + 2)' "$flood")
	lines=$((after - before))
	limit=$((100 + 10 * secs + 20))
	echo "# $hs handshakes in ${secs}s: $lines log lines ($(( (after - before) * 100 / (hs ? hs : 1) )) per 100 handshakes), limit $limit"
	check "the flood made more handshakes than the limit has lines" test "$hs" -gt "$limit"
	check "the log grew by at most the burst and the rate" test "$lines" -le "$limit"
	check "... and says how many lines it left out" grep -q "lines left out" "$LOG"
	# The file is cut back at its cap, with a note.
	truncate -s 1100K "$LOG"
	sleep 1.5
	check "a validation after the log reached its cap" "${CHECK[@]}" $SRV4 lg1.test ka-1
	sleep 0.5
	size=$(stat -c %s "$LOG")
	echo "# daemon.log: $size bytes after it reached 1100 KiB"
	check "daemon.log was cut back under 1 MiB" test "$size" -lt 1048576
	check "... with a note saying so" grep -q "log cut back" "$LOG"
}

# --- finding 7: the SNI reaches the log escaped (--forward) --------------
test_sni_logged_escaped() {
	local sni_hex
	attach_test "attach --forward (every acme-tls/1 hello steered)" --forward 127.0.0.1:8443
	sni_hex=$(printf 'fwd.test\nFAKE alpnsteer: answered evil\033[2J' | od -An -tx1 | tr -d ' \n')
	in_cli "${ABUSE[@]}" hello $SRV4 "$sni_hex" acme-tls/1 > /dev/null
	sleep 0.5
	in_srv cat "$LOG" | tail -5 | sed 's/^/#   log: /'
	# (the kernel lowercases the SNI it reports)
	check "a forged line through the SNI does not start a log line" bash -c "! grep -qi '^fake' $LOG"
	check "no raw escape byte reaches the log" bash -c "! grep -q $'\033' $LOG"
	check "the SNI is logged escaped" grep -q 'sni=fwd.test\\x0afake\\x20alpnsteer' "$LOG"
	check "detach --wait" as detach --wait=20
}

# --- finding 6: --alpn-dir takes small regular files only ---------------
test_alpn_dir_regular_files() {
	ALPNDIR=$ST_WORK/alpn
	mkdir -p "$ALPNDIR"
	attach_test "attach --alpn-dir" --alpn-dir "$ALPNDIR"
	dircert() { # NAME KEYFILE: a validation certificate for NAME with KEYFILE's key
		openssl req -x509 -key "$2" -nodes -days 2 -subj "/CN=$1" \
			-addext "subjectAltName=DNS:$1" \
			-addext "1.3.6.1.5.5.7.1.31=critical,DER:0420$(printf '%s' ka-$1 | sha256sum | cut -c1-64)" \
			-out "$ALPNDIR/$1.crt.pem" 2>/dev/null
	}
	# A certificate made for the webserver's own key, the key a symlink to it:
	# served, it would make the daemon sign with the webserver's real key.
	dircert sym.test "$ST_WORK/nginx.key"
	ln -s "$ST_WORK/nginx.key" "$ALPNDIR/sym.test.key.pem"
	mkfifo "$ALPNDIR/fifo.test.crt.pem"
	openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:prime256v1 -out "$ALPNDIR/fifo.test.key.pem" 2>/dev/null
	truncate -s 200M "$ALPNDIR/big.test.crt.pem"
	cp "$ALPNDIR/fifo.test.key.pem" "$ALPNDIR/big.test.key.pem"
	openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:prime256v1 -out "$ALPNDIR/good.test.key.pem" 2>/dev/null
	dircert good.test "$ALPNDIR/good.test.key.pem"
	sleep 0.5
	check "a regular pair in the directory is served" valid $SRV4 good.test ka-good.test
	check "a key that is a symlink is not served (the name stays with nginx)" nginx_refuses_acme $SRV4 sym.test
	check "... and the refusal is logged" log_has "sym.test.key.pem: refused: a symbolic link"
	check "a FIFO does not hang the daemon, and is logged" log_has "fifo.test.crt.pem: refused: not a regular file"
	check "a 200 MB file is refused unread, and logged" log_has "big.test.crt.pem: refused: larger than 64 KiB"
	check "the daemon still answers" valid $SRV6 good.test ka-good.test
	check "detach --wait" as detach --wait=20
}

st_require_cmd setpriv
st_setup
st_dmesg_mark
CHECK=(ip netns exec $ST_CLI /usr/bin/python3 "$HERE/check_cert.py")
# Thirteen more client networks, 198.18.16-28.0/24, for the per-source cap
# and the burst.
for i in $(seq 16 28); do
	ip -n $ST_CLI addr add 198.18.$i.2/32 dev $ST_V1
done
ip -n $ST_SRV route add 198.18.16.0/20 dev $ST_V0
# The binary where the nobody user can run it (status and the control
# socket as non-root).
cp "$ALPNSTEER" "$ST_WORK/alpnsteer-copy"
chmod 755 "$ST_WORK/alpnsteer-copy"

st_test silent_clients_time_out test_silent_clients_time_out
st_test finished_clients_free_slots test_finished_clients_free_slots
st_test per_source_cap test_per_source_cap
st_test burst_default_options test_burst_default_options
st_test names test_names
st_test nonroot_status test_nonroot_status
st_test pending_limit test_pending_limit
st_test idle_control_client test_idle_control_client
st_test control_group test_control_group
st_test control_group_owners test_control_group_owners
st_test log_bounded test_log_bounded
st_test sni_logged_escaped test_sni_logged_escaped
st_test alpn_dir_regular_files test_alpn_dir_regular_files
check "no kernel WARN" st_dmesg_clean
st_summary
