#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/e2e/test-starters.sh: every way a PAM application can start its
# session child either isolates it or says so; nothing runs un-isolated
# silently (docs/design.md, "Process model": the fork handler, opener mode).
# With build/tests/pam-starter (a PAM application that opens a
# session and starts its child with fork, posix_spawn, vfork or a raw
# clone(CLONE_PIDFD)):
#  1 fork: the child is in the set's mount namespace; no "never joined" error
#    at close (the control for 2).
#  2 posix_spawn, vfork, clone: the child runs in the host's mount namespace
#    (the module cannot see it), and the close logs exactly one LOG_ERR line
#    naming the service and the cause.
#  3 nsisolate list counts a live session whose opener's child never joined
#    (UNJOINED 1), and 0 for a forked one.
#  4 first_child (cron: the job, then the mailer): the first child is in the
#    set, the second in the host; without the option both are in the set.
#  5 a session opened by PID 1's executor (INVOCATION_ID in the PAM
#    environment) without "opener" is refused with a message naming the
#    option; with "opener" the opener itself joins the set.
#  6 Debian's pam_motd stacked after the module runs update-motd.d through
#    system(), which runs no fork handler: its scripts stay in the host.
# shellcheck disable=SC2016 # command lines are single-quoted on purpose
# shellcheck disable=SC2317,SC2119 # helpers called through check/wait_until/defer
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
need pgrep awk

[ -x "$NSI_LIBEXEC/nsisolate-helper" ] || bail "the helper is not installed: make install"
NSI=${NSI_BIN:-$(command -v nsisolate)} || bail "nsisolate is not installed: make install"
STARTER=$NSI_BUILD/tests/pam-starter
[ -x "$STARTER" ] || bail "$STARTER is missing: make build/tests/pam-starter"
start_syslog

U=nsitstart
mkuser $U
UIDU=$(uid_of $U)
drop_set "$UIDU"
defer drop_set "$UIDU"
mkconf starters <<'EOF'
version = 1;
defaults = { isolate = true; tmp = { method = "tmpfs"; }; };
EOF
SVC=nsit-start
mkservice $SVC "$(modline)"
mkservice nsit-start-first "$(modline "$CONF" first_child)"
mkservice nsit-start-opener "$(modline "$CONF" opener)"
HOSTMNT=$(readlink /proc/self/ns/mnt)
NEVER='no process ever joined its set: the session ran WITHOUT isolation'

# ================================================================ 1, 2
for how in fork posix_spawn vfork clone; do
	diag "$how"
	log_mark
	out=$("$STARTER" $SVC $U "$how" sh -c 'echo MNT=$(readlink /proc/self/ns/mnt)' 2>&1)
	check_match "$how: the session opens and closes" '^close 0$' "$out"
	mnt=$(sed -n 's/^MNT=//p' <<<"$out")
	if [ "$how" == fork ]; then
		check "fork: the child is in the set, not in the host's mount namespace" \
			test -n "$mnt" -a "$mnt" != "$HOSTMNT"
		sleep 0.3
		check_nomatch "fork: no \"never joined\" error at close" "service $SVC\\) ends, and $NEVER" \
			"$(syslog_since_mark)"
	else
		check_eq "$how: the child runs in the host's mount namespace" "$HOSTMNT" "$mnt"
		check "$how: the close logs the un-isolated session" wait_log \
			"pam_nsisolate\\($SVC:session\\): session of uid $UIDU \\(service $SVC\\) ends, and $NEVER"
		check_eq "$how: exactly one such line" 1 "$(syslog_since_mark | grep -c "$NEVER")"
	fi
	check "$how: the set is gone" wait_until 10 no_state "$UIDU"
done

# ================================================================ 3 list
diag "3: nsisolate list counts unjoined sessions"
# Outside /tmp: the set has a /tmp of its own.
GO=/run/nsit-start-go.$$
mkfifo -m 0666 "$GO"
defer rm -f "$GO"
"$STARTER" $SVC $U posix_spawn sh -c 'read x <'"$GO" >"$T/list.out" 2>&1 &
SP=$!
wait_until 10 test -e "$NSI_STATE_DIR/$UIDU.state"
sleep 0.3
out=$("$NSI" list --json)
check_match "list --json: the posix_spawn session is unjoined" "\"user\": \"$U\".*\"unjoined\": 1" "$out"
echo go >"$GO"
wait "$SP"
"$STARTER" $SVC $U fork sh -c 'read x <'"$GO" >"$T/list.out" 2>&1 &
SP=$!
wait_until 10 test -e "$NSI_STATE_DIR/$UIDU.state"
sleep 0.3
out=$("$NSI" list --json)
check_match "control: a forked session is not unjoined" "\"user\": \"$U\".*\"unjoined\": 0" "$out"
echo go >"$GO"
wait "$SP"
check "3: the set is gone" wait_until 10 no_state "$UIDU"

# ================================================================ 4 first_child
diag "4: first_child"
out=$("$STARTER" nsit-start-first $U fork2 sh -c 'echo MNT$NSIT_CHILD=$(readlink /proc/self/ns/mnt)' 2>&1)
m1=$(sed -n 's/^MNT1=//p' <<<"$out")
m2=$(sed -n 's/^MNT2=//p' <<<"$out")
check "first_child: the first child (the job) is in the set" test -n "$m1" -a "$m1" != "$HOSTMNT"
check_eq "first_child: the second child (the mailer) is in the host" "$HOSTMNT" "$m2"
out=$("$STARTER" $SVC $U fork2 sh -c 'echo MNT$NSIT_CHILD=$(readlink /proc/self/ns/mnt)' 2>&1)
m1=$(sed -n 's/^MNT1=//p' <<<"$out")
m2=$(sed -n 's/^MNT2=//p' <<<"$out")
check "control: without it the first child is in the set" test -n "$m1" -a "$m1" != "$HOSTMNT"
check "control: without it the second child is in the set too" test -n "$m2" -a "$m2" != "$HOSTMNT"
check "4: the set is gone" wait_until 10 no_state "$UIDU"

# ================================================================ 5 PID 1's executor
diag "5: a PAMName= unit's session (INVOCATION_ID in the PAM environment)"
log_mark
out=$(NSIT_INVOCATION_ID=0123456789abcdef0123456789abcdef "$STARTER" $SVC $U fork true 2>&1)
check_match "without opener: refused" '^open 14$' "$out"
check "without opener: the refusal names the option" wait_log \
	"refused $U \\(uid $UIDU\\): service $SVC is started by systemd \\(a PAMName= unit\\).*add the option \"opener\""
out=$(NSIT_INVOCATION_ID=0123456789abcdef0123456789abcdef "$STARTER" nsit-start-opener $U fork \
	sh -c 'echo MNT=$(readlink /proc/self/ns/mnt)' 2>&1)
check_match "with opener: the session opens" '^open 0$' "$out"
pm=$(sed -n 's/^opener mnt=//p' <<<"$out")
check "with opener: the opener itself is in the set" test -n "$pm" -a "$pm" != "$HOSTMNT"
check_eq "with opener: its child shares it" "$pm" "$(sed -n 's/^MNT=//p' <<<"$out")"
check "with opener: the unprivileged close leaves no error" test -z "$(syslog_since_mark | grep -E 'unreadable|not owned by root')"
"$NSI" release "$UIDU" >/dev/null
check "5: nsisolate release ends the set once the opener is gone" wait_until 10 no_state "$UIDU"

# ================================================================ 6 pam_motd
diag "6: pam_motd after the module"
MOTD=/etc/update-motd.d
if [ -e /lib/x86_64-linux-gnu/security/pam_motd.so ] && [ -d $MOTD ]; then
	PROBE=$MOTD/99-nsit-probe
	defer rm -f "$PROBE" /run/nsit-motd-probe
	printf '#!/bin/sh\nreadlink /proc/self/ns/mnt >/run/nsit-motd-probe\n' >"$PROBE"
	chmod 0755 "$PROBE"
	mkservice nsit-start-motd "$(modline)
session optional pam_motd.so motd=/run/motd.dynamic"
	rm -f /run/nsit-motd-probe
	out=$("$STARTER" nsit-start-motd $U fork sh -c 'echo MNT=$(readlink /proc/self/ns/mnt)' 2>&1)
	check "pam_motd ran its scripts" test -s /run/nsit-motd-probe
	check_eq "pam_motd's scripts ran in the host (system() runs no fork handler)" \
		"$HOSTMNT" "$(cat /run/nsit-motd-probe 2>/dev/null)"
	mnt=$(sed -n 's/^MNT=//p' <<<"$out")
	check "control: the session child after it still joins the set" test -n "$mnt" -a "$mnt" != "$HOSTMNT"
else
	skip "6: pam_motd" "no pam_motd.so or /etc/update-motd.d here"
fi
check "the set is gone" wait_until 10 no_state "$UIDU"

finish
