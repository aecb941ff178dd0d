#!/bin/bash
# Usage: tests/fuzz/run-fuzz.sh BIN
# Runs the config fuzzer BIN (build/fuzz-config) for a bounded time on a copy of
# tests/fuzz/corpus (the checked-in corpus is never modified) and prints one
# TAP line. Crash inputs are kept in build/fuzz-artifacts/ to reproduce with
# "BIN FILE". NSI_FUZZ_TIME overrides the 60 seconds.
set -u
bin=$(readlink -f -- "${1:-build/fuzz-config}")
cd "$(dirname "$0")/../.." || exit 1
secs=${NSI_FUZZ_TIME:-60}
desc="fuzz config for ${secs}s without a crash"

if [ ! -x "$bin" ]; then
	echo "not ok 1 - $desc (no fuzzer binary: $bin)"
	exit 1
fi
work=$(mktemp -d /tmp/nsi-fuzz-XXXXXX) || exit 1
trap 'rm -rf -- "$work"' EXIT
trap 'exit 143' TERM INT HUP
mkdir "$work/corpus" "$work/tmp" "$work/artifacts"
cp tests/fuzz/corpus/* "$work/corpus/"
# The schema's words, so that mutations reach past the parser.
cat >"$work/dict" <<'DICT'
"version"
"defaults"
"policies"
"name"
"match"
"users"
"groups"
"services"
"isolate"
"tmp"
"dirs"
"method"
"size"
"home"
"mode"
"skel"
"network"
"subnet"
"host_access"
"nat"
"dns"
"pid"
"ipc"
"hostname"
"userns"
"enable"
"nested"
"root_id"
"hide"
"readonly"
"on_last_logout"
"on_error"
"tmpfs"
"instance"
"shared"
"private"
"ephemeral"
"host"
"none"
"veth"
"kill"
"linger"
"deny"
"allow"
"true"
"false"
"@include"
"%u"
"$HOME"
"/proc"
"/run/nsisolate"
"256M"
"1024G"
"4294967294L"
"4294968296"
"0x7FFFFFFE"
"/*"
"*/"
"//"
"# "
" = "
"; "
"{ "
" }"
"[ "
" ]"
"( "
" )"
"\x0a"
"\x22"
DICT

# UBSan reports must stop the run, not scroll by; leaks fail it too.
TMPDIR="$work/tmp" \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	ASAN_OPTIONS=detect_leaks=1 \
	"$bin" -max_total_time="$secs" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
	-dict="$work/dict" -artifact_prefix="$work/artifacts/" -print_final_stats=1 \
	"$work/corpus" >"$work/log" 2>&1
rc=$?

runs=$(grep -oE '^stat::number_of_executed_units: *[0-9]+' "$work/log" | grep -oE '[0-9]+$')
if [ "$rc" -eq 0 ] && ! grep -qE 'ERROR: (Address|Leak|UndefinedBehavior)Sanitizer|runtime error' "$work/log"; then
	echo "ok 1 - $desc"
	echo "# ${runs:-?} inputs, corpus grew from $(ls tests/fuzz/corpus | wc -l) to $(ls "$work/corpus" | wc -l)"
	exit 0
fi
echo "not ok 1 - $desc"
echo "# fuzzer exited with status $rc; last lines of its log:"
grep -vE '^#[0-9]+' "$work/log" | tail -n 40 | sed 's/^/#   /'
if [ -n "$(ls -A "$work/artifacts")" ]; then
	mkdir -p build/fuzz-artifacts
	cp "$work/artifacts/"* build/fuzz-artifacts/
	for f in "$work/artifacts/"*; do
		echo "# input kept as build/fuzz-artifacts/$(basename "$f"):"
		head -c 2048 "$f" | od -c | head -n 30 | sed 's/^/#   /'
	done
fi
exit 1
