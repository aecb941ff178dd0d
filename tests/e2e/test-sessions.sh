#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/e2e/test-sessions.sh: a user's set created, joined and torn down
# through real logins (docs/design.md, "Process model" and "State"), as root
# after `make all build/tests/pam-hold build/tests/pam-fdcheck && make install`.
#
# Scenarios (each negative check has a positive control outside the session):
#  1 pamtester open/close: a set is created and torn down; state file and
#    keeper exist while a session is held and are gone after; create, join
#    and teardown are logged with user, uid, policy and keeper pid.
#  2 the opener (build/tests/pam-fdcheck) keeps its fds, signal dispositions,
#    blocked mask and namespaces across open+close, gets no SIGCHLD, and only
#    a child forked while the session is open is moved (self-test first).
#  3 a login selecting another policy than the live set's is refused.
#  4 exempt users (isolate = false) and root stay in the host's namespaces.
#  5 real sshd, with and without a pty, and sftp: private /tmp per user,
#    shared by the user's logins (one mount namespace); nothing left after.
#  6 a module line followed by pam_exec still isolates the session.
#  7 runuser -l, su -l, login -f on a pty are isolated.
#  8 tmp.method instance (persistent, nosuid,nodev, root 0700/1777 store),
#    tmpfs (gone after logout, size enforced), shared (host /tmp visible).
#  9 on_last_logout = "linger": a background sleep survives to the next
#    login; once it is gone the next login reclaims the set.
# 10 20 parallel first logins of one user: all succeed, one set.
# 11 kill -9 of the keeper: the next login works, the old set is killed.
# shellcheck disable=SC2016 # remote command lines are single-quoted on purpose
# shellcheck disable=SC2317,SC2119 # helpers called through check/wait_until/defer
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
need pamtester sshd ssh sftp script runuser su login findmnt pgrep setsid awk logger

HOLD=$NSI_BUILD/tests/pam-hold
FDCHECK=$NSI_BUILD/tests/pam-fdcheck
need_test_bins pam-hold pam-fdcheck

U1=nsitses1
U2=nsitses2
UX=nsitsesx
start_syslog
mkgroup nsitsesg
mkgroup nsitsesxg
mkuser $U1 -G nsitsesg
mkuser $U2 -G nsitsesg
mkuser $UX -G nsitsesxg
UID1=$(uid_of $U1)
UID2=$(uid_of $U2)
UIDX=$(uid_of $UX)
STATE1=$NSI_STATE_DIR/$UID1.state
LOCK1=$NSI_STATE_DIR/$UID1.lock
HOST_MNT=$(readlink /proc/self/ns/mnt)
HOSTMARK=/tmp/nsit-ses-hostmark.$$
echo "host marker" >"$HOSTMARK"
defer rm -f "$HOSTMARK"
# Files sessions write in their /tmp: if one leaked to the host, remove it.
for f in u1 u2 pty sftp inst tmpfs shared linger; do
	defer rm -f "/tmp/nsit-ses-$f.$$"
done

for u in "$UID1" "$UID2" "$UIDX"; do
	drop_set "$u"
	defer drop_set "$u"
done
INST=/var/lib/nsisolate/$UID1
rm -rf --one-file-system "$INST"
defer rm -rf --one-file-system "$INST"
# The store, if this test made it (and it is empty: another user's may not be).
rm_store() {
	[ -d /var/lib/nsisolate ] && rmdir /var/lib/nsisolate 2>/dev/null
	return 0
}
[ -d /var/lib/nsisolate ] || defer rm_store

# The probe every login runs (from the home, which is shared: $T is under
# /tmp and invisible inside).
for u in $U1 $U2 $UX; do
	cat >"/home/$u/.nsit-probe" <<-EOF
		echo "M=\$(readlink /proc/self/ns/mnt)"
		if [ -e $HOSTMARK ]; then echo H=visible; else echo H=hidden; fi
		echo "U=\$(id -un)"
		if tty -s; then echo "T=\$(tty)"; else echo T=none; fi
	EOF
	chmod 0755 "/home/$u/.nsit-probe"
done
PROBE1="sh /home/$U1/.nsit-probe"

# val KEY TEXT: the value of the first KEY=value line.
val() { sed -n "s/^$1=//p" <<<"$2" | head -n 1; }
# no_keepers UID: no nsisolate-keep whose user namespace maps UID (a keeper
# of another user's set, or another test's, does not count).
no_keepers() {
	local p
	for p in $(pgrep -x nsisolate-keep); do
		awk -v u="$1" '$1 == u { f = 1 } END { exit !f }' "/proc/$p/uid_map" 2>/dev/null && return 1
	done
	return 0
}
# pid_of_line ERE: the "keeper pid N" / "keeper N" number of a log line.
keeper_in() { sed -nE 's/.*keeper (pid )?([0-9]+).*/\2/p' <<<"$1" | head -n 1; }

# The policy: exempt group first, then every test user of nsitsesg.
write_conf() {
	mkconf ses "version = 1;
defaults = { $1 };
policies = (
  { name = \"exempt\"; match = { groups = [\"nsitsesxg\"]; }; isolate = false; },
  { name = \"tsess\"; match = { groups = [\"nsitsesg\"]; }; }
);"
}
write_conf 'tmp = { method = "tmpfs"; };'
SVC=nsit-ses-pam
mkservice $SVC "session required pam_permit.so
$(modline)"
SSHD_SVC=nsit-ses-sshd
mkservice $SSHD_SVC "session include common-session
$(modline)"


# ================================================================ 1 pamtester
diag "1: pamtester open/close"
log_mark
check "pamtester open_session close_session succeeds" pamtester -v $SVC $U1 open_session close_session
line=$(wait_log "created set for $U1 \(uid $UID1\), policy tsess, keeper pid [0-9]+, 1 session\$")
check_match "created line names user, uid, policy, keeper pid" "pam_nsisolate\($SVC:session\): created set for $U1 \(uid $UID1\), policy tsess, keeper pid [0-9]+" "$line"
k=$(keeper_in "$line")
line=$(wait_log "tore down set of $U1 \(uid $UID1\)")
check_match "teardown line names user, uid, policy and the same keeper pid" \
	"tore down set of $U1 \(uid $UID1\), policy tsess, keeper pid $k\$" "$line"
check "no state or lock file after the close" no_state "$UID1"
check "the keeper $k is gone after the close" wait_until 5 gone "$k"

log_mark
if pam_hold $SVC $U1; then pass "pam-hold opens a session"; else fail "pam-hold opens a session" "$(cat "$HOLD_OUT")"; fi
hold1=$HOLD_PID
hout1=$HOLD_OUT
line=$(wait_log "created set for $U1 \(uid $UID1\), policy tsess, keeper pid [0-9]+")
k=$(keeper_in "$line")
check "the state file exists while the session is held" test -f "$STATE1"
check "the lock file exists while the session is held" test -f "$LOCK1"
check_eq "state file is root's, 0600" "600 root" "$(stat -c '%a %U' "$STATE1" 2>&1)"
check_eq "/run/nsisolate is root's, 0700" "700 root" "$(stat -c '%a %U' "$NSI_STATE_DIR" 2>&1)"
st=$(cat "$STATE1" 2>&1)
check_match "state: uid" "^uid $UID1\$" "$st"
check_match "state: policy tsess" "^policy tsess\$" "$st"
check_eq "state: keeper pid is the logged one" "$k" "$(keeper_of "$UID1")"
check_match "state: the held opener is recorded" "^session $hold1 [0-9]+\$" "$st"
check_eq "the keeper's comm is nsisolate-keep" nsisolate-keep "$(cat "/proc/$k/comm" 2>&1)"
keeper_mnt=$(readlink "/proc/$k/ns/mnt")
if [ -n "$keeper_mnt" ] && [ "$keeper_mnt" != "$HOST_MNT" ]; then
	pass "the keeper's mount namespace is not the host's"
else
	fail "the keeper's mount namespace is not the host's" "keeper $keeper_mnt host $HOST_MNT"
fi
check_eq "the opener (pam-hold) stays in the host's mount namespace" "$HOST_MNT" "$(readlink "/proc/$hold1/ns/mnt")"
log_mark
check "a second open+close joins while held" pamtester -v $SVC $U1 open_session close_session
check "join logged with user, uid, policy, keeper pid, 2 sessions" \
	wait_log "pam_nsisolate\($SVC:session\): joined set for $U1 \(uid $UID1\), policy tsess, keeper pid $k, 2 sessions\$"
check "the joining session's close leaves the set (state file)" test -f "$STATE1"
check "the joining session's close leaves the set (keeper alive)" kill -0 "$k"
check_nomatch "no teardown logged by the joining session's close" "tore down" "$(syslog_since_mark)"
pam_release "$hold1"
check_match "pam-hold closed with PAM_SUCCESS" '^close 0$' "$(cat "$hout1")"
check "teardown logged after the held session closes" \
	wait_log "tore down set of $U1 \(uid $UID1\), policy tsess, keeper pid $k\$"
check "state and lock file gone after the last close" no_state "$UID1"
check "keeper gone after the last close" wait_until 5 gone "$k"

# ================================================================ 2 opener unchanged
diag "2: the opener's fds, signals and namespaces (pam-fdcheck)"
out=$("$FDCHECK" $SVC $U1 --selftest 2>&1)
rc=$?
check_eq "self-test (fd leaked, SIGUSR2 ignored in between) exits 1" 1 "$rc"
check_match "self-test: the leaked fd is reported" '^DIFF fds \(open\+close\)' "$out"
check_match "self-test: the changed disposition is reported" '^DIFF signal 12 .*disposition \(open\+close\)' "$out"
check_match "self-test: the child forked while open was moved" '^child-moved yes$' "$out"
out=$("$FDCHECK" $SVC $U1 2>&1)
rc=$?
check_eq "pam-fdcheck (first login) exits 0" 0 "$rc"
[ $rc -ne 0 ] && diag "$out"
# docs/design.md, "Security rules" 2 (helper spawn): no SIGCHLD reaches the caller.
check_match "first login: no SIGCHLD reached the opener from a process it did not fork" '^foreign-sigchld 0$' "$out"
for w in "open 0" "close 0" "child-moved yes" "after-close-child-moved no" \
	"same fds (open+close)" "same signal dispositions (open+close)" \
	"same blocked mask (open+close)" "same namespaces (open+close)" \
	"same fds (whole)" "same signal dispositions (whole)" "same namespaces (whole)"; do
	check_match "first login: $w" "^${w//[()+]/.}" "$out"
done
check_nomatch "first login: no DIFF line" '^DIFF' "$out"
if pam_hold $SVC $U1; then pass "pam-hold holds a session for the join case"; else fail "pam-hold holds a session for the join case" "$(cat "$HOLD_OUT")"; fi
out=$("$FDCHECK" $SVC $U1 2>&1)
rc=$?
check_eq "pam-fdcheck (joining login) exits 0" 0 "$rc"
[ $rc -ne 0 ] && diag "$out"
check_match "joining login: child moved" '^child-moved yes$' "$out"
check_match "joining login: no foreign SIGCHLD" '^foreign-sigchld 0$' "$out"
check_nomatch "joining login: no DIFF line" '^DIFF' "$out"
pam_release
check "set gone after the held session" wait_until 10 no_state "$UID1"
# An application that calls pam_end() without pam_close_session(): the
# handle's cleanup disarms, so no namespace fd stays open in the opener.
out=$("$FDCHECK" $SVC $U1 --no-close 2>&1)
check_match "no close: the session opened" '^open 0$' "$out"
check_match "no close: pam_end alone leaves the same fds (whole)" '^same fds \(whole\)' "$out"
check_match "no close: and the same namespaces (whole)" '^same namespaces \(whole\)' "$out"
check_match "no close: control: a child forked before pam_end is moved" '^after-close-child-moved yes$' "$out"
check_match "no close: a child forked after pam_end is not moved" '^after-end-child-moved no$' "$out"
check "no close: the next login reclaims the set of the dead opener" pamtester $SVC $U1 open_session close_session
check "no close: then nothing of it is left" wait_until 10 no_state "$UID1"
out=$("$FDCHECK" $SVC $UX 2>&1)
check_match "control: an exempt user's child is not moved" '^child-moved no$' "$out"

# ================================================================ 3 policy mismatch
diag "3: a login selecting another policy than the live set's"
mkconf mism 'version = 1;
policies = (
  { name = "p1"; match = { services = ["nsit-ses-pa"]; }; },
  { name = "p2"; match = { services = ["nsit-ses-pb"]; }; }
);'
MCONF=$CONF
write_conf 'tmp = { method = "tmpfs"; };'
mkservice nsit-ses-pa "session required pam_permit.so
$(modline "$MCONF")"
mkservice nsit-ses-pb "session required pam_permit.so
$(modline "$MCONF")"
log_mark
if pam_hold nsit-ses-pa $U1; then pass "service A (policy p1) opens"; else fail "service A (policy p1) opens" "$(cat "$HOLD_OUT")"; fi
holda=$HOLD_PID
check "service A created the set with policy p1" wait_log "created set for $U1 \(uid $UID1\), policy p1,"
check "control: a second login through service A joins" pamtester nsit-ses-pa $U1 open_session close_session
check "control: that login was logged as a join" wait_log "joined set for $U1 \(uid $UID1\), policy p1,"
pam_hold nsit-ses-pb $U1
check_match "service B (policy p2) is refused with PAM_SESSION_ERR (14)" '^open 14$' "$(cat "$HOLD_OUT")"
pam_release
check "the refusal names both policies" \
	wait_log "pam_nsisolate\(nsit-ses-pb:session\): refused $U1 \(uid $UID1\): the live set uses policy p1, this login selects p2"
check_match "the live set is untouched (policy p1)" '^policy p1$' "$(cat "$STATE1" 2>&1)"
check_eq "the live set still has exactly the held session" "session $holda" \
	"$(awk '$1 == "session" { print $1, $2 }' "$STATE1" 2>&1)"
pam_release "$holda"
check "set of p1 gone" wait_until 10 no_state "$UID1"
log_mark
check "control: with the p1 set gone, service B opens and closes" pamtester nsit-ses-pb $U1 open_session close_session
check "service B then makes a set with policy p2" wait_log "created set for $U1 \(uid $UID1\), policy p2,"
check "and tears it down" wait_until 10 no_state "$UID1"

# ================================================================ 4 exempt, root
diag "4: exempt users and root stay in the host's namespaces"
start_sshd $SSHD_SVC
authorize $U1
authorize $U2
authorize $UX
authorize root
log_mark
out=$(ssh_as $UX sh /home/$UX/.nsit-probe </dev/null 2>&1)
check_eq "exempt user logs in over ssh" $UX "$(val U "$out")"
check_eq "exempt user: mount namespace is the host's" "$HOST_MNT" "$(val M "$out")"
check_eq "exempt user: the host's /tmp marker is visible" visible "$(val H "$out")"
out=$(ssh_as root "$(cat /home/$UX/.nsit-probe)" </dev/null 2>&1)
check_eq "root logs in over ssh" root "$(val U "$out")"
check_eq "root: mount namespace is the host's" "$HOST_MNT" "$(val M "$out")"
check_eq "root: the host's /tmp marker is visible" visible "$(val H "$out")"
out=$(ssh_as $U1 "$PROBE1" </dev/null 2>&1)
check_eq "control: $U1 over the same sshd" $U1 "$(val U "$out")"
m=$(val M "$out")
if [ -n "$m" ] && [ "$m" != "$HOST_MNT" ]; then pass "control: $U1's mount namespace is not the host's"; else fail "control: $U1's mount namespace is not the host's" "$out"; fi
check_eq "control: $U1 does not see the host's /tmp marker" hidden "$(val H "$out")"
check "pamtester open/close for the exempt user succeeds" pamtester -v $SVC $UX open_session close_session
check "pamtester open/close for root succeeds" pamtester -v $SVC root open_session close_session
pam_hold $SVC $UX -f /bin/sh -c 'readlink /proc/self/ns/mnt'
check_match "exempt user's held session: open 0" '^open 0$' "$(cat "$HOLD_OUT")"
check_match "exempt user's session child is in the host's mount namespace" "^${HOST_MNT//[][]/.}\$" "$(cat "$HOLD_OUT")"
pam_release
pam_hold $SVC root -f /bin/sh -c 'readlink /proc/self/ns/mnt'
check_match "root's held session: open 0" '^open 0$' "$(cat "$HOLD_OUT")"
check_match "root's session child is in the host's mount namespace" "^${HOST_MNT//[][]/.}\$" "$(cat "$HOLD_OUT")"
pam_release
pam_hold $SVC $UX
check "exempt user: no state file while a session is held" no_state "$UIDX"
pam_release
check "root: no state file" no_state 0
sl=$(syslog_since_mark)
check_nomatch "no set logged for the exempt user or root" "set (for|of) ($UX|root) " "$sl"
check_match "control: a set was logged for $U1" "created set for $U1 " "$sl"

# ================================================================ 5 sshd
diag "5: real sshd with and without a pty, sftp"
log_mark
if hold_ssh $U1 "echo u1-secret >/tmp/nsit-ses-u1.$$; $PROBE1"; then
	pass "first ssh login of $U1 (held, no pty)"
else
	fail "first ssh login of $U1 (held, no pty)" "$(cat "$HS_OUT")"
fi
h1=$HS_PID
h1w=$HS_W
m1=$(val M "$(cat "$HS_OUT")")
check_eq "held login: no tty" none "$(val T "$(cat "$HS_OUT")")"
if [ -n "$m1" ] && [ "$m1" != "$HOST_MNT" ]; then pass "held login: own mount namespace"; else fail "held login: own mount namespace" "$(cat "$HS_OUT")"; fi
check_eq "held login: the host's /tmp marker is invisible" hidden "$(val H "$(cat "$HS_OUT")")"
check "control: the host sees its marker" test -e "$HOSTMARK"
check "the session's /tmp file is invisible to the host" test ! -e "/tmp/nsit-ses-u1.$$"
out=$(ssh_as $U1 "cat /tmp/nsit-ses-u1.$$; $PROBE1" </dev/null 2>&1)
check_match "second login (no pty) reads the first login's file" '^u1-secret$' "$out"
check_eq "second login (no pty) shares the mount namespace" "$m1" "$(val M "$out")"
check "the second login joined (logged)" wait_log "joined set for $U1 \(uid $UID1\), policy tsess, keeper pid [0-9]+, 2 sessions"
out=$(ssh_tty $U1 "cat /tmp/nsit-ses-u1.$$; echo pty >/tmp/nsit-ses-pty.$$; $PROBE1" </dev/null 2>&1)
check_match "pty login: a /dev/pts tty" '^T=/dev/pts/[0-9]+$' "$out"
check_match "pty login reads the first login's file" '^u1-secret$' "$out"
check_eq "pty login shares the mount namespace" "$m1" "$(val M "$out")"
check_eq "pty login: the host's /tmp marker is invisible" hidden "$(val H "$out")"
check "the pty login's /tmp file is invisible to the host" test ! -e "/tmp/nsit-ses-pty.$$"
out=$(ssh_as $U1 "cat /tmp/nsit-ses-pty.$$" </dev/null 2>&1)
check_match "control: a no-pty login reads the pty login's file" '^pty$' "$out"
out=$(ssh_as $U2 "echo u2 >/tmp/nsit-ses-u2.$$; if [ -e /tmp/nsit-ses-u1.$$ ]; then echo X=visible; else echo X=hidden; fi; $(cat /home/$U2/.nsit-probe)" </dev/null 2>&1)
check_eq "another user ($U2) logs in" $U2 "$(val U "$out")"
check_eq "$U1's /tmp file is invisible to $U2" hidden "$(val X "$out")"
m2=$(val M "$out")
if [ -n "$m2" ] && [ "$m2" != "$m1" ] && [ "$m2" != "$HOST_MNT" ]; then pass "$U2 has a mount namespace of its own"; else fail "$U2 has a mount namespace of its own" "u1 $m1 host $HOST_MNT" "$out"; fi
out=$(ssh_as $U1 "if [ -e /tmp/nsit-ses-u2.$$ ]; then echo X=visible; else echo X=hidden; fi" </dev/null 2>&1)
check_eq "$U2's /tmp file is invisible to $U1" hidden "$(val X "$out")"
head -c 3000 /dev/urandom | base64 >"$T/upload"
check "sftp upload into /tmp" sftp_put $U1 "$T/upload" "/tmp/nsit-ses-sftp.$$"
check "the upload is not in the host's /tmp" test ! -e "/tmp/nsit-ses-sftp.$$"
out=$(ssh_as $U1 "sha256sum </tmp/nsit-ses-sftp.$$" </dev/null 2>&1)
check_eq "the upload is in the session's /tmp (seen by a concurrent ssh login)" \
	"$(sha256sum <"$T/upload")" "$out"
check "sftp-server ran in the session (it logged)" wait_log "sftp-server\[[0-9]+\]: session opened for local user $U1 " 5
k=$(keeper_of "$UID1")
check_eq "the keeper of the live set is nsisolate-keep" nsisolate-keep "$(cat "/proc/$k/comm" 2>&1)"
check_fails "control: the keeper lookup by uid finds the live keeper" no_keepers "$UID1"
release_ssh "$h1" "$h1w"
check "teardown logged after the last logout" wait_log "tore down set of $U1 \(uid $UID1\), policy tsess, keeper pid $k\$"
check "no /run/nsisolate/$UID1.* after the last logout" wait_until 10 no_state "$UID1"
check "no keeper after the last logout" wait_until 10 no_keepers "$UID1"
assert_no_leftovers

# ================================================================ 6 pam_exec after the module
diag "6: a module line followed by pam_exec"
# The second pam_exec line is the control that lines after the module run.
mkservice $SSHD_SVC "session include common-session
$(modline)
session optional pam_exec.so /bin/true
session optional pam_exec.so /usr/bin/logger -t nsit-ses-exec ran-after-the-module"
check_match "the sshd service has pam_exec after the module" 'pam_exec.so /bin/true$' "$(tail -n 2 /etc/pam.d/$SSHD_SVC)"
log_mark
out=$(ssh_as $U1 "$PROBE1" </dev/null 2>&1)
check "control: the pam_exec lines after the module ran" wait_log "nsit-ses-exec: ran-after-the-module" 5
check_eq "login with pam_exec after the module works" $U1 "$(val U "$out")"
m=$(val M "$out")
if [ -n "$m" ] && [ "$m" != "$HOST_MNT" ]; then pass "pam_exec after the module: still isolated"; else fail "pam_exec after the module: still isolated" "$out"; fi
check_eq "pam_exec after the module: host marker invisible" hidden "$(val H "$out")"
check "state gone after that login" wait_until 10 no_state "$UID1"
mkservice $SSHD_SVC "session include common-session
$(modline)"

# ================================================================ 7 runuser, su, login
diag "7: runuser -l, su -l, login -f on a pty"
with_module() { grep -v pam_nsisolate "/etc/pam.d/$1"; modline; }
probe_pty() {
	local what=$1 out
	out=$2
	check_eq "$what: runs as $U1" $U1 "$(val U "$out")"
	check_match "$what: has a tty" '^T=/dev/pts/[0-9]+$' "$out"
	m=$(val M "$out")
	if [ -n "$m" ] && [ "$m" != "$HOST_MNT" ]; then pass "$what: own mount namespace"; else fail "$what: own mount namespace" "$out"; fi
	check_eq "$what: the host's /tmp marker is invisible" hidden "$(val H "$out")"
}
out=$(run_in_pty "runuser -l $U1 -c '$PROBE1'" </dev/null)
check_eq "control: runuser -l without the module sees the host's marker" visible "$(val H "$out")"
check_eq "control: runuser -l without the module is in the host's mount ns" "$HOST_MNT" "$(val M "$out")"
override_service runuser-l "$(with_module runuser-l)"
override_service su-l "$(with_module su-l)"
override_service login "$(with_module login)"
log_mark
probe_pty "runuser -l" "$(run_in_pty "runuser -l $U1 -c '$PROBE1'" </dev/null)"
check "runuser -l: set created (logged by runuser-l)" wait_log "pam_nsisolate\(runuser-l:session\): created set for $U1 \(uid $UID1\), policy tsess"
check "runuser -l: torn down at logout" wait_log "pam_nsisolate\(runuser-l:session\): tore down set of $U1 "
check "runuser -l: state gone" wait_until 10 no_state "$UID1"
log_mark
probe_pty "su -l" "$(run_in_pty "su -l $U1 -c '$PROBE1'" </dev/null)"
check "su -l: set created (logged by su-l)" wait_log "pam_nsisolate\(su-l:session\): created set for $U1 \(uid $UID1\), policy tsess"
check "su -l: torn down at logout" wait_log "pam_nsisolate\(su-l:session\): tore down set of $U1 "
check "su -l: state gone" wait_until 10 no_state "$UID1"
log_mark
probe_pty "login -f" "$(pty_login $U1 "$PROBE1" </dev/null)"
check "login -f: set created (logged by login)" wait_log "pam_nsisolate\(login:session\): created set for $U1 \(uid $UID1\), policy tsess"
check "login -f: torn down at logout" wait_log "pam_nsisolate\(login:session\): tore down set of $U1 "
check "login -f: state gone" wait_until 10 no_state "$UID1"
assert_no_leftovers

# ================================================================ 8 tmp methods
diag "8: tmp.method instance, tmpfs, shared"
write_conf 'tmp = { method = "instance"; };'
out=$(ssh_as $U1 "echo inst-data >/tmp/nsit-ses-inst.$$; echo O=\$(findmnt -no OPTIONS /tmp); $PROBE1" </dev/null 2>&1)
check_eq "instance: login works" $U1 "$(val U "$out")"
mo=$(val O "$out")
check_match "instance: /tmp is nosuid" '(^|,)nosuid(,|$)' "$mo"
check_match "instance: /tmp is nodev" '(^|,)nodev(,|$)' "$mo"
check_eq "instance: the host's /tmp marker is invisible" hidden "$(val H "$out")"
check "instance: set gone after logout" wait_until 10 no_state "$UID1"
check_eq "instance store /var/lib/nsisolate is root 0700" "700 root root" "$(stat -c '%a %U %G' /var/lib/nsisolate 2>&1)"
check_eq "instance: outer dir $INST is root 0700" "700 root root" "$(stat -c '%a %U %G' "$INST" 2>&1)"
check_eq "instance: inner dir $INST/tmp is root 1777" "1777 root root" "$(stat -c '%a %U %G' "$INST/tmp" 2>&1)"
check_eq "instance: the file is stored in $INST/tmp, owned by $U1" "$U1 inst-data" \
	"$(stat -c %U "$INST/tmp/nsit-ses-inst.$$" 2>&1) $(cat "$INST/tmp/nsit-ses-inst.$$" 2>&1)"
check "instance: the file is not in the host's /tmp" test ! -e "/tmp/nsit-ses-inst.$$"
out=$(ssh_as $U1 "cat /tmp/nsit-ses-inst.$$" </dev/null 2>&1)
check_eq "instance: the file survives a re-login" inst-data "$out"
check "instance: set gone after the second logout" wait_until 10 no_state "$UID1"
rm -rf --one-file-system "$INST"

write_conf 'tmp = { method = "tmpfs"; size = "1M"; };'
out=$(ssh_as $U1 "echo tmpfs-data >/tmp/nsit-ses-tmpfs.$$; cat /tmp/nsit-ses-tmpfs.$$
	echo O=\$(findmnt -no OPTIONS /tmp)
	head -c 512K /dev/zero >/tmp/half && echo HALF=ok; rm -f /tmp/half
	head -c 2M /dev/zero >/tmp/big; echo BIG=\$?; rm -f /tmp/big; $PROBE1" </dev/null 2>&1)
check_match "tmpfs: the file is readable in the session" '^tmpfs-data$' "$out"
mo=$(val O "$out")
check_match "tmpfs: /tmp is nosuid" '(^|,)nosuid(,|$)' "$mo"
check_match "tmpfs: /tmp is nodev" '(^|,)nodev(,|$)' "$mo"
check_match "tmpfs: /tmp has size=1024k" '(^|,)size=1024k(,|$)' "$mo"
check_eq "tmpfs: control: 512K fits" ok "$(val HALF "$out")"
check_match "tmpfs: writing 2M fails with No space left" 'No space left on device' "$out"
check_eq "tmpfs: writing 2M exits non-zero" 1 "$(val BIG "$out")"
check "tmpfs: set gone after logout" wait_until 10 no_state "$UID1"
out=$(ssh_as $U1 "if [ -e /tmp/nsit-ses-tmpfs.$$ ]; then echo F=present; else echo F=absent; fi; echo new >/tmp/nsit-ses-tmpfs.$$ && cat /tmp/nsit-ses-tmpfs.$$" </dev/null 2>&1)
check_eq "tmpfs: the file does not survive a re-login" absent "$(val F "$out")"
check_match "tmpfs: control: the new login's /tmp works" '^new$' "$out"
check "tmpfs: no instance dir was made" test ! -e "$INST"
check "tmpfs: set gone" wait_until 10 no_state "$UID1"

write_conf 'tmp = { method = "shared"; };'
out=$(ssh_as $U1 "echo shared >/tmp/nsit-ses-shared.$$; $PROBE1" </dev/null 2>&1)
check_eq "shared: the host's /tmp marker is visible" visible "$(val H "$out")"
m=$(val M "$out")
if [ -n "$m" ] && [ "$m" != "$HOST_MNT" ]; then pass "shared: still its own mount namespace"; else fail "shared: still its own mount namespace" "$out"; fi
check_eq "shared: the session's file is in the host's /tmp" shared "$(cat "/tmp/nsit-ses-shared.$$" 2>&1)"
rm -f "/tmp/nsit-ses-shared.$$"
check "shared: set gone" wait_until 10 no_state "$UID1"

# ================================================================ 9 linger
diag "9: on_last_logout = linger"
write_conf 'tmp = { method = "tmpfs"; }; on_last_logout = "linger";'
log_mark
out=$(ssh_as $U1 "setsid nohup sleep 300 >/dev/null 2>&1 </dev/null & echo linger-data >/tmp/nsit-ses-linger.$$; $PROBE1" </dev/null 2>&1)
check_eq "linger: first login works" $U1 "$(val U "$out")"
lm=$(val M "$out")
line=$(wait_log "last session of $U1 \(uid $UID1\) closed; set lingers, keeper pid [0-9]+\$")
check_match "linger: logged at the last logout" "set lingers" "$line"
lk=$(keeper_in "$line")
check "linger: the state file stays" test -f "$STATE1"
check_eq "linger: the keeper stays" nsisolate-keep "$(cat "/proc/$lk/comm" 2>&1)"
# The background job may still be between setsid, nohup and sleep: wait for its exec.
wait_until 5 pgrep -u $U1 -x sleep >/dev/null
sp=$(pgrep -u $U1 -x sleep)
check_match "linger: the background sleep survives the logout" '^[0-9]+$' "$sp"
check_eq "linger: the sleep is in the set" "$lm" "$(readlink "/proc/$sp/ns/mnt" 2>&1)"
log_mark
out=$(ssh_as $U1 "echo P=\$(pgrep -u $U1 -x sleep | tr '\n' ' '); cat /tmp/nsit-ses-linger.$$; $PROBE1" </dev/null 2>&1)
check_eq "linger: the next login sees the sleep" "$sp" "$(val P "$out")"
check_match "linger: the next login sees the earlier /tmp file" '^linger-data$' "$out"
check_eq "linger: the next login shares the mount namespace" "$lm" "$(val M "$out")"
check "linger: the next login joined the lingering set" wait_log "joined set for $U1 \(uid $UID1\), policy tsess, keeper pid $lk,"
check "linger: lingers again after that logout" wait_log "last session of $U1 \(uid $UID1\) closed; set lingers, keeper pid $lk\$"
[ -n "$sp" ] && kill "$sp"
check "linger: the sleep is gone" wait_until 10 gone "$sp"
log_mark
out=$(ssh_as $U1 "cat /tmp/nsit-ses-linger.$$ 2>/dev/null || echo F=absent; $PROBE1" </dev/null 2>&1)
check_eq "linger: a login after the set emptied works" $U1 "$(val U "$out")"
check "linger: it reclaims the empty set" wait_log "reclaimed the empty set of $U1 \(uid $UID1\), keeper $lk\$"
line=$(wait_log "created set for $U1 \(uid $UID1\), policy tsess, keeper pid [0-9]+")
lk2=$(keeper_in "$line")
if [ -n "$lk2" ] && [ "$lk2" != "$lk" ]; then pass "linger: a new set with a new keeper"; else fail "linger: a new set with a new keeper" "old $lk new $lk2"; fi
check_eq "linger: the reclaimed set's /tmp is gone" absent "$(val F "$out")"
check "linger: the old keeper is gone" wait_until 5 gone "$lk"
# (Namespace inode numbers are reused once a namespace is freed: compare
# the login with the new keeper, not with the old, dead set.)
check_eq "linger: the login ran in the new keeper's mount namespace" "$(val M "$out")" "$(readlink "/proc/$lk2/ns/mnt" 2>&1)"
# End the lingering set the documented way: SIGKILL its keeper; a later
# login (here with on_last_logout = kill) cleans up after it.
wait_log "last session of $U1 \(uid $UID1\) closed; set lingers, keeper pid $lk2\$" >/dev/null
lk2=$(keeper_of "$UID1")
[ -n "$lk2" ] && kill -KILL "$lk2"
check "linger: the killed keeper is gone" wait_until 5 gone "$lk2"
write_conf 'tmp = { method = "tmpfs"; };'
log_mark
check "linger: a login after the keeper was killed works" pamtester $SVC $U1 open_session close_session
check "linger: it logs the lost keeper" wait_log "set of $U1 \(uid $UID1\) lost its keeper $lk2; killed what was left of it\$"
check "linger: nothing left after that login" wait_until 10 no_state "$UID1"

# ================================================================ 10 parallel first logins
diag "10: 20 parallel first logins of one user"
log_mark
mkfifo "$T/par.in"
pids=()
for i in $(seq 1 20); do
	"$HOLD" $SVC $U1 -f /bin/sh -c 'readlink /proc/self/ns/mnt; read x; exit 0' <"$T/par.in" >"$T/par.$i" 2>&1 &
	pids+=($!)
done
sleep 1000000 >"$T/par.in" &
parw=$!
par_stop() {
	local p
	kill "$parw" 2>/dev/null
	wait "$parw" 2>/dev/null
	for p in "${pids[@]}"; do
		wait_until 10 gone "$p" || kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	return 0
}
defer par_stop
all_open() {
	local i
	for i in $(seq 1 20); do
		grep -q '^open [1-9]' "$T/par.$i" 2>/dev/null && continue
		grep -q '^mnt:' "$T/par.$i" 2>/dev/null || return 1
	done
}
check "all 20 sessions opened (a barrier holds them open together)" wait_until 30 all_open
kill "$parw"
wait "$parw" 2>/dev/null
fails=0
for i in $(seq 1 20); do
	wait "${pids[i - 1]}" || fails=$((fails + 1))
done
outs=$(cat "$T"/par.[0-9]*)
check_eq "all 20 pam-hold runs exit 0" 0 "$fails"
check_eq "20 x open 0" 20 "$(grep -c '^open 0$' <<<"$outs")"
check_eq "20 x child 0" 20 "$(grep -c '^child 0$' <<<"$outs")"
check_eq "20 x close 0" 20 "$(grep -c '^close 0$' <<<"$outs")"
check_eq "20 children printed a mount namespace" 20 "$(grep -c '^mnt:' <<<"$outs")"
check_eq "all 20 children share one mount namespace" 1 "$(grep '^mnt:' <<<"$outs" | sort -u | wc -l)"
check_nomatch "and it is not the host's" "^${HOST_MNT//[][]/.}\$" "$(grep '^mnt:' <<<"$outs")"
check "the last close tears the set down" wait_log "tore down set of $U1 \(uid $UID1\)"
sl=$(syslog_since_mark)
check_eq "exactly one created set line" 1 "$(grep -c "created set for $U1 " <<<"$sl")"
check_eq "19 joined set lines" 19 "$(grep -c "joined set for $U1 " <<<"$sl")"
check_eq "one tore down line" 1 "$(grep -c "tore down set of $U1 " <<<"$sl")"
check "nothing left of the parallel set" wait_until 10 no_state "$UID1"

# ================================================================ 11 kill -9 of the keeper
diag "11: kill -9 of the keeper while a session is held"
if hold_ssh $U1 "sleep 301 >/dev/null 2>&1 </dev/null & $PROBE1"; then pass "held login for the keeper test"; else fail "held login for the keeper test" "$(cat "$HS_OUT")"; fi
kh=$HS_PID
khw=$HS_W
om=$(val M "$(cat "$HS_OUT")")
ok=$(keeper_of "$UID1")
sp=$(pgrep -u $U1 -fx 'sleep 301')
check_match "control: the old session's sleep runs" '^[0-9]+$' "$sp"
check_eq "the sleep is in the old set" "$om" "$(readlink "/proc/$sp/ns/mnt" 2>&1)"
check_eq "the old keeper is nsisolate-keep" nsisolate-keep "$(cat "/proc/$ok/comm" 2>&1)"
kill -KILL "$ok"
check "the old keeper died" wait_until 5 gone "$ok"
log_mark
out=$(ssh_as $U1 "$PROBE1" </dev/null 2>&1)
check_eq "a login after the keeper's death works" $U1 "$(val U "$out")"
m=$(val M "$out")
if [ -n "$m" ] && [ "$m" != "$HOST_MNT" ]; then pass "that login is isolated"; else fail "that login is isolated" "$out"; fi
line=$(wait_log "created set for $U1 \(uid $UID1\), policy tsess, keeper pid [0-9]+")
nk=$(keeper_in "$line")
if [ -n "$nk" ] && [ "$nk" != "$ok" ]; then pass "it made a new set with a new keeper"; else fail "it made a new set with a new keeper" "old $ok new $nk"; fi
check "the lost keeper is logged" wait_log "set of $U1 \(uid $UID1\) lost its keeper $ok; killed what was left of it\$"
check "the old session's sleep was killed" wait_until 5 gone "$sp"
check "the old held session ended" wait_until 10 gone "$kh"
release_ssh "$kh" "$khw"
check "nothing of either set is left" wait_until 10 no_state "$UID1"
check "no keeper left" wait_until 10 no_keepers "$UID1"
assert_no_leftovers

finish
