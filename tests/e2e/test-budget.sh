#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/e2e/test-budget.sh: the syscall budget of a login (README, "What a
# login costs"; ceilings in tests/budget.conf). Syscall counts are exact and
# do not depend on load, so they catch a regression that timings would hide.
#  1 one whole PAM session (pamtester open_session close_session, strace -f
#    -c over every process: module, helper, keeper) with the default policy
#    (tmp as tmpfs, user namespace): a first login and a joining login add at
#    most the ceilings over pam_permit alone; pam_namespace in the same run
#    is reported for the ratio;
#  2 the last logout reads /proc once (README: why no index replaces it):
#    the same first login with 1000 more idle processes on the host costs at
#    most scan_per_1000 syscalls more; nothing is left.
# shellcheck disable=SC2317 # helpers called through check/defer
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
need pamtester strace
need_test_bins pam-hold
start_syslog

BUDGET=$NSI_SRCDIR/tests/budget.conf
budget() {
	awk -v k="$1" '$1 == k { print $2; found = 1 } END { if (!found) exit 1 }' "$BUDGET" ||
		bail "$BUDGET has no $1"
}
FIRST_MAX=$(budget first_added)
JOIN_MAX=$(budget join_added)
SCAN=$(budget scan_per_1000)

mkuser nsitbud0 # pam_permit, pam_namespace
set_user nsitbud1 # first logins
set_user nsitbud2 # joining logins (one session held)

mkservice nsit-bud-permit "session required pam_permit.so"
mkservice_pam_namespace nsit-bud-ns
mkconf budget 'version = 1;
defaults = {
  tmp = { dirs = ["/tmp"]; method = "tmpfs"; size = "64M"; };
  userns = { enable = true; };
};'
mkservice nsit-bud-mod "session required pam_permit.so
$(modline "$CONF")"

# calls COMMAND...: the syscalls COMMAND and every process it starts make
# (strace's total); empty when it failed.
calls() {
	strace -f -c -o "$T/strace.out" "$@" >"$T/cmd.out" 2>&1 || return 1
	syscalls_in "$T/strace.out"
}
session() { calls pamtester "$1" "$2" open_session close_session; }

# ---- 1: first and joining logins
diag "1: syscalls of one whole PAM session over pam_permit's (ceilings: $BUDGET)"
nprocs() { find /proc -maxdepth 1 -name '[0-9]*' | wc -l; }
base=$(session nsit-bud-permit nsitbud0)
ns=$(session nsit-bud-ns nsitbud0)
P=$(nprocs)
first=$(session nsit-bud-mod nsitbud1)
check "pamtester runs with pam_permit, pam_namespace and the module" \
	test -n "$base" -a -n "$ns" -a -n "$first"
check "the first login left no set" no_state "$(uid_of nsitbud1)"
# (pam_hold and idle start background processes: never inside check's $(...))
held() {
	if pam_hold nsit-bud-mod "$1"; then
		pass "a session of $1 is held open"
	else
		fail "a session of $1 is held open" "$(cat "$HOLD_OUT")"
	fi
}
held nsitbud2
join=$(session nsit-bud-mod nsitbud2)
check "a joining login runs" test -n "$join"
if [ -n "$base" ] && [ -n "$ns" ] && [ -n "$first" ] && [ -n "$join" ]; then
	nsa=$((ns - base)) fa=$((first - base)) ja=$((join - base))
	# The last logout's /proc scan: SCAN per mille syscalls per process on the host.
	fs=$((fa - P * SCAN / 1000))
	diag "pam_permit $base; pam_namespace +$nsa; first login +$fa" \
		"($(awk -v a=$fa -v b=$nsa 'BEGIN { printf "%.1f", a / b }')x)," \
		"+$fs without its scan of $P processes;" \
		"joining login +$ja ($(awk -v a=$ja -v b=$nsa 'BEGIN { printf "%.1f", a / b }')x)"
	check "a first login adds $fs syscalls besides its /proc scan, at most $FIRST_MAX" \
		test "$fs" -le "$FIRST_MAX"
	check "a joining login adds $ja syscalls, at most $JOIN_MAX" test "$ja" -le "$JOIN_MAX"
fi

# ---- 2: the last logout and the host's processes
diag "2: 1000 more idle processes on the host"
# (start_idle sets IDLE and defers its end: not inside check's $(...))
if start_idle 1000; then pass "1000 idle processes started"; else fail "1000 idle processes started"; fi
first_busy=$(session nsit-bud-mod nsitbud1)
check "the first login with them runs" test -n "$first_busy"
if [ -n "$first_busy" ] && [ -n "$first" ]; then
	extra=$((first_busy - first))
	diag "the first login with them: $first_busy syscalls, $extra more (the last logout's /proc scan)"
	check "at most $SCAN syscalls more per 1000 extra host processes: $extra" \
		test "$extra" -le "$SCAN"
fi
check "the idle processes are gone" end_idle
check "no set of nsitbud1 is left" no_state "$(uid_of nsitbud1)"
pam_release
check "no set of nsitbud2 is left" wait_until 10 no_state "$(uid_of nsitbud2)"
finish
