#!/bin/sh
# Benchmark of worker roots (issue 12): the bootstrap root (debootstrap of
# config/worker.conf) against a root made of the distribution's own packages
# (kind rpm: the example's toolchain stage, config/worker-rpm.conf's list),
# both built cold into fresh caches in this run. Prints, as
# `bench/worker-roots: ...` lines: build time and disk usage of each, their
# ratios, and the time a cached root takes to be found again. The toolchain
# packages themselves are built first (stage 0, not timed as a root). Needs
# root and the machine's apt mirror (debootstrap). Figures, not pass/fail.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
shipyard=$top/build/shipyard
say() { echo "bench/worker-roots: $*"; }
if [ "$(id -u)" -ne 0 ]; then
	say "skipped, needs root"
	exit 0
fi
tmp=$(mktemp -d /tmp/shipyard-bench-roots-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
now() { date +%s.%N; }
calc() { awk "BEGIN { print $1 }"; }
mib() { du -sm "$1" | cut -f1; }

repo=$tmp/repo
cp -r "$top/examples/minidistro" "$repo"
git -C "$repo" init -q
git -C "$repo" add -A
git -c user.name=b -c user.email=b@shipyard.invalid -C "$repo" commit -q -m example
tc=bootstrap-base,bootstrap-gcc,glibc,filesystem
export SHIPYARD_WORKER_CACHE="${SHIPYARD_WORKER_CACHE:-$top/build/worker-cache}"
"$shipyard" build --repo "$repo" --state "$tmp/state" --specs "$tc" >"$tmp/s0.log" 2>&1 ||
	{ tail -n 5 "$tmp/s0.log"; exit 1; }
"$shipyard" publish --repo "$repo" --state "$tmp/state" --channel toolchain --specs "$tc" \
	>"$tmp/p0.log" 2>&1 || { cat "$tmp/p0.log"; exit 1; }
printf '[worker]\n\tkind = rpm\n\trepo = channel:toolchain\n\tpackagelist = %s\n' \
	"$repo/toolkit/resources/manifests/package/toolchain_%s.txt" >"$tmp/rpm.conf"

# build MANIFEST CACHE: sets $elapsed and $root.
build() {
	s=$(now)
	root=$("$shipyard" worker build --manifest "$1" --state "$tmp/state" --cache "$2" \
		2>"$tmp/err") || { cat "$tmp/err"; exit 1; }
	elapsed=$(calc "$(now) - $s")
}
build "$top/config/worker.conf" "$tmp/deb"
deb_s=$elapsed
deb_mib=$(mib "$root")
build "$tmp/rpm.conf" "$tmp/rpm"
rpm_s=$elapsed
rpm_mib=$(mib "$root")
build "$tmp/rpm.conf" "$tmp/rpm"
again_ms=$(calc "$elapsed * 1000")
n=$(wc -l <"$(dirname "$root")/packages")
say "bootstrap root (debootstrap, cold): $(printf '%.1f' "$deb_s") s, $deb_mib MiB"
say "rpm root ($n packages from the toolchain channel, cold): $(printf '%.1f' "$rpm_s") s, $rpm_mib MiB"
say "rpm root / bootstrap root: time $(printf '%.2f' "$(calc "$rpm_s / $deb_s")")x, size $(printf '%.2f' "$(calc "$rpm_mib / $deb_mib")")x"
say "rpm root found in the cache again (resolve, digest): $(printf '%.0f' "$again_ms") ms"
