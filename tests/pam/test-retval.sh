#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/pam/test-retval.sh: exact return codes of the built module through
# libpam (build/tests/pam-retval). Needs root, `make all build/tests/pam-retval
# build/tests/pam-hold` and `make install` (the module runs the INSTALLED
# helper). Makes a root-only temp dir with one PAM service file per case and
# the policy files they name, and the users nsir1 and nsir0 (in group 0);
# removes all of it on exit, also on failure.
set -u
umask 022
export LC_ALL=C

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$ROOT/build
MOD=$B/pam_nsisolate.so
HELPER=/usr/local/libexec/nsisolate/nsisolate-helper
RUN_DIR=/run/nsisolate
# Kept in step with pam-retval.c.
USERS=(nsir1 nsir0)

bail() {
	echo "Bail out! $*"
	exit 1
}

[ "$(id -u)" -eq 0 ] || bail "must run as root"
for f in "$MOD" "$B/tests/pam-retval" "$B/tests/pam-hold"; do
	[ -e "$f" ] || bail "$f missing: make all build/tests/pam-retval build/tests/pam-hold"
done
cmp -s "$B/nsisolate-helper" "$HELPER" || bail "$HELPER is not the built helper: make install"

# A set left behind (a killed run): end its keeper and drop its state.
drop_set() {
	local uid=$1 keeper
	[ -e "$RUN_DIR/$uid.state" ] || [ -e "$RUN_DIR/$uid.lock" ] || return 0
	echo "# removing a leftover set of uid $uid"
	keeper=$(awk '$1 == "keeper" { print $2 }' "$RUN_DIR/$uid.state" 2>/dev/null)
	[ -n "$keeper" ] && kill -KILL "$keeper" 2>/dev/null
	rm -f "$RUN_DIR/$uid.state" "$RUN_DIR/$uid.lock"
}

remove_user() {
	local u=$1 uid
	uid=$(id -u "$u" 2>/dev/null) || return 0
	drop_set "$uid"
	userdel -r "$u" >/dev/null 2>&1 || userdel "$u" >/dev/null 2>&1
}

T=
# shellcheck disable=SC2317 # the EXIT trap calls it
cleanup() {
	local u
	for u in "${USERS[@]}"; do
		remove_user "$u"
	done
	[ -n "$T" ] && rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

T=$(mktemp -d /tmp/nsir.XXXXXXXX) || bail "mktemp failed"
chmod 0700 "$T"
mkdir -m 0755 "$T/etc" "$T/pam.d"

for u in "${USERS[@]}"; do
	remove_user "$u"
done
useradd -m nsir1 || bail "useradd nsir1"
useradd -m -G root nsir0 || bail "useradd nsir0"
uid0=$(id -u nsir0)

# conf NAME TEXT: a policy file $T/etc/NAME.conf, root-owned, 0644.
conf() {
	printf '%s\n' "$2" >"$T/etc/$1.conf"
	chmod 0644 "$T/etc/$1.conf"
}
# service NAME MODULE-ARGS...: the module alone in the session stack. Never
# name one "other": libpam also reads that file as the fallback stack, and the
# module would run twice.
service() {
	local name=$1
	shift
	echo "session required $MOD $*" >"$T/pam.d/$name"
}

conf good 'version = 1;'
# Refused while good's set is live: another policy, whatever on_error says...
conf differ 'version = 1; defaults = { on_error = "allow"; }; policies = ( { name = "exam"; } );'
# ...or the same policy, (defaults), with other settings.
conf changed 'version = 1; defaults = { ipc = false; };'
conf allow 'version = 1; defaults = { on_error = "allow"; };'
conf syntax 'version = 1; defaults = { isolate = true; '
conf unknownkey 'version = 1; defaults = { isolat = true; };'
conf groupw 'version = 1;'
chmod 0664 "$T/etc/groupw.conf"
ln -s good.conf "$T/etc/symlink.conf"
# Valid for the one-letter probe name, 65 characters for nsir1.
conf hostname 'version = 1; defaults = { hostname = "%u%u%u%u%u%u%u%u%u%u%u%u%u"; };'
conf noisolate 'version = 1; defaults = { isolate = false; };'
conf rootid-deny "version = 1; defaults = { userns = { root_id = $uid0; }; };"
conf rootid-allow "version = 1; defaults = { userns = { root_id = $uid0; }; on_error = \"allow\"; };"

for c in good differ changed allow syntax unknownkey groupw symlink hostname noisolate \
	rootid-deny rootid-allow; do
	service "$c" "config=$T/etc/$c.conf"
done
service missing "config=$T/etc/missing.conf"
service badopt "config=$T/etc/good.conf" bogus
service relconfig config=etc/good.conf
service dotconfig "config=$T/etc/../etc/good.conf"

"$B/tests/pam-retval" "$T/pam.d"
rc=$?

# Nothing of ours may outlive the run.
for u in "${USERS[@]}"; do
	uid=$(id -u "$u")
	for f in "$RUN_DIR/$uid.state" "$RUN_DIR/$uid.lock"; do
		[ -e "$f" ] && { echo "# left behind: $f"; rc=1; }
	done
	if pgrep -u "$uid" >/dev/null; then
		echo "# processes of $u left behind:"
		pgrep -a -u "$uid" | sed 's/^/#   /'
		rc=1
	fi
done
if pgrep -f -- "$T/pam.d" >/dev/null; then
	echo "# left behind:"
	pgrep -a -f -- "$T/pam.d" | sed 's/^/#   /'
	rc=1
fi
exit "$rc"
