#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Kernel reach: what `alpnsteer features` says agrees with the kernel's own
# BTF, status shows the attach mode it chose (links or legacy attach), and
# in either mode a detach, also of a dead daemon's attachment, leaves no
# alpnsteer program loaded.  Without tcx, --preclassify is refused with one
# error.  Runs on the host and in every vmtest guest (6.1: legacy attach).
. "$(dirname "$0")/lib.sh"
st_setup
st_dmesg_mark

btf=$(bpftool btf dump file /sys/kernel/btf/vmlinux format c)
has_enum() { grep -qE "^[[:space:]]$1 = " <<<"$btf"; }
psock_has() { sed -n '/^struct sk_psock {/,/^};/p' <<<"$btf" | grep -qE "[ *]$1;"; }
yesno() { if "$@"; then echo True; else echo False; fi; }

feat=$("$ALPNSTEER" -j features)
echo "# features: $feat"
fj() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print($2)" "$feat" ; }
expect_eq "features: usable" "$(fj '' 'd["usable"]')" True
want_mode=links
has_enum BPF_LINK_TYPE_SOCKMAP || want_mode=legacy
expect_eq "features: mode agrees with the BTF's bpf_link_type" "$(fj '' 'd["mode"]')" $want_mode
expect_eq "features: tcx agrees with the BTF's bpf_attach_type" \
	"$(fj '' 'd["features"]["tcx"]')" "$(yesno has_enum BPF_TCX_INGRESS)"
expect_eq "features: sk_psock.msg_tot_len as in the BTF" \
	"$(fj '' 'd["features"]["psock_msg_tot_len"]')" "$(yesno psock_has msg_tot_len)"
out=$("$ALPNSTEER" features)
check "features (text) names the mode" grep -q "$([ $want_mode = links ] && echo 'through bpf_links' || echo 'legacy attach')" <<<"$out"

prog_ids() { status_field '" ".join(str(d["progs"][k]) for k in ("sockops", "verdict", "reply", "reap"))'; }
# all_gone ID...: no program of these ids is loaded any more (within 5 s:
# a psock drops its copies of the programs from an RCU work item)
all_gone() {
	local id i left
	for i in $(seq 1 50); do
		left=0
		for id in "$@"; do
			bpftool prog show id "$id" >/dev/null 2>&1 && left=1
		done
		[ $left = 0 ] && return 0
		sleep 0.1
	done
	echo "# still loaded: $(for id in "$@"; do bpftool prog show id "$id" 2>/dev/null | head -n1; done)"
	return 1
}

check "attach --forward" as attach --forward 127.0.0.1:8443
expect_eq "status: attach_mode" "$(status_field 'd["attach_mode"]')" $want_mode
ids=$(prog_ids)
echo "# prog ids (sockops verdict reply reap): $ids"
check "status: every program has an id" test "$(wc -w <<<"$ids")" -eq 4 -a -z "$(grep -w 0 <<<"$ids")"
if [ $want_mode = legacy ]; then
	expect_eq "legacy: no link ids for the map programs" \
		"$(status_field 'd["links"]["verdict"] + d["links"]["reply"]')" 0
	check "legacy: status text says so" grep -q "^attach: *legacy" <<<"$("$ALPNSTEER" status)"
else
	check "links: every map program has a link" \
		test "$(status_field 'min(d["links"]["verdict"], d["links"]["reply"], d["links"]["reap"])')" -gt 0
fi
expect_eq "steering works" "$(field "$(tls $SRV4 --alpn acme-tls/1 --sni k.test)" cn)" acme-responder
check "detach --wait" as detach --wait=10
check "detach: no alpnsteer program left loaded" all_gone $ids

check "attach again" as attach --forward 127.0.0.1:8443
ids=$(prog_ids)
kill -9 "$(status_field 'd["pid"]')"
check "status sees the daemon gone" wait_for 'd["daemon_running"]' False
check "detach of a dead daemon's attachment" as detach --wait=10
check "... leaves no alpnsteer program loaded" all_gone $ids
check "... nor a pin" test ! -e /sys/fs/bpf/alpnsteer

if [ "$(fj '' 'd["features"]["tcx"]')" = False ]; then
	out=$(as attach --preclassify lo 2>&1) && r=0 || r=$?
	echo "$out" | sed 's/^/# /'
	check "no tcx: attach --preclassify fails" test "$r" -ne 0
	check "... with one Error: naming tcx and a Hint:" \
		test "$(grep -c '^Error: .*tcx' <<<"$out")" = 1 -a "$(grep -c '^Hint: ' <<<"$out")" = 1
	check "... and leaves no pin behind" test -z "$(ls -A /sys/fs/bpf/alpnsteer 2>/dev/null)"
else
	ok "tcx present: --preclassify is not refused (tested by ST_PRECLASSIFY runs)"
fi

check "no kernel WARN" st_dmesg_clean
st_summary
