#!/bin/sh
# shipyard run on the example distribution: everything is built and published
# and the image composed; a second run builds nothing; after a leaf change
# exactly that spec is rebuilt; dnf sees every package; the image's static
# smoke test runs inside it.
. "$(dirname "$0")/lib.sh"
need_root

repo=$T/minidistro
state=$T/state
"$TOP/scripts/make-demo-repo.sh" "$TOP/examples/minidistro" "$repo" hello >/dev/null

"$SHIPYARD" run --repo "$repo" --to HEAD~1 --state "$state" >"$T/run1.out" 2>"$T/run1.err" ||
	{ cat "$T/run1.out" "$T/run1.err"; fail "first run failed"; }
expect_line "$T/run1.out" '^shipyard/plan pending'
expect_line "$T/run1.out" '^shipyard/plan success'
expect_line "$T/run1.out" '^shipyard/build pending'
expect_line "$T/run1.out" '^shipyard/build success [0-9]+ built, 0 reused, 0 unchanged, 0 failed, 0 blocked'
expect_line "$T/run1.out" '^shipyard/image/minimal-container success composed'
# pending comes before the final state of each context
for ctx in shipyard/plan shipyard/build shipyard/image/minimal-container; do
	first=$(grep -m1 "^$ctx " "$T/run1.out" | cut -d' ' -f2)
	[ "$first" = pending ] || fail "$ctx: first status is $first, not pending"
	[ "$(grep -c "^$ctx " "$T/run1.out")" -eq 2 ] || fail "$ctx: not exactly pending + final"
done

nspecs=$(ls -d "$TOP"/examples/minidistro/SPECS/*/ | wc -l)
expect_line "$T/run1.out" "^rebuild set: $nspecs specs"

# Every package of every spec is in the published repository, as dnf sees it.
snap=$(readlink -f "$state/repos/main/current")
repoquery "$snap" >"$T/rq1"
[ -s "$T/rq1" ] || { cat "$T/dnf.err"; fail "dnf repoquery listed nothing"; }
for rpm in "$state"/artifacts/*/*.rpm; do
	case $rpm in *.src.rpm) continue ;; esac
	nevra=$(rpm -qp --qf '%{name}-%{version}-%{release}.%{arch}' "$rpm" 2>/dev/null)
	grep -qx "$nevra" "$T/rq1" || fail "$nevra built but not listed by dnf repoquery"
done
for name in libgreet libgreet-devel hello smoketest filesystem glibc; do
	grep -q "^$name-[0-9]" "$T/rq1" || fail "package $name missing from the repository"
done

# The same range again builds nothing.
"$SHIPYARD" run --repo "$repo" --to HEAD~1 --state "$state" >"$T/run2.out" 2>"$T/run2.err" ||
	{ cat "$T/run2.out" "$T/run2.err"; fail "second run failed"; }
expect_line "$T/run2.out" '^rebuild set: 0 specs'
expect_line "$T/run2.out" '^shipyard/build success 0 built'
expect_line "$T/run2.out" '^shipyard/image/minimal-container success unchanged'
[ "$(readlink -f "$state/repos/main/current")" = "$snap" ] || fail "second run republished"

# The leaf change: exactly hello is rebuilt.
"$SHIPYARD" run --repo "$repo" --state "$state" >"$T/run3.out" 2>"$T/run3.err" ||
	{ cat "$T/run3.out" "$T/run3.err"; fail "third run failed"; }
expect_line "$T/run3.out" '^rebuild set: 1 specs'
expect_line "$T/run3.out" '^  hello +spec changed'
expect_line "$T/run3.out" '^shipyard/build success 1 built, 0 reused'
repoquery "$(readlink -f "$state/repos/main/current")" >"$T/rq3"
grep -q '^hello-1.0-2\.' "$T/rq3" || { cat "$T/rq3"; fail "hello release 2 not published"; }
! grep -q '^hello-1.0-1\.' "$T/rq3" || fail "old hello still published"
[ "$(wc -l <"$T/rq3")" -eq "$(wc -l <"$T/rq1")" ] || fail "package count changed"

# greet-tools BuildRequires pkgconfig(banner), which only libbanner-devel's
# built header provides: the first run resolved it late, and plans now learn
# it from the published repository, so a libbanner change reaches
# greet-tools.
expect_line "$T/run1.out" '^  greet-tools: pkgconfig\(banner\) >= 1.0'
(cd "$repo" && sed -i 's/^Summary:.*/Summary: banner library, reworded/' SPECS/libbanner/libbanner.spec &&
	git_ commit -q -am "libbanner: reword")
"$SHIPYARD" plan --repo "$repo" --state "$state" >"$T/plan4.out" 2>&1 ||
	{ cat "$T/plan4.out"; fail "plan after the libbanner change failed"; }
expect_line "$T/plan4.out" '^  greet-tools +BuildRequires pkgconfig\(banner\) >= 1.0, from libbanner: spec changed'
expect_no_line "$T/plan4.out" '^  greet-tools: pkgconfig'

# The image: a tar.gz that tar accepts, with an rpmdb, running the static
# smoke test under chroot.
image=$(ls "$state"/images/minimal-container/latest/*.tar.gz)
mkdir "$T/image"
tar -xzf "$image" -C "$T/image"
[ -d "$T/image/var/lib/rpm" ] || fail "image has no rpmdb at /var/lib/rpm"
out=$(chroot "$T/image" /usr/bin/smoketest) || fail "smoke test failed in the image"
echo "$out" | grep -q "shipyard smoke test OK" || fail "unexpected smoke test output: $out"

# Nothing half-updated is published: libgreet changes and builds, but hello,
# which builds against it, fails; libgreet's new packages (and those of the
# other specs built against them) are held back, the repository keeps the
# previous libgreet, and the run fails.
(cd "$repo" && sed -i 's/^Summary:.*/Summary: greeting library, held back/' SPECS/libgreet/libgreet.spec &&
	sed -i 's/^%build$/%build\nexit 1/' SPECS/hello/hello.spec &&
	git_ commit -q -am "libgreet: reword; hello: break the build")
rc=0
"$SHIPYARD" run --repo "$repo" --state "$state" >"$T/run5.out" 2>"$T/run5.err" || rc=$?
[ $rc -eq 1 ] || { cat "$T/run5.out" "$T/run5.err"; fail "run with a failing dependent: exit $rc, expected 1"; }
expect_line "$T/run5.err" 'holding back [0-9]+ built specs'
expect_line "$T/run5.out" '^shipyard/build failure'
snap=$(readlink -f "$state/repos/main/current")
dnf -q --setopt=reposdir=/dev/null --repofrompath="t,file://$snap" --repo=t \
	--installroot="$T/dnfroot5" --releasever=1 repoquery --qf '%{name}: %{summary}' libgreet \
	>"$T/summary" 2>/dev/null
expect_no_line "$T/summary" 'held back'
expect_line "$T/summary" '^libgreet: '
echo "ok"
