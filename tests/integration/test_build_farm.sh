#!/bin/sh
# The build farm on the example distribution, with real rpmbuild in real
# isolated roots: builds run in parallel; build_state.csv and
# build-summary.json report every job; a build that tries to reach the
# network fails; a rebuild whose output did not change stops the cascade
# (its dependents are "unchanged", not built); one build key is reused across
# two branches; a run killed with SIGKILL leaves no build processes, and the
# next run starts by removing its leftovers.
. "$(dirname "$0")/lib.sh"
need_root
command -v jq >/dev/null || skip "needs jq (scripts/deps.sh installs it)"

repo=$T/distro
state=$T/state
minidistro "$repo"

runs=0
run() { # run OUT ARGS...: shipyard run, exit status in $rc, reports in $(report_dir)
	out=$1
	shift
	rc=0
	runs=$((runs + 1))
	"$SHIPYARD" run --repo "$repo" --state "$state" --pipeline-id "run$runs" "$@" >"$out" 2>&1 || rc=$?
}
# csv_state REPORT_DIR SPEC: the State column of SPEC's row of build_state.csv.
csv_state() {
	grep "^$2-[^-]*-[^-]*\.src\.rpm," "$1/build_state.csv" | cut -d, -f2
}
# report_dir: the last run's own directory (build_state.csv, logs/).
report_dir() { echo "$state/pipelines/run$runs"; }

# 1. Parallel builds: two jobs at once, and each job's interval overlaps
# another's.
run "$T/run1.out" --jobs 2
[ "$rc" -eq 0 ] || { cat "$T/run1.out"; fail "first run failed"; }
dir1=$(report_dir)
nspecs=$(ls -d "$repo"/SPECS/*/ | wc -l)
expect_line "$dir1/build_state.csv" '^Package,State,Blocker,IsTest$'
[ "$(grep -c ',Built,,0$' "$dir1/build_state.csv")" -eq "$nspecs" ] || {
	cat "$dir1/build_state.csv"
	fail "build_state.csv: expected $nspecs Built rows"
}
overlaps=$(jq '[.jobs[] | select(.state == "built")] as $j
	| [range(0; $j | length) as $a | range(0; $j | length) as $b
	   | select($a < $b and $j[$a].started < $j[$b].ended and $j[$b].started < $j[$a].ended)]
	| length' "$dir1/build-summary.json")
[ "$overlaps" -gt 0 ] || fail "no two builds ran at the same time with --jobs 2"
[ "$(jq '.counts.built' "$dir1/build-summary.json")" -eq "$nspecs" ] || fail "build-summary.json counts"

# 2. A rebuild with the same output stops the cascade: a comment in
# libgreet's %build changes its key (and its dependents' keys), not what it
# produces.
sed -i 's|^%build$|%build\n# a comment: the packages stay the same|' "$repo/SPECS/libgreet/libgreet.spec"
git_ -C "$repo" commit -q -am "libgreet: comment in %build"
run "$T/run2.out" --jobs 2
[ "$rc" -eq 0 ] || { cat "$T/run2.out"; fail "second run failed"; }
dir2=$(report_dir)
[ "$(csv_state "$dir2" libgreet)" = Built ] || fail "libgreet was not rebuilt"
[ "$(jq -r '.jobs[] | select(.spec == "libgreet") | .same_output' "$dir2/build-summary.json")" = true ] ||
	fail "libgreet's rebuild did not give the same output"
for s in hello libbanner greet-tools; do
	[ "$(csv_state "$dir2" $s)" = Unchanged ] || { cat "$dir2/build_state.csv"; fail "$s: not Unchanged"; }
done
expect_line "$T/run2.out" '^shipyard/build success 1 built, 0 reused, 3 unchanged, 0 failed, 0 blocked'

# 3. One key reused across branches: the same change on two branches is
# built once.
git_ -C "$repo" checkout -q -b feature-a
sed -i 's|^Release:.*|Release:        2%{?dist}|' "$repo/SPECS/hello/hello.spec"
git_ -C "$repo" commit -q -am "hello: release 2 (feature-a)"
run "$T/run3.out" --to feature-a
[ "$rc" -eq 0 ] || { cat "$T/run3.out"; fail "feature-a run failed"; }
[ "$(csv_state "$(report_dir)" hello)" = Built ] || fail "hello not built on feature-a"
git_ -C "$repo" checkout -q main
git_ -C "$repo" checkout -q -b feature-b
sed -i 's|^Release:.*|Release:        2%{?dist}|' "$repo/SPECS/hello/hello.spec"
git_ -C "$repo" commit -q -am "hello: release 2 (feature-b)"
[ "$(git -C "$repo" rev-parse feature-a)" != "$(git -C "$repo" rev-parse feature-b)" ] ||
	fail "the branches should be different commits"
run "$T/run4.out" --to feature-b
[ "$rc" -eq 0 ] || { cat "$T/run4.out"; fail "feature-b run failed"; }
[ "$(csv_state "$(report_dir)" hello)" = PreBuilt ] || {
	cat "$(report_dir)/build_state.csv"
	fail "hello's artifact from feature-a was not reused on feature-b"
}
git_ -C "$repo" checkout -q main

# 4. A build that tries to reach the network fails; the others do not.
mkdir -p "$repo/SPECS/netprobe"
cat >"$repo/SPECS/netprobe/netprobe.spec" <<'SPEC'
Name: netprobe
Version: 1
Release: 1%{?dist}
Summary: tries to open a TCP connection while building
License: MIT
BuildArch: noarch
%description
x
%build
bash -c 'exec 3<>/dev/tcp/192.0.2.1/80'
%files
SPEC
git_ -C "$repo" add -A
git_ -C "$repo" commit -q -m "netprobe"
run "$T/run5.out"
[ "$rc" -eq 1 ] || { cat "$T/run5.out"; fail "a build reaching for the network should fail the run"; }
dir5=$(report_dir)
[ "$(csv_state "$dir5" netprobe)" = Failed ] || fail "netprobe did not fail"
expect_line "$dir5/logs/netprobe.log" 'Network is unreachable'

# 5. --run-check: a failing %check is reported (a test row in
# build_state.csv, a warning) and fails nothing.
git_ -C "$repo" rm -q -r SPECS/netprobe
mkdir -p "$repo/SPECS/checked"
cat >"$repo/SPECS/checked/checked.spec" <<'SPEC'
Name: checked
Version: 1
Release: 1%{?dist}
Summary: its test suite fails
License: MIT
BuildArch: noarch
%description
x
%build
echo built
%check
echo "the test suite fails"
exit 1
%files
SPEC
git_ -C "$repo" add -A
git_ -C "$repo" commit -q -m "checked"
run "$T/run5c.out" --run-check
[ "$rc" -eq 0 ] || { cat "$T/run5c.out"; fail "a failing %check failed the run"; }
dir5c=$(report_dir)
grep -q '^checked-1-1\.mdst1\.src\.rpm,Built,,0$' "$dir5c/build_state.csv" || fail "checked: not Built"
grep -q '^checked-1-1\.mdst1\.src\.rpm,Failed,,1$' "$dir5c/build_state.csv" || {
	cat "$dir5c/build_state.csv"
	fail "checked: no failed test row"
}
expect_line "$T/run5c.out" '%check failed'
expect_line "$dir5c/logs/checked.log" 'the test suite fails'

# 5b. A build that hangs is killed at the timeout; a build that fills the
# disk is stopped at the output limit; both fail with their reason, no build
# process stays, and an independent spec of the same run is built.
git_ -C "$repo" rm -q -r SPECS/checked
for s in hang fill calm; do mkdir -p "$repo/SPECS/$s"; done
spec_with_build() { # spec_with_build NAME BUILD-LINE
	cat >"$repo/SPECS/$1/$1.spec" <<SPEC
Name: $1
Version: 1
Release: 1%{?dist}
Summary: $1
License: MIT
BuildArch: noarch
%description
x
%build
$2
%files
SPEC
}
spec_with_build hang 'sleep 86.5'
spec_with_build fill 'dd if=/dev/zero of=big bs=1M count=64 status=none; sleep 30'
spec_with_build calm 'echo calm'
git_ -C "$repo" add -A
git_ -C "$repo" commit -q -m "hang, fill, calm"
run "$T/run5d.out" --timeout 4 --output-limit 16 --jobs 2
[ "$rc" -eq 1 ] || { cat "$T/run5d.out"; fail "a hung or disk-filling build should fail the run"; }
dir5d=$(report_dir)
[ "$(csv_state "$dir5d" hang)" = Failed ] || { cat "$dir5d/build_state.csv"; fail "hang did not fail"; }
[ "$(csv_state "$dir5d" fill)" = Failed ] || { cat "$dir5d/build_state.csv"; fail "fill did not fail"; }
[ "$(csv_state "$dir5d" calm)" = Built ] || { cat "$dir5d/build_state.csv"; fail "calm was not built"; }
expect_line "$T/run5d.out" 'hang.*timed out after 4 s'
expect_line "$T/run5d.out" 'fill.*output limit of 16 MiB exceeded'
[ "$(jq -r '.jobs[] | select(.spec == "hang") | .attempts' "$dir5d/build-summary.json")" = 1 ] ||
	fail "a timeout is the package's failure: it must not be retried"
if pgrep -f 'sleep 86.5' >/dev/null || pgrep -f 'of=big bs=1M' >/dev/null; then
	fail "a killed build left processes"
fi
if ls "$state/builds" | grep -q .; then
	ls -la "$state/builds"
	fail "the killed builds left their scratch directories"
fi
git_ -C "$repo" rm -q -r SPECS/hang SPECS/fill SPECS/calm

# 6. SIGKILL in the middle of a build: no build process survives it, and the
# next run removes what it left under the state directory.
mkdir -p "$repo/SPECS/slow"
cat >"$repo/SPECS/slow/slow.spec" <<'SPEC'
Name: slow
Version: 1
Release: 1%{?dist}
Summary: builds for a long time
License: MIT
BuildArch: noarch
%description
x
%build
sleep 97.25
%files
SPEC
git_ -C "$repo" add -A
git_ -C "$repo" commit -q -m "slow"
slowlog=$state/pipelines/slow/logs/slow.log
# start_slow OUT: starts a run in the background ($pid) and waits until the
# slow build is running.
start_slow() {
	rm -f "$slowlog"
	setsid "$SHIPYARD" run --repo "$repo" --state "$state" --pipeline-id slow >"$1" 2>&1 &
	pid=$!
	i=0
	until grep -q 'running rpmbuild$' "$slowlog" 2>/dev/null && pgrep -f 'sleep 97.25' >/dev/null; do
		i=$((i + 1))
		[ "$i" -lt 300 ] || { cat "$1"; fail "the slow build never started"; }
		sleep 0.1
	done
	ls "$state/builds" | grep -q '^slow-' || fail "no scratch directory while building"
}
no_build_processes() {
	i=0
	while pgrep -f 'sleep 97.25' >/dev/null; do
		i=$((i + 1))
		[ "$i" -lt 50 ] || fail "a build process outlived $1"
		sleep 0.1
	done
}
# SIGTERM cancels: the build is killed, its root cleaned, nothing published.
start_slow "$T/run6.out"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 2 ] || { cat "$T/run6.out"; fail "a cancelled run should exit 2, not $rc"; }
expect_line "$T/run6.out" 'pipeline cancelled: nothing published'
no_build_processes "the cancelled run"
if ls "$state/builds" | grep -q .; then
	ls -la "$state/builds"
	fail "the cancelled run left its build directories"
fi
# SIGKILL: the run cannot clean up; its builds die with it.
start_slow "$T/run6b.out"
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
no_build_processes "the killed run"
git_ -C "$repo" rm -q -r SPECS/slow
git_ -C "$repo" commit -q -m "no slow"
run "$T/run7.out"
[ "$rc" -eq 0 ] || { cat "$T/run7.out"; fail "the run after the kill failed"; }
if ls "$state/builds" | grep -q .; then
	ls -la "$state/builds"
	fail "leftovers of the killed run under builds/"
fi
if grep -q " $state/" /proc/mounts; then
	fail "mounts left under the state directory"
fi
echo ok
