#!/bin/sh
# Rebuild counters (issue 13): a spec rebuilt with another build key but the
# same Release is published with a counter after its dist tag
# (libbanner-1.0-1.mdst1 -> 1.0-1.mdst1.1), and dnf in a root that has the
# first build upgrades to it; specs built against it whose output did not
# change are not rebuilt (the output digest takes the counter out); the
# next key gets the next counter; the same key on another branch keeps its
# NEVRA; a Release bump in git starts again without a counter; a spec whose
# Release lacks %{?dist} is warned about.
. "$(dirname "$0")/lib.sh"
need_root

repo=$T/repo
state=$T/state
minidistro "$repo"

run() { # OUT ARGS...: shipyard run, which must succeed
	o=$1
	shift
	sy "$o" run --repo "$repo" --state "$state" "$@"
	[ "$rc" -eq 0 ] || { tail -n 40 "$o"; fail "shipyard run $* failed"; }
}
snapshot() { # CHANNEL: its current snapshot
	readlink -f "$state/repos/$1/current"
}
published() { # CHANNEL NAME: NAME's name-evr.arch as dnf sees it there
	repoquery "$(snapshot "$1")" | grep "^$2-[0-9]" || true
}
in_root() { # ARGS...: dnf in the test root, from main's current snapshot only
	dnf -q -y --setopt=reposdir=/dev/null --refresh \
		--repofrompath="main,file://$(snapshot main)" --repo=main \
		--installroot="$T/root" --releasever=1 --setopt=install_weak_deps=0 \
		--nogpgcheck "$@" >"$T/dnf.out" 2>&1 || { cat "$T/dnf.out"; fail "dnf $*"; }
}
installed() { # NAME: what the root has of it
	rpm --root "$T/root" -q --qf '%{name}-%{version}-%{release}.%{arch} %{summary}\n' "$1"
}
edit() { # SPEC SED-EXPR MESSAGE: edits SPECS/SPEC/SPEC.spec and commits
	sed -i "$2" "$repo/SPECS/$1/$1.spec"
	git_ -C "$repo" commit -q -am "$3"
}

run "$T/run1.out"
[ "$(published main libbanner)" = libbanner-1.0-1.mdst1.x86_64 ] ||
	fail "first build of libbanner: $(published main libbanner), not 1.0-1.mdst1"
in_root install libbanner
installed libbanner | grep -q '^libbanner-1.0-1.mdst1.x86_64 ' ||
	fail "the root has $(installed libbanner)"

# A content-only rebuild: another key, the same Release.
edit libbanner 's/^Summary:.*/Summary: banner library, rebuilt/' "libbanner: reword"
git_ -C "$repo" branch first-rebuild
run "$T/run2.out"
expect_line "$T/run2.out" "libbanner.spec: rebuild counter 1: built as libbanner-1.0-1.mdst1.1.src.rpm"
[ "$(published main libbanner)" = libbanner-1.0-1.mdst1.1.x86_64 ] ||
	fail "content-only rebuild published $(published main libbanner), not 1.0-1.mdst1.1"
[ "$(published main libbanner-devel)" = libbanner-devel-1.0-1.mdst1.1.x86_64 ] ||
	fail "libbanner-devel: $(published main libbanner-devel)"
# greet-tools builds against libbanner-devel, whose output is the same but
# for the counter: it is unchanged, not rebuilt.
expect_line "$T/run2.out" '^  greet-tools +BuildRequires'
expect_line "$T/run2.out" '^shipyard/build success 1 built, 0 reused, [1-9][0-9]* unchanged'
in_root upgrade
installed libbanner | grep -q '^libbanner-1.0-1.mdst1.1.x86_64 banner library, rebuilt$' ||
	fail "dnf upgrade left the root with $(installed libbanner)"

# The next key gets the next counter.
edit libbanner 's/^Summary:.*/Summary: banner library, rebuilt twice/' "libbanner: reword again"
run "$T/run3.out"
[ "$(published main libbanner)" = libbanner-1.0-1.mdst1.2.x86_64 ] ||
	fail "second rebuild published $(published main libbanner), not 1.0-1.mdst1.2"
in_root upgrade
installed libbanner | grep -q '^libbanner-1.0-1.mdst1.2.x86_64 ' ||
	fail "dnf upgrade left the root with $(installed libbanner)"

# Another branch at the first rebuild has its key: the artifact is reused
# with the NEVRA built into it, although main's counter went on.
run "$T/other.out" --to first-rebuild --channel other
expect_line "$T/other.out" '^shipyard/build success 0 built'
[ "$(published other libbanner)" = libbanner-1.0-1.mdst1.1.x86_64 ] ||
	fail "the branch got $(published other libbanner), not the reused 1.0-1.mdst1.1"

# A Release bump in git starts again without a counter.
edit libbanner 's/^Release:\( *\)1%{?dist}/Release:\12%{?dist}/' "libbanner: release 2"
run "$T/run4.out"
expect_no_line "$T/run4.out" "libbanner.spec: rebuild counter"
[ "$(published main libbanner)" = libbanner-1.0-2.mdst1.x86_64 ] ||
	fail "after the Release bump: $(published main libbanner), not 1.0-2.mdst1"
in_root upgrade
installed libbanner | grep -q '^libbanner-1.0-2.mdst1.x86_64 ' ||
	fail "dnf upgrade left the root with $(installed libbanner)"

# A spec whose Release does not end with %{?dist} cannot take the counter:
# its rebuild is warned about, not given a Release the spec never states.
edit hello 's/^Release:.*/Release: 1/' "hello: no dist tag"
run "$T/run5.out"
edit hello 's/^Summary:.*/Summary: hello, reworded/' "hello: reword"
run "$T/run6.out"
expect_line "$T/run6.out" "hello.spec: rebuild counter 1 not applied: its Release 1 does not end with %\{\?dist\} \(.mdst1\)"
[ "$(published main hello)" = hello-1.0-1.x86_64 ] || fail "hello: $(published main hello)"
echo "PASS rebuild counters"
