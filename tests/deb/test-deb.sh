#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/deb/test-deb.sh: the Debian package, from build to purge, never
# installed on this host (docs/design.md, "Tests"). It builds the package from
# a copy of the tree ("make deb" into a temporary directory), runs lintian on
# it, and installs it into a clean Debian 12 root made by mmdebstrap (cached
# under /var/cache/nsisolate-deb-test/, one tarball per recipe). That root becomes
# the root of a private mount namespace (pivot_root, not chroot: a chrooted
# process may not make user namespaces) with its own /proc, /run and /dev,
# where an sshd of its own listens on 127.0.0.1. There:
#   dpkg -i, and nothing enabled by default;
#   pam-auth-update --enable nsisolate: the module in common-session and, with
#     first_child, common-session-noninteractive; nsisolate check --pam finds
#     it in sshd, login, su, su-l, cron, sudo and systemd-user and no error;
#     after pam_mkhomedir when that profile is on; a planted pam_exec and a
#     systemd-user without the module are errors naming the file;
#   an ssh key login runs in namespaces of its own (root unmapped, own /tmp);
#   an upgrade while a session is open keeps it, and a new login joins it;
#   nsisolate gc removes the /tmp instances of a uid no user has;
#   pam-auth-update --disable takes every line out (logins no longer isolated);
#   dpkg --purge (enabled again first) leaves the root as it was before the
#     install: same files, same PAM files, no "nsisolate" anywhere.
# Runs as root on Debian 12 and installs what it needs (apt-get,
# --no-install-recommends, never an upgrade). What cannot run here is
# skipped, or fails under CI=true. Prints TAP.
set -u
cd "$(dirname "$0")/../.." || exit 1
SRC=$PWD

n=0
failed=0
W=
H=
BG=
U=nsitdeb1
T0=$SECONDS

ok() { # STATUS DESC
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
	fi
	return "$1"
}

skip() { # REASON: what cannot run here; under CI=true a failure
	n=$((n + 1))
	if [ "${CI:-}" = true ]; then
		echo "not ok $n - $1 (CI=true: nothing may be skipped)"
		failed=$((failed + 1))
	else
		echo "ok $n # SKIP $1"
	fi
}

show() { # LABEL TEXT
	printf '%s\n' "$2" | sed "s/^/#   $1: /"
}

phase() {
	echo "# ---- $1 (at $((SECONDS - T0)) s)"
}

finish() {
	echo "# total: $((SECONDS - T0)) s"
	echo "1..$n"
	[ "$failed" -eq 0 ]
	exit $?
}

# A command in the test root, as its root, with a clean environment.
in_root() {
	nsenter -t "$H" -m -r -w -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	local pid
	if [ -n "$H" ] && kill -0 "$H" 2>/dev/null; then
		in_root nsisolate stop "$U" >/dev/null 2>&1
		pid=$(in_root cat /run/nsit-sshd.pid 2>/dev/null)
		[ -n "$pid" ] && kill "$pid" 2>/dev/null
		kill "$H" 2>/dev/null
		wait "$H" 2>/dev/null
	fi
	[ -n "$BG" ] && kill "$BG" 2>/dev/null
	# The root's mounts exist only in the namespace that just ended: here
	# its directory holds plain files.
	[ -n "$W" ] && rm -rf --one-file-system -- "$W"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

if [ "$(id -u)" -ne 0 ]; then
	skip "needs root"
	finish
fi
# shellcheck source=/dev/null
. /etc/os-release
if [ "${ID:-}" != debian ] || [ "${VERSION_ID:-}" != 12 ]; then
	skip "needs Debian 12 (this is ${PRETTY_NAME:-unknown})"
	finish
fi
W=$(mktemp -d /tmp/nsi-test-deb-XXXXXX) || exit 1

# ================================================================ tools
phase "tools"
missing_of() { # PKG...: those not installed
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'ok installed' || echo "$p"
	done
}
apt_install() { # PKG...: the missing ones, without recommends, upgrading nothing
	local missing
	missing=$(missing_of "$@")
	[ -z "$missing" ] && return 0
	echo "# installing: $(echo $missing)"
	# shellcheck disable=SC2086 # one word per package
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends --no-upgrade \
		$missing >>"$W/apt.log" 2>&1 ||
		{ apt-get update -q >>"$W/apt.log" 2>&1 &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
				--no-upgrade $missing >>"$W/apt.log" 2>&1; }
}
# The first alternative of each unmet Build-Depends, without its version.
unmet_build_deps() {
	dpkg-checkbuilddeps 2>&1 | sed -n 's/.*Unmet build dependencies: //p' |
		sed 's/([^)]*)//g; s/\[[^]]*\]//g' |
		awk '{ for (i = 1; i <= NF; i++) { if ($i == "|") { i++; continue } print $i } }'
}
# shellcheck disable=SC2046 # one word per package
if apt_install dpkg-dev debhelper lintian mmdebstrap openssh-client util-linux &&
	apt_install $(unmet_build_deps) && [ -z "$(unmet_build_deps)" ]; then
	ok 0 "tools and Build-Depends present"
else
	skip "cannot install dpkg-dev, debhelper, lintian, mmdebstrap or the Build-Depends"
	show apt "$(tail -n 5 "$W/apt.log" 2>/dev/null)"
	finish
fi

# ================================================================ build, lintian
phase "build"
t=$SECONDS
if make -s -C "$SRC" deb B="$W/b" >"$W/build.log" 2>&1; then
	ok 0 "make deb builds the package from a copy of the tree ($((SECONDS - t)) s)"
else
	ok 1 "make deb builds the package from a copy of the tree"
	show build "$(tail -n 20 "$W/build.log")"
	finish
fi
DEB=$(ls "$W"/b/deb/libpam-nsisolate_*_*.deb)
VERSION=$(dpkg-deb -f "$DEB" Version)
phase "lintian"
# As nobody: lintian unpacks what it is given and needs no privilege.
chmod 0755 "$W" "$W/b" "$W/b/deb"
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=/tmp \
	lintian --fail-on error,warning --display-info "$W"/b/deb/*.changes 2>&1)
rc=$?
show lintian "${out:-(nothing)}"
ok "$rc" "lintian: no error, no warning (overrides in debian/libpam-nsisolate.lintian-overrides)"

# ================================================================ a clean Debian 12 root
phase "Debian 12 root"
# The recipe: its text names the cached tarball.
# shellcheck disable=SC2054 # --include takes a comma-separated list
MM_ARGS=(--variant=minbase
	--include=systemd,libpam-systemd,openssh-server,cron,sudo,procps,libconfig9,libmnl0,libsystemd0
	bookworm)
MIRRORS=("deb http://deb.debian.org/debian bookworm main"
	"deb http://deb.debian.org/debian bookworm-updates main"
	"deb http://deb.debian.org/debian-security bookworm-security main")
KEY=$(printf '%s\n' "${MM_ARGS[@]}" "${MIRRORS[@]}" | sha256sum | cut -c1-16)
CACHE=/var/cache/nsisolate-deb-test/bookworm-$KEY.tar
t=$SECONDS
if [ ! -s "$CACHE" ]; then
	mkdir -p /var/cache/nsisolate-deb-test
	if mmdebstrap --quiet "${MM_ARGS[@]}" "${CACHE%.tar}.new.tar" "${MIRRORS[@]}" \
		>"$W/mmdebstrap.log" 2>&1; then
		mv "${CACHE%.tar}.new.tar" "$CACHE"
		printf 'mmdebstrap %s TARGET %s\n' "${MM_ARGS[*]}" "${MIRRORS[*]}" >"${CACHE%.tar}.recipe"
	else
		rm -f "${CACHE%.tar}.new.tar"
		skip "mmdebstrap cannot make a Debian 12 root (network?)"
		show mmdebstrap "$(tail -n 5 "$W/mmdebstrap.log")"
		finish
	fi
fi
R=$W/root
mkdir "$R" && tar -C "$R" --numeric-owner -xpf "$CACHE"
cp "$DEB" "$R/tmp/pkg.deb"

# The holder: the namespace's first process, root of the test system.
unshare --mount --propagation private -- /bin/sh -c '
	set -e
	R=$1
	mount --bind "$R" "$R"
	mount -t proc proc "$R/proc"
	mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$R/run"
	mount -t tmpfs -o mode=0755,nosuid tmpfs "$R/dev"
	mknod -m 0666 "$R/dev/null" c 1 3
	mknod -m 0666 "$R/dev/zero" c 1 5
	mknod -m 0666 "$R/dev/full" c 1 7
	mknod -m 0666 "$R/dev/random" c 1 8
	mknod -m 0666 "$R/dev/urandom" c 1 9
	mknod -m 0666 "$R/dev/tty" c 5 0
	mkdir -m 0755 "$R/dev/pts"
	mkdir -m 1777 "$R/dev/shm"
	mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$R/dev/pts"
	ln -s pts/ptmx "$R/dev/ptmx"
	mkdir -m 0755 "$R/run/sshd"
	cd "$R"
	mkdir .oldroot
	pivot_root . .oldroot
	umount -l /.oldroot
	rmdir /.oldroot
	exec sleep infinity
' sh "$R" >"$W/holder.log" 2>&1 &
H=$!
for _ in $(seq 50); do
	[ "$(cat "/proc/$H/comm" 2>/dev/null)" = sleep ] && break
	sleep 0.1
done
if [ "$(cat "/proc/$H/comm" 2>/dev/null)" = sleep ] && [ "$(in_root cat /etc/debian_version)" != "" ]; then
	ok 0 "a clean Debian 12 root of its own mount namespace ($((SECONDS - t)) s, $(in_root cat /etc/debian_version))"
else
	skip "cannot make a private mount namespace with the Debian 12 root"
	show holder "$(cat "$W/holder.log")"
	H=
	finish
fi

# The test user, before the snapshot: what purge must restore comes after.
in_root useradd -m -s /bin/bash "$U" || exit 1
UID1=$(in_root id -u "$U")
ssh-keygen -q -t ed25519 -N '' -f "$W/key" || exit 1
install -d -m 0700 "$R/home/$U/.ssh"
install -m 0600 "$W/key.pub" "$R/home/$U/.ssh/authorized_keys"
in_root chown -R "$U:$U" "/home/$U/.ssh"
in_root touch /tmp/nsit-host-marker

snapshot() { # the root's files (name, type, mode, owner) and the PAM files' contents
	in_root find / -xdev \( -path /var/log -o -path /var/cache/debconf \
		-o -path /var/lib/dpkg -o -path /tmp -o -path /var/tmp \) -prune \
		-o -printf '%p %y %m %u\n' | sort
	in_root sh -c 'cd / && md5sum etc/pam.d/* var/lib/pam/* usr/lib/pam.d/*'
}
snapshot >"$W/before"

# ================================================================ install
phase "install"
out=$(in_root dpkg -i /tmp/pkg.deb 2>&1)
ok $? "dpkg -i $(basename "$DEB") on the clean root" || show dpkg "$out"
out=$(in_root grep -rl pam_nsisolate /etc/pam.d)
[ -z "$out" ]
ok $? "installed, nothing enabled: no pam_nsisolate in /etc/pam.d (Default: no)" ||
	show found "$out"
out=$(in_root cat /usr/lib/systemd/system/user@.service.d/nsisolate.conf 2>&1)
grep -qx 'ExecStopPost=-+/usr/sbin/nsisolate release %i' <<<"$out"
ok $? "the user@.service drop-in runs /usr/sbin/nsisolate release" || show drop-in "$out"
in_root test -L /etc/systemd/system/timers.target.wants/nsisolate-gc.timer
ok $? "the nsisolate-gc timer is enabled"
out=$(in_root nsisolate check 2>&1)
ok $? "nsisolate check: the shipped policy is clean" || show check "$out"

# ================================================================ pam-auth-update
phase "pam-auth-update"
out=$(in_root pam-auth-update --enable nsisolate 2>&1)
rc=$?
[ "$rc" -eq 0 ] && [ -z "$out" ]
ok $? "pam-auth-update --enable nsisolate: exit 0, not a word (the profile parses cleanly)" ||
	show pam-auth-update "$out"
cs=$(in_root grep -v '^#' /etc/pam.d/common-session)
csn=$(in_root grep -v '^#' /etc/pam.d/common-session-noninteractive)
[ "$(tail -n 1 <<<"$cs" | tr -s ' \t' ' ')" = "session required pam_nsisolate.so " ]
ok $? "common-session: pam_nsisolate.so required, last (after pam_systemd)" || show common-session "$cs"
[ "$(tail -n 1 <<<"$csn" | tr -s ' \t' ' ')" = "session required pam_nsisolate.so first_child" ]
ok $? "common-session-noninteractive: with first_child, last" || show noninteractive "$csn"
out=$(in_root nsisolate check --pam 2>"$W/err")
rc=$?
err=$(cat "$W/err")
show "check --pam" "$out"
[ "$rc" -eq 0 ] && [ -z "$err" ]
ok $? "nsisolate check --pam on stock Debian 12 with the profile: exit 0, no warning" ||
	show stderr "$err"
for s in sshd login su su-l sudo-i; do
	grep -qx "$s: pam_nsisolate.so required at /etc/pam.d/common-session:[0-9]*" <<<"$out"
	ok $? "check --pam: $s has the module (common-session)"
done
for s in cron sudo; do
	grep -qx "$s: pam_nsisolate.so required first_child at /etc/pam.d/common-session-noninteractive:[0-9]*" <<<"$out"
	ok $? "check --pam: $s has it with first_child (common-session-noninteractive)"
done
grep -qx 'systemd-user: pam_nsisolate.so required first_child at /etc/pam.d/common-session-noninteractive:[0-9]* (opener mode)' <<<"$out"
ok $? "check --pam: systemd-user (/usr/lib/pam.d) has it, in opener mode"

out=$(in_root pam-auth-update --enable mkhomedir 2>&1)
cs=$(in_root grep -E '^session' /etc/pam.d/common-session | awk '{ print $3 }' | tr '\n' ' ')
[[ "$cs" == *"pam_mkhomedir.so pam_nsisolate.so "* ]] && in_root nsisolate check --pam >/dev/null 2>&1
ok $? "with the mkhomedir profile on, pam_mkhomedir comes before pam_nsisolate (Priority -1)" ||
	show common-session "$cs"
in_root pam-auth-update --disable mkhomedir >/dev/null 2>&1

cp "$R/etc/pam.d/sshd" "$W/sshd.orig"
echo "session optional pam_exec.so /bin/true" >>"$R/etc/pam.d/sshd"
line=$(wc -l <"$R/etc/pam.d/sshd")
in_root nsisolate check --pam >/dev/null 2>"$W/err"
rc=$?
err=$(cat "$W/err")
[ "$rc" -eq 1 ] && grep -q "^/etc/pam.d/sshd:$line: pam_exec.so runs after pam_nsisolate.so (/etc/pam.d/common-session:[0-9]*) and forks" <<<"$err"
ok $? "a pam_exec planted at the end of sshd: exit 1, named /etc/pam.d/sshd:$line" ||
	show stderr "$err"
cp "$W/sshd.orig" "$R/etc/pam.d/sshd"
in_root sh -c 'grep -v common-session-noninteractive /usr/lib/pam.d/systemd-user >/etc/pam.d/systemd-user'
in_root nsisolate check --pam >/dev/null 2>"$W/err"
rc=$?
err=$(cat "$W/err")
[ "$rc" -eq 1 ] && grep -q '^/etc/pam.d/systemd-user: no pam_nsisolate.so in the session stack of systemd-user' <<<"$err"
ok $? "an /etc/pam.d/systemd-user without the module: exit 1, named" || show stderr "$err"
in_root rm /etc/pam.d/systemd-user

# ================================================================ an ssh login
phase "ssh"
PORT=$((20000 + $$ % 20000))
for _ in 1 2 3 4 5 6 7 8; do
	ss -Hltn "sport = :$PORT" 2>/dev/null | grep -q . || break
	PORT=$((PORT + 1))
done
in_root /usr/sbin/sshd -p "$PORT" -o ListenAddress=127.0.0.1 -o PidFile=/run/nsit-sshd.pid \
	-o UsePAM=yes -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no \
	-E /run/nsit-sshd.log
for _ in $(seq 50); do
	in_root test -s /run/nsit-sshd.pid && break
	sleep 0.1
done
SSHD=$(in_root cat /run/nsit-sshd.pid 2>/dev/null)
ssh_as() { # CMD
	ssh -q -i "$W/key" -p "$PORT" -o BatchMode=yes -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o ConnectTimeout=10 "$U@127.0.0.1" "$1" 2>&1
}
PROBE='readlink /proc/self/ns/mnt /proc/self/ns/user; cat /proc/self/uid_map; ls -A /tmp; echo end'
HOSTNS=$(readlink "/proc/$SSHD/ns/mnt" "/proc/$SSHD/ns/user" 2>/dev/null)
out=$(ssh_as "$PROBE")
sess_mnt=$(sed -n 1p <<<"$out")
[ -n "$SSHD" ] && grep -qx end <<<"$out"
ok $? "ssh key login as $U (sshd of the test root on 127.0.0.1:$PORT)" ||
	{ show ssh "$out"; show sshd "$(in_root cat /run/nsit-sshd.log 2>&1 | tail -n 5)"; }
[ -n "$sess_mnt" ] && [ "$(sed -n 1,2p <<<"$out")" != "$HOSTNS" ] &&
	[ "$sess_mnt" != "$(sed -n 1p <<<"$HOSTNS")" ] &&
	[ "$(sed -n 2p <<<"$out")" != "$(sed -n 2p <<<"$HOSTNS")" ]
ok $? "the ssh session runs in a mount and a user namespace of its own" ||
	{ show session "$out"; show sshd "$HOSTNS"; }
# uid_map: INSIDE OUTSIDE COUNT; no range may take in the host's uid 0.
map=$(grep -E '^ *[0-9]+ +[0-9]+ +[0-9]+$' <<<"$out")
[ -n "$map" ] && awk '$2 == 0 || ($2 < 1 && $2 + $3 > 0) { exit 1 }' <<<"$map" &&
	! grep -qx nsit-host-marker <<<"$out"
ok $? "the host's root is not mapped in it, and it has a /tmp of its own" || show session "$out"

# ================================================================ upgrade with a live session
phase "upgrade"
ssh_as 'echo $$; exec sleep 120' >"$W/held" &
BG=$!
for _ in $(seq 100); do
	[ -s "$W/held" ] && break
	sleep 0.1
done
held=$(head -n 1 "$W/held")
held_mnt=$(readlink "/proc/$held/ns/mnt" 2>/dev/null)
rm -rf "$W/repack"
dpkg-deb -R "$DEB" "$W/repack" &&
	sed -i "s/^Version: .*/Version: $VERSION+nsit1/" "$W/repack/DEBIAN/control" &&
	dpkg-deb -b "$W/repack" "$R/tmp/up.deb" >/dev/null
out=$(in_root dpkg -i /tmp/up.deb 2>&1)
rc=$?
[ "$rc" -eq 0 ] && [ "$(in_root dpkg-query -W -f='${Version}' libpam-nsisolate)" = "$VERSION+nsit1" ]
ok $? "upgrade to $VERSION+nsit1 while a session is open" || show dpkg "$out"
in_root grep -q pam_nsisolate /etc/pam.d/common-session
ok $? "the upgrade keeps the profile enabled"
[ -n "$held_mnt" ] && [ "$(readlink "/proc/$held/ns/mnt" 2>/dev/null)" = "$held_mnt" ] &&
	in_root nsisolate list | grep -q "^$U .* live "
ok $? "the open session and its set live on after the upgrade" ||
	show list "$(in_root nsisolate list 2>&1)"
out=$(ssh_as "$PROBE")
[ -n "$held_mnt" ] && [ "$(sed -n 1p <<<"$out")" = "$held_mnt" ]
ok $? "a new login after the upgrade joins the live set" || show session "$out"
kill "$held" 2>/dev/null
wait "$BG" 2>/dev/null
BG=
for _ in $(seq 50); do
	in_root nsisolate list 2>/dev/null | grep -qx 'no live sets' && break
	sleep 0.1
done
out=$(in_root nsisolate list 2>&1)
[ "$out" = "no live sets" ]
ok $? "the last logout ends the set" || show list "$out"

# ================================================================ gc
phase "gc"
in_root sh -c "install -d -m 0700 /var/lib/nsisolate /var/lib/nsisolate/4000000123 \
	/var/lib/nsisolate/$UID1 &&
	install -d -m 1777 /var/lib/nsisolate/4000000123/tmp /var/lib/nsisolate/$UID1/tmp &&
	mkdir -p /var/lib/nsisolate/4000000123/tmp/a/b && touch /var/lib/nsisolate/4000000123/tmp/a/b/f &&
	ln -s /etc /var/lib/nsisolate/4000000123/tmp/etc && touch /var/lib/nsisolate/$UID1/tmp/mine"
out=$(in_root nsisolate gc 2>&1)
[ "$out" = "gc (no such user): removed the /tmp instances of uid 4000000123, /var/lib/nsisolate/4000000123" ] &&
	! in_root test -e /var/lib/nsisolate/4000000123 && in_root test -s /etc/passwd &&
	in_root test -e "/var/lib/nsisolate/$UID1/tmp/mine"
ok $? "nsisolate gc removes the /tmp instances of a uid without a user, no one else's" ||
	show gc "$out"

# ================================================================ disable
phase "disable"
out=$(in_root pam-auth-update --disable nsisolate 2>&1)
left=$(in_root grep -rn pam_nsisolate /etc/pam.d)
[ -z "$out" ] && [ -z "$left" ]
ok $? "pam-auth-update --disable nsisolate takes every line out of /etc/pam.d" ||
	{ show pam-auth-update "$out"; show left "$left"; }
out=$(in_root nsisolate check --pam 2>&1 | tail -n 1)
grep -q ', 0 with pam_nsisolate.so: ok$' <<<"$out"
ok $? "check --pam after --disable: no service has it" || show check "$out"
out=$(ssh_as "$PROBE")
[ "$(sed -n 1p <<<"$out")" = "$(sed -n 1p <<<"$HOSTNS")" ]
ok $? "an ssh login after --disable runs in sshd's namespaces" || show session "$out"

# ================================================================ purge
phase "purge"
in_root pam-auth-update --enable nsisolate >/dev/null 2>&1
out=$(in_root dpkg --purge libpam-nsisolate 2>&1)
ok $? "dpkg --purge while enabled" || show dpkg "$out"
snapshot >"$W/after"
diff=$(diff "$W/before" "$W/after")
[ -z "$diff" ]
ok $? "after purge the root's files and its PAM files are as before the install" ||
	show diff "$diff"
# dpkg's own records and debconf's backup of its previous state aside.
left=$(in_root grep -rIl nsisolate /etc /usr /var/lib /var/cache/debconf /run \
	--exclude-dir=dpkg --exclude=nsit-sshd.log --exclude='*-old' 2>/dev/null)
[ -z "$left" ]
ok $? "no \"nsisolate\" left under /etc, /usr, /var/lib, /var/cache/debconf, /run" ||
	show left "$left"

finish
