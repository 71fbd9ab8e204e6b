#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Issue 20, point 9, on the agent's socket: a --control-group member adds
# challenges through agent.sock for itself only, never over root's or
# another member's, and, with root's /etc/alpnsteer/control-names, only
# for its names and their subdomains: the rule of the daemon's
# control.sock (test_harden.sh, control_group_owners), through the
# agent; and a member reads only its own names' trace records.  One
# function per test (lib.sh, st_test), each with its own
# agent.
. "$(dirname "$0")/lib.sh"

# start_agent ARGS...: this test's agent, stopped after it
start_agent() {
	local i
	st_spawn nsenter --net=/var/run/netns/$ST_SRV "$ALPNSTEER" agent --grace 1s \
		--control-group nogroup "$@" >> "$ST_WORK/agent.log" 2>&1
	AGENT=${ST_PIDS[-1]}
	st_defer as agent stop
	for i in $(seq 1 100); do as agent status >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}
member() { setpriv --reuid=65534 --regid=65534 --clear-groups "$ST_WORK/alpnsteer-copy" "$@" 2>&1; }
member2() { setpriv --reuid=65533 --regid=65534 --clear-groups "$ST_WORK/alpnsteer-copy" "$@" 2>&1; }
valid() { "${CHECK[@]}" "$@" >/dev/null 2>&1; }
# traced [MEMBER]: the identifiers of the trace root (or MEMBER) reads
traced() {
	if [ -n "${1:-}" ]; then idents "$($1 challenge trace -j)"; else idents "$("$ALPNSTEER" challenge trace -j)"; fi
}
# listed MEMBER: the identifiers MEMBER's challenge list shows
listed() { $1 -j challenge list | python3 -c 'import json,sys; print(" ".join(sorted(c["identifier"] for c in json.load(sys.stdin))))'; }
pending() { "$ALPNSTEER" -j challenge list 2>/dev/null | python3 -c 'import json,sys; print(" ".join(sorted(c["identifier"] for c in json.load(sys.stdin))))'; }

test_agent_owners() {
	local out r
	check "an agent with --control-group nogroup" start_agent
	expect_eq "agent.sock is root:nogroup 660" "$(stat -c '%U:%G %a' /run/alpnsteer/agent.sock)" "root:nogroup 660"
	check "root adds a.test through the agent" "$ALPNSTEER" challenge add a.test root-ka
	out=$(member challenge add a.test member-ka) && r=0 || r=$?
	echo "# member add over root's: $out"
	check "a member cannot replace root's challenge (exit $r)" test $r != 0
	check "... and is told why" grep -q "pending for another user" <<<"$out"
	out=$(member challenge remove a.test) && r=0 || r=$?
	echo "# member remove of root's: $out"
	check "a member cannot remove root's challenge (exit $r)" test $r != 0
	check "root's a.test still validates with root's key authorization" valid $SRV4 a.test root-ka
	check "a member adds its own name" member challenge add m.test m-ka
	expect_eq "a member lists its own pending challenge only" "$(listed member)" "m.test"
	expect_eq "... another member none" "$(listed member2)" ""
	out=$(member2 challenge add m.test other-ka) && r=0 || r=$?
	check "another member cannot replace it (exit $r)" test $r != 0
	out=$(member2 challenge remove m.test) && r=0 || r=$?
	check "... nor remove it (exit $r)" test $r != 0
	check "... which still validates with the first member's" valid $SRV4 m.test m-ka
	check "root may replace a member's challenge" "$ALPNSTEER" challenge add m.test root-ka2
	check "... which then validates with root's" valid $SRV4 m.test root-ka2
	check "a member adds m2.test" member challenge add m2.test x
	check "... and may remove its own" member challenge remove m2.test
	expect_eq "pending: a.test m.test" "$(pending)" "a.test m.test"
	# Who reads the trace (docs/design.md, "The control socket").
	expect_eq "root reads the whole trace through the agent" "$(traced)" "a.test m.test m2.test"
	expect_eq "a member reads the records of its own challenges only (m.test is root's since root replaced it)" \
		"$(traced member)" "m2.test"
	expect_eq "... the other member none" "$(traced member2)" ""
}

test_agent_policy() {
	local out r
	# The policy file, root's, in this test's own mount namespace.
	mkdir -p /etc/alpnsteer
	mount -t tmpfs -o mode=0755 tmpfs /etc/alpnsteer
	st_defer umount /etc/alpnsteer
	printf '# the shop team\nshop.test\n' > /etc/alpnsteer/control-names
	chmod 644 /etc/alpnsteer/control-names
	check "an agent with --control-group nogroup and a name policy" start_agent
	check "... which says so" grep -q "members may add 1 name(s)" "$ST_WORK/agent.log"
	out=$(member challenge add www.bank.test evil-ka) && r=0 || r=$?
	echo "# member add outside its names: $out"
	check "a member cannot add a name outside its policy (exit $r)" test $r != 0
	check "... and is told why" grep -q "not among the names members may add" <<<"$out"
	check "a member adds a subdomain of its name" member challenge add www.shop.test shop-ka
	check "... which validates" valid $SRV4 www.shop.test shop-ka
	check "root adds any name" "$ALPNSTEER" challenge add www.bank.test bank-ka
	expect_eq "pending: root's and the member's allowed one" "$(pending)" "www.bank.test www.shop.test"
	check "root adds x.shop.test" "$ALPNSTEER" challenge add x.shop.test x-ka
	expect_eq "a member reads its own and the members' names' records (root's x.shop.test)" \
		"$(traced member)" "www.shop.test x.shop.test"
	expect_eq "... another member the members' names' too" "$(traced member2)" "www.shop.test x.shop.test"
	expect_eq "root reads all" "$(traced)" "www.bank.test www.shop.test x.shop.test"
	as agent stop
	chmod 666 /etc/alpnsteer/control-names
	out=$(as agent --control-group nogroup --grace 1s 2>&1) && r=0 || r=$?
	echo "$out" | grep -m1 "^Error" | sed 's/^/# /'
	check "a policy file others may write stops the agent (exit $r)" grep -q "^Error: .*control-names" <<<"$out"
}

st_require_cmd setpriv
st_setup
st_dmesg_mark
CHECK=(ip netns exec $ST_CLI /usr/bin/python3 "$HERE/check_cert.py")
# The binary where the nobody user can run it.
cp "$ALPNSTEER" "$ST_WORK/alpnsteer-copy"
chmod 755 "$ST_WORK/alpnsteer-copy"

st_test agent_owners test_agent_owners
st_test agent_policy test_agent_policy
check "no kernel WARN" st_dmesg_clean
st_summary
