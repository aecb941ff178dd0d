#!/bin/bash
# tests/cli/test-examples.sh: the example policies in conf/ against the policy
# file checks (docs/design.md, "Trust boundaries").
# Every example policy in conf/ passes "nsisolate check"; a copy of each with
# planted errors fails, and check reports each planted error as the exact
# "FILE:LINE: KEY: message" line. Prints TAP lines.
set -u
cd "$(dirname "$0")/../.." || exit 1
BIN=${NSI_BIN:-build/nsisolate}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac

n=0
nfail=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); nfail=$((nfail + 1)); echo "not ok $n - $*"; }

tmp=
cleanup() { [ -n "$tmp" ] && rm -rf -- "$tmp"; }
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

if [ ! -x "$BIN" ]; then
	not_ok "$BIN is not an executable (run make build/nsisolate)"
	echo "1..$n"
	exit 1
fi

# check refuses a file in a directory others can write: mktemp -d gives a
# root-owned 0700 directory under the sticky /tmp.
tmp=$(mktemp -d) || exit 1
chmod 0700 "$tmp"

examples=(conf/*.conf)
if [ ! -e "${examples[0]}" ]; then
	not_ok "no example in conf/"
	echo "1..$n"
	exit 1
fi

# The planted errors: each line goes into the copy as is, and check must
# report it at that line with exactly this message.
planted_policy=(
	'  { name = "planted";'
	'    match = { users = ["root"]; colour = ["blue"]; };'
	'    ipc = "yes";'
	'    on_error = "maybe";'
	'    tmp = { size = "12X"; };'
	'    network = { mode = "veth"; subnet = "10.213.0.1/16"; };'
	'    hostname = "bad_host";'
)
planted_default='  frobnicate = true;'
declare -A message=(
	["$planted_default"]='frobnicate: unknown key'
	["${planted_policy[1]}"]='match.colour: unknown key'
	["${planted_policy[2]}"]='ipc: expected a boolean (true or false)'
	["${planted_policy[3]}"]='on_error: invalid value "maybe" (expected deny or allow)'
	["${planted_policy[4]}"]='tmp.size: invalid size "12X" (expected 1M to 1024G, e.g. "256M")'
	["${planted_policy[5]}"]='network.subnet: "10.213.0.1/16" has host bits set (did you mean "10.213.0.0/16"?)'
	["${planted_policy[6]}"]="hostname: \"bad_host\" is not a valid host name (letters, digits, '-', '.', %u; at most 63)"
)

# Writes a corrupted copy of $1 to $2 and the expected error lines, naming
# $2, to $3: the planted policy becomes the first entry of the "policies = ("
# list, and the planted key the first line of the "defaults = {" group.
plant() {
	local src=$1 dst=$2 expect=$3 start end sep="" l want

	start=$(grep -n -x 'policies = (' "$src" | head -n1 | cut -d: -f1)
	[ -n "$start" ] || return 1
	end=$(awk -v s="$start" 'NR > s && /^\);$/ { print NR; exit }' "$src")
	[ -n "$end" ] || return 1
	grep -q -x 'defaults = {' "$src" || return 1
	# In a non-empty list the planted entry needs a comma after it.
	if awk -v s="$start" -v e="$end" 'NR > s && NR < e && !/^[[:space:]]*#/ && /\{/ { f = 1 }
		END { exit !f }' "$src"; then
		sep=","
	fi
	{
		sed -n "1,${start}p" "$src"
		printf '%s\n' "${planted_policy[@]}"
		printf '  }%s\n' "$sep"
		sed -n "$((start + 1)),\$p" "$src"
	} | awk -v k="$planted_default" '{ print } $0 == "defaults = {" { print k }' >"$dst"
	chmod 0644 "$dst"

	: >"$expect"
	for want in "$planted_default" "${planted_policy[@]:1}"; do
		l=$(grep -n -x -F -- "$want" "$dst" | head -n1 | cut -d: -f1)
		[ -n "$l" ] || return 1
		printf '%s:%s: %s\n' "$dst" "$l" "${message[$want]}" >>"$expect"
	done
}

for ex in "${examples[@]}"; do
	name=$(basename "$ex")
	dir=$tmp/${name%.conf}
	mkdir -m 0700 "$dir"
	cp -- "$ex" "$dir/$name"
	chmod 0644 "$dir/$name"

	"$BIN" check --config "$dir/$name" >"$dir/out" 2>"$dir/err"
	rc=$?
	if [ "$rc" -eq 0 ] && grep -q -x -E "$dir/$name: ok, [0-9]+ polic(y|ies)" "$dir/out"; then
		ok "$name: check exits 0 and reports ok"
	else
		not_ok "$name: check exited $rc"
		sed 's/^/# /' "$dir/out" "$dir/err"
	fi
	if grep -qv '^warning: ' "$dir/err"; then
		not_ok "$name: check printed something other than warnings on stderr"
		sed 's/^/# /' "$dir/err"
	else
		ok "$name: stderr holds warnings only"
	fi

	bad=$dir/bad-$name
	if ! plant "$dir/$name" "$bad" "$dir/expect"; then
		not_ok "$name: cannot plant errors (needs 'defaults = {' and 'policies = (' ... ');' lines)"
		continue
	fi
	"$BIN" check --config "$bad" >"$dir/bad.out" 2>"$dir/bad.err"
	rc=$?
	if [ "$rc" -eq 1 ]; then
		ok "$name (corrupted): check exits 1"
	else
		not_ok "$name (corrupted): check exited $rc, expected 1"
	fi
	if [ -s "$dir/bad.out" ]; then
		not_ok "$name (corrupted): check printed on stdout"
		sed 's/^/# /' "$dir/bad.out"
	else
		ok "$name (corrupted): nothing on stdout"
	fi
	while IFS= read -r want; do
		if grep -qxF -- "$want" "$dir/bad.err"; then
			ok "$name (corrupted): reports '${want#"$dir/"}'"
		else
			not_ok "$name (corrupted): missing '$want'"
			sed 's/^/# stderr: /' "$dir/bad.err"
		fi
	done <"$dir/expect"
done

echo "1..$n"
[ "$nfail" -eq 0 ]
