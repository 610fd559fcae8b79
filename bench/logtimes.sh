#!/bin/sh
# Benchmark of recording the time of each log line (builder/logtimes.h):
# writing a log of a million lines without and with the follower thread, in
# 4 KiB writes and one write a line. Prints `bench/logtimes: ...` lines with
# the ratio of the times and the sidecar's size a line.
#
# usage: bench/logtimes.sh [--lines N] [--width W]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
tool=$top/build/bench/logtimes
[ -x "$tool" ] || { echo "bench/logtimes: build first: make build/bench/logtimes" >&2; exit 1; }
"$tool" --scratch "$top/build/bench-scratch/logtimes" "$@"
