#!/bin/sh
# Bad input fails only what it must: a source whose SHA-256 does not match, a
# spec that does not parse, a BuildRequires nothing provides and a build that
# fails each fail their spec with a one-line reason naming the file; what
# BuildRequires them is blocked; everything else is built and published; the
# exit status is non-zero and the failure status is printed.
. "$(dirname "$0")/lib.sh"
need_root

repo=$T/distro
state=$T/state
cp -r "$TOP/examples/minidistro" "$repo"
# libgreet's source no longer matches its signatures.json: hello, libbanner
# and greet-tools build against libgreet-devel, so they are blocked.
tarball=$(ls "$repo"/SPECS/libgreet/*.tar.gz | head -n 1)
echo "tampered" >>"$tarball"
mkdir -p "$repo/SPECS/broken" "$repo/SPECS/needs-missing" "$repo/SPECS/failing"
cat >"$repo/SPECS/broken/broken.spec" <<'SPEC'
Name: broken
Version: 1
Release: 1
Summary: does not parse
License: MIT
Frobnicate: yes
%description
x
SPEC
cat >"$repo/SPECS/needs-missing/needs-missing.spec" <<'SPEC'
Name: needs-missing
Version: 1
Release: 1%{?dist}
Summary: BuildRequires something nobody provides
License: MIT
BuildRequires: does-not-exist-devel >= 2
%description
x
%files
SPEC
cat >"$repo/SPECS/failing/failing.spec" <<'SPEC'
Name: failing
Version: 1
Release: 1%{?dist}
Summary: its build fails
License: MIT
%description
x
%build
echo "this build fails on purpose" >&2
exit 3
%files
SPEC
(cd "$repo" && git_ init -q . && git_ add -A && git_ commit -q -m "broken distribution")

rc=0
"$SHIPYARD" run --repo "$repo" --state "$state" >"$T/out" 2>"$T/err" || rc=$?
cat "$T/out" "$T/err"
[ $rc -eq 1 ] || fail "exit status $rc, expected 1"
expect_line "$T/out" '^shipyard/plan failure'
expect_line "$T/out" '^shipyard/build failure'
expect_line "$T/err" 'SPECS/libgreet/libgreet\.spec: SPECS/libgreet/libgreet\.signatures\.json: libgreet-1\.0\.tar\.gz: SHA-256 mismatch'
expect_line "$T/err" 'SPECS/broken/broken\.spec.*(Frobnicate|[Uu]nknown tag)'
expect_line "$T/err" 'SPECS/needs-missing/needs-missing\.spec: unresolvable BuildRequires: does-not-exist-devel >= 2'
expect_line "$T/err" 'SPECS/failing/failing\.spec: rpmbuild failed with status 1: %build failed: this build fails on purpose \(log: '
for spec in hello libbanner greet-tools; do
	expect_line "$T/err" "SPECS/$spec/$spec\\.spec: blocked by libgreet"
done
# The description names the failed specs (three, then a count) and the
# blocked ones, within GitHub's 140 characters.
expect_line "$T/out" '^shipyard/build failure failed: [a-z-]+, [a-z-]+, [a-z-]+ \+1 more; blocked: [a-z, -]+; [0-9]+ built, 0 reused'
expect_line "$T/out" '^shipyard/build failure failed: .*libgreet'
line=$(grep '^shipyard/build failure' "$T/out" | sed 's/^shipyard\/build failure //')
[ "${#line}" -le 140 ] || fail "build description is ${#line} characters: $line"
# The image needs libgreet and hello: it fails, saying why.
expect_line "$T/out" '^shipyard/image/minimal-container failure .*(libgreet|hello)'

snap=$(readlink -f "$state/repos/main/current")
repoquery "$snap" >"$T/rq"
for name in smoketest filesystem glibc minidistro-release; do
	grep -q "^$name-[0-9]" "$T/rq" || fail "$name missing from the repository"
done
for name in libgreet hello libbanner greet-tools failing needs-missing; do
	! grep -q "^$name-[0-9]" "$T/rq" || fail "$name published although it failed"
done
# No build scratch or mounts are left behind.
[ -z "$(ls -A "$state/builds" 2>/dev/null)" ] || fail "build scratch left: $(ls "$state/builds")"
! grep -q "$state" /proc/self/mountinfo || fail "mounts left under the state directory"
echo "ok"
