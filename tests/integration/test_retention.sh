#!/bin/sh
# Retention and releases with the real binary on a one-spec distribution:
# `shipyard gc --keep-snapshots 2` keeps a channel's two newest snapshots
# and its current one, never the snapshot a running pipeline reads (until
# that pipeline ends); `shipyard run --release` makes a self-contained
# release that dnf still reads once every snapshot of the channel is gone;
# a release with nothing new, or whose build failed, is recorded as
# skipped with the reason; pipeline run directories past their limit go,
# never the one of a running pipeline.
. "$(dirname "$0")/lib.sh"
need_root
command -v jq >/dev/null || skip "needs jq"

repo=$T/distro
state=$T/state
mkdir -p "$repo/SPECS/leaf"
cat >"$repo/SPECS/leaf/leaf.spec" <<'SPEC'
Name: leaf
Version: 1.0
Release: 1%{?dist}
Summary: a leaf package
License: MIT
BuildArch: noarch
%description
leaf
%install
mkdir -p %{buildroot}/usr/share/leaf
echo %{release} > %{buildroot}/usr/share/leaf/release
%files
/usr/share/leaf
SPEC
git_ -C "$repo" init -q
git_ -C "$repo" add -A
git_ -C "$repo" commit -q -m leaf

# bump N: a commit setting leaf's Release to N on main.
bump() {
	sed -i "s/^Release:.*/Release: $1%{?dist}/" "$repo/SPECS/leaf/leaf.spec"
	git_ -C "$repo" commit -q -am "leaf: release $1"
}

# run NAME ARGS...: shipyard run on main, output in $T/NAME.out.
run() {
	name=$1
	shift
	"$SHIPYARD" run --repo "$repo" --state "$state" "$@" >"$T/$name.out" 2>&1 ||
		{ cat "$T/$name.out"; fail "run $name failed"; }
}

current() { basename "$(readlink -f "$state/repos/main/current")"; }
has_snapshot() { [ -d "$state/repos/main/snapshots/$1" ]; }

run r1
s1=$(current)
bump 2
run r2
s2=$(current)

# A pipeline of another branch reads main's current snapshot (s2) while it
# builds a spec that takes its time.
git_ -C "$repo" checkout -q -b slow
mkdir -p "$repo/SPECS/slow"
cat >"$repo/SPECS/slow/slow.spec" <<'SPEC'
Name: slow
Version: 1
Release: 1
Summary: builds slowly
License: MIT
BuildArch: noarch
%description
x
%build
sleep 120
%files
SPEC
git_ -C "$repo" add -A
git_ -C "$repo" commit -q -m slow
git_ -C "$repo" checkout -q main
"$SHIPYARD" run --repo "$repo" --state "$state" --to slow --channel main >"$T/slow.out" 2>&1 &
slow=$!
trap 'kill $slow 2>/dev/null || true; wait $slow 2>/dev/null || true; rm -rf "$T"' EXIT
i=0
until grep -q 'slow: building' "$T/slow.out"; do
	i=$((i + 1))
	[ "$i" -lt 600 ] || { cat "$T/slow.out"; fail "the slow build did not start"; }
	sleep 0.1
done
slow_run=$(ls -t "$state/pipelines" | head -n 1)

# A release of release 3: the channel's snapshot, hard-linked.
bump 3
run r3 --release rel-1
s3=$(current)
expect_line "$T/r3.out" "release distro/rel-1: made from snapshot $s3 of main \\(1 packages, 0 images\\)"
rel=$state/releases/distro/rel-1
[ "$(jq -r .state "$rel/release.json")" = made ] || fail "rel-1 not made"
[ "$(jq -r .commit "$rel/release.json")" = "$(git -C "$repo" rev-parse main)" ] ||
	fail "rel-1: wrong commit"
[ "$(jq -r .snapshot "$rel/release.json")" = "$s3" ] || fail "rel-1: wrong snapshot"
[ "$(jq -r '.packages[0].nevra' "$rel/release.json")" = leaf-1.0-3.azl3.noarch ] ||
	{ cat "$rel/release.json"; fail "rel-1: wrong NEVRA"; }
rpm_file=$rel/repo/$(jq -r '.packages[0].file' "$rel/release.json")
[ "$(jq -r '.packages[0].sha256' "$rel/release.json")" = "$(sha256sum <"$rpm_file" | cut -d' ' -f1)" ] ||
	fail "rel-1: wrong SHA-256"
[ "$(jq -r '.packages[0].license' "$rel/release.json")" = MIT ] || fail "rel-1: no license"
[ "$(jq -r '.packages[0].sourcerpm' "$rel/release.json")" = leaf-1.0-3.azl3.src.rpm ] ||
	fail "rel-1: no source RPM"
[ "$(jq -r .spdxVersion "$rel/sbom.spdx.json")" = SPDX-2.3 ] || fail "rel-1: no SPDX SBOM"
[ ! -L "$rel/repo" ] || fail "rel-1: repo is a link into the shared tree"
[ "$(stat -c %i "$rpm_file")" = "$(stat -c %i "$state/repos/main/snapshots/$s3/RPMS/noarch/leaf-1.0-3.azl3.noarch.rpm")" ] ||
	fail "rel-1: the package is not a hard link of the snapshot's"

# Nothing new since rel-1: skipped, saying so.
run r3b --release rel-2
expect_line "$T/r3b.out" "release distro/rel-2: skipped: nothing changed since release rel-1"
[ "$(jq -r .state "$state/releases/distro/rel-2/release.json")" = skipped ] ||
	fail "rel-2 not skipped"
jq -r .reason "$state/releases/distro/rel-2/release.json" | grep -q "^nothing changed since release rel-1 (snapshot $s3 of main" ||
	fail "rel-2: no reason"
[ ! -e "$state/releases/distro/rel-2/repo" ] || fail "a skipped release holds a repository"

bump 4
run r4
s4=$(current)
bump 5
run r5
s5=$(current)
[ "$(ls "$state/repos/main/snapshots" | wc -l)" -eq 5 ] || fail "expected 5 snapshots"

# Two newest kept; s2 stays while the slow pipeline reads it.
sy "$T/gc1.out" gc --state "$state" --keep-snapshots 2 --keep-pipelines 1
[ "$rc" -eq 0 ] || { cat "$T/gc1.out"; fail "gc failed"; }
cat "$T/gc1.out"
for s in "$s1" "$s3"; do
	! has_snapshot "$s" || fail "snapshot $s kept past the limit"
	expect_line "$T/gc1.out" "^removed snapshot main/$s\$"
done
for s in "$s2" "$s4" "$s5"; do
	has_snapshot "$s" || fail "snapshot $s removed"
done
expect_line "$T/gc1.out" "^kept snapshot main/$s2: held by a running pipeline or release\$"
[ "$(current)" = "$s5" ] || fail "current moved"
[ -d "$state/pipelines/$slow_run" ] || fail "the running pipeline's run directory was removed"
expect_line "$T/gc1.out" "^kept pipeline $slow_run: held by a running pipeline or release\$"
[ "$(ls "$state/pipelines" | wc -l)" -eq 2 ] || fail "other run directories kept: $(ls "$state/pipelines")"
[ -z "$(ls -A "$state/trash" 2>/dev/null)" ] || fail "the trash was not emptied"

# The release does not share the removed snapshot's directory: dnf reads it.
repoquery "$rel/repo" >"$T/rel.rq"
[ "$(cat "$T/rel.rq")" = leaf-1.0-3.azl3.noarch ] ||
	{ cat "$T/rel.rq" "$T/dnf.err"; fail "dnf cannot read the release"; }

# Once the slow pipeline ends (cancelled), its snapshot goes too.
kill -TERM $slow
wait $slow || true
sy "$T/gc2.out" gc --state "$state" --keep-snapshots 2
[ "$rc" -eq 0 ] || { cat "$T/gc2.out"; fail "second gc failed"; }
expect_line "$T/gc2.out" "^removed snapshot main/$s2\$"
[ "$(ls "$state/repos/main/snapshots" | sort | tr '\n' ' ')" = "$s4 $s5 " ] ||
	fail "expected exactly $s4 $s5, got $(ls "$state/repos/main/snapshots")"

# A release whose build fails is skipped with the reason.
git_ -C "$repo" checkout -q -b broken
mkdir -p "$repo/SPECS/broken"
cat >"$repo/SPECS/broken/broken.spec" <<'SPEC'
Name: broken
Version: 1
Release: 1
Summary: its build fails
License: MIT
%description
x
%build
exit 1
%files
SPEC
git_ -C "$repo" add -A
git_ -C "$repo" commit -q -m broken
sy "$T/broken.out" run --repo "$repo" --state "$state" --channel broken --release rel-3
[ "$rc" -eq 1 ] || { cat "$T/broken.out"; fail "exit status $rc, expected 1"; }
expect_line "$T/broken.out" "release distro/rel-3: skipped: build failed: broken"
[ "$(jq -r .state "$state/releases/distro/rel-3/release.json")" = skipped ] ||
	fail "rel-3 not skipped"
[ "$(jq -r .reason "$state/releases/distro/rel-3/release.json")" = "build failed: broken" ] ||
	fail "rel-3: wrong reason"
# A release is never made twice.
sy "$T/again.out" run --repo "$repo" --state "$state" --channel broken --release rel-3
expect_line "$T/again.out" "release distro/rel-3 exists"

# Even with every snapshot of every channel gone, the release is whole.
rm -rf "$state/repos"
repoquery "$rel/repo" >"$T/rel2.rq"
[ "$(cat "$T/rel2.rq")" = leaf-1.0-3.azl3.noarch ] ||
	{ cat "$T/rel2.rq" "$T/dnf.err"; fail "dnf cannot read the release without the channel"; }
echo ok
