#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/e2e/test-directory.sh: users and groups from a directory (issue 14).
# A real slapd (OpenLDAP) on 127.0.0.1 with a test suffix, users
# (posixAccount) and groups (posixGroup), and nslcd (libnss-ldapd) as the NSS
# provider, all started and stopped here. nslcd rather than SSSD: it keeps
# no cache, so what NSS answers is what the directory says at that moment,
# which makes the failure cases exact; SSSD's cache is the reason
# on_group_change exists (tested with local groups in test-groups.sh).
# /etc/nslcd.conf and the passwd and group lines of /etc/nsswitch.conf
# ("ldap" appended) are changed for the test and restored at its end.
#  1 the directory: NSS resolves its users and groups (AD-style name
#    nsitd-alice@corp.example, a 6-digit uid, two groups), control: unknown
#    before nsswitch names ldap;
#  2 directory users log in over real sshd with key auth, isolated: alice by
#    a policy matching the directory group nsitd-staff, bob by a uids range
#    (its hostname says which policy), each in a mount namespace of its own,
#    and "nsitd carol", a name with a space (its state escapes it, list
#    shows it),
#    with its directory groups inside; explain agrees, and matches the
#    AD-style user name and a group named "nsitd domain users@corp.example";
#  3 NSS failures: slapd stopped (SIGSTOP: a directory that does not
#    answer; then killed: unreachable). A login of a directory user is
#    refused with a clear message within a bounded time (nslcd's 2 s
#    timelimit, the module's lock timeout), never a crash or a half-made
#    set; a local user's login still works; once slapd is back, the
#    directory user logs in again;
#  4 nothing left (no set, no process of the directory uids).
# shellcheck disable=SC2016 # remote command lines are single-quoted on purpose
# shellcheck disable=SC2317 # helpers called through check/wait_until/defer
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/directory.sh
. "$(dirname "$0")/directory.sh"
need pamtester sshd ssh
start_syslog

check_fails "control: before nsswitch names ldap, NSS does not know $ALICE" getent passwd "$ALICE"
directory_nss_on

# ================================================================ 1 the directory
diag "1: NSS resolves the directory's users and groups"
check_eq "getent passwd $ALICE" "$ALICE:*:$UA:$UA:$ALICE:/home/nsitd-alice:/bin/sh" \
	"$(getent passwd "$ALICE")"
check_eq "$ALICE's groups: its own, nsitd-staff, nsitd-lab, nsitd domain users@corp.example" \
	"$UA $GSTAFF $GLAB $GDOM" \
	"$(id -G "$ALICE" | tr ' ' '\n' | sort -n | xargs)"
check_eq "$BOB's groups: its own, nsitd-lab" "$UB $GLAB" "$(id -G $BOB | tr ' ' '\n' | sort -n | xargs)"

# ================================================================ 2 logins over sshd
diag "2: directory users log in over sshd, isolated"
mkconf dir 'version = 1;
defaults = { isolate = true; tmp = { method = "tmpfs"; }; };
policies = (
  { name = "named"; match = { users = ["nsitd-alice@corp.example", "nsitd carol"];
                              services = ["cron"]; }; },
  { name = "domain"; match = { groups = ["nsitd domain users@corp.example"];
                               services = ["login"]; }; },
  { name = "staff"; match = { groups = ["nsitd-staff"]; }; hostname = "staff"; },
  { name = "dir"; match = { uids = ["150000-159999"]; }; hostname = "dir"; }
);'
mkservice nsit-dir "session required pam_permit.so
$(modline "$CONF")"
authorize "$ALICE"
authorize $BOB
authorize "$CAROL"
start_sshd nsit-dir
HOSTMNT=$(readlink /proc/self/ns/mnt)
probe='echo ID $(id -u) $(id -G | tr " " "\n" | sort -n | xargs); echo HOST $(hostname); echo MNT $(readlink /proc/self/ns/mnt)'
out=$(ssh_as "$ALICE" "$probe" </dev/null 2>&1)
check_match "$ALICE logs in with its key" "^ID $UA " "$out"
check_match "... selected by the directory group nsitd-staff (hostname staff)" '^HOST staff$' "$out"
check_match "... in a mount namespace of its own" '^MNT mnt:' "$out"
check_nomatch "... not the host's" "^MNT $HOSTMNT\$" "$out"
check_match "... holding its directory groups inside" "^ID $UA $UA $GSTAFF $GLAB $GDOM\$" "$out"
out=$(ssh_as $BOB "$probe" </dev/null 2>&1)
check_match "$BOB logs in, selected by the uids range (hostname dir)" '^HOST dir$' "$out"
check_nomatch "... isolated" "^MNT $HOSTMNT\$" "$out"
# A name with a space: a login, a state that records it, list that shows it.
NSIT_AS_USER=1 pam_hold nsit-dir "$CAROL" -f sh -c 'echo MNT $(readlink /proc/self/ns/mnt); sleep 7701' ||
	fail "\"$CAROL\" logs in (pam-hold)" "$(cat "$HOLD_OUT")"
HC=$HOLD_PID
wait_until 10 grep -q '^MNT ' "$HOLD_OUT"
check_match "\"$CAROL\", a name with a space, logs in isolated" '^MNT mnt:' "$(cat "$HOLD_OUT")"
check_nomatch "... not in the host's mount namespace" "^MNT $HOSTMNT\$" "$(cat "$HOLD_OUT")"
check "its state records the name escaped (user nsitd%20carol)" \
	grep -qx 'user nsitd%20carol' "$NSI_STATE_DIR/$UC.state"
check_match "nsisolate list shows the name as it is" "nsitd carol" "$("$NSI_BUILD/nsisolate" list 2>&1)"
pkill -u $UC -x -f 'sleep 7701'
pam_release "$HC"
check "its set ends with the session" wait_until 10 no_state $UC
out=$("$NSI_BUILD/nsisolate" explain "$ALICE" --config "$CONF" 2>&1)
check_match "explain: $ALICE matched by group nsitd-staff" 'matched: group "nsitd-staff"' "$out"
out=$("$NSI_BUILD/nsisolate" explain "$ALICE" --service cron --config "$CONF" 2>&1)
check_match "explain: the AD-style user name matches as NSS gives it" \
	"matched: user \"$ALICE\", service \"cron\"" "$out"
out=$("$NSI_BUILD/nsisolate" explain "$CAROL" --service cron --config "$CONF" 2>&1)
check_match "explain: a user name with a space matches as NSS gives it" \
	"matched: user \"$CAROL\", service \"cron\"" "$out"
out=$("$NSI_BUILD/nsisolate" explain "$ALICE" --service login --config "$CONF" 2>&1)
check_match "explain: so does a group name with a space and a domain" \
	'matched: group "nsitd domain users@corp.example", service "login"' "$out"
out=$("$NSI_BUILD/nsisolate" explain $BOB --config "$CONF" 2>&1)
check_match "explain: $BOB matched by the uid range" 'matched: uid "150000-159999"' "$out"
check "the sets end with the logins" wait_until 10 sh -c "[ ! -e $NSI_STATE_DIR/$UA.state ] && [ ! -e $NSI_STATE_DIR/$UB.state ]"

# ================================================================ 3 NSS failures
diag "3: the directory does not answer, then is gone"
mkuser nsitdloc
LOCAL_OK() { pamtester nsit-dir nsitdloc open_session close_session; }
# timed_login USER: pamtester open+close; prints "RC MS".
timed_login() {
	local t0 t1 rc
	t0=$EPOCHREALTIME
	timeout -k 2 60 pamtester nsit-dir "$1" open_session close_session >"$T/login.out" 2>&1
	rc=$?
	t1=$EPOCHREALTIME
	echo "$rc $(((${t1/./} - ${t0/./}) / 1000))"
}
kill -STOP "$(slapd_pid)"
log_mark
read -r rc ms < <(timed_login $BOB)
check "slow directory: the login of $BOB fails (status $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
check "slow directory: ... within a bounded time ($ms ms, at most 30 s)" test "$ms" -lt 30000
check "slow directory: the module's message names the user and the likely cause" \
	wait_log "unknown user $BOB: no user database \(NSS\) knows it, or the one that does did not answer; refused"
check "slow directory: no set of $BOB is left" no_state $UB
check "slow directory: a local user's login still works" LOCAL_OK
kill -CONT "$(slapd_pid)"
stop_slapd
log_mark
read -r rc ms < <(timed_login "$ALICE")
check "directory gone: the login of $ALICE fails (status $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
check "directory gone: the module's message names the user and the likely cause" \
	wait_log "unknown user $ALICE: no user database \(NSS\) knows it, or the one that does did not answer; refused"
check "directory gone: ... within a bounded time ($ms ms, at most 30 s)" test "$ms" -lt 30000
check "directory gone: no set of $ALICE is left" no_state $UA
check "directory gone: a local user's login still works" LOCAL_OK
check "slapd starts again" start_slapd
# nslcd reconnects after its own back-off (reconnect_sleeptime): wait for NSS to answer.
check "NSS answers again for $ALICE" wait_until 20 getent passwd "$ALICE"
out=$(ssh_as "$ALICE" "$probe" </dev/null 2>&1)
check_match "directory back: $ALICE logs in, isolated" '^HOST staff$' "$out"
check "the set ends with the login" wait_until 10 no_state $UA

# ================================================================ 4
diag "4: nothing left"
no_dir_procs() { ! pgrep -r R,S,D -u $UA,$UB,$UC >/dev/null; }
check "no process of the directory uids" wait_until 10 no_dir_procs
finish
