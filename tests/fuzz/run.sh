#!/bin/sh
# Runs the libFuzzer targets of tests/fuzz (built by `make fuzz-targets` as
# build/fuzz/fuzz_<name>).
#   tests/fuzz/run.sh seeds TARGET...  every file of tests/fuzz/corpus/<name>
#                                      once through its target (make check)
#   tests/fuzz/run.sh fuzz TARGET...   each target for $FUZZ_SECONDS (default
#                                      60) on build/fuzz/corpus/<name>, a copy
#                                      of its seeds that keeps what earlier runs
#                                      found; with FUZZ_UPDATE_CORPUS=1 the
#                                      inputs that add coverage are merged
#                                      back into tests/fuzz/corpus/<name>
# A crashing input is written to build/fuzz/crashes/<name>-crash-<sha1>.
# Prints one line per target (executions per second when fuzzing) and exits
# 1 when any target failed.
mode=$1
shift
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$top/build/fuzz
seconds=${FUZZ_SECONDS:-60}
failed=""
# Leaks count as failures; UBSan reports stop the run (the objects are built
# with -fno-sanitize-recover) and print where they happened.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
mkdir -p "$build/crashes" "$build/logs"

for bin in "$@"; do
	name=$(basename "$bin")
	name=${name#fuzz_}
	seeds=$top/tests/fuzz/corpus/$name
	log=$build/logs/$name.log
	[ -d "$seeds" ] || { echo "FAIL fuzz $name: no seed corpus $seeds"; failed="$failed $name"; continue; }
	case $mode in
	seeds)
		"$bin" -artifact_prefix="$build/crashes/$name-" "$seeds"/* >"$log" 2>&1
		rc=$?
		n=$(find "$seeds" -type f | wc -l)
		if [ $rc -eq 0 ]; then
			echo "PASS fuzz $name: $n seeds"
		else
			echo "FAIL fuzz $name, log: $log"
			tail -n 30 "$log" | sed 's/^/    /'
			failed="$failed $name"
		fi
		;;
	fuzz)
		corpus=$build/corpus/$name
		mkdir -p "$corpus"
		cp "$seeds"/* "$corpus"/
		"$bin" -max_total_time="$seconds" -print_final_stats=1 \
			-artifact_prefix="$build/crashes/$name-" "$corpus" >"$log" 2>&1
		rc=$?
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
		cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
		if [ $rc -eq 0 ]; then
			echo "PASS fuzz $name: ${runs:-?} runs in ${seconds}s, ${rate:-?}/s, $cov"
		else
			echo "FAIL fuzz $name, log: $log"
			grep -A 30 -m 1 -E '^==[0-9]+==|runtime error|deadly signal|ERROR: libFuzzer' "$log" |
				sed 's/^/    /'
			failed="$failed $name"
		fi
		if [ "${FUZZ_UPDATE_CORPUS:-0}" = 1 ]; then
			"$bin" -merge=1 "$seeds" "$corpus" >>"$log" 2>&1 ||
				echo "fuzz $name: merge into $seeds failed, log: $log"
		fi
		;;
	*)
		echo "usage: $0 seeds|fuzz TARGET..." >&2
		exit 2
		;;
	esac
done
[ -n "$failed" ] && echo "fuzz: failed:$failed"
[ -z "$failed" ]
