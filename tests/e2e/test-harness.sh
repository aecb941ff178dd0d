#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/e2e/test-harness.sh: the harness the end-to-end tests stand on
# (docs/design.md, "Tests"): no leftovers, whatever the outcome.
# Self-test of tests/e2e/lib.sh with a PAM stack WITHOUT pam_nsisolate: a copy
# of sshd named nsit-sshd (service /etc/pam.d/nsit-sshd: pam_permit auth,
# common-account, common-session), key and pty logins, sftp/scp, su -l,
# runuser -l and login -f on a pty, the syslog catcher, pam-hold. Each
# scenario runs in a subshell scope; afterwards this script checks from the
# outside that the scope left no user, group, file, PAM service, sshd,
# process or socket behind, both after a normal end and after a TERM.
# shellcheck disable=SC2154 # sT and s_*: set by sourcing the scope files
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
need sshd ssh sftp scp ssh-keygen script su runuser login logger findmnt ip python3

OUT=$T
runuser_sum=$(sha256sum /etc/pam.d/runuser-l)
devlog_state() { stat -c '%F %i' /dev/log 2>/dev/null || echo absent; }
had_devlog=$(devlog_state)
had_runsshd=$([ -d /run/sshd ] && echo yes || echo no)

# ------------------------------------------------------------ scenario 1
tap_save "$OUT/tap"
(
	lib_init "$OUT/tap"
	{
		echo "sT=$T"
		echo "s_users='nsitharn1 nsitharn2'"
		echo "s_groups=nsitharng"
		echo "s_services='nsit-sshd nsit-hold'"
	} >"$OUT/scope1"

	start_syslog
	echo "s_syslog_pid=${_NSI_SYSLOG_PID:-}" >>"$OUT/scope1"
	mkgroup nsitharng
	mkuser nsitharn1 -G nsitharng
	mkuser nsitharn2
	echo "s_uids='$(uid_of nsitharn1) $(uid_of nsitharn2)'" >>"$OUT/scope1"
	authorize nsitharn1
	mkservice nsit-sshd "session include common-session"
	start_sshd nsit-sshd
	echo "s_sshd_pid=$SSHD_PID s_sshd_exe=$SSHD_EXE s_port=$SSH_PORT" >>"$OUT/scope1"

	check_match "work dir is a root-owned 0755 dir under /tmp" '^755 root /tmp/nsit\.' \
		"$(stat -c '%a %U %n' "$T")"
	check_match "sshd runs the copy $T/nsit-sshd" "^$T/nsit-sshd\$" "$(readlink /proc/"$SSHD_PID"/exe)"
	check_match "sshd listens on 127.0.0.1:$SSH_PORT only" "127\.0\.0\.1:$SSH_PORT" \
		"$(ss -Hltnp "sport = :$SSH_PORT")"

	# Key login without a pty.
	out=$(ssh_as nsitharn1 id -un </dev/null)
	check_eq "key login: id -un is the user" nsitharn1 "$out"
	out=$(ssh_as nsitharn1 'tty; echo "$HOME"; id -Gn' </dev/null)
	check_match "key login has no tty" '^not a tty$' "$out"
	check_match "key login: HOME is /home/nsitharn1" '^/home/nsitharn1$' "$out"
	check_match "key login: supplementary group from mkuser -G" '(^| )nsitharng( |$)' "$out"
	ssh_as nsitharn1 'exit 7' </dev/null
	check_eq "ssh_as returns the remote status" 7 "$?"
	out=$(echo piped-input | ssh_as nsitharn1 cat)
	check_eq "ssh_as passes stdin through" piped-input "$out"
	# stderr lines written between stdout lines keep their place (a loop, so
	# that two separate channels would have had many chances to reorder).
	out=$(ssh_as nsitharn1 'for i in 1 2 3 4 5 6 7 8; do echo "out$i"; echo "err$i" >&2; done' </dev/null 2>/dev/null)
	check_eq "ssh_as sends the remote stderr in order on stdout" \
		"$(for i in 1 2 3 4 5 6 7 8; do printf 'out%s\nerr%s\n' $i $i; done)" "$out"
	check_fails "a user without an authorized key is refused" ssh_as nsitharn2 true </dev/null
	check "the PAM service is the binary's name (nsit-sshd)" \
		wait_log 'pam_unix\(nsit-sshd:session\): session opened for user nsitharn1' 5
	check "sshd.log records the accepted key" grep -q 'Accepted publickey for nsitharn1' "$SSHD_LOG"

	# pty login.
	out=$(ssh_tty nsitharn1 'tty; id -un' </dev/null)
	check_match "pty login: a /dev/pts tty" '^/dev/pts/[0-9]+$' "$out"
	check_match "pty login: id -un is the user" '^nsitharn1$' "$out"
	check_nomatch "ssh_tty strips carriage returns" $'\r' "$out"

	# sftp (external sftp-server), scp over sftp and the legacy protocol.
	head -c 4096 /dev/urandom | base64 >"$T/upload"
	check "sftp_put uploads a file" sftp_put nsitharn1 "$T/upload" up.sftp
	check "the sftp upload landed in the home, owned by the user" \
		cmp "$T/upload" /home/nsitharn1/up.sftp
	check_eq "sftp upload owner" nsitharn1 "$(stat -c %U /home/nsitharn1/up.sftp)"
	check "sshd started the sftp subsystem" \
		grep -Eq "Starting session: subsystem 'sftp' for nsitharn1" "$SSHD_LOG"
	check "sftp-server was exec'd in the session (it logged)" \
		wait_log 'sftp-server\[[0-9]+\]: session opened for local user nsitharn1 ' 5
	check "sftp_get downloads it back" sftp_get nsitharn1 up.sftp "$T/download"
	check "download equals upload" cmp "$T/upload" "$T/download"
	check "scp_put (sftp protocol)" scp_put nsitharn1 "$T/upload" up.scp
	check "scp upload landed" cmp "$T/upload" /home/nsitharn1/up.scp
	check "scp_put -O (legacy scp protocol)" scp_put -O nsitharn1 "$T/upload" up.scpO
	check "legacy scp upload landed" cmp "$T/upload" /home/nsitharn1/up.scpO

	# su -l, runuser -l, login -f on a pty (from root: no password asked).
	out=$(run_in_pty "su -l nsitharn2 -c 'echo R=\$(id -un); tty'" </dev/null)
	check_match "su -l on a pty: user" '^R=nsitharn2$' "$out"
	check_match "su -l on a pty: has a tty" '^/dev/pts/[0-9]+$' "$out"
	run_in_pty "su -l nsitharn2 -c 'exit 5'" </dev/null
	check_eq "run_in_pty returns the command's status" 5 "$?"
	# override_service: runuser-l gets an extra pam_echo line for the test.
	override_service runuser-l "auth include runuser
session optional pam_keyinit.so force revoke
session include runuser
session optional pam_warn.so"
	out=$(run_in_pty "runuser -l nsitharn2 -c 'echo R=\$(id -un); tty'" </dev/null)
	check_match "runuser -l on a pty: user" '^R=nsitharn2$' "$out"
	check_match "runuser -l on a pty: has a tty" '^/dev/pts/[0-9]+$' "$out"
	check "override_service took effect (pam_warn in runuser-l logged)" \
		wait_log 'pam_warn\(runuser-l:session\).*user=\[nsitharn2\]' 5
	out=$(pty_login nsitharn2 'echo R=$(id -un); echo H=$HOME; tty' </dev/null)
	check_match "login -f on a pty: user" '^R=nsitharn2$' "$out"
	check_match "login -f on a pty: login shell in the home" '^H=/home/nsitharn2$' "$out"
	check_match "login -f on a pty: has a tty" '^/dev/pts/[0-9]+$' "$out"

	# syslog catcher.
	tag=nsit-harness-$$-$RANDOM
	log_mark
	logger -t "$tag" -p auth.warning "hello from the harness"
	check "syslog catcher receives a logger line" wait_log "^<36>.*$tag: hello from the harness\$" 5
	check_fails "wait_log times out on a missing line" wait_log "no-such-line-$tag" 1
	diag "syslog mode: $SYSLOG_MODE"
	if [ "$SYSLOG_MODE" == catcher ] || [ "$SYSLOG_MODE" == relay ]; then
		check_match "/dev/log is the catcher's socket, 0666" '^socket 666$' \
			"$(stat -c '%F %a' /dev/log)"
	fi

	# Config and module line helpers (no module is loaded anywhere here).
	mkconf bench 'version = 1;'
	check_eq "mkconf sets CONF" "$T/conf/bench.conf" "$CONF"
	check_eq "mkconf file is root 0644" "644 root root" "$(stat -c '%a %U %G' "$CONF")"
	check_eq "mkconf dir is root 0755" "755 root root" "$(stat -c '%a %U %G' "$T/conf")"
	check_eq "modline" "session required pam_nsisolate.so config=$CONF" "$(modline)"
	check_eq "modline with options" "session required pam_nsisolate.so config=/x.conf debug" \
		"$(modline /x.conf debug)"
	mkconf_dropin bench extra 'policies = ();'
	check_eq "mkconf_dropin" "644" "$(stat -c %a "$T/conf/bench.d/extra.conf")"

	# pam-hold keeps a session open until released.
	mkservice nsit-hold "session include common-session"
	if [ -x "$NSI_BUILD/tests/pam-hold" ]; then
		if pam_hold nsit-hold nsitharn2; then pass "pam_hold: open 0"; else fail "pam_hold: open 0" "$(cat "$HOLD_OUT")"; fi
		check "pam-hold is still running while held" kill -0 "$HOLD_PID"
		pam_release
		check_fails "pam-hold ended after pam_release" kill -0 "$HOLD_PID"
		check_match "pam-hold closed the session" '^close 0$' "$(cat "$HOLD_OUT")"
	else
		fail "build/tests/pam-hold is built" "run: make build/tests/pam-hold"
	fi

	# Refusals.
	check_fails "mkuser refuses names without the nsit prefix" \
		bash -c ". '$NSI_SRCDIR/tests/e2e/lib.sh'; mkuser rootx"
	check_fails "mkservice refuses names without the nsit prefix" \
		bash -c ". '$NSI_SRCDIR/tests/e2e/lib.sh'; mkservice sshd x"

	# Every session is closed: the leftover checks pass (no module here).
	assert_no_leftovers
	mkdir "$T/mnt" && mount -t tmpfs nsit-probe "$T/mnt"
	check_match "the leftover scan reports a new host mount" '^[^ ]*/mnt nsit-probe tmpfs$' \
		"$(_nsi_leftover_mounts)"
	umount "$T/mnt"

	# A session left running: the leftover scan sees it, and the user's
	# cleanup kills it.
	ssh_as nsitharn1 'sleep 300' </dev/null >/dev/null 2>&1 &
	check "a long-running session is up" wait_until 10 pgrep -u nsitharn1 -x sleep
	check_match "the leftover scan reports the running session" "^uid $(uid_of nsitharn1) pid [0-9]+: sleep 300" \
		"$(_nsi_leftover_procs)"
	scope_end
)
rc=$?
before=$TAP_FAILED
tap_load "$OUT/tap"
[ $rc -ne 0 ] && [ "$TAP_FAILED" -eq "$before" ] && fail "scenario 1 exited with status $rc"

# Checked from outside the scope, after its cleanup.
. "$OUT/scope1"
check_leftovers() {
	local what=$1 u
	for u in $s_users; do
		check_fails "$what: user $u removed" getent passwd "$u"
		check_fails "$what: home of $u removed" test -e "/home/$u"
	done
	for u in $s_groups; do
		check_fails "$what: group $u removed" getent group "$u"
	done
	for u in $s_services; do
		check_fails "$what: /etc/pam.d/$u removed" test -e "/etc/pam.d/$u"
	done
	check_fails "$what: work dir $sT removed" test -e "$sT"
	check_fails "$what: no $sT.cleanup.* file" bash -c "ls -d $sT.* 2>/dev/null | grep -q ."
	check_eq "$what: no process runs the sshd copy" "" "$(_nsi_pids_of_exe "$s_sshd_exe")"
	check_fails "$what: sshd pid $s_sshd_pid is gone" kill -0 "$s_sshd_pid"
	check_fails "$what: port $s_port no longer accepts" _nsi_port_open "$s_port"
	for u in $s_uids; do
		check_eq "$what: no process of uid $u" "" "$(_nsi_pids_of_uid "$u")"
	done
	check_eq "$what: /dev/log is as before (same inode or absent)" "$had_devlog" "$(devlog_state)"
	check_fails "$what: no /dev/.log.nsit-saved" test -e /dev/.log.nsit-saved
	check_eq "$what: /run/sshd is as before" "$had_runsshd" "$([ -d /run/sshd ] && echo yes || echo no)"
	if [ -n "${s_syslog_pid:-}" ]; then
		check_fails "$what: syslog catcher $s_syslog_pid is gone" kill -0 "$s_syslog_pid"
	fi
}
check_leftovers "after a normal end"
check_eq "runuser-l restored byte for byte" "$runuser_sum" "$(sha256sum /etc/pam.d/runuser-l)"

# ------------------------------------------------------------ scenario 2
# A scope killed with TERM (as run-all's timeout does) in the middle of a
# live session must still clean up.
tap_save "$OUT/tap2"
(
	lib_init "$OUT/tap2"
	{
		echo "sT=$T"
		echo "s_users=nsitharn3"
		echo "s_groups="
		echo "s_services=nsit-sshd2"
		echo "s_syslog_pid="
	} >"$OUT/scope2"
	mkuser nsitharn3
	echo "s_uids=$(uid_of nsitharn3)" >>"$OUT/scope2"
	authorize nsitharn3
	mkservice nsit-sshd2 "session include common-session"
	start_sshd nsit-sshd2
	echo "s_sshd_pid=$SSHD_PID s_sshd_exe=$SSHD_EXE s_port=$SSH_PORT" >>"$OUT/scope2"
	ssh_as nsitharn3 'sleep 300' </dev/null >/dev/null 2>&1 &
	wait_until 10 pgrep -u nsitharn3 -x sleep >/dev/null && echo "session-up"
	kill -TERM $BASHPID
	sleep 5
	echo "not reached"
) >"$OUT/scope2.out" 2>&1
rc=$?
check_eq "a TERMed scope exits 143" 143 "$rc"
check "the TERMed scope had a live session" grep -q '^session-up$' "$OUT/scope2.out"
check_fails "the TERMed scope stopped at the signal" grep -q '^not reached$' "$OUT/scope2.out"
check "the TERMed scope reported that it ended before finish" \
	grep -q '^not ok .* - script ended before finish (status 143)$' "$OUT/scope2.out"
. "$OUT/scope2"
check_leftovers "after TERM"
[ "$TAP_FAILED" -gt 0 ] && diag "$(cat "$OUT/scope2.out")"

finish
