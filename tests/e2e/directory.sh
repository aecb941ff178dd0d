# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/e2e/directory.sh, sourced after lib.sh by test-directory.sh and the
# benchmark: a directory for the tests. A real slapd on 127.0.0.1 (a free
# port, a test suffix, users and groups below), nslcd as the NSS provider
# (/etc/nslcd.conf written, restored at exit), both started here and
# stopped at exit. directory_nss_on appends "ldap" to the passwd and group
# lines of /etc/nsswitch.conf (restored at exit) and makes the homes.
# Users (uids 150001-150003): nsitd-alice@corp.example ($ALICE),
# nsitd-bob ($BOB), "nsitd carol" ($CAROL); groups: each user's own,
# nsitd-staff (alice), nsitd-lab (all three), "nsitd domain users@corp.example"
# (alice). Sets: SUFFIX ALICE BOB CAROL UA UB UC GSTAFF GLAB GDOM LD PORT;
# functions start_slapd stop_slapd slapd_pid directory_nss_on.
# shellcheck shell=bash disable=SC2317
need slapd slapadd nslcd ldapsearch pamtester sshd ssh getent
[ -e /usr/lib/x86_64-linux-gnu/libnss_ldap.so.2 ] || [ -n "$(find /usr/lib /lib -name 'libnss_ldap.so.2' 2>/dev/null | head -n 1)" ] ||
	bail "libnss_ldap.so.2 (libnss-ldapd) is missing: make deps"

SUFFIX=dc=nsit,dc=test
ALICE=nsitd-alice@corp.example
BOB=nsitd-bob
CAROL="nsitd carol" # a space, as Active Directory allows and SSSD returns
UA=150001
UB=150002
UC=150003
GSTAFF=150100
GLAB=150200
GDOM=150300 # "nsitd domain users@corp.example", as Active Directory names groups
for u in $UA $UB $UC; do
	drop_set "$u"
	defer drop_set "$u"
done
# Their processes, whatever NSS says of the names by then.
defer kill_uid $UA
defer kill_uid $UB
defer kill_uid $UC

# ---------------------------------------------------------------- slapd
LD=$T/ldap
install -d -m 0700 "$LD" "$LD/slapd.d" "$LD/db"
PORT=$(free_port)
cat >"$LD/config.ldif" <<EOF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $LD/slapd.pid

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/nis.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcAccess: {0}to * by * read

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: $SUFFIX
olcDbDirectory: $LD/db
olcDbMaxSize: 10485760
olcAccess: {0}to * by * read
EOF
person() { # UID-ATTR UIDNUMBER GIDNUMBER HOME
	cat <<EOF
dn: uid=$1,ou=people,$SUFFIX
objectClass: posixAccount
objectClass: inetOrgPerson
uid: $1
cn: $1
sn: $1
uidNumber: $2
gidNumber: $3
homeDirectory: $4
loginShell: /bin/sh

EOF
}
group() { # NAME GIDNUMBER MEMBER...
	printf 'dn: cn=%s,ou=groups,%s\nobjectClass: posixGroup\ncn: %s\ngidNumber: %s\n' \
		"$1" "$SUFFIX" "$1" "$2"
	shift 2
	for m in "$@"; do echo "memberUid: $m"; done
	echo
}
{
	printf 'dn: %s\nobjectClass: dcObject\nobjectClass: organization\no: nsit\ndc: nsit\n\n' "$SUFFIX"
	printf 'dn: ou=people,%s\nobjectClass: organizationalUnit\nou: people\n\n' "$SUFFIX"
	printf 'dn: ou=groups,%s\nobjectClass: organizationalUnit\nou: groups\n\n' "$SUFFIX"
	person "$ALICE" $UA $UA /home/nsitd-alice
	person $BOB $UB $UB /home/nsitd-bob
	person "$CAROL" $UC $UC /home/nsitd-carol
	group nsitd-carol $UC
	group nsitd-alice $UA
	group nsitd-bob $UB
	group nsitd-staff $GSTAFF "$ALICE"
	group nsitd-lab $GLAB "$ALICE" $BOB "$CAROL"
	group "nsitd domain users@corp.example" $GDOM "$ALICE"
} >"$LD/data.ldif"
if ! slapadd -n0 -F "$LD/slapd.d" -l "$LD/config.ldif" >"$T/slapadd.log" 2>&1 ||
	! slapadd -n1 -F "$LD/slapd.d" -l "$LD/data.ldif" >>"$T/slapadd.log" 2>&1; then
	bail "slapadd failed" "$(cat "$T/slapadd.log")"
fi
slapd_pid() { cat "$LD/slapd.pid" 2>/dev/null; }
stop_slapd() {
	local p
	p=$(slapd_pid)
	[ -n "$p" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" == slapd ] || return 0
	kill -CONT "$p" 2>/dev/null
	kill "$p" 2>/dev/null
	wait_until 10 sh -c "! kill -0 $p 2>/dev/null"
}
start_slapd() {
	slapd -h "ldap://127.0.0.1:$PORT/" -F "$LD/slapd.d" >"$T/slapd.log" 2>&1 || return 1
	wait_until 10 ldapsearch -x -H "ldap://127.0.0.1:$PORT/" -b "$SUFFIX" -s base >/dev/null 2>&1
}
defer stop_slapd
start_slapd || bail "slapd did not start" "$(cat "$T/slapd.log")"

# ---------------------------------------------------------------- nslcd, nsswitch
NSLCD_SAVED=$T/nslcd.conf.saved
NSS_SAVED=$T/nsswitch.conf.saved
[ -e /etc/nslcd.conf ] && cp -p /etc/nslcd.conf "$NSLCD_SAVED"
cp -p /etc/nsswitch.conf "$NSS_SAVED"
restore_files() {
	cp -p "$NSS_SAVED" /etc/nsswitch.conf
	if [ -e "$NSLCD_SAVED" ]; then cp -p "$NSLCD_SAVED" /etc/nslcd.conf; else rm -f /etc/nslcd.conf; fi
}
defer restore_files
cat >/etc/nslcd.conf <<EOF
# written by tests/e2e/directory.sh, restored when its test or benchmark ends
uid nslcd
gid nslcd
uri ldap://127.0.0.1:$PORT/
base $SUFFIX
bind_timelimit 2
timelimit 2
reconnect_sleeptime 1
reconnect_retrytime 1
EOF
chown root:nslcd /etc/nslcd.conf
chmod 0640 /etc/nslcd.conf
install -d -o nslcd -g nslcd -m 0755 /run/nslcd
# Our own nslcd: none may run already (its socket is a fixed path).
pgrep -r R,S,D -x nslcd >/dev/null && bail "an nslcd runs already; this test starts its own"
stop_nslcd() {
	local p
	p=$(cat /run/nslcd/nslcd.pid 2>/dev/null)
	[ -n "$p" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" == nslcd ] && kill "$p"
	wait_until 10 sh -c "! pgrep -r R,S,D -x nslcd >/dev/null"
}
defer stop_nslcd
nslcd || bail "nslcd did not start"

directory_nss_on() {
	local h u
	sed -i -E 's/^(passwd|group):(.*)$/\1:\2 ldap/' /etc/nsswitch.conf
	for h in nsitd-alice nsitd-bob nsitd-carol; do
		case $h in nsitd-alice) u=$UA ;; nsitd-bob) u=$UB ;; *) u=$UC ;; esac
		install -d -o $u -g $u -m 0750 "/home/$h"
		defer rm -rf --one-file-system "/home/$h"
	done
}
