#!/bin/sh
# Benchmark of the per-build overhead (issue 4, "Checked by"): a fresh
# isolated build root made and torn down (overlayfs over the cached worker
# root, namespaces, /proc, /dev, pivot_root; median of 10) against extracting
# a gzip tarball of the same worker root with libarchive, as the Azure Linux
# toolkit does for every package (median of 3). The worker root is the one of
# config/worker.conf in $SHIPYARD_WORKER_CACHE (default build/worker-cache),
# built with `shipyard worker build` when missing (about a minute). Prints
# `bench/build: ...` lines; the target is an overhead under 0.5 s.
#
# usage: bench/build-overhead.sh [--probes N] [--extractions M]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
shipyard=$top/build/shipyard
tool=$top/build/bench/build-overhead
cache=${SHIPYARD_WORKER_CACHE:-$top/build/worker-cache}

if [ "$(id -u)" -ne 0 ]; then
	echo "bench/build: skipped: needs root (namespaces, overlayfs, chroot)"
	exit 0
fi
[ -x "$tool" ] && [ -x "$shipyard" ] || {
	echo "bench/build: build first: make build/shipyard build/bench/build-overhead" >&2
	exit 1
}
root=$("$shipyard" worker build --cache "$cache" --manifest "$top/config/worker.conf")
scratch=$top/build/bench-scratch/build-overhead
mkdir -p "$(dirname "$scratch")"
"$tool" --root "$root" --scratch "$scratch" "$@"
