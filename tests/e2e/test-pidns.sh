#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/e2e/test-pidns.sh: a set's PID, IPC and UTS namespaces and the keeper
# as PID 1 (docs/design.md, "Process model"), through real sshd logins, as
# root after `make all build/tests/pam-hold && make install`.
#
# Users: $UA (pid = true, hostname "nsit-lab"), $UB (pid = true, hostname
# "lab-%u"), $UC the positive control (pid = false, ipc = false, no hostname:
# a set with only mount and user namespaces, so its sessions see the host's
# processes, IPC and host name; the checks below must be able to tell).
#  1 ps -e inside: PID 1 nsisolate-keep plus the user's session processes
#    only; the host's ps sees them and the keeper; a host marker process is
#    invisible inside (visible to the control).
#  2 the mount namespace of a pid = true session is the set's, not the
#    host's (regression: a fork-handler bug left pid = true sessions in the
#    host mount namespace); the opener stays in the host's namespaces and
#    only its pid_for_children is the set's.
#  3 an orphan is re-parented to PID 1 (the keeper, seen from the host too)
#    and reaped: no zombie after 3 s (control: a zombie is seen while its
#    parent lives).
#  4 SIGTERM, SIGINT, SIGHUP and SIGKILL sent to PID 1 by root inside the set
#    (nsisolate enter, nsenter -a) leave the keeper (pid and start time)
#    alone (control: the same kill ends an ordinary process of the set).
#  5 SysV IPC: a host segment is invisible inside; one made in $UA's session
#    is invisible to $UB and to the host, visible to a second login of $UA;
#    POSIX queues likewise (control: $UC sees the host's).
#  6 hostname: literal and "lab-%u"; the host's is unchanged.
#  7 kill -9 of the keeper from the host ends every process of the set (a
#    held session, a daemonised sleep); the next login works.
#  7b the last logout of a pid = true sshd session ends a daemonised process
#    of the set, without waiting for the keeper (a PID namespace's init exits
#    only after sshd reaps its session child, after the close).
#  8 an sshd pty session with pid = true opens, runs, closes: the set is torn
#    down by the opener's close, nothing left behind.
# shellcheck disable=SC2016 # remote command lines are single-quoted on purpose
# shellcheck disable=SC2317,SC2119 # helpers called through check/wait_until/defer
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
need sshd ssh ps pgrep ipcs ipcrm nsenter hostname awk python3

[ -x "$NSI_LIBEXEC/nsisolate-helper" ] || bail "the helper is not installed: make install"
NSI=$(command -v nsisolate) || bail "nsisolate is not installed: make install"
[ -e /proc/self/ns/pid_for_children ] || skip_all "no /proc/PID/ns/pid_for_children (kernel < 4.12)"

UA=nsitpida
UB=nsitpidb
UC=nsitpidc
for u in $UA $UB $UC; do
	mkuser "$u"
	authorize "$u"
done
UIDA=$(uid_of $UA)
UIDB=$(uid_of $UB)
UIDC=$(uid_of $UC)
HOST_MNT=$(readlink /proc/self/ns/mnt)
HOST_PID=$(readlink /proc/self/ns/pid)
HOST_NAME=$(hostname)
HOST_IPC=$(readlink /proc/self/ns/ipc)

keeper_id() { awk '$1 == "keeper" { print $2, $3 }' "$NSI_STATE_DIR/$1.state" 2>/dev/null; }
ns_of() { awk -v n="$2" '$1 == "ns" && $2 == n { print $3 }' "$NSI_STATE_DIR/$1.state" 2>/dev/null; }
# dead PID: exited, even if not yet reaped (a zombie of the host's init, which
# may reap late; a killed keeper's parent, the helper, is long gone).
dead() {
	local s
	s=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null)
	[ -z "$s" ] || [ "$s" == Z ] || [ "$s" == X ]
}
# host pids of UID's processes whose command line is exactly ARGS
pids_args() { pgrep -u "$1" -x -f "$2"; }
for u in "$UIDA" "$UIDB" "$UIDC"; do
	drop_set "$u"
	defer drop_set "$u"
done

mkconf pidns <<'EOF'
version = 1;
defaults = {
  isolate = true;
  tmp = { method = "tmpfs"; };
  pid = true;
  ipc = true;
};
policies = (
  { name = "literal"; match = { users = ["nsitpida"]; }; hostname = "nsit-lab"; },
  { name = "peruser"; match = { users = ["nsitpidb"]; }; hostname = "lab-%u"; },
  { name = "control"; match = { users = ["nsitpidc"]; }; pid = false; ipc = false; hostname = ""; }
);
EOF
SVC=nsit-pidns
mkservice $SVC "session required pam_unix.so
$(modline)"
start_sshd $SVC


# A marker process on the host, outside every set.
bash -c 'exec -a nsit-pidns-hostmark sleep 1000' &
MARK=$!
defer kill "$MARK"

# ================================================================ 1 ps -e
diag "1: ps -e inside a pid = true session"
hold_ssh $UA true || bail "cannot hold a login of $UA" "$(cat "$HS_OUT")" "$(tail -n 20 "$SSHD_LOG")"
HA_PID=$HS_PID
HA_W=$HS_W
KA=$(keeper_of "$UIDA")
KA_ID=$(keeper_id "$UIDA")
[ -n "$KA" ] || bail "no keeper in $NSI_STATE_DIR/$UIDA.state"
check_eq "the state's keeper runs nsisolate-keep" nsisolate-keep "$(cat "/proc/$KA/comm" 2>&1)"

out=$(ssh_as $UA 'ps -e -o pid=,user=,comm=,args=' </dev/null)
check_match "inside: PID 1 is nsisolate-keep (run by the namespace's root)" '^ *1 +root +nsisolate-keep ' "$out"
check_eq "inside: every process but PID 1 belongs to $UA" "" \
	"$(awk -v u=$UA '$1 != 1 && $2 != u' <<<"$out")"
check_match "inside: the ps itself is listed (positive control for the filter)" "^ *[0-9]+ +$UA +ps " "$out"
check_nomatch "inside: the host's marker process is not listed" 'nsit-pidns-hostmark' "$out"
check_nomatch "inside: the sshd listener (root, host) is not listed" "\[listener\]" "$out"
n_in=$(wc -l <<<"$out")
check "inside: a handful of processes ($n_in), not the host's" test "$n_in" -le 10
host=$(ps -e -o pid=,comm=,args=)
check_match "host ps: sees the keeper $KA" "^ *$KA +nsisolate-keep " "$host"
check_match "host ps: sees the marker" 'nsit-pidns-hostmark' "$host"
check_match "host ps: sees $UA's held session (sshd child)" "$SVC: $UA@notty" "$host"
n_host=$(wc -l <<<"$host")
check "host ps sees more processes ($n_host) than the session ($n_in)" test "$n_host" -gt "$n_in"
out=$(ssh_as $UC 'ps -e -o pid=,comm=,args=' </dev/null)
check_match "control (pid = false): the session sees the host's marker" 'nsit-pidns-hostmark' "$out"
check_nomatch "control (pid = false): PID 1 is not a keeper" '^ *1 +nsisolate-keep ' "$out"

# ================================================================ 2 namespaces
diag "2: the session's mount namespace is the set's; the opener stays on the host"
out=$(ssh_as $UA 'readlink /proc/self/ns/mnt /proc/self/ns/pid; cat /proc/self/uid_map' </dev/null)
mnt_in=$(sed -n 1p <<<"$out")
check_eq "inside: mount namespace is the set's (state ns mnt)" "mnt:[$(ns_of "$UIDA" mnt)]" "$mnt_in"
if [ -n "$mnt_in" ] && [ "$mnt_in" != "$HOST_MNT" ]; then
	pass "inside: mount namespace differs from the host's ($HOST_MNT)"
else
	fail "inside: mount namespace differs from the host's ($HOST_MNT)" "session: $mnt_in"
fi
check_eq "inside: PID namespace is the set's (state ns pid)" "pid:[$(ns_of "$UIDA" pid)]" "$(sed -n 2p <<<"$out")"
check_match "inside: the user namespace maps $UA" "^ *$UIDA +$UIDA +1\$" "$out"
# Host view of the held session: sshd's [priv] monitor is the opener, its
# child (user@notty) the session.
child=$(pgrep -u $UA -f "^$SVC: $UA@notty" | head -n 1)
opener=$(ps -o ppid= -p "${child:-0}" | tr -d ' ')
check_match "host: the opener of $UA's session is sshd's [priv] process" "^$SVC: $UA \[priv\]" \
	"$(tr '\0' ' ' <"/proc/${opener:-0}/cmdline" 2>&1)"
check_eq "host: the session's mount namespace is the set's" "mnt:[$(ns_of "$UIDA" mnt)]" \
	"$(readlink "/proc/${child:-0}/ns/mnt" 2>&1)"
check_eq "host: the session's PID namespace is the set's" "pid:[$(ns_of "$UIDA" pid)]" \
	"$(readlink "/proc/${child:-0}/ns/pid" 2>&1)"
check_eq "control: the opener's mount namespace is the host's" "$HOST_MNT" "$(readlink "/proc/${opener:-0}/ns/mnt" 2>&1)"
check_eq "the opener's own PID namespace is the host's" "$HOST_PID" "$(readlink "/proc/${opener:-0}/ns/pid" 2>&1)"
check_eq "the opener's pid_for_children is the set's" "pid:[$(ns_of "$UIDA" pid)]" \
	"$(readlink "/proc/${opener:-0}/ns/pid_for_children" 2>&1)"
check_eq "the opener's IPC namespace is the host's" "$HOST_IPC" "$(readlink "/proc/${opener:-0}/ns/ipc" 2>&1)"

# ================================================================ 3 orphans
diag "3: orphans are re-parented to PID 1 and reaped"
# A zombie on purpose (control): "sleep 0" exits first and its parent, exec'd
# into "sleep 2", never waits for it. An orphan: sh exits right after
# starting "sleep 2.5" in the background.
ssh_as $UA "sh -c 'sleep 0 & exec sleep 2' & sh -c 'sleep 2.5 &'; sleep 1;
	echo AT1; ps -e -o pid=,ppid=,stat=,args=; sleep 3; echo AT4; ps -e -o pid=,ppid=,stat=,args=" \
	</dev/null >"$T/orphan.out" 2>&1 &
orphan_ssh=$!
if wait_until 10 pids_args "$UIDA" 'sleep 2.5' >/dev/null; then
	p=$(pids_args "$UIDA" 'sleep 2.5' | head -n 1)
	check_eq "host: the orphan's parent is the keeper $KA" "$KA" "$(ps -o ppid= -p "$p" | tr -d ' ')"
else
	fail "host: the orphan 'sleep 2.5' ran" "$(cat "$T/orphan.out")"
fi
wait "$orphan_ssh"
check_eq "the orphan test's login succeeded" 0 "$?"
out=$(cat "$T/orphan.out")
at1=$(sed -n '/^AT1$/,/^AT4$/p' <<<"$out")
at4=$(sed -n '/^AT4$/,$p' <<<"$out")
check_match "inside: the orphan 'sleep 2.5' has PPID 1" '^ *[0-9]+ +1 +S +sleep 2\.5$' "$at1"
check_match "control: a zombie shows as Z while its parent lives" '^ *[0-9]+ +[0-9]+ +Z' "$at1"
check_nomatch "after 3 s: no zombie left in the set (ps -eo stat)" '^ *[0-9]+ +[0-9]+ +Z' "$at4"
check_nomatch "after 3 s: the orphan is gone" 'sleep 2\.5$' "$at4"
check_match "after 3 s: ps still ran (the listing is not empty)" '^ *1 +0 +S' "$at4"

# ================================================================ 4 signals to PID 1
diag "4: signals sent to PID 1 from inside the set"
ssh_as $UA 'exec sleep 1000' </dev/null >/dev/null 2>&1 &
victim_ssh=$!
wait_until 10 pids_args "$UIDA" 'sleep 1000' >/dev/null
victim=$(pids_args "$UIDA" 'sleep 1000' | head -n 1)
out=$("$NSI" enter $UA -- sh -c 'kill -TERM $(pgrep -x -f "sleep 1000") && echo sent' 2>&1)
check_match "control: root inside the set (nsisolate enter) can signal a process of the set" '^sent$' "$out"
check "control: that SIGTERM ended the process" wait_until 5 dead "${victim:-0}"
wait "$victim_ssh"
for sig in TERM INT HUP KILL; do
	out=$("$NSI" enter $UA -- kill -$sig 1 2>&1)
	check_eq "nsisolate enter $UA -- kill -$sig 1: sent (exit 0)" 0 "$?${out:+ $out}"
done
out=$(nsenter -t "$KA" -a kill -TERM 1 2>&1)
check_eq "nsenter -t KEEPER -a kill -TERM 1: sent (exit 0)" 0 "$?${out:+ $out}"
sleep 0.5
check "the keeper $KA still runs" kill -0 "$KA"
check_eq "the keeper's pid and start time are unchanged" "$KA_ID" "$(keeper_id "$UIDA")"
check_eq "the keeper's start time in /proc is the recorded one" "${KA_ID#* }" \
	"$(awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$KA/stat" 2>&1)"
out=$(ssh_as $UA 'ps -o pid=,comm= -p 1' </dev/null)
check_match "a later login still finds PID 1 nsisolate-keep" '^ *1 +nsisolate-keep$' "$out"

# ================================================================ 5 IPC
diag "5: SysV IPC and POSIX queues are the set's own"
SHMGET='import ctypes,sys;l=ctypes.CDLL(None,use_errno=True);i=l.shmget(int(sys.argv[1],0),4096,0o3000|int(sys.argv[2],8));print(i);sys.exit(i<0)'
MQOPEN='import ctypes,os,sys;l=ctypes.CDLL(None,use_errno=True);fd=l.mq_open(sys.argv[1].encode(),os.O_RDONLY|int(sys.argv[2]),0o644,None);print(fd);sys.exit(fd<0)'
ipcrm_quiet() { ipcrm -M "$1" 2>/dev/null; return 0; }
KHOST=0x6e736901
KA_SHM=0x6e736902
KB_SHM=0x6e736903
QHOST=/nsit-pidns-q.$$
# Segments of the sessions die with their sets; should one leak to the host
# (a session left in the host's IPC namespace), it is removed too.
for k in $KHOST $KA_SHM $KB_SHM; do
	ipcrm -M "$k" 2>/dev/null
	defer ipcrm_quiet "$k"
done
check "host: a segment with key $KHOST is made" "$NSI_PY" -c "$SHMGET" $KHOST 0644
defer "$NSI_PY" -c 'import ctypes,sys;ctypes.CDLL(None).mq_unlink(sys.argv[1].encode())' "$QHOST"
check "host: a POSIX queue $QHOST is made" "$NSI_PY" -c "$MQOPEN" "$QHOST" $((0100 | 0200))
check_match "host: ipcs -m lists the host segment (positive control)" "^$KHOST " "$(ipcs -m)"
out=$(ssh_as $UA "python3 -c '$SHMGET' $KA_SHM 0644 && ipcs -m" </dev/null)
check_match "$UA: a segment made in the session is listed there" "^$KA_SHM " "$out"
check_nomatch "$UA: the host's segment is not listed" "^$KHOST " "$out"
out=$(ssh_as $UA 'ipcs -m' </dev/null)
check_match "$UA: a second login sees the segment of the first" "^$KA_SHM " "$out"
out=$(ssh_as $UB "python3 -c '$SHMGET' $KB_SHM 0644 && ipcs -m" </dev/null)
check_match "$UB: its own segment is listed (positive control)" "^$KB_SHM " "$out"
check_nomatch "$UB: $UA's segment (mode 0644) is not listed" "^$KA_SHM " "$out"
check_nomatch "$UB: the host's segment is not listed" "^$KHOST " "$out"
out=$(ipcs -m)
check_nomatch "host: $UA's segment is not listed" "^$KA_SHM " "$out"
check_nomatch "host: $UB's segment is not listed" "^$KB_SHM " "$out"
out=$(ssh_as $UC 'ipcs -m' </dev/null)
check_match "control (ipc = false): the session sees the host's segment" "^$KHOST " "$out"
ipcrm -M $KHOST
check_nomatch "host: the host's segment is removed" "^$KHOST " "$(ipcs -m)"
check_fails "$UA: the host's POSIX queue does not exist in the set" \
	ssh_as $UA "python3 -c '$MQOPEN' $QHOST 0" </dev/null
check "control (ipc = false): the session opens the host's POSIX queue" \
	ssh_as $UC "python3 -c '$MQOPEN' $QHOST 0" </dev/null

# ================================================================ 6 hostname
diag "6: host names"
check_eq "$UA: hostname is the literal policy value" nsit-lab "$(ssh_as $UA hostname </dev/null 2>&1)"
check_eq "$UB: hostname is lab-%u expanded" lab-$UB "$(ssh_as $UB 'hostname; uname -n' </dev/null 2>&1 | sort -u)"
check_eq "control (hostname \"\"): the host's name" "$HOST_NAME" "$(ssh_as $UC hostname </dev/null 2>&1)"
check_eq "the host's name is unchanged" "$HOST_NAME" "$(hostname)"

# ================================================================ 7 kill -9 of the keeper
diag "7: kill -9 of the keeper ends the whole set"
ssh_as $UA 'setsid sleep 1001 </dev/null >/dev/null 2>&1 &' </dev/null
check "a daemonised sleep of $UA runs in the set" wait_until 5 pids_args "$UIDA" 'sleep 1001'
d=$(pids_args "$UIDA" 'sleep 1001' | head -n 1)
check_eq "it is in the set's PID namespace" "pid:[$(ns_of "$UIDA" pid)]" "$(readlink "/proc/${d:-0}/ns/pid" 2>&1)"
check "the held login of $UA still runs" kill -0 "$HA_PID"
pidns_a=$(ns_of "$UIDA" pid)
kill -KILL "$KA"
check "the keeper is dead" wait_until 5 dead "$KA"
check "the daemonised sleep is dead" wait_until 5 dead "${d:-0}"
# shellcheck disable=SC2009 # zombies (stat Z) do not count
no_live_uid() { ! ps -u "$1" -o stat= | grep -qv '^Z'; }
check "no live process of $UA is left" wait_until 10 no_live_uid "$UIDA"
in_ns() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/pid" 2>/dev/null)" == "pid:[$1]" ] && ! dead "${p#/proc/}" && echo "${p#/proc/}"
	done
}
check_eq "no live process is left in the set's PID namespace" "" "$(in_ns "$pidns_a")"
check "the held login ended (its ssh client exited)" wait_until 10 gone "$HA_PID"
release_ssh "$HA_PID" "$HA_W"
out=$(ssh_as $UA 'echo R=$(id -un); ps -o pid=,comm= -p 1' </dev/null 2>&1)
check_match "the next login of $UA works" "^R=$UA\$" "$out"
check_match "the next login has a new set with PID 1 nsisolate-keep" '^ *1 +nsisolate-keep$' "$out"
check "after that login, the set of $UA is torn down" wait_until 10 no_state "$UIDA"

# ================================================================ 7b last logout
diag "7b: the last logout ends a daemonised process of a pid = true set"
hold_ssh $UA true || bail "cannot hold a login of $UA" "$(cat "$HS_OUT")"
HA_PID=$HS_PID
HA_W=$HS_W
KA=$(keeper_of "$UIDA")
ssh_as $UA 'setsid sleep 1003 </dev/null >/dev/null 2>&1 &' </dev/null
check "control: a daemonised sleep of $UA outlives its own login" wait_until 5 pids_args "$UIDA" 'sleep 1003'
d=$(pids_args "$UIDA" 'sleep 1003' | head -n 1)
check_eq "control: it is in the set's PID namespace" "pid:[$(ns_of "$UIDA" pid)]" "$(readlink "/proc/${d:-0}/ns/pid" 2>&1)"
check "control: the set is still there while the held login runs" test -e "$NSI_STATE_DIR/$UIDA.state"
release_ssh "$HA_PID" "$HA_W"
t0=$EPOCHREALTIME
check "the last logout removes the state" wait_until 10 no_state "$UIDA"
t1=$EPOCHREALTIME
# sshd's monitor closes the session before it reaps its session child, a
# zombie in the set's PID namespace, and the keeper (its init) cannot finish
# exiting before that: a close that waited for the keeper stalled 2 s.
ms=$(((${t1/./} - ${t0/./}) / 1000))
check "the state is gone within 1.5 s of the ssh client's exit ($ms ms; a 2 s stall before)" \
	test "$ms" -lt 1500
check "the daemonised sleep is dead by then" dead "${d:-0}"
check "the keeper is dead" wait_until 5 dead "${KA:-0}"
check "no live process of $UA is left" wait_until 10 no_live_uid "$UIDA"

# ================================================================ 8 pty
diag "8: an sshd pty session with pid = true"
check "no set of $UA, $UB or $UC is left before the pty test" \
	wait_until 10 bash -c "[ ! -e $NSI_STATE_DIR/$UIDA.state ] && [ ! -e $NSI_STATE_DIR/$UIDB.state ] && [ ! -e $NSI_STATE_DIR/$UIDC.state ]"
out=$(ssh_tty $UA 'tty; ps -o pid=,comm= -p 1; readlink /proc/self/ns/mnt; echo PTY-END' </dev/null)
rc=$?
check_eq "ssh -tt session exits 0" 0 "$rc"
check_match "pty session: has a /dev/pts tty" '^/dev/pts/[0-9]+$' "$out"
check_match "pty session: PID 1 is nsisolate-keep" '^ *1 +nsisolate-keep$' "$out"
check_match "pty session: printed its mount namespace" '^mnt:\[[0-9]+\]$' "$out"
check_nomatch "pty session: not in the host's mount namespace" "^mnt:\\[${HOST_MNT//[^0-9]/}\\]\$" "$out"
check_match "pty session: ran to the end" '^PTY-END$' "$out"
check "pty session: the opener's close tore the set down (state removed)" wait_until 10 no_state "$UIDA"
check "pty session: no sshd process of $UA is left" wait_until 10 bash -c "! pgrep -f '^$SVC: $UA'"
check_nomatch "sshd logged no fatal error" '(fatal|segfault|killed by signal)' "$(cat "$SSHD_LOG")"
check_nomatch "no segment of the sessions reached the host's IPC namespace" "^($KA_SHM|$KB_SHM) " "$(ipcs -m)"
assert_no_leftovers $UA $UB $UC
finish
