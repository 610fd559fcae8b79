#!/bin/sh
# Build roots where overlayfs is unavailable: the state directory lies on an
# overlayfs (which the kernel refuses as an upper dir). `--root-mode auto`
# notices and extracts the worker tarball (written once, next to the cached
# worker root) into each build's scratch directory; builds succeed, the
# output limit still counts only what the build wrote, nothing is left
# behind. `--root-mode overlay` there without an output limit fails every
# mount: an infrastructure failure, retried 3 times, then reported with the
# reason; the spec's dependents are blocked.
. "$(dirname "$0")/lib.sh"
need_root
command -v jq >/dev/null || skip "needs jq (scripts/deps.sh installs it)"

# A state directory on an overlayfs.
mkdir -p "$T/ovl/lower" "$T/ovl/upper" "$T/ovl/work" "$T/ovl/merged"
mount -t overlay overlay -o "lowerdir=$T/ovl/lower,upperdir=$T/ovl/upper,workdir=$T/ovl/work" \
	"$T/ovl/merged" 2>/dev/null || skip "cannot mount an overlayfs here"
trap 'umount -l "$T/ovl/merged" 2>/dev/null || true; rm -rf "$T"' EXIT
state=$T/ovl/merged/state
mkdir -p "$T/ovl/merged/probe/l" "$T/ovl/merged/probe/u" "$T/ovl/merged/probe/w" "$T/ovl/merged/probe/m"
if mount -t overlay overlay -o "lowerdir=$T/ovl/merged/probe/l,upperdir=$T/ovl/merged/probe/u,workdir=$T/ovl/merged/probe/w" \
	"$T/ovl/merged/probe/m" 2>/dev/null; then
	umount "$T/ovl/merged/probe/m"
	skip "this kernel accepts an overlayfs as an upper dir: no place without overlayfs support"
fi

repo=$T/distro
mkdir -p "$repo/SPECS/calm" "$repo/SPECS/fill" "$repo/SPECS/after-calm"
spec() { # spec NAME BUILD-LINE [BuildRequires]
	{
		printf 'Name: %s\nVersion: 1\nRelease: %s%%{?dist}\nSummary: %s\n' "$1" "${REL:-1}" "$1"
		printf 'License: MIT\nBuildArch: noarch\n'
		[ -z "${3:-}" ] || printf 'BuildRequires: %s\n' "$3"
		printf '%%description\nx\n%%build\n%s\n%%install\nmkdir -p %%{buildroot}/usr/share/%s\n' "$2" "$1"
		printf 'echo %s > %%{buildroot}/usr/share/%s/file\n%%files\n/usr/share/%s\n' "$1" "$1" "$1"
	} >"$repo/SPECS/$1/$1.spec"
}
spec calm 'echo calm'
spec fill 'dd if=/dev/zero of=big bs=1M count=48 status=none; sleep 20'
spec after-calm 'echo after' calm
git_ -C "$repo" init -q
git_ -C "$repo" add -A
git_ -C "$repo" commit -q -m "calm, fill, after-calm"

runs=0
run() { # run OUT ARGS...: shipyard run, exit status in $rc, reports in $(report_dir)
	out=$1
	shift
	rc=0
	runs=$((runs + 1))
	"$SHIPYARD" run --repo "$repo" --state "$state" --jobs 2 --pipeline-id "run$runs" "$@" \
		>"$out" 2>&1 || rc=$?
}
csv_state() { grep "^$2-[^-]*-[^-]*\.src\.rpm," "$1/build_state.csv" | cut -d, -f2; }
report_dir() { echo "$state/pipelines/run$runs"; }
no_leftovers() {
	if ls "$state/builds" 2>/dev/null | grep -q .; then
		ls -la "$state/builds"
		fail "$1 left scratch directories"
	fi
	if grep -q " $state/" /proc/mounts; then
		fail "$1 left mounts under the state directory"
	fi
}

# 1. auto: extracted roots.
run "$T/run1.out" --output-limit 16
[ "$rc" -eq 1 ] || { cat "$T/run1.out"; fail "fill should fail the run"; }
expect_line "$T/run1.out" 'overlayfs unavailable \(overlay mount in .*\): build roots are extracted from the worker tarball'
dir=$(report_dir)
[ "$(csv_state "$dir" calm)" = Built ] || { cat "$dir/build_state.csv"; fail "calm was not built"; }
[ "$(csv_state "$dir" after-calm)" = Built ] || { cat "$dir/build_state.csv"; fail "after-calm was not built"; }
[ "$(csv_state "$dir" fill)" = Failed ] || { cat "$dir/build_state.csv"; fail "fill did not fail"; }
expect_line "$T/run1.out" 'fill.*output limit of 16 MiB exceeded'
expect_line "$dir/logs/calm.log" 'extracting the worker tarball into the build root'
ls "$SHIPYARD_WORKER_CACHE"/*/root.tar.gz >/dev/null 2>&1 || fail "no worker tarball beside the worker root"
rpm -qp --qf '%{NAME}\n' "$state"/artifacts/*/calm-1-1.*noarch.rpm 2>/dev/null | grep -qx calm ||
	{ ls -R "$state/artifacts"; fail "calm's RPM is not a valid package"; }
no_leftovers "the extracted builds"

# 2. overlay forced where it cannot work: infrastructure failures, retried.
sed -i 's/^Release: 1/Release: 2/' "$repo/SPECS/calm/calm.spec"
git_ -C "$repo" rm -q -r SPECS/fill
git_ -C "$repo" commit -q -am "calm 2, no fill"
# Without an output limit: with one, the overlay's upper dir is on the
# build's own sized filesystem, where an overlay mounts anywhere.
run "$T/run2.out" --root-mode overlay --output-limit 0
[ "$rc" -eq 1 ] || { cat "$T/run2.out"; fail "builds with a failing overlay mount should fail the run"; }
dir=$(report_dir)
[ "$(csv_state "$dir" calm)" = Failed ] || { cat "$dir/build_state.csv"; fail "calm did not fail"; }
grep -q '^after-calm-[^,]*,Blocked,calm-' "$dir/build_state.csv" || {
	cat "$dir/build_state.csv"
	fail "after-calm is not blocked by calm"
}
[ "$(jq -r '.jobs[] | select(.spec == "calm") | .attempts' "$dir/build-summary.json")" = 4 ] || {
	jq '.jobs' "$dir/build-summary.json"
	fail "an infrastructure failure should be tried 4 times (3 retries)"
}
expect_line "$T/run2.out" 'calm.*cannot mount overlay'
[ "$(grep -c '^shipyard: SPECS/calm/calm.spec: cannot mount overlay' "$dir/logs/calm.log")" -eq 4 ] || {
	cat "$dir/logs/calm.log"
	fail "calm.log should keep all 4 attempts"
}
expect_line "$dir/logs/calm.log" 'attempt 4 after an infrastructure failure, in 4 s'
no_leftovers "the failed overlay builds"
echo ok
