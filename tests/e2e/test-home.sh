#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/e2e/test-home.sh: home modes, hide, readonly, tmp.dirs and path attacks
# on them (docs/design.md, "Security rules" 1 and "Trust boundaries"), through
# real logins (a copy of sshd with the module last in its session stack), as
# root after `make all build/tests/pam-hold && make install`.
#
# Scenarios (each negative check has a positive control):
#  1 home.mode private: /home inside shows only the user's own home (the host
#    shows the other test user's too); own files there and writable.
#  2 home.mode ephemeral: skel (a root-owned dir made here) copied and owned
#    by the user, without FIFOs, device nodes or setuid bits; home.size
#    enforced (ENOSPC); a file of one set is gone in the next; nothing
#    reaches the real home.
#  3 readonly = ["$HOME/.ssh"]: appending to authorized_keys fails inside
#    (Read-only file system) and works outside (runuser -u, no module).
#  4 hide: a directory, a file and a "/abs/$USER" path unreadable inside,
#    readable outside; a missing path below the home is made (an empty
#    directory of the user's) and hidden.
#  5 tmp.dirs with "$HOME/tmp": a tmpfs there inside, the host's ~/tmp
#    untouched; a missing "$HOME/..." tmp dir is skipped.
#  6 path attacks against a root-owned sentinel dir (owner, mode, times and
#    content snapshotted; no mount on it in the host or, for logins that
#    succeed, inside the set via `nsisolate enter`): a symlink at each
#    user-controlled component (readonly, hide, tmp.dirs; "$HOME/..." and
#    "/home/$USER/..."; a user's symlink outside the home) is refused with a
#    syslog line naming the path and "symlink"; FIFOs and a device node fail
#    fast under `timeout 20`; a root-owned component or file below the home is
#    refused; a path below a 000 directory of the user is refused (0700 works);
#    the home a symlink, or not the user's, is refused; a home whose parent is
#    not root's is refused.
#  7 the rename race (CVE-2025-6020): a process of the user in the host swaps
#    directories with symlinks to the sentinel (renameat2 RENAME_EXCHANGE) in
#    a tight loop during 1200 pam-hold open/fork/close logins under three
#    policies (readonly, hide of a file below a raced dir, tmp.dirs); every
#    login succeeds or is refused for a symlink, the sentinel never changes,
#    nothing is ever mounted on it (mountinfo of every successful session,
#    findmnt in the host and `nsisolate enter` of a held set after each
#    batch).
# Knobs: NSIT_RACE_ITER (default 1200) logins in the race; NSIT_MODULE, a
# path put in place of pam_nsisolate.so in the test's PAM services (to run
# this suite against a deliberately weakened build: each attack check must
# then fail).
# shellcheck disable=SC2016 # remote command lines and policies are single-quoted on purpose
# shellcheck disable=SC2317,SC2119,SC2120 # helpers called through check/wait_until/defer
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
need pamtester sshd ssh runuser findmnt mkfifo mknod cc timeout sha256sum

HOLD=$NSI_BUILD/tests/pam-hold
need_test_bins pam-hold
NSI=$(command -v nsisolate) || NSI=/usr/local/sbin/nsisolate
[ -x "$NSI" ] || bail "nsisolate is not installed: make install"

U1=nsithome1
U2=nsithome2
start_syslog
mkuser $U1
mkuser $U2
UID1=$(uid_of $U1)
UID2=$(uid_of $U2)
H1=/home/$U1
H2=/home/$U2

for u in "$UID1" "$UID2"; do
	drop_set "$u"
	defer drop_set "$u"
done
# settle UID: the set is over (every login's close has run) before the policy
# changes; a live set with another policy would refuse the next login.
settle() {
	wait_until 15 no_state "$1" && return 0
	fail "the set of uid $1 ended" "$(cat "$NSI_STATE_DIR/$1.state" 2>&1)"
	drop_set "$1"
}

# The policy file: every user gets DEFAULTS (no policies).
setconf() {
	local tmp='tmp = { dirs = ["/tmp"]; };'
	[[ $1 == *"tmp = "* ]] && tmp=
	mkconf home "version = 1;
defaults = { $tmp $1 };"
}
setconf ''
SSVC=nsit-home-sshd
PSVC=nsit-home-pam
ML=$(modline)
[ -n "${NSIT_MODULE:-}" ] && ML=${ML/pam_nsisolate.so/$NSIT_MODULE}
mkservice $SSVC "session include common-session
$ML"
mkservice $PSVC "session required pam_permit.so
$ML"
start_sshd $SSVC
authorize $U1
authorize $U2

# as_user U CMD: CMD as U in the host, without the module (runuser's own stack).
as_user() {
	local u=$1
	shift
	runuser -u "$u" -- sh -c "$*"
}
# val KEY TEXT: the value of the first KEY=value line.
val() { sed -n "s/^$1=//p" <<<"$2" | head -n 1; }

# The sentinel: a root-owned dir a followed symlink would lead to. Its mode
# lets the user traverse it, so a walk that followed a symlink would reach
# it (and b/ and secret inside, the names the attacks use) and succeed.
SENT=$(mktemp -d /var/lib/nsit-sentinel-XXXXXX) || bail "mktemp sentinel"
defer rm -rf --one-file-system "$SENT"
chmod 0755 "$SENT"
mkdir -m 0755 "$SENT/b"
echo "sentinel b $$" >"$SENT/b/keep"
echo "sentinel secret $$" >"$SENT/secret"
chmod 0644 "$SENT/secret" "$SENT/b/keep"
sent_state() {
	find "$SENT" -printf '%P|%y|%u|%g|%m|%n|%T@|%C@|%s\n' | sort
	sha256sum "$SENT/secret" "$SENT/b/keep"
}
SENT0=$(sent_state)
# Mounts naming the sentinel (as mount point or as the root of a bind).
sent_mounts_host() { findmnt -rn -o TARGET,FSROOT,SOURCE | grep -F "$SENT"; }
sent_unchanged() {
	local now
	now=$(sent_state)
	[ "$now" == "$SENT0" ] && return 0
	diff <(echo "$SENT0") <(echo "$now")
	return 1
}

# Mounts of USER's live set, seen from inside it.
set_mounts() { "$NSI" enter "$1" -- findmnt -rn -o TARGET,FSROOT,FSTYPE,OPTIONS; }

# refused DESC ERE: an ssh login as U1 is refused within 5 s (bounded by
# 20 s), with a syslog line "refused U1 (uid N): helper: ERE"; the sentinel
# is unchanged and nothing is mounted on it, in the host or (should the login
# wrongly succeed) inside the set, seen through nsisolate enter.
refused() {
	local desc=$1 re=$2 t0 t1 rc=0 ms in=
	log_mark
	_HSN=$((_HSN + 1))
	HS_OUT=$T/hs.$_HSN
	mkfifo "$HS_OUT.in"
	t0=$(date +%s%N)
	NSI_SSH_TIMEOUT=20 ssh_as $U1 'echo LOGGED-IN; cat >/dev/null' <"$HS_OUT.in" >"$HS_OUT" 2>&1 &
	HS_PID=$!
	sleep 1000000 >"$HS_OUT.in" &
	HS_W=$!
	defer release_ssh "$HS_PID" "$HS_W"
	wait_until 25 ended_or_in "$HS_PID" "$HS_OUT"
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	if grep -q LOGGED-IN "$HS_OUT"; then
		fail "$desc: login refused" "the login succeeded"
		in=$(set_mounts $U1 2>&1)
	else
		wait "$HS_PID"
		rc=$?
		if [ $rc -ne 0 ] && [ $rc -ne 124 ]; then
			pass "$desc: login refused"
		else
			fail "$desc: login refused" "ssh rc $rc" "$(cat "$HS_OUT")"
		fi
	fi
	release_ssh
	# The helper's own timeout is 15 s: a blocked open would be "refused" too, late.
	if [ "$ms" -lt 5000 ]; then
		pass "$desc: within 5 s ($ms ms)"
	else
		fail "$desc: within 5 s" "took $ms ms"
	fi
	check "$desc: syslog names the path and the reason" \
		wait_log "pam_nsisolate\($SSVC:session\): refused $U1 \(uid $UID1\): helper: $re" 5
	check "$desc: the sentinel is unchanged" sent_unchanged
	check_eq "$desc: nothing in the host is mounted on the sentinel" "" "$(sent_mounts_host)"
	check_nomatch "$desc: nothing in a set is mounted on the sentinel" "${SENT//./\\.}" "$in"
	settle "$UID1"
}
ended_or_in() { gone "$1" || grep -q LOGGED-IN "$2"; }

# ================================================================ 1 private
diag "1: home.mode private"
echo "own file" >"$H1/own.txt"
chown $U1: "$H1/own.txt"
setconf 'home = { mode = "private"; };'
log_mark
out=$(ssh_as $U1 'echo "L=$(ls -A /home | tr "\n" " ")"; echo "O=$(cat ~/own.txt)";
	echo written >~/new.txt && echo W=ok; echo "F=$(findmnt -n -o FSTYPE /home)";
	if [ -e /home/'$U2' ]; then echo X=visible; else echo X=hidden; fi' </dev/null 2>&1)
check_eq "private: ls /home inside shows only the user's own home" "$U1 " "$(val L "$out")"
check_match "control: ls /home on the host shows $U2's home too" "^$U2\$" "$(ls -A /home)"
check_eq "private: $U2's home does not exist inside" hidden "$(val X "$out")"
check_eq "private: /home inside is a tmpfs" tmpfs "$(val F "$out")"
check_eq "private: the user's own file is there" "own file" "$(val O "$out")"
check_eq "private: the home is writable" ok "$(val W "$out")"
check_eq "private: the write reached the real home, owned by the user" "$U1 written" \
	"$(stat -c %U "$H1/new.txt" 2>&1) $(cat "$H1/new.txt" 2>&1)"
check_nomatch "private: no refusal logged" "refused $U1" "$(syslog_since_mark)"
settle "$UID1"

# ================================================================ 2 ephemeral
diag "2: home.mode ephemeral"
SKEL=$(mktemp -d /usr/local/share/nsit-skel-XXXXXX) || bail "mktemp skel"
defer rm -rf --one-file-system "$SKEL"
chmod 0755 "$SKEL"
echo "hello from skel" >"$SKEL/hello.txt"
mkdir -m 0755 "$SKEL/sub"
echo "read only" >"$SKEL/ro.txt"
chmod 0444 "$SKEL/ro.txt"
echo deep >"$SKEL/sub/deep.txt"
ln -s hello.txt "$SKEL/link"
printf '#!/bin/sh\n' >"$SKEL/suid"
chmod 4755 "$SKEL/suid"
mkfifo -m 0644 "$SKEL/fifo"
mknod -m 0666 "$SKEL/null" c 1 3
chmod 0644 "$SKEL/hello.txt" "$SKEL/sub/deep.txt"
realhome() { find "$H1" -printf '%P|%y|%u|%m|%s|%T@\n' | sort; }
home0=$(realhome)
setconf "home = { mode = \"ephemeral\"; skel = \"$SKEL\"; size = \"2M\"; };"
log_mark
out=$(ssh_as $U1 'cd; echo "P=$(pwd)"; echo "L=$(ls -A | sort | tr "\n" " ")";
	echo "H=$(cat hello.txt)"; echo "D=$(cat sub/deep.txt)"; echo "K=$(readlink link)";
	echo "S=$(stat -c "%U:%G %a" . hello.txt ro.txt sub sub/deep.txt suid | tr "\n" " ")";
	echo "LO=$(stat -c %U link)"; echo "M=$(findmnt -n -o FSTYPE,SIZE ~)";
	echo eph1 >~/eph.txt && echo W=ok;
	dd if=/dev/zero of=~/big bs=1M count=4 2>&1 | grep -o "No space left on device" | head -n 1 | sed "s/^/E=/";
	echo "B=$(stat -c %s ~/big)"' </dev/null 2>&1)
check_eq "ephemeral: the session starts in the home" "$H1" "$(val P "$out")"
check_eq "ephemeral: exactly the skel's files, links and dirs; no FIFO, no device" \
	"hello.txt link ro.txt sub suid " "$(val L "$out")"
check_eq "ephemeral: skel file content" "hello from skel" "$(val H "$out")"
check_eq "ephemeral: skel subdir file content" deep "$(val D "$out")"
check_eq "ephemeral: skel symlink copied as a symlink" hello.txt "$(val K "$out")"
g1=$(id -gn $U1)
check_eq "ephemeral: home, files and dirs owned by the user; setuid bit dropped" \
	"$U1:$g1 700 $U1:$g1 644 $U1:$g1 444 $U1:$g1 755 $U1:$g1 644 $U1:$g1 755 " "$(val S "$out")"
check_eq "ephemeral: the symlink is the user's" "$U1" "$(val LO "$out")"
check_match "ephemeral: the home is a tmpfs of home.size (2M)" '^tmpfs +2M$' "$(val M "$out")"
check_eq "ephemeral: the home is writable" ok "$(val W "$out")"
check_eq "ephemeral: writing past home.size fails with ENOSPC" "No space left on device" "$(val E "$out")"
b=$(val B "$out")
if [ -n "$b" ] && [ "$b" -lt $((2 << 20)) ]; then
	pass "ephemeral: the big file stopped below 2M ($b bytes)"
else
	fail "ephemeral: the big file stopped below 2M" "$out"
fi
settle "$UID1"
check_eq "ephemeral: nothing written reached the real home" "$home0" "$(realhome)"
check "ephemeral: no eph.txt or big in the real home" test ! -e "$H1/eph.txt" -a ! -e "$H1/big"
out=$(ssh_as $U1 'if [ -e ~/eph.txt ]; then echo E=present; else echo E=gone; fi;
	echo "H=$(cat ~/hello.txt)"; echo "L=$(ls -A ~ | sort | tr "\n" " ")"' </dev/null 2>&1)
check_eq "ephemeral: the file of the previous set is gone in the next" gone "$(val E "$out")"
check_eq "ephemeral: the next set is seeded again" "hello from skel" "$(val H "$out")"
check_eq "ephemeral: the next set holds only the skel" "hello.txt link ro.txt sub suid " "$(val L "$out")"
check_nomatch "ephemeral: no refusal logged" "refused $U1" "$(syslog_since_mark)"
settle "$UID1"
check_eq "ephemeral: the real home is still unchanged" "$home0" "$(realhome)"
# The skel is read as the user: an entry only root can read refuses the login.
install -d -m 0700 "$SKEL/rootonly"
refused "ephemeral: a skel entry only root can read" \
	"home.mode \"ephemeral\" for $H1: copying $SKEL into the ephemeral home: Permission denied\$"
rmdir "$SKEL/rootonly"

# ================================================================ 3 readonly .ssh
diag "3: readonly = [\"\$HOME/.ssh\"]"
install -d -o $U1 -g "$g1" -m 0700 "$H1/.ssh"
echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOriginalKeyForTheTest nsit" >"$H1/.ssh/authorized_keys"
chown $U1: "$H1/.ssh/authorized_keys"
chmod 0600 "$H1/.ssh/authorized_keys"
ak0=$(sha256sum <"$H1/.ssh/authorized_keys")
setconf 'readonly = ["$HOME/.ssh"];'
out=$(ssh_as $U1 'echo planted >>~/.ssh/authorized_keys && echo A=ok; touch ~/.ssh/newkey && echo N=ok;
	echo "O=$(findmnt -n -o OPTIONS ~/.ssh)"; echo "R=$(wc -l <~/.ssh/authorized_keys)"' </dev/null 2>&1)
check_match "readonly: appending to authorized_keys fails inside with EROFS" \
	'authorized_keys: Read-only file system' "$out"
check_eq "readonly: the append did not happen" "" "$(val A "$out")"
check_match "readonly: creating a file in ~/.ssh fails inside with EROFS" 'newkey.*Read-only file system' "$out"
check_match "readonly: ~/.ssh is a ro mount inside" '^ro,' "$(val O "$out")"
check_eq "readonly: the key file is still readable inside" 1 "$(val R "$out")"
check_eq "readonly: authorized_keys unchanged on the host" "$ak0" "$(sha256sum <"$H1/.ssh/authorized_keys")"
settle "$UID1"
check "control: the user appends to authorized_keys outside (runuser -u)" \
	as_user $U1 "echo outside >>$H1/.ssh/authorized_keys"
check_eq "control: the outside append landed" outside "$(tail -n 1 "$H1/.ssh/authorized_keys")"

# ================================================================ 4 hide
diag "4: hide"
install -d -o $U1 -g "$g1" -m 0755 "$H1/hdir"
echo "dir content" >"$H1/hdir/f"
echo "file content" >"$H1/hfile"
chown $U1: "$H1/hdir/f" "$H1/hfile"
ABS=/var/lib/nsit-abs-$U1
rm -rf --one-file-system "$ABS"
install -d -m 0755 "$ABS"
defer rm -rf --one-file-system "$ABS"
echo "abs content" >"$ABS/f"
chmod 0644 "$ABS/f"
setconf 'hide = ["$HOME/hdir", "$HOME/hfile", "$HOME/missing", "/var/lib/nsit-abs-$USER"];'
log_mark
out=$(ssh_as $U1 'echo "A=$(ls -A ~/hdir 2>&1)"; echo "B=$(cat ~/hdir/f 2>&1)";
	echo "C=$(cat ~/hfile 2>&1)"; echo "D=$(cat /var/lib/nsit-abs-'$U1'/f 2>&1)";
	echo "E=$(stat -c "%a %s" ~/hfile)"; echo "F=$(echo x 2>&1 >~/hdir/new)";
	echo "G=$(echo x 2>&1 >~/missing/new)"' </dev/null 2>&1)
check_match "hide: the directory cannot be listed inside" '^ls: cannot open directory .*: Permission denied$' "$(val A "$out")"
check_match "hide: a file in the hidden directory cannot be read inside" 'Permission denied' "$(val B "$out")"
check_match "hide: the hidden file cannot be read inside" 'hfile: Permission denied' "$(val C "$out")"
check_eq "hide: the hidden file is empty and mode 000 inside" "0 0" "$(val E "$out")"
check_match "hide: nothing can be created in the hidden directory" '(Permission denied|Read-only file system)' "$(val F "$out")"
check_match "hide: an absolute path with \$USER is hidden too" 'Permission denied' "$(val D "$out")"
check_match "hide: a missing path below the home is made and hidden: nothing can be created in it" \
	'(Permission denied|Read-only file system)' "$(val G "$out")"
check_nomatch "hide: the missing path does not refuse the login" "refused $U1" "$(syslog_since_mark)"
check "hide: ... it is the user's empty directory outside" \
	test "$(stat -c %U:%a "$H1/missing")" == "$U1:700"
settle "$UID1"
check_eq "control: the directory is readable outside" "dir content" "$(as_user $U1 "cat $H1/hdir/f" 2>&1)"
check_eq "control: the file is readable outside" "file content" "$(as_user $U1 "cat $H1/hfile" 2>&1)"
check_eq "control: the absolute path is readable outside" "abs content" "$(as_user $U1 "cat $ABS/f" 2>&1)"
check "control: nothing was created in the hidden directory" test ! -e "$H1/hdir/new"

# ================================================================ 5 tmp.dirs $HOME
diag "5: tmp.dirs with \$HOME/tmp"
install -d -o $U1 -g "$g1" -m 0700 "$H1/tmp"
echo "host tmp" >"$H1/tmp/hostmark"
chown $U1: "$H1/tmp/hostmark"
htmp0=$(find "$H1/tmp" -printf '%P|%y|%u|%m|%s|%T@\n' | sort)
setconf 'tmp = { dirs = ["/tmp", "$HOME/tmp", "$HOME/notmp"]; };'
log_mark
out=$(ssh_as $U1 'echo "F=$(findmnt -rn -o FSTYPE,TARGET ~/tmp)"; echo "L=$(ls -A ~/tmp)";
	echo inside >~/tmp/inside.txt && echo W=ok; echo "M=$(stat -c %a ~/tmp)"' </dev/null 2>&1)
check_eq "tmp.dirs: a tmpfs on ~/tmp inside" "tmpfs $H1/tmp" "$(val F "$out")"
check_eq "tmp.dirs: it starts empty (the host's file is not visible)" "" "$(val L "$out")"
check_eq "tmp.dirs: it is writable, mode 1777" "ok 1777" "$(val W "$out") $(val M "$out")"
check_nomatch "tmp.dirs: a missing \$HOME tmp dir is skipped, not refused" "refused $U1" "$(syslog_since_mark)"
settle "$UID1"
check_eq "tmp.dirs: the host's ~/tmp is untouched" "$htmp0" "$(find "$H1/tmp" -printf '%P|%y|%u|%m|%s|%T@\n' | sort)"

# ================================================================ 6 path attacks
diag "6: path attacks (sentinel $SENT)"
# reset_ab: ~/a/b as two plain directories of the user.
reset_ab() {
	rm -rf --one-file-system "$H1/a"
	install -d -o $U1 -g "$g1" -m 0755 "$H1/a" "$H1/a/b"
}
# plant COMP KIND: replace ~/a (COMP a) or ~/a/b (COMP b) by KIND, the user's:
# symlink (to the sentinel), fifo, dev (a char device), rootdir (a root dir).
plant() {
	local p=$H1/a
	[ "$1" == b ] && p=$H1/a/b
	rm -rf --one-file-system "$p"
	case $2 in
	symlink) ln -s "$SENT" "$p" ;;
	fifo) mkfifo -m 0644 "$p" ;;
	dev) mknod -m 0666 "$p" c 1 3 ;;
	rootdir) install -d -m 0755 "$p" ;;
	esac
	[ "$2" != rootdir ] && chown -h $U1: "$p"
	[ "$2" == rootdir ] && [ "$1" == a ] && install -d -o $U1 -g "$g1" "$p/b"
	return 0
}
# conf_for KEY PATH: a policy applying KEY (readonly, hide, tmp) to PATH.
conf_for() {
	case $1 in
	tmp) setconf "tmp = { dirs = [\"$2\"]; };" ;;
	*) setconf "$1 = [\"$2\"];" ;;
	esac
}
keyname() { if [ "$1" == tmp ]; then echo tmp.dirs; else echo "$1"; fi; }
# A symlink at each user-controlled component, for each kind of path.
for key in readonly hide tmp; do
	for comp in a b; do
		reset_ab
		plant $comp symlink
		conf_for $key '$HOME/a/b'
		refused "$(keyname $key) \$HOME/a/b, '$comp' a symlink to the sentinel" \
			"$(keyname $key): $H1/a/b: '$comp' is a symlink\$"
	done
done
reset_ab
plant a symlink
conf_for readonly '/home/$USER/a/b'
refused "readonly /home/\$USER/a/b (spelled without \$HOME), 'a' a symlink" \
	"readonly: $H1/a/b: 'a' is a symlink\$"
# Outside the home: the user's symlink in a directory others can write.
VT=/var/tmp/nsit-home-$U1
rm -rf --one-file-system "$VT"
ln -s "$SENT" "$VT"
chown -h $U1: "$VT"
defer rm -f "$VT"
conf_for hide '/var/tmp/nsit-home-$USER'
refused "hide /var/tmp/nsit-home-\$USER, the user's symlink to the sentinel" "hide: $VT: .*symlink"
rm -f "$VT"
install -d -o $U1 -g "$g1" "$VT"
ln -s "$SENT" "$VT/b"
chown -h $U1: "$VT/b"
conf_for readonly '/var/tmp/nsit-home-$USER/b'
refused "readonly /var/tmp/nsit-home-\$USER/b, a directory of the user outside the home" \
	"readonly: $VT/b: directory 'nsit-home-$U1' is not owned by root"
rm -rf --one-file-system "$VT"

# Positive controls: the same paths as plain directories work, the mount is
# where it belongs inside the set, and nothing is mounted on the sentinel.
for key in readonly hide tmp; do
	reset_ab
	conf_for $key '$HOME/a/b'
	log_mark
	desc="control: $(keyname $key) \$HOME/a/b with plain directories"
	if hold_ssh $U1 'touch ~/a/b/probe 2>&1 | sed "s/^/T=/"; ls ~/a/b >/dev/null 2>&1 && echo LS=ok'; then
		pass "$desc: login works"
	else
		fail "$desc: login works" "$(cat "$HS_OUT")" "$(syslog_since_mark)"
	fi
	hout=$(cat "$HS_OUT")
	in=$(set_mounts $U1 2>&1)
	check_match "$desc: the mount is on ~/a/b inside the set (nsisolate enter)" "^$H1/a/b " "$in"
	check_nomatch "$desc: nothing is mounted on the sentinel inside the set" "${SENT//./\\.}" "$in"
	case $key in
	readonly) check_match "$desc: ~/a/b is read-only inside" 'Read-only file system' "$(val T "$hout")" ;;
	hide) check_match "$desc: ~/a/b is inaccessible inside" 'Permission denied' "$(val T "$hout")" ;;
	tmp) check_eq "$desc: ~/a/b is a writable tmpfs inside" "tmpfs ok" \
		"$(grep "^$H1/a/b " <<<"$in" | awk '{ print $3 }') $(val LS "$hout")" ;;
	esac
	release_ssh
	settle "$UID1"
done
check "the sentinel is unchanged after the controls" sent_unchanged

# FIFOs and a device node: fail fast (the CVE-2024-22365 hang), never block.
for key in readonly hide tmp; do
	reset_ab
	plant b fifo
	conf_for $key '$HOME/a/b'
	if [ $key == tmp ]; then re="'b' is not a directory"; else re="not a regular file or directory"; fi
	refused "$(keyname $key) \$HOME/a/b, 'b' a FIFO" "$(keyname $key): $H1/a/b: $re\$"
done
reset_ab
plant a fifo
conf_for readonly '$HOME/a/b'
refused "readonly \$HOME/a/b, 'a' a FIFO" "readonly: $H1/a/b: 'a' is not a directory\$"
reset_ab
plant b dev
conf_for readonly '$HOME/a/b'
refused "readonly \$HOME/a/b, 'b' a device node" "readonly: $H1/a/b: not a regular file or directory\$"
reset_ab
plant b fifo
conf_for hide '$HOME/a/b'
t0=$(date +%s)
timeout 20 pamtester $PSVC $U1 open_session close_session >"$T/pt.out" 2>&1
rc=$?
check_eq "pamtester with a FIFO at ~/a/b: fails (status 1), does not hang (not 124)" 1 "$rc"
check "pamtester with a FIFO: done within 5 s" test $(($(date +%s) - t0)) -le 5
settle "$UID1"

# Components not owned by the user.
reset_ab
plant b rootdir
conf_for readonly '$HOME/a/b'
refused "readonly \$HOME/a/b, 'b' owned by root" "readonly: $H1/a/b: 'b' is owned by uid 0, not by $U1\$"
reset_ab
plant a rootdir
refused "readonly \$HOME/a/b, 'a' owned by root" "readonly: $H1/a/b: 'a' is owned by uid 0, not by $U1\$"
reset_ab
echo root >"$H1/a/rootfile"
conf_for hide '$HOME/a/rootfile'
refused "hide \$HOME/a/rootfile, a root-owned file" "hide: $H1/a/rootfile: 'rootfile' is owned by uid 0, not by $U1\$"
chown $U1: "$H1/a/rootfile"
out=$(ssh_as $U1 'cat ~/a/rootfile 2>&1' </dev/null)
check_match "control: the same file owned by the user is hidden, the login works" 'Permission denied' "$out"
settle "$UID1"

# A directory of the user that the user cannot traverse.
rm -rf --one-file-system "$H1/locked"
install -d -o $U1 -g "$g1" -m 0700 "$H1/locked" "$H1/locked/in"
chmod 0000 "$H1/locked"
setconf 'readonly = ["$HOME/locked/in"];'
refused "readonly \$HOME/locked/in below a mode-000 directory of the user" \
	"readonly: $H1/locked/in: 'in': Permission denied\$"
chmod 0700 "$H1/locked"
out=$(ssh_as $U1 'touch ~/locked/in/x 2>&1' </dev/null)
check_match "control: with mode 0700 the login works and ~/locked/in is read-only" 'Read-only file system' "$out"
settle "$UID1"

# The home itself.
restore_home() {
	if [ -L "$H1" ]; then
		rm -f "$H1"
		mv "$H1-real" "$H1"
	fi
	[ -d "$H1" ] && chown $U1: "$H1"
	return 0
}
defer restore_home
setconf 'home = { mode = "private"; }; readonly = ["$HOME/.ssh"];'
mv "$H1" "$H1-real"
ln -s "$U1-real" "$H1"
refused "the home a symlink (to the user's real home)" "home.mode: home $H1: a symlink or not a directory\$"
setconf 'readonly = ["$HOME/.ssh"];'
refused "the home a symlink, shared home with a \$HOME path" "readonly: home $H1: a symlink or not a directory\$"
restore_home
chown root: "$H1"
refused "the home owned by root" "readonly: home $H1: owned by uid 0, not by $U1\$"
chown $U1: "$H1"
setconf 'home = { mode = "private"; }; readonly = ["$HOME/.ssh"];'
out=$(ssh_as $U1 'echo OK' </dev/null 2>&1)
check_eq "control: the restored home works (private, readonly)" OK "$out"
settle "$UID1"

# A home whose parent directory is not root's.
HP=$(mktemp -d /var/lib/nsit-hp-XXXXXX) || bail "mktemp"
defer rm -rf --one-file-system "$HP"
defer usermod -d "$H2" $U2
chmod 0755 "$HP"
install -d -o $U2 -g "$(id -g $U2)" -m 0755 "$HP/$U2"
usermod -d "$HP/$U2" $U2
chown $U2: "$HP"
log_mark
out=$(ssh_as $U2 'echo LOGGED-IN' </dev/null 2>&1)
check_nomatch "a home whose parent is owned by the user: login refused" LOGGED-IN "$out"
check "... with a syslog line naming the parent" \
	wait_log "refused $U2 \(uid $UID2\): helper: home.mode: $HP: not owned by root or writable by others\$" 5
settle "$UID2"
chown root: "$HP"
out=$(ssh_as $U2 'echo "L=$(ls -A '"$HP"')"' </dev/null 2>&1)
check_eq "control: with a root-owned parent the login works (private: only the own home)" "$U2" "$(val L "$out")"
settle "$UID2"
usermod -d "$H2" $U2

# ================================================================ 7 rename race
diag "7: the rename race (renameat2 RENAME_EXCHANGE from the host)"
cat >"$T/racer.c" <<-'EOF'
	/* racer DIR A1 B1 [A2 B2...]: swap each pair with RENAME_EXCHANGE until SIGTERM. */
	#define _GNU_SOURCE
	#include <fcntl.h>
	#include <signal.h>
	#include <stdio.h>
	#include <string.h>
	#include <unistd.h>
	static volatile sig_atomic_t stop;
	static void on_term(int s) { (void)s; stop = 1; }
	int main(int argc, char **argv)
	{
		struct sigaction sa;
		unsigned long ok = 0, err = 0;
		int dfd = open(argv[1], O_PATH | O_DIRECTORY | O_CLOEXEC);

		if (dfd < 0 || argc < 4)
			return 2;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_term;
		sigaction(SIGTERM, &sa, NULL);
		printf("pid %d\n", (int)getpid());
		fflush(stdout);
		while (!stop)
			for (int i = 2; i + 1 < argc; i += 2) {
				if (renameat2(dfd, argv[i], dfd, argv[i + 1], RENAME_EXCHANGE) == 0)
					ok++;
				else
					err++;
			}
		printf("swaps %lu errors %lu\n", ok, err);
		return 0;
	}
EOF
cc -O2 -Wall -o "$T/racer" "$T/racer.c" >"$T/cc.log" 2>&1 || bail "cannot compile the racer" "$(cat "$T/cc.log")"
chmod 0755 "$T/racer"
# ~/x, ~/w, ~/v: the user's dirs (w holding the file "secret"); ~/y, ~/z, ~/u:
# the user's symlinks to the sentinel (which holds "secret" too).
for d in x w v; do install -d -o $U1 -g "$g1" -m 0755 "$H1/$d"; done
echo "user secret" >"$H1/w/secret"
chown $U1: "$H1/w/secret"
for l in y z u; do
	ln -s "$SENT" "$H1/$l"
	chown -h $U1: "$H1/$l"
done
stop_racer() {
	local p
	p=$(sed -n 's/^pid //p' "$T/racer.out" 2>/dev/null)
	[ -n "$p" ] && kill -TERM "$p" 2>/dev/null
	[ -n "${RACER_RU:-}" ] && { wait_until 5 gone "$RACER_RU" || kill -KILL "$p" 2>/dev/null; wait "$RACER_RU" 2>/dev/null; }
	return 0
}
defer stop_racer
runuser -u $U1 -- "$T/racer" "$H1" x y w z v u >"$T/racer.out" 2>&1 &
RACER_RU=$!
wait_until 5 grep -q '^pid ' "$T/racer.out" || bail "the racer did not start" "$(cat "$T/racer.out")"
RACER=$(sed -n 's/^pid //p' "$T/racer.out")
check_eq "the racer runs as $U1 in the host's mount namespace" "$UID1 $(readlink /proc/self/ns/mnt)" \
	"$(stat -c %u "/proc/$RACER") $(readlink "/proc/$RACER/ns/mnt")"

ITER=${NSIT_RACE_ITER:-1200}
BATCHES=6
PER=$(((ITER + BATCHES - 1) / BATCHES))
n_ok=0 n_ref=0 n_other=0 n_nomount=0 n_moved=0 n_sent=0 n_sym=0 n_noreason=0 n_held=0
others=
race_t0=$(date +%s)
for ((bt = 0; bt < BATCHES; bt++)); do
	case $((bt % 3)) in
	0) setconf 'readonly = ["$HOME/x"];'; want=x ;;
	1) setconf 'hide = ["$HOME/w/secret"];'; want=w/secret ;;
	2) setconf 'tmp = { dirs = ["$HOME/v"]; };'; want=v ;;
	esac
	log_mark
	bref=0
	for ((i = 0; i < PER; i++)); do
		out=$(timeout 20 "$HOLD" $PSVC $U1 -f /bin/cat /proc/self/mountinfo </dev/null 2>&1)
		rc=$?
		if [[ $out == "open 0"* ]] && grep -q '^child 0$' <<<"$out" && grep -q '^close 0$' <<<"$out"; then
			n_ok=$((n_ok + 1))
			if grep -qF "$SENT" <<<"$out"; then
				n_sent=$((n_sent + 1))
				[ $n_sent -le 3 ] && others+="mounted on the sentinel: $(grep -F "$SENT" <<<"$out")"$'\n'
			fi
			# The mount made on ~/x (or ~/w) may have been carried to ~/y
			# (or ~/z) by a swap after it was made: still the user's dir.
			mp=$(awk '{ print $5 }' <<<"$out" | grep -E "^$H1/[xyzwvu](/secret)?\$" | head -n 1)
			if [ -z "$mp" ]; then
				n_nomount=$((n_nomount + 1))
			elif [ "$mp" != "$H1/$want" ]; then
				n_moved=$((n_moved + 1))
			fi
		elif [[ $out == "open 14"* ]] && [ $rc -eq 1 ]; then
			n_ref=$((n_ref + 1))
			bref=$((bref + 1))
		else
			n_other=$((n_other + 1))
			others+="rc $rc: $(head -n 3 <<<"$out" | tr '\n' ' ')"$'\n'
		fi
	done
	# Every refusal of this batch was for a symlink (and nothing else).
	sl=$(syslog_since_mark | grep "refused $U1 (uid $UID1)")
	nsym=$(grep -c "'[a-z]*' is a symlink\$" <<<"$sl")
	n_sym=$((n_sym + nsym))
	if [ "$nsym" -ne "$bref" ]; then
		n_noreason=$((n_noreason + 1))
		others+="batch $bt: $bref refusals, $nsym symlink lines: $(grep -v "is a symlink\$" <<<"$sl" | head -n 3)"$'\n'
	fi
	[ "$(sent_mounts_host)" == "" ] || others+="host mount on the sentinel after batch $bt: $(sent_mounts_host)"$'\n'
	sent_unchanged >/dev/null || others+="sentinel changed after batch $bt: $(sent_unchanged)"$'\n'
	# A held set, looked at from inside with nsisolate enter.
	for ((j = 0; j < 30; j++)); do
		if pam_hold $PSVC $U1; then
			in=$(set_mounts $U1 2>&1)
			if [ -z "$in" ] || grep -qF "$SENT" <<<"$in"; then
				others+="held set after batch $bt: $(grep -F "$SENT" <<<"$in" || head -c 300 <<<"$in")"$'\n'
			else
				n_held=$((n_held + 1))
			fi
			pam_release
			break
		fi
		pam_release
	done
	wait_until 10 no_state "$UID1" || others+="set not torn down after batch $bt"$'\n'
done
race_t=$(($(date +%s) - race_t0))
stop_racer
wait_until 5 grep -q '^swaps ' "$T/racer.out"
swaps=$(sed -n 's/^swaps //p' "$T/racer.out")
diag "race: $((n_ok + n_ref + n_other)) logins in ${race_t}s: $n_ok succeeded ($n_moved with the mount carried away by a later swap), $n_ref refused ($n_sym logged 'is a symlink'), $n_other other; racer: swaps $swaps"
check_eq "race: every login either succeeded or was refused" "0" "$n_other"
check_eq "race: logins counted" "$((PER * BATCHES))" "$((n_ok + n_ref + n_other))"
if [ "$n_ok" -gt 0 ] && [ "$n_ref" -gt 0 ]; then
	pass "race: both outcomes happened ($n_ok succeeded, $n_ref refused)"
else
	fail "race: both outcomes happened ($n_ok succeeded, $n_ref refused)" "the racer may not have run: $swaps"
fi
check_eq "race: every refusal was logged as a symlink" 0 "$n_noreason"
check_eq "race: every successful session had its mount on the user's own directory" 0 "$n_nomount"
check_eq "race: no successful session had anything mounted on the sentinel" 0 "$n_sent"
check_eq "race: a held set after each batch, seen through nsisolate enter, has nothing on the sentinel" \
	"$BATCHES" "$n_held"
check_eq "race: nothing in the host is mounted on the sentinel" "" "$(sent_mounts_host)"
check "race: the sentinel's owner, mode, times and content never changed" sent_unchanged
[ -n "$others" ] && diag "$others"
settle "$UID1"

# ================================================================ leftovers
diag "8: nothing left behind"
check_eq "no /run/nsisolate entry for the test uids" "" \
	"$(find "$NSI_STATE_DIR" -mindepth 1 2>/dev/null | grep -E "/($UID1|$UID2)([./_-]|\$)")"
check_eq "no host mount under the homes or on the sentinel" "" \
	"$(findmnt -rn -o TARGET,FSROOT | grep -E "^($H1|$H2|$HP|$SENT|$SKEL)|$SENT")"
no_procs() { [ -z "$(_nsi_pids_of_uid "$UID1")$(_nsi_pids_of_uid "$UID2")" ]; }
check "no process of the test users is left (the racer included)" wait_until 10 no_procs
finish
