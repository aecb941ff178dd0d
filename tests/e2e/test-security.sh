#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/e2e/test-security.sh: attacks by a user with a local account on the
# set (docs/design.md, "Trust boundaries", "State" and "Security rules" 7),
# each tried with real sessions opened through the module (pam-hold,
# su run by root and by an ordinary user), each negative check with the
# positive control that shows the same action works where it should:
#  1 "nsisolate enter USER --as-user" never hands root's terminal or
#    environment to the set: on a pty it is refused; with redirected stdio
#    the entered process has no controlling terminal (/dev/tty and TIOCSTI
#    fail; control: root's plain enter on the same pty can inject), and none
#    of root's environment (control: plain enter keeps it).
#  2 a dead set whose namespace numbers now belong to another user's set (a
#    state planted with the other set's numbers, as the kernel recycles
#    them) never gets that user's processes killed, with and without a
#    user namespace; control: a dead set's own leftover process is killed at
#    the next login.
#  3 readonly: a missing path below the home is made (a directory) and is
#    read-only; a nested path cannot be detached by renaming its parent
#    (control: renaming an unlisted sibling works, writing elsewhere works).
#  4 /run/nsisolate made by a login with umask 0777 is 0700 and later logins
#    work.
#  5 su run by an ordinary user (real uid not 0) gets an isolated session;
#    the keeper has PID 1's resource limits, not the caller's.
#  6 userns.nested = true, pid = false: a process in a nested user namespace
#    (and its own mount namespace) dies with the set at the last logout
#    (control: it was alive, in another user namespace, before).
#  7 /run/nsisolate full: the login is refused, no keeper, state or lock stays
#    (control: with room the same login works).
#  8 a state file corrupted by hand: the next login works, the file is kept
#    as UID.state.corrupt and logged with its line; the set it still names
#    (a live keeper, proven by its image) is ended; a file truncated before
#    the keeper line ends nothing (control: the set was alive before), nor
#    does one that names another user's live keeper.
# shellcheck disable=SC2016 # command lines are single-quoted on purpose
# shellcheck disable=SC2317,SC2119 # helpers called through check/wait_until/defer
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
need python3 setpriv unshare su runuser script pgrep awk
start_syslog

[ -x "$NSI_LIBEXEC/nsisolate-helper" ] || bail "the helper is not installed: make install"
NSI=${NSI_BIN:-$(command -v nsisolate)} || bail "nsisolate is not installed: make install"
[ -x "$NSI_BUILD/tests/pam-hold" ] || bail "$NSI_BUILD/tests/pam-hold is missing: make build/tests/pam-hold"

UA=nsitseca
UB=nsitsecb
UC=nsitsecc # an ordinary user who runs su
for u in $UA $UB $UC; do
	mkuser "$u"
done
UIDA=$(uid_of $UA)
UIDB=$(uid_of $UB)
for u in "$UIDA" "$UIDB"; do
	drop_set "$u"
	defer drop_set "$u"
done

mkconf security <<'EOF'
version = 1;
defaults = {
  isolate = true;
  tmp = { method = "tmpfs"; };
};
policies = (
  { name = "plain";  match = { services = ["nsit-sec-plain"]; }; userns = { enable = false; }; },
  { name = "ro";     match = { services = ["nsit-sec-ro"]; };
    readonly = ["$HOME/.ssh", "$HOME/a/b", "$HOME/deep/er/est"]; },
  { name = "nested"; match = { services = ["nsit-sec-nested"]; }; userns = { nested = true; }; }
);
EOF
for s in nsit-sec nsit-sec-plain nsit-sec-ro nsit-sec-nested; do
	mkservice $s "$(modline)"
done

# as USER CMD...: CMD as USER (uid, gid, groups), from a root process.
as() {
	local u=$1
	shift
	setpriv --reuid "$u" --regid "$u" --init-groups -- "$@"
}
alive() { kill -0 "$1" 2>/dev/null && ! gone "$1"; }
# pid of USER's "sleep SECS" (a marker duration per test).
sleeper() { pgrep -u "$1" -x -f "sleep $2" | head -n 1; }
has_sleeper() { [ -n "$(sleeper "$1" "$2")" ]; }
state_of() { cat "$NSI_STATE_DIR/$1.state"; }

# ================================================================ 1 enter --as-user
diag "1: nsisolate enter --as-user and root's terminal"
pam_hold nsit-sec $UA || bail "cannot hold a session of $UA" "$(cat "$HOLD_OUT")"
H1=$HOLD_PID

out=$(run_in_pty "$NSI enter $UA --as-user -- id -u; echo RC=\$?" </dev/null)
check_match "on a pty: refused (exit 1)" '^RC=1$' "$out"
check_match "on a pty: says why" 'will not run on a terminal' "$out"

TIOCSTI_SYSCTL=/proc/sys/dev/tty/legacy_tiocsti
if [ -w "$TIOCSTI_SYSCTL" ]; then
	old_sti=$(cat "$TIOCSTI_SYSCTL")
	defer sh -c "echo $old_sti >$TIOCSTI_SYSCTL"
	echo 1 >"$TIOCSTI_SYSCTL" # as on Debian 12's kernel 6.1, which has no such switch
fi
cat >"$T/sti.py" <<'EOF'
import fcntl, os, sys, termios
try:
    fd = os.open("/dev/tty", os.O_RDWR)
except OSError as e:
    print("TTY=no", e.errno); sys.exit(0)
try:
    fcntl.ioctl(fd, termios.TIOCSTI, b"#")
    print("STI=yes")
except OSError as e:
    print("STI=no", e.errno)
EOF
chmod 0644 "$T/sti.py"
# The script goes in through stdin: $T is not visible in a set with a private /tmp.
out=$(run_in_pty "$NSI enter $UA --as-user -- python3 - <$T/sti.py >$T/sti.out 2>&1; cat $T/sti.out" </dev/null)
check_match "redirected --as-user: no controlling terminal (/dev/tty fails)" '^TTY=no' "$out"
check_nomatch "redirected --as-user: no TIOCSTI into root's terminal" 'STI=yes' "$out"
out=$(run_in_pty "$NSI enter $UA -- python3 - <$T/sti.py >$T/sti.out 2>&1; cat $T/sti.out" </dev/null)
check_match "control: root's plain enter on the same pty keeps its terminal" 'STI=yes' "$out"

out=$(NSIT_ROOT_SECRET=s3cret "$NSI" enter $UA --as-user -- env </dev/null 2>&1)
check_nomatch "--as-user: none of root's environment" 'NSIT_ROOT_SECRET' "$out"
check_match "--as-user: the user's HOME" "^HOME=/home/$UA\$" "$out"
out=$(NSIT_ROOT_SECRET=s3cret "$NSI" enter $UA -- env </dev/null 2>&1)
check_match "control: plain enter keeps root's environment" '^NSIT_ROOT_SECRET=s3cret$' "$out"
out=$("$NSI" enter $UA --as-user -- sh -c 'id -u; echo $$; ps -o sid= -p $$' </dev/null 2>&1)
check_eq "--as-user: runs as the user" "$UIDA" "$(sed -n 1p <<<"$out")"
check_eq "--as-user: leads a session of its own (its pid is its session id)" \
	"$(sed -n 2p <<<"$out")" "$(sed -n 3p <<<"$out" | tr -d ' ')"
pam_release "$H1"
check "1: the set is gone" wait_until 10 no_state "$UIDA"

# ================================================================ 2 recycled numbers
# plant UID NAME FROM: a state for UID claiming the namespaces of FROM's live
# set, with a keeper that is dead: what a dead set looks like once the kernel
# gave its numbers to FROM's set.
plant() {
	local uid=$1 name=$2 from=$3 deadpid
	sh -c 'exit 0' &
	deadpid=$!
	wait "$deadpid"
	state_of "$from" | awk -v u="$uid" -v n="$name" -v k="$deadpid" '
		$1 == "uid" { $2 = u } $1 == "user" { $2 = n }
		$1 == "keeper" { $2 = k; $3 = 1 } $1 == "session" { next } { print }' \
		>"$NSI_STATE_DIR/$uid.state"
	chmod 0600 "$NSI_STATE_DIR/$uid.state"
}

recycled() {
	local svc=$1 what=$2 hb kb sb ha sa
	diag "2: $what: a dead set with another user's namespace numbers"
	NSIT_AS_USER=1 pam_hold "$svc" $UB -f sleep 7201 ||
		bail "cannot hold a session of $UB" "$(cat "$HOLD_OUT")"
	hb=$HOLD_PID
	wait_until 10 has_sleeper $UB 7201
	sb=$(sleeper $UB 7201)
	kb=$(keeper_of "$UIDB")
	check "$what: $UB's session process is in $UB's set" \
		test "$(readlink "/proc/$sb/ns/mnt")" == "$(readlink "/proc/$kb/ns/mnt")"
	plant "$UIDA" $UA "$UIDB"
	log_mark
	pam_hold "$svc" $UA || fail "$what: $UA's login after the planted dead set" "$(cat "$HOLD_OUT")"
	ha=$HOLD_PID
	check "$what: the dead set was cleared at $UA's login" \
		wait_log "set of $UA \\(uid $UIDA\\) lost its keeper"
	check "$what: $UB's session process survives $UA's cleanup" alive "$sb"
	check "$what: $UB's keeper survives $UA's cleanup" alive "$kb"
	pam_release "$ha"

	# Control: a dead set's own leftover is killed at the user's next login.
	NSIT_AS_USER=1 pam_hold "$svc" $UA -f sleep 7202 ||
		bail "cannot hold a session of $UA" "$(cat "$HOLD_OUT")"
	ha=$HOLD_PID
	wait_until 10 has_sleeper $UA 7202
	sa=$(sleeper $UA 7202)
	kill -KILL "$(keeper_of "$UIDA")"
	pam_hold "$svc" $UA || fail "control: $UA's next login" "$(cat "$HOLD_OUT")"
	check "control ($what): the dead set's own leftover is killed" wait_until 10 gone "$sa"
	pam_release
	_nsi_hold_stop "$ha"
	check "$what: $UB's process still alive at the end" alive "$sb"
	kill "$sb"
	_nsi_hold_stop "$hb"
	check "$what: $UB's set is gone" wait_until 10 no_state "$UIDB"
	drop_set "$UIDA"
}
recycled nsit-sec-plain "no user namespace"
recycled nsit-sec "user namespace"

# ================================================================ 3 readonly
diag "3: readonly: missing and nested paths"
H=/home/$UA
rm -rf "$H/.ssh" "$H/deep"
as $UA mkdir -p "$H/a/b" "$H/c"
NSIT_AS_USER=1 pam_hold nsit-sec-ro $UA -f sh -c "
	cd $H
	[ -d .ssh ] && echo SSH=dir
	echo key >.ssh/authorized_keys 2>/dev/null && echo KEYS=written
	mv a a2 2>/dev/null && echo MVA=moved
	mkdir -p a/b 2>/dev/null; touch a/b/x 2>/dev/null && echo NESTED=written
	[ -d deep/er/est ] && echo DEEP=dir
	mv deep/er deep/er2 2>/dev/null && echo MVDEEP=moved
	mv c c2 && echo MVC=moved
	touch own && echo OWN=written
" || bail "cannot hold a session of $UA" "$(cat "$HOLD_OUT")"
wait_until 15 grep -q '^close ' "$HOLD_OUT"
out=$(cat "$HOLD_OUT")
check_match "a missing readonly path below the home is made" '^SSH=dir$' "$out"
check_nomatch "... and nothing can be written in it" 'KEYS=written' "$out"
check_nomatch "the parent of a nested readonly path cannot be renamed" 'MVA=moved' "$out"
check_nomatch "... so the nested path cannot be recreated writable" 'NESTED=written' "$out"
check_match "a missing nested readonly path is made" '^DEEP=dir$' "$out"
check_nomatch "... and its parents cannot be renamed" 'MVDEEP=moved' "$out"
check_match "control: renaming an unlisted directory works" '^MVC=moved$' "$out"
check_match "control: writing elsewhere in the home works" '^OWN=written$' "$out"
check "the made directory belongs to the user" test "$(stat -c %U:%a "$H/.ssh")" == "$UA:700"
check "control: outside the set the user can write there" as $UA touch "$H/.ssh/authorized_keys"
check "3: the set is gone" wait_until 10 no_state "$UIDA"

# ================================================================ 4, 5 su
diag "4/5: su with umask 0777, su run by an ordinary user"
override_service su-l "auth     sufficient pam_rootok.so
auth     required   pam_unix.so
account  required   pam_unix.so
session  required   pam_unix.so
$(modline)"
echo "$UA:nsit-Pw-$$" | chpasswd || bail "chpasswd failed"
RUN_SAVED=
if [ -d "$NSI_STATE_DIR" ] && ! ls "$NSI_STATE_DIR"/*.state >/dev/null 2>&1; then
	rm -rf "$NSI_STATE_DIR"
elif [ -d "$NSI_STATE_DIR" ]; then
	RUN_SAVED=1
fi
out=$(run_in_pty "umask 0777; su -l $UA -c 'echo MNT=\$(readlink /proc/self/ns/mnt)'" </dev/null)
if [ -n "$RUN_SAVED" ]; then
	skip "4: umask 0777 at the first login" "$NSI_STATE_DIR holds live sets"
else
	check_eq "4: /run/nsisolate made under umask 0777 is root's 0700" "root 700" \
		"$(stat -c '%U %a' "$NSI_STATE_DIR")"
fi
check_match "4: that su login is isolated" "^MNT=" "$out"
check_nomatch "4: ... in a mount namespace of its own" "^MNT=$(readlink /proc/self/ns/mnt)\$" "$out"
# An ordinary user runs su (setuid root: real uid $UC), with a lowered limit;
# root notes the keeper's limits while that session is open.
keeper_limits() {
	local i k
	for ((i = 0; i < 150; i++)); do
		k=$(keeper_of "$UIDA")
		if [ -n "$k" ] && grep 'Max open files' "/proc/$k/limits" >"$T/keeper.txt" 2>/dev/null; then
			grep '^SigIgn:' "/proc/$k/status" >"$T/keeper.sig" 2>/dev/null
			return 0
		fi
		sleep 0.1
	done
}
keeper_limits &
KW=$!
# It also ignores SIGHUP, SIGUSR1 and SIGTERM, which su and the helper inherit across exec.
out=$(run_in_pty "runuser -u $UC -- sh -c 'ulimit -S -n 77; trap \"\" HUP USR1 TERM; grep ^SigIgn: /proc/self/status; printf \"%s\\n\" nsit-Pw-$$ | su -l $UA -c \"echo MNT=\\\$(readlink /proc/self/ns/mnt); sleep 3\"'" </dev/null)
wait "$KW"
check_match "5: su by an ordinary user: isolated" "MNT=mnt:" "$out"
check_nomatch "5: ... not in the host's mount namespace" "^MNT=$(readlink /proc/self/ns/mnt)\$" "$out"
check_nomatch "5: ... no refusal" 'must be run by root|Authentication failure|cannot open session' "$out"
if [ -s "$T/keeper.txt" ]; then
	check_nomatch "5: the keeper does not have the caller's open-file limit (77)" \
		'^Max open files +77 ' "$(cat "$T/keeper.txt")"
	# Without CAP_SYS_RESOURCE (a container) the helper cannot raise a hard limit.
	if [ -r /proc/1/limits ] && (($(printf '%d' "0x$(awk '/^CapBnd/ { print $2 }' /proc/self/status)") >> 24 & 1)); then
		check_eq "5: the keeper has PID 1's open-file limit" \
			"$(grep 'Max open files' /proc/1/limits)" "$(cat "$T/keeper.txt")"
	fi
	# SIGHUP, SIGUSR1, SIGTERM: bits 0, 9 and 14 of the mask.
	check "5: control: the caller ignores SIGHUP, SIGUSR1 and SIGTERM" \
		test $((0x$(awk '/^SigIgn:/ { print $2; exit }' <<<"$out" | tr -d '\r') & 0x4201)) -eq $((0x4201))
	check "5: the keeper ignores none of them" \
		test $((0x$(awk '{ print $2 }' "$T/keeper.sig") & 0x4201)) -eq 0
else
	fail "5: the keeper of that su session was not seen"
fi
check "4/5: the set is gone" wait_until 10 no_state "$UIDA"

# ================================================================ 6 nested user namespaces
diag "6: userns.nested = true, pid = false: nested processes die with the set"
NSIT_AS_USER=1 pam_hold nsit-sec-nested $UA -f sh -c \
	'setsid unshare --user --map-root-user --mount sleep 7203 </dev/null >/dev/null 2>&1 &
	 sleep 1; echo started' || bail "cannot hold a session of $UA" "$(cat "$HOLD_OUT")"
HN=$HOLD_PID
wait_until 10 has_sleeper $UA 7203
sn=$(sleeper $UA 7203)
kn=$(keeper_of "$UIDA")
check "6: the nested process runs" alive "${sn:-0}"
check "6: ... in a user namespace other than the set's" \
	test "$(readlink "/proc/$sn/ns/user")" != "$(readlink "/proc/$kn/ns/user")"
check "6: ... and a mount namespace other than the set's" \
	test "$(readlink "/proc/$sn/ns/mnt")" != "$(readlink "/proc/$kn/ns/mnt")"
check "6: the session closes (the last logout)" wait_until 15 grep -q '^close 0' "$HOLD_OUT"
check "6: the nested process died with the set" wait_until 10 gone "${sn:-0}"
_nsi_hold_stop "$HN"
check "6: the set is gone" wait_until 10 no_state "$UIDA"

# ================================================================ 7 /run full
diag "7: /run/nsisolate full: the login is refused and nothing of the set stays"
# A private mount namespace with a full 64 KiB tmpfs on /run/nsisolate.
cat >"$T/full.sh" <<EOF
mount -t tmpfs -o size=64k,mode=0700 nsit-full $NSI_STATE_DIR || exit 99
dd if=/dev/zero of=$NSI_STATE_DIR/filler bs=4k count=64 2>/dev/null
"$NSI_BUILD/tests/pam-hold" nsit-sec $UA </dev/null
echo STATE=\$(ls $NSI_STATE_DIR | grep -v filler | tr '\n' ' ')
EOF
out=$(unshare -m --propagation private sh "$T/full.sh" 2>&1)
check_match "/run full: the login is refused" '^open 14$' "$out"
check_match "/run full: no state file and no lock left" '^STATE= *$' "$out"
check "/run full: no keeper of $UA left" wait_until 5 sh -c "! pgrep -u 2147483646 -f nsisolate-helper | xargs -r -I{} cat /proc/{}/uid_map 2>/dev/null | grep -qw $UIDA"
out=$(unshare -m --propagation private sh -c "mount -t tmpfs -o size=1m,mode=0700 nsit-ok $NSI_STATE_DIR && \"$NSI_BUILD/tests/pam-hold\" nsit-sec $UA </dev/null" 2>&1)
check_match "control: with room the same login works" '^open 0$' "$out"

# ================================================================ 8 corrupt state
diag "8: a state file corrupted by hand: a clear message, a working next login"
# corrupt HOW: a live set of UA with a member (sleep 7301), its state then
# damaged by the awk program HOW; prints nothing, sets K (keeper) and S (member).
corrupt() {
	NSIT_AS_USER=1 pam_hold nsit-sec $UA -f sleep 7301 ||
		bail "cannot hold a session of $UA" "$(cat "$HOLD_OUT")"
	HA=$HOLD_PID
	wait_until 10 has_sleeper $UA 7301
	S=$(sleeper $UA 7301)
	K=$(keeper_of "$UIDA")
	state_of "$UIDA" | awk "$1" >"$T/corrupt"
	cat "$T/corrupt" >"$NSI_STATE_DIR/$UIDA.state"
}
corrupt '$1 == "ns" && $2 == "mnt" { $3 = "garbage" } { print }'
check "the member and the keeper are alive before" sh -c "kill -0 $S && kill -0 $K"
log_mark
pam_hold nsit-sec $UA || fail "a login after a corrupt state works" "$(cat "$HOLD_OUT")"
check "corrupt state: the login works" grep -q '^open 0$' "$HOLD_OUT"
check "corrupt state: logged with the file, the line and what happens" \
	wait_log "$NSI_STATE_DIR/$UIDA.state is corrupt \\(line [0-9]+\\); kept as $UIDA.state.corrupt; ending the set it names \\(keeper $K\\)"
check "corrupt state: the damaged file is kept for the administrator" \
	cmp -s "$T/corrupt" "$NSI_STATE_DIR/$UIDA.state.corrupt"
check "corrupt state: the set it named is ended (keeper)" wait_until 10 gone "$K"
check "corrupt state: ... and its member" wait_until 10 gone "$S"
check "corrupt state: a new, valid state" sh -c "$NSI list --json | grep -q '\"user\": \"$UA\"'"
check_nomatch "corrupt state: a new keeper" "^$K\$" "$(keeper_of "$UIDA")"
pam_release
_nsi_hold_stop "$HA"
check "corrupt state: the new set ends at its last logout" wait_until 10 no_state "$UIDA"
rm -f "$NSI_STATE_DIR/$UIDA.state.corrupt"

# Truncated before the keeper line: nothing can be proven to be the set's.
corrupt 'NR <= 3 { print }'
log_mark
pam_hold nsit-sec $UA || fail "a login after a truncated state works" "$(cat "$HOLD_OUT")"
check "truncated state: the login works" grep -q '^open 0$' "$HOLD_OUT"
check "truncated state: logged, nothing ended" \
	wait_log "$UIDA.state is corrupt \\(line 4\\); kept as $UIDA.state.corrupt; no set can be identified in it"
check "truncated state: the unidentified set is left alone (keeper)" alive "$K"
check "truncated state: ... and its member" alive "$S"
pam_release
kill -KILL "$K" "$S" 2>/dev/null
_nsi_hold_stop "$HA"
drop_set "$UIDA"
rm -f "$NSI_STATE_DIR/$UIDA.state.corrupt"

# A corrupt state that names another user's live keeper ends nothing of it.
NSIT_AS_USER=1 pam_hold nsit-sec $UB -f sleep 7302 || bail "cannot hold a session of $UB" "$(cat "$HOLD_OUT")"
HB=$HOLD_PID
wait_until 10 has_sleeper $UB 7302
SB=$(sleeper $UB 7302)
KB=$(keeper_of "$UIDB")
state_of "$UIDB" | awk -v u="$UIDA" -v n=$UA '$1 == "uid" { $2 = u } $1 == "user" { $2 = n }
	$1 == "ns" && $2 == "mnt" { $3 = "garbage" } { print }' >"$NSI_STATE_DIR/$UIDA.state"
chmod 0600 "$NSI_STATE_DIR/$UIDA.state"
log_mark
pam_hold nsit-sec $UA || fail "a login after a state naming another user's keeper works" "$(cat "$HOLD_OUT")"
check "another user's keeper: $UA's login works" grep -q '^open 0$' "$HOLD_OUT"
check "another user's keeper: nothing is identified, nothing ended" \
	wait_log "$UIDA.state is corrupt \\(line [0-9]+\\); kept as $UIDA.state.corrupt; no set can be identified in it"
check "another user's keeper: $UB's keeper is alive" alive "$KB"
check "another user's keeper: $UB's session process is alive" alive "$SB"
pam_release
kill "$SB"
_nsi_hold_stop "$HB"
check "$UB's set ends with its session" wait_until 10 no_state "$UIDB"
rm -f "$NSI_STATE_DIR/$UIDA.state.corrupt"

finish
