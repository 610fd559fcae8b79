#!/bin/sh
# A pull request is planned with its base branch's shipyard.conf
# (--settings-from, what `shipyard serve` passes for pull requests): a change
# to the configuration inside the pull request does not apply to it. The
# service's per-repository settings (--rebuild-policy, --spec-tree) override
# the repository's.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "needs jq"

repo=$T/distro
minidistro "$repo"
git_ -C "$repo" checkout -q -b pr
sed -i 's|disttag = .*|disttag = .evil1|' "$repo/shipyard.conf"
grep -q 'disttag = .evil1' "$repo/shipyard.conf" || fail "the test did not change the dist tag"
git_ -C "$repo" commit -q -am "change the dist tag"

"$SHIPYARD" plan --repo "$repo" --from main --to pr --merge-base --format json \
	--state "$T/state" >"$T/own.json"
[ "$(jq '.rebuild | length' "$T/own.json")" -gt 0 ] || fail "its own configuration should rebuild everything"
jq -e '.global | index("configuration: shipyard.conf")' "$T/own.json" >/dev/null ||
	fail "the configuration change is not named"

"$SHIPYARD" plan --repo "$repo" --from main --to pr --merge-base --settings-from main \
	--format json --state "$T/state" >"$T/base.json"
[ "$(jq '.rebuild | length' "$T/base.json")" -eq 0 ] || {
	jq '.rebuild' "$T/base.json"
	fail "with the base branch's configuration nothing should be rebuilt"
}
# --rebuild-policy local: a library change rebuilds the library alone.
git_ -C "$repo" checkout -q main
sed -i 's|^%build$|%build\n# touched|' "$repo/SPECS/libgreet/libgreet.spec"
git_ -C "$repo" commit -q -am "libgreet: touched"
"$SHIPYARD" plan --repo "$repo" --format json --state "$T/state" >"$T/trans.json"
[ "$(jq '.rebuild | length' "$T/trans.json")" -gt 1 ] || fail "transitive: dependents not rebuilt"
"$SHIPYARD" plan --repo "$repo" --format json --state "$T/state" --rebuild-policy local \
	--spec-tree SPECS >"$T/local.json"
[ "$(jq -r '[.rebuild[].spec] | join(" ")' "$T/local.json")" = libgreet ] || {
	jq '.rebuild' "$T/local.json"
	fail "--rebuild-policy local: expected libgreet alone"
}
"$SHIPYARD" plan --repo "$repo" --rebuild-policy sideways --state "$T/state" >/dev/null 2>"$T/bad.err" &&
	fail "a bad --rebuild-policy was accepted"
expect_line "$T/bad.err" 'sideways'
echo ok
