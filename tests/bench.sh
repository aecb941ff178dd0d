#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/bench.sh (make bench, after make install): the cost of a login with
# pam_nsisolate against pam_permit alone and pam_namespace, measured as
# pamtester open_session+close_session wall time (fork+exec of pamtester
# included, the same for every variant), one PAM service per variant:
#
#   permit      session required pam_permit.so                  (baseline)
#   pam_ns      + pam_namespace.so, "/tmp tmpfs tmpfs:noinit root" (size 64M)
#   mod-first   pam_nsisolate, tmp.dirs=["/tmp"] tmpfs 64M, home shared,
#               userns/ipc/net off: every open+close is a first login (the
#               close of the user's only session tears the set down)
#   mod-join    the same service for a user with one session held open by
#               build/tests/pam-hold: every open+close joins the live set
#   mod-userns  as mod-first with userns = { enable = true; }
#
# Then real sshd key logins (ssh ... true) with and without the module,
# BENCH_SSH_RUNS (15) interleaved pairs, the ssh client's wall time.
#
# BENCH_ROUNDS (5) rounds of BENCH_RUNS (40) runs per variant, the variant
# order rotated each round. Reports medians, p95, the range of the per-round
# medians, ratios to the baseline, the closing ratios
# added(module first)/added(pam_namespace) and added(module join)/
# added(pam_namespace), and the host mount count before, with the sessions
# held, and after. Timings are reported, never asserted (README, "What a
# login costs"); syscall counts are asserted by tests/e2e/test-budget.sh.
#
# pam_namespace has no option to name its config file (1.5.2 reads
# /etc/security/namespace.conf and namespace.d/*.conf), so the bench writes
# /etc/security/namespace.d/nsit-bench-ns.conf (mkservice_pam_namespace of
# tests/e2e/lib.sh) and removes it at exit (and the
# directory if it made it). Only the nsit-bench-ns service loads pam_namespace.
#
# Exit status: 0 when every variant ran, 1 when one could not (the module not
# installed or failing: the table shows what ran, with the reason).
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/e2e/lib.sh"
need pamtester findmnt make sshd ssh strace

ROUNDS=${BENCH_ROUNDS:-5}
RUNS=${BENCH_RUNS:-40}
RUN_TIMEOUT=${BENCH_RUN_TIMEOUT:-10}
PAMDIR=${PAMDIR:-$(pkg-config --variable=libdir pam 2>/dev/null | sed 's,$,/security,' | grep . ||
	echo "/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)/security")}
MODULE=$PAMDIR/pam_nsisolate.so
HELPER=$NSI_LIBEXEC/nsisolate-helper
HOLD_BIN=$NSI_BUILD/tests/pam-hold

say() { printf '%s\n' "$*" >&2; }

start_syslog

# ---- users, services, configs
mkuser nsitbench0 # permit and pam_namespace
mkuser nsitbench1 # module, first logins
mkuser nsitbench2 # module, joining logins (one session held)
mkuser nsitbench3 # module with userns, first logins
mkuser nsitbench4 # module with network none, first logins
mkuser nsitbench5 # module with network veth, first logins
mkuser nsitbench6 # module with userns, joining logins (one session held)
mkuser nsitbench7 # real sshd logins, with and without the module
authorize nsitbench7

mkservice nsit-bench-permit "session required pam_permit.so"
mkservice_pam_namespace nsit-bench-ns
if grep -Eq '^[[:space:]]*[^#[:space:]]' /etc/security/namespace.conf 2>/dev/null; then
	say "note: /etc/security/namespace.conf has entries of its own; pam_namespace applies them too"
fi

mkconf bench 'version = 1;
defaults = {
  tmp = { dirs = ["/tmp"]; method = "tmpfs"; size = "64M"; };
  home = { mode = "shared"; };
  userns = { enable = false; };
  ipc = false;
  network = { mode = "host"; };
};'
CONF_PLAIN=$CONF
mkconf bench-userns 'version = 1;
defaults = {
  tmp = { dirs = ["/tmp"]; method = "tmpfs"; size = "64M"; };
  home = { mode = "shared"; };
  userns = { enable = true; };
  ipc = false;
  network = { mode = "host"; };
};'
CONF_USERNS=$CONF
for m in none veth; do
	mkconf bench-$m 'version = 1;
defaults = {
  tmp = { dirs = ["/tmp"]; method = "tmpfs"; size = "64M"; };
  home = { mode = "shared"; };
  userns = { enable = false; };
  ipc = false;
  network = { mode = "'$m'"; subnet = "10.213.240.0/24"; };
};'
	mkservice nsit-bench-mod$m "$(modline "$CONF")"
done
mkservice nsit-bench-mod "$(modline "$CONF_PLAIN")"
mkservice nsit-bench-modu "$(modline "$CONF_USERNS")"
mkservice nsit-bench-sshbase "session required pam_permit.so"
mkservice nsit-bench-sshmod "session required pam_permit.so
$(modline "$CONF_USERNS")"

VARIANTS=(permit pam_ns mod-first mod-join mod-userns mod-joinu mod-none mod-veth)
declare -A SVC=([permit]=nsit-bench-permit [pam_ns]=nsit-bench-ns [mod-first]=nsit-bench-mod
	[mod-join]=nsit-bench-mod [mod-userns]=nsit-bench-modu [mod-joinu]=nsit-bench-modu
	[mod-none]=nsit-bench-modnone
	[mod-veth]=nsit-bench-modveth)
declare -A USR=([permit]=nsitbench0 [pam_ns]=nsitbench0 [mod-first]=nsitbench1
	[mod-join]=nsitbench2 [mod-userns]=nsitbench3 [mod-joinu]=nsitbench6 [mod-none]=nsitbench4
	[mod-veth]=nsitbench5)
declare -A LABEL=([permit]="pam_permit only (baseline)" [pam_ns]="pam_namespace /tmp tmpfs:noinit"
	[mod-first]="nsisolate first login" [mod-join]="nsisolate joining login"
	[mod-userns]="nsisolate first login +userns" [mod-joinu]="nsisolate joining login +userns"
	[mod-none]="nsisolate first login +net none"
	[mod-veth]="nsisolate first login +net veth")
declare -A BROKEN=() HELD=()

# one_run VARIANT: one timed open+close; prints microseconds; status of pamtester.
one_run() {
	local t0 t1 rc
	t0=$EPOCHREALTIME
	timeout -k 2 "$RUN_TIMEOUT" pamtester "${SVC[$1]}" "${USR[$1]}" open_session close_session \
		>"$T/last.$1" 2>&1
	rc=$?
	t1=$EPOCHREALTIME
	echo $(((${t1/./} - ${t0/./})))
	return $rc
}

# why VARIANT RC: one paragraph on a failed run.
why() {
	local v=$1 rc=$2
	echo "pamtester ${SVC[$v]} ${USR[$v]} open_session close_session failed (status $rc$([ "$rc" -eq 124 ] && echo ", timed out after ${RUN_TIMEOUT}s"))"
	sed 's/^/    /' "$T/last.$v"
	syslog_since_mark | grep -E 'nsisolate|pam_namespace|PAM' | tail -n 5 | sed 's/^/    syslog: /'
}

# ---- preflight: is the module there, does each variant work once?
mod_missing=
[ -e "$MODULE" ] || mod_missing="$MODULE is not installed (run make install)"
[ -z "$mod_missing" ] && [ ! -x "$HELPER" ] && mod_missing="$HELPER is not installed (run make install)"
if [ -n "$mod_missing" ]; then
	for v in mod-first mod-join mod-userns mod-joinu mod-none mod-veth; do BROKEN[$v]=$mod_missing; done
fi
if [ -z "${BROKEN[mod-join]:-}" ] && [ ! -x "$HOLD_BIN" ]; then
	make -s -C "$NSI_SRCDIR" build/tests/pam-hold >"$T/make.log" 2>&1 ||
		BROKEN[mod-join]="cannot build $HOLD_BIN: $(tail -n 3 "$T/make.log")"
fi

mounts_before=$(findmnt -rn | wc -l)
for v in "${VARIANTS[@]}"; do
	[ -n "${BROKEN[$v]:-}" ] && continue
	if [ "$v" == mod-join ] || [ "$v" == mod-joinu ]; then
		log_mark
		if ! pam_hold "${SVC[$v]}" "${USR[$v]}"; then
			BROKEN[$v]="could not hold a session open for ${USR[$v]}: $(tr '\n' ' ' <"$HOLD_OUT")
$(syslog_since_mark | grep -E 'nsisolate|PAM' | tail -n 5 | sed 's/^/    syslog: /')"
			pam_release
			continue
		fi
		HELD[$v]=$HOLD_PID
	fi
	log_mark
	one_run "$v" >/dev/null
	rc=$?
	[ $rc -ne 0 ] && BROKEN[$v]=$(why "$v" $rc)
done
mounts_held=$(findmnt -rn | wc -l)

for v in "${VARIANTS[@]}"; do
	[ -n "${BROKEN[$v]:-}" ] && say "error: ${LABEL[$v]}: ${BROKEN[$v]}"
done
if [ -n "${BROKEN[permit]:-}" ]; then
	say "error: the baseline does not run; nothing to compare against"
	lib_end 1
fi

# ---- timed rounds
say "bench: $ROUNDS rounds x $RUNS runs per variant, order rotated each round"
for ((r = 0; r < ROUNDS; r++)); do
	n=${#VARIANTS[@]}
	for ((k = 0; k < n; k++)); do
		v=${VARIANTS[(k + r) % n]}
		[ -n "${BROKEN[$v]:-}" ] && continue
		if [ -n "${HELD[$v]:-}" ] && ! kill -0 "${HELD[$v]}" 2>/dev/null; then
			BROKEN[$v]="the held session ended during the run: $(tr '\n' ' ' <"$HOLD_OUT")"
			say "error: ${LABEL[$v]}: ${BROKEN[$v]}"
			continue
		fi
		log_mark
		for ((i = 0; i < RUNS; i++)); do
			if us=$(one_run "$v"); then
				echo "$us" >>"$T/samples.$v"
				echo "$us" >>"$T/round.$v.$r"
			else
				rc=$?
				BROKEN[$v]="run $i of round $r: $(why "$v" $rc)"
				say "error: ${LABEL[$v]}: ${BROKEN[$v]}"
				break
			fi
		done
	done
	say "bench: round $((r + 1))/$ROUNDS done"
done
# ---- syscalls: exact, one whole session per variant under strace -f -c
# (module, helper, keeper and a detached teardown helper all counted).
declare -A SYS=()
for v in "${VARIANTS[@]}"; do
	[ -n "${BROKEN[$v]:-}" ] && continue
	strace -f -c -o "$T/sys.$v" pamtester "${SVC[$v]}" "${USR[$v]}" open_session close_session \
		>/dev/null 2>&1 &&
		SYS[$v]=$(syscalls_in "$T/sys.$v")
done
mounts_held_end=$(findmnt -rn | wc -l)
for v in "${!HELD[@]}"; do pam_release "${HELD[$v]}"; done
sleep 0.5
mounts_after=$(findmnt -rn | wc -l)

# ---- report
# stats FILE: "n median p95" (integers, µs)
stats() {
	sort -n "$1" | awk '{ a[NR] = $1 } END {
		if (NR == 0) { print "0 0 0"; exit }
		m = (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2)
		p = a[int(NR * 0.95 + 0.999999)]; if (p == "") p = a[NR]
		print NR, m, p }'
}
# round_range V: "min-max" of the per-round medians
round_range() {
	local f meds=()
	for f in "$T"/round."$1".*; do
		[ -s "$f" ] || continue
		meds+=("$(stats "$f" | cut -d' ' -f2)")
	done
	[ ${#meds[@]} -eq 0 ] && { echo -; return; }
	printf '%s\n' "${meds[@]}" | sort -n | sed -n '1p;$p' | paste -sd- -
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }

declare -A MED=() N=() P95=()
for v in "${VARIANTS[@]}"; do
	[ -s "$T/samples.$v" ] || continue
	read -r N[$v] MED[$v] P95[$v] < <(stats "$T/samples.$v")
done
base=${MED[permit]:-0}

echo
echo "pam_nsisolate bench: pamtester open_session+close_session, wall time in µs"
echo "kernel $(uname -r), $(nproc) CPU, $ROUNDS rounds x $RUNS runs per variant, interleaved"
echo
printf '%-34s %5s %9s %9s %15s %9s %9s\n' variant n median p95 "round medians" "x permit" "added"
printf '%-34s %5s %9s %9s %15s %9s %9s\n' "----------------------------------" ----- \
	--------- --------- --------------- --------- ---------
for v in "${VARIANTS[@]}"; do
	if [ -n "${MED[$v]:-}" ] && [ -z "${BROKEN[$v]:-}" ]; then
		printf '%-34s %5d %9d %9d %15s %9s %9d\n' "${LABEL[$v]}" "${N[$v]}" "${MED[$v]}" "${P95[$v]}" \
			"$(round_range "$v")" "$(ratio "${MED[$v]}" "$base")" $((MED[$v] - base))
	else
		printf '%-34s %s\n' "${LABEL[$v]}" "FAILED (see the error above)"
	fi
done
echo
ns_added=$((${MED[pam_ns]:-0} - base))
closing() {
	local v=$1 what=$2
	if [ -z "${MED[$v]:-}" ] || [ -n "${BROKEN[$v]:-}" ] || [ -z "${MED[pam_ns]:-}" ] || [ -n "${BROKEN[pam_ns]:-}" ]; then
		printf '%-52s %s\n' "$what" "n/a (a variant failed)"
	else
		printf '%-52s %s  (%d / %d µs)\n' "$what" "$(ratio $((MED[$v] - base)) "$ns_added")" \
			$((MED[$v] - base)) "$ns_added"
	fi
}
closing mod-first "added(module first)/added(pam_namespace):"
closing mod-join "added(module join)/added(pam_namespace):"
closing mod-joinu "added(module join +userns)/added(pam_namespace):"
closing mod-userns "added(module first +userns)/added(pam_namespace):"
# Network modes against the plain first login of this run, and that extra
# against in-process floors measured on the development VM with a C program
# (netns + lo up 664 µs; veth pair, 2 addresses, both up: 1673 µs there).
netline() {
	local v=$1 what=$2 floor=$3
	if [ -z "${MED[$v]:-}" ] || [ -n "${BROKEN[$v]:-}" ] || [ -z "${MED[mod-first]:-}" ] || [ -n "${BROKEN[mod-first]:-}" ]; then
		printf '%-52s %s
' "$what" "n/a (a variant failed)"
	else
		printf '%-52s %d µs, %s x the %d µs floor\n' "$what" $((MED[$v] - MED[mod-first])) \
			"$(ratio $((MED[$v] - MED[mod-first])) "$floor")" "$floor"
	fi
}
netline mod-none "network none over a host-mode first login:" 664
netline mod-veth "network veth over a host-mode first login:" 1673
echo
echo "host mounts (findmnt | wc -l): before $mounts_before, sessions held $mounts_held," \
	"end of rounds $mounts_held_end, after $mounts_after" \
	"($([ "$mounts_before" -eq "$mounts_held" ] && [ "$mounts_before" -eq "$mounts_after" ] &&
		echo "no host mount per isolated user" || echo "CHANGED: a login left a host mount"))"

# Syscalls, the table of issue 16: added over pam_permit, and that against
# pam_namespace's added count.
echo
echo "syscalls of one whole session (strace -f -c: module, helper, keeper), exact:"
printf '%-34s %9s %9s %15s\n' variant syscalls added "x pam_ns added"
ns_sys=$((${SYS[pam_ns]:-0} - ${SYS[permit]:-0}))
for v in "${VARIANTS[@]}"; do
	[ -n "${SYS[$v]:-}" ] || { printf '%-34s %s\n' "${LABEL[$v]}" "n/a"; continue; }
	a=$((SYS[$v] - ${SYS[permit]:-0}))
	printf '%-34s %9d %9d %15s\n' "${LABEL[$v]}" "${SYS[$v]}" "$a" \
		"$([ "$v" == permit ] && echo - || ratio "$a" "$ns_sys")"
done

# ---- the floor of a first login: the helper started alone (it exits when
# its request is short: exec, loading, process reset, capabilities), against
# /bin/true, interleaved; and its syscalls.
if [ -x "$HELPER" ]; then
	: >"$T/floor.helper"
	: >"$T/floor.true"
	for ((i = 0; i < RUNS; i++)); do
		t0=$EPOCHREALTIME
		"$HELPER" </dev/null >/dev/null 2>&1
		t1=$EPOCHREALTIME
		/bin/true
		t2=$EPOCHREALTIME
		echo $(((${t1/./} - ${t0/./}))) >>"$T/floor.helper"
		echo $(((${t2/./} - ${t1/./}))) >>"$T/floor.true"
	done
	read -r _ fh _ < <(stats "$T/floor.helper")
	read -r _ ft _ < <(stats "$T/floor.true")
	fsys=$(strace -f -c -o "$T/floor.sys" "$HELPER" </dev/null >/dev/null 2>&1
		syscalls_in "$T/floor.sys")
	echo
	echo "the helper started alone (exec, loading, process reset, capabilities; no request):"
	echo "  median $fh us, /bin/true $ft us; $fsys syscalls;" \
		"$(ratio "$fh" "$ns_added") x pam_namespace's added time," \
		"$(ratio "$fsys" "$ns_sys") x its added syscalls"
fi

# ---- policy resolution at scale: a user in 400 groups against a file of
# 1000 policies (999 matching a group, the last a uid range), as a login
# loads and resolves it; with group names NSS knows (those of /etc/group,
# cycled: each looked up once) and with 999 it does not (each a miss
# through every NSS source).
RESOLVE=$NSI_BUILD/tests/bench-resolve
if [ -x "$RESOLVE" ] || make -s -C "$NSI_SRCDIR" build/tests/bench-resolve >/dev/null 2>&1; then
	mapfile -t known < <(cut -d: -f1 /etc/group | grep -v '^nsit')
	rk=$("$RESOLVE" 1000 400 "$RUNS" "${known[@]}" 2>&1)
	ru=$("$RESOLVE" 1000 400 "$RUNS" $(seq -f 'nsit-nosuch-%g' 999) 2>&1)
	echo
	echo "policy resolution, a user in 400 groups, 1000 policies (median of $RUNS, us):"
	echo "  group names NSS knows (${#known[@]}, cycled): $rk"
	echo "  999 group names NSS does not know (misses):   $ru"
fi

# ---- the logout alone (pam_close_session in pam-hold, NSIT_TIMES): the last
# logout of a first login, host network and veth (whose network teardown
# runs in the background, under the user's lock).
LOGOUTS=${BENCH_LOGOUTS:-15}
declare -A CLOSE=()
for v in mod-userns mod-veth; do
	[ -n "${BROKEN[$v]:-}" ] && continue
	: >"$T/close.$v"
	for ((i = 0; i < LOGOUTS; i++)); do
		NSIT_TIMES=1 pam_hold "${SVC[$v]}" "${USR[$v]}" || break
		pam_release
		awk '$1 == "close_us" { print $2 }' "$HOLD_OUT" >>"$T/close.$v"
	done
	[ -s "$T/close.$v" ] && CLOSE[$v]=$(stats "$T/close.$v")
done
echo
echo "the last logout alone (pam_close_session), $LOGOUTS runs:"
for v in mod-userns mod-veth; do
	[ -n "${CLOSE[$v]:-}" ] || { printf '  %-32s n/a\n' "${LABEL[$v]}"; continue; }
	read -r n m p <<<"${CLOSE[$v]}"
	printf '  %-32s median %6d us, p95 %6d us (n=%d)\n' "${LABEL[$v]}" "$m" "$p" "$n"
done

# ---- the last logout and the host's processes: first logins (user
# namespace) with none, then BENCH_IDLE (5000) idle processes, then none again.
IDLE_N=${BENCH_IDLE:-5000}
idle_phase() {
	local f=$1 i us
	: >"$f"
	for ((i = 0; i < RUNS; i++)); do
		us=$(one_run mod-userns) && echo "$us" >>"$f"
	done
}
if [ -z "${BROKEN[mod-userns]:-}" ]; then
	idle_phase "$T/idle.a"
	start_idle "$IDLE_N" || say "error: not all $IDLE_N idle processes started"
	nproc_busy=$(ls -d /proc/[0-9]* | wc -l)
	idle_phase "$T/idle.b"
	sys_busy=$(strace -f -c -o "$T/sys.busy" pamtester "${SVC[mod-userns]}" "${USR[mod-userns]}" \
		open_session close_session >/dev/null 2>&1 &&
		syscalls_in "$T/sys.busy")
	end_idle
	sleep 1
	idle_phase "$T/idle.c"
	cat "$T/idle.a" "$T/idle.c" >"$T/idle.ac"
	read -r _ ma _ < <(stats "$T/idle.ac")
	read -r _ mb _ < <(stats "$T/idle.b")
	echo
	echo "first login + last logout (user namespace) with $IDLE_N more idle processes ($nproc_busy in /proc):"
	echo "  median $mb us, without them $ma us (before and after): $(ratio "$mb" "$ma") x;" \
		"syscalls $sys_busy, without them ${SYS[mod-userns]:-?}"
fi

# ---- real sshd logins: what a user waits for. Key login, `true`, logout:
# the ssh client's wall time, BENCH_SSH_RUNS (15) pairs, interleaved; the
# same PAM stack with and without the module (user namespace on, as by
# default). Each module login is a first login: the set of the one before
# is gone (its teardown finishes after the client returns) before it starts.
SSH_RUNS=${BENCH_SSH_RUNS:-15}
start_sshd nsit-bench-sshbase
PORT_BASE=$SSH_PORT
start_sshd nsit-bench-sshmod
PORT_MOD=$SSH_PORT
UID7=$(uid_of nsitbench7)
ssh_fail=
for ((i = 0; i < SSH_RUNS; i++)); do
	[ -n "$ssh_fail" ] && break
	for k in base mod; do
		[ $k == base ] && SSH_PORT=$PORT_BASE || SSH_PORT=$PORT_MOD
		t0=$EPOCHREALTIME
		if ! ssh_as nsitbench7 true </dev/null >"$T/ssh.out" 2>&1; then
			ssh_fail="$k: $(tr '\n' ' ' <"$T/ssh.out")"
			break
		fi
		t1=$EPOCHREALTIME
		echo $(((${t1/./} - ${t0/./}))) >>"$T/ssh.$k"
		wait_until 10 no_state "$UID7" || { ssh_fail="the set of nsitbench7 was not torn down"; break; }
	done
done
echo
if [ -n "$ssh_fail" ]; then
	say "error: sshd logins: $ssh_fail"
	echo "sshd key login + true + logout: FAILED (see the error above)"
else
	read -r _ sb _ < <(stats "$T/ssh.base")
	read -r _ sm _ < <(stats "$T/ssh.mod")
	echo "sshd key login + true + logout, ssh client wall time, medians of $SSH_RUNS interleaved pairs:"
	awk -v b="$sb" -v m="$sm" 'BEGIN { printf "  without the module %.1f ms, with it (first login, user namespace) %.1f ms: +%.1f ms, %.3f x\n",
		b / 1000, m / 1000, (m - b) / 1000, m / b }'

fi

# ---- a directory user's joining login against a local user's: slapd and
# nslcd of tests/e2e/directory.sh (last: nsswitch then names ldap, for
# both users alike, until the end of the bench). Joining logins with a user
# namespace of a held session each, interleaved; and their syscalls.
dir_fail=
if [ -n "${BENCH_NO_DIRECTORY:-}" ]; then
	dir_fail="skipped (BENCH_NO_DIRECTORY)"
elif ! command -v slapd >/dev/null || ! command -v nslcd >/dev/null; then
	dir_fail="skipped: slapd or nslcd missing (make deps)"
elif [ -n "${BROKEN[mod-joinu]:-}" ]; then
	dir_fail="skipped: the joining login does not run"
else
	# shellcheck source=tests/e2e/directory.sh
	. "$NSI_SRCDIR/tests/e2e/directory.sh"
	directory_nss_on
	if ! wait_until 20 getent passwd $BOB >/dev/null; then
		dir_fail="NSS does not resolve $BOB"
	elif ! pam_hold "${SVC[mod-joinu]}" $BOB; then
		dir_fail="cannot hold a session of $BOB: $(tr '\n' ' ' <"$HOLD_OUT")"
	else
		HD=$HOLD_PID
		if ! pam_hold "${SVC[mod-joinu]}" "${USR[mod-joinu]}"; then
			dir_fail="cannot hold a session of ${USR[mod-joinu]}"
		else
			HL=$HOLD_PID
			: >"$T/dir.dir"
			: >"$T/dir.local"
			for ((i = 0; i < RUNS; i++)); do
				for k in dir local; do
					[ $k == dir ] && u=$BOB || u=${USR[mod-joinu]}
					t0=$EPOCHREALTIME
					pamtester "${SVC[mod-joinu]}" "$u" open_session close_session \
						>/dev/null 2>&1 || dir_fail="a joining login of $u failed"
					t1=$EPOCHREALTIME
					echo $(((${t1/./} - ${t0/./}))) >>"$T/dir.$k"
				done
			done
			for k in dir local; do
				[ $k == dir ] && u=$BOB || u=${USR[mod-joinu]}
				strace -f -c -o "$T/dir.$k.sys" pamtester "${SVC[mod-joinu]}" "$u" \
					open_session close_session >/dev/null 2>&1
			done
			pam_release "$HL"
		fi
		pam_release "$HD"
	fi
fi
echo
if [ -n "$dir_fail" ]; then
	echo "a directory user's joining login: $dir_fail"
else
	read -r _ dd _ < <(stats "$T/dir.dir")
	read -r _ dl _ < <(stats "$T/dir.local")
	sd=$(syscalls_in "$T/dir.dir.sys")
	sl=$(syscalls_in "$T/dir.local.sys")
	echo "joining login (user namespace) of a directory user (slapd + nslcd) against a local user's, $RUNS interleaved pairs:"
	echo "  directory $dd us ($sd syscalls), local $dl us ($sl syscalls): $(ratio "$dd" "$dl") x time"
fi

rc=0
[ -n "$ssh_fail" ] && rc=1
[ -n "$dir_fail" ] && [ "${dir_fail#skipped}" == "$dir_fail" ] && rc=1
for v in "${VARIANTS[@]}"; do
	[ -n "${BROKEN[$v]:-}" ] && rc=1
done
[ $rc -ne 0 ] && say "bench: some variants did not run (errors above)"
lib_end $rc
