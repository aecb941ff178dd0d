#!/bin/bash
# tests/fuzz/run-fuzz.sh: one libFuzzer target, as make test and make check run
# it (docs/design.md, "Tests").
# Usage: tests/fuzz/run-fuzz.sh BIN
# Runs the libFuzzer target BIN (build/fuzz-NAME, from tests/fuzz/fuzz-NAME.c)
# for a bounded time on a copy of tests/fuzz/corpus-NAME (the checked-in
# corpus is never modified), with tests/fuzz/NAME.dict when there is one, and
# prints one TAP line. Crash inputs are kept in build/fuzz-artifacts/ to
# reproduce with "BIN FILE". NSI_FUZZ_TIME overrides the 30 seconds.
set -u
bin=$(readlink -f -- "${1:-build/fuzz-config}")
cd "$(dirname "$0")/../.." || exit 1
name=$(basename "$bin")
name=${name#fuzz-}
secs=${NSI_FUZZ_TIME:-30}
desc="fuzz $name for ${secs}s without a crash"

if [ ! -x "$bin" ] || [ ! -d "tests/fuzz/corpus-$name" ]; then
	echo "not ok 1 - $desc (no fuzzer binary $bin or corpus tests/fuzz/corpus-$name)"
	exit 1
fi
work=$(mktemp -d /tmp/nsi-fuzz-XXXXXX) || exit 1
trap 'rm -rf -- "$work"' EXIT
trap 'exit 143' TERM INT HUP
mkdir "$work/corpus" "$work/tmp" "$work/artifacts"
cp "tests/fuzz/corpus-$name"/* "$work/corpus/"
dict=()
[ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")

# UBSan reports must stop the run, not scroll by; leaks fail it too.
TMPDIR="$work/tmp" \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	ASAN_OPTIONS=detect_leaks=1 \
	"$bin" -max_total_time="$secs" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
	"${dict[@]}" -artifact_prefix="$work/artifacts/" -print_final_stats=1 \
	"$work/corpus" >"$work/log" 2>&1
rc=$?

runs=$(grep -oE '^stat::number_of_executed_units: *[0-9]+' "$work/log" | grep -oE '[0-9]+$')
if [ "$rc" -eq 0 ] && ! grep -qE 'ERROR: (Address|Leak|UndefinedBehavior)Sanitizer|runtime error' "$work/log"; then
	echo "ok 1 - $desc"
	echo "# ${runs:-?} inputs, corpus grew from $(ls "tests/fuzz/corpus-$name" | wc -l) to $(ls "$work/corpus" | wc -l)"
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
