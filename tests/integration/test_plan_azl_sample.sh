#!/bin/sh
# shipyard plan on real Azure Linux specs (../shared/azl-sample, copied into a
# fresh git repository): all 43 specs parse with the repository's own macros,
# BuildRequires outside the sample are reported unresolved without failing,
# and a zlib.spec change lists zlib and the specs that BuildRequire a zlib
# package directly or through another sample spec.
. "$(dirname "$0")/lib.sh"
sample=${SHIPYARD_SHARED:-$TOP/../shared}/azl-sample
[ -d "$sample/SPECS" ] || skip "$sample is absent (../shared is only beside the checkout)"

repo=$T/azl
cp -r "$sample" "$repo"
(cd "$repo" && git_ init -q . && git_ add -A && git_ commit -q -m "azl sample" &&
	echo '# touched by the test' >>SPECS/zlib/zlib.spec &&
	git_ commit -q -am "zlib: touch spec")

"$SHIPYARD" plan --repo "$repo" --from HEAD~1 --to HEAD --state "$T/state" >"$T/plan" 2>"$T/err" ||
	{ cat "$T/plan" "$T/err"; fail "plan failed"; }
cat "$T/plan"
expect_line "$T/plan" '^changeset [0-9a-f]{12}\.\.[0-9a-f]{12}: 1 files, 1 specs changed, 43 specs read'
expect_no_line "$T/plan" '^broken:'
expect_line "$T/plan" '^unresolved BuildRequires \([1-9][0-9]* specs\)'
expect_line "$T/plan" '^  zlib +spec changed'
# Direct dependents, found independently of shipyard by reading the specs.
for spec in $(grep -l '^BuildRequires:.*zlib' "$repo"/SPECS/*/*.spec); do
	name=$(basename "$spec" .spec)
	expect_line "$T/plan" "^  $name +BuildRequires zlib"
done
# Through another sample spec: grep BuildRequires pcre2-devel, curl
# BuildRequires libssh2-devel.
expect_line "$T/plan" '^  grep +BuildRequires pcre2-devel, from pcre2: BuildRequires zlib-devel, from zlib: spec changed'
expect_line "$T/plan" '^  curl +BuildRequires libssh2-devel, from libssh2: BuildRequires zlib-devel, from zlib: spec changed'
# Specs with no zlib in their build closure are not rebuilt: the plan is the
# build keys that differ between the two commits.
expect_no_line "$T/plan" '^  (bash|filesystem|golang|sed|acl) '
# zlib comes before everything that builds against it.
zlib_line=$(grep -n '^  zlib ' "$T/plan" | cut -d: -f1)
for dep in libssh2 pcre2 curl grep libgit2; do
	dep_line=$(grep -n "^  $dep " "$T/plan" | cut -d: -f1)
	[ "$dep_line" -gt "$zlib_line" ] || fail "$dep is planned before zlib"
done

# JSON form: the same plan, machine-readable.
"$SHIPYARD" plan --repo "$repo" --from HEAD~1 --to HEAD --state "$T/state" --format json >"$T/plan.json"
expect_line "$T/plan.json" '"specs": 43'
expect_line "$T/plan.json" '"spec": "zlib"'
expect_line "$T/plan.json" '"rebuild": \['
expect_line "$T/plan.json" '"changed": \['
echo "ok"
