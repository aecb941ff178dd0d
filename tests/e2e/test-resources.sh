#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/e2e/test-resources.sh: a first login when a resource runs out, through
# the installed module (pam-hold, a policy with a user namespace and a veth
# network so that every kind of state is made). Each case: the login is
# refused (or works) with the cause in syslog, nothing of the set is left
# (state, lock, lease, link, keeper), and the next login once the resource
# is back works (each case ends with that login as its control).
#  1 the opener's fd limit (RLIMIT_NOFILE) stepped from 5 to 40: at least
#    one refusal names "Too many open files"; the largest limit logs in
#    (control). Where the teardown itself had no fd left, what remains is on
#    record (a readable state, or a lease) and "nsisolate gc" removes it.
#  2 a pids cgroup (v1 or v2 pids.max) around the opener, from 1 to 6 tasks:
#    the spawn of the waiter, the helper or the keeper fails in turn; at
#    least one refusal names the cause; every outcome as in 1.
#  3 a memory cgroup from 1 to 4 MiB: the helper is killed by the OOM killer
#    at some limit, refused as "killed by signal 9"; every outcome as in 1.
#  4 /run/nsisolate full is section 7 of test-security.sh.
# shellcheck disable=SC2016 # command lines are single-quoted on purpose
# shellcheck disable=SC2317 # helpers called through check/wait_until/defer
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
need prlimit ip nft
start_syslog
[ -x "$NSI_LIBEXEC/nsisolate-helper" ] || bail "the helper is not installed: make install"
HOLD=$NSI_BUILD/tests/pam-hold
[ -x "$HOLD" ] || bail "$HOLD is missing: make build/tests/pam-hold"

U=nsitres
set_user $U
UIDU=$SET_UID
mkconf resources 'version = 1;
defaults = { isolate = true; tmp = { method = "tmpfs"; };
  network = { mode = "veth"; subnet = "10.213.241.0/24"; }; };'
mkservice nsit-res "$(modline)"

NSI=${NSI_BIN:-$(command -v nsisolate)} || bail "nsisolate is not installed: make install"

clean() {
	no_state "$UIDU" && [ ! -e "$NSI_STATE_DIR/$UIDU.lease" ] &&
		! ip link show "nsi$UIDU" >/dev/null 2>&1 &&
		! nft list table inet nsisolate 2>/dev/null | grep -q "nsi${UIDU}_" &&
		! pgrep -x nsisolate-keep | while read -r k; do
			grep -qw "$UIDU" "/proc/$k/uid_map" 2>/dev/null && echo x
		done | grep -q x
}
leftovers() {
	ls "$NSI_STATE_DIR" 2>&1
	ip -o link show | grep nsi
	nft list table inet nsisolate 2>/dev/null | grep chain
}
works() {
	local out
	out=$("$HOLD" nsit-res $U </dev/null 2>&1)
	grep -q '^open 0$' <<<"$out" && grep -q '^close 0$' <<<"$out" && wait_until 10 clean
}

# attempt WHAT CAUSE-ERE CMD...: one login (open and close) under a limit.
# Counts it in WORKED or REFUSED (refused with CAUSE-ERE logged by the
# module). Whatever it leaves must be on record, readable, and reclaimed
# by "nsisolate gc" (counted in DEFERRED); anything else goes to BAD.
attempt() {
	local what=$1 cause=$2 out
	shift 2
	log_mark
	out=$("$@" 2>&1)
	if grep -q '^open 0$' <<<"$out"; then
		WORKED=$((WORKED + 1))
	elif wait_log "pam_nsisolate.*refused $U \\(uid $UIDU\\): .*($cause)" 2 >/dev/null; then
		REFUSED=$((REFUSED + 1))
	fi
	wait_until 3 clean && return 0
	if ! "$NSI" list >"$T/list" 2>&1 || grep -q 'Bad message' "$T/list"; then
		BAD="$BAD $what:[unreadable state: $(cat "$T/list")]"
	fi
	DEFERRED=$((DEFERRED + 1))
	"$NSI" gc >/dev/null 2>&1
	wait_until 10 clean || BAD="$BAD $what:[$(leftovers | tr '\n' ' ')]"
}
tally() { WORKED=0 REFUSED=0 DEFERRED=0 BAD=; }

# ================================================================ 1 RLIMIT_NOFILE
diag "1: the opener's fd limit"
tally
for n in $(seq 5 40); do
	attempt "nofile=$n" "Too many open files" prlimit --nofile=$n:$n "$HOLD" nsit-res $U </dev/null
done
diag "fd limits 5..40: $REFUSED refused naming EMFILE, $WORKED logged in, $DEFERRED left a record that gc reclaimed"
check_eq "fd limit: every outcome clean, or on record and reclaimed by gc" "" "$BAD"
check "fd limit: some limit is refused with the cause (Too many open files)" test "$REFUSED" -gt 0
works_at() {
	local out
	out=$(prlimit --nofile="$1:$1" "$HOLD" nsit-res $U </dev/null 2>&1)
	grep -q '^open 0$' <<<"$out" && wait_until 10 clean
}
check "fd limit: control: with 40 fds the login works" works_at 40
check "fd limit: the next login without a limit works" works

# in_cgroup DIR PROCS-FILE: pam-hold for U inside the cgroup DIR.
in_cgroup() {
	sh -c 'echo $$ >"$1/$2" && exec "$3" nsit-res "$4" </dev/null' sh "$1" "$2" "$HOLD" $U
}

# ================================================================ 2 pids
diag "2: a pids cgroup around the opener"
if [ -d /sys/fs/cgroup/pids ]; then
	CG=/sys/fs/cgroup/pids/nsit-res.$$
elif [ -f /sys/fs/cgroup/cgroup.controllers ] && grep -qw pids /sys/fs/cgroup/cgroup.controllers; then
	CG=/sys/fs/cgroup/nsit-res.$$
else
	bail "no pids cgroup controller on this machine"
fi
mkdir "$CG" || bail "cannot make $CG"
defer rmdir "$CG"
tally
for n in 1 2 3 4 5 6; do
	echo "$n" >"$CG/pids.max"
	attempt "pids.max=$n" "Resource temporarily unavailable|killed by signal|failed \\(exit|keeper" \
		in_cgroup "$CG" cgroup.procs
done
echo max >"$CG/pids.max"
diag "pids.max 1..6: $REFUSED refused with the cause, $WORKED logged in, $DEFERRED reclaimed by gc"
check_eq "pids: every outcome clean, or on record and reclaimed by gc" "" "$BAD"
check "pids: some limit is refused with the cause" test "$REFUSED" -gt 0
check "pids: the next login outside the cgroup works" works

# ================================================================ 3 memory
diag "3: a memory cgroup too small for the helper"
if [ -d /sys/fs/cgroup/memory ]; then
	MG=/sys/fs/cgroup/memory/nsit-res.$$
	LIMIT=memory.limit_in_bytes
else
	MG=/sys/fs/cgroup/nsit-res-mem.$$
	LIMIT=memory.max
fi
mkdir "$MG" || bail "cannot make $MG"
defer rmdir "$MG"
# Measured here: below about 1.5 MiB pam-hold itself cannot start, a little
# above it the helper is killed by the OOM killer, from about 2 MiB all works;
# the window is narrow and moves with the page cache, so the steps are fine.
tally
# Up to three sweeps: the OOM killer picks its victim by size, so a sweep may
# miss the helper (it then takes pam-hold itself, which is counted as clean).
for sweep in 1 2 3; do
	for kb in $(seq 1024 64 4096); do
		echo "${kb}K" >"$MG/$LIMIT" || bail "cannot set $MG/$LIMIT"
		attempt "memory=${kb}K" \
			"killed by signal|Cannot allocate memory|Resource temporarily|keeper|failed \\(exit" \
			in_cgroup "$MG" cgroup.procs
	done
	[ "$REFUSED" -gt 0 ] && break
done
echo max >"$MG/$LIMIT" 2>/dev/null || echo -1 >"$MG/$LIMIT"
diag "memory 1M..4M in 64K steps, $sweep sweep(s): $REFUSED refused with the cause, $WORKED logged in, $DEFERRED reclaimed by gc"
check_eq "memory: every outcome clean, or on record and reclaimed by gc" "" "$BAD"
check "memory: some limit is refused with the cause (the helper killed by signal 9)" test "$REFUSED" -gt 0
check "memory: the next login outside the cgroup works" works

assert_no_leftovers
finish
