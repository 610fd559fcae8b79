#!/bin/sh
# Every seed corpus of tests/fuzz/corpus once through its libFuzzer target
# (build/fuzz/fuzz_<name>, built by `make check` and `make fuzz-targets`):
# the crashes, leaks and undefined behaviour the fuzzers found stay fixed.
. "$(dirname "$0")/lib.sh"

bins=""
for src in "$TOP"/tests/fuzz/fuzz_*.c; do
	bin=$TOP/build/fuzz/$(basename "$src" .c)
	[ -x "$bin" ] || skip "no $bin (make fuzz-targets)"
	[ "$bin" -nt "$src" ] || fail "$bin is older than $src (make fuzz-targets)"
	bins="$bins $bin"
done
for dir in "$TOP"/tests/fuzz/corpus/*/; do
	[ -f "$TOP/tests/fuzz/fuzz_$(basename "$dir").c" ] ||
		fail "corpus $dir has no target tests/fuzz/fuzz_$(basename "$dir").c"
done
# shellcheck disable=SC2086
"$TOP/tests/fuzz/run.sh" seeds $bins || fail "a seed input fails its target"
