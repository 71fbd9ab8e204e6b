#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Soak: CYCLES (default 100) attach/detach cycles of the built-in responder
# while keep-alive GETs, sha256-checked downloads and uploads and
# connection storms run against nginx over IPv4 and IPv6.  In every cycle
# (alternating IPv4 and IPv6):
#   - a full validation (alpnsteer check: TLS 1.2 and 1.3, every CA rule;
#     every 10th cycle check_cert.py too) passes;
#   - a second validation is steered and held mid-handshake, detach starts
#     (state "draining"), then the validation finishes and must pass;
#   - detach --wait returns 0 once it is done.
# Every 10th cycle also checks that a new acme-tls/1 hello during the drain
# goes to nginx.  0 failures, nothing corrupted, no kernel WARN.
# Two tests (lib.sh, st_test) around the one load, which runs while the
# cycles do: cycles (every cycle's attach, validations, drain and detach)
# and load_untouched (what the load saw meanwhile).  CYCLES=10 still covers
# the every-10th-cycle checks.
. "$(dirname "$0")/lib.sh"
. "$HERE/acme_lib.sh"
CYCLES=${CYCLES:-100}
st_setup
# acme_cleanup also ends the load loop's current loadgen run by PID.
trap 'acme_cleanup' EXIT
st_dmesg_mark
CHECK=(ip netns exec $ST_CLI python3 "$HERE/check_cert.py")

state() { status_field 'd["state"]'; }

test_cycles() {
	local c h mid det steered
	local attach_fail=0 full_fail=0 mid_fail=0 drain_fail=0 detach_fail=0 nginx_fail=0
	# Each cycle detaches; this only catches what a failed one left.
	st_defer as detach --all --wait=60
	for c in $(seq 1 $CYCLES); do
		h=$SRV4
		[ $((c % 2)) = 0 ] && h=$SRV6
		# The held validation, started first (Python's start-up overlaps
		# attach); its hello goes out once attached and is steered before
		# detach starts.
		rm -f "$ST_WORK/mid.in" && mkfifo "$ST_WORK/mid.in"
		ip netns exec $ST_CLI python3 "$HERE/midflight.py" $h soak$c.test "tok$c.thumb" \
			< "$ST_WORK/mid.in" > "$ST_WORK/mid.out" 2>&1 &
		mid=$!
		exec 8> "$ST_WORK/mid.in"
		if ! as attach > /dev/null; then
			attach_fail=$((attach_fail + 1))
			exec 8>&-
			wait $mid || true
			continue
		fi
		"$ALPNSTEER" challenge add soak$c.test "tok$c.thumb"
		# A full validation (TLS 1.2 and 1.3, every CA rule) through alpnsteer's
		# own checker, and every 10th cycle through the independent one too.
		ip netns exec $ST_CLI "$ALPNSTEER" check soak$c.test --address $h \
			--keyauth "tok$c.thumb" > "$ST_WORK/check.out" 2>&1 ||
			{ full_fail=$((full_fail + 1)); grep -v '^pass' "$ST_WORK/check.out" | sed 's/^/# /'; }
		if [ $((c % 10)) = 5 ]; then
			"${CHECK[@]}" $h soak$c.test "tok$c.thumb" > /dev/null || full_fail=$((full_fail + 1))
		fi
		# Steered means counted as steered: a slot in use may still be the
		# check's, whose client has closed but whose close is not yet seen.
		steered=$(counter steered)
		echo connect >&8
		if ! wait_for 'd["counters"]["steered"]' $((steered + 1)); then
			drain_fail=$((drain_fail + 1))
			echo "# cycle $c: the held validation was not steered; counters:"
			status_field '{k: v for k, v in d["counters"].items() if v}' | sed 's/^/#   /'
		fi

		as detach --wait=60 > /dev/null 2>&1 &
		det=$!
		wait_for 'd["state"]' draining || drain_fail=$((drain_fail + 1))
		if [ $((c % 10)) = 0 ]; then
			nginx_refuses_acme $h soak$c.test || nginx_fail=$((nginx_fail + 1))
		fi
		echo go >&8
		exec 8>&-
		wait $mid || { mid_fail=$((mid_fail + 1)); echo "# cycle $c: $(cat "$ST_WORK/mid.out")"; }
		wait $det || detach_fail=$((detach_fail + 1))
		[ "$(state)" = detached ] || detach_fail=$((detach_fail + 1))
		[ -n "${SOAK_TRACE:-}" ] && echo "# cycle $c done at $SECONDS s"
	done

	expect_eq "attach succeeded in every cycle" $attach_fail 0
	expect_eq "a full validation passed in every cycle" $full_fail 0
	expect_eq "a validation was in flight while draining in every cycle" $drain_fail 0
	expect_eq "the validation in flight finished and passed in every cycle" $mid_fail 0
	expect_eq "detach --wait drained and detached in every cycle" $detach_fail 0
	expect_eq "acme-tls/1 during a drain went to nginx (every 10th cycle)" $nginx_fail 0
	echo "# cycles: $CYCLES; each: alpnsteer check (TLS 1.2 and 1.3 handshakes) and one validation held through the detach"
}

# ACME_LOOP_SUM: the load's counts, summed by acme_loop_stop
test_load_untouched() {
	local sum=$ACME_LOOP_SUM
	echo "# load: $sum"
	expect_eq "failed requests" "$(field "$sum" failures)" 0
	expect_eq "corrupted bodies" "$(field "$sum" corrupted)" 0
	check "downloads and uploads happened" test "$(field "$sum" downloads)" -gt 0 -a "$(field "$sum" uploads)" -gt 0
}

# The load: loadgen.py runs back to back (acme_lib.sh's loop) until the
# cycles are done, so it lasts exactly as long as they do.  Started and
# stopped here, outside the tests: only the shell that started the loop
# can wait for it.
acme_loop_start
sleep 2
st_test cycles test_cycles
acme_loop_stop
st_test load_untouched test_load_untouched
check "no kernel WARN" st_dmesg_clean
st_summary
