#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/e2e/test-userns.sh: the sessions' user namespace (docs/design.md,
# "Process model": the keeper and the fork handler; "Security rules" 3, never
# map real root) through real logins: sshd with and without a
# pty, sftp, scp (SFTP and legacy protocol), su -l, runuser -l and login -f
# on a pty. Every property checked inside a session has a positive control
# outside one (the same user, the same program, no module).
#
#   - maps: uid_map and gid_map exactly (root_id for 0, the user's own ids,
#     the gids coalesced), `id`, file ownership on the host (home, and /tmp
#     through /proc/KEEPER/root), for every kind of login;
#   - setuid-free: a setuid-root program, sudo, file capabilities (a copy
#     of cat with cap_net_raw+ep, which the kernel refuses to exec once the
#     bounding set is empty, and one with cap_net_raw+p: CapPrm 0);
#   - capabilities: all five sets 0 in the shell and in sshd's per-user
#     privsep process, the sshd monitor stays in the host user namespace;
#   - nested user namespaces off and on, one user namespace per user;
#   - userns.enable = false;
#   - refusals with their syslog line: root_id owned by a user, by a group,
#     inside an /etc/subuid range; a user in gid 0;
#   - a session child that cannot enter dies with 127 (seccomp makes each
#     step of the fork handler fail in turn; an opener without
#     CAP_SYS_ADMIN).
# shellcheck disable=SC2016 # remote command lines are single-quoted on purpose
# shellcheck disable=SC2317,SC2119 # helpers called through check/wait_until/defer
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
need sshd ssh sftp scp script su runuser login logger findmnt gcc setcap setpriv unshare sudo \
	pgrep python3

HOLD_BIN=$NSI_BUILD/tests/pam-hold
[ -x "$HOLD_BIN" ] || bail "$HOLD_BIN is missing: make build/tests/pam-hold"
[ -x "$NSI_LIBEXEC/nsisolate-helper" ] || bail "$NSI_LIBEXEC/nsisolate-helper is missing: make install"
[ -e /proc/self/ns/user ] || skip_all "the kernel has no user namespaces"

DEFAULT_ROOT_ID=2147483646
D=/usr/local/lib/nsit-test # where the session can reach the test programs
HOST_USERNS=$(readlink /proc/self/ns/user)

# ------------------------------------------------------------ programs

for p in nsit-euid nsit-deny; do
	gcc -Wall -Wextra -Werror -O2 -o "$T/$p" "$NSI_SRCDIR/tests/e2e/$p.c" 2>"$T/gcc.log" ||
		bail "cannot compile tests/e2e/$p.c" "$(cat "$T/gcc.log")"
done
[ -e "$D" ] && rm -rf --one-file-system -- "$D"
defer rm -rf --one-file-system -- "$D"
install -d -o root -g root -m 0755 "$D" || bail "cannot make $D"
install -o root -g root -m 4755 "$T/nsit-euid" "$D/nsit-euid" || bail "cannot install $D/nsit-euid"
# A copy of cat with a file capability: reading /proc/self/status shows what it got.
install -o root -g root -m 0755 "$(command -v cat)" "$D/nsit-cat" || bail "cannot copy cat"
setcap cap_net_raw+ep "$D/nsit-cat" || bail "setcap cap_net_raw+ep failed"
install -o root -g root -m 0755 "$(command -v cat)" "$D/nsit-catp" || bail "cannot copy cat"
setcap cap_net_raw+p "$D/nsit-catp" || bail "setcap cap_net_raw+p failed"
# The probe run in every login: one "P:KEY VALUE" line per fact.
cat >"$D/probe.sh" <<'EOF'
# test-userns.sh probe: what a session sees. $1: a host /tmp marker file.
D=/usr/local/lib/nsit-test
while read -r a b c; do echo "P:U $a $b $c"; done </proc/self/uid_map
while read -r a b c; do echo "P:G $a $b $c"; done </proc/self/gid_map
echo "P:ID $(id)"
grep '^Cap' /proc/self/status | sed -E 's/^(Cap[A-Za-z]+):[[:space:]]*/P:\1 /'
echo "P:SUID $("$D/nsit-euid")"
# cap_net_raw+ep: the kernel refuses to exec it when the bounding set keeps
# the capability from it (EPERM), else it runs; either way it gains nothing.
if fc=$("$D/nsit-cat" /proc/self/status 2>&1); then
	echo "P:FCAP $(echo "$fc" | sed -n 's/^CapEff:[[:space:]]*//p')"
else
	echo "P:FCAP refused: $(echo "$fc" | tail -n 1)"
fi
# cap_net_raw+p (no effective bit): always runs; CapPrm and CapEff.
echo "P:FCAPP $("$D/nsit-catp" /proc/self/status | awk '/^Cap(Prm|Eff):/ { printf "%s%s", s, $2; s = " " }')"
rm -f "$HOME/.nsit-owner" && touch "$HOME/.nsit-owner"
err=$(sudo -n true 2>&1 </dev/null)
echo "P:SUDO $? $(echo "$err" | head -n 1)"
unshare -U true >/dev/null 2>&1
echo "P:UNSHARE $?"
echo "P:MAXUSERNS $(cat /proc/sys/user/max_user_namespaces)"
echo "P:USERNS $(readlink /proc/self/ns/user)"
if [ -e "$1" ]; then echo "P:MARKER visible"; else echo "P:MARKER hidden"; fi
EOF
chmod 0644 "$D/probe.sh"
PROBE="sh $D/probe.sh"

# A file in the host's /tmp that no isolated session may see.
MARKER=$(mktemp /tmp/nsit-marker.XXXXXXXX) || bail "mktemp failed"
defer rm -f "$MARKER"
chmod 0644 "$MARKER"
PROBE="$PROBE $MARKER"

# ------------------------------------------------------------ ids, users

# id_free N: is N neither a uid nor a gid?
id_free() { ! getent passwd "$1" >/dev/null && ! getent group "$1" >/dev/null; }
# A block of 8 free ids for the test groups: G, G+1 (consecutive), G+5.
G=
for ((b = 52000; b < 60000; b += 100)); do
	ok=1
	for ((i = 0; i < 8; i++)); do id_free $((b + i)) || { ok=; break; }; done
	[ -n "$ok" ] && { G=$b; break; }
done
[ -n "$G" ] || bail "no free block of 8 ids in 52000..60000"

start_syslog
mkgroup nsitunga -g "$G"
mkgroup nsitungb -g $((G + 1))
mkgroup nsitungc -g $((G + 5))
# A group whose gid no user has: root_id pointing at it must be refused.
mkgroup nsitunrg -g $((G + 7))
# No subordinate ranges for the test users: /etc/subuid is ours to control.
NOSUB=(-K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0)
mkuser nsitun1 "${NOSUB[@]}" -G nsitunga,nsitungb,nsitungc # default policy
mkuser nsitun2 "${NOSUB[@]}"                                # nested = true
mkuser nsitun3 "${NOSUB[@]}"                                # userns.enable = false
mkuser nsitunr "${NOSUB[@]}"                                # root_id refusals
mkuser nsitunz "${NOSUB[@]}" -G root                        # in gid 0
for u in nsitun1 nsitun2 nsitun3 nsitunr nsitunz; do authorize "$u"; done
U1=$(uid_of nsitun1)
U2=$(uid_of nsitun2)
U3=$(uid_of nsitun3)
UR=$(uid_of nsitunr)
G1=$(id -g nsitun1)

# write_conf ROOT_ID_OF_NSITUNR: the policy of every service in this test.
write_conf() {
	mkconf test <<-EOF
		version = 1;
		defaults = {
		  isolate = true;
		  tmp = { dirs = ["/tmp", "/var/tmp", "/dev/shm"]; method = "tmpfs"; size = "64M"; };
		  network = { mode = "host"; };
		  userns = { enable = true; nested = false; };
		  on_last_logout = "kill";
		  on_error = "deny";
		};
		policies = (
		  { name = "nested"; match = { users = ["nsitun2"]; }; userns = { nested = true; }; },
		  { name = "nouserns"; match = { users = ["nsitun3"]; }; userns = { enable = false; }; },
		  { name = "rootid"; match = { users = ["nsitunr"]; }; userns = { root_id = $1; }; }
		);
	EOF
}
write_conf "$U1"

mkservice nsitunsh "session include common-session
$(modline)"
override_service su-l "auth include su
account include su
password include su
session optional pam_keyinit.so force revoke
session include su
$(modline)"
override_service runuser-l "auth include runuser
session optional pam_keyinit.so force revoke
session include runuser
$(modline)"
login_text=$(grep -v 'pam_nsisolate' /etc/pam.d/login)
override_service login "$login_text
$(modline)"
start_sshd nsitunsh

# ------------------------------------------------------------ helpers

# keeper_of UID: the keeper pid of the user's live set (empty if none).
no_set() { [ ! -e "$NSI_STATE_DIR/$1.state" ]; }
# wait_no_set UID: the user's last session closed and the set is gone.
wait_no_set() { wait_until 15 no_set "$1"; }
# pv KEY TEXT: the values of probe lines "P:KEY ..." (one per line).
pv() { sed -n "s/^P:$1 //p" <<<"$2"; }
# cap_lines FILE: "CapInh 0000..." lines of a /proc/PID/status.
cap_lines() { sed -nE 's/^(Cap[A-Za-z]+):[[:space:]]*/\1 /p' "$1"; }
ZERO_CAPS="CapInh 0000000000000000
CapPrm 0000000000000000
CapEff 0000000000000000
CapBnd 0000000000000000
CapAmb 0000000000000000"

# The expected maps: 0 -> root_id, the user's uid and every gid of
# getgrouplist (`id -G`) to themselves, gids coalesced into ranges.
expect_uid_map() { printf '0 %s 1\n%s %s 1' "$2" "$1" "$1"; }
expect_gid_map() {
	echo "0 $2 1"
	id -G "$1" | tr ' ' '\n' | sort -n -u | awk '
		NR == 1 { s = $1; p = $1; next }
		$1 == p + 1 { p = $1; next }
		{ print s, s, p - s + 1; s = $1; p = $1 }
		END { if (NR) print s, s, p - s + 1 }'
}

# check_probe WHERE USER OUT [ROOT_ID]: the checks every isolated login of a
# user with nested = false must pass (from the probe's output).
check_probe() {
	local where=$1 user=$2 out=$3 rid=${4:-$DEFAULT_ROOT_ID} uid caps
	uid=$(id -u "$user")
	if ! grep -q '^P:USERNS ' <<<"$out"; then
		fail "$where: the probe ran" "$out"
		return 1
	fi
	check_eq "$where: uid_map is exactly 0->$rid and $uid->$uid" \
		"$(expect_uid_map "$uid" "$rid")" "$(pv U "$out")"
	check_eq "$where: gid_map is 0->$rid and every gid of $user coalesced" \
		"$(expect_gid_map "$user" "$rid")" "$(pv G "$out")"
	check_eq "$where: id prints the user's name, uid and all groups" "$(id "$user")" "$(pv ID "$out")"
	caps=$(sed -n 's/^P:\(Cap[A-Za-z]*\) /\1 /p' <<<"$out" | sort)
	check_eq "$where: CapInh CapPrm CapEff CapBnd CapAmb all 0" "$(sort <<<"$ZERO_CAPS")" "$caps"
	check_eq "$where: setuid-root program runs with the user's euid" \
		"ruid=$uid euid=$uid suid=$uid" "$(pv SUID "$out")"
	check_match "$where: cap_net_raw+ep binary gains nothing (CapEff 0, or exec refused with EPERM)" \
		'^(0000000000000000|refused: .*Operation not permitted)$' "$(pv FCAP "$out")"
	check_eq "$where: cap_net_raw+p binary has CapPrm and CapEff 0" \
		"0000000000000000 0000000000000000" "$(pv FCAPP "$out")"
	# sudo stops at the first root-owned thing it checks: its config shows as
	# owned by the overflow uid, or its euid is not 0.
	check_match "$where: sudo -n true fails (setuid bit inert, root unmapped)" \
		'^[1-9][0-9]* sudo: .*(effective uid is not 0|is owned by uid 65534)' "$(pv SUDO "$out")"
	check_match "$where: unshare -U fails (nested = false)" '^[1-9]' "$(pv UNSHARE "$out")"
	check_eq "$where: max_user_namespaces is 0 inside" 0 "$(pv MAXUSERNS "$out")"
	check_match "$where: not the host's user namespace" '^user:\[' \
		"$(pv USERNS "$out" | grep -vxF "$HOST_USERNS")"
	check_eq "$where: the host's /tmp marker is hidden" hidden "$(pv MARKER "$out")"
	check_eq "$where: a file it made in the home is owned by $uid:$(id -g "$user") on the host" \
		"$uid:$(id -g "$user")" "$(stat -c %u:%g "$(getent passwd "$user" | cut -d: -f6)/.nsit-owner" 2>&1)"
	rm -f "$(getent passwd "$user" | cut -d: -f6)/.nsit-owner"
}

# as_user USER CMD...: run CMD as USER outside any session (no PAM).
as_user() {
	local u=$1
	shift
	setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --init-groups --reset-env -- "$@"
}

# bg_login ssh_as|ssh_tty USER NAME: a login in the background that writes
# its user namespace to ~/.nsit-NAME (the home is shared with the host) and
# stays until bg_release removes ~/.nsit-hold. Sets BG (the client's pid).
bg_login() {
	local how=$1 user=$2 name=$3 home
	home=$(getent passwd "$user" | cut -d: -f6)
	rm -f "$home/.nsit-$name"
	touch "$home/.nsit-hold"
	defer rm -f "$home/.nsit-hold" "$home/.nsit-$name"
	"$how" "$user" "readlink /proc/self/ns/user >~/.nsit-$name.new && mv ~/.nsit-$name.new ~/.nsit-$name
		while [ -e ~/.nsit-hold ]; do sleep 0.1; done" </dev/null >"$T/$name.out" 2>&1 &
	BG=$!
	defer _nsi_kill "$BG"
}
# bg_release USER PID...: end the user's background logins, wait for them.
bg_release() {
	local user=$1 p
	shift
	rm -f "$(getent passwd "$user" | cut -d: -f6)/.nsit-hold"
	for p in "$@"; do wait "$p"; done
}

# alive PID: a process that runs (kill -0 is true for a zombie, and this
# machine's PID 1 may be slow to reap orphans such as a killed keeper).
alive() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$st" ] && [ "$st" != Z ]
}

# ------------------------------------------------------------ positive controls (outside)

diag "positive controls: the same user and programs outside any session"
out=$(as_user nsitun1 "$D/nsit-euid")
check_eq "outside: setuid-root program gives euid 0" "ruid=$U1 euid=0 suid=0" "$out"
out=$(as_user nsitun1 "$D/nsit-cat" /proc/self/status | sed -n 's/^CapEff:[[:space:]]*//p')
check_match "outside: cap_net_raw+ep binary has CapEff with cap_net_raw" '^[0-9a-f]*[2367abef][0-9a-f]{3}$' "$out"
out=$(as_user nsitun1 "$D/nsit-catp" /proc/self/status | sed -n 's/^CapPrm:[[:space:]]*//p')
check_match "outside: cap_net_raw+p binary has CapPrm with cap_net_raw" '^[0-9a-f]*[2367abef][0-9a-f]{3}$' "$out"
out=$(as_user nsitun1 cat /proc/self/status | sed -n 's/^CapBnd:[[:space:]]*//p')
check_fails "outside: the user's CapBnd is not 0" test "$out" == 0000000000000000
out=$(as_user nsitun1 awk '{print $1, $2, $3}' /proc/self/uid_map)
check_eq "outside: uid_map is the host's" "0 0 4294967295" "$out"
echo "nsitun1 ALL=(ALL) NOPASSWD: ALL" >"$T/sudoers"
visudo -cq -f "$T/sudoers" || bail "visudo rejects the test sudoers file"
defer rm -f /etc/sudoers.d/nsit-test
install -o root -g root -m 0440 "$T/sudoers" /etc/sudoers.d/nsit-test
check "outside: runuser -u nsitun1 -- sudo -n true works" runuser -u nsitun1 -- sudo -n true
check "outside: the user can make a user namespace (runuser -u nsitun1 -- unshare -U true)" \
	runuser -u nsitun1 -- unshare -U true
check "outside: the user sees the /tmp marker" as_user nsitun1 test -e "$MARKER"

# ------------------------------------------------------------ logins of nsitun1

out=$(ssh_as nsitun1 "$PROBE" </dev/null 2>&1)
check_probe "ssh (no pty)" nsitun1 "$out"
# The groups by hand, not only through expect_gid_map: G and G+1 coalesce, G+5 stands alone.
check_match "ssh (no pty): gid_map holds the range $G $G 2 (two consecutive groups)" "^$G $G 2\$" "$(pv G "$out")"
check_match "ssh (no pty): gid_map holds $((G + 5)) $((G + 5)) 1" "^$((G + 5)) $((G + 5)) 1\$" "$(pv G "$out")"
check_match "ssh (no pty): gid_map holds the primary group $G1" "^$G1 $G1 1\$" "$(pv G "$out")"
check_eq "ssh (no pty): gid_map has 4 lines" 4 "$(pv G "$out" | wc -l)"
check "ssh (no pty): the set is gone after logout" wait_no_set "$U1"

out=$(ssh_tty nsitun1 "$PROBE" </dev/null 2>&1)
check_probe "ssh (pty)" nsitun1 "$out"
check "ssh (pty): the set is gone after logout" wait_no_set "$U1"

out=$(run_in_pty "su -l nsitun1 -c '$PROBE'" </dev/null 2>&1)
check_probe "su -l" nsitun1 "$out"
check "su -l: the set is gone after logout" wait_no_set "$U1"

out=$(run_in_pty "runuser -l nsitun1 -c '$PROBE'" </dev/null 2>&1)
check_probe "runuser -l" nsitun1 "$out"
check "runuser -l: the set is gone after logout" wait_no_set "$U1"

out=$(pty_login nsitun1 "$PROBE" </dev/null 2>&1)
check_probe "login -f" nsitun1 "$out"
check "login -f: the set is gone after logout" wait_no_set "$U1"

# ---- with the set held open: host views of files and processes

if pam_hold nsitunsh nsitun1; then pass "pam_hold keeps nsitun1's set open"; else
	bail "pam_hold nsitunsh nsitun1" "$(cat "$HOLD_OUT")"
fi
HOLD1=$HOLD_PID
K1=$(keeper_of "$U1")
[ -n "$K1" ] || bail "no keeper line in $NSI_STATE_DIR/$U1.state"
KNS=$(readlink "/proc/$K1/ns/user")
check_fails "the keeper's user namespace is not the host's" test "$KNS" == "$HOST_USERNS"

out=$(ssh_as nsitun1 'touch /tmp/nsit-f.tmp ~/nsit-f.home && readlink /proc/self/ns/user' </dev/null 2>&1)
check_eq "ssh: the session is in the keeper's user namespace" "$KNS" "$out"
check_eq "file made in /tmp inside is owned by uid $U1 on the host (via the keeper's root)" \
	"$U1:$G1" "$(stat -c %u:%g "/proc/$K1/root/tmp/nsit-f.tmp" 2>&1)"
check_fails "the session's /tmp file is not in the host's /tmp" test -e /tmp/nsit-f.tmp
check_eq "file made in the home inside is owned by uid $U1 on the host" \
	"$U1:$G1" "$(stat -c %u:%g /home/nsitun1/nsit-f.home 2>&1)"

# Two logins at once, one with a pty: both in one user namespace; sshd's
# per-user privsep processes and the monitors seen from the host.
bg_login ssh_as nsitun1 bg1
BG1=$BG
bg_login ssh_tty nsitun1 bg2
BG2=$BG
check "two logins are up" wait_until 15 bash -c "[ -s /home/nsitun1/.nsit-bg1 ] && [ -s /home/nsitun1/.nsit-bg2 ] &&
	pgrep -u $U1 -f '^nsitunsh: nsitun1@notty' >/dev/null && pgrep -u $U1 -f '^nsitunsh: nsitun1@pts/' >/dev/null"
check_eq "two logins (pty and no pty) share one user namespace" \
	"$(cat /home/nsitun1/.nsit-bg1 2>&1)" "$(cat /home/nsitun1/.nsit-bg2 2>&1)"
check_eq "... the keeper's" "$KNS" "$(cat /home/nsitun1/.nsit-bg1 2>&1)"
for kind in notty pts/; do
	pids=$(pgrep -u "$U1" -f "^nsitunsh: nsitun1@$kind")
	if [ "$(wc -w <<<"$pids")" != 1 ]; then
		fail "one privsep process sshd: nsitun1@$kind" "pids: $pids" "$(pgrep -a -f nsitunsh)"
		continue
	fi
	cp "/proc/$pids/status" "$T/privsep.status"
	check_eq "sshd: nsitun1@$kind (pid $pids): all five capability sets 0" "$ZERO_CAPS" \
		"$(cap_lines "$T/privsep.status")"
	check_match "sshd: nsitun1@$kind runs as the user" "^Uid:\s+$U1\s+$U1\s+$U1\s+$U1$" \
		"$(grep ^Uid: "$T/privsep.status")"
	check_eq "sshd: nsitun1@$kind is in the set's user namespace" "$KNS" "$(readlink "/proc/$pids/ns/user")"
	check_eq "sshd: nsitun1@$kind is in the set's mount namespace" "$(readlink "/proc/$K1/ns/mnt")" \
		"$(readlink "/proc/$pids/ns/mnt")"
	mon=$(ps -o ppid= -p "$pids" | tr -d ' ')
	check_match "its parent is the monitor sshd: nsitun1 [priv], root" '^0 nsitunsh: nsitun1 \[priv\]' \
		"$(ps -o uid=,args= -p "$mon" | sed 's/^ *//')"
	check_eq "the monitor (pid $mon) stays in the host's user namespace" "$HOST_USERNS" \
		"$(readlink "/proc/$mon/ns/user")"
	check_eq "the monitor stays in the host's mount namespace" "$(readlink /proc/self/ns/mnt)" \
		"$(readlink "/proc/$mon/ns/mnt")"
done
bg_release nsitun1 "$BG1" "$BG2"

# sftp: the sftp-server of an open batch runs in the set's user namespace.
head -c 3000 /dev/urandom | base64 >"$T/upload"
{
	printf 'put "%s" /tmp/nsit-sftp\n' "$T/upload"
	sleep 3
	echo bye
} | sftp_batch nsitun1 >"$T/sftp.out" 2>&1 &
SFTP=$!
defer _nsi_kill "$SFTP"
if wait_until 10 pgrep -u "$U1" -x sftp-server >/dev/null; then
	sp=$(pgrep -u "$U1" -x sftp-server | head -n 1)
	check_eq "sftp-server (pid $sp) runs in the set's user namespace" "$KNS" "$(readlink "/proc/$sp/ns/user")"
	check_eq "sftp-server: CapEff and CapBnd 0" "CapEff 0000000000000000
CapBnd 0000000000000000" "$(cap_lines "/proc/$sp/status" | grep -E '^Cap(Eff|Bnd)')"
else
	fail "an sftp-server of nsitun1 runs during the batch" "$(cat "$T/sftp.out")"
fi
wait "$SFTP"
check_eq "sftp batch succeeded" 0 "$?"
check "sftp upload into /tmp landed in the session's /tmp" cmp "$T/upload" "/proc/$K1/root/tmp/nsit-sftp"
check_eq "... owned by uid $U1 on the host" "$U1:$G1" "$(stat -c %u:%g "/proc/$K1/root/tmp/nsit-sftp" 2>&1)"
check_fails "... and not in the host's /tmp" test -e /tmp/nsit-sftp
check "scp (SFTP protocol) upload into /tmp" scp_put nsitun1 "$T/upload" /tmp/nsit-scp
check "... landed in the session's /tmp" cmp "$T/upload" "/proc/$K1/root/tmp/nsit-scp"
check_eq "... owned by uid $U1 on the host" "$U1:$G1" "$(stat -c %u:%g "/proc/$K1/root/tmp/nsit-scp" 2>&1)"
check "scp -O (legacy protocol, scp -t in the session) upload into /tmp" \
	scp_put -O nsitun1 "$T/upload" /tmp/nsit-scpO
check "... landed in the session's /tmp" cmp "$T/upload" "/proc/$K1/root/tmp/nsit-scpO"
check_eq "... owned by uid $U1 on the host" "$U1:$G1" "$(stat -c %u:%g "/proc/$K1/root/tmp/nsit-scpO" 2>&1)"
check_fails "... and neither is in the host's /tmp" test -e /tmp/nsit-scp -o -e /tmp/nsit-scpO

# ---- a session child that cannot enter dies with 127
# pam-hold -f CMD opens a session of nsitun1 (joining the held set: no
# helper runs) and forks CMD; nsit-deny makes one system call of the fork
# handler fail with EPERM in that opener and its child. Were any of the
# handler's _exit(127) missing, CMD would run (un-isolated or half-isolated)
# and print RAN.
nsessions() { grep -c '^session ' "$NSI_STATE_DIR/$1.state" 2>/dev/null; }
one_session() { [ "$(nsessions "$U1")" == 1 ]; }
check "only pam-hold's session is left in the state" wait_until 10 one_session
deny_run() {
	timeout -k 5 30 "$T/nsit-deny" "$1" "$HOLD_BIN" nsitunsh nsitun1 -f \
		sh -c 'echo RAN; awk "{print \"U\", \$1, \$2, \$3}" /proc/self/uid_map' </dev/null 2>&1
}
out=$(deny_run none)
check_eq "control: pam-hold -f joins, its child runs isolated as the namespace's root" \
	"open 0
RAN
U 0 $DEFAULT_ROOT_ID 1
U $U1 $U1 1
child 0
close 0" "$out"
for rule in setns-mnt setns-user setresgid setresuid capbset-drop; do
	out=$(deny_run "$rule")
	check_eq "child that cannot enter ($rule fails) exits 127 before running anything" \
		"open 0
child 127
close 0" "$out"
done
# A real-world variant: an opener without CAP_SYS_ADMIN cannot setns at all.
out=$(timeout -k 5 30 setpriv --inh-caps=-sys_admin --bounding-set=-sys_admin -- "$HOLD_BIN" nsitunsh nsitun1 -f \
	sh -c 'echo RAN' </dev/null 2>&1)
check_eq "opener without CAP_SYS_ADMIN: its session child exits 127" "open 0
child 127
close 0" "$out"
check_eq "the held set is unharmed: still one session (pam-hold)" 1 "$(nsessions "$U1")"
check_eq "... same keeper" "$K1" "$(keeper_of "$U1")"
out=$(ssh_as nsitun1 'readlink /proc/self/ns/user' </dev/null 2>&1)
check_eq "... and a new login still joins it" "$KNS" "$out"

pam_release "$HOLD1"
check_match "pam-hold closed its session" '^close 0$' "$(cat "$HOLD_OUT")"
check "nsitun1's set is gone" wait_no_set "$U1"
check_fails "the keeper $K1 is gone" alive "$K1"

# ------------------------------------------------------------ nested = true (nsitun2)

bg_login ssh_as nsitun2 bg3
BG3=$BG
check "nested: a first login is up" wait_until 15 test -s /home/nsitun2/.nsit-bg3
out=$(ssh_as nsitun2 "readlink /proc/self/ns/user
cat /proc/sys/user/max_user_namespaces
unshare -Urm sh -c 'echo IN \$(id -u); umount /tmp 2>/dev/null; echo UMOUNT \$?; umount -l /tmp 2>/dev/null; echo LAZY \$?;
  if [ -e $MARKER ]; then echo MARKER visible; else echo MARKER hidden; fi'" </dev/null 2>&1)
K2=$(keeper_of "$U2")
check_eq "nested: two logins share one user namespace" "$(cat /home/nsitun2/.nsit-bg3 2>&1)" "$(head -n 1 <<<"$out")"
check_eq "nested: ... the keeper's" "$(readlink "/proc/$K2/ns/user" 2>&1)" "$(head -n 1 <<<"$out")"
check_fails "nested: max_user_namespaces inside is not 0" test "$(sed -n 2p <<<"$out")" == 0
check_match "nested: unshare -Urm works (root in a nested namespace)" '^IN 0$' "$out"
check_match "nested: umount /tmp fails in it (the mount is locked)" '^UMOUNT [1-9]' "$out"
check_match "nested: umount -l /tmp fails too" '^LAZY [1-9]' "$out"
check_match "nested: the host's /tmp marker stays invisible" '^MARKER hidden$' "$out"
check_nomatch "nested: nothing else" 'MARKER visible' "$out"
bg_release nsitun2 "$BG3"
check "nested: the set is gone after logout" wait_no_set "$U2"

# ------------------------------------------------------------ userns.enable = false (nsitun3)

out=$(ssh_as nsitun3 "$PROBE" </dev/null 2>&1)
check_eq "enable = false: uid_map is the host's" "0 0 4294967295" "$(pv U "$out")"
check_eq "enable = false: the host's user namespace" "$HOST_USERNS" "$(pv USERNS "$out")"
check_eq "enable = false: the setuid-root program gives euid 0" "ruid=$U3 euid=0 suid=0" "$(pv SUID "$out")"
check_eq "enable = false: /tmp is still private (mount isolation only)" hidden "$(pv MARKER "$out")"
check "enable = false: the set is gone after logout" wait_no_set "$U3"

# ------------------------------------------------------------ refusals

# refused WHAT USER ERE: a login of USER is refused, the command never runs,
# syslog names the cause, nothing of a set is left.
refused() {
	local what=$1 user=$2 re=$3 out rc uid
	uid=$(id -u "$user")
	log_mark
	out=$(ssh_as "$user" 'echo RAN' </dev/null 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] && ! grep -q '^RAN$' <<<"$out"; then
		pass "$what: the login is refused, its command never ran (ssh status $rc)"
	else
		fail "$what: the login is refused, its command never ran" "ssh status $rc" "$out"
	fi
	check "$what: syslog says why" wait_log "pam_nsisolate\(nsitunsh:session\): refused $user \(uid $uid\): .*$re" 5
	check "$what: no set, no state" wait_no_set "$uid"
}

refused "root_id = uid of nsitun1" nsitunr "userns\.root_id $U1 belongs to user \"nsitun1\""
write_conf $((G + 7))
refused "root_id = gid of group nsitunrg" nsitunr "userns\.root_id $((G + 7)) belongs to group \"nsitunrg\""

# An /etc/subuid range: pick a block no existing line covers (useradd gives
# new users ranges from 100000 on), root_id = its start + 5.
in_subid() { cat /etc/subuid /etc/subgid 2>/dev/null | awk -F: -v a="$1" -v n=65536 \
	'NF >= 3 && $2 + 0 < a + n && a < $2 + $3 { f = 1 } END { exit !f }'; }
SUB=
for b in 100000 1000000000 1500000000 2000000000; do
	in_subid "$b" || ! id_free $((b + 5)) || { SUB=$b; break; }
done
[ -n "$SUB" ] || bail "no free subordinate id block for the root_id test"
RID=$((SUB + 5))
write_conf "$RID"
out=$(ssh_as nsitunr "$PROBE" </dev/null 2>&1)
check_eq "root_id = $RID (control, before the subuid line): uid_map 0->$RID" \
	"$(expect_uid_map "$UR" "$RID")" "$(pv U "$out")"
check_eq "root_id = $RID: gid_map 0->$RID" "$(expect_gid_map nsitunr "$RID")" "$(pv G "$out")"
check "root_id control: the set is gone after logout" wait_no_set "$UR"
subuid_sum=$(sha256sum /etc/subuid)
had_subuid=$([ -e /etc/subuid ] && echo yes)
cp -a /etc/subuid "$T/subuid.orig" 2>/dev/null || : >"$T/subuid.orig"
restore_subuid() {
	# Only our line was added: put the original back byte for byte; if
	# something else changed the file meanwhile, remove just our line.
	if [ -e /etc/subuid ] && cmp -s <(grep -vxF "nsitsub:$SUB:65536" /etc/subuid) "$T/subuid.orig"; then
		if [ -n "$had_subuid" ]; then cp -a "$T/subuid.orig" /etc/subuid; else rm -f /etc/subuid; fi
	elif [ -e /etc/subuid ]; then
		grep -vxF "nsitsub:$SUB:65536" /etc/subuid >"$T/subuid.new"
		cat "$T/subuid.new" >/etc/subuid
	fi
}
defer restore_subuid
[ -z "$(tail -c 1 /etc/subuid 2>/dev/null)" ] || echo >>/etc/subuid
echo "nsitsub:$SUB:65536" >>/etc/subuid
refused "root_id $RID inside the /etc/subuid range nsitsub:$SUB:65536" nsitunr \
	"userns\.root_id $RID lies inside a range of /etc/subuid or /etc/subgid"
restore_subuid
check_eq "/etc/subuid restored byte for byte" "$subuid_sum" "$(sha256sum /etc/subuid)"

refused "a user in gid 0" nsitunz "user nsitunz is in group 0 \(root\), which is never mapped"

# ------------------------------------------------------------ nothing left

assert_no_leftovers
finish
