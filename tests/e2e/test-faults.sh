#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/e2e/test-faults.sh: a crash at every step of making and ending a set.
# A test build with fault points (make B=build/fault NSI_FAULTS=1; see
# common/fault.h), put only under /run/nsit-fault and named by absolute path
# in a test PAM service, never installed, SIGKILLs the process that reaches
# the point named in /run/nsit-fault/point: the opener inside the module
# (open and close), the helper, or the keeper. For every point, under two
# policies (user namespace + veth network; no user namespace + PID
# namespace):
#  - the login (or logout) that hits the point ends, without hanging, and
#    shows that the point was reached (the opener died there, or the module
#    refused naming the helper killed by signal 9, or the keeper);
#  - the next login of that user works, and its session runs in a set
#    (control: the host's mount namespace differs);
#  - exactly one keeper per live set (no orphan keeper of the fault build);
#  - another user's live set and session are untouched;
#  - after the last logout nothing of the user is left: state, lock,
#    lease, veth link, nft chains, keeper.
# Ends with the usual no-leftover checks.
# shellcheck disable=SC2016 # command lines are single-quoted on purpose
# shellcheck disable=SC2317 # helpers called through check/wait_until/defer
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
need make nft ip pgrep
start_syslog

FD=/run/nsit-fault
[ -x "$NSI_BUILD/tests/pam-hold" ] || bail "$NSI_BUILD/tests/pam-hold is missing: make build/tests/pam-hold"
make -s -C "$NSI_SRCDIR" B=build/fault NSI_FAULTS=1 LIBEXECDIR=$FD build/fault/pam_nsisolate.so \
	build/fault/nsisolate-helper >"$T/build.log" 2>&1 || bail "cannot build the fault build" "$(tail -5 "$T/build.log")"
mkdir -m 0755 "$FD" || bail "cannot make $FD"
defer rm -rf "$FD"
install -m 0644 "$NSI_SRCDIR/build/fault/pam_nsisolate.so" "$FD/pam_nsisolate.so"
install -m 0700 "$NSI_SRCDIR/build/fault/nsisolate-helper" "$FD/nsisolate-helper"
defer rm -f "$FD/point"

# Every point the build has, from the sources: a new one is tested at once.
mapfile -t POINTS < <(grep -rhoE 'NSI_FAULT\("[a-z-]+"\)' "$NSI_SRCDIR"/pam_nsisolate \
	"$NSI_SRCDIR"/helper | sed -E 's/.*\("(.*)"\)/\1/' | sort -u)
[ ${#POINTS[@]} -ge 15 ] || bail "only ${#POINTS[@]} fault points found"
diag "${#POINTS[@]} fault points: ${POINTS[*]}"

UA=nsitflta
UB=nsitfltb
mkuser $UA
mkuser $UB
UIDA=$(uid_of $UA)
UIDB=$(uid_of $UB)
for u in "$UIDA" "$UIDB"; do
	drop_set "$u"
	defer drop_set "$u"
done
# Only this test's fault keepers count; a keeper is the fault helper's image.
fault_keepers() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/exe" 2>/dev/null)" == "$FD/nsisolate-helper" ] &&
			[ "$(cat "$p/comm" 2>/dev/null)" == nsisolate-keep ] && echo "${p#/proc/}"
	done
}
count_fault_keepers() { fault_keepers | wc -l; }
nothing_of_a() {
	no_state "$UIDA" && [ ! -e "$NSI_STATE_DIR/$UIDA.lease" ] &&
		[ ! -e "$NSI_STATE_DIR/$UIDA.state.corrupt" ] &&
		! ip link show "nsi$UIDA" >/dev/null 2>&1 &&
		! nft list table inet nsisolate 2>/dev/null | grep -q "nsi${UIDA}_"
}
HOSTMNT=$(readlink /proc/self/ns/mnt)

run_policy() {
	local name=$1 text=$2 p out hb sb kb k1 ka n
	mkconf "fault-$name" "$text"
	mkservice nsit-fault "session required $FD/pam_nsisolate.so config=$CONF"
	diag "policy $name"
	# The bystander: B's live set and a process in it.
	NSIT_AS_USER=1 pam_hold nsit-fault $UB -f sleep 7401 || bail "cannot hold a session of $UB" "$(cat "$HOLD_OUT")"
	hb=$HOLD_PID
	wait_until 10 sh -c "pgrep -u $UB -x -f 'sleep 7401' >/dev/null"
	sb=$(pgrep -u $UB -x -f 'sleep 7401' | head -n 1)
	kb=$(keeper_of "$UIDB")
	[ -n "$sb" ] && [ -n "$kb" ] || bail "$UB's set did not come up"
	for p in "${POINTS[@]}"; do
		echo "$p" >"$FD/point"
		log_mark
		# Open and close at once: the process that reaches the point dies there.
		out=$(timeout 60 "$NSI_BUILD/tests/pam-hold" nsit-fault $UA </dev/null 2>&1)
		n=$?
		rm -f "$FD/point"
		failed=0
		[ "$n" -eq 124 ] && fail "$name/$p: the login hung" "$out" && failed=1
		# The point was reached: what its death looks like from outside.
		case $p in
		open-*) fired() { [ "$n" -eq 137 ] && ! grep -q '^open' <<<"$out"; } ;;
		close-* | forget-*) fired() { [ "$n" -eq 137 ] && grep -q '^open 0$' <<<"$out" &&
			! grep -q '^close' <<<"$out"; } ;;
		helper-*) fired() { grep -qE '^open [1-9]' <<<"$out" &&
			wait_log "refused $UA .*killed by signal 9" 5 >/dev/null; } ;;
		keeper-*) fired() { grep -qE '^open [1-9]' <<<"$out" &&
			wait_log "refused $UA .*keeper" 5 >/dev/null; } ;;
		esac
		fired || { fail "$name/$p: the point was reached (the process died there)" \
			"exit $n" "$out" "$(syslog_since_mark | tail -3)"; failed=1; }
		# The next login works and runs in a set.
		NSIT_AS_USER=1 pam_hold nsit-fault $UA -f sh -c 'readlink /proc/self/ns/mnt; sleep 7402' ||
			fail "$name/$p: the next login of $UA works" "$(cat "$HOLD_OUT")"
		ka=$HOLD_PID
		wait_until 10 grep -q '^mnt:' "$HOLD_OUT"
		k1=$(grep '^mnt:' "$HOLD_OUT")
		if [ -z "$k1" ] || [ "$k1" == "$HOSTMNT" ]; then
			fail "$name/$p: the next session runs in a set" "$(cat "$HOLD_OUT")"
		fi
		n=$(count_fault_keepers)
		[ "$n" -eq 2 ] || { fail "$name/$p: one keeper per live set (2), not $n" \
			"$(for k in $(fault_keepers); do echo "keeper $k"; done; ls "$NSI_STATE_DIR")"; failed=1; }
		if ! kill -0 "$sb" 2>/dev/null || ! kill -0 "$kb" 2>/dev/null ||
			[ "$(keeper_of "$UIDB")" != "$kb" ]; then
			fail "$name/$p: $UB's set, state and session are untouched"
			failed=1
		fi
		pkill -u $UA -x -f 'sleep 7402'
		_nsi_hold_stop "$ka"
		wait_until 10 nothing_of_a || { fail "$name/$p: nothing of $UA is left after the logout" \
			"$(ls "$NSI_STATE_DIR"; ip -o link show | grep nsi; nft list table inet nsisolate 2>/dev/null)"; failed=1; }
		[ "$failed" -eq 0 ] &&
			pass "$name/$p: killed there, then a working login and a clean logout; $UB untouched"
	done
	kill "$sb"
	_nsi_hold_stop "$hb"
	check "$name: $UB's set ends with its session" wait_until 10 no_state "$UIDB"
	check "$name: no fault keeper left" wait_until 10 bash -c '[ -z "$(fault_keepers)" ]'
}
export -f fault_keepers
export FD

run_policy userns-veth 'version = 1;
defaults = { isolate = true; tmp = { method = "tmpfs"; };
  network = { mode = "veth"; subnet = "10.213.240.0/24"; }; };'
run_policy plain-pid 'version = 1;
defaults = { isolate = true; tmp = { method = "tmpfs"; }; userns = { enable = false; }; pid = true; };'

assert_no_leftovers
finish
