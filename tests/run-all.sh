#!/bin/bash
# Runs every test suite and ends with "N passed, N failed". With --in-tree
# (make test), only what runs in the tree without root or an install: the
# unit tests, plain and with ASan/UBSan, and the fuzzers. Each suite prints
# TAP-style "ok N - ..." / "not ok N - ..." lines; a suite that exits
# non-zero without printing a failure counts as one failure.
set -u
cd "$(dirname "$0")/.."
B=build
passed=0
failed=0
failures=()

run_suite() {
	local name=$1; shift
	local out rc p f
	echo "=== $name"
	out=$(timeout "${NSI_SUITE_TIMEOUT:-900}" "$@" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	p=$(grep -cE '^ok [0-9]+' <<<"$out")
	f=$(grep -cE '^not ok [0-9]+' <<<"$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	[ "$f" -gt 0 ] && failures+=("$name")
}

for t in "$B"/tests/test-*; do
	[ -f "$t" ] && [ -x "$t" ] && run_suite "unit $(basename "$t")" "$t"
done
for t in "$B"/asan/test-*; do
	[ -f "$t" ] && [ -x "$t" ] && run_suite "asan $(basename "$t")" "$t"
done
for t in "$B"/fuzz-*; do
	[ -f "$t" ] && [ -x "$t" ] && run_suite "$(basename "$t")" tests/fuzz/run-fuzz.sh "$t"
done
if [ "${1:-}" != --in-tree ]; then
	for t in tests/cli/test-*.sh tests/pam/test-*.sh tests/e2e/test-*.sh tests/deb/test-*.sh; do
		[ -x "$t" ] && run_suite "$t" "$t"
	done
	# A booted Debian 12 under qemu (tests/systemd/vm.sh): minutes, not seconds.
	for t in tests/systemd/test-*.sh; do
		[ -x "$t" ] && NSI_SUITE_TIMEOUT=${NSI_SYSTEMD_TIMEOUT:-2400} run_suite "$t" "$t"
	done
fi

echo
[ ${#failures[@]} -gt 0 ] && echo "failed suites: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
