#!/bin/sh
# Runs test programs (cmocka unit test binaries and integration scripts) and
# prints one closing line "N passed, N failed". Exit status 1 if any failed.
# Usage: tests/run-tests.sh LABEL PROGRAM...
label=$1
shift
passed=0
failed=0
skipped=0
failures=""
logdir=build/test-logs
mkdir -p "$logdir"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$(cd "$(dirname "$0")" && pwd)/lsan.supp:print_suppressions=0}"
for t in "$@"; do
	name=$(basename "$t")
	log="$logdir/$name.log"
	start=$(date +%s)
	"$t" >"$log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1))
		echo "PASS $name (${secs}s)"
	elif [ $rc -eq 77 ]; then
		skipped=$((skipped + 1))
		echo "SKIP $name: $(grep -m1 '^SKIP' "$log" | cut -c6-)"
	else
		failed=$((failed + 1))
		failures="$failures $name"
		echo "FAIL $name (${secs}s), log: $log"
		tail -n 30 "$log" | sed 's/^/    /'
	fi
done
[ -n "$failures" ] && echo "failed:$failures"
echo "$label: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
