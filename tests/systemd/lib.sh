# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# tests/systemd/lib.sh: TAP and guest helpers for the suites that run in the
# booted Debian 12 of tests/systemd/vm.sh. Source it, then call vm_boot.
#
#  TAP    pass DESC | fail DESC [DIAG...] | check DESC CMD... |
#         check_eq DESC EXPECTED ACTUAL | check_match DESC ERE TEXT |
#         check_nomatch DESC ERE TEXT | diag TEXT | bail MSG | finish
#  guest  vm_boot (build if needed, boot, install the product, stop at exit) |
#         vm_ssh CMDLINE (root) | vm_ssh_as USER CMDLINE (key auth, real sshd) |
#         vm_ssh_as_tty USER CMDLINE (with a pty) | vm_ssh_bg USER CMDLINE
#         (a login held in the background until the suite ends) |
#         vm_mkuser NAME | vm_pam_append FILE LINE | vm_wait SECS CMDLINE
#
# Without qemu the suite cannot run: with CI set that is a failure, else one
# skip line. Nothing is left behind: the guest is a throwaway overlay,
# stopped at exit; the host keeps only the cached image.
set -u
export LC_ALL=C
NSI_SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VM=$NSI_SRCDIR/tests/systemd/vm.sh
VM_CACHE=${NSI_VM_CACHE:-/var/cache/nsisolate-vm}
TAP_N=0
TAP_FAILED=0
_VM_T=$(mktemp -d /tmp/nsit-vm.XXXXXXXX)
_VM_BG=()

diag() { printf '# %s\n' "$@"; }
pass() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1"
}
fail() {
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $1"
	shift
	[ $# -gt 0 ] && printf '%s\n' "$@" | sed 's/^/# /'
	return 0
}
check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then pass "$desc"; else fail "$desc" "command: $* (exit $?)" "$out"; fi
}
check_eq() {
	if [ "$2" == "$3" ]; then pass "$1"; else fail "$1" "expected: $2" "actual:   $3"; fi
}
check_match() {
	if grep -Eq -- "$2" <<<"$3"; then pass "$1"; else fail "$1" "no line matches /$2/ in:" "$3"; fi
}
check_nomatch() {
	if grep -Eq -- "$2" <<<"$3"; then fail "$1" "a line matches /$2/:" "$(grep -E -- "$2" <<<"$3")"; else pass "$1"; fi
}
bail() {
	echo "Bail out! $1"
	exit 1
}
_vm_cleanup() {
	local p
	for p in "${_VM_BG[@]}"; do kill "$p" 2>/dev/null; done
	"$VM" stop >/dev/null 2>&1
	rm -rf "$_VM_T"
}
trap _vm_cleanup EXIT
finish() {
	_vm_cleanup
	trap - EXIT
	echo "1..$TAP_N"
	echo "# $((TAP_N - TAP_FAILED)) passed, $TAP_FAILED failed"
	[ "$TAP_FAILED" -eq 0 ]
	exit $?
}

_VM_SSH=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
	-o ConnectTimeout=20 -o BatchMode=yes)
vm_port() { cat "${NSI_VM_RUN:-/run/nsisolate-vm}/port"; }
vm_ssh() {
	timeout 300 ssh "${_VM_SSH[@]}" -i "$VM_CACHE/id_ed25519" -p "$(vm_port)" root@127.0.0.1 "exec 2>&1; $1" </dev/null
}
vm_ssh_as() {
	timeout 300 ssh "${_VM_SSH[@]}" -i "$_VM_T/user_key" -p "$(vm_port)" "$1@127.0.0.1" "exec 2>&1; $2" </dev/null
}
vm_ssh_as_tty() {
	timeout 300 ssh -tt "${_VM_SSH[@]}" -i "$_VM_T/user_key" -p "$(vm_port)" "$1@127.0.0.1" "$2" </dev/null 2>&1
}
vm_ssh_bg() {
	ssh "${_VM_SSH[@]}" -i "$_VM_T/user_key" -p "$(vm_port)" "$1@127.0.0.1" "$2" </dev/null >"$_VM_T/bg.$$.${#_VM_BG[@]}" 2>&1 &
	_VM_BG+=($!)
}
# vm_wait SECS CMDLINE: CMDLINE (in the guest, as root) until it succeeds.
vm_wait() {
	local t=$1 end
	end=$(($(date +%s) + t))
	while :; do
		vm_ssh "$2" >/dev/null 2>&1 && return 0
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 2
	done
}
vm_mkuser() {
	timeout 120 ssh "${_VM_SSH[@]}" -i "$VM_CACHE/id_ed25519" -p "$(vm_port)" root@127.0.0.1 \
		"useradd -m -s /bin/bash $1 && install -d -o $1 -g $1 -m 0700 /home/$1/.ssh &&
		cat >/home/$1/.ssh/authorized_keys && chown $1: /home/$1/.ssh/authorized_keys" \
		<"$_VM_T/user_key.pub" >/dev/null || bail "cannot make user $1 in the guest"
}
# vm_pam_append FILE LINE: the stock file plus exactly LINE at its end.
vm_pam_append() { vm_ssh "printf '%s\n' '$2' >>'$1'" >/dev/null || bail "cannot change $1"; }

vm_boot() {
	local stage
	if ! command -v qemu-system-x86_64 >/dev/null && ! "$VM" build >/dev/null 2>&1; then
		if [ -n "${CI:-}" ]; then bail "no qemu: the systemd test bed cannot run"; fi
		echo "ok 1 # SKIP no qemu-system-x86_64 here"
		echo "1..1"
		exit 0
	fi
	"$VM" build >&2 || bail "building the Debian 12 image failed"
	ssh-keygen -q -t ed25519 -N '' -C nsit-user -f "$_VM_T/user_key"
	stage=$_VM_T/stage
	make -s -C "$NSI_SRCDIR" B=build/vm all >&2 || bail "build failed"
	make -s -C "$NSI_SRCDIR" B=build/vm DESTDIR="$stage" install >/dev/null || bail "staged install failed"
	"$VM" start >/dev/null || bail "the guest did not boot"
	"$VM" install "$stage" || bail "installing into the guest failed"
	diag "guest up: $(vm_ssh 'uname -r; systemctl is-system-running' | tr '\n' ' ')"
}
