#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/e2e/test-admin.sh: the admin commands of nsisolate(8) on live and dead
# sets (docs/design.md, "State"), as root after
# `make all build/tests/pam-hold && make install`.
# One assertion per command and per documented failure:
#  1 list: a held ssh login's set (policy "admtest", pid = true) and a held
#    pam-hold session under the defaults, in the table and in --json (parsed
#    by python3: exactly the documented fields, values checked against the
#    state file).
#  2 enter: as real root sees the session's /tmp file (absent on the host);
#    --as-user has the user's uid and the session's uid_map (control: without
#    it, uid 0 and the host's map); no set: exit 1 "has no live set"; no
#    such user: exit 1.
#  3 stop: the session's background sleep dies, list shows no set, state and
#    lock are gone; the opener (pam-hold) is not touched and its later close
#    is harmless; stop without a set: exit 1.
#  4 gc: a planted dead set (pam-hold session, keeper killed with -9) is
#    listed "dead", enter refuses it; gc removes its state and lock, an empty
#    lingering set and a stale lock, and says so; a second gc finds nothing
#    of ours.
#  4b a killed keeper that is not reaped yet (a zombie, as under an init that
#    reaps late; made deterministic with a child subreaper) counts as dead:
#    list says dead, enter says so, and a new login of the user works.
#  5 check: warns on dev.tty.legacy_tiocsti = 1, not on 0 (the value is
#    restored), and exits 0 when there are only warnings.
# shellcheck disable=SC2016 # remote command lines are single-quoted on purpose
# shellcheck disable=SC2317,SC2119 # helpers called through check/wait_until/defer
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
need sshd ssh pgrep awk python3 date pamtester

[ -x "$NSI_LIBEXEC/nsisolate-helper" ] || bail "the helper is not installed: make install"
NSI=${NSI_BIN:-$(command -v nsisolate)} || bail "nsisolate is not installed: make install"
[ -x "$NSI_BUILD/tests/pam-hold" ] || bail "$NSI_BUILD/tests/pam-hold is missing: make build/tests/pam-hold"

UA=nsitadma # policy admtest (pid = true), an ssh login
UB=nsitadmb # the defaults, a pam-hold session; its set is killed for gc
UC=nsitadmc # never logs in
UD=nsitadmd # policy admlinger (on_last_logout = "linger")
UE=nsitadme # the defaults; its killed keeper stays a zombie for a while
for u in $UA $UB $UC $UD $UE; do
	mkuser "$u"
done
authorize $UA
UIDA=$(uid_of $UA)
UIDB=$(uid_of $UB)
UIDC=$(uid_of $UC)
UIDD=$(uid_of $UD)
UIDE=$(uid_of $UE)

# dead PID: exited, even if the host's init has not reaped it yet.
dead() {
	local s
	s=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null)
	[ -z "$s" ] || [ "$s" == Z ] || [ "$s" == X ]
}
for u in "$UIDA" "$UIDB" "$UIDC" "$UIDD" "$UIDE"; do
	drop_set "$u"
	defer drop_set "$u"
done
# run ARGS...: nsisolate ARGS; sets rc, out (stdout), err (stderr).
run() {
	"$NSI" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
}

mkconf admin <<'EOF'
version = 1;
defaults = {
  isolate = true;
  tmp = { method = "tmpfs"; };
};
policies = (
  { name = "admtest"; match = { users = ["nsitadma"]; }; pid = true; hostname = "admbox"; },
  { name = "admlinger"; match = { users = ["nsitadmd"]; }; on_last_logout = "linger"; }
);
EOF
SVC=nsit-adm
mkservice $SVC "session required pam_unix.so
$(modline)"
HSVC=nsit-admhold
mkservice $HSVC "$(modline)"
start_sshd $SVC


FILE=nsit-adm-file.$$
HOSTFILE=/tmp/nsit-adm-host.$$
echo host-only >"$HOSTFILE"
defer rm -f "$HOSTFILE" "/tmp/$FILE"

# ================================================================ 1 list
diag "1: nsisolate list"
hold_ssh $UA "echo secret-$$ >/tmp/$FILE; sleep 1000 </dev/null >/dev/null 2>&1 & true" ||
	bail "cannot hold a login of $UA" "$(cat "$HS_OUT")" "$(tail -n 20 "$SSHD_LOG")"
HA_PID=$HS_PID
HA_W=$HS_W
pam_hold $HSVC $UB || bail "pam-hold of $UB failed" "$(cat "$HOLD_OUT")"
HB=$HOLD_PID
HB_OUT=$HOLD_OUT
KA=$(keeper_of "$UIDA")
KB=$(keeper_of "$UIDB")
{ [ -n "$KA" ] && [ -n "$KB" ]; } || bail "no state for $UA or $UB" "$(ls -l "$NSI_STATE_DIR")"

run list
check_eq "list: exit 0" 0 "$rc"
check_match "list: a header names the columns" \
	'^USER +UID +POLICY +KEEPER +SESSIONS +UNJOINED +STATE +CREATED +ADDRESS +NAMESPACES$' "$out"
row=$(awk -v u=$UA '$1 == u' <<<"$out")
created_a=$(awk '$1 == "created" { print $2 }' "$NSI_STATE_DIR/$UIDA.state")
iso_a=$(date -u -d "@$created_a" +%Y-%m-%dT%H:%M:%SZ)
check_match "list: $UA's row: user, uid, policy, keeper, 1 session, live, created" \
	"^$UA +$UIDA +admtest +$KA +1 +0 +live +$iso_a +- +" "$row"
ns_text=$(awk '$1 == "ns" { printf "%s%s:%s", n++ ? "," : "", $2, $3 }' "$NSI_STATE_DIR/$UIDA.state")
check_match "list: $UA's row: the namespaces of the state ($ns_text)" " $ns_text\$" "$row"
check_match "list: $UB's row: policy (defaults), live" \
	"^$UB +$UIDB +\(defaults\) +$KB +1 +0 +live " "$(awk -v u=$UB '$1 == u' <<<"$out")"

run list --json
check_eq "list --json: exit 0" 0 "$rc"
# One line per check from python: "name=value", for check_eq below.
cat >"$T/listjson.py" <<'EOF'
import json, sys, os
data = json.load(sys.stdin)
statedir, ua, ub = sys.argv[1:4]
print("type=" + type(data).__name__)
def state(uid):
    st = {"ns": {}}
    for line in open(os.path.join(statedir, "%d.state" % uid)):
        f = line.split()
        if f[0] == "ns":
            st["ns"][f[1]] = int(f[2])
        elif f[0] == "keeper":
            st["keeper"] = int(f[1])
        elif f[0] == "policy":
            st["policy"] = "" if f[1] == "-" else f[1]
    return st
for name in (ua, ub):
    rows = [r for r in data if isinstance(r, dict) and r.get("user") == name]
    print("%s.rows=%d" % (name, len(rows)))
    if len(rows) != 1:
        continue
    r = rows[0]
    st = state(r["uid"])
    print("%s.keys=%s" % (name, ",".join(sorted(r))))
    print("%s.types=%s" % (name, ",".join("%s:%s" % (k, type(v).__name__) for k, v in sorted(r.items()))))
    print("%s.uid=%r" % (name, r["uid"]))
    print("%s.policy=%r" % (name, r["policy"]))
    print("%s.policy_is_state=%s" % (name, r["policy"] == st["policy"]))
    print("%s.keeper_pid=%r" % (name, r["keeper_pid"]))
    print("%s.sessions=%r" % (name, r["sessions"]))
    print("%s.state=%r" % (name, r["state"]))
    print("%s.address=%r" % (name, r["address"]))
    print("%s.created=%s" % (name, r["created"]))
    print("%s.namespaces_are_state=%s" % (name, r["namespaces"] == st["ns"]))
    print("%s.namespaces=%s" % (name, ",".join(sorted(r["namespaces"]))))
EOF
json=$("$NSI_PY" "$T/listjson.py" "$NSI_STATE_DIR" "$UA" "$UB" <"$T/out" 2>&1)
val() { sed -n "s/^$1=//p" <<<"$json" | head -n 1; }
check_eq "list --json: parses as a JSON array" list "$(val type)"
check_eq "list --json: one object for $UA" 1 "$(val $UA.rows)"
check_eq "list --json: exactly the documented fields" \
	address,created,keeper_pid,namespaces,policy,sessions,state,uid,unjoined,user "$(val $UA.keys)"
check_eq "list --json: field types" \
	"address:NoneType,created:str,keeper_pid:int,namespaces:dict,policy:str,sessions:int,state:str,uid:int,unjoined:int,user:str" \
	"$(val $UA.types)"
check_eq "list --json: uid" "$UIDA" "$(val $UA.uid)"
check_eq "list --json: policy" "'admtest'" "$(val $UA.policy)"
check_eq "list --json: keeper_pid is the state's keeper" "$KA" "$(val $UA.keeper_pid)"
check_eq "list --json: sessions" 1 "$(val $UA.sessions)"
check_eq "list --json: state" "'live'" "$(val $UA.state)"
check_eq "list --json: address is null (no veth)" None "$(val $UA.address)"
check_eq "list --json: created is the state's time in ISO-8601 UTC" "$iso_a" "$(val $UA.created)"
check_eq "list --json: namespaces are the state's inodes" True "$(val $UA.namespaces_are_state)"
check_eq "list --json: namespaces of a pid = true set with a host name" ipc,mnt,pid,user,uts \
	"$(val $UA.namespaces)"
check_eq "list --json: one object for $UB" 1 "$(val $UB.rows)"
check_eq "list --json: the defaults' policy is \"\"" "''" "$(val $UB.policy)"
check_eq "list --json: $UB's keeper_pid" "$KB" "$(val $UB.keeper_pid)"
[ "$TAP_FAILED" -gt 0 ] && diag "$json" && diag "$(cat "$T/out")"

# ================================================================ 2 enter
diag "2: nsisolate enter"
check_fails "control: /tmp/$FILE does not exist on the host" test -e "/tmp/$FILE"
run enter $UA -- cat "/tmp/$FILE"
check_eq "enter $UA -- cat /tmp/FILE: the session's file" "0 secret-$$" "$rc $out"
run enter $UA -- cat "$HOSTFILE"
check_eq "enter $UA: the host's /tmp file is not there" 1 "$rc"
run enter $UA -- sh -c 'id -u; readlink /proc/self/ns/mnt; hostname'
check_eq "enter $UA: as real root, in the set's mount namespace and host name" \
	"0 0 mnt:[$(awk '$1 == "ns" && $2 == "mnt" { print $3 }' "$NSI_STATE_DIR/$UIDA.state")] admbox" \
	"$(tr '\n' ' ' <<<"$rc $out" | sed 's/ $//')"
run enter $UA -- sh -c 'echo $$; ps -o pid=,comm= -p 1'
check_match "enter $UA: in the set's PID namespace (PID 1 is the keeper)" '^ *1 +nsisolate-keep$' "$out"
session_map=$(ssh_as $UA 'cat /proc/self/uid_map' </dev/null)
run enter $UA --as-user -- sh -c 'id -u; cat /proc/self/uid_map'
check_eq "enter --as-user: exit 0" 0 "$rc"
check_eq "enter --as-user: the user's uid" "$UIDA" "$(head -n 1 <<<"$out")"
check_eq "enter --as-user: the session's uid_map" "$session_map" "$(tail -n +2 <<<"$out")"
check_match "control: the session's uid_map maps $UA" "^ *$UIDA +$UIDA +1\$" "$session_map"
run enter $UA -- sh -c 'cat /proc/self/uid_map'
check_nomatch "control: without --as-user, the host's uid_map" "^ *$UIDA +$UIDA +1\$" "$out"
run enter $UC -- true
check_eq "enter for a user without a set: exit 1" 1 "$rc"
check_match "enter for a user without a set: \"has no live set\"" "$UC has no live set" "$err"
check "enter for a user without a set leaves no state or lock" no_state "$UIDC"
run enter nsitnosuchuser -- true
check_eq "enter for an unknown user: exit 1, \"no such user\"" "1 nsisolate: nsitnosuchuser: no such user" "$rc $err"

# ================================================================ 3 stop
diag "3: nsisolate stop"
pam_hold $HSVC $UA || fail "a pam-hold session joins $UA's set" "$(cat "$HOLD_OUT")"
HA2=$HOLD_PID
HA2_OUT=$HOLD_OUT
sl=$(pgrep -u $UA -x -f 'sleep 1000' | head -n 1)
check "control: $UA's background sleep runs" kill -0 "${sl:-0}"
run stop $UA
check_eq "stop $UA: exit 0" 0 "$rc"
check_eq "stop $UA: says what it ended" "stop: ended the set of $UA (uid $UIDA), keeper $KA" "$out"
check "stop: the session's background sleep is dead" wait_until 5 dead "${sl:-0}"
check "stop: the keeper is dead" wait_until 5 dead "$KA"
# shellcheck disable=SC2009 # zombies (stat Z) do not count
no_live_uid() { ! ps -u "$1" -o stat= | grep -qv '^Z'; }
check "stop: no live process of $UA is left" wait_until 5 no_live_uid "$UIDA"
check "stop: state and lock of $UA are gone" wait_until 5 no_state "$UIDA"
run list
check_nomatch "stop: list shows no set of $UA" "^$UA " "$out"
check_match "stop: list still shows $UB's set (control)" "^$UB " "$out"
check "stop: the ssh login ended" wait_until 10 gone "$HA_PID"
release_ssh "$HA_PID" "$HA_W"
check "stop: the opener (pam-hold) was not touched" kill -0 "$HA2"
pam_release "$HA2"
check_match "stop: the opener's later close is harmless (close 0)" '^close 0$' "$(cat "$HA2_OUT")"
check "stop: the late close leaves no state or lock" wait_until 5 no_state "$UIDA"
run stop $UA
check_eq "stop for a user without a set: exit 1, \"has no live set\"" "1 nsisolate: $UA has no live set" "$rc $err"
out=$(ssh_as $UA 'echo R=$(id -un)' </dev/null 2>&1)
check_match "stop: the next login of $UA works" "^R=$UA\$" "$out"

# ================================================================ 4 gc
diag "4: nsisolate gc"
kill -KILL "$KB"
# Its parent is the host's init (the helper that forked it has exited); some
# reap late. Section 4b covers a keeper that is dead but not reaped yet.
check "gc: the planted set's keeper is dead and reaped" wait_until 60 test ! -e "/proc/$KB"
check "gc: the planted set's state names the dead keeper" test "$(keeper_of "$UIDB")" == "$KB"
run list
check_match "list: the planted set is shown as dead" "^$UB +$UIDB +\(defaults\) +$KB +1 +0 +dead " "$out"
run enter $UB -- true
check_eq "enter refuses a dead set: exit 1" 1 "$rc"
check_match "enter refuses a dead set: says so and points to gc" "the set of $UB is dead \(keeper $KB gone\); run nsisolate gc" "$err"
# An empty lingering set: open and close a session of the linger policy.
pam_hold $HSVC $UD || fail "pam-hold of $UD" "$(cat "$HOLD_OUT")"
KD=$(keeper_of "$UIDD")
pam_release "$HOLD_PID"
run list
check_match "list: an empty lingering set is shown as lingering, 0 sessions" \
	"^$UD +$UIDD +admlinger +$KD +0 +0 +lingering " "$out"
# A stale lock: no state, no set.
install -m 0600 -o root -g root /dev/null "$NSI_STATE_DIR/$UIDC.lock"
check_eq "control: the planted state and the stale lock are there" "yes yes yes" \
	"$([ -e "$NSI_STATE_DIR/$UIDB.state" ] && echo yes) $([ -e "$NSI_STATE_DIR/$UIDB.lock" ] && echo yes) $([ -e "$NSI_STATE_DIR/$UIDC.lock" ] && echo yes)"
run gc
check_eq "gc: exit 0" 0 "$rc"
check_match "gc: reports the dead set it ended" \
	"^gc \(keeper dead\): ended the set of $UB \(uid $UIDB\), keeper $KB\$" "$out"
check_match "gc: reports the empty lingering set it ended" \
	"^gc \(empty lingering set\): ended the set of $UD \(uid $UIDD\), keeper $KD\$" "$out"
check_match "gc: reports the stale lock it removed" "^gc: removed stale lock $UIDC.lock\$" "$out"
check "gc: the dead set's state and lock are gone" no_state "$UIDB"
check "gc: the lingering set's state and lock are gone" no_state "$UIDD"
check "gc: its keeper is dead" wait_until 5 dead "$KD"
check "gc: the stale lock is gone" no_state "$UIDC"
run gc
check_eq "gc again: exit 0" 0 "$rc"
check_nomatch "gc again: nothing of ours left to do" "nsitadm|$UIDC\.lock" "$out"
check "gc: the planted set's opener still runs" kill -0 "$HB"
pam_release "$HB"
check_match "gc: the opener's later close is harmless (close 0)" '^close 0$' "$(cat "$HB_OUT")"
check "gc: the late close leaves no state or lock" wait_until 5 no_state "$UIDB"

# ================================================================ 4b zombie keeper
diag "4b: a killed keeper not reaped yet (a zombie) is dead"
# pam-hold runs under a child subreaper that reaps nothing but pam-hold: the
# keeper, orphaned when the helper exits, becomes its child, and stays a
# zombie once killed (as under an init that reaps late).
mkfifo "$T/zh.in"
"$NSI_PY" -c 'import ctypes, os, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
os.waitpid(pid, 0)' "$NSI_BUILD/tests/pam-hold" $HSVC $UE <"$T/zh.in" >"$T/zh.out" 2>&1 &
ZH=$!
sleep 1000000 >"$T/zh.in" &
ZH_W=$!
defer release_ssh "$ZH" "$ZH_W"
wait_until 15 grep -q '^open ' "$T/zh.out"
check_eq "a session of $UE is held under a subreaper" "open 0" "$(cat "$T/zh.out")"
KE=$(keeper_of "$UIDE")
[ -n "$KE" ] || bail "no state for $UE" "$(cat "$T/zh.out")"
check_eq "control: the subreaper ($ZH) is the keeper's parent" "$ZH" "$(ps -o ppid= -p "${KE:-0}" | tr -d ' ')"
kill -KILL "$KE"
check_match "control: the killed keeper is a zombie" '^Z' "$(wait_until 5 dead "$KE"; ps -o stat= -p "$KE")"
run list
check_match "list: a set whose keeper is a zombie is dead" "^$UE +$UIDE +\(defaults\) +$KE +1 +0 +dead " "$out"
run enter $UE -- true
check_match "enter: a set whose keeper is a zombie is dead (exit 1)" \
	"^1 nsisolate: the set of $UE is dead \(keeper $KE gone\)" "$rc $err"
check "a new login of $UE works while the old keeper is a zombie" \
	pamtester $HSVC $UE open_session close_session
release_ssh "$ZH" "$ZH_W"

# ================================================================ 4c list during churn
diag "4c: list while sets come and go: no error, no lock file left"
( for i in $(seq 1 150); do pamtester $HSVC $UE open_session close_session >/dev/null 2>&1; done ) &
churn=$!
lists=0
: >"$T/churn.err"
while kill -0 "$churn" 2>/dev/null; do
	"$NSI" list >/dev/null 2>>"$T/churn.err"
	lists=$((lists + 1))
done
wait "$churn"
diag "$lists runs of nsisolate list during 150 open/close cycles of $UE"
check "list during churn: ran at least 20 times" test "$lists" -ge 20
check_eq "list during churn: no error for a set that just ended" "" "$(cat "$T/churn.err")"
check "list during churn: no lock file of $UE left behind" wait_until 5 no_state "$UIDE"

# ================================================================ 5 check
diag "5: nsisolate check, host warnings"
TIOCSTI=/proc/sys/dev/tty/legacy_tiocsti
set_tiocsti() { echo "$1" >"$TIOCSTI"; }
if [ -e "$TIOCSTI" ]; then
	saved=$(cat "$TIOCSTI")
	defer set_tiocsti "$saved"
	if set_tiocsti 1 2>/dev/null; then
		run check --config "$CONF"
		check_eq "check with legacy_tiocsti = 1: exit 0 (a warning only)" 0 "$rc"
		check_match "check with legacy_tiocsti = 1: warns" '^warning: dev\.tty\.legacy_tiocsti = 1: ' "$err"
		check_match "check with legacy_tiocsti = 1: still reports ok" "^$CONF: ok, 2 policies\$" "$out"
		set_tiocsti 0
		run check --config "$CONF"
		check_eq "check with legacy_tiocsti = 0: exit 0" 0 "$rc"
		check_nomatch "check with legacy_tiocsti = 0: no tiocsti warning" 'legacy_tiocsti' "$err"
		set_tiocsti "$saved"
		check_eq "legacy_tiocsti is restored" "$saved" "$(cat "$TIOCSTI")"
	else
		fail "$TIOCSTI can be set" "root cannot write $TIOCSTI"
	fi
else
	skip "check warns on dev.tty.legacy_tiocsti = 1" "no $TIOCSTI on this kernel"
fi
mkconf warn <<'EOF'
version = 1;
defaults = { isolate = true; };
policies = ( { name = "ghost"; match = { users = ["nsitadmnosuchuser"]; }; } );
EOF
run check --config "$CONF"
check_eq "check with only warnings (an unknown user): exit 0" 0 "$rc"
check_match "check with only warnings: the warning is printed" '^warning: .*nsitadmnosuchuser' "$err"

assert_no_leftovers
finish
