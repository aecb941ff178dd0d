#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/e2e/test-opener.sh: a long-lived opener (a display manager, a login
# manager) runs thousands of sessions through the module, which must leave
# nothing behind in it (docs/design.md, "Security rules": module hygiene).
# As root after
# `make all build/tests/pam-cycles && make install`.
#
# build/tests/pam-cycles runs the cycles in one process: users round robin,
# the first one joining (a holder keeps one of its sessions open), the
# others first logins with a teardown each, a forked session child per
# cycle that must land in the set. The policy: tmp on a tmpfs, a user
# namespace.
#  1 NSI_OPENER_CYCLES (1000) cycles: every open and close succeeds, no fd
#    and no mapping more after the warm-up than at its end, RSS within
#    pam-cycles' bound; the log shows the expected number of joins, creates
#    and teardowns, and no "never joined" error.
#  2 NSI_OPENER_VALGRIND_CYCLES (40) cycles under valgrind memcheck: no
#    memory error, no definite leak (--error-exitcode), and no fd opened by
#    the program or the module still open at exit (--track-fds=yes lists
#    them; valgrind 3.19 does not count them as errors, so the list is
#    parsed: every fd it names must be "<inherited from parent>").
#  3 positive controls: pam-cycles exits 1 when an fd, a mapping or heap
#    leaks per cycle (NSIT_LEAK_FD, NSIT_LEAK_MAP, NSIT_LEAK_KIB) and when a
#    session cannot open; under valgrind, a leaked fd is listed and a leaked
#    block makes valgrind exit 99.
#  4 nothing left: no set, keeper, mount, namespace or state file.
#
# Valgrind 3.19 (Debian 12) does not know pidfd_open(2),
# pidfd_send_signal(2) or clone(CLONE_PIDFD), which the module uses to pin
# keepers and spawn the helper: under valgrind they fail with ENOSYS and
# every session is refused. The valgrind runs therefore preload a small
# shim, compiled here, that emulates them for the opener only with
# /proc/PID directory fds (real fds: a leaked "pidfd" is still an open fd at
# exit) and waitid(P_PID); the helper and the keepers run natively
# (valgrind does not follow the execve). Everything else is the module's
# own code under memcheck. With a valgrind that knows these calls
# (NSI_OPENER_NO_SHIM=1) the shim is left out.
#
# Knobs: NSI_OPENER_CYCLES (1000), NSI_OPENER_VALGRIND_CYCLES (40).
# shellcheck disable=SC2317,SC2119 # helpers called through check/wait_until/defer
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

CYCLES=${NSI_OPENER_CYCLES:-1000}
VG_CYCLES=${NSI_OPENER_VALGRIND_CYCLES:-40}
# pam-cycles' warm-up is at least 20 cycles: a run must be longer.
if ! [[ $CYCLES =~ ^[0-9]+$ ]] || [ "$CYCLES" -le 20 ]; then
	bail "NSI_OPENER_CYCLES must be a number above 20"
fi
if ! [[ $VG_CYCLES =~ ^[0-9]+$ ]] || [ "$VG_CYCLES" -le 20 ]; then
	bail "NSI_OPENER_VALGRIND_CYCLES must be a number above 20"
fi

if ! command -v valgrind >/dev/null 2>&1; then
	# make deps installs it (DEB_PKGS); a machine set up before that did not.
	diag "valgrind is missing: apt-get install valgrind"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q valgrind >"$T/apt.log" 2>&1 ||
		{ apt-get update -q >>"$T/apt.log" 2>&1 &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q valgrind >>"$T/apt.log" 2>&1; } ||
		bail "cannot install valgrind" "$(tail -n 5 "$T/apt.log")"
fi
need valgrind gcc awk
need_test_bins pam-cycles
CYC=$NSI_BUILD/tests/pam-cycles
start_syslog

U1=nsitop1
U2=nsitop2
U3=nsitop3
for u in $U1 $U2 $U3; do
	mkuser "$u"
	drop_set "$(uid_of "$u")"
	defer drop_set "$(uid_of "$u")"
done
mkconf opener <<-EOF
	version = 1;
	defaults = { isolate = false; };
	policies = (
	  { name = "opener"; match = { users = ["$U1", "$U2", "$U3"]; };
	    isolate = true;
	    tmp = { method = "tmpfs"; };
	    userns = { enable = true; nested = false; }; }
	);
EOF
SVC=nsit-opener
mkservice $SVC "session required pam_permit.so
$(modline)"

# field NAME SUMMARY: "A B" from "NAME A->B" of the summary line.
field() { sed -nE "s/.* $1 ([0-9]+)->([0-9]+).*/\1 \2/p" <<<"$2"; }
# show WHAT SUMMARY: the figures as a diagnostic.
show() {
	local s=$2
	diag "$1: $(sed -nE 's/^cycles ([0-9]+) .* secs ([0-9.]+) per_sec ([0-9.]+)$/\1 cycles in \2 s, \3 cycles\/s/p' <<<"$s")"
	diag "$1: fds $(field fds "$s" | sed 's/ /->/'), maps $(field maps "$s" | sed 's/ /->/'), RSS $(field rss_kib "$s" | sed 's/ /->/') KiB (after the warm-up -> at the end)"
}
SUMMARY_RE='^cycles [0-9]+ fds [0-9]+->[0-9]+ maps [0-9]+->[0-9]+ rss_kib [0-9]+->[0-9]+ secs [0-9.]+ per_sec [0-9.]+$'

# ================================================================ 1 cycles
diag "1: $CYCLES cycles in one opener ($U1 joining, $U2 and $U3 first logins)"
log_mark
t0=$(date +%s.%N)
out=$("$CYC" -n "$CYCLES" -s 10 $SVC $U1 $U2 $U3 2>&1)
rc=$?
t1=$(date +%s.%N)
sum=$(tail -n 1 <<<"$out")
check_eq "pam-cycles -n $CYCLES exits 0" 0 "$rc"
[ $rc -ne 0 ] && diag "$(tail -n 20 <<<"$out")"
check_match "it prints the summary line" "$SUMMARY_RE" "$sum"
check_match "the summary counts $CYCLES cycles" "^cycles $CYCLES " "$sum"
read -r a b <<<"$(field fds "$sum")"
check_eq "no fd more at the end than after the warm-up" "$a" "$b"
read -r a b <<<"$(field maps "$sum")"
check_eq "no mapping more at the end than after the warm-up" "$a" "$b"
check_nomatch "no cycle failed" '^(cycle [0-9]+ user|holder of|fds grew|maps grew|rss grew)' "$out"
show "opener" "$sum"
diag "opener: wall time $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
# The log: which cycles joined, which made a set (cycle i is user i mod 3).
n1=$(((CYCLES + 2) / 3))
n2=$(((CYCLES + 1) / 3))
n3=$((CYCLES / 3))
wait_log "tore down set of $U1 \(uid $(uid_of $U1)\)" 10 >/dev/null
sl=$(syslog_since_mark)
check_eq "$U1: the holder's one create, then $n1 joins (2 sessions each)" "1 $n1" \
	"$(grep -c "created set for $U1 " <<<"$sl") $(grep -c "joined set for $U1 (uid [0-9]*), policy opener, keeper pid [0-9]*, 2 sessions\$" <<<"$sl")"
check_eq "$U2: $n2 first logins and $n2 teardowns" "$n2 $n2" \
	"$(grep -c "created set for $U2 (uid [0-9]*), policy opener, keeper pid [0-9]*, 1 session\$" <<<"$sl") $(grep -c "tore down set of $U2 " <<<"$sl")"
check_eq "$U3: $n3 first logins and $n3 teardowns" "$n3 $n3" \
	"$(grep -c "created set for $U3 (uid [0-9]*), policy opener, keeper pid [0-9]*, 1 session\$" <<<"$sl") $(grep -c "tore down set of $U3 " <<<"$sl")"
check_nomatch "no refusal, no 'never joined' error, no failed teardown" \
	'pam_nsisolate\(nsit-opener:session\): (refused|session of uid .* ends, and no process ever joined|tearing down)' "$sl"
for u in $U1 $U2 $U3; do
	check "no state left for $u" wait_until 10 no_state "$(uid_of "$u")"
done

# ================================================================ 2 valgrind
diag "2: $VG_CYCLES cycles under valgrind memcheck"
VG=(valgrind --tool=memcheck --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
	--track-fds=yes --child-silent-after-fork=yes)
PRE=
if [ -z "${NSI_OPENER_NO_SHIM:-}" ]; then
	cat >"$T/pidfd-shim.c" <<-'EOF'
		/*
		 * For valgrind 3.19, which lacks pidfd_open, pidfd_send_signal
		 * and CLONE_PIDFD: emulated with /proc/PID directory fds.
		 */
		#include <dlfcn.h>
		#include <errno.h>
		#include <fcntl.h>
		#include <poll.h>
		#include <sched.h>
		#include <signal.h>
		#include <stdarg.h>
		#include <stdio.h>
		#include <string.h>
		#include <sys/wait.h>
		#include <time.h>
		#include <unistd.h>
		#ifndef CLONE_PIDFD
		#define CLONE_PIDFD 0x00001000
		#endif
		#ifndef P_PIDFD
		#define P_PIDFD 3
		#endif
		int pidfd_open(pid_t pid, unsigned int flags);
		int pidfd_send_signal(int pidfd, int sig, siginfo_t *info, unsigned int flags);

		/* The pid an emulated pidfd (an fd of /proc/PID) stands for, or -1. */
		static pid_t pid_of(int fd)
		{
			char path[64], buf[64], extra;
			ssize_t n;
			int pid;

			if (fd < 0)
				return -1;
			snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
			n = readlink(path, buf, sizeof(buf) - 1);
			if (n <= 0)
				return -1;
			buf[n] = '\0';
			return sscanf(buf, "/proc/%d%c", &pid, &extra) == 1 ? pid : -1;
		}

		/* Gone, or a zombie: what makes a pidfd readable. */
		static int exited(pid_t pid)
		{
			char path[64], buf[512], *p;
			ssize_t n;
			int fd;

			snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				return 1;
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (n <= 0)
				return 1;
			buf[n] = '\0';
			p = strrchr(buf, ')');
			return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
		}

		int pidfd_open(pid_t pid, unsigned int flags)
		{
			char path[64];
			int fd;

			(void)flags;
			snprintf(path, sizeof(path), "/proc/%d", (int)pid);
			fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd < 0)
				errno = ESRCH;
			return fd;
		}

		int pidfd_send_signal(int pidfd, int sig, siginfo_t *info, unsigned int flags)
		{
			pid_t pid = pid_of(pidfd);

			(void)info;
			(void)flags;
			if (pid < 0) {
				errno = EBADF;
				return -1;
			}
			if (exited(pid)) {
				errno = ESRCH;
				return -1;
			}
			return kill(pid, sig);
		}

		typedef int (*clone_fn)(int (*)(void *), void *, int, void *, ...);
		int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
		{
			clone_fn real = (clone_fn)dlsym(RTLD_NEXT, "clone");
			int *pidfd = NULL, r;
			va_list ap;
			void *ptid, *tls, *ctid;

			va_start(ap, arg);
			ptid = va_arg(ap, void *);
			tls = va_arg(ap, void *);
			ctid = va_arg(ap, void *);
			va_end(ap);
			if (flags & CLONE_PIDFD) {
				pidfd = ptid;
				flags &= ~CLONE_PIDFD;
			}
			r = real(fn, stack, flags, arg, ptid, tls, ctid);
			if (r > 0 && pidfd)
				*pidfd = pidfd_open(r, 0);
			return r;
		}

		typedef int (*waitid_fn)(idtype_t, id_t, siginfo_t *, int);
		int waitid(idtype_t type, id_t id, siginfo_t *info, int options)
		{
			waitid_fn real = (waitid_fn)dlsym(RTLD_NEXT, "waitid");
			pid_t pid;

			if ((int)type != P_PIDFD)
				return real(type, id, info, options);
			pid = pid_of((int)id);
			if (pid < 0) {
				errno = EBADF;
				return -1;
			}
			return real(P_PID, (id_t)pid, info, options);
		}

		typedef int (*poll_fn)(struct pollfd *, nfds_t, int);
		int poll(struct pollfd *fds, nfds_t n, int timeout)
		{
			poll_fn real = (poll_fn)dlsym(RTLD_NEXT, "poll");
			struct timespec t0, now;

			if (n != 1 || pid_of(fds[0].fd) < 0)
				return real(fds, n, timeout);
			clock_gettime(CLOCK_MONOTONIC, &t0);
			for (;;) {
				if (exited(pid_of(fds[0].fd))) {
					fds[0].revents = POLLIN;
					return 1;
				}
				fds[0].revents = 0;
				clock_gettime(CLOCK_MONOTONIC, &now);
				if (timeout >= 0 && (now.tv_sec - t0.tv_sec) * 1000 +
							    (now.tv_nsec - t0.tv_nsec) / 1000000 >=
							    timeout)
					return 0;
				nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
			}
		}
	EOF
	gcc -D_GNU_SOURCE -std=gnu11 -Wall -Wextra -Werror -O2 -shared -fPIC -o "$T/pidfd-shim.so" \
		"$T/pidfd-shim.c" -ldl >"$T/gcc.log" 2>&1 || bail "cannot compile the pidfd shim" "$(cat "$T/gcc.log")"
	PRE=$T/pidfd-shim.so
	diag "valgrind $(valgrind --version): pidfd calls emulated by a preloaded shim (see the header)"
fi

# vg_run LOG "PAM-CYCLES-OPTIONS" [ENV...]: pam-cycles -M under valgrind
# (which follows fork(): a session child's own exit is checked too, and a
# memory error in the fork handler makes it exit 99); the log in LOG.
vg_run() {
	local log=$1 opts=$2
	shift 2
	# shellcheck disable=SC2086 # OPTIONS are words
	env ${PRE:+LD_PRELOAD="$PRE"} "$@" "${VG[@]}" --log-file="$log" "$CYC" -M $opts -s 5 \
		$SVC $U1 $U2 $U3 2>&1
}
# fds_kept LOG: the fds valgrind lists at exit that were not inherited.
fds_kept() {
	awk '/Open (file descriptor|AF_UNIX socket|AF_INET socket)/ { if (fd != "") print fd; fd = $0; next }
		/<inherited from parent>/ { fd = ""; next }
		/^==[0-9]+== *$/ { if (fd != "") print fd; fd = ""; next }
		END { if (fd != "") print fd }' "$1"
}
VGLOG=$T/valgrind.log
t0=$(date +%s.%N)
out=$(vg_run "$VGLOG" "-n $VG_CYCLES")
rc=$?
t1=$(date +%s.%N)
sum=$(tail -n 1 <<<"$out")
vl=$(cat "$VGLOG" 2>&1)
check_eq "valgrind pam-cycles -n $VG_CYCLES exits 0 (99: a memory error or definite leak)" 0 "$rc"
[ $rc -ne 0 ] && diag "$(tail -n 10 <<<"$out")" "$(grep -vE '^==[0-9]+== *$' "$VGLOG" | tail -n 60)"
check_match "valgrind: the summary counts $VG_CYCLES cycles" "^cycles $VG_CYCLES fds" "$sum"
check_match "valgrind: ERROR SUMMARY: 0 errors" '== ERROR SUMMARY: 0 errors from 0 contexts' "$vl"
check_match "valgrind: definitely lost: 0 bytes (or nothing in use at exit)" \
	'== +(definitely lost: 0 bytes in 0 blocks|All heap blocks were freed)' "$vl"
check_match "valgrind: it listed the fds open at exit" '== FILE DESCRIPTORS: [0-9]+ open' "$vl"
kept=$(fds_kept "$VGLOG")
check_eq "valgrind: no fd opened by the program or the module is open at exit" "" "$kept"
check_nomatch "valgrind: no unhandled system call (the shim covers pidfd_*)" 'unhandled amd64-linux syscall' "$vl"
show "valgrind" "$sum"
diag "valgrind: wall time $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s; $(grep -m1 -E '== +in use at exit' "$VGLOG" | sed 's/^==[0-9]*== *//')"

# ================================================================ 3 positive controls
diag "3: positive controls"
out=$(NSIT_LEAK_FD=1 "$CYC" -n 60 -s 5 $SVC $U1 $U2 $U3 2>&1)
rc=$?
check_eq "control: NSIT_LEAK_FD=1 (an fd per cycle): pam-cycles exits 1" 1 "$rc"
check_match "control: it reports the fds growing" '^fds grew from [0-9]+ to [0-9]+$' "$out"
read -r a b <<<"$(field fds "$(tail -n 1 <<<"$out")")"
check_eq "control: by exactly the 40 cycles after the warm-up" 40 "$((b - a))"
out=$(NSIT_LEAK_MAP=1 "$CYC" -n 60 -s 5 $SVC $U1 $U2 $U3 2>&1)
rc=$?
check_eq "control: NSIT_LEAK_MAP=1 (a mapping per cycle): pam-cycles exits 1" 1 "$rc"
check_match "control: it reports the maps growing" '^maps grew from [0-9]+ to [0-9]+$' "$out"
check_nomatch "control: and not the fds" '^fds grew' "$out"
out=$(NSIT_LEAK_KIB=64 "$CYC" -n 60 -s 5 $SVC $U1 $U2 $U3 2>&1)
rc=$?
check_eq "control: NSIT_LEAK_KIB=64 (64 KiB of heap per cycle): pam-cycles exits 1" 1 "$rc"
check_match "control: it reports the RSS growing" '^rss grew from [0-9]+ KiB to [0-9]+ KiB' "$out"
mkconf broken 'version = 1; this is not a policy'
mkservice nsit-opener-bad "session required pam_permit.so
$(modline "$CONF")"
out=$("$CYC" -n 30 nsit-opener-bad $U1 $U2 2>&1)
rc=$?
check_eq "control: sessions that cannot open (broken policy): pam-cycles exits 1" 1 "$rc"
check_match "control: it names the user and pam_strerror" "holder: open $U1: " "$out"
out=$("$CYC" -n 30 $SVC $U1 nsitop-nosuchuser 2>&1)
rc=$?
check_eq "control: a cycle that fails (unknown user): pam-cycles exits 1" 1 "$rc"
check_match "control: it names the cycle, the user and the error" \
	'^cycle 2 user nsitop-nosuchuser: pam_open_session: ' "$out"
# -F: no session child, which would inherit the leaked blocks and exit 99 itself.
out=$(vg_run "$T/valgrind-leak.log" "-n 22 -F" NSIT_LEAK_FD=1 NSIT_LEAK_KIB=1)
rc=$?
check_eq "control: valgrind with a leaked block per cycle exits 99" 99 "$rc"
check_match "control: valgrind reports the block definitely lost" '== +definitely lost: [1-9][0-9,]* bytes' \
	"$(cat "$T/valgrind-leak.log")"
kept=$(fds_kept "$T/valgrind-leak.log")
check_eq "control: valgrind lists the 22 leaked fds as not inherited" 22 "$(grep -c . <<<"$kept")"

# ================================================================ 4 leftovers
diag "4: nothing left"
assert_no_leftovers

finish
