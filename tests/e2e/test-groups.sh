#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/e2e/test-groups.sh: a user with hundreds of groups logs in with a
# user namespace (nsisolate.conf(5), USER NAMESPACE: the gid map).
# A user in 400 groups with scattered 10-digit gids (as directory id-mapping
# gives them), logged in through the module (pam-hold, the child becoming
# the user with initgroups as login programs do):
#  1 the login works (a map line per gid would exceed the kernel's page and
#    340-line limits); the set's gid_map stays within them; the helper's
#    notice names the user, the count and the ranges;
#  2 inside, the user holds exactly its 401 groups (400 + the primary), the
#    same gids as outside;
#  3 a gid that the map spans but the user does not hold cannot be taken:
#    chgrp of the user's own file to it fails inside (control: chgrp to one
#    of its groups works);
#  4 group changes (on_group_change): with "refuse" (the default) a second
#    login after a group was taken away is refused, naming the cause; with
#    "join" it joins the live set with the groups it now has (the taken
#    group is gone from the new session), logged; a login with a new group
#    is refused even so, naming the gid the set's map lacks;
#  5 nothing left.
# shellcheck disable=SC2016 # command lines are single-quoted on purpose
# shellcheck disable=SC2317 # helpers called through check/wait_until/defer
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
need groupadd usermod python3
start_syslog
need_test_bins pam-hold

U=nsitgrp
set_user $U
UIDU=$SET_UID
mkconf groups 'version = 1;
defaults = { isolate = true; tmp = { method = "tmpfs"; }; };'
mkservice nsit-grp "$(modline)"

# 400 gids from a fixed pseudo-random walk over 1000000000..2100000000
# (root_id, 2147483646, stays outside), none already taken.
mapfile -t GIDS < <(python3 -c '
import random, grp
random.seed(11)
taken = {g.gr_gid for g in grp.getgrall()}
out = set()
while len(out) < 400:
    g = random.randrange(1000000000, 2100000000)
    if g not in taken:
        out.add(g)
print("\n".join(str(g) for g in sorted(out)))')
[ ${#GIDS[@]} -eq 400 ] || bail "could not pick 400 gids"
names=()
for i in "${!GIDS[@]}"; do
	mkgroup "nsitg$i" -g "${GIDS[$i]}"
	names+=("nsitg$i")
done
usermod -a -G "$(
	IFS=,
	echo "${names[*]}"
)" $U || bail "usermod -G failed"
OUTSIDE=$(id -G $U | tr ' ' '\n' | sort -n | xargs)
check_eq "outside: $U has 401 groups" 401 "$(wc -w <<<"$OUTSIDE")"

# ================================================================ 1 the login
diag "1: the login of a user in 400 groups"
log_mark
NSIT_AS_USER=1 pam_hold nsit-grp $U -f sh -c '
	echo GROUPS $(id -G | tr " " "\n" | sort -n | tr "\n" " ")
	echo LINES $(wc -l </proc/self/gid_map)
	f=/tmp/nsit-grp-file.$$; touch "$f"
	chgrp '"${GIDS[5]}"' "$f" && echo CHGRP-HELD ok
	s=$(awk '\''NR > 1 && $3 > 1 { print $2 + 1; exit }'\'' /proc/self/gid_map)
	echo SPANNED $s
	id -G | tr " " "\n" | grep -qx "$s" && echo SPANNED-HELD
	chgrp "$s" "$f" 2>/dev/null && echo CHGRP-SPANNED ok || echo CHGRP-SPANNED refused
	rm -f "$f"
	sleep 7501' || fail "the login of $U in 400 groups works" "$(cat "$HOLD_OUT")"
wait_until 15 grep -q '^CHGRP-SPANNED' "$HOLD_OUT"
out=$(cat "$HOLD_OUT")
check_match "the login works" '^open 0$' "$out"
lines=$(sed -n 's/^LINES //p' <<<"$out")
diag "gid_map: ${lines:-?} lines (the kernel took it: it refuses a write of 4096 bytes or more)"
check "the map is within the kernel's line limit (340)" test "${lines:-999}" -le 340
check "the helper's notice names the user, the count and the ranges" \
	wait_log "set for $U: the 401 groups of $U are [0-9]+ ranges of gids, more than a gid map holds \\(340 lines, 4096 bytes\\): mapped as [0-9]+ ranges"

# ================================================================ 2 the groups inside
diag "2: the groups inside"
check_eq "inside, $U holds exactly its 401 groups, the same gids" "$OUTSIDE" "$(sed -n 's/^GROUPS //p' <<<"$out" | xargs)"

# ================================================================ 3 spanned gids
diag "3: a gid the map spans but the user does not hold"
check_match "control: chgrp to one of $U's groups works inside" '^CHGRP-HELD ok$' "$out"
spanned=$(sed -n 's/^SPANNED //p' <<<"$out")
diag "a gid inside a spanned range: ${spanned:-none}"
check_match "the map spans a gap (a range with a gid $U does not hold)" '^[0-9]+$' "$spanned"
check_nomatch "... which $U does not hold" '^SPANNED-HELD' "$out"
check_match "that gid cannot be taken: chgrp to it is refused" '^CHGRP-SPANNED refused$' "$out"

pkill -u $U -x -f 'sleep 7501'
pam_release
check "the set ends with the session" wait_until 10 no_state "$UIDU"

# ================================================================ 4 group changes
diag "4: a group taken away between two logins (on_group_change)"
C=nsitgrc
set_user $C
UIDC=$SET_UID
mkgroup nsitgca
mkgroup nsitgcb
mkgroup nsitgcc
GA=$(getent group nsitgca | cut -d: -f3)
GB=$(getent group nsitgcb | cut -d: -f3)
GC=$(getent group nsitgcc | cut -d: -f3)
mkconf grc-refuse 'version = 1;
defaults = { isolate = true; tmp = { method = "tmpfs"; }; };'
mkservice nsit-grc-r "$(modline)"
mkconf grc-join 'version = 1;
defaults = { isolate = true; tmp = { method = "tmpfs"; }; on_group_change = "join"; };'
mkservice nsit-grc-j "$(modline)"
inside_groups() { sed -n 's/^G //p' "$1" | tr ' ' '\n' | sort -n | xargs; }

# refuse (the default): the second login is refused, naming the cause.
usermod -a -G nsitgca,nsitgcb $C || bail "usermod -G failed"
NSIT_AS_USER=1 pam_hold nsit-grc-r $C -f sh -c 'echo G $(id -G); sleep 7601' ||
	fail "refuse: the first login works" "$(cat "$HOLD_OUT")"
H1=$HOLD_PID
wait_until 10 grep -q '^G ' "$HOLD_OUT"
check_match "refuse: the first session holds group nsitgcb ($GB)" "(^| )$GB( |\$)" "$(inside_groups "$HOLD_OUT")"
gpasswd -d $C nsitgcb >/dev/null || bail "gpasswd -d failed"
log_mark
check_fails "refuse: a second login without nsitgcb is refused" \
	pamtester nsit-grc-r $C open_session close_session
check "refuse: syslog names the cause and the way out" \
	wait_log "refused $C.*the group list of $C differs from the live set's; run \"nsisolate stop $C\""
pkill -u $C -x -f 'sleep 7601'
pam_release "$H1"
check "refuse: the set ends with the session" wait_until 10 no_state "$UIDC"

# join: the second login joins with the groups it now has, and logs it.
usermod -a -G nsitgcb $C || bail "usermod -G failed"
NSIT_AS_USER=1 pam_hold nsit-grc-j $C -f sh -c 'echo G $(id -G); sleep 7602' ||
	fail "join: the first login works" "$(cat "$HOLD_OUT")"
H1=$HOLD_PID
wait_until 10 grep -q '^G ' "$HOLD_OUT"
K1=$(keeper_of "$UIDC")
gpasswd -d $C nsitgcb >/dev/null || bail "gpasswd -d failed"
log_mark
NSIT_AS_USER=1 pam_hold nsit-grc-j $C -f sh -c 'echo G $(id -G); echo M $(readlink /proc/self/ns/mnt); sleep 7603' ||
	fail "join: a second login without nsitgcb works" "$(cat "$HOLD_OUT")"
H2=$HOLD_PID
wait_until 10 grep -q '^M ' "$HOLD_OUT"
check_eq "join: it joined the live set (same keeper)" "$K1" "$(keeper_of "$UIDC")"
check_eq "join: ... and its mount namespace" "$(readlink "/proc/$K1/ns/mnt")" "$(sed -n 's/^M //p' "$HOLD_OUT")"
check_nomatch "join: the new session does not hold nsitgcb ($GB)" "(^| )$GB( |\$)" "$(inside_groups "$HOLD_OUT")"
check_match "join: ... and still holds nsitgca ($GA)" "(^| )$GA( |\$)" "$(inside_groups "$HOLD_OUT")"
check "join: the module logged that it joined with another group list" \
	wait_log "the group list of $C differs from the live set's; joining the live set as on_group_change = \"join\" says"
# A new group is not in the set's map: never joined, named.
usermod -a -G nsitgcc $C || bail "usermod -G failed"
log_mark
check_fails "join: a login with a new group nsitgcc is refused" \
	pamtester nsit-grc-j $C open_session close_session
check "join: syslog names the gid outside the set's group map" \
	wait_log "refused $C.*gid $GC is not in the live set's group map"
pkill -u $C -x -f 'sleep 760[23]'
pam_release "$H2"
pam_release "$H1"
check "join: the set ends with its sessions" wait_until 10 no_state "$UIDC"
assert_no_leftovers
finish
