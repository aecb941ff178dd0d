#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/e2e/test-network.sh: network.mode "none" and "veth" (leases, nft
# chains, teardown: docs/design.md, "Process model" and "State") through real
# sshd logins, as root after `make all build/tests/pam-hold && make install`.
#
# Traffic flows only between a session and addresses this test made on this
# machine: the host end of the session's veth (network+1), the session end
# (network+2) and loopback. Every negative check has a positive control.
#
#  1 network.mode "none": only lo (up) inside; a host listener on 127.0.0.1 is
#    unreachable inside and reachable from the host; two logins of one user
#    reach each other on 127.0.0.1; another user's listener is unreachable.
#  2 "veth", host_access = true, network.dns, default subnet: eth0 has
#    network+2/30 and no IPv6 address, both ends disable_ipv6; the session
#    reaches a listener on the host end and the host reaches one inside; an
#    `ssh -L` forward reaches the session's 127.0.0.1, not the host's; the
#    session's /etc/resolv.conf lists network.dns, the host's is untouched;
#    two users get distinct /30s and cannot reach each other; after the last
#    logout no link, nft chain, lease or staged file is left. A symlinked
#    /etc/resolv.conf (in a private mount namespace of the test) is covered,
#    its target never followed.
#  3 "veth", host_access = false: the host-end listener is blocked (the host
#    still reaches the session, the session still has its address).
#  4 kill -9 of the keeper: with a session still inside, and with none (the
#    link, chains and lease then wait for the next login); the next login
#    works and nothing of the old set is left.
#  4b the last logout of a veth set returns at once although its teardown
#    cannot run (the test holds net.lock); the detached helper holds the
#    user's lock meanwhile, so a new login waits, then works; nothing left.
#  5 refusals with a syslog line naming the cause: a bad subnet, an exhausted
#    pool (a /30 and two users), a pool covered by an address of the host (on
#    a veth pair the test makes and removes; with a /28 pool the lease skips
#    it), nat without IPv4 forwarding; and nat with forwarding in a private
#    network namespace of the test (masquerade chain).
# shellcheck disable=SC2016 # remote command lines are single-quoted on purpose
# shellcheck disable=SC2317,SC2119 # helpers called through check/wait_until/defer
# shellcheck disable=SC2012 # ls of a root-only directory of fixed names
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
need pamtester sshd ssh ip nft python3 unshare awk

HOLD=$NSI_BUILD/tests/pam-hold
need_test_bins pam-hold

U1=nsitnet1
U2=nsitnet2
start_syslog
mkuser $U1
mkuser $U2
UID1=$(uid_of $U1)
UID2=$(uid_of $U2)
authorize $U1
authorize $U2
RUN=$NSI_STATE_DIR

# ---------------------------------------------------------------- helpers

for u in "$UID1" "$UID2"; do
	drop_set "$u"
	defer drop_set "$u"
done

# A TCP listener: binds ADDR PORT, forks a server that answers each
# connection with TAG for at most 120 s, prints the server's pid, returns
# once it listens. No single quote inside: it also runs in sessions.
LISTENER='import os, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(16)
pid = os.fork()
if pid:
    print(pid, flush=True)
    os._exit(0)
os.setsid()
n = os.open(os.devnull, os.O_RDWR)
for fd in (0, 1, 2):
    os.dup2(n, fd)
s.settimeout(1)
end = time.time() + 120
while time.time() < end:
    try:
        c, _ = s.accept()
    except OSError:
        continue
    c.sendall((sys.argv[3] + "\n").encode())
    c.close()'
# Connects to ADDR PORT (3 s at most) and prints the first line it gets.
CONNECT='import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
s.settimeout(3)
print(s.recv(100).decode().strip())'

# listen_host ADDR PORT TAG: a listener in the host, killed at cleanup.
listen_host() {
	local pid
	pid=$(python3 -c "$LISTENER" "$1" "$2" "$3") || return 1
	defer kill "$pid"
	return 0
}
# connect_host ADDR PORT / connect_in USER ADDR PORT
connect_host() { python3 -c "$CONNECT" "$1" "$2" 2>&1; }
connect_in() { ssh_as "$1" "python3 -c '$CONNECT' $2 $3" </dev/null 2>&1; }
# inside_port: a port for listeners inside sessions (their own network).
inside_port() { echo $((20000 + RANDOM % 20000)); }


# listen_in USER ADDR PORT TAG: a login that starts a listener and stays.
listen_in() {
	hold_ssh "$1" "python3 -c '$LISTENER' $2 $3 $4 >/dev/null"
}

# lease_net UID: the leased /30 network address ("" when there is none).
lease_net() { awk '$1 == "net" { sub("/30", "", $2); print $2 }' "$RUN/$1.lease" 2>/dev/null; }
# plus ADDR N: ADDR with N added to its last octet (a /30 never carries).
plus() { echo "${1%.*}.$((${1##*.} + $2))"; }

nft_chains_of() {
	nft list table inet nsisolate 2>/dev/null | awk -v p="nsi$1_" '$1 == "chain" && index($2, p) == 1 { print $2 }'
}
# no_net_left UID...: no link, chain, lease, staged resolv.conf of the uids;
# with no lease at all, no table and no net.lock either.
no_net_left() {
	local u
	for u in "$@"; do
		ip -o link show "nsi$u" >/dev/null 2>&1 && return 1
		[ -n "$(nft_chains_of "$u")" ] && return 1
		[ -e "$RUN/$u.lease" ] || [ -e "$RUN/$u.resolv" ] || [ -e "$RUN/$u.lease.tmp" ] && return 1
	done
	if ! ls "$RUN"/*.lease >/dev/null 2>&1; then
		nft list table inet nsisolate >/dev/null 2>&1 && return 1
		[ -e "$RUN/net.lock" ] && return 1
	fi
	return 0
}
net_report() {
	echo "links: $(ip -o link show | grep -E '^[0-9]+: nsi' || echo none)"
	echo "run dir: $(ls -A "$RUN" 2>&1 | tr '\n' ' ')"
	echo "nft: $(nft list table inet nsisolate 2>&1 | tr '\n' ' ')"
}
check_no_net_left() {
	if wait_until 10 no_net_left "$@"; then pass "$1"; else fail "$1" "$(net_report)"; fi
}

write_conf() {
	mkconf net "version = 1;
defaults = {
  tmp = { dirs = [\"/tmp\"]; method = \"tmpfs\"; };
  network = { $1 };
};"
}
SSHD_SVC=nsit-net-sshd
PAM_SVC=nsit-net-pam
write_conf 'mode = "none";'
mkservice $SSHD_SVC "session include common-session
$(modline)"
mkservice $PAM_SVC "session required pam_permit.so
$(modline)"
start_sshd $SSHD_SVC

HOST_NET=$(readlink /proc/self/ns/net)
FORWARD_BEFORE=$(cat /proc/sys/net/ipv4/ip_forward)

# ================================================================ 1 none
diag "1: network.mode = none"
write_conf 'mode = "none";'
out=$(ssh_as $U1 'readlink /proc/self/ns/net; ip -o link show' </dev/null 2>&1)
ns=$(head -n 1 <<<"$out")
if [ -n "$ns" ] && [ "$ns" != "$HOST_NET" ]; then pass "none: the session has its own network namespace"; else fail "none: the session has its own network namespace" "$out"; fi
links=$(tail -n +2 <<<"$out")
check_match "none: lo is there and up" '^1: lo: <[^>]*\bUP\b' "$links"
# The kernel's fallback tunnels (tunl0, sit0, ...) may exist, always down.
others=$(grep -vE '^[0-9]+: lo:' <<<"$links" |
	grep -vE '^[0-9]+: (tunl0|sit0|gre0|gretap0|erspan0|ip_vti0|ip6_vti0|ip6tnl0|ip6gre0|ip6erspan0)@NONE: <[^>]*> .* state DOWN' || true)
check_eq "none: no link but lo (ignoring the kernel's fallback tunnels, all down)" "" "$others"

port=$(free_port)
listen_host 127.0.0.1 "$port" host-lo || bail "cannot start a host listener"
check_eq "none: control: the host reaches its own 127.0.0.1:$port" host-lo "$(connect_host 127.0.0.1 "$port")"
out=$(connect_in $U1 127.0.0.1 "$port")
check_nomatch "none: the session does not reach the host's 127.0.0.1:$port" '^host-lo$' "$out"

p1=$(inside_port)
if listen_in $U1 127.0.0.1 "$p1" u1-lo; then pass "none: a login of $U1 listens on 127.0.0.1:$p1"; else fail "none: a login of $U1 listens on 127.0.0.1:$p1" "$(cat "$HS_OUT")"; fi
hs1=$HS_PID
hw1=$HS_W
check_eq "none: a second login of $U1 reaches the first on 127.0.0.1" u1-lo "$(connect_in $U1 127.0.0.1 "$p1")"
check_fails "none: control: the host does not see the session's listener" connect_host 127.0.0.1 "$p1"
p2=$(inside_port)
[ "$p2" == "$p1" ] && p2=$((p1 + 1))
if listen_in $U2 127.0.0.1 "$p2" u2-lo; then pass "none: a login of $U2 listens on 127.0.0.1:$p2"; else fail "none: a login of $U2 listens on 127.0.0.1:$p2" "$(cat "$HS_OUT")"; fi
hs2=$HS_PID
hw2=$HS_W
check_eq "none: control: a second login of $U2 reaches it" u2-lo "$(connect_in $U2 127.0.0.1 "$p2")"
out=$(connect_in $U1 127.0.0.1 "$p2")
check_nomatch "none: $U1 does not reach $U2's listener" '^u2-lo$' "$out"
out=$(connect_in $U2 127.0.0.1 "$p1")
check_nomatch "none: $U2 does not reach $U1's listener" '^u1-lo$' "$out"
release_ssh "$hs1" "$hw1"
release_ssh "$hs2" "$hw2"
check "none: both sets end after the last logout" wait_until 10 bash -c "[ ! -e $RUN/$UID1.state ] && [ ! -e $RUN/$UID2.state ]"
check_no_net_left "none: nothing of the network is left" "$UID1" "$UID2"

# ================================================================ 2 veth, host_access
diag "2: network.mode = veth, host_access = true, network.dns, the default subnet"
write_conf 'mode = "veth"; host_access = true; dns = ["198.51.100.53", "2001:DB8::53"];'
resolv_sum=$(sha256sum /etc/resolv.conf 2>/dev/null)
p1=$(inside_port)
log_mark
if listen_in $U1 0.0.0.0 "$p1" u1-in; then pass "veth: a login of $U1 listens on port $p1"; else fail "veth: a login of $U1 listens on port $p1" "$(cat "$HS_OUT")" "$(syslog_since_mark)"; fi
hs1=$HS_PID
hw1=$HS_W
net1=$(lease_net "$UID1")
check_match "veth: $UID1.lease names a /30 of the default pool 10.213.0.0/16" '^10\.213\.[0-9]+\.[0-9]+$' "$net1"
check_eq "veth: the lease is root's, 0600" "600 root" "$(stat -c '%a %U' "$RUN/$UID1.lease" 2>&1)"
host1=$(plus "$net1" 1)
sess1=$(plus "$net1" 2)
out=$(ssh_as $U1 'ip -o addr show dev eth0; echo "v6=$(cat /proc/sys/net/ipv6/conf/eth0/disable_ipv6)"; ip route show default' </dev/null 2>&1)
check_match "veth: eth0 has network+2/30 ($sess1)" "^[0-9]+: eth0 +inet ${sess1//./\\.}/30 " "$out"
check_nomatch "veth: eth0 has no IPv6 address (not even link-local)" 'inet6' "$out"
check_match "veth: disable_ipv6 = 1 on eth0" '^v6=1$' "$out"
check_match "veth: the default route goes via the host end ($host1)" "^default via ${host1//./\\.} dev eth0" "$out"
out=$("$NSI_BUILD/nsisolate" list --json 2>&1 | python3 -c 'import json,sys; print(" ".join(s["address"] or "-" for s in json.load(sys.stdin) if s["uid"] == '"$UID1"'))' 2>&1)
check_eq "veth: nsisolate list --json shows the session address ($sess1)" "$sess1" "$out"
out=$(ip -o addr show dev "nsi$UID1" 2>&1)
check_match "veth: host link nsi$UID1 has network+1/30 ($host1)" "inet ${host1//./\\.}/30 " "$out"
check_nomatch "veth: the host link has no IPv6 address" 'inet6' "$out"
check_eq "veth: disable_ipv6 = 1 on nsi$UID1" 1 "$(cat "/proc/sys/net/ipv6/conf/nsi$UID1/disable_ipv6" 2>&1)"
check_eq "veth: no IPv6 address generation on nsi$UID1" none \
	"$(ip -d link show "nsi$UID1" | grep -oE 'addrgenmode [a-z_]+' | awk '{ print $2 }')"

check_eq "veth: the host reaches the session's listener on $sess1" u1-in "$(connect_host "$sess1" "$p1")"
hp=$(free_port)
listen_host "$host1" "$hp" host-end || fail "veth: a host listener on $host1"
check_eq "veth: control: the host reaches its listener on $host1" host-end "$(connect_host "$host1" "$hp")"
check_eq "veth, host_access = true: the session reaches the listener on the host end $host1" \
	host-end "$(connect_in $U1 "$host1" "$hp")"
chains=$(nft_chains_of "$UID1" | tr '\n' ' ')
check_eq "veth, host_access = true: only the forward chain in table inet nsisolate" "nsi${UID1}_fwd " "$chains"

# network.dns
out=$(ssh_as $U1 'cat /etc/resolv.conf' </dev/null 2>&1)
check_match "dns: the session's resolv.conf lists 198.51.100.53" '^nameserver 198\.51\.100\.53$' "$out"
check_match "dns: and 2001:db8::53 (canonical form)" '^nameserver 2001:db8::53$' "$out"
check_eq "dns: exactly the two nameservers" 2 "$(grep -c '^nameserver' <<<"$out")"
check_eq "dns: control: the host's /etc/resolv.conf is untouched" "$resolv_sum" "$(sha256sum /etc/resolv.conf 2>/dev/null)"
check_fails "dns: the staged file is gone from $RUN once mounted" test -e "$RUN/$UID1.resolv"
check_fails "dns: the session cannot write its resolv.conf" \
	ssh_as $U1 'echo nameserver 203.0.113.1 >>/etc/resolv.conf' </dev/null

# ssh -L: the forward is made from inside the session's namespace.
lp=$(free_port)
listen_host 127.0.0.1 "$lp" host-lo || fail "veth: a host listener on 127.0.0.1:$lp"
if hold_ssh $U1 "python3 -c '$LISTENER' 127.0.0.1 $lp sess-lo >/dev/null"; then pass "ssh -L: a login listens on the session's 127.0.0.1:$lp"; else fail "ssh -L: a login listens on the session's 127.0.0.1:$lp" "$(cat "$HS_OUT")"; fi
hs3=$HS_PID
hw3=$HS_W
fp=$(free_port)
_nsi_ssh_opts
(exec timeout -k 5 60 ssh "${_NSI_SSH_OPTS[@]}" -N -o ExitOnForwardFailure=yes -L "$fp:127.0.0.1:$lp" \
	-p "$SSH_PORT" "$U1@127.0.0.1" </dev/null >"$T/fwd.log" 2>&1) &
fwd=$!
defer _nsi_kill "$fwd"
wait_until 10 _nsi_port_open "$fp" || fail "ssh -L: the forward listens on $fp" "$(cat "$T/fwd.log")"
check_eq "ssh -L: control: the host's 127.0.0.1:$lp answers host-lo" host-lo "$(connect_host 127.0.0.1 "$lp")"
check_eq "ssh -L 127.0.0.1:$lp connects to the listener inside the session, not the host's" \
	sess-lo "$(connect_host 127.0.0.1 "$fp")"
_nsi_kill "$fwd"
release_ssh "$hs3" "$hw3"

# A second user: another /30, and no way between the two sets.
p2=$(inside_port)
if listen_in $U2 0.0.0.0 "$p2" u2-in; then pass "veth: a login of $U2 listens on port $p2"; else fail "veth: a login of $U2 listens on port $p2" "$(cat "$HS_OUT")"; fi
hs2=$HS_PID
hw2=$HS_W
net2=$(lease_net "$UID2")
sess2=$(plus "$net2" 2)
if [ -n "$net2" ] && [ "$net2" != "$net1" ]; then pass "veth: two users get distinct /30s ($net1, $net2)"; else fail "veth: two users get distinct /30s" "$net1 / $net2"; fi
out=$(ssh_as $U2 'ip -o -4 addr show dev eth0' </dev/null 2>&1)
check_match "veth: $U2's eth0 has its own network+2 ($sess2)" "inet ${sess2//./\\.}/30 " "$out"
check "veth: both host links exist" ip link show "nsi$UID2"
check_eq "veth: control: the host reaches $U2's session on $sess2" u2-in "$(connect_host "$sess2" "$p2")"
out=$(connect_in $U1 "$sess2" "$p2")
check_nomatch "veth: $U1's session does not reach $U2's session on $sess2" '^u2-in$' "$out"
release_ssh "$hs1" "$hw1"
release_ssh "$hs2" "$hw2"
check "veth: both sets end after the last logout" wait_until 10 bash -c "[ ! -e $RUN/$UID1.state ] && [ ! -e $RUN/$UID2.state ]"
check_no_net_left "veth: after the last logout no link, nft chain, lease or table is left" "$UID1" "$UID2"
check_nomatch "veth: no teardown error was logged" 'removing the network of the set' "$(syslog_since_start)"

# A symlinked /etc/resolv.conf (made in a private mount namespace of the
# test: /etc overlaid there only), with network.dns in mode "none": the
# mount covers the link, the link's target is never followed or changed.
write_conf 'mode = "none"; dns = ["198.51.100.53"];'
mkdir -m 0755 "$T/ov"
cat >"$T/resolv-link.sh" <<-EOF
	set -eu
	mount -t tmpfs -o mode=0755 nsit-ov "$T/ov"
	mkdir -m 0755 "$T/ov/upper" "$T/ov/work"
	echo 'nameserver 203.0.113.99' >"$T/ov/upper/nsit-resolv-target"
	ln -s nsit-resolv-target "$T/ov/upper/resolv.conf"
	mount -t overlay nsit-etc -o "lowerdir=/etc,upperdir=$T/ov/upper,workdir=$T/ov/work" /etc
	echo "link: \$(readlink /etc/resolv.conf)"
	"$HOLD" $PAM_SVC $U1 -f sh -c 'echo "in: \$(grep nameserver /etc/resolv.conf)"; echo "target in: \$(cat /etc/nsit-resolv-target)"'
	echo "target after: \$(cat /etc/nsit-resolv-target)"
	echo "link after: \$(readlink /etc/resolv.conf)"
EOF
out=$(timeout 60 unshare -m --propagation private bash "$T/resolv-link.sh" 2>&1)
check_match "dns, symlinked resolv.conf: control: the link is there (private mount namespace)" '^link: nsit-resolv-target$' "$out"
check_match "dns, symlinked resolv.conf: the session reads network.dns" '^in: nameserver 198\.51\.100\.53$' "$out"
check_match "dns, symlinked resolv.conf: the link's target is untouched inside" '^target in: nameserver 203\.0\.113\.99$' "$out"
check_match "dns, symlinked resolv.conf: and outside" '^target after: nameserver 203\.0\.113\.99$' "$out"
check_match "dns, symlinked resolv.conf: the link itself is unchanged" '^link after: nsit-resolv-target$' "$out"
check_no_net_left "dns, symlinked resolv.conf: nothing staged is left" "$UID1"

# ================================================================ 3 veth, no host access
diag "3: network.mode = veth, host_access = false"
write_conf 'mode = "veth"; subnet = "10.213.0.0/16"; host_access = false;'
p1=$(inside_port)
if listen_in $U1 0.0.0.0 "$p1" u1-in; then pass "no host access: a login of $U1 listens on port $p1"; else fail "no host access: a login of $U1 listens on port $p1" "$(cat "$HS_OUT")"; fi
hs1=$HS_PID
hw1=$HS_W
net1=$(lease_net "$UID1")
host1=$(plus "$net1" 1)
sess1=$(plus "$net1" 2)
hp=$(free_port)
listen_host "$host1" "$hp" host-end || fail "no host access: a host listener on $host1"
check_eq "no host access: control: the host reaches its listener on $host1" host-end "$(connect_host "$host1" "$hp")"
out=$(connect_in $U1 "$host1" "$hp")
check_nomatch "no host access: the session does not reach the listener on the host end $host1" '^host-end$' "$out"
check_match "no host access: the connection is dropped (timeout), not refused" 'timed out|TimeoutError' "$out"
check_eq "no host access: the host still reaches the session's listener on $sess1" u1-in "$(connect_host "$sess1" "$p1")"
chains=$(nft_chains_of "$UID1" | sort | tr '\n' ' ')
check_eq "no host access: input and forward chains" "nsi${UID1}_fwd nsi${UID1}_in " "$chains"
rules=$(nft list chain inet nsisolate "nsi${UID1}_in" 2>&1)
check_match "no host access: replies to the host are let in" "iifname \"nsi$UID1\" ct state established,related accept" "$rules"
check_match "no host access: everything else from the link is dropped" "iifname \"nsi$UID1\" drop" "$rules"
release_ssh "$hs1" "$hw1"
check_no_net_left "no host access: nothing left after the logout" "$UID1"

# ================================================================ 4 keeper killed
diag "4: kill -9 of the keeper"
write_conf 'mode = "veth"; dns = ["198.51.100.53"];'
if hold_ssh $U1 '(sleep 300 </dev/null >/dev/null 2>&1 &)'; then pass "crash: a login of $U1 with a process inside"; else fail "crash: a login of $U1 with a process inside" "$(cat "$HS_OUT")"; fi
hs1=$HS_PID
hw1=$HS_W
k=$(keeper_of "$UID1")
old_ns=$(readlink "/proc/$k/ns/net")
old_idx=$(cat "/sys/class/net/nsi$UID1/ifindex" 2>/dev/null)
[ -n "$k" ] && kill -KILL "$k"
check "crash: the keeper $k is gone" wait_until 5 gone "$k"
log_mark
out=$(ssh_as $U1 'readlink /proc/self/ns/net; echo "peer=$(cat /sys/class/net/eth0/iflink)"; ip -o -4 addr show dev eth0; cat /etc/resolv.conf' </dev/null 2>&1)
check_match "crash: the next login works, with an address on eth0" 'inet 10\.213\.' "$out"
check_match "crash: the next login has the resolv.conf" '^nameserver 198\.51\.100\.53$' "$out"
new_ns=$(head -n 1 <<<"$out")
if [ -n "$new_ns" ] && [ "$new_ns" != "$old_ns" ]; then pass "crash: the next login is in a new network namespace"; else fail "crash: the next login is in a new network namespace" "old $old_ns new $new_ns"; fi
peer=$(sed -n 's/^peer=//p' <<<"$out")
if [ -n "$old_idx" ] && [ -n "$peer" ] && [ "$peer" != "$old_idx" ]; then pass "crash: the new set has a new host link (ifindex $old_idx, now $peer)"; else fail "crash: the new set has a new host link" "old $old_idx new $peer"; fi
check "crash: the module logged the lost keeper" wait_log "set of $U1 \(uid $UID1\) lost its keeper $k"
old_ns_empty() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/net" 2>/dev/null)" == "$old_ns" ] && return 1
	done
	return 0
}
check "crash: no process is left in the old set's network namespace" wait_until 10 old_ns_empty
check "crash: the old session's login ended" wait_until 10 gone "$hs1"
release_ssh "$hs1" "$hw1"
check_no_net_left "crash: after the logout nothing of either set is left" "$UID1"

# No process inside: the namespace dies with the keeper, the link with it;
# the chains and the lease stay until the next login of the user.
if pam_hold $PAM_SVC $U1; then pass "crash: pam-hold opens a set"; else fail "crash: pam-hold opens a set" "$(cat "$HOLD_OUT")"; fi
k=$(keeper_of "$UID1")
[ -n "$k" ] && kill -KILL "$k"
check "crash: the keeper $k is gone" wait_until 5 gone "$k"
check "crash: the lease of the dead set is still recorded before the next login" test -e "$RUN/$UID1.lease"
check "crash: its chains are still there before the next login" test -n "$(nft_chains_of "$UID1")"
log_mark
check "crash: the next login works" pamtester $PAM_SVC $U1 open_session close_session
check "crash: it logged the lost keeper" wait_log "set of $U1 \(uid $UID1\) lost its keeper $k"
pam_release
check_no_net_left "crash: nothing of the old set is left" "$UID1"

# The same dead set, reclaimed by the administrator instead of a login.
if pam_hold $PAM_SVC $U1; then pass "gc: pam-hold opens a set"; else fail "gc: pam-hold opens a set" "$(cat "$HOLD_OUT")"; fi
k=$(keeper_of "$UID1")
[ -n "$k" ] && kill -KILL "$k"
check "gc: the keeper $k is gone" wait_until 5 gone "$k"
check "gc: control: the dead set's lease and chains are still there" \
	test -e "$RUN/$UID1.lease" -a -n "$(nft_chains_of "$UID1")"
out=$("$NSI_BUILD/nsisolate" gc 2>&1)
check_match "gc: reports the dead set it ended" "gc \(keeper dead\): ended the set of $U1" "$out"
check_no_net_left "gc: no link, chain or lease of the dead set is left" "$UID1"
pam_release

# stop: a live veth set ends with its network.
if pam_hold $PAM_SVC $U1; then pass "stop: pam-hold opens a set"; else fail "stop: pam-hold opens a set" "$(cat "$HOLD_OUT")"; fi
check "stop: control: the live set has its link" ip link show "nsi$UID1"
check "stop: nsisolate stop succeeds" "$NSI_BUILD/nsisolate" stop $U1
check_no_net_left "stop: no link, chain or lease of the stopped set is left" "$UID1"
pam_release

# ================================================================ 4b teardown in the background
diag "4b: a veth logout returns at once; the network goes afterwards, under the user's lock"
if pam_hold $PAM_SVC $U1; then pass "4b: pam-hold opens a set"; else fail "4b: pam-hold opens a set" "$(cat "$HOLD_OUT")"; fi
check "4b: control: the live set has its link" ip link show "nsi$UID1"
# The test holds net.lock: the teardown waits for it (10 s at most).
exec {NETLOCK}>>"$RUN/net.lock"
flock -x "$NETLOCK"
log_mark
t0=$EPOCHREALTIME
pam_release
t1=$EPOCHREALTIME
ms=$(((${t1/./} - ${t0/./}) / 1000))
check "4b: the logout returned in $ms ms while the teardown cannot run" test "$ms" -lt 3000
check "4b: ... with success" grep -q '^close 0$' "$HOLD_OUT"
check "4b: its nft chains and lease are still there meanwhile" \
	test -n "$(nft_chains_of "$UID1")" -a -e "$RUN/$UID1.lease"
check_eq "4b: the user's lock is held meanwhile (flock -n fails)" 99 \
	"$(flock -n -E 99 "$RUN/$UID1.lock" true; echo $?)"
pamtester $PAM_SVC $U1 open_session close_session >"$T/4b.out" 2>&1 {NETLOCK}>&- &
P4B=$!
sleep 1
check "4b: a new login of $U1 waits for the teardown" kill -0 "$P4B"
exec {NETLOCK}>&-
check "4b: the new login then completes" wait_until 15 sh -c "! kill -0 $P4B 2>/dev/null"
wait "$P4B"
check_eq "4b: ... successfully" 0 "$?"
check "4b: and its own set ends too" wait_until 10 no_state "$UID1"
check_no_net_left "4b: nothing of either set is left" "$UID1"
check_nomatch "4b: no teardown error was logged" 'removing the network of the set' \
	"$(syslog_since_mark)"

# ================================================================ 5 refusals
diag "5: refusals"
write_conf 'mode = "veth"; subnet = "10.213.0.1/16";'
log_mark
check_fails "bad subnet: the login is refused" pamtester $PAM_SVC $U1 open_session close_session
check "bad subnet: syslog names the key and the cause" \
	wait_log "network\.subnet: \"10\.213\.0\.1/16\" has host bits set \(did you mean \"10\.213\.0\.0/16\"\?\)"
check "bad subnet: syslog says the login was refused" wait_log "refused $U1: bad configuration"
write_conf 'mode = "veth"; subnet = "10.213.0.0/16";'
check "bad subnet: control: with a good subnet the same login works" \
	pamtester $PAM_SVC $U1 open_session close_session

write_conf 'mode = "veth"; subnet = "10.213.250.0/30";'
if pam_hold $PAM_SVC $U1; then pass "exhausted pool: $U1 takes the only /30"; else fail "exhausted pool: $U1 takes the only /30" "$(cat "$HOLD_OUT")"; fi
check_eq "exhausted pool: $U1's lease is 10.213.250.0" 10.213.250.0 "$(lease_net "$UID1")"
log_mark
check_fails "exhausted pool: a second user is refused" pamtester $PAM_SVC $U2 open_session close_session
check "exhausted pool: syslog names the cause" \
	wait_log "refused $U2 \(uid $UID2\): helper: network\.subnet 10\.213\.250\.0/30 is exhausted: all 1 /30 networks are leased"
check_no_net_left "exhausted pool: the refused login left nothing" "$UID2"
pam_release
check "exhausted pool: control: once $U1 is gone, $U2 gets the /30" \
	pamtester $PAM_SVC $U2 open_session close_session
check_no_net_left "exhausted pool: nothing left" "$UID1" "$UID2"

# The pool skips the host's own prefixes. The test's own veth pair (left
# down, no traffic) carries 10.213.251.1/29: the lower half of a /28 pool.
HL=ntrh$$
if ip link add "$HL" type veth peer name "${HL}p" && ip addr add 10.213.251.1/29 dev "$HL"; then
	pass "host prefix: the test's link $HL has 10.213.251.1/29"
else
	fail "host prefix: the test's link $HL has 10.213.251.1/29"
fi
del_link() { ! ip link show "$1" >/dev/null 2>&1 || ip link del "$1"; }
defer del_link "$HL"
write_conf 'mode = "veth"; subnet = "10.213.251.0/28";'
if pam_hold $PAM_SVC $U1; then pass "host prefix: $U1 logs in"; else fail "host prefix: $U1 logs in" "$(cat "$HOLD_OUT")"; fi
check_eq "host prefix: $U1's lease skips the host's 10.213.251.0/29" 10.213.251.8 "$(lease_net "$UID1")"
check_match "host prefix: the host's address is untouched" 'inet 10\.213\.251\.1/29 ' \
	"$(ip -o -4 addr show dev "$HL" 2>&1)"
pam_release
check_no_net_left "host prefix: nothing left" "$UID1"
write_conf 'mode = "veth"; subnet = "10.213.251.0/29";'
log_mark
check_fails "host prefix: a pool the host's prefix covers is refused" \
	pamtester $PAM_SVC $U1 open_session close_session
check "host prefix: syslog names the pool and the host's prefix" \
	wait_log "refused $U1 \(uid $UID1\): helper: network\.subnet 10\.213\.251\.0/29 has no free /30: each is leased or overlaps an address or route of the host \(such as 10\.213\.251\.1/29\)"
check_no_net_left "host prefix: the refused login left nothing" "$UID1"
del_link "$HL"
check "host prefix: the test's link is gone" test ! -e "/sys/class/net/$HL"
if pam_hold $PAM_SVC $U1; then pass "host prefix: control: without the host's address the same login works"; else fail "host prefix: control: without the host's address the same login works" "$(cat "$HOLD_OUT")"; fi
check_eq "host prefix: control: the lease is the pool's first /30" 10.213.251.0 "$(lease_net "$UID1")"
pam_release
check_no_net_left "host prefix: control: nothing left" "$UID1"

write_conf 'mode = "veth"; nat = true;'
cat >"$T/nat-off.sh" <<-EOF
	echo 0 >/proc/sys/net/ipv4/ip_forward
	pamtester $PAM_SVC $U1 open_session close_session
EOF
log_mark
if [ "$(cat /proc/sys/net/ipv4/ip_forward)" == 0 ]; then
	check_fails "nat: refused while the host does not forward IPv4" pamtester $PAM_SVC $U1 open_session close_session
else
	# Never touch the host's setting: a private network namespace of the test forwards nothing.
	check_fails "nat: refused while IPv4 forwarding is off (private network namespace)" unshare -n bash "$T/nat-off.sh"
fi
check "nat: syslog names the cause" \
	wait_log "refused $U1 \(uid $UID1\): helper: network\.nat = true needs IPv4 forwarding, but net\.ipv4\.ip_forward is 0"
check_no_net_left "nat: the refused login left nothing" "$UID1"
# Control, in a private network namespace where forwarding is on: the
# masquerade chain is made, and removed at the close.
cat >"$T/nat-on.sh" <<-EOF
	set -u
	echo 1 >/proc/sys/net/ipv4/ip_forward
	mkfifo "$T/nat.in"
	sleep 60 >"$T/nat.in" &
	sp=\$!
	"$HOLD" $PAM_SVC $U1 <"$T/nat.in" >"$T/nat.out" 2>&1 &
	hp=\$!
	for i in \$(seq 100); do grep -q '^open' "$T/nat.out" && break; sleep 0.1; done
	echo "held: \$(head -n 1 "$T/nat.out")"
	nft list chain inet nsisolate nsi${UID1}_nat 2>&1
	kill \$sp; wait \$hp
	echo "after: \$(nft list table inet nsisolate 2>&1 | grep -c 'chain nsi$UID1')"
	echo "links: \$(ip -o link show | grep -c ' nsi$UID1')"
EOF
out=$(timeout 60 unshare -n bash "$T/nat-on.sh" 2>&1)
check_match "nat: control: with forwarding on (private network namespace), the login works" '^held: open 0$' "$out"
check_match "nat: the set's traffic is masqueraded" "iifname \"nsi$UID1\" masquerade" "$out"
check_match "nat: nothing of it is left after the close" '^after: 0$' "$out"
check_match "nat: no link left in that namespace" '^links: 0$' "$out"
check_no_net_left "nat: nothing left in the host either" "$UID1"

assert_no_leftovers
check_no_net_left "no link, nft chain, lease or table left at the end" "$UID1" "$UID2"
check_eq "the host's net.ipv4.ip_forward is what it was" "$FORWARD_BEFORE" "$(cat /proc/sys/net/ipv4/ip_forward)"
finish
