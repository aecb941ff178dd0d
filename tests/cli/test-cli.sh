#!/bin/bash
# tests/cli/test-cli.sh: nsisolate(8) check and explain, the policy file checks
# of docs/design.md, "Trust boundaries": exit codes (0 ok, 1 bad policy or user,
# 2 usage) and exact output. Runs as root; creates a test user and two groups
# (prefix "nsic") and a private temp dir, all removed on exit. The host
# warnings of check must not depend on the host: dev.tty.legacy_tiocsti is set
# to 0 for the run (restored on exit), and the user.max_user_namespaces = 0
# warning, which the run cannot change, is left out of the compared stderr.
set -u
cd "$(dirname "$0")/../.." || exit 1
BIN=${NSI_BIN:-build/nsisolate}

n=0
failed=0
U=nsic$$
P=nsic$$p
S=nsic$$s
made_user=0
made_p=0
made_s=0
T=
TIOCSTI=/proc/sys/dev/tty/legacy_tiocsti
tiocsti_saved=

cleanup() {
	[ -n "$tiocsti_saved" ] && echo "$tiocsti_saved" >"$TIOCSTI"
	[ "$made_user" = 1 ] && userdel "$U" >/dev/null 2>&1
	[ "$made_p" = 1 ] && groupdel "$P" >/dev/null 2>&1
	[ "$made_s" = 1 ] && groupdel "$S" >/dev/null 2>&1
	[ -n "$T" ] && rm -rf -- "$T"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

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

show() { # LABEL TEXT
	printf '%s\n' "$2" | sed "s/^/#   $1: /"
}

# The one host warning this run cannot turn off.
NOUSERNS_WARNING="warning: user.max_user_namespaces = 0: sets with userns.enable = true cannot be created"
TIOCSTI_WARNING="warning: dev.tty.legacy_tiocsti = 1: a su or runuser session can inject input into the calling terminal (TIOCSTI); set it to 0"

# run_cmd CMD ARGS...: sets rc, out, err (without the host's max_user_namespaces
# warning) and err_all (everything on stderr)
run_cmd() {
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	out=$(cat "$T/out")
	err_all=$(cat "$T/err")
	err=$(grep -vxF -- "$NOUSERNS_WARNING" "$T/err")
}

# run ARGS...: nsisolate ARGS
run() {
	run_cmd "$BIN" "$@"
}

is_rc() { # WANT DESC
	[ "$rc" -eq "$1" ]
	ok $? "$2" || { echo "#   exit status $rc, expected $1"; show stdout "$out"; show stderr "$err"; }
}

is_out() { # WANT DESC
	[ "$out" = "$1" ]
	ok $? "$2" || { show got "$out"; show expected "$1"; }
}

is_err() { # WANT DESC
	[ "$err" = "$1" ]
	ok $? "$2" || { show got "$err"; show expected "$1"; }
}

has_line() { # TEXT LINE DESC
	grep -qxF -- "$2" <<<"$1"
	ok $? "$3" || { show got "$1"; show "expected line" "$2"; }
}

lacks_line() { # TEXT LINE DESC
	! grep -qxF -- "$2" <<<"$1"
	ok $? "$3" || show got "$1"
}

conf() { # NAME: writes stdin to $T/NAME.conf (0644) and prints the path
	cat >"$T/$1.conf"
	chmod 0644 "$T/$1.conf"
	echo "$T/$1.conf"
}

if [ "$(id -u)" -ne 0 ]; then
	echo "not ok 1 - test-cli must run as root"
	exit 1
fi
if [ ! -x "$BIN" ]; then
	echo "not ok 1 - no nsisolate binary at $BIN"
	exit 1
fi
T=$(mktemp -d /tmp/nsi-test-cli-XXXXXX) || exit 1
if [ -e "$TIOCSTI" ]; then
	tiocsti_saved=$(cat "$TIOCSTI") || exit 1
	if ! echo 0 >"$TIOCSTI"; then
		tiocsti_saved=
		echo "not ok 1 - setup: cannot set $TIOCSTI to 0"
		exit 1
	fi
fi
groupadd "$P" && made_p=1
groupadd "$S" && made_s=1
useradd -M -N -g "$P" -G "$S" -s /usr/sbin/nologin -c "nsisolate cli test" "$U" && made_user=1
if [ "$made_user$made_p$made_s" != 111 ]; then
	echo "not ok 1 - setup: cannot create test user $U and groups"
	exit 1
fi
UID_U=$(id -u "$U")
GID_P=$(getent group "$P" | cut -d: -f3)
GID_S=$(getent group "$S" | cut -d: -f3)

# ---- check ----
F=$(conf clean <<EOF
version = 1;
defaults = { tmp = { size = "1G"; }; };
policies = (
  { name = "admins"; match = { users = ["root"]; }; isolate = false; },
  { name = "ssh-students"; match = { groups = ["$S"]; services = ["sshd"]; };
    network = { mode = "none"; }; hostname = "lab-%u"; },
  { name = "students"; match = { groups = ["$S"]; }; tmp = { method = "instance"; }; }
);
EOF
)
run check --config "$F"
is_rc 0 "check: a clean file exits 0"
is_out "$F: ok, 3 policies" "check: prints FILE: ok, 3 policies"
is_err "" "check: a clean file prints nothing on stderr"
run check -c "$F"
is_out "$F: ok, 3 policies" "check: -c is --config"

F1=$(printf 'version = 1;\npolicies = ( { name = "one"; } );\n' | conf one)
run check --config "$F1"
is_out "$F1: ok, 1 policy" "check: one policy is singular"
F0=$(printf 'version = 1;\n' | conf zero)
run check --config "$F0"
is_out "$F0: ok, 0 policies" "check: zero policies"

mkdir -m 0755 "$T/withdrop.d"
printf 'version = 1;\npolicies = ( { name = "main"; } );\n' | conf withdrop >/dev/null
printf 'policies = ( { name = "d1"; }, { name = "d2"; } );\n' >"$T/withdrop.d/10-x.conf"
run check --config "$T/withdrop.conf"
is_rc 0 "check: a file with a drop-in exits 0"
is_out "$T/withdrop.conf: ok, 3 policies" "check: drop-in policies are counted"

# libconfig 1.5 would wrap 4294968296 to 1000, a real user's uid on many hosts.
FW=$(printf 'version = 1;\ndefaults = {\n  userns = { root_id = 4294968296; };\n};\n' | conf wrap)
run check --config "$FW"
is_rc 1 "check: an integer libconfig would wrap exits 1"
has_line "$err" "$FW:3: userns.root_id: 4294968296 does not fit in an integer (write 4294968296L)" \
	"check: the wrapped integer is named with its line and the fix"
FW=$(printf 'version = 1;\ndefaults = {\n  userns = { root_id = 4294968296L; };\n};\n' | conf wrapl)
run check --config "$FW"
is_rc 1 "control: with the L suffix the value is read whole (and is out of range)"
has_line "$err" "$FW:3: userns.root_id: 4294968296 is out of range (1 to 4294967294)" \
	"control: the out-of-range message carries the whole value"

FE=$(conf errors <<'EOF'
version = 1;
defaults = {
  isolate = "yes";
  tmp = { method = "ramfs"; };
};
policies = (
  { name = "a"; ipc = 1; },
  { name = "a"; },
  { match = { users = []; }; }
);
EOF
)
run check --config "$FE"
is_rc 1 "check: a file with errors exits 1"
is_out "" "check: no ok line when there are errors"
is_err "$FE:3: isolate: expected a boolean (true or false)
$FE:4: tmp.method: invalid value \"ramfs\" (expected tmpfs, instance or shared)
$FE:7: ipc: expected a boolean (true or false)
$FE:8: name: \"a\" already defined at $FE:7
$FE:9: policies: entry 3: missing name
$FE:9: match.users: empty list matches nobody" "check: prints every error with file and line, in order"

FW=$(conf warn <<EOF
version = 1;
policies = (
  { name = "w"; match = { users = ["nsic_nx_$$"]; groups = ["nsic_nxg_$$"]; }; }
);
EOF
)
run check --config "$FW"
is_rc 0 "check: unknown user and group names are not errors"
is_out "$FW: ok, 1 policy" "check: ok line despite warnings"
is_err "warning: $FW:3: match.users: unknown user \"nsic_nx_$$\"
warning: $FW:3: match.groups: unknown group \"nsic_nxg_$$\"" "check: warnings are printed as such"

FS=$(printf 'version = 1;\ndefaults = { isolate = ; };\n' | conf syntax)
run check --config "$FS"
is_rc 1 "check: a syntax error exits 1"
is_err "$FS:2: syntax error: syntax error" "check: the syntax error names file and line"

run check --config "$T/missing.conf"
is_rc 1 "check: a missing file exits 1"
is_err "$T/missing.conf: No such file or directory" "check: a missing file is named"

FG=$(printf 'version = 1;\n' | conf groupw)
chmod 0664 "$FG"
run check --config "$FG"
is_rc 1 "check: a group-writable file exits 1"
is_err "$FG: writable by group or others (mode 0664)" "check: says why the file is unsafe"

# A relative --config is taken from the working directory; what is checked
# and named is the absolute path.
mkdir -m 0755 "$T/sub"
run_cmd sh -c 'cd "$1/sub" && exec "$2" check --config ../clean.conf' sh "$T" "$(realpath "$BIN")"
is_rc 0 "check: a relative path (../clean.conf) is checked"
is_out "$T/clean.conf: ok, 3 policies" "check: the ok line names the absolute path"
run_cmd sh -c 'cd "$1" && exec "$2" check -c withdrop.conf' sh "$T" "$(realpath "$BIN")"
is_out "$T/withdrop.conf: ok, 3 policies" "check: a relative FILE keeps its drop-ins (FILE.d beside it)"
run_cmd sh -c 'cd "$1" && exec "$2" check --config missing.conf' sh "$T" "$(realpath "$BIN")"
is_rc 1 "check: a missing relative file exits 1"
is_err "$T/missing.conf: No such file or directory" "check: the missing file is named absolute"
run check --config "nsic-no-such-dir-$$/x.conf"
is_rc 1 "check: a relative path through a missing directory exits 1"
is_err "nsisolate: nsic-no-such-dir-$$/x.conf: No such file or directory" \
	"check: the missing directory is named as given"

# userns.root_id must own nothing: the test user's uid does.
FR=$(conf rootid <<EOF
version = 1;
defaults = { userns = { root_id = $UID_U; }; };
EOF
)
run check --config "$FR"
is_rc 1 "check: defaults root_id owned by an existing user exits 1"
is_out "" "check: no ok line when root_id is taken"
is_err "$FR: userns.root_id $UID_U belongs to user \"$U\"" "check: names the user owning root_id"

FRP=$(conf rootidp <<EOF
version = 1;
policies = (
  { name = "fine"; },
  { name = "taken"; userns = { root_id = $UID_U; }; },
  { name = "exempt"; isolate = false; userns = { root_id = $UID_U; }; },
  { name = "nouserns"; userns = { enable = false; root_id = $UID_U; }; }
);
EOF
)
run check --config "$FRP"
is_rc 1 "check: a policy's root_id owned by a user exits 1"
is_err "$FRP:4: userns.root_id $UID_U belongs to user \"$U\"" \
	"check: names the policy's file and line; not isolated or no userns is exempt"

FRG=$(conf rootidg <<EOF
version = 1;
defaults = { userns = { root_id = $GID_S; }; };
EOF
)
if getent passwd "$GID_S" >/dev/null; then
	ok 0 "check: (skipped: gid $GID_S is also a uid)"
else
	run check --config "$FRG"
	is_rc 1 "check: root_id owned by a group exits 1"
	is_err "$FRG: userns.root_id $GID_S belongs to group \"$S\"" "check: names the group owning root_id"
fi

# ---- host warnings: first on stderr, never an error ----
if [ -n "$tiocsti_saved" ]; then
	echo 1 >"$TIOCSTI"
	run check --config "$F"
	is_rc 0 "host: check exits 0 with dev.tty.legacy_tiocsti = 1"
	is_out "$F: ok, 3 policies" "host: the ok line despite the host warning"
	is_err "$TIOCSTI_WARNING" "host: check warns about dev.tty.legacy_tiocsti = 1"
	run check --config "$FW"
	is_rc 0 "host: the host warning and the policy's warnings: exits 0"
	is_err "$TIOCSTI_WARNING
warning: $FW:3: match.users: unknown user \"nsic_nx_$$\"
warning: $FW:3: match.groups: unknown group \"nsic_nxg_$$\"" "host: the host warning comes before the policy's warnings"
	run check --config "$FE"
	is_rc 1 "host: a file with errors still exits 1"
	[ "$(head -n 1 <<<"$err")" = "$TIOCSTI_WARNING" ] && [ "$(wc -l <<<"$err")" -eq 7 ]
	ok $? "host: the host warning comes before the six errors" || show got "$err"
	run explain "$U" --config "$F"
	is_rc 0 "host: explain exits 0 with dev.tty.legacy_tiocsti = 1"
	is_err "" "host: explain prints no host warning"
	echo 0 >"$TIOCSTI"
	run check --config "$F"
	lacks_line "$err_all" "$TIOCSTI_WARNING" "host: no dev.tty.legacy_tiocsti warning with 0"
else
	ok 0 "host: (skipped: no $TIOCSTI on this kernel)"
fi

# A veth pool over the host's own networks: warned about, never an error. In a
# private network namespace of the test: a veth pair (down peer, no traffic)
# with 10.213.253.1/29 and a route to 10.213.254.0/24; the host is untouched.
FN=$(conf netpool <<'EOF'
version = 1;
defaults = { network = { mode = "veth"; subnet = "10.213.253.0/24"; }; };
policies = (
  { name = "lab"; network = { subnet = "10.213.254.0/24"; }; },
  { name = "same"; },
  { name = "tiny"; network = { subnet = "10.213.253.0/29"; }; },
  { name = "clear"; network = { subnet = "10.213.255.0/24"; }; }
);
EOF
)
NETNS_SETUP='ip link add ntrc0 type veth peer name ntrc0p && ip addr add 10.213.253.1/29 dev ntrc0 &&
	ip link set ntrc0 up && ip route add 10.213.254.0/24 dev ntrc0'
if unshare -n true 2>/dev/null; then
	run_cmd unshare -n sh -c "$NETNS_SETUP"' && exec "$@"' sh "$BIN" check --config "$FN"
	is_rc 0 "check: a veth pool over the host's networks only warns (exit 0)"
	is_out "$FN: ok, 4 policies" "check: the ok line despite the pool warnings"
	has_line "$err" "warning: $FN: network.subnet 10.213.253.0/24 overlaps the host's 10.213.253.1/29: its /30s there are never leased" \
		"check: the defaults' pool overlaps the host's address"
	has_line "$err" "warning: $FN:4: network.subnet 10.213.254.0/24 overlaps the host's 10.213.254.0/24: its /30s there are never leased" \
		"check: a policy's pool overlaps the host's route"
	has_line "$err" "warning: $FN:4: network.subnet 10.213.254.0/24: no /30 of it can be leased" \
		"check: a pool the route covers: nothing can be leased"
	has_line "$err" "warning: $FN:6: network.subnet 10.213.253.0/29: no /30 of it can be leased" \
		"check: a pool the address covers: nothing can be leased"
	[ "$(grep -c '10.213.253.0/24 overlaps' <<<"$err")" -eq 1 ]
	ok $? "check: a pool several policies share is warned about once" || show got "$err"
	! grep -q '10\.213\.255\.' <<<"$err"
	ok $? "check: no warning for a pool clear of the host's networks" || show got "$err"
	run_cmd unshare -n "$BIN" check --config "$FN"
	is_rc 0 "check: control: without the host's address and route, exit 0"
	! grep -q 'never leased\|can be leased' <<<"$err"
	ok $? "check: control: no pool warning" || show got "$err"
else
	ok 0 "check: (skipped: no private network namespace)"
fi

# user.max_user_namespaces belongs to the user namespace: 0 in a new one leaves the host alone.
if unshare -U -r true 2>/dev/null; then
	run_cmd unshare -U -r sh -c 'echo 0 >/proc/sys/user/max_user_namespaces && exec "$@"' sh \
		"$BIN" check --config "$F"
	is_rc 0 "host: check exits 0 with user.max_user_namespaces = 0"
	is_out "$F: ok, 3 policies" "host: the ok line despite user.max_user_namespaces = 0"
	[ "$err_all" = "$NOUSERNS_WARNING" ]
	ok $? "host: check warns about user.max_user_namespaces = 0" ||
		{ show got "$err_all"; show expected "$NOUSERNS_WARNING"; }
else
	ok 0 "host: (skipped: cannot create a user namespace here)"
fi

# ---- home, hide, readonly ----
FB=$(conf badpaths <<'EOF'
version = 1;
defaults = {
  home = { mode = "private"; skel = "etc/skel"; size = "2T"; };
  hide = [ "$HOMEX/a", "/", "$HOME/../x" ];
};
policies = ( { name = "p"; readonly = [ "/a/$HOME", "$FOO/x" ]; home = { skel = "/etc//skel"; }; } );
EOF
)
run check --config "$FB"
is_rc 1 "check: bad home, hide and readonly values exit 1"
is_out "" "check: no ok line for bad home, hide and readonly values"
is_err "$FB:3: home.skel: \"etc/skel\" is not a normalized absolute path
$FB:3: home.size: invalid size \"2T\" (expected 1M to 1024G, e.g. \"256M\")
$FB:4: hide: \"\$HOMEX/a\" is not an absolute path (\"\$HOME/...\" and \$USER allowed)
$FB:4: hide: \"/\" is not an absolute path (\"\$HOME/...\" and \$USER allowed)
$FB:4: hide: \"\$HOME/../x\" is not an absolute path (\"\$HOME/...\" and \$USER allowed)
$FB:6: readonly: \"/a/\$HOME\" is not an absolute path (\"\$HOME/...\" and \$USER allowed)
$FB:6: readonly: \"\$FOO/x\" is not an absolute path (\"\$HOME/...\" and \$USER allowed)
$FB:6: home.skel: \"/etc//skel\" is not a normalized absolute path" \
	"check: every bad home, hide and readonly value with file and line"

FK=$(conf kiosk <<EOF
version = 1;
defaults = {
  home = { skel = "/etc/kiosk/skel"; size = "512M"; };
  hide = [ "\$HOME/.gnupg" ];
};
policies = (
  { name = "kiosk"; match = { users = ["$U"]; };
    home = { mode = "ephemeral"; size = "1G"; }; pid = true;
    tmp = { dirs = [ "/tmp", "\$HOME/tmp" ]; };
    readonly = [ "\$HOME/.ssh", "/var/mail/\$USER" ]; }
);
EOF
)
run check --config "$FK"
is_rc 0 "check: home, hide, readonly and template tmp.dirs are accepted"
is_out "$FK: ok, 1 policy" "check: ok line for home, hide and readonly"
is_err "" "check: nothing on stderr for home, hide and readonly"
run explain "$U" --config "$FK"
is_rc 0 "explain kiosk: exits 0"
has_line "$out" "policy:   kiosk" "explain kiosk: the user's policy"
settings_kiosk='isolate = true;
tmp = {
  dirs = [ "/tmp", "$HOME/tmp" ];
  method = "tmpfs";
  size = "256M";
};
home = {
  mode = "ephemeral";
  skel = "/etc/kiosk/skel";
  size = "1G";
};
network = { mode = "host"; };
pid = true;
ipc = true;
hostname = "";
userns = { enable = true; nested = false; root_id = 2147483646; };
hide = [ "$HOME/.gnupg" ];
readonly = [ "$HOME/.ssh", "/var/mail/$USER" ];
on_last_logout = "kill";
on_error = "deny";
on_group_change = "refuse";'
[ "$(sed -n '/^effective settings:$/,$p' <<<"$out" | tail -n +2)" = "$settings_kiosk" ]
ok $? "explain kiosk: home merged key by key, hide from the defaults, templates unexpanded" ||
	show got "$(sed -n '/^effective settings:$/,$p' <<<"$out")"

# ---- usage ----
usage="usage: nsisolate check [--config FILE]
       nsisolate check --pam [--pam-dir DIR] [SERVICE...]
       nsisolate explain USER [--service NAME] [--config FILE]
       nsisolate list [--json]
       nsisolate enter USER [--as-user] [-- CMD [ARG...]]
       nsisolate stop USER
       nsisolate gc
       nsisolate release UID|USER
       nsisolate --version"
run
is_rc 2 "usage: no command exits 2"
is_err "$usage" "usage: printed on stderr"
run frobnicate
is_rc 2 "usage: an unknown command exits 2"
run check extra --config "$F"
is_rc 2 "usage: check with an extra argument exits 2"
is_out "" "usage: nothing on stdout"
run check --service sshd --config "$F"
is_rc 2 "usage: check --service exits 2"
run explain --config "$F"
is_rc 2 "usage: explain without a user exits 2"
run explain "$U" root --config "$F"
is_rc 2 "usage: explain with two users exits 2"
run check --bogus
is_rc 2 "usage: an unknown option exits 2"
run check --config
is_rc 2 "usage: --config without a value exits 2"
run --help
is_rc 0 "usage: --help exits 0"
is_out "$usage" "usage: --help prints the usage on stdout"
run check -h
is_rc 0 "usage: check -h exits 0"
run --version
is_rc 0 "--version exits 0"
[[ "$out" =~ ^nsisolate\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
ok $? "--version prints \"nsisolate X.Y.Z\"" || show got "$out"
run check --pam --config "$F"
is_rc 2 "usage: check --pam with --config exits 2"
run check --pam-dir "$T"
is_rc 2 "usage: --pam-dir without --pam exits 2"
run list --pam
is_rc 2 "usage: --pam for another command exits 2"

# ---- check --pam (cli/pamstack.c; its unit test covers the rules) ----
mkdir -m 0755 "$T/pam.d"
printf 'session required pam_unix.so\n@include common-session\n' >"$T/pam.d/sshd"
printf 'session required pam_nsisolate.so\n' >"$T/pam.d/common-session"
run check --pam --pam-dir "$T/pam.d"
is_rc 0 "check --pam: the module last: exits 0"
is_out "sshd: pam_nsisolate.so required at $T/pam.d/common-session:1
pam: 1 service, 1 with pam_nsisolate.so: ok" "check --pam: one line per service and a summary"
is_err "" "check --pam: nothing on stderr"
printf 'session optional pam_exec.so /bin/true\n' >>"$T/pam.d/sshd"
run check --pam --pam-dir "$T/pam.d" sshd
is_rc 1 "check --pam: pam_exec after the module exits 1"
is_err "$T/pam.d/sshd:3: pam_exec.so runs after pam_nsisolate.so ($T/pam.d/common-session:1) and forks the command it runs: its child joins the user's set; move it before pam_nsisolate.so (sshd)" \
	"check --pam: names the forking module's FILE:LINE"

# ---- explain ----
settings_students='isolate = true;
tmp = {
  dirs = [ "/tmp", "/var/tmp", "/dev/shm" ];
  method = "instance";
  size = "1G";
};
home = {
  mode = "shared";
  skel = "/etc/skel";
  size = "256M";
};
network = { mode = "host"; };
pid = false;
ipc = true;
hostname = "";
userns = { enable = true; nested = false; root_id = 2147483646; };
hide = [];
readonly = [];
on_last_logout = "kill";
on_error = "deny";
on_group_change = "refuse";'
settings_ssh='isolate = true;
tmp = {
  dirs = [ "/tmp", "/var/tmp", "/dev/shm" ];
  method = "tmpfs";
  size = "1G";
};
home = {
  mode = "shared";
  skel = "/etc/skel";
  size = "256M";
};
network = { mode = "none"; };
pid = false;
ipc = true;
hostname = "lab-%u";
userns = { enable = true; nested = false; root_id = 2147483646; };
hide = [];
readonly = [];
on_last_logout = "kill";
on_error = "deny";
on_group_change = "refuse";'

run explain "$U" --config "$F"
is_rc 0 "explain: exits 0"
has_line "$out" "user:     $U (uid $UID_U, gid $GID_P)" "explain: user line with uid and gid"
has_line "$out" "groups:   $P($GID_P) $S($GID_S)" "explain: groups from NSS"
has_line "$out" "service:  (any)" "explain: no service"
has_line "$out" "policy:   students" "explain: the group policy applies without a service"
has_line "$out" "why:      policy \"students\" ($F:7) matched: group \"$S\"" \
	"explain: why names the policy, file, line and group"
has_line "$out" "isolated: yes" "explain: isolated"
[ "$(sed -n '/^effective settings:$/,$p' <<<"$out" | tail -n +2)" = "$settings_students" ]
ok $? "explain: effective settings merged over the defaults" ||
	show got "$(sed -n '/^effective settings:$/,$p' <<<"$out")"

run explain "$U" --service sshd --config "$F"
is_rc 0 "explain --service: exits 0"
has_line "$out" "service:  sshd" "explain --service: shows the service"
has_line "$out" "policy:   ssh-students" "explain --service: sshd selects the earlier policy"
has_line "$out" "why:      policy \"ssh-students\" ($F:5) matched: group \"$S\", service \"sshd\"" \
	"explain --service: why names group and service"
[ "$(sed -n '/^effective settings:$/,$p' <<<"$out" | tail -n +2)" = "$settings_ssh" ]
ok $? "explain --service: effective settings of that policy" ||
	show got "$(sed -n '/^effective settings:$/,$p' <<<"$out")"

run explain --service login --config "$F" "$U"
has_line "$out" "policy:   students" "explain --service login: options before the user work too"

# Id ranges: uids and gids (the user's own and its supplementary group's).
FR=$(conf ranges <<EOF
version = 1;
policies = (
  { name = "below"; match = { uids = ["1-$((UID_U - 1))"]; }; },
  { name = "byuid"; match = { uids = ["$UID_U-$((UID_U + 10))"]; services = ["cron"]; }; },
  { name = "bygid"; match = { gids = ["$GID_S"]; }; }
);
EOF
)
run check --config "$FR"
is_rc 0 "check: uids and gids ranges are accepted"
run explain "$U" --service cron --config "$FR"
has_line "$out" "why:      policy \"byuid\" ($FR:4) matched: uid \"$UID_U-$((UID_U + 10))\", service \"cron\"" \
	"explain: a uid range matches, why names it"
run explain "$U" --config "$FR"
has_line "$out" "why:      policy \"bygid\" ($FR:5) matched: gid \"$GID_S\"" \
	"explain: without that service, the supplementary gid matches"

run explain root --config "$F"
is_rc 0 "explain root: exits 0"
has_line "$out" "policy:   admins" "explain root: the admins policy"
has_line "$out" "isolated: no" "explain root: not isolated"
has_line "$out" "why:      policy \"admins\" ($F:4) matched: user \"root\"; uid 0 is never isolated" \
	"explain root: why says uid 0 is never isolated"

run explain "$U" --config "$F0"
has_line "$out" "policy:   (defaults)" "explain: no policy gives the defaults"
has_line "$out" "why:      no policy matched; the defaults apply" "explain: why says no policy matched"

run explain "nsic_nouser_$$" --config "$F"
is_rc 1 "explain: an unknown user exits 1"
is_err "nsisolate: nsic_nouser_$$: no such user" "explain: names the unknown user"
is_out "" "explain: nothing on stdout for an unknown user"

run explain "$U" --config "$FE"
is_rc 1 "explain: a file with errors exits 1"
lacks_line "$out" "isolated: yes" "explain: no verdict from a file with errors"
has_line "$err" "$FE:3: isolate: expected a boolean (true or false)" "explain: prints the errors"

# Valid as a template ("u" repeated), longer than 63 characters once %u is the user's name.
tmpl=
for _ in $(seq $((63 / ${#U} + 1))); do tmpl="$tmpl%u"; done
FH=$(printf 'version = 1;\ndefaults = { hostname = "%s"; };\n' "$tmpl" | conf host)
run check --config "$FH"
is_rc 0 "check: the host name template itself is valid"
run explain "$U" --config "$FH"
is_rc 1 "explain: a host name that expands too long for this user exits 1"
is_err "nsisolate: hostname \"$tmpl\" expands to an invalid host name for user $U" \
	"explain: says which template fails for which user"

echo "1..$n"
[ "$failed" -eq 0 ]
