#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/systemd/test-systemd.sh: opener mode for the user manager and the
# keeper's scope (docs/design.md, "Process model"), on a booted Debian 12
# (systemd 252 as PID 1, logind, dbus-user-session, libpam-systemd in
# common-session, Debian's 6.1 kernel) under qemu, over real ssh. The module
# is the last session line of the stock /etc/pam.d/sshd, su-l, runuser-l,
# cron (with first_child) and of a copy of /usr/lib/pam.d/systemd-user in
# /etc/pam.d; nothing else in the stock files changes.
# Each negative check has its positive control:
#  1 ssh shell isolated (own /tmp, loopback only) vs the host's namespaces.
#  2 the user manager is in the set: systemd-run --user --wait -P, a
#    socket-activated and a D-Bus-activated user service, and systemd-run
#    --user --pty all see the ssh shell's mount, network, IPC, UTS and user
#    namespaces, not the host's /tmp, and root unmapped (control: a system
#    unit runs in the host's).
#  3 the keeper is in a scope of its own in system.slice, not in a session
#    scope; the user cannot kill it (loginctl kill-session, a signal from
#    inside the set); XDG_RUNTIME_DIR is usable inside.
#  4 after the last logout no session stays, and once logind has stopped the
#    user manager the set is gone (nsisolate release from the drop-in).
#  5 KillUserProcesses=yes: ending one of two sessions leaves the other and
#    the set; loginctl terminate-user ends the set.
#  6 pid = true: the user manager is refused (systemd-run --user fails), the
#    ssh login still works and is isolated.
#  7 loginctl enable-linger: the set lives with the manager without a login;
#    disable-linger ends it.
#  8 su -l and runuser -l are isolated.
#  9 a PAMName= unit: refused without "opener", in the user's set with it.
# 10 cron: the job runs in the set and its output mail (exim4) reaches
#    /var/mail/USER.
# 11 nothing left: no state, no keeper, no scope.
# shellcheck disable=SC2016 # remote command lines are single-quoted on purpose
# shellcheck source=tests/systemd/lib.sh
. "$(dirname "$0")/lib.sh"

vm_boot || exit $?

U1=nsitsd1 # the default policy: private /tmp, network none, user namespace
U2=nsitsd2 # policy "pidset": pid = true
U3=nsitsd3 # linger
for u in $U1 $U2 $U3; do
	vm_mkuser $u
done

vm_ssh "cat >/etc/security/nsisolate.conf <<'EOF'
version = 1;
defaults = {
  isolate = true;
  tmp = { method = \"tmpfs\"; };
  network = { mode = \"none\"; };
  hostname = \"nsitbox\";
};
policies = (
  { name = \"pidset\"; match = { users = [\"$U2\"]; }; pid = true; }
);
EOF
echo host-secret >/tmp/nsit-hostfile; chmod 0644 /tmp/nsit-hostfile
nsisolate check" >/dev/null || bail "cannot write the policy"
# Debian 12 ships systemd-user in /usr/lib/pam.d: the admin's copy in /etc/pam.d wins.
vm_ssh 'cp /usr/lib/pam.d/systemd-user /etc/pam.d/systemd-user' >/dev/null
for f in sshd systemd-user su-l runuser-l; do
	vm_pam_append /etc/pam.d/$f "session required pam_nsisolate.so"
done
vm_pam_append /etc/pam.d/cron "session required pam_nsisolate.so first_child"
vm_ssh 'systemctl daemon-reload' >/dev/null

HOSTNS=$(vm_ssh 'for n in mnt net ipc uts user; do readlink /proc/self/ns/$n; done' | tr '\n' ' ')
NSPROBE='for n in mnt net ipc uts user; do readlink /proc/self/ns/$n; done | tr "\n" " "'
uid1=$(vm_ssh "id -u $U1")

# set_gone UID SECS: the set of UID ends within SECS; else say what holds it.
set_gone() {
	vm_wait "$2" "[ ! -e /run/nsisolate/$1.state ]" && return 0
	vm_ssh "cat /run/nsisolate/$1.state; loginctl list-sessions --no-legend; systemctl is-active user@$1;
		journalctl -b -q | grep -E 'nsisolate|user@$1' | tail -n 8"
	return 1
}

# ================================================================ 1 ssh shell
diag "1: the ssh shell"
shellns=$(vm_ssh_as $U1 "$NSPROBE")
[[ $shellns == mnt:* ]] || bail "no ssh login of $U1: $shellns"
check "ssh: the shell's namespaces are not the host's" test -n "$shellns" -a "$shellns" != "$HOSTNS"
out=$(vm_ssh_as $U1 'cat /tmp/nsit-hostfile 2>&1; ip -o link | wc -l; hostname')
check_nomatch "ssh: the host's /tmp file is not there" '^host-secret$' "$out"
check_match "ssh: loopback only" '^1$' "$out"
check_match "ssh: the set's host name" '^nsitbox$' "$out"
check_match "control: the host's /tmp file exists" '^host-secret$' "$(vm_ssh 'cat /tmp/nsit-hostfile')"

# ================================================================ 2 the user manager
diag "2: the user manager and what it starts"
out=$(vm_ssh_as $U1 "systemd-run --user --wait -P -q sh -c '$NSPROBE'")
check_eq "systemd-run --user: the ssh shell's namespaces" "$shellns" "$out"
out=$(vm_ssh_as $U1 "systemd-run --user --wait -P -q sh -c 'cat /tmp/nsit-hostfile 2>&1; ip -o link | wc -l; cat /proc/self/uid_map'")
check_nomatch "systemd-run --user: not the host's /tmp" '^host-secret$' "$out"
check_match "systemd-run --user: loopback only" '^1$' "$out"
check_match "systemd-run --user: root unmapped (0 -> an unused id)" '^ +0 +[1-9][0-9]+ +1$' "$out"
out=$(vm_ssh "systemd-run --wait -P -q sh -c '$NSPROBE'")
check_eq "control: a system unit runs in the host's namespaces" "$HOSTNS" "$out"
out=$(vm_ssh_as $U1 "systemd-run --user --wait -P -q sh -c 'echo \$XDG_RUNTIME_DIR; touch \$XDG_RUNTIME_DIR/nsit-x && echo RT=ok'")
check_match "XDG_RUNTIME_DIR is usable inside" '^RT=ok$' "$out"

# A socket-activated user service (Accept=yes: one instance per connection).
vm_ssh_as $U1 "mkdir -p ~/.config/systemd/user ~/.local/share/dbus-1/services
cat >~/.config/systemd/user/nsit-probe.socket <<'EOF'
[Socket]
ListenStream=%t/nsit-probe.sock
Accept=yes
EOF
cat >~/.config/systemd/user/nsit-probe@.service <<'EOF'
[Service]
ExecStart=/bin/sh -c '$NSPROBE'
StandardOutput=socket
EOF
cat >~/nsit-probe.sh <<'EOF'
$NSPROBE >/tmp/nsit-dbus.out
EOF
cat >~/.local/share/dbus-1/services/org.nsit.Probe.service <<EOF
[D-BUS Service]
Name=org.nsit.Probe
Exec=/bin/sh \$HOME/nsit-probe.sh
EOF
systemctl --user daemon-reload && systemctl --user start nsit-probe.socket" >/dev/null
out=$(vm_ssh_as $U1 'python3 -c "
import os, socket
s = socket.socket(socket.AF_UNIX); s.connect(os.environ[\"XDG_RUNTIME_DIR\"] + \"/nsit-probe.sock\")
print(s.makefile().read().strip())"')
check_eq "socket-activated user service: the ssh shell's namespaces" "${shellns% }" "$out"
out=$(vm_ssh_as $U1 'busctl --user call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig >/dev/null 2>&1
busctl --user --timeout=5 call org.nsit.Probe / org.nsit.Probe Ping >/dev/null 2>&1; sleep 0.5; cat /tmp/nsit-dbus.out')
check_eq "D-Bus-activated user service: the ssh shell's namespaces" "${shellns% }" "${out% }"
out=$(vm_ssh_as_tty $U1 "systemd-run --user --pty -q sh -c '$NSPROBE'" | tr -d '\r')
check "systemd-run --user --pty: the ssh shell's namespaces" grep -qF -- "${shellns% }" <<<"$out"

# ================================================================ 3 the keeper
diag "3: the keeper"
keeper=$(vm_ssh "awk '\$1 == \"keeper\" { print \$2 }' /run/nsisolate/$uid1.state")
[[ $keeper =~ ^[0-9]+$ ]] || bail "no set of $U1: $keeper"
cg=$(vm_ssh "cat /proc/$keeper/cgroup")
check_match "the keeper is in a scope of its own in system.slice" "^0::/system.slice/nsisolate-$uid1-$keeper.scope\$" "$cg"
check_nomatch "... not in a session scope" 'session-[0-9]+\.scope' "$cg"
out=$(vm_ssh_as $U1 "kill -9 $keeper 2>&1; echo rc=\$?")
check_match "a signal from inside the set cannot reach the keeper" 'rc=1' "$out"
out=$(vm_ssh_as $U1 'loginctl kill-session "$XDG_SESSION_ID" --signal=SIGKILL 2>&1; true')
sleep 1
check "loginctl kill-session by the user leaves the keeper alive" vm_ssh "kill -0 $keeper"

# ================================================================ 4 logout
diag "4: the last logout"
check "after the last logout no session of $U1 is left" \
	vm_wait 30 "! loginctl list-sessions --no-legend | grep -qw $U1"
check "... and logind stops the manager, which ends the set" \
	vm_wait 60 "[ ! -e /run/nsisolate/$uid1.state ] && ! kill -0 $keeper 2>/dev/null"
check "... the keeper's scope is gone" vm_wait 10 "! systemctl list-units --all --no-legend 'nsisolate-*' | grep -q ."

# ================================================================ 5 KillUserProcesses
diag "5: KillUserProcesses=yes, terminate-user"
vm_ssh 'mkdir -p /etc/systemd/logind.conf.d && printf "[Login]\nKillUserProcesses=yes\n" >/etc/systemd/logind.conf.d/nsit.conf && systemctl restart systemd-logind' >/dev/null
vm_ssh_bg $U1 'echo held; exec sleep 300' # session A, held in the background
check "session A is up" vm_wait 30 "loginctl list-sessions --no-legend | grep -qw $U1"
keeper=$(vm_ssh "awk '\$1 == \"keeper\" { print \$2 }' /run/nsisolate/$uid1.state")
out=$(vm_ssh_as $U1 'echo B; sleep 5 & echo $!')
check_match "session B ran and left a background job" '^B$' "$out"
sleep 2
check "session A is still alive after B ended" vm_ssh "pgrep -u $U1 -x -f 'sleep 300' >/dev/null"
check "the set is still alive" vm_ssh "kill -0 $keeper"
check "B's background job was killed (KillUserProcesses=yes)" vm_ssh "! pgrep -u $U1 -x -f 'sleep 5'"
vm_ssh "loginctl terminate-user $U1" >/dev/null
check "loginctl terminate-user ends the set" \
	vm_wait 60 "[ ! -e /run/nsisolate/$uid1.state ] && ! kill -0 $keeper 2>/dev/null"
check "... and every process of $U1" vm_wait 10 "! pgrep -u $U1"
# A restart of logind may start the user's manager again, with no session
# to stop it later: stop it, which ends the set (nsisolate release).
vm_ssh "rm -f /etc/systemd/logind.conf.d/nsit.conf && systemctl restart systemd-logind &&
	sleep 2 && systemctl stop user@$uid1" >/dev/null
check "after logind's restart: stopping the manager leaves no set" set_gone "$uid1" 60

# ================================================================ 6 pid = true
diag "6: pid = true"
out=$(vm_ssh_as $U2 "readlink /proc/self/ns/pid; systemd-run --user --wait -P true 2>&1; echo rc=\$?")
check_match "pid = true: systemd-run --user fails" 'rc=[1-9]' "$out"
check_match "pid = true: with a clear error" 'Failed to connect to bus' "$out"
check_nomatch "pid = true: the ssh shell is in its own PID namespace" "^$(vm_ssh 'readlink /proc/self/ns/pid')\$" "$out"
check "pid = true: user@ was refused by the module (journal)" \
	vm_ssh "journalctl -q -b | grep -q 'pam_nsisolate(systemd-user:session): refused $U2 .*pid = true'"

# ================================================================ 7 linger
diag "7: loginctl enable-linger"
uid3=$(vm_ssh "id -u $U3")
vm_ssh "loginctl enable-linger $U3" >/dev/null
check "linger: the manager makes the set without a login" vm_wait 60 "[ -e /run/nsisolate/$uid3.state ]"
shellns=$(vm_ssh_as $U3 "$NSPROBE")
[[ $shellns == mnt:* ]] || fail "linger: no ssh login of $U3" "$shellns"
out=$(vm_ssh_as $U3 "systemd-run --user --wait -P -q sh -c '$NSPROBE'")
check_eq "linger: a login joins the manager's set" "$shellns" "$out"
sleep 12 # past UserStopDelaySec
check "linger: the set stays after the logout" vm_ssh "[ -e /run/nsisolate/$uid3.state ]"
vm_ssh "loginctl disable-linger $U3" >/dev/null
check "linger: disable-linger ends the set" vm_wait 60 "[ ! -e /run/nsisolate/$uid3.state ]"

# ================================================================ 8 su, runuser
diag "8: su -l and runuser -l"
out=$(vm_ssh "su -l $U1 -c 'readlink /proc/self/ns/mnt'; runuser -l $U1 -c 'readlink /proc/self/ns/mnt'")
check_nomatch "su -l / runuser -l: not the host's mount namespace" "^$(vm_ssh 'readlink /proc/self/ns/mnt')\$" "$out"
check_match "su -l / runuser -l: both ran" '^mnt:.*' "$out"
check "... their set ends with them" set_gone "$uid1" 60

# ================================================================ 9 PAMName=
diag "9: a PAMName= unit"
vm_ssh 'printf "auth required pam_permit.so\naccount required pam_permit.so\nsession required pam_nsisolate.so\n" >/etc/pam.d/nsit-unit
printf "auth required pam_permit.so\naccount required pam_permit.so\nsession required pam_nsisolate.so opener\n" >/etc/pam.d/nsit-unit-opener' >/dev/null
out=$(vm_ssh "systemd-run -q --wait -P -p PAMName=nsit-unit -p User=$U1 readlink /proc/self/ns/mnt 2>&1; echo rc=\$?")
check_match "without opener: the unit fails" 'rc=[1-9]' "$out"
check "without opener: the journal names the option" \
	vm_ssh "journalctl -q -b | grep -q 'nsit-unit:session): refused $U1 .*add the option \"opener\"'"
out=$(vm_ssh "systemd-run -q --wait -P -p PAMName=nsit-unit-opener -p User=$U1 \
	-p 'ExecStopPost=-+/usr/local/sbin/nsisolate release $U1' sh -c 'readlink /proc/self/ns/mnt; cat /tmp/nsit-hostfile 2>&1; id -u' 2>&1")
check_nomatch "with opener: not the host's mount namespace" "^$(vm_ssh 'readlink /proc/self/ns/mnt')\$" "$out"
check_nomatch "with opener: not the host's /tmp" '^host-secret$' "$out"
check_match "with opener: runs as the user" "^$uid1\$" "$out"
check "with opener: the set ends after the unit (its ExecStopPost= nsisolate release)" \
	set_gone "$uid1" 60
vm_ssh 'rm -f /etc/pam.d/nsit-unit /etc/pam.d/nsit-unit-opener' >/dev/null

# ================================================================ 10 cron
diag "10: cron with mail"
vm_ssh ": >/var/mail/$U1; chown $U1:mail /var/mail/$U1; chmod 0660 /var/mail/$U1
echo '* * * * * echo NSITJOB=\$(readlink /proc/self/ns/mnt) \$(cat /tmp/nsit-hostfile 2>/dev/null || echo private-tmp)' | crontab -u $U1 -" >/dev/null
check "cron: the job's output mail arrives" vm_wait 150 "grep -q NSITJOB= /var/mail/$U1"
out=$(vm_ssh "grep NSITJOB= /var/mail/$U1")
check_match "cron: the job ran in a set (private /tmp)" 'NSITJOB=mnt:.* private-tmp$' "$out"
check_nomatch "cron: not in the host's mount namespace" "NSITJOB=$(vm_ssh 'readlink /proc/self/ns/mnt') " "$out"
check "cron: no MTA failure logged" vm_ssh "! journalctl -q -b -u cron | grep -q 'from MTA'"
vm_ssh "crontab -u $U1 -r" >/dev/null

# ================================================================ 11 leftovers
diag "11: nothing left"
vm_ssh "for u in $U1 $U2 $U3; do loginctl terminate-user \$u 2>/dev/null; done" >/dev/null
check "no state or lock left" vm_wait 60 "! ls /run/nsisolate/ 2>/dev/null | grep -q ."
check "no keeper left" vm_wait 10 "! pgrep -x nsisolate-keep"
check "no keeper scope left" vm_wait 10 "! systemctl list-units --all --no-legend 'nsisolate-*' | grep -q ."

finish
