#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/demo.sh (make demo, as root after make install): two users log in over
# a throwaway sshd on 127.0.0.1 whose PAM service ends with pam_nsisolate
# (policy: version = 1; defaults = { tmp = { method = "tmpfs"; }; };). Each
# writes a file in /tmp from a first login that stays open; a second login of
# each user joins that set and shows, next to the host, what it sees: /tmp,
# id, /proc/self/uid_map, the mount namespace. Everything (users, sshd, PAM
# service, files) is removed at the end. Exit 0 when the isolation shows.
# shellcheck disable=SC2016 # the verdicts are eval'd strings
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/e2e/lib.sh"
need sshd ssh ssh-keygen

PAMDIR=${PAMDIR:-$(pkg-config --variable=libdir pam 2>/dev/null | sed 's,$,/security,' | grep . ||
	echo "/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)/security")}
if [ ! -e "$PAMDIR/pam_nsisolate.so" ] || [ ! -x "$NSI_LIBEXEC/nsisolate-helper" ]; then
	echo "demo: pam_nsisolate is not installed ($PAMDIR/pam_nsisolate.so, $NSI_LIBEXEC/nsisolate-helper): run make install" >&2
	lib_end 1
fi

U1=nsitdemo1
U2=nsitdemo2
W=36 # column width

start_syslog
mkuser $U1
mkuser $U2
authorize $U1
authorize $U2
mkconf demo 'version = 1;
defaults = { tmp = { method = "tmpfs"; }; };'
mkservice nsit-demo-sshd "session include common-session
$(modline)"
start_sshd nsit-demo-sshd

echo "demo: sshd (PAM service nsit-demo-sshd) on 127.0.0.1:$SSH_PORT, policy $CONF:"
sed 's/^/    /' "$CONF"
echo "    /etc/pam.d/nsit-demo-sshd ends with: $(modline)"
echo

failed=
# Files a crashed earlier run left in the host's /tmp would fake a leak.
rm -f /tmp/hello-$U1.txt /tmp/hello-$U2.txt
# First login of each user, one after the other: write a file in /tmp, stay
# logged in (sleep) so that the set lives on.
for u in $U1 $U2; do
	NSI_SSH_TIMEOUT=600 ssh_as $u 'echo "written by $(id -un) in session $$" >/tmp/hello-$(id -un).txt &&
		echo ready && exec sleep 600' </dev/null >"$T/first.$u" 2>&1 &
	defer _nsi_kill $!
	if ! wait_until 20 grep -q '^ready$' "$T/first.$u"; then
		echo "demo: the first login of $u failed:" >&2
		sed 's/^/    /' "$T/first.$u" >&2
		syslog_since_start | grep -E 'nsisolate|nsit-demo-sshd' | tail -n 5 | sed 's/^/    syslog: /' >&2
		failed=1
	fi
done
[ -n "$failed" ] && lib_end 1

VIEW='echo @@tmp; ls -A /tmp | head -n 6; n=$(ls -A /tmp | wc -l); [ "$n" -gt 6 ] && echo "... $n entries in all"
echo @@files; for f in /tmp/hello-*.txt; do [ -e "$f" ] && cat "$f"; done; true
echo @@id; id | tr " " "\n"
echo @@uid_map; cat /proc/self/uid_map
echo @@mnt; readlink /proc/self/ns/mnt'

bash -c "$VIEW" >"$T/view.host" 2>&1
for u in $U1 $U2; do
	ssh_as $u "$VIEW" </dev/null >"$T/view.$u" 2>&1 || {
		echo "demo: the second (joining) login of $u failed:" >&2
		sed 's/^/    /' "$T/view.$u" >&2
		failed=1
	}
done
[ -n "$failed" ] && lib_end 1

# section NAME FILE: the lines of one section of a view.
section() { awk -v s="@@$1" '/^@@/ { on = ($0 == s); next } on' "$2"; }

# side_by_side TITLE SECTION: host | U1 | U2 in columns of width W.
side_by_side() {
	echo "== $1"
	section "$2" "$T/view.host" >"$T/c1"
	section "$2" "$T/view.$U1" >"$T/c2"
	section "$2" "$T/view.$U2" >"$T/c3"
	# An empty column would shift the others left: say so instead.
	for c in "$T/c1" "$T/c2" "$T/c3"; do [ -s "$c" ] || echo "(nothing)" >"$c"; done
	awk -v w=$W 'function cut(s) { return length(s) > w - 1 ? substr(s, 1, w - 2) "~" : s }
		FNR == 1 { f++ } { a[f, FNR] = $0; if (FNR > n) n = FNR }
		END { for (i = 1; i <= n; i++)
			printf "%-" w "s| %-" w "s| %s\n", cut(a[1, i]), cut(a[2, i]), cut(a[3, i]) }' \
		"$T/c1" "$T/c2" "$T/c3"
	echo
}

printf "%-${W}s| %-${W}s| %s\n" "host (root)" "$U1 (ssh)" "$U2 (ssh)"
printf '%s\n' "$(printf '=%.0s' $(seq 1 $((3 * W + 4))))"
side_by_side "ls -A /tmp" tmp
side_by_side "cat /tmp/hello-*.txt" files
side_by_side "id" id
side_by_side "cat /proc/self/uid_map" uid_map
side_by_side "readlink /proc/self/ns/mnt" mnt

# What the demo is meant to show.
ok=1
verdict() {
	if eval "$2"; then echo "  yes: $1"; else echo "  NO:  $1"; ok=; fi
}
# shellcheck disable=SC2034 # used in the verdict strings
{
	mnt_h=$(section mnt "$T/view.host")
	mnt_1=$(section mnt "$T/view.$U1")
	mnt_2=$(section mnt "$T/view.$U2")
}
echo "== what this shows"
verdict "the host's /tmp has neither file" '! ls /tmp/hello-$U1.txt /tmp/hello-$U2.txt >/dev/null 2>&1'
verdict "$U1 sees its own file and not $U2's" \
	'section files "$T/view.$U1" | grep -q "by $U1" && ! section files "$T/view.$U1" | grep -q "by $U2"'
verdict "$U2 sees its own file and not $U1's" \
	'section files "$T/view.$U2" | grep -q "by $U2" && ! section files "$T/view.$U2" | grep -q "by $U1"'
verdict "each user has a mount namespace of their own, not the host's" \
	'[ "$mnt_1" != "$mnt_h" ] && [ "$mnt_2" != "$mnt_h" ] && [ "$mnt_1" != "$mnt_2" ]'
verdict "a second login joins the first login's /tmp (the file written there is visible)" \
	'section files "$T/view.$U1" | grep -q "by $U1"'
echo
echo "demo: logging out and removing the demo users, sshd and PAM service"
[ -n "$ok" ] && lib_end 0
lib_end 1
