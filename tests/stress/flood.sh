#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/stress/flood.sh [--short]: a login flood (README.md, "Reliability").
# Not part of `make check`; `make stress` runs it (root, after
# `make all && make install`, on a throwaway machine). TAP output like the
# e2e suites (tests/e2e/lib.sh).
#
# NSI_FLOOD_USERS (50) test users, NSI_FLOOD_LOGINS (4) login slots each,
# all running at once for NSI_FLOOD_SECS (600) seconds. Each slot logs in
# again and again, at random through real sshd key logins (one sshd
# listener per 100 slots, so that MaxStartups never refuses) or through
# `runuser -l USER -c CMD` (the runuser-l service with the module), runs
# the probe and logs out after a random 0.2-3 s; between logins it pauses
# 0-1.5 s, so that a user's sets end and start again. NSI_FLOOD_DROP (5)
# percent of the ssh logins are dropped: the client is killed after
# 0.2-1 s, mid-login or mid-session (sshd then closes the session itself);
# those are counted apart and not checked.
# --short: 10 users for 60 seconds (the knobs still override).
#
# The probe, run in every session: writes /tmp/nsit-fl.SLOT.SEQ, notes the
# time (TS) and its mount namespace, fails if the host's marker file in /tmp
# is visible or a file in /tmp is not the user's, sleeps, notes the time
# again (TL) and reports, per slot, the highest SEQ whose file it sees.
# Checked afterwards, for every pair of logins A and B of one user with
# A.TS <= B.TS <= A.TL (both sessions were open at B.TS, so they were in
# the one live set): A saw B's file (one shared /tmp) and both report the
# same mount namespace; for logins of two users open at the same time, the
# mount namespaces differ.
# At random moments (every 2-10 s) and at the end, under each user's own
# lock (sample.py): a user with a live set has exactly one keeper, the one
# its state file names; a user without one has none. After the last
# logout: no set is left (also per nsisolate list --json), then
# assert_no_leftovers.
# Printed: logins attempted, succeeded, failed, dropped, by method; sets
# created, joined and torn down (from the log); keeper samples. 0 failures
# required.
# shellcheck disable=SC2317,SC2119 # helpers called through check/wait_until/defer
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/../e2e/lib.sh"

if [ "${1:-}" == --short ]; then
	NSI_FLOOD_USERS=${NSI_FLOOD_USERS:-10}
	NSI_FLOOD_SECS=${NSI_FLOOD_SECS:-60}
elif [ $# -gt 0 ]; then
	bail "usage: tests/stress/flood.sh [--short]"
fi
NUSERS=${NSI_FLOOD_USERS:-50}
NLOGINS=${NSI_FLOOD_LOGINS:-4}
SECS=${NSI_FLOOD_SECS:-600}
DROP=${NSI_FLOOD_DROP:-5}
for v in NUSERS NLOGINS SECS DROP; do
	[[ ${!v} =~ ^[0-9]+$ ]] || bail "$v must be a number: ${!v}"
done
if [ "$NUSERS" -lt 1 ] || [ "$NUSERS" -gt 99 ]; then bail "NSI_FLOOD_USERS must be 1-99"; fi
[ "$NLOGINS" -ge 1 ] || bail "NSI_FLOOD_LOGINS must be at least 1"
# Under load a login can take long; every client is bounded anyway.
export NSI_SSH_TIMEOUT=${NSI_SSH_TIMEOUT:-120}
need sshd ssh runuser python3 awk
NSI=${NSI_BIN:-$(command -v nsisolate)} || bail "nsisolate is not installed: make install"
[ -x "$NSI_LIBEXEC/nsisolate-helper" ] || bail "the helper is not installed: make install"
start_syslog

HOSTMARK=/tmp/nsit-flood-host.$$
echo "host marker" >"$HOSTMARK"
defer rm -f "$HOSTMARK"
HOST_MNT=$(readlink /proc/self/ns/mnt)
USERS=()
UIDS=()
for ((i = 1; i <= NUSERS; i++)); do
	u=$(printf 'nsitfl%02d' "$i")
	mkuser "$u"
	USERS+=("$u")
	UIDS+=("$(uid_of "$u")")
	drop_set "$(uid_of "$u")"
	defer drop_set "$(uid_of "$u")"
	# The probe, in the home (shared; $T is under /tmp and hidden inside).
	cat >"/home/$u/.nsit-flood" <<-'EOF'
		# tests/stress/flood.sh probe: SLOT SEQ SLEEP HOSTMARK
		me=$(id -un)
		echo "$me" >"/tmp/nsit-fl.$1.$2" || echo "ERR cannot write /tmp/nsit-fl.$1.$2"
		ts=$(date +%s%N)
		mnt=$(readlink /proc/self/ns/mnt)
		[ -e "$4" ] && echo "ERR the host's marker $4 is visible"
		for f in /tmp/nsit-fl.*; do
			[ -e "$f" ] || continue
			[ -O "$f" ] || echo "ERR $f in /tmp is not $me's"
		done
		sleep "$3"
		tl=$(date +%s%N)
		seen=$(ls /tmp | awk -F. '/^nsit-fl\.[0-9]+\.[0-9]+$/ { if (!($2 in m) || $3 + 0 > m[$2]) m[$2] = $3 + 0 }
			END { for (s in m) printf "%s:%s ", s, m[s] }')
		echo "R $me $1 $2 $ts $tl $mnt $seen"
	EOF
	chmod 0644 "/home/$u/.nsit-flood"
done
diag "$NUSERS users x $NLOGINS logins for $SECS s (drop $DROP% of the ssh logins)"

mkconf flood <<-EOF
	version = 1;
	defaults = { isolate = false; };
	policies = (
	  { name = "flood"; match = { users = [$(printf '"%s", ' "${USERS[@]}" | sed 's/, $//')]; };
	    isolate = true;
	    tmp = { method = "tmpfs"; };
	    userns = { enable = true; nested = false; }; }
	);
EOF
# One listener per 100 slots: each takes its share of the slots, at most
# 100 connections at once, so MaxStartups 100 (start_sshd) never starts
# refusing.
NSSHD=$(((NUSERS * NLOGINS + 99) / 100))
PORTS=()
for ((i = 1; i <= NSSHD; i++)); do
	mkservice nsit-flood-sshd$i "session include common-session
$(modline)"
done
with_module() {
	grep -v pam_nsisolate "/etc/pam.d/$1"
	modline
}
override_service runuser-l "$(with_module runuser-l)"
for ((i = 1; i <= NSSHD; i++)); do
	start_sshd nsit-flood-sshd$i
	PORTS+=("$SSH_PORT")
done
for u in "${USERS[@]}"; do authorize "$u"; done

# check.py RECORDS HOST_MNT: the pairwise checks of the probe records (see
# the header); prints "records N pairs N notseen N mntdiff N crossmnt N
# hostmnt N mntns N", then up to 20 problems.
cat >"$T/check.py" <<-'EOF'
	import bisect, collections, sys
	recs = []
	for line in open(sys.argv[1]):
	    f = line.split()
	    # R USER SLOT SEQ TS TL MNT SLOT:MAXSEQ...
	    if len(f) < 7 or f[0] != "R":
	        continue
	    seen = {}
	    for kv in f[7:]:
	        s, q = kv.split(":")
	        seen[int(s)] = int(q)
	    recs.append((int(f[4]), int(f[5]), f[1], int(f[2]), int(f[3]), f[6], seen))
	recs.sort()
	starts = [r[0] for r in recs]
	pairs = notseen = mntdiff = crossmnt = hostmnt = 0
	mntns = collections.defaultdict(set)
	problems = []
	for a in recs:
	    ts, tl, user, slot, seq, mnt, seen = a
	    mntns[user].add(mnt)
	    if mnt == sys.argv[2]:
	        hostmnt += 1
	        problems.append("%s slot %d login %d ran in the host's mount namespace" % (user, slot, seq))
	    for b in recs[bisect.bisect_left(starts, ts):bisect.bisect_right(starts, tl)]:
	        if b is a:
	            continue
	        if b[2] != user:
	            if b[5] == mnt:
	                crossmnt += 1
	                problems.append("%s and %s, open at the same time, share %s" % (user, b[2], mnt))
	            continue
	        pairs += 1
	        if seen.get(b[3], -1) < b[4]:
	            notseen += 1
	            problems.append("%s slot %d login %d did not see the file of slot %d login %d" %
	                            (user, slot, seq, b[3], b[4]))
	        if b[5] != mnt:
	            mntdiff += 1
	            problems.append("%s slot %d login %d (%s) and slot %d login %d (%s) differ" %
	                            (user, slot, seq, mnt, b[3], b[4], b[5]))
	print("records %d pairs %d notseen %d mntdiff %d crossmnt %d hostmnt %d mntns %d" %
	      (len(recs), pairs, notseen, mntdiff, crossmnt, hostmnt, sum(len(v) for v in mntns.values())))
	for p in problems[:20]:
	    print(p)
EOF
# Its positive control: B (slot 1) and C (slot 2) open while A was; A saw B's
# file but not C's, C is in another mount namespace (the "host's" here),
# and D of another user shares A's.
printf '%s\n' 'R a 0 1 100 200 mnt:[1] 0:1 1:1' 'R a 1 1 150 250 mnt:[1] 0:1 1:1' >"$T/rec.good"
cp "$T/rec.good" "$T/rec.bad"
printf '%s\n' 'R a 2 1 160 260 mnt:[2] 2:1' 'R b 0 1 170 270 mnt:[1] 0:1' >>"$T/rec.bad"
check_match "checker: clean records pass" '^records 2 pairs 1 notseen 0 mntdiff 0 crossmnt 0 hostmnt 0 ' \
	"$("$NSI_PY" "$T/check.py" "$T/rec.good" 'mnt:[2]' 2>&1)"
check_match "control: the checker finds an unseen file, a split set, a shared one, the host's" \
	'^records 4 pairs [0-9]+ notseen [1-9][0-9]* mntdiff [1-9][0-9]* crossmnt [1-9][0-9]* hostmnt 1 ' \
	"$("$NSI_PY" "$T/check.py" "$T/rec.bad" 'mnt:[2]' 2>&1)"

# ================================================================ the flood
W=$T/flood
mkdir -p "$W"
DEADLINE=$(($(date +%s) + SECS))

# rnd MIN MAX: MIN to MAX milliseconds at random, as seconds ("1.234").
rnd() {
	local n=$(((RANDOM * 32768 + RANDOM) % ($2 - $1 + 1) + $1))
	printf '%d.%03d' $((n / 1000)) $((n % 1000))
}

# worker USER SLOT PORT: one login slot until the deadline. Writes, per
# login, "L USER SLOT SEQ METHOD RC T0 T1", then the probe's R and ERR
# lines, and on a failure the output as "O ..." lines.
worker() {
	local u=$1 k=$2 port=$3 seq=0 how out rc t0 t1 sl cmd pid
	exec </dev/null >>"$W/w.$u.$k" 2>&1
	RANDOM=$((BASHPID * 31 + k))
	sleep "$(rnd 0 3000)"
	while [ "$(date +%s)" -lt "$DEADLINE" ]; do
		seq=$((seq + 1))
		sl=$(rnd 200 3000)
		cmd="sh /home/$u/.nsit-flood $k $seq $sl $HOSTMARK"
		if ((RANDOM % 2)); then how=ssh; else how=runuser; fi
		[ $how == ssh ] && ((RANDOM % 100 < DROP)) && how=drop
		t0=$(date +%s%N)
		case $how in
		ssh)
			out=$(SSH_PORT=$port ssh_as "$u" "$cmd" 2>&1)
			rc=$?
			;;
		runuser)
			out=$(timeout -k 5 "$NSI_SSH_TIMEOUT" runuser -l "$u" -c "$cmd" 2>&1)
			rc=$?
			;;
		drop)
			# ssh_as's own command line, in the background: $! is timeout,
			# which passes the TERM on to ssh.
			_nsi_ssh_opts
			timeout -k 5 "$NSI_SSH_TIMEOUT" ssh "${_NSI_SSH_OPTS[@]}" -T -p "$port" \
				"$u@127.0.0.1" -- "exec 2>&1;" "$cmd" >/dev/null 2>&1 &
			pid=$!
			sleep "$(rnd 200 1000)"
			kill "$pid" 2>/dev/null
			wait "$pid"
			rc=$?
			out=
			;;
		esac
		t1=$(date +%s%N)
		echo "L $u $k $seq $how $rc $t0 $t1"
		grep -E '^(R|ERR) ' <<<"$out"
		if [ $how != drop ] && { [ $rc -ne 0 ] || ! grep -q '^R ' <<<"$out" || grep -q '^ERR ' <<<"$out"; }; then
			head -n 20 <<<"$out" | sed 's/^/O /'
		fi
		sleep "$(rnd 0 1500)"
	done
}

# sample.py RUN_DIR UID...: one consistent look at every flood user's set and
# keepers. Per uid it takes the module's own lock (flock on RUN_DIR/UID.lock,
# never creating the file, checking it is still the linked one, as
# nsi_lock_file_at does), so no login or logout of that user runs while it
# reads UID.state and checks the keepers: a live set has exactly one keeper,
# the one the state names (pid and start time), and a uid without a set has
# none. Keepers: nsisolate-keep processes, not zombies, whose user namespace
# maps the uid to itself, from one scan of /proc before the locks plus the
# state's own keeper. A uid that looks wrong is looked at again up to three
# times (0.5 s apart): a keeper that teardown has just SIGKILLed may not have
# died yet when the state goes. Prints "OK sets N keepers N sessions N" or
# "BAD ..." lines.
cat >"$T/sample.py" <<-'EOF'
	import errno, fcntl, os, sys, time
	run, uids = sys.argv[1], [int(x) for x in sys.argv[2:]]

	def proc_start(pid):
	    try:
	        st = open("/proc/%d/stat" % pid).read()
	    except OSError:
	        return None, None
	    f = st[st.rindex(")") + 2:].split()
	    return f[0], int(f[19])

	def keeper_uid(pid):
	    try:
	        if open("/proc/%d/comm" % pid).read().strip() != "nsisolate-keep":
	            return None
	        state, _ = proc_start(pid)
	        if state is None or state in "ZX":
	            return None
	        for line in open("/proc/%d/uid_map" % pid):
	            a, b, n = (int(x) for x in line.split())
	            if a == b and n == 1:
	                return a
	    except (OSError, ValueError):
	        pass
	    return None

	def lock(uid):
	    path = "%s/%d.lock" % (run, uid)
	    deadline = time.monotonic() + 15
	    while True:
	        try:
	            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW)
	        except FileNotFoundError:
	            return None
	        while True:
	            try:
	                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
	                break
	            except BlockingIOError:
	                if time.monotonic() > deadline:
	                    os.close(fd)
	                    raise SystemExit("BAD cannot lock %s in 15 s" % path)
	                time.sleep(0.002)
	        try:
	            if os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino:
	                return fd
	        except FileNotFoundError:
	            pass
	        os.close(fd)

	def state_of(uid):
	    keeper, sessions = None, 0
	    try:
	        for line in open("%s/%d.state" % (run, uid)):
	            f = line.split()
	            if f[:1] == ["keeper"]:
	                keeper = (int(f[1]), int(f[2]))
	            elif f[:1] == ["session"]:
	                sessions += 1
	    except FileNotFoundError:
	        return None, 0
	    return keeper, sessions

	def look(uid, scanned):
	    fd = lock(uid)
	    try:
	        keeper, sessions = state_of(uid)
	        pids = set(p for p in scanned if keeper_uid(p) == uid)
	        if keeper and keeper_uid(keeper[0]) == uid:
	            pids.add(keeper[0])
	        if keeper is None:
	            return (["uid %d: keeper(s) %s without a set" % (uid, sorted(pids))] if pids else []), 0, 0
	        bad = []
	        if pids != {keeper[0]}:
	            bad.append("uid %d: the set names keeper %d, running: %s" % (uid, keeper[0], sorted(pids)))
	        elif proc_start(keeper[0])[1] != keeper[1]:
	            bad.append("uid %d: keeper %d is not the one the state names (start time)" % (uid, keeper[0]))
	        return bad, 1, sessions
	    finally:
	        if fd is not None:
	            os.close(fd)

	scanned = [int(p) for p in os.listdir("/proc") if p.isdigit() and keeper_uid(int(p)) is not None]
	bad, nsets, nsessions = [], 0, 0
	for uid in uids:
	    for attempt in range(4):
	        b, n, s = look(uid, scanned)
	        if not b:
	            break
	        time.sleep(0.5)
	        scanned = [int(p) for p in os.listdir("/proc") if p.isdigit() and keeper_uid(int(p)) is not None]
	    bad += b
	    nsets += n
	    nsessions += s
	for b in bad:
	    print("BAD " + b)
	if not bad:
	    print("OK sets %d keepers %d sessions %d" % (nsets, nsets, nsessions))
EOF
sample() { "$NSI_PY" "$T/sample.py" "$NSI_STATE_DIR" "${UIDS[@]}" 2>&1; }

# The sampler's positive control: a process named nsisolate-keep in a user
# namespace that maps the first user's uid, and no set.
cp "$(command -v sleep)" "$T/nsisolate-keep"
unshare --user "$T/nsisolate-keep" 300 &
fake=$!
defer _nsi_kill "$fake"
wait_until 5 grep -q nsisolate-keep "/proc/$fake/comm"
echo "${UIDS[0]} ${UIDS[0]} 1" >"/proc/$fake/uid_map"
check_match "control: the sampler reports a keeper without a set" \
	"^BAD uid ${UIDS[0]}: keeper\(s\) \[$fake\] without a set" "$(sample)"
_nsi_kill "$fake"
check_match "control: and is content once it is gone" '^OK sets 0 keepers 0 sessions 0$' "$(sample)"

log_mark
t_start=$(date +%s)
pids=()
for ((i = 0; i < NUSERS; i++)); do
	for ((k = 0; k < NLOGINS; k++)); do
		worker "${USERS[i]}" "$k" "${PORTS[(i * NLOGINS + k) % NSSHD]}" &
		pids+=($!)
	done
done
stop_workers() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	return 0
}
defer stop_workers
diag "flood started: ${#pids[@]} login slots, until $(date -d "@$DEADLINE" +%T)"

nsamples=0
nbad=0
maxsets=0
maxsessions=0
: >"$T/samples"
while [ "$(date +%s)" -lt "$DEADLINE" ]; do
	sleep "$(rnd 2000 10000)"
	[ "$(date +%s)" -lt "$DEADLINE" ] || break
	s=$(sample)
	nsamples=$((nsamples + 1))
	echo "$(date +%T) $s" >>"$T/samples"
	if grep -q '^BAD' <<<"$s"; then
		nbad=$((nbad + 1))
		diag "sample $nsamples: $s"
	else
		read -r _ _ ns _ _ _ nss <<<"$s"
		[ "$ns" -gt "$maxsets" ] && maxsets=$ns
		[ "$nss" -gt "$maxsessions" ] && maxsessions=$nss
	fi
done
diag "deadline reached after $(($(date +%s) - t_start)) s; waiting for the last logins"
for p in "${pids[@]}"; do wait "$p"; done
diag "all slots ended after $(($(date +%s) - t_start)) s"

# ================================================================ results
cat "$W"/w.* >"$T/records"
read -r attempted ok failed dropped ssh_n runuser_n <<<"$(awk '
	$1 == "L" { n++; m[$5]++; key = $2 " " $3 " " $4; how[key] = $5; rc[key] = $6 }
	$1 == "R" { key = $2 " " $3 " " $4; r[key] = 1 }
	$1 == "ERR" { bad[cur] = 1 }
	$1 == "L" { cur = $2 " " $3 " " $4 }
	END {
		for (k in how) {
			if (how[k] == "drop") { d++; continue }
			if (rc[k] == 0 && (k in r) && !(k in bad)) ok++; else f++
		}
		printf "%d %d %d %d %d %d\n", n, ok, f, d, m["ssh"], m["runuser"]
	}' "$T/records")"
diag "logins attempted $attempted: succeeded $ok, failed $failed, dropped on purpose $dropped (ssh $ssh_n, runuser $runuser_n, over $SECS s: $(awk -v a="$attempted" -v s="$SECS" 'BEGIN { printf "%.1f", a / s }') logins/s)"
check "logins were made" test "${attempted:-0}" -gt 0
check_eq "no login failed" 0 "${failed:-x}"
if [ "${failed:-0}" -gt 0 ]; then
	diag "$(awk '($1 == "L" && $5 != "drop" && $6 != 0) || $1 == "ERR" || $1 == "O"' "$T/records" | head -n 40)"
fi
check "both kinds of login ran" test "${ssh_n:-0}" -gt 0 -a "${runuser_n:-0}" -gt 0

out=$("$NSI_PY" "$T/check.py" "$T/records" "$HOST_MNT" 2>&1)
sum=$(head -n 1 <<<"$out")
diag "probe records: $sum (pairs: logins of one user open at the same time)"
read -r _ nrec _ npairs _ notseen _ mntdiff _ crossmnt _ hostmnt _ _ <<<"$sum"
check_eq "every succeeded login left a probe record" "$ok" "$nrec"
check "overlapping logins of one user were found (the sharing check has cases)" test "${npairs:-0}" -gt 0
check_eq "a login sees the /tmp file of every login of its user open at the same time" 0 "$notseen"
check_eq "logins of one user open at the same time share the mount namespace" 0 "$mntdiff"
check_eq "logins of two users open at the same time do not" 0 "$crossmnt"
check_eq "no login ran in the host's mount namespace" 0 "$hostmnt"
[ "$(wc -l <<<"$out")" -gt 1 ] && diag "$(tail -n +2 <<<"$out")"
check_nomatch "no probe reported an error (host marker, foreign file, write)" '^ERR' "$(cat "$T/records")"

diag "keeper samples: $nsamples during the flood (at most $maxsets live sets, $maxsessions sessions at once)"
check "keepers were sampled during the flood" test "$nsamples" -gt 0
check_eq "every sample: exactly one keeper per live set, the state's own; none without a set" 0 "$nbad"

# The clients are done, but sshd closes a session after its client has
# gone: wait for the last sets to end before counting the log.
all_ended() {
	local uid
	for uid in "${UIDS[@]}"; do [ -e "$NSI_STATE_DIR/$uid.state" ] && return 1; done
	return 0
}
check "the last sets end once the last logins are out" wait_until 60 all_ended
# The module's lines about the flood's services and users (other tests may
# log at the same time).
uid_re=$(IFS='|'; echo "${UIDS[*]}")
flood_log() {
	syslog_since_mark | grep -E 'pam_nsisolate\((nsit-flood-sshd[0-9]+|runuser-l):session\)' |
		grep -E " (nsitfl[0-9]+|uid ($uid_re))[ )]"
}
log_counted() {
	sl=$(flood_log)
	ncreated=$(grep -c 'pam_nsisolate(.*): created set for nsitfl' <<<"$sl")
	njoined=$(grep -c 'pam_nsisolate(.*): joined set for nsitfl' <<<"$sl")
	ntorn=$(grep -c 'pam_nsisolate(.*): tore down set of nsitfl' <<<"$sl")
	[ "$ncreated" -eq "$ntorn" ]
}
# (The syslog catcher may still be writing the last lines.)
wait_until 10 log_counted
log_counted
diag "log: $ncreated sets created, $njoined joins, $ntorn teardowns"
check "first logins and joining logins both happened" test "$ncreated" -gt 0 -a "$njoined" -gt 0
check_eq "every set created was torn down" "$ncreated" "$ntorn"
check_nomatch "no refusal and no error from the module" \
	'pam_nsisolate\([^)]*\): (refused|session of uid .* no process ever joined|tearing down|cannot|lost its keeper)' "$sl"

# ================================================================ after the last logout
s=$(sample)
check_match "after the flood: no set and no keeper of a flood user" '^OK sets 0 keepers 0 ' "$s"
check_eq "nsisolate list --json names no flood user" "" \
	"$("$NSI" list --json | grep -oE '"user": "nsitfl[0-9]+"' | head -n 5)"
assert_no_leftovers
finish
