# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# tests/e2e/lib.sh: shared helpers for the end-to-end tests. Source it first:
#
#	. "$(dirname "$0")/lib.sh"
#
# It needs root on a throwaway machine. On load it makes a work dir $T (root,
# 0755, /tmp/nsit.XXXXXXXX), notes the host's mounts for assert_no_leftovers,
# and sets `trap cleanup EXIT` (INT/TERM/HUP exit through it), so whatever a
# test makes is removed newest first even when the test fails or is killed
# with a catchable signal. Every helper that creates something registers its
# own removal with `defer`. A SIGKILLed test leaves its things behind; a
# later mkuser of the same name removes a stale user first.
#
# API (details above each function):
#  TAP      pass DESC | fail DESC [DIAG...] | check DESC CMD... |
#           check_fails DESC CMD... | check_eq DESC EXPECTED ACTUAL |
#           check_match DESC ERE TEXT | check_nomatch DESC ERE TEXT |
#           skip DESC REASON | skip_all REASON | bail MSG [DIAG...] | diag TEXT |
#           need CMD... | finish | lib_end [RC] (non-TAP scripts)
#           globals TAP_N TAP_FAILED
#  scopes   lib_init [TAPFILE] | scope_end | tap_save FILE | tap_load FILE
#  cleanup  defer CMD [ARG...] | cleanup (the EXIT trap)
#  users    mkuser NAME [useradd ARG...] | mkgroup NAME [groupadd ARG...] |
#           uid_of NAME | kill_uid UID
#  PAM      mkservice NAME [TEXT|stdin] | override_service NAME [TEXT|stdin] |
#           modline [CONF] [OPTION...] | mkconf [NAME] [TEXT|stdin] (sets CONF) |
#           mkconf_dropin CONF-NAME DROP-NAME [TEXT|stdin] |
#           pam_hold SERVICE USER [ARG...] (sets HOLD_PID HOLD_OUT) | pam_release [PID] |
#           mkservice_pam_namespace NAME | set_user NAME (sets SET_UID) | syscalls_in FILE
#  host     start_idle N (sets IDLE) | end_idle
#  sshd     start_sshd SERVICE [CONFIG-LINE...] (sets SSH_PORT SSHD_PID SSHD_EXE
#           SSHD_LOG) | authorize USER | ssh_as USER CMD... | ssh_tty USER CMD... |
#           sftp_batch USER <cmds | sftp_put USER LOCAL REMOTE |
#           sftp_get USER REMOTE LOCAL | scp_put [-O] USER LOCAL REMOTE |
#           scp_get [-O] USER REMOTE LOCAL | free_port
#  ptys     run_in_pty CMDLINE | pty_login USER SHELL-LINES
#  syslog   start_syslog (sets SYSLOG_MODE) | syslog_since_start | log_mark |
#           syslog_since_mark | wait_log ERE [TIMEOUT]
#  checks   assert_no_leftovers [USER...] | wait_until SECS CMD...
#  globals  T CONF NSI_SRCDIR NSI_BUILD NSI_LIBEXEC NSI_STATE_DIR NSI_PREFIX
#
# TAP: pass/fail/check* print "ok N - desc" / "not ok N - desc" (and "# ..."
# diagnostics); `finish` cleans up, prints "ok N - cleanup" and the plan
# "1..N", and exits 1 if anything failed. A script that exits without calling
# finish (or bail) gets one extra "not ok" and a non-zero status. Call the TAP
# functions and the helpers that create things (mkuser, start_sshd, defer,
# ...) in the script's own shell, never inside $(...) or a pipeline: a
# subshell's counters and cleanup list are lost.
#
# Background processes: the syslog catcher, sshd and pam-hold are children of
# the test script, so never use a bare `wait` (it would wait for them); wait
# for a pid, or use wait_until.
#
# Skipping: `skip DESC REASON` is only for a machine that truly cannot run a
# check (no user namespaces in the kernel, say). With NSI_NO_SKIP=1 or CI set
# in the environment a skip counts as a failure: a CI machine must be capable.
#
# Environment knobs: NSI_KEEP=1 keeps $T (users, sshd, services are still
# removed); NSI_VERBOSE=1 prints each check's output; NSI_SSH_TIMEOUT (30 s)
# bounds every ssh/sftp/scp/pty call; NSI_LEFTOVER_TIMEOUT (10 s);
# NSI_STATE_DIR (/run/nsisolate); NSI_LIBEXEC (/usr/local/libexec/nsisolate);
# NSI_BUILD (<repo>/build).
#
# Limits, on purpose: test names must start with "nsit"; $T is under /tmp, so
# a session whose /tmp is polyinstantiated does not see it (the opener, sshd's
# key check and the ssh client run in the host and do).

# shellcheck disable=SC2034 # globals are part of the API
true
umask 022
export LC_ALL=C
NSI_PREFIX=nsit
NSI_STATE_DIR=${NSI_STATE_DIR:-/run/nsisolate}
NSI_SSH_TIMEOUT=${NSI_SSH_TIMEOUT:-30}
NSI_LIBEXEC=${NSI_LIBEXEC:-/usr/local/libexec/nsisolate}
NSI_PY=/usr/bin/python3
[ -x "$NSI_PY" ] || NSI_PY=python3
# Repository root (tests/e2e/..) and the build dir, for build/tests/pam-hold.
NSI_SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NSI_BUILD=${NSI_BUILD:-$NSI_SRCDIR/build}

# ---------------------------------------------------------------- TAP

TAP_N=${TAP_N:-0}
TAP_FAILED=${TAP_FAILED:-0}

diag() {
	local l
	while IFS= read -r l; do printf '# %s\n' "$l"; done <<<"$*"
}

pass() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1"
}

# fail DESC [DIAG-LINE...]
fail() {
	local l
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $1"
	shift
	for l in "$@"; do diag "$l"; done
	return 1
}

# check DESC CMD...: ok when CMD exits 0. CMD runs in a subshell with its
# output captured (shown on failure), so it must not be a state-changing
# helper (mkuser, defer, ...).
check() {
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	[ -n "${NSI_VERBOSE:-}" ] && [ -n "$out" ] && diag "$out"
	if [ $rc -eq 0 ]; then
		pass "$desc"
	else
		fail "$desc" "command: $* (exit $rc)" "$out"
	fi
}

# check_fails DESC CMD...: ok when CMD exits non-zero.
check_fails() {
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	[ -n "${NSI_VERBOSE:-}" ] && [ -n "$out" ] && diag "$out"
	if [ $rc -ne 0 ]; then
		pass "$desc"
	else
		fail "$desc" "command unexpectedly succeeded: $*" "$out"
	fi
}

# check_eq DESC EXPECTED ACTUAL
check_eq() {
	if [ "$2" == "$3" ]; then
		pass "$1"
	else
		fail "$1" "expected: $2" "actual:   $3"
	fi
}

# check_match DESC ERE TEXT / check_nomatch DESC ERE TEXT (grep -E, any line)
check_match() {
	if grep -Eq -- "$2" <<<"$3"; then
		pass "$1"
	else
		fail "$1" "no line matches /$2/ in:" "$3"
	fi
}

check_nomatch() {
	if ! grep -Eq -- "$2" <<<"$3"; then
		pass "$1"
	else
		fail "$1" "a line matches /$2/:" "$(grep -E -- "$2" <<<"$3")"
	fi
}

# skip DESC REASON: only when the machine truly cannot (see the header).
skip() {
	if [ -n "${NSI_NO_SKIP:-}${CI:-}" ]; then
		fail "$1" "skipped on a CI machine (NSI_NO_SKIP/CI set): $2"
	else
		TAP_N=$((TAP_N + 1))
		echo "ok $TAP_N - $1 # SKIP $2"
	fi
}

# bail MSG: a failure that makes the rest pointless (setup failed).
bail() {
	local msg=$1 l
	fail "$msg"
	shift
	for l in "$@"; do diag "$l"; done
	echo "Bail out! $msg"
	_NSI_BAILED=1
	exit 1
}

# skip_all REASON: the whole script cannot run on this machine (same rule as
# skip: a failure under NSI_NO_SKIP/CI).
skip_all() {
	[ -n "${NSI_NO_SKIP:-}${CI:-}" ] && bail "cannot run on this machine, and skipping is not allowed on CI: $1"
	echo "1..0 # SKIP $1"
	_NSI_FINISHED=1
	trap - EXIT
	cleanup
	exit 0
}

# need CMD...: bail unless every command exists (make deps installs them).
need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || bail "required command '$c' is missing (run make deps)"
	done
}

# tap_save FILE / tap_load FILE: hand the counters across a subshell
# (test-harness.sh runs a whole scenario in one to check its cleanup).
tap_save() { echo "$TAP_N $TAP_FAILED" >"$1"; }
tap_load() { read -r TAP_N TAP_FAILED <"$1"; }

# finish: clean up now, report it, print the plan, exit 0/1.
finish() {
	local errs
	_NSI_FINISHED=1
	trap - EXIT
	cleanup
	errs=$(cat "$_NSI_CLEANUP_ERRS" 2>/dev/null)
	rm -f "$_NSI_CLEANUP_ERRS"
	if [ -z "$errs" ]; then
		pass "cleanup"
	else
		fail "cleanup" "$errs"
	fi
	echo "1..$TAP_N"
	echo "# $((TAP_N - TAP_FAILED)) passed, $TAP_FAILED failed"
	[ "$TAP_FAILED" -eq 0 ] && exit 0
	exit 1
}

# scope_end: end a subshell scope started with lib_init TAPFILE: clean up,
# report "ok N - cleanup of the scope", save the counters, exit 0/1. No plan.
scope_end() {
	local errs
	_NSI_FINISHED=1
	trap - EXIT
	cleanup
	errs=$(cat "$_NSI_CLEANUP_ERRS" 2>/dev/null)
	rm -f "$_NSI_CLEANUP_ERRS"
	if [ -z "$errs" ]; then pass "cleanup of the scope"; else fail "cleanup of the scope" "$errs"; fi
	tap_save "$_NSI_SCOPE_SAVE"
	[ "$TAP_FAILED" -eq 0 ]
	exit
}

# lib_end [RC]: for scripts that are not TAP suites (bench.sh, demo.sh):
# clean up, print cleanup problems as "# ..." on stderr, exit RC (default 0;
# 1 if the cleanup failed).
lib_end() {
	local rc=${1:-0}
	_NSI_FINISHED=1
	trap - EXIT
	cleanup
	if [ -s "$_NSI_CLEANUP_ERRS" ]; then
		diag "$(cat "$_NSI_CLEANUP_ERRS")" >&2
		[ "$rc" -eq 0 ] && rc=1
	fi
	rm -f "$_NSI_CLEANUP_ERRS"
	exit "$rc"
}

# ---------------------------------------------------------------- cleanup

# defer CMD [ARG...]: run CMD ARG... at cleanup (arguments are quoted safely).
# Cleanup runs every deferred command once, newest first, ignoring failures
# (they are reported by finish as "not ok - cleanup").
defer() {
	_NSI_DEFER+=("$(printf '%q ' "$@")")
}

cleanup() {
	local rc=$? i cmd
	[ -n "${_NSI_CLEANED:-}" ] && return 0
	_NSI_CLEANED=1
	trap - EXIT INT TERM HUP
	if [ -z "${_NSI_FINISHED:-}" ]; then
		[ -z "${_NSI_BAILED:-}" ] && fail "script ended before finish (status $rc)"
		[ "$rc" -eq 0 ] && rc=1
	fi
	if [ "$TAP_FAILED" -gt 0 ]; then
		_nsi_dump_logs
	fi
	for ((i = ${#_NSI_DEFER[@]} - 1; i >= 0; i--)); do
		cmd=${_NSI_DEFER[i]}
		if ! eval "$cmd" </dev/null >>"$_NSI_CLEANUP_LOG" 2>&1; then
			echo "cleanup step failed: $cmd" >>"$_NSI_CLEANUP_ERRS"
		fi
	done
	_NSI_DEFER=()
	if [ -s "$_NSI_CLEANUP_LOG" ] && [ -s "$_NSI_CLEANUP_ERRS" ]; then
		sed 's/^/  /' "$_NSI_CLEANUP_LOG" | tail -n 20 >>"$_NSI_CLEANUP_ERRS"
	fi
	rm -f "$_NSI_CLEANUP_LOG"
	if [ -n "${_NSI_FINISHED:-}" ]; then
		return 0
	fi
	if [ -s "$_NSI_CLEANUP_ERRS" ]; then
		diag "$(cat "$_NSI_CLEANUP_ERRS")"
	fi
	rm -f "$_NSI_CLEANUP_ERRS"
	[ -n "${_NSI_SCOPE_SAVE:-}" ] && tap_save "$_NSI_SCOPE_SAVE"
	exit "$rc"
}

_nsi_dump_logs() {
	local f
	for f in "$T"/sshd.log "$T"/syslog; do
		[ -s "$f" ] || continue
		diag "--- last lines of $f"
		diag "$(tail -n 25 "$f")"
	done
}

_nsi_rm_T() {
	if [ -n "${NSI_KEEP:-}" ]; then
		echo "# NSI_KEEP: left $1" >&2
		return 0
	fi
	rm -rf --one-file-system -- "$1"
}

# lib_init [TAPFILE]: (re)start a scope: new $T, empty cleanup list, fresh
# snapshot, traps. Runs when the file is sourced; call it again at the top
# of a subshell that must clean up on its own, with TAPFILE: the counters
# are saved there however the scope ends (scope_end, bail, a signal), so the
# parent's tap_load TAPFILE continues the numbering and keeps the failures.
# shellcheck disable=SC2120
lib_init() {
	_NSI_SCOPE_SAVE=${1:-}
	if [ "$(id -u)" != 0 ]; then
		echo "Bail out! e2e tests must run as root"
		exit 1
	fi
	_NSI_DEFER=()
	_NSI_CLEANED=
	_NSI_FINISHED=
	_NSI_BAILED=
	_NSI_USERS=()
	_NSI_LOGMARK=0
	SSH_PORT=
	SSHD_PID=
	SYSLOG_MODE=
	T=$(mktemp -d /tmp/nsit.XXXXXXXX) || {
		echo "Bail out! mktemp failed"
		exit 1
	}
	# sshd reads AuthorizedKeysFile ($T/keys/USER) as the user.
	chmod 0755 "$T"
	_NSI_CLEANUP_LOG=$T.cleanup.log
	_NSI_CLEANUP_ERRS=$T.cleanup.errs
	: >"$_NSI_CLEANUP_ERRS"
	defer _nsi_rm_T "$T"
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	findmnt -rn -o TARGET,SOURCE,FSTYPE | sort >"$T/mounts.before"
}

# ---------------------------------------------------------------- users

_nsi_check_name() {
	[[ $1 =~ ^${NSI_PREFIX}[a-z0-9_-]{0,27}$ ]] ||
		bail "refusing test name '$1': it must match ^${NSI_PREFIX}[a-z0-9_-]{0,27}\$"
}

# pids of processes whose real, effective, saved or fs uid is $1.
_nsi_pids_of_uid() {
	ps -e -o pid=,ruid=,euid=,suid=,fsuid= |
		awk -v u="$1" '$2 == u || $3 == u || $4 == u || $5 == u { print $1 }'
}

# kill_uid UID: SIGKILL every process of UID until none is left (10 s).
kill_uid() {
	local uid=$1 i pids
	for ((i = 0; i < 100; i++)); do
		pids=$(_nsi_pids_of_uid "$uid")
		[ -z "$pids" ] && return 0
		# shellcheck disable=SC2086
		kill -KILL $pids 2>/dev/null
		sleep 0.1
	done
	return 1
}

_nsi_deluser() {
	local name=$1 uid=$2 r=0
	kill_uid "$uid" || r=1
	if getent passwd "$name" >/dev/null; then
		userdel -r -f "$name" 2>/dev/null
		getent passwd "$name" >/dev/null && r=1
	fi
	# userdel -r only removes the home it knows about.
	[ -e "/home/$name" ] && rm -rf --one-file-system -- "/home/${name:?}"
	rm -f "/var/spool/cron/crontabs/$name" "/var/mail/$name"
	getent group "$name" >/dev/null && groupdel "$name" 2>/dev/null
	return $r
}

# mkuser NAME [useradd ARG...]: a user with a home (/home/NAME), shell bash,
# no usable password ('*', not locked: key logins work), removed at cleanup
# (its processes killed first). A stale user of that name is removed first.
mkuser() {
	local name=$1 uid
	shift
	_nsi_check_name "$name"
	if uid=$(id -u "$name" 2>/dev/null); then
		_nsi_deluser "$name" "$uid"
	elif getent group "$name" >/dev/null; then
		groupdel "$name"
	fi
	useradd -m -d "/home/$name" -s /bin/bash "$@" "$name" >"$T/useradd.log" 2>&1 ||
		bail "useradd $name failed" "$(cat "$T/useradd.log")"
	uid=$(id -u "$name")
	defer _nsi_deluser "$name" "$uid"
	_NSI_USERS+=("$name:$uid")
	usermod -p '*' "$name" || bail "usermod -p '*' $name failed"
}

# mkgroup NAME [groupadd ARG...]
mkgroup() {
	local name=$1
	shift
	_nsi_check_name "$name"
	getent group "$name" >/dev/null && groupdel "$name"
	groupadd "$@" "$name" >"$T/groupadd.log" 2>&1 ||
		bail "groupadd $name failed" "$(cat "$T/groupadd.log")"
	defer groupdel "$name"
}

uid_of() { id -u "$1"; }

# ---------------------------------------------------------------- PAM, config

# mkservice NAME [TEXT]: write /etc/pam.d/NAME (NAME must start with nsit),
# removed at cleanup. TEXT (or stdin when omitted) holds the lines. Unless it
# has its own auth/account/password lines, these are put first:
#	auth     required pam_permit.so
#	account  include  common-account
#	password required pam_deny.so
mkservice() {
	local name=$1 text f
	_nsi_check_name "$name"
	if [ $# -ge 2 ]; then text=$2; else text=$(cat); fi
	f=/etc/pam.d/$name
	defer rm -f "$f"
	{
		echo "# $name: test service written by tests/e2e/lib.sh, removed when the test ends"
		if ! grep -Eq '^[[:space:]]*-?(auth|account|password)[[:space:]]' <<<"$text"; then
			echo "auth     required pam_permit.so"
			echo "account  include  common-account"
			echo "password required pam_deny.so"
		fi
		printf '%s\n' "$text"
	} >"$f" || bail "cannot write $f"
	chmod 0644 "$f"
}

# override_service NAME [TEXT]: replace an existing system service
# (/etc/pam.d/login, su, runuser-l, ...) for the length of the test; the
# original is restored byte for byte at cleanup (copy kept as $T/pam.d.NAME).
# TEXT as for mkservice, written verbatim.
override_service() {
	local name=$1 text f=/etc/pam.d/$1
	if [ $# -ge 2 ]; then text=$2; else text=$(cat); fi
	[[ $name =~ ^[a-z0-9_.-]+$ ]] || bail "override_service: bad name '$name'"
	if [ -e "$f" ]; then
		cp -a "$f" "$T/pam.d.$name" || bail "cannot back up $f"
		defer cp -a "$T/pam.d.$name" "$f"
	else
		defer rm -f "$f"
	fi
	printf '%s\n' "$text" >"$f" || bail "cannot write $f"
}

# modline [CONF] [OPTION...]: the standard module line, default CONF=$CONF.
modline() {
	local conf=${1:-$CONF}
	[ $# -gt 0 ] && shift
	echo "session required pam_nsisolate.so config=$conf${*:+ $*}"
}

# mkconf [NAME] [TEXT]: write a policy file $T/conf/NAME.conf (default NAME
# "test"), root 0644 in the root 0755 dir $T/conf, from TEXT or stdin; sets
# CONF to its path. mkconf_dropin CONFNAME DROPNAME [TEXT] writes
# $T/conf/CONFNAME.d/DROPNAME.conf the same way.
mkconf() {
	local name=${1:-test} text
	if [ $# -ge 2 ]; then text=$2; else text=$(cat); fi
	install -d -o root -g root -m 0755 "$T/conf" || bail "cannot make $T/conf"
	CONF=$T/conf/$name.conf
	printf '%s\n' "$text" >"$CONF" || bail "cannot write $CONF"
	chown root:root "$CONF"
	chmod 0644 "$CONF"
}

mkconf_dropin() {
	local conf=$1 drop=$2 text d
	if [ $# -ge 3 ]; then text=$3; else text=$(cat); fi
	d=$T/conf/$conf.d
	install -d -o root -g root -m 0755 "$T/conf" "$d" || bail "cannot make $d"
	printf '%s\n' "$text" >"$d/$drop.conf" || bail "cannot write $d/$drop.conf"
	chmod 0644 "$d/$drop.conf"
}

# ---------------------------------------------------------------- sshd, clients

# free_port: print a TCP port on 127.0.0.1 that was free a moment ago.
free_port() {
	"$NSI_PY" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

_nsi_port_open() {
	timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# pids whose executable is exactly $1.
_nsi_pids_of_exe() {
	local p e
	for p in /proc/[0-9]*; do
		e=$(readlink "$p/exe" 2>/dev/null) || continue
		[ "$e" == "$1" ] || [ "$e" == "$1 (deleted)" ] && echo "${p#/proc/}"
	done
}

# Stop a test sshd: the listener and every per-connection process (all run
# the copied binary, so they are found by their executable), TERM then KILL.
_nsi_stop_sshd() {
	local exe=$1 i pids
	for ((i = 0; i < 50; i++)); do
		pids=$(_nsi_pids_of_exe "$exe")
		[ -z "$pids" ] && return 0
		# shellcheck disable=SC2086
		if [ $i -lt 30 ]; then kill -TERM $pids 2>/dev/null; else kill -KILL $pids 2>/dev/null; fi
		sleep 0.1
	done
	return 1
}

_nsi_client_key() {
	if [ ! -e "$T/client_key" ]; then
		ssh-keygen -q -t ed25519 -N '' -C nsit-client -f "$T/client_key" >/dev/null ||
			bail "ssh-keygen (client key) failed"
	fi
}

# authorize USER: let the client key log in as USER (any existing user; the
# key goes to the root-owned $T/keys/USER that the test sshd reads).
authorize() {
	_nsi_client_key
	install -d -m 0755 "$T/keys"
	cat "$T/client_key.pub" >>"$T/keys/$1"
	chmod 0644 "$T/keys/$1"
}

# start_sshd SERVICE [CONFIG-LINE...]: run a copy of /usr/sbin/sshd named
# $T/SERVICE (so its PAM service is SERVICE: write /etc/pam.d/SERVICE with
# mkservice) on 127.0.0.1:$SSH_PORT, key auth only, PAM on, external
# sftp-server, LogLevel VERBOSE, logging to $T/sshd.log. Extra lines are
# appended to the config (sshd takes the first value of a keyword, so they
# can only add keywords not set here). Sets SSH_PORT, SSHD_PID, SSHD_EXE,
# SSHD_LOG. Stopped (with its session processes) at cleanup.
start_sshd() {
	local svc=$1 exe cfg l i
	shift
	_nsi_check_name "$svc"
	need ssh-keygen
	exe=$T/$svc
	cfg=$T/$svc.sshd_config
	cp /usr/sbin/sshd "$exe" || bail "cannot copy sshd"
	chmod 0755 "$exe"
	if [ ! -d /run/sshd ]; then
		install -d -m 0755 /run/sshd
		defer rmdir /run/sshd
	fi
	[ -e "$T/ssh_host_ed25519_key" ] ||
		ssh-keygen -q -t ed25519 -N '' -f "$T/ssh_host_ed25519_key" >/dev/null ||
		bail "ssh-keygen (host key) failed"
	_nsi_client_key
	install -d -m 0755 "$T/keys"
	SSHD_LOG=$T/sshd.log
	SSHD_EXE=$exe
	for ((i = 0; i < 5; i++)); do
		SSH_PORT=$(free_port) || bail "no free port"
		{
			cat <<-EOF
				ListenAddress 127.0.0.1:$SSH_PORT
				AddressFamily inet
				HostKey $T/ssh_host_ed25519_key
				PidFile $T/$svc.pid
				UsePAM yes
				PubkeyAuthentication yes
				PasswordAuthentication no
				KbdInteractiveAuthentication no
				AuthenticationMethods publickey
				AuthorizedKeysFile $T/keys/%u
				AuthorizedPrincipalsFile none
				StrictModes no
				PermitRootLogin prohibit-password
				UseDNS no
				PrintMotd no
				X11Forwarding no
				MaxStartups 100:30:200
				MaxSessions 50
				LoginGraceTime 60
				Subsystem sftp /usr/lib/openssh/sftp-server -l INFO
				LogLevel VERBOSE
			EOF
			for l in "$@"; do echo "$l"; done
		} >"$cfg"
		defer _nsi_stop_sshd "$exe"
		"$exe" -D -e -f "$cfg" >>"$SSHD_LOG" 2>&1 </dev/null &
		SSHD_PID=$!
		for ((l = 0; l < 100; l++)); do
			_nsi_port_open "$SSH_PORT" && return 0
			kill -0 "$SSHD_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$SSHD_PID" 2>/dev/null && bail "sshd did not listen on port $SSH_PORT" "$(tail -n 20 "$SSHD_LOG")"
		# Lost the port to someone else: try another.
		grep -q 'Address already in use' "$SSHD_LOG" || break
	done
	bail "sshd $svc did not start" "$(tail -n 20 "$SSHD_LOG")"
}

_nsi_ssh_opts() {
	_NSI_SSH_OPTS=(-F /dev/null -i "$T/client_key" -o IdentitiesOnly=yes -o BatchMode=yes
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
		-o ConnectTimeout=10 -o ServerAliveInterval=5 -o ControlMaster=no -o ControlPath=none)
}

# ssh_as USER CMD...: run CMD (one remote shell command line, arguments
# joined by spaces as ssh does) as USER without a pty. stdin is passed
# through (use </dev/null in loops that read stdin). Returns ssh's status
# (the remote command's, or 255). Bounded by NSI_SSH_TIMEOUT.
# The remote command's stderr is sent on its stdout: ssh carries the two on
# separate channels, so a client sees them interleaved at random (an error
# message of one command could split the KEY=value line a test parses).
ssh_as() {
	local user=$1
	shift
	[ -n "$SSH_PORT" ] || bail "ssh_as: start_sshd first"
	_nsi_ssh_opts
	timeout -k 5 "$NSI_SSH_TIMEOUT" ssh "${_NSI_SSH_OPTS[@]}" -T -p "$SSH_PORT" "$user@127.0.0.1" -- "exec 2>&1;" "$@"
}

# ssh_tty USER CMD...: the same with a pty (ssh -tt); carriage returns are
# removed from the output.
ssh_tty() {
	local user=$1 rc
	shift
	[ -n "$SSH_PORT" ] || bail "ssh_tty: start_sshd first"
	_nsi_ssh_opts
	timeout -k 5 "$NSI_SSH_TIMEOUT" ssh "${_NSI_SSH_OPTS[@]}" -tt -p "$SSH_PORT" "$user@127.0.0.1" -- "$@" | tr -d '\r'
	rc=${PIPESTATUS[0]}
	return "$rc"
}

# sftp_batch USER: run sftp batch commands read from stdin (sftp -b -); the
# server side is /usr/lib/openssh/sftp-server exec'd in the session (it logs
# "sftp-server[PID]: session opened for local user USER ..." to syslog).
sftp_batch() {
	[ -n "$SSH_PORT" ] || bail "sftp_batch: start_sshd first"
	_nsi_ssh_opts
	timeout -k 5 "$NSI_SSH_TIMEOUT" sftp "${_NSI_SSH_OPTS[@]}" -P "$SSH_PORT" -b - "$1@127.0.0.1"
}

# sftp_put USER LOCAL REMOTE / sftp_get USER REMOTE LOCAL
sftp_put() { printf 'put "%s" "%s"\n' "$2" "$3" | sftp_batch "$1"; }
sftp_get() { printf 'get "%s" "%s"\n' "$2" "$3" | sftp_batch "$1"; }

# scp_put [-O] USER LOCAL REMOTE / scp_get [-O] USER REMOTE LOCAL: scp 9.2
# speaks SFTP by default; -O uses the legacy protocol (runs `scp -t` through
# the user's shell in the session).
scp_put() {
	local o=()
	[ "$1" == -O ] && { o=(-O); shift; }
	[ -n "$SSH_PORT" ] || bail "scp_put: start_sshd first"
	_nsi_ssh_opts
	timeout -k 5 "$NSI_SSH_TIMEOUT" scp "${o[@]}" "${_NSI_SSH_OPTS[@]}" -q -P "$SSH_PORT" "$2" "$1@127.0.0.1:$3"
}

scp_get() {
	local o=()
	[ "$1" == -O ] && { o=(-O); shift; }
	[ -n "$SSH_PORT" ] || bail "scp_get: start_sshd first"
	_nsi_ssh_opts
	timeout -k 5 "$NSI_SSH_TIMEOUT" scp "${o[@]}" "${_NSI_SSH_OPTS[@]}" -q -P "$SSH_PORT" "$1@127.0.0.1:$2" "$3"
}

# ---------------------------------------------------------------- ptys

# run_in_pty CMDLINE: run CMDLINE (one string, through bash -c) on a fresh pty
# with util-linux `script -qec CMDLINE /dev/null` (-q quiet, -e return the
# command's status, -c command, /dev/null: no typescript file). script copies
# its stdin into the pty and waits for the command. TERM=dumb (no bracketed
# paste from readline); "\r"s and ANSI escape sequences are removed from the
# output.
# For su -l / runuser -l / login, which want a terminal:
#	run_in_pty "su -l nsit1 -c 'id -un'"
#	printf 'echo R=$(id -un)\nexit\n' | run_in_pty "login -f nsit1"
# (the pty echoes input lines, so match a computed marker like ^R=nsit1$).
run_in_pty() {
	local rc
	SHELL=/bin/bash TERM=dumb timeout -k 5 "$NSI_SSH_TIMEOUT" script -qec "$1" /dev/null |
		sed -E $'s/\r//g; s/\x1b\\[[0-9;?]*[a-zA-Z]//g; s/\x1b\\][^\x07]*\x07//g'
	rc=${PIPESTATUS[0]}
	return "$rc"
}

# pty_login USER SHELL-LINES: `login -f USER` on a pty, feeding SHELL-LINES
# then "exit" to the login shell (after a short pause, since login flushes
# pending terminal input); prints what the session printed.
pty_login() {
	local user=$1 lines=$2
	{ sleep 1; printf '%s\nexit\n' "$lines"; } | run_in_pty "login -f $user"
}

# ---------------------------------------------------------------- syslog

# start_syslog: capture syslog(3) messages into $T/syslog, one datagram a
# line as sent ("<PRI>Mmm dd hh:mm:ss ident[pid]: msg"). Sets SYSLOG_MODE:
#   catcher  no listener on /dev/log (the usual case here: no syslog daemon):
#            a small python catcher binds /dev/log (0666); removed at cleanup.
#   relay    /dev/log has a listener but no /var/log/{auth.log,syslog} to
#            read (someone's ad-hoc catcher): its socket is renamed to
#            /dev/.log.nsit-saved, the catcher binds /dev/log and forwards
#            every datagram to it, and it is renamed back at cleanup (a
#            later start_syslog also puts back one left by a killed test).
#   files    a real daemon writing /var/log/auth.log or /var/log/syslog:
#            the lines added since start_syslog are read.
#   journal  systemd-journald: journalctl --since the start.
start_syslog() {
	local i saved=/dev/.log.nsit-saved relay=
	if [ -e "$saved" ] && ! _nsi_dgram_alive /dev/log; then
		rm -f /dev/log && mv "$saved" /dev/log
	fi
	if [ -S /dev/log ] || [ -L /dev/log ]; then
		if _nsi_dgram_alive /dev/log; then
			if [ -d /run/systemd/system ] && command -v journalctl >/dev/null; then
				SYSLOG_MODE=journal
				_NSI_SYSLOG_SINCE=$(date +%s)
				sleep 1
				return 0
			fi
			if [ -e /var/log/auth.log ] || [ -e /var/log/syslog ]; then
				SYSLOG_MODE=files
				_NSI_SYSLOG_AUTH=$(stat -c %s /var/log/auth.log 2>/dev/null || echo 0)
				_NSI_SYSLOG_SYS=$(stat -c %s /var/log/syslog 2>/dev/null || echo 0)
				return 0
			fi
			[ -e "$saved" ] && bail "start_syslog: $saved exists and /dev/log is live (another test's relay?)"
			mv /dev/log "$saved" || bail "start_syslog: cannot move /dev/log aside"
			defer _nsi_restore_devlog "$saved"
			relay=$saved
		else
			# A stale socket (a catcher that was killed): replace it.
			rm -f /dev/log
		fi
	elif [ -e /dev/log ]; then
		bail "/dev/log exists and is not a socket"
	fi
	SYSLOG_MODE=${relay:+relay}
	SYSLOG_MODE=${SYSLOG_MODE:-catcher}
	: >"$T/syslog"
	"$NSI_PY" -u - "$T/syslog" "$relay" <<-'EOF' >>"$T/syslog.err" 2>&1 &
		import os, socket, sys
		s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
		s.bind("/dev/log")
		os.chmod("/dev/log", 0o666)
		out = open(sys.argv[1], "ab", buffering=0)
		relay = sys.argv[2]
		fwd = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) if relay else None
		open(sys.argv[1] + ".ready", "w").close()
		while True:
		    d = s.recv(65536)
		    if fwd:
		        try:
		            fwd.sendto(d, relay)
		        except OSError:
		            pass
		    out.write(d.rstrip(b"\0\n").replace(b"\n", b"\\n") + b"\n")
	EOF
	_NSI_SYSLOG_PID=$!
	[ -z "$relay" ] && defer rm -f /dev/log
	defer _nsi_kill "$_NSI_SYSLOG_PID"
	for ((i = 0; i < 100; i++)); do
		[ -e "$T/syslog.ready" ] && return 0
		kill -0 "$_NSI_SYSLOG_PID" 2>/dev/null || break
		sleep 0.05
	done
	bail "syslog catcher did not start" "$(cat "$T/syslog.err" 2>/dev/null)"
}

# _nsi_dgram_alive PATH: a datagram socket with a listener.
_nsi_dgram_alive() {
	"$NSI_PY" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
try:
    s.connect(sys.argv[1])
except OSError:
    sys.exit(1)' "$1" 2>/dev/null
}

_nsi_restore_devlog() {
	[ -e "$1" ] || return 0
	rm -f /dev/log
	mv "$1" /dev/log
}

# syslog_since_start: every captured line since start_syslog.
syslog_since_start() {
	case $SYSLOG_MODE in
	catcher | relay) cat "$T/syslog" ;;
	files)
		tail -c +$((_NSI_SYSLOG_AUTH + 1)) /var/log/auth.log 2>/dev/null
		tail -c +$((_NSI_SYSLOG_SYS + 1)) /var/log/syslog 2>/dev/null
		;;
	journal) journalctl -q --no-pager -o short --since "@$_NSI_SYSLOG_SINCE" ;;
	*) bail "syslog_since_start: call start_syslog first" ;;
	esac
}

# log_mark: later wait_log/syslog_since_mark calls only look at lines logged
# after this point.
log_mark() { _NSI_LOGMARK=$(syslog_since_start | wc -l); }
syslog_since_mark() { syslog_since_start | tail -n +$((_NSI_LOGMARK + 1)); }

# wait_log ERE [TIMEOUT=10]: wait for a line (since log_mark) matching ERE;
# prints it; status 1 on timeout.
wait_log() {
	local re=$1 t=${2:-10} i
	for ((i = 0; i <= t * 10; i++)); do
		syslog_since_mark | grep -E -m1 -- "$re" && return 0
		sleep 0.1
	done
	return 1
}

# ---------------------------------------------------------------- leftovers

# uids of every test user: this scope's mkuser users and every nsit* account.
_nsi_test_uids() {
	local u
	for u in "${_NSI_USERS[@]}"; do echo "${u#*:}"; done
	getent passwd | awk -F: -v p="^$NSI_PREFIX" '$1 ~ p { print $3 }'
}

_nsi_leftover_procs() {
	local uid p
	for uid in $(_nsi_test_uids | sort -u); do
		for p in $(_nsi_pids_of_uid "$uid"); do
			echo "uid $uid pid $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
		done
	done
	for p in /proc/[0-9]*; do
		case $(readlink "$p/exe" 2>/dev/null) in
		"$NSI_LIBEXEC"/*) echo "pid ${p#/proc/} runs $(readlink "$p/exe"): $(tr '\0' ' ' <"$p/cmdline")" ;;
		esac
	done
}

# need_test_bins NAME...: build/tests/NAME (the PAM test programs) built when
# the build directory is this tree's, and the helper installed; else bail.
need_test_bins() {
	local b
	if [ "$NSI_BUILD" == "$NSI_SRCDIR/build" ]; then
		make -s -C "$NSI_SRCDIR" "${@/#/build/tests/}" >"$T/make.log" 2>&1 ||
			bail "cannot build $*" "$(tail -n 20 "$T/make.log")"
	fi
	for b in "$@"; do
		[ -x "$NSI_BUILD/tests/$b" ] || bail "$NSI_BUILD/tests/$b is missing: make build/tests/$b"
	done
	[ -x "$NSI_LIBEXEC/nsisolate-helper" ] || bail "the helper is not installed: make install"
}

# no_state UID: neither the uid's state nor its lock exists.
no_state() { [ ! -e "$NSI_STATE_DIR/$1.state" ] && [ ! -e "$NSI_STATE_DIR/$1.lock" ]; }

# drop_set UID: end whatever set a killed run (or a failed check) left for a
# uid, its network leftovers included (no-ops when there are none).
drop_set() {
	local uid=$1 k c
	k=$(keeper_of "$uid")
	[ -n "$k" ] && [ "$(cat "/proc/$k/comm" 2>/dev/null)" == nsisolate-keep ] && kill -KILL "$k"
	if [ -e "$NSI_STATE_DIR/$uid.lease" ]; then
		ip link del "nsi$uid" 2>/dev/null
		for c in in fwd nat; do nft delete chain inet nsisolate "nsi${uid}_$c" 2>/dev/null; done
	fi
	rm -f "$NSI_STATE_DIR/$uid".{state,lock,lease,lease.tmp,resolv}
	if ! ls "$NSI_STATE_DIR"/*.lease >/dev/null 2>&1 && [ -e "$NSI_STATE_DIR/net.lock" ]; then
		nft delete table inet nsisolate 2>/dev/null
		rm -f "$NSI_STATE_DIR/net.lock"
	fi
	return 0
}

# gone PID: exited (a zombie counts: PID 1 may reap late).
gone() {
	kill -0 "$1" 2>/dev/null || return 0
	[ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" == Z ]
}

# keeper_of UID: the keeper pid recorded in the uid's state file.
keeper_of() { awk '$1 == "keeper" { print $2 }' "$NSI_STATE_DIR/$1.state" 2>/dev/null; }

# hold_ssh USER CMDLINE: an ssh login (no pty) that runs CMDLINE, prints
# "ready" and stays until release_ssh (EOF on its stdin) or until its set
# ends. Sets HS_PID (the ssh client), HS_W (the fifo writer), HS_OUT.
_HSN=0
hold_ssh() {
	_HSN=$((_HSN + 1))
	HS_OUT=$T/hs.$_HSN
	mkfifo "$HS_OUT.in"
	NSI_SSH_TIMEOUT=150 ssh_as "$1" "$2; echo ready; cat >/dev/null" <"$HS_OUT.in" >"$HS_OUT" 2>&1 &
	HS_PID=$!
	sleep 1000000 >"$HS_OUT.in" &
	HS_W=$!
	defer release_ssh "$HS_PID" "$HS_W"
	wait_until 15 grep -q '^ready$' "$HS_OUT"
}
# release_ssh [PID WRITER]: end a hold_ssh login, the last one by default (idempotent).
release_ssh() {
	local pid=${1:-$HS_PID} w=${2:-$HS_W}
	kill "$w" 2>/dev/null
	wait "$w" 2>/dev/null
	wait_until 10 gone "$pid" || kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# Namespaces other than PID 1's that hold a test user's process or a process
# run from $NSI_LIBEXEC (helper/keeper), and namespace fds still open in a
# test sshd (exe under $T) or pam-hold: "TYPE:[INODE] pid P uid U EXE".
_nsi_leftover_ns() {
	local uids init p e u ns k v
	uids=" $(_nsi_test_uids | sort -u | tr '\n' ' ') "
	init=" $(readlink /proc/1/ns/* 2>/dev/null | tr '\n' ' ') "
	for p in /proc/[0-9]*; do
		e=$(readlink "$p/exe" 2>/dev/null)
		u=
		{ while read -r k v _; do
			[ "$k" == Uid: ] && { u=$v; break; }
		done <"$p/status"; } 2>/dev/null
		[ -n "$u" ] || continue
		if [[ $uids == *" $u "* ]] || [[ $e == "$NSI_LIBEXEC"/* ]]; then
			for ns in $(readlink "$p"/ns/* 2>/dev/null); do
				[[ $init == *" $ns "* ]] || echo "$ns: pid ${p#/proc/} uid $u $e"
			done
		fi
		if [[ $e == "$T"/* ]] || [[ $e == */pam-hold ]]; then
			for ns in $(readlink "$p"/fd/* 2>/dev/null | grep -E '^[a-z_]+:\[[0-9]+\]$'); do
				case $ns in socket:* | pipe:* | anon_inode:*) continue ;; esac
				[[ $init == *" $ns "* ]] || echo "$ns: fd held by pid ${p#/proc/} $e"
			done
		fi
	done
}

_nsi_leftover_mounts() {
	comm -13 "$T/mounts.before" <(findmnt -rn -o TARGET,SOURCE,FSTYPE | sort)
}

_nsi_leftover_links() {
	ip -o link show 2>/dev/null | grep -E '^[0-9]+: nsi' || true
}

_nsi_leftover_state() {
	local uid
	[ -d "$NSI_STATE_DIR" ] || return 0
	for uid in "$@"; do
		find "$NSI_STATE_DIR" -mindepth 1 2>/dev/null | grep -E "/$uid([./_-]|$)"
	done
}

# assert_no_leftovers [USER...]: five checks (TAP lines), retried for up to
# NSI_LEFTOVER_TIMEOUT (10 s) while sessions wind down:
#   - findmnt: no mount that was not there at lib_init;
#   - namespaces: none new since lib_init holding a test user's process or
#     the helper/keeper (lsns-style scan of /proc/*/ns);
#   - ip -o link: no link named nsi*;
#   - $NSI_STATE_DIR: no entry named after the users' uids;
#   - no process of any nsit* user, none run from $NSI_LIBEXEC.
# USERs default to every mkuser user of this scope.
assert_no_leftovers() {
	local users=("$@") uids=() u i out tmo=${NSI_LEFTOVER_TIMEOUT:-10} what
	if [ ${#users[@]} -eq 0 ]; then
		for u in "${_NSI_USERS[@]}"; do uids+=("${u#*:}"); done
	else
		for u in "${users[@]}"; do uids+=("$(id -u "$u")"); done
	fi
	for what in mounts ns links state procs; do
		for ((i = 0; i <= tmo * 5; i++)); do
			case $what in
			state) out=$(_nsi_leftover_state "${uids[@]}") ;;
			*) out=$(_nsi_leftover_$what) ;;
			esac
			[ -z "$out" ] && break
			sleep 0.2
		done
		case $what in
		mounts) desc="no new host mount (findmnt)" ;;
		ns) desc="no namespace left with a test user's or the helper's process" ;;
		links) desc="no nsi* network link left" ;;
		state) desc="no $NSI_STATE_DIR entry left for uid(s) ${uids[*]}" ;;
		procs) desc="no process left of a test user or from $NSI_LIBEXEC" ;;
		esac
		if [ -z "$out" ]; then pass "$desc"; else fail "$desc" "$out"; fi
	done
}

# ---------------------------------------------------------------- misc

# _nsi_kill PID: TERM a process of ours if it still runs, reap it.
_nsi_kill() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# wait_until TIMEOUT CMD...: retry CMD every 0.1 s until it succeeds.
wait_until() {
	local t=$1 i
	shift
	for ((i = 0; i <= t * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# pam_hold SERVICE USER [PAM-HOLD-ARG...]: hold a PAM session open in the
# background with build/tests/pam-hold (`make build/tests/pam-hold`), its
# stdin a fifo kept open by a `sleep` until pam_release. Sets HOLD_PID
# (pam-hold's pid) and HOLD_OUT (file with its output: "open RC", later
# "close RC"); waits up to 15 s for the "open" line; status 0 iff RC is 0.
# Released at cleanup if still held.
pam_hold() {
	local svc=$1 user=$2 bin=$NSI_BUILD/tests/pam-hold i sp
	shift 2
	[ -x "$bin" ] || bail "$bin is missing: make build/tests/pam-hold"
	_NSI_HOLDN=$((${_NSI_HOLDN:-0} + 1))
	HOLD_OUT=$T/hold.$_NSI_HOLDN
	mkfifo "$HOLD_OUT.in"
	"$bin" "$svc" "$user" "$@" <"$HOLD_OUT.in" >"$HOLD_OUT" 2>&1 &
	HOLD_PID=$!
	sleep 1000000 >"$HOLD_OUT.in" &
	sp=$!
	eval "_NSI_HOLDSLEEP_$HOLD_PID=$sp"
	defer _nsi_hold_stop "$HOLD_PID"
	for ((i = 0; i < 300; i++)); do
		grep -q '^open ' "$HOLD_OUT" 2>/dev/null && break
		kill -0 "$HOLD_PID" 2>/dev/null || break
		sleep 0.05
	done
	grep -q '^open 0$' "$HOLD_OUT"
}

_nsi_hold_stop() {
	local v=_NSI_HOLDSLEEP_$1 i
	[ -n "${!v:-}" ] && kill "${!v}" 2>/dev/null && wait "${!v}" 2>/dev/null
	for ((i = 0; i < 200; i++)); do
		kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return 0; }
		sleep 0.05
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# pam_release [PID]: close the held session (EOF on its stdin), wait up to
# 10 s for pam-hold to close it and exit; HOLD_OUT then ends "close RC".
pam_release() { _nsi_hold_stop "${1:-$HOLD_PID}"; }

# set_user NAME [useradd ARG...]: mkuser NAME for a test of sets: its uid in
# SET_UID, and no set of that uid before or after the test (drop_set).
set_user() {
	mkuser "$@"
	SET_UID=$(uid_of "$1")
	drop_set "$SET_UID"
	defer drop_set "$SET_UID"
}

# syscalls_in FILE: the total of calls in an "strace -c -o FILE" summary.
syscalls_in() { awk '$NF == "total" { print (NF == 6) ? $(NF - 2) : $(NF - 1) }' "$1"; }

# mkservice_pam_namespace NAME: the anchor of the benchmarks and the syscall
# budget, a service NAME of pam_permit then pam_namespace with /tmp as a
# tmpfs:noinit instance (64M), in /etc/security/namespace.d/NAME.conf (the
# directory made if missing), all removed at exit. pam_namespace 1.5 has no
# option to name its file: it reads namespace.conf and namespace.d/*.conf.
mkservice_pam_namespace() {
	local nsd=/etc/security/namespace.d
	mkservice "$1" "session required pam_permit.so
session required pam_namespace.so"
	if [ ! -d "$nsd" ]; then
		install -d -m 0755 "$nsd"
		defer rmdir "$nsd"
	fi
	defer rm -f "$nsd/$1.conf"
	echo "/tmp tmpfs tmpfs:noinit:mntopts=size=64M root" >"$nsd/$1.conf"
}

# start_idle N: N idle processes (sleep) in a process group of their own,
# led by a shell ($IDLE); returns once they all run (60 s at most).
# end_idle ends them (also at exit).
start_idle() {
	local n=$1 i
	setsid bash -c "for ((i = 0; i < $n; i++)); do sleep 1000 & done; wait" </dev/null \
		>/dev/null 2>&1 &
	IDLE=$!
	disown
	defer end_idle
	for ((i = 0; i < 600; i++)); do
		[ "$(pgrep -c -g "$IDLE")" -gt "$n" ] && return 0
		sleep 0.1
	done
	return 1
}
end_idle() {
	[ -n "${IDLE:-}" ] && kill -KILL -- "-$IDLE" 2>/dev/null
	wait_until 10 sh -c "! pgrep -g $IDLE >/dev/null"
}

# shellcheck disable=SC2119
lib_init
