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
#  3 a memory cgroup (v1, oom_kill_disable) whose limit drops to its
#    usage when the helper appears, the test as the OOM killer
#    (memcg-referee.py): every failure is refused with its cause, a helper
#    killed at the limit as "killed by signal 9"; every outcome as in 1.
#  4 the helper cannot be executed (a broken install, mode 0644): the
#    refusal names the path and the execve() error; nothing is left; with
#    the mode back the next login works.
#  5 the helper cannot write its reply (stdout on /dev/full): it exits 3
#    and syslog has what the reply said; with a writable stdout it replies.
#  6 /run/nsisolate full is section 7 of test-security.sh.
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
diag "3: the helper at a memory cgroup's limit"
# The kernel's OOM killer picks the largest task of a cgroup, the opener
# more often than the freshly exec'd helper, so limits swept under the real
# killer catch the helper only by chance. Instead memcg-referee.py drops the
# limit to what the cgroup uses the moment the opening helper appears, with
# oom_kill_disable set (cgroup v1), and plays the OOM killer: a helper that
# waits at the limit gets SIGKILL. What the helper meets first varies: a
# system call's allocation fails (ENOMEM, ENOBUFS), its reply cannot be
# written (exit 3), its execve() fails past the point of no return (the
# kernel's SIGSEGV), or a page fault waits and it is killed. Every failed
# login must be refused with its cause logged, every login whose helper was
# killed as "killed by signal 9"; every outcome clean or on record for gc.
# Tries until 3 helpers were killed, at most 40 (measured here: about two
# tries in five end with the kill).
MG=/sys/fs/cgroup/memory/nsit-res.$$
if [ ! -f /sys/fs/cgroup/memory/memory.oom_control ]; then
	skip "memory: the helper killed at the limit is refused" \
		"needs cgroup v1 memory.oom_control (v2 has no oom_kill_disable)"
else
	mkdir "$MG" || bail "cannot make $MG"
	defer rmdir "$MG"
	echo 1 >"$MG/memory.oom_control" || bail "cannot set $MG/memory.oom_control"
	REFEREE=$(dirname "$0")/memcg-referee.py
	# no_limit_works CGROUP: the control, a login in CGROUP without a limit.
	no_limit_works() {
		local out
		echo -1 >"$1/memory.limit_in_bytes" || return 1
		out=$(in_cgroup "$1" cgroup.procs 2>&1)
		grep -q '^open 0$' <<<"$out" && grep -q '^close 0$' <<<"$out" && wait_until 10 clean
	}

	# oom_attempt N: try N, one login refereed as above. Counts it in
	# WORKED or FAILED (then REFUSED if refused with a cause logged), in
	# CAUGHT if the limit was dropped on its helper, and in KILLED (then
	# KILLED_REFUSED if refused naming signal 9) if the helper was killed.
	oom_attempt() {
		local what="memory try $1" out
		log_mark
		"$NSI_PY" "$REFEREE" "$MG" "$T/oom.out" "$HOLD" nsit-res $U >"$T/ref" 2>&1
		out=$(cat "$T/oom.out")
		grep -q '^stalled 0$' "$T/ref" || BAD="$BAD $what:[$(tr '\n' ' ' <"$T/ref")]"
		grep -q '^caught 1$' "$T/ref" && CAUGHT=$((CAUGHT + 1))
		if grep -q '^open 0$' <<<"$out"; then
			WORKED=$((WORKED + 1))
		else
			FAILED=$((FAILED + 1))
			wait_log "pam_nsisolate.*refused $U \\(uid $UIDU\\): [^ ]" 2 >/dev/null &&
				REFUSED=$((REFUSED + 1))
		fi
		if grep -q '^killed 1$' "$T/ref"; then
			KILLED=$((KILLED + 1))
			wait_log "pam_nsisolate.*refused $U \\(uid $UIDU\\): .*killed by signal 9" 2 >/dev/null &&
				KILLED_REFUSED=$((KILLED_REFUSED + 1))
		fi
		wait_until 3 clean && return 0
		DEFERRED=$((DEFERRED + 1))
		"$NSI" gc >/dev/null 2>&1
		wait_until 10 clean || BAD="$BAD $what:[$(leftovers | tr '\n' ' ')]"
	}

	tally
	FAILED=0 CAUGHT=0 KILLED=0 KILLED_REFUSED=0 S3=$(syslog_since_start | wc -l)
	for ((try = 1; try <= 40 && KILLED < 3; try++)); do
		oom_attempt $try
	done
	diag "causes logged in section 3:" "$(syslog_since_start | tail -n +$((S3 + 1)) |
		sed -n 's/.*\(refused [^ ]* (uid [0-9]*): \|nsisolate-helper\[[0-9]*\]: \)//p' |
		sort | uniq -c | sort -rn)"
	diag "memory: $((try - 1)) tries, the limit dropped on the helper in $CAUGHT:" \
		"$KILLED killed ($KILLED_REFUSED refused naming signal 9), $FAILED failed" \
		"($REFUSED refused with a cause), $WORKED logged in, $DEFERRED reclaimed by gc"
	check_eq "memory: every outcome clean, or on record and reclaimed by gc" "" "$BAD"
	check_eq "memory: every login that failed is refused with its cause logged" \
		"$FAILED" "$REFUSED"
	check "memory: the limit held some helper until it was killed" test "$KILLED" -gt 0
	check_eq "memory: every login whose helper was killed is refused, naming signal 9" \
		"$KILLED" "$KILLED_REFUSED"
	check "memory: control: in the cgroup without a limit the login works" \
		no_limit_works "$MG"
fi
check "memory: the next login outside the cgroup works" works

# ================================================================ 4 exec
diag "4: the helper cannot be executed"
H=$NSI_LIBEXEC/nsisolate-helper
chmod 0644 "$H" || bail "cannot chmod $H"
defer chmod 0755 "$H"
log_mark
out=$("$HOLD" nsit-res $U </dev/null 2>&1)
check_nomatch "exec: the login is refused" '^open 0$' "$out"
check "exec: the refusal names the helper and the execve() error" \
	wait_log "pam_nsisolate.*refused $U \\(uid $UIDU\\): .*cannot execute $H: Permission denied" 5
check "exec: nothing of the set is left" wait_until 3 clean
chmod 0755 "$H"
check "exec: control: with the mode back the next login works" works

# ================================================================ 5 reply
diag "5: the helper cannot write its reply"
# Under a memory limit the reply pipe's write can fail (section 3 saw it);
# /dev/full fails every write. The helper, given a short request, must exit
# with NSI_EXIT_NO_REPLY (3), the status the module reports as "could not
# write its reply", and log what the reply said with the write's error.
log_mark
"$H" </dev/null >/dev/full 2>/dev/null
check_eq "reply: the helper exits 3 when its reply cannot be written" 3 "$?"
check "reply: syslog has the write's error and what the reply said" \
	wait_log "nsisolate-helper\\[[0-9]+\\]: the reply to pam_nsisolate could not be sent \\(No space left on device\\): short request" 5
"$H" </dev/null >"$T/reply" 2>/dev/null
check_eq "reply: control: with a writable stdout the same reply is written, exit 1" 1 "$?"
check "reply: control: the reply written names the cause" grep -q "short request" "$T/reply"

assert_no_leftovers
finish
