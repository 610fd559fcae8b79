#!/bin/sh
# shipyard plan's changeset rules on real git history (no builds): a spec
# edit without a Release bump, a patch-only commit, a multi-spec directory
# (one spec's file vs. a file no spec names), a rename, a deletion, a merge
# commit (first parent), a pull request (merge base), arch exclusion,
# --missing, and rebuild policies from the repository's shipyard.conf.
. "$(dirname "$0")/lib.sh"

repo=$T/distro
state=$T/state
cp -r "$TOP/examples/minidistro" "$repo"
# A directory holding two specs, each with its own source, and a README no
# spec names.
mkdir -p "$repo/SPECS/pair"
for s in pair-a pair-b; do
	echo "data of $s" >"$repo/SPECS/pair/$s.txt"
	sum=$(sha256sum "$repo/SPECS/pair/$s.txt" | cut -d' ' -f1)
	printf '{"Signatures": {"%s.txt": "%s"}}\n' "$s" "$sum" >"$repo/SPECS/pair/$s.signatures.json"
	cat >"$repo/SPECS/pair/$s.spec" <<SPEC
Name: $s
Version: 1
Release: 1%{?dist}
Summary: one of two specs in a directory
License: MIT
BuildArch: noarch
Source0: $s.txt
%description
x
%install
install -D -m 644 %{SOURCE0} %{buildroot}/usr/share/$s/$s.txt
%files
/usr/share/$s
SPEC
done
echo "shared notes" >"$repo/SPECS/pair/README"
# A spec only for aarch64.
mkdir -p "$repo/SPECS/armonly"
cat >"$repo/SPECS/armonly/armonly.spec" <<'SPEC'
Name: armonly
Version: 1
Release: 1%{?dist}
Summary: built only for aarch64
License: MIT
ExclusiveArch: aarch64
%description
x
%files
SPEC
cd "$repo"
git_ init -q .
git_ add -A
git_ commit -q -m "initial"

plan() {
	"$SHIPYARD" plan --repo "$repo" --state "$state" "$@" >"$T/plan" 2>"$T/plan.err" ||
		{ cat "$T/plan" "$T/plan.err"; fail "plan $* failed"; }
}
rebuild_set() {
	sed -n '/^rebuild set/,/^[^ ]/p' "$T/plan" | grep '^  ' | awk '{print $1}' | sort | tr '\n' ' '
}
expect_set() {
	got=$(rebuild_set)
	[ "$got" = "$1" ] || { cat "$T/plan"; fail "rebuild set '$got', expected '$1' ($2)"; }
}

# A spec edit without a Release bump rebuilds it and its dependents.
sed -i 's/^Summary:.*/Summary: greeting library, reworded/' SPECS/libgreet/libgreet.spec
git_ commit -q -am "libgreet: reword summary, no release bump"
plan
expect_set "greet-tools hello libbanner libgreet " "edit without Release bump"
expect_line "$T/plan" '^  libgreet +spec changed'
expect_line "$T/plan" '^  hello +BuildRequires libgreet-devel >= 1.0, from libgreet: spec changed'

# A patch-only commit.
echo "/* note */" >>SPECS/hello/hello-default-name.patch
git_ commit -q -am "hello: patch only"
plan
expect_set "hello " "patch-only"
expect_line "$T/plan" '^  hello +Patch hello-default-name.patch changed'

# Multi-spec directory: pair-a's source changes only pair-a ...
echo "more" >>SPECS/pair/pair-a.txt
sum=$(sha256sum SPECS/pair/pair-a.txt | cut -d' ' -f1)
printf '{"Signatures": {"pair-a.txt": "%s"}}\n' "$sum" >SPECS/pair/pair-a.signatures.json
git_ commit -q -am "pair-a: new data"
plan
expect_set "pair-a " "one spec of a multi-spec directory"
expect_line "$T/plan" '^  pair-a +signatures changed, Source pair-a.txt changed'
# ... a file no spec names changes both.
echo "more notes" >>SPECS/pair/README
git_ commit -q -am "pair: notes"
plan
expect_set "pair-a pair-b " "unowned file of a multi-spec directory"

# Arch: excluded on x86_64 with the reason, planned on aarch64.
expect_line "$T/plan" '^excluded: armonly: .*aarch64'
plan --arch aarch64 --from HEAD~4 --missing
grep -q '^  armonly ' "$T/plan" || { cat "$T/plan"; fail "armonly not planned for aarch64"; }
expect_no_line "$T/plan" '^excluded: armonly'

# --missing: nothing is built in this state directory, so every spec is.
plan --missing
expect_line "$T/plan" '^  smoketest +no artifact for its build key'

# Rename: a new spec and the old one's packages removed.
git_ mv SPECS/smoketest/smoketest.spec SPECS/smoketest/smoke.spec
git_ mv SPECS/smoketest/smoketest.signatures.json SPECS/smoketest/smoke.signatures.json
git_ commit -q -m "smoketest: rename the spec file"
plan
expect_line "$T/plan" '^  smoke +new spec'
expect_line "$T/plan" '^removed: smoketest \(SPECS/smoketest/smoketest.spec\): packages smoketest'

# Deletion.
git_ rm -q -r SPECS/minidistro-release
git_ commit -q -m "drop minidistro-release"
plan
expect_set "" "deletion builds nothing"
expect_line "$T/plan" '^removed: minidistro-release .*packages minidistro-release'
plan --format json
expect_line "$T/plan" '"packages": \['

# Merge commit: diffed against its first parent. A pull request: against the
# merge base.
git_ checkout -q -b feature
sed -i 's/^Summary:.*/Summary: banner library, reworded/' SPECS/libbanner/libbanner.spec
git_ commit -q -am "libbanner: reword"
git_ checkout -q main
sed -i 's/^Summary:.*/Summary: hello, reworded/' SPECS/hello/hello.spec
git_ commit -q -am "hello: reword"
plan --from main --to feature --merge-base
expect_set "libbanner " "pull request against the merge base (greet-tools needs pkgconfig(banner), a provide learned only once libbanner is published)"
git_ merge -q --no-ff -m "Merge feature" feature
plan
expect_set "libbanner " "merge commit against its first parent"

# Rebuild policies from the repository's own shipyard.conf.
printf '[distro]\n\tdisttag = .mdst1\n\tmacrosdir = SPECS/minidistro-rpm-macros\n\trebuildpolicy = local\n' >shipyard.conf
git_ add shipyard.conf
git_ commit -q -m "policy: local"
sed -i 's/^Summary:.*/Summary: greeting library, once more/' SPECS/libgreet/libgreet.spec
git_ commit -q -am "libgreet: reword again"
plan
expect_set "libgreet " "local policy"
printf '[distro]\n\tdisttag = .mdst1\n\tmacrosdir = SPECS/minidistro-rpm-macros\n[spec "hello"]\n\trebuildpolicy = local\n' >shipyard.conf
git_ commit -q -am "policy: hello local, the rest transitive"
sed -i 's/^Summary:.*/Summary: greeting library, third time/' SPECS/libgreet/libgreet.spec
git_ commit -q -am "libgreet: reword a third time"
plan
expect_set "greet-tools libbanner libgreet " "per-spec local policy"
echo "ok"
