#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Privilege separation (issue 9, finding 2): after attach, the process that
# parses TLS from the Internet is a worker with no capability, an empty
# bounding set, no_new_privs, a seccomp filter and no descriptor but its
# own (no BPF map: it cannot remove a socket from conns); the monitor keeps
# the maps and no capability (CAP_DAC_READ_SEARCH only with --alpn-dir).
# Killing the worker, or making it break its seccomp filter, ends neither
# the monitor nor normal traffic, and validations work again.
. "$(dirname "$0")/lib.sh"
st_setup
st_dmesg_mark
LOG=/run/alpnsteer/daemon.log
CHECK=(ip netns exec $ST_CLI /usr/bin/python3 "$HERE/check_cert.py")
valid() { "${CHECK[@]}" "$@" > /dev/null 2>&1; }
st() { awk -v k="$2:" '$1 == k {print $2}' /proc/$1/status; }
monitor() { status_field 'd["pid"]'; }
# The worker: the monitor's only child.
worker_of() { pgrep -P "$1" | head -1; }
# wait_worker MONITOR [NOT_PID]: a worker (other than NOT_PID) within 5 s
wait_worker() {
	local i w
	for i in $(seq 1 50); do
		w=$(worker_of "$1")
		if [ -n "$w" ] && [ "$w" != "${2:-}" ] &&
		   [ "$(st "$w" Seccomp)" = 2 ]; then
			echo "$w"
			return 0
		fi
		sleep 0.1
	done
	return 1
}
web_ok() { [ "$(web_curl -sk --max-time 5 https://$SRV4/)" = hello-from-nginx ]; }
# s_client: the acme-tls/1 handshake, as a CA's first step
s_client_acme() {
	in_cli timeout 10 openssl s_client -connect $SRV4:443 -servername "$1" \
		-alpn acme-tls/1 < /dev/null 2>&1 | grep -q '^ALPN protocol: acme-tls/1'
}
# fd_kinds PID: what each descriptor is, one a line
fd_kinds() { for f in /proc/$1/fd/*; do readlink "$f"; done; }
caps_line() {
	local p=$1
	echo "CapInh=$(st $p CapInh) CapPrm=$(st $p CapPrm) CapEff=$(st $p CapEff) CapBnd=$(st $p CapBnd) CapAmb=$(st $p CapAmb) NoNewPrivs=$(st $p NoNewPrivs) Seccomp=$(st $p Seccomp)"
}
Z=0000000000000000

check "attach (built-in responder)" as attach --pool 8 --per-source 0
mon=$(monitor)
w=$(wait_worker "$mon") || w=
check "the monitor has a TLS worker child" test -n "$w"
w=${w:-999999999}
echo "# monitor $mon: $(caps_line $mon)"
echo "# worker  $w: $(caps_line $w)"
expect_eq "worker CapEff" "$(st $w CapEff)" $Z
expect_eq "worker CapPrm" "$(st $w CapPrm)" $Z
expect_eq "worker CapInh" "$(st $w CapInh)" $Z
expect_eq "worker CapAmb" "$(st $w CapAmb)" $Z
expect_eq "worker CapBnd (empty bounding set)" "$(st $w CapBnd)" $Z
expect_eq "worker NoNewPrivs" "$(st $w NoNewPrivs)" 1
expect_eq "worker Seccomp (filter mode)" "$(st $w Seccomp)" 2
expect_eq "worker runs as the alpnsteer user" "$(st $w Uid)" "$(id -u alpnsteer)"
expect_eq "worker is not dumpable (its /proc files are root's)" "$(stat -c %u /proc/$w/mem 2>/dev/null)" 0
fd_kinds $w | sed 's/^/#   worker fd: /'
expect_eq "worker holds no BPF map, program or link" "$(fd_kinds $w | grep -c 'bpf')" 0
expect_eq "worker maps no BPF map (the ring buffer's pages went)" "$(grep -c 'anon_inode:bpf' /proc/$w/maps)" 0
expect_eq "worker holds no file but /dev/null (no log, no control socket)" \
	"$(fd_kinds $w | grep '^/' | grep -vc '^/dev/null$')" 0
# Issue 19: it holds each free slot's socket in advance (a steered hello
# is answered without waiting for the monitor), and nothing else.
expect_eq "worker holds its socket, its epoll and the free slots' sockets only, besides 0-2" \
	"$(fd_kinds $w | wc -l)" $((5 + $(status_field 'd["pool"]["free"]')))
expect_eq "worker may write no file (RLIMIT_FSIZE 0)" \
	"$(awk '/^Max file size/ {print $4}' /proc/$w/limits)" 0
expect_eq "worker may not fork (RLIMIT_NPROC 0)" \
	"$(awk '/^Max processes/ {print $3}' /proc/$w/limits)" 0
# The monitor: the maps, and no capability left.
expect_eq "monitor CapEff (no capability)" "$(st $mon CapEff)" $Z
expect_eq "monitor CapPrm" "$(st $mon CapPrm)" $Z
expect_eq "monitor CapBnd (empty bounding set)" "$(st $mon CapBnd)" $Z
expect_eq "monitor NoNewPrivs" "$(st $mon NoNewPrivs)" 1
expect_eq "monitor Seccomp (its own filter, msandbox.c)" "$(st $mon Seccomp)" 2
check "monitor holds the maps" test "$(fd_kinds $mon | grep -c 'anon_inode:bpf-map')" -gt 0

check "challenge add ps.test" "$ALPNSTEER" challenge add ps.test ka-ps
check "openssl s_client negotiates acme-tls/1 for ps.test" s_client_acme ps.test
check "alpnsteer check ps.test passes" in_cli "$ALPNSTEER" check ps.test --address $SRV4 --keyauth ka-ps
check "the certificate passes every CA rule (IPv6)" valid $SRV6 ps.test ka-ps
check "a name not pending still reaches nginx" nginx_refuses_acme $SRV4 other.test
check "no ALPN reaches nginx" web_ok
expect_eq "the worker still holds no BPF object after validations" "$(fd_kinds $w | grep -c 'bpf')" 0

# --- the hello goes to the worker without the monitor (issue 19) ----------
# The worker holds the free slots in advance: with the monitor stopped, a
# validation is still answered (it used to wait for the monitor to hand
# the slot over, and time out).  Once the monitor runs again it counts the
# answer: the worker's DONE may be read before the ring buffer's record.
answered4() {
	"$ALPNSTEER" -j status | python3 -c 'import json,sys; print([x for x in json.load(sys.stdin)["challenges"] if x["identifier"] == "ps.test"][0]["answered_ipv4"])'
}
a0=$(answered4)
kill -STOP $mon
r=0
in_cli timeout 8 /usr/bin/python3 "$HERE/check_cert.py" $SRV4 ps.test ka-ps >/dev/null 2>&1 || r=$?
kill -CONT $mon
expect_eq "a validation is answered while the monitor is stopped" "$r" 0
for i in $(seq 1 50); do [ "$(answered4)" = $((a0 + 1)) ] && break; sleep 0.1; done
expect_eq "... and counted once the monitor runs again" "$(answered4)" $((a0 + 1))
check "... and the worker was not killed for it" test "$(worker_of $mon)" = "$w"

# --- the worker killed ----------------------------------------------------
[ "$w" -gt 1 ] && kill -KILL $w
w2=$(wait_worker "$mon" "$w") || w2=
check "the monitor survives its worker's SIGKILL" test -d /proc/$mon
check "normal traffic is intact meanwhile" web_ok
check "a new worker is started" test -n "$w2"
w2=${w2:-999999999}
check "... and logged" grep -q "TLS worker $w killed by signal 9" $LOG
expect_eq "the new worker is confined too" "$(st $w2 CapEff) $(st $w2 CapBnd) $(st $w2 Seccomp) $(st $w2 NoNewPrivs)" "$Z $Z 2 1"
check "a validation passes with the new worker" valid $SRV4 ps.test ka-ps
check "alpnsteer check passes again" in_cli "$ALPNSTEER" check ps.test --address $SRV6 --keyauth ka-ps

# --- a seccomp violation --------------------------------------------------
# The worker's next read or epoll_wait becomes getuid(), which its
# allow-list lacks: the kernel kills it with SIGSYS.  Nothing in the
# shipped binary is there for the test.
strace -qq -p $w2 -e trace=read,epoll_wait -e inject=read,epoll_wait:error=EINTR:syscall=getuid:when=1 \
	> /dev/null 2>&1 &
ST_PIDS+=($!)
sleep 0.5
valid $SRV4 ps.test ka-ps || true
w3=$(wait_worker "$mon" "$w2") || w3=
check "a seccomp violation kills the worker (SIGSYS, logged)" grep -q "TLS worker $w2 killed by signal 31 (SIGSYS" $LOG
check "... and not the monitor" test -d /proc/$mon
check "... normal traffic is intact" web_ok
check "... a new worker is started" test -n "$w3"
check "... and validations pass again" valid $SRV4 ps.test ka-ps
# A new worker gets every pending certificate again: 1,000 of them at
# once, more than its socket holds, so the monitor queues.
for i in $(seq 1 999); do
	"$ALPNSTEER" challenge add "m$i.many.test" "ka-m$i" || break
done
check "a validation passes for the 999th name added" valid $SRV4 m999.many.test ka-m999
w3=$(worker_of "$mon")
[ -n "$w3" ] && kill -KILL "$w3"
w4=$(wait_worker "$mon" "$w3") || w4=
check "after a kill with 1,000 names pending, a new worker" test -n "$w4"
# The monitor hands the 1,000 certificates as the new worker's socket
# takes them: under qemu's TCG that took longer than one validation.
valid_soon() {
	local i
	for i in $(seq 1 20); do
		valid "$@" && return 0
		sleep 0.5
	done
	return 1
}
check "... answers the last name added (within 10 s)" valid_soon $SRV6 m999.many.test ka-m999
check "... and the first" valid $SRV4 ps.test ka-ps
check "... and the monitor queued nothing it could not send" bash -c "! grep -q 'stopped reading its socket' $LOG"
sed -n '/TLS worker/p' $LOG | tail -6 | sed 's/^/#   log: /'
check "detach --wait" as detach --wait=20

# --- --alpn-dir: the monitor keeps CAP_DAC_READ_SEARCH, the worker not ---
mkdir -p "$ST_WORK/alpn"
check "attach --alpn-dir" as attach --pool 4 --alpn-dir "$ST_WORK/alpn"
mon=$(monitor)
w=$(wait_worker "$mon") || w=999999999
echo "# monitor $mon: $(caps_line $mon)"
echo "# worker  $w: $(caps_line $w)"
expect_eq "monitor CapEff with --alpn-dir: CAP_DAC_READ_SEARCH only" "$(st $mon CapEff)" 0000000000000004
expect_eq "... its bounding set is empty all the same" "$(st $mon CapBnd)" $Z
expect_eq "the worker has nothing (CapEff CapPrm CapBnd)" "$(st $w CapEff) $(st $w CapPrm) $(st $w CapBnd)" "$Z $Z $Z"
check "detach --wait" as detach --wait=20

# --- --forward: the worker relays, the monitor connects --------------------
check "attach --forward 127.0.0.1:8443" as attach --pool 4 --forward 127.0.0.1:8443
mon=$(monitor)
w=$(wait_worker "$mon") || w=999999999
expect_eq "a worker relays, confined" "$(st $w CapEff) $(st $w CapBnd) $(st $w Seccomp)" "$Z $Z 2"
expect_eq "relayed acme-tls/1 reaches the external responder" "$(field "$(tls $SRV4 --alpn acme-tls/1 --sni fwd.test)" cn)" acme-responder
check "normal traffic reaches nginx" web_ok
expect_eq "the relaying worker holds no BPF object" "$(fd_kinds $w | grep -c 'bpf')" 0
check "detach --wait" as detach --wait=20
check "no kernel WARN" st_dmesg_clean
st_summary
