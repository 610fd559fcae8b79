#!/bin/sh
# The example bootstraps itself as Azure Linux does. Stage 0: the toolchain
# specs are built in the bootstrap root (Debian) and published to the channel
# "toolchain". Stage 1: a worker root made of those packages (kind rpm, the
# toolkit's toolchain_<arch>.txt); the rest of the distribution builds in it,
# BuildHost naming that root, and the toolchain specs are not built again.
# Then the cascade: a toolchain package rebuilt with identical output keeps
# the root and rebuilds nothing; a toolchain change (glibc's Release) makes a
# new root, one plan reason names it, and every spec is rebuilt in it.
. "$(dirname "$0")/lib.sh"
need_root

repo=$T/repo
tc=bootstrap-base,bootstrap-gcc,glibc,filesystem
list=toolkit/resources/manifests/package/toolchain_x86_64.txt
minidistro "$repo"
printf '[worker]\n\tkind = rpm\n\trepo = channel:toolchain\n\tpackagelist = %s\n' \
	"$repo/toolkit/resources/manifests/package/toolchain_%s.txt" >"$T/stage1.conf"
stage0() {
	sy "$T/s0.out" build --repo "$repo" --state "$T/state" --specs "$tc" "$@"
	[ "$rc" -eq 0 ] || { tail -n 20 "$T/s0.out"; fail "stage 0 build failed"; }
	sy "$T/p0.out" publish --repo "$repo" --state "$T/state" --channel toolchain --specs "$tc"
	[ "$rc" -eq 0 ] || { cat "$T/p0.out"; fail "publishing the toolchain failed"; }
}
stage1() { # OUT: a pipeline run in the stage-1 root
	sy "$1" run --repo "$repo" --state "$T/state" --channel main --worker-manifest "$T/stage1.conf"
	[ "$rc" -eq 0 ] || { tail -n 30 "$1"; fail "stage 1 run failed"; }
}
root_digest() {
	"$SHIPYARD" worker list --manifest "$T/stage1.conf" --state "$T/state" |
		sed -n 's/^\([0-9a-f]\{12\}\) .*current$/\1/p'
}
buildhost() { # PACKAGE: the BuildHost of its published RPM
	rpm -qp --qf '%{BUILDHOST}' "$T/state/repos/main/current/RPMS/x86_64/$1"-[0-9]*.rpm 2>/dev/null
}

stage0
ls "$T/state/repos/toolchain/current/RPMS/x86_64" >"$T/toolchain.ls"
sort "$repo/$list" | diff - "$T/toolchain.ls" >/dev/null ||
	{ cat "$T/toolchain.ls"; fail "the toolchain channel is not what $list names"; }
stage1 "$T/run1.out"
expect_line "$T/run1.out" "bootstrap-gcc: its packages are the worker root's: not built"
expect_line "$T/run1.out" "^shipyard/build success [0-9]+ built"
d1=$(root_digest)
[ -n "$d1" ] || fail "no current stage-1 root"
[ "$(buildhost hello)" = "shipyard-$d1" ] || fail "hello built on $(buildhost hello), not in the stage-1 root $d1"
for p in glibc bootstrap-gcc libgreet smoketest; do
	ls "$T/state/repos/main/current/RPMS/x86_64/$p"-[0-9]*.rpm >/dev/null 2>&1 ||
		fail "$p is not published to main"
done
[ "$(buildhost glibc)" != "shipyard-$d1" ] || fail "glibc was rebuilt in stage 1"

# A toolchain package rebuilt with identical output: a new file, the same root.
old=$(sha256sum "$T/state/repos/toolchain/current/RPMS/x86_64/glibc-"*.rpm | cut -c1-64)
sleep 1
stage0 --rebuild glibc
new=$(sha256sum "$T/state/repos/toolchain/current/RPMS/x86_64/glibc-"*.rpm | cut -c1-64)
[ "$old" != "$new" ] || fail "the rebuilt glibc is the same file; the test proves nothing"
stage1 "$T/run2.out"
[ "$(root_digest)" = "$d1" ] || fail "identical toolchain output gave a new root"
expect_no_line "$T/run2.out" "worker root changed"
expect_no_line "$T/run2.out" ": built \("

# A toolchain change: glibc 2.36-1 -> 2.36-2, and the list that pins it.
sed -i 's/^Release:\( *\)1%{?dist}/Release:\12%{?dist}/' "$repo/SPECS/glibc/glibc.spec"
sed -i 's/^glibc-2\.36-1\./glibc-2.36-2./' "$repo/$list"
git_ -C "$repo" commit -q -am "glibc: release bump"
stage0
stage1 "$T/run3.out"
# The specs built with glibc were rebuilt with it (rebuild counters): they
# are counted, the version change is named.
expect_line "$T/run3.out" "^global input changed: worker root changed: glibc 2\.36-1\.mdst1 -> 2\.36-2\.mdst1, 2 rebuilt$"
d2=$(root_digest)
[ "$d2" != "$d1" ] || fail "a toolchain change kept the root"
[ "$(buildhost hello)" = "shipyard-$d2" ] || fail "hello was not rebuilt in the new root"
[ "$(buildhost smoketest)" = "shipyard-$d2" ] || fail "smoketest was not rebuilt in the new root"
echo "PASS stages: roots $d1 -> $d2"
