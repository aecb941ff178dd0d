#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/systemd/vm.sh: a booted Debian 12 (systemd as PID 1, logind,
# dbus-user-session, libpam-systemd, openssh-server, cron with exim4) under
# qemu, for the tests of tests/systemd/ and for "make systemd-shell".
#
#   vm.sh build            build the image if its recipe changed (cached in
#                          $NSI_VM_CACHE, default /var/cache/nsisolate-vm)
#   vm.sh start            boot a fresh overlay of it; prints the ssh port
#   vm.sh ssh CMD...       run CMD as root in the guest (stdin passed on)
#   vm.sh install STAGE    copy a staged "make install DESTDIR=STAGE" tree in
#   vm.sh shell            an interactive root shell
#   vm.sh stop             power off (qemu killed after 30 s), remove the overlay
#   vm.sh status | clean   is it running | remove the cache
#
# The root is built with mmdebstrap from the host's apt sources; the guest
# boots Debian's own kernel (6.1) with a small initramfs. qemu runs with
# software emulation (TCG) unless kvm_intel or kvm_amd is loaded: the
# /dev/kvm of these build machines cannot run a stock kernel. The guest's
# only network is qemu's user-mode network; its sshd is forwarded to
# 127.0.0.1:PORT on the host. Every boot starts from the pristine image
# (a qcow2 overlay), so tests cannot leak into the next run.
set -euo pipefail

CACHE=${NSI_VM_CACHE:-/var/cache/nsisolate-vm}
RUN=${NSI_VM_RUN:-/run/nsisolate-vm}
SUITE=bookworm
PKGS="systemd systemd-sysv udev dbus dbus-user-session libpam-systemd libnss-systemd
openssh-server sudo iproute2 procps psmisc util-linux pamtester cron
exim4-daemon-light bsd-mailx libconfig9 libcap2 libmnl0 libnftnl11 nftables
libsystemd0 python3-minimal strace linux-image-amd64 initramfs-tools
ca-certificates less"

log() { echo "[vm $(date +%H:%M:%S)] $*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# The recipe: everything that shapes the image. Its hash names the cache.
recipe() {
	declare -f customize essential
	echo "$SUITE $PKGS v3"
}

# Before any package is configured: a small initramfs that loads virtio.
essential() {
	local root=$1
	mkdir -p "$root/etc/initramfs-tools/conf.d" "$root/etc/initramfs-tools/hooks"
	echo 'MODULES=list' >"$root/etc/initramfs-tools/conf.d/nsit-vm"
	cat >"$root/etc/initramfs-tools/hooks/nsit-vm" <<'EOF'
#!/bin/sh
[ "$1" = prereqs ] && exit 0
. /usr/share/initramfs-tools/hook-functions
for m in virtio_pci virtio_blk virtio_net crc32c_generic ext4; do
	manual_add_modules "$m"
	echo "$m" >>"${DESTDIR}/conf/modules"
done
EOF
	chmod 0755 "$root/etc/initramfs-tools/hooks/nsit-vm"
	# No firmware, drivers or docs the VM never uses.
	mkdir -p "$root/etc/dpkg/dpkg.cfg.d"
	cat >"$root/etc/dpkg/dpkg.cfg.d/nsit-vm" <<'EOF'
path-exclude=/usr/share/doc/*
path-exclude=/usr/share/man/*
path-exclude=/usr/share/locale/*
path-exclude=/lib/modules/*/kernel/drivers/gpu/*
path-exclude=/lib/modules/*/kernel/drivers/media/*
path-exclude=/lib/modules/*/kernel/drivers/net/wireless/*
path-exclude=/lib/modules/*/kernel/drivers/net/ethernet/*
path-exclude=/lib/modules/*/kernel/drivers/infiniband/*
path-exclude=/lib/modules/*/kernel/drivers/usb/*
path-exclude=/lib/modules/*/kernel/sound/*
path-exclude=/lib/modules/*/kernel/drivers/staging/*
path-exclude=/lib/modules/*/kernel/drivers/scsi/*
path-exclude=/lib/modules/*/kernel/drivers/bluetooth/*
path-exclude=/lib/modules/*/kernel/drivers/hid/*
path-exclude=/lib/modules/*/kernel/drivers/input/*
path-exclude=/lib/modules/*/kernel/drivers/iio/*
path-exclude=/lib/modules/*/kernel/drivers/md/*
path-exclude=/lib/modules/*/kernel/net/wireless/*
path-exclude=/lib/modules/*/kernel/net/mac80211/*
EOF
}

# After the packages: a machine that boots fast and takes our key.
customize() {
	local root=$1 pub=$2
	echo nsit-vm >"$root/etc/hostname"
	printf '127.0.0.1 localhost\n127.0.1.1 nsit-vm\n' >"$root/etc/hosts"
	# A fixed machine-id: no first-boot logic.
	echo 4e5349544d4143484e4e4e4e4e4e4e31 >"$root/etc/machine-id"
	echo '/dev/vda / ext4 rw,discard,errors=remount-ro 0 1' >"$root/etc/fstab"
	mkdir -p "$root/etc/systemd/network" "$root/root/.ssh"
	cat >"$root/etc/systemd/network/10-nsit-vm.network" <<'EOF'
# qemu's user-mode network; never matches outside a VM.
[Match]
Name=en* eth*
Virtualization=vm
[Network]
Address=10.0.2.15/24
Gateway=10.0.2.2
DNS=10.0.2.3
EOF
	chroot "$root" systemctl enable systemd-networkd >/dev/null 2>&1
	for u in systemd-firstboot.service systemd-networkd-wait-online.service \
		apt-daily.timer apt-daily-upgrade.timer e2scrub_reap.service e2scrub_all.timer \
		fstrim.timer man-db.timer logrotate.timer dpkg-db-backup.timer \
		getty@tty1.service; do
		ln -sf /dev/null "$root/etc/systemd/system/$u"
	done
	install -m 0600 "$pub" "$root/root/.ssh/authorized_keys"
	chmod 0700 "$root/root/.ssh"
	# sshd: keys only, no DNS lookups of the client (10.0.2.2).
	printf 'PermitRootLogin prohibit-password\nUseDNS no\nPasswordAuthentication no\n' \
		>"$root/etc/ssh/sshd_config.d/nsit-vm.conf"
	# exim4: local delivery only (Debian's default), quick queue runs.
	sed -i "s/^dc_eximconfig_configtype=.*/dc_eximconfig_configtype='local'/" \
		"$root/etc/exim4/update-exim4.conf.conf"
	chroot "$root" update-exim4.conf >/dev/null 2>&1 || true
	# The empty root password of a minbase root: no console login at all.
	chroot "$root" passwd -l root >/dev/null
}

host_packages() {
	local missing=() p
	for p in mmdebstrap qemu-system-x86 qemu-utils e2fsprogs openssh-client; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing ${missing[*]}"
	# Only missing packages, never an upgrade of an installed one.
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
		{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends "${missing[@]}" >/dev/null; }
}

hash_now() { recipe | sha256sum | cut -c1-16; }

cmd_build() {
	local h dir t0
	host_packages
	mkdir -p "$CACHE"
	chmod 0700 "$CACHE"
	h=$(hash_now)
	if [ -e "$CACHE/image-$h/ready" ]; then
		return 0
	fi
	t0=$(date +%s)
	log "building the image $h (mmdebstrap, about a minute)"
	rm -rf "$CACHE"/image-* "$CACHE/tmp"
	mkdir -p "$CACHE/tmp" "$CACHE/image-$h"
	[ -e "$CACHE/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C nsit-vm -f "$CACHE/id_ed25519"
	dir=$CACHE/tmp/root
	# mmdebstrap runs a hook file with the root as $1.
	{ echo '#!/bin/bash'; echo 'set -e'; declare -f essential; echo 'essential "$1"'; } \
		>"$CACHE/tmp/essential.sh"
	{ echo '#!/bin/bash'; echo 'set -e'; declare -f customize; echo "customize \"\$1\" $CACHE/id_ed25519.pub"; } \
		>"$CACHE/tmp/customize.sh"
	chmod 0755 "$CACHE/tmp/essential.sh" "$CACHE/tmp/customize.sh"
	# shellcheck disable=SC2086 # the package list is split on purpose
	mmdebstrap --variant=minbase --include="$(echo $PKGS | tr ' ' ,)" \
		--aptopt='Apt::Install-Recommends "false"' \
		--essential-hook="$CACHE/tmp/essential.sh" \
		--customize-hook="$CACHE/tmp/customize.sh" \
		"$SUITE" "$dir" >"$CACHE/tmp/mmdebstrap.log" 2>&1 ||
		die "mmdebstrap failed: $(tail -5 "$CACHE/tmp/mmdebstrap.log")"
	cp "$dir"/boot/vmlinuz-* "$CACHE/image-$h/vmlinuz"
	cp "$dir"/boot/initrd.img-* "$CACHE/image-$h/initrd"
	mkfs.ext4 -q -F -L nsitvm -d "$dir" "$CACHE/image-$h/base.img" 6G ||
		die "mkfs.ext4 failed"
	rm -rf "$CACHE/tmp"
	touch "$CACHE/image-$h/ready"
	log "image built in $(($(date +%s) - t0)) s"
}

image() { echo "$CACHE/image-$(hash_now)"; }
port() { cat "$RUN/port" 2>/dev/null; }
SSH_OPTS=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
	-o ConnectTimeout=10 -o ServerAliveInterval=10 -o BatchMode=yes)
guest_ssh() {
	ssh "${SSH_OPTS[@]}" -i "$CACHE/id_ed25519" -p "$(port)" root@127.0.0.1 "$@"
}

free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

accel() {
	if [ -n "${NSI_VM_ACCEL:-}" ]; then
		echo "$NSI_VM_ACCEL"
	elif [ -w /dev/kvm ] && grep -qE '^(kvm_intel|kvm_amd) ' /proc/modules; then
		echo kvm
	else
		echo tcg
	fi
}

cmd_start() {
	local img p acc t0 i
	img=$(image)
	[ -e "$img/ready" ] || die "no image: run vm.sh build"
	[ -e "$RUN/pid" ] && kill -0 "$(cat "$RUN/pid")" 2>/dev/null && die "already running (vm.sh stop)"
	mkdir -p "$RUN"
	chmod 0700 "$RUN"
	rm -f "$RUN"/*
	qemu-img create -q -f qcow2 -F raw -b "$img/base.img" "$RUN/overlay.qcow2"
	p=$(free_port)
	echo "$p" >"$RUN/port"
	acc=$(accel)
	local accopt=(-accel tcg,thread=multi,tb-size=256 -cpu max)
	[ "$acc" == kvm ] && accopt=(-accel kvm -cpu host)
	log "booting ($acc, 2 vCPU, 2 GiB), ssh on 127.0.0.1:$p"
	t0=$(date +%s)
	nice -n 5 qemu-system-x86_64 "${accopt[@]}" -smp 2 -m 2048 -machine q35 \
		-kernel "$img/vmlinuz" -initrd "$img/initrd" \
		-append "root=/dev/vda rw console=ttyS0 quiet systemd.show_status=0 mitigations=off" \
		-drive "file=$RUN/overlay.qcow2,if=virtio,format=qcow2,cache=unsafe" \
		-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$p-:22" -device virtio-net-pci,netdev=n0 \
		-display none -serial "file:$RUN/console.log" -monitor none \
		-pidfile "$RUN/pid" -daemonize 9>&- ||
		die "qemu did not start"
	for ((i = 0; i < 240; i++)); do
		if guest_ssh 'systemctl is-system-running --wait >/dev/null 2>&1; true' </dev/null 2>/dev/null; then
			log "up after $(($(date +%s) - t0)) s: $(guest_ssh 'systemctl is-system-running' </dev/null 2>/dev/null)"
			echo "$p"
			return 0
		fi
		kill -0 "$(cat "$RUN/pid" 2>/dev/null)" 2>/dev/null || break
		sleep 2
	done
	log "the guest did not come up; console:"
	tail -20 "$RUN/console.log" >&2 || true
	cmd_stop
	return 1
}

cmd_stop() {
	local pid i
	pid=$(cat "$RUN/pid" 2>/dev/null) || { rm -rf "$RUN"; return 0; }
	if kill -0 "$pid" 2>/dev/null; then
		guest_ssh 'systemctl poweroff --no-block' </dev/null >/dev/null 2>&1 || true
		for ((i = 0; i < 30; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -rf "$RUN"
}

# install STAGE: the staged tree, unpacked over the guest's root.
cmd_install() {
	local stage=$1
	[ -d "$stage" ] || die "no such stage $stage"
	tar -C "$stage" -cf - . | guest_ssh 'tar -C / --no-same-owner --keep-directory-symlink --no-overwrite-dir -xf - && ldconfig && systemctl daemon-reload'
}

case ${1:-} in
build) cmd_build ;;
start) cmd_start ;;
stop) cmd_stop ;;
ssh)
	shift
	guest_ssh "$@"
	;;
install) cmd_install "${2:?stage directory}" ;;
shell) ssh "${SSH_OPTS[@]}" -t -i "$CACHE/id_ed25519" -p "$(port)" root@127.0.0.1 ;;
status) [ -e "$RUN/pid" ] && kill -0 "$(cat "$RUN/pid")" 2>/dev/null && echo "running, ssh port $(port)" || echo stopped ;;
clean)
	cmd_stop
	rm -rf "$CACHE"
	;;
*)
	sed -n '3,15p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
	;;
esac
