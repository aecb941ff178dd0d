#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/bench-scale.sh (make bench-scale, after make install; about 3
# minutes with 1000 users on the development VM): what a login costs when
# BENCH_USERS (1000) users have live sets, against the same logins with one
# live set, in the same run. The default policy (tmp as tmpfs, user
# namespace). Reports:
#   - first login (pamtester open+close of a user without a set) and joining
#     login (of a user whose session is held): median wall time of
#     BENCH_RUNS (40) runs, and exact syscalls (strace -f -c), with one live
#     set and with BENCH_USERS, and the ratio;
#   - the keepers' memory: PSS of each (smaps_rollup), min/median/max, and
#     the total;
#   - the host's mount table (findmnt) before, with the sets, and after.
# Timings are reported, never asserted. Exit status 0 when everything ran.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/e2e/lib.sh"
need pamtester strace findmnt

N=${BENCH_USERS:-1000}
RUNS=${BENCH_RUNS:-40}
HOLD_BIN=$NSI_BUILD/tests/pam-hold
[ -x "$HOLD_BIN" ] || make -s -C "$NSI_SRCDIR" build/tests/pam-hold >/dev/null 2>&1 ||
	bail "cannot build $HOLD_BIN"
say() { printf '%s\n' "$*" >&2; }
start_syslog

mkconf scale 'version = 1;
defaults = {
  tmp = { dirs = ["/tmp"]; method = "tmpfs"; size = "64M"; };
  userns = { enable = true; };
};'
mkservice nsit-scale "session required pam_permit.so
$(modline "$CONF")"

mkuser nsitscf # first logins
mkuser nsitscj # joining logins
say "bench-scale: making $N users"
t0=$EPOCHREALTIME
for ((i = 0; i < N; i++)); do mkuser "$(printf 'nsitsc%04d' "$i")"; done
say "bench-scale: users made in $(((${EPOCHREALTIME/./} - ${t0/./}) / 1000000)) s"

# cost LABEL: RUNS first and joining logins; "first_median join_median".
# syscalls LABEL: one of each under strace -f -c.
cost() {
	local v u us
	for v in first join; do
		[ $v == first ] && u=nsitscf || u=nsitscj
		: >"$T/$1.$v"
		for ((i = 0; i < RUNS; i++)); do
			t0=$EPOCHREALTIME
			pamtester nsit-scale $u open_session close_session >/dev/null 2>&1 ||
				bail "pamtester $u failed ($1)"
			t1=$EPOCHREALTIME
			echo $(((${t1/./} - ${t0/./}))) >>"$T/$1.$v"
		done
		strace -f -c -o "$T/$1.$v.sys" pamtester nsit-scale $u open_session close_session \
			>/dev/null 2>&1 || bail "pamtester $u failed under strace ($1)"
	done
}
median() { sort -n "$1" | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

mounts_before=$(findmnt -rn | wc -l)
pam_hold nsit-scale nsitscj || bail "cannot hold a session of nsitscj" "$(cat "$HOLD_OUT")"
HELDJ=$HOLD_PID
cost one

# N sessions, one per user, all reading one fifo: its writer's end releases them.
mkfifo "$T/scale.in"
sleep 1000000 >"$T/scale.in" &
WRITER=$!
release_all() { kill "$WRITER" 2>/dev/null || true; }
defer release_all
say "bench-scale: opening $N sessions"
t0=$EPOCHREALTIME
for ((i = 0; i < N; i++)); do
	"$HOLD_BIN" nsit-scale "$(printf 'nsitsc%04d' "$i")" <"$T/scale.in" >"$T/scale.$i" 2>&1 &
	# A few at a time: the helper's spawns, not the shell, set the pace.
	((i % 8 == 7)) && wait_until 30 grep -qs "^open" "$T/scale.$i"
done
opened() { [ "$(cat "$T"/scale.[0-9]* 2>/dev/null | grep -c '^open 0$')" -ge "$N" ]; }
wait_until 120 opened || bail "only $(cat "$T"/scale.[0-9]* | grep -c '^open 0$') of $N sessions opened" \
	"$(cat "$T"/scale.[0-9]* | grep -v '^open 0$' | sort | uniq -c | head)"
say "bench-scale: $N sessions open in $(((${EPOCHREALTIME/./} - ${t0/./}) / 1000000)) s"
mounts_held=$(findmnt -rn | wc -l)

# The keepers' proportional set size.
: >"$T/pss"
for ((i = 0; i < N; i++)); do
	k=$(keeper_of "$(uid_of "$(printf 'nsitsc%04d' "$i")")")
	[ -n "$k" ] && awk '$1 == "Pss:" { print $2 }' "/proc/$k/smaps_rollup" >>"$T/pss"
done
cost many

say "bench-scale: closing $N sessions"
t0=$EPOCHREALTIME
release_all
closed() { [ "$(cat "$T"/scale.[0-9]* | grep -c '^close 0$')" -ge "$N" ]; }
wait_until 300 closed || say "error: not every session closed"
gone() { ! ls "$NSI_STATE_DIR"/*.state >/dev/null 2>&1 || [ "$(ls "$NSI_STATE_DIR"/*.state | wc -l)" -le 1 ]; }
wait_until 120 gone
say "bench-scale: closed in $(((${EPOCHREALTIME/./} - ${t0/./}) / 1000000)) s"
pam_release "$HELDJ"
wait_until 10 no_state "$(uid_of nsitscj)"
mounts_after=$(findmnt -rn | wc -l)

echo
echo "pam_nsisolate bench-scale: $N users with live sets, kernel $(uname -r), $(nproc) CPU, $RUNS runs each"
printf '%-26s %14s %14s %7s %12s %12s %7s\n' login "µs, 1 set" "µs, $N sets" ratio \
	"calls, 1" "calls, $N" ratio
for v in first join; do
	a=$(median "$T/one.$v") b=$(median "$T/many.$v")
	ca=$(syscalls_in "$T/one.$v.sys") cb=$(syscalls_in "$T/many.$v.sys")
	printf '%-26s %14d %14d %7s %12d %12d %7s\n' "$v login" "$a" "$b" "$(ratio "$b" "$a")" \
		"$ca" "$cb" "$(ratio "$cb" "$ca")"
done
echo
sort -n "$T/pss" | awk -v n="$N" '{ a[NR] = $1; s += $1 } END {
	printf "keepers: %d of %d measured, PSS min %d KiB, median %d KiB, max %d KiB, total %.1f MiB\n",
		NR, n, a[1], a[int((NR + 1) / 2)], a[NR], s / 1024 }'
echo "host mounts (findmnt | wc -l): before $mounts_before, with $N sets $mounts_held, after $mounts_after"
cp "$T"/*.sys /tmp/ 2>/dev/null; lib_end 0
