#!/bin/sh
# shipyard analyze, the toolkit's graphanalytics: on the example
# distribution (greet-tools waits for pkgconfig(banner), a provide only
# built packages have), then on a small repository made here with every
# kind of trouble: a Requires nothing offers, a BuildRequires nothing
# offers, a spec that does not parse and one that needs it, a build cycle.
# Text and JSON, and --max-results; then real Azure Linux specs.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "needs jq"

an() { # an OUT ARGS...: analyze, output in $T/OUT
	out=$T/$1
	shift
	"$SHIPYARD" analyze --state "$T/state" "$@" >"$out" 2>"$out.err" ||
		{ cat "$out" "$out.err"; fail "analyze $* failed"; }
}

minidistro "$T/mini"
an mini.txt --repo "$T/mini"
n=$(ls -d "$TOP"/examples/minidistro/SPECS/*/ | wc -l)
expect_line "$T/mini.txt" "^analysis of [0-9a-f]{12}: $n specs, $((n - 1)) buildable, 1 blocked, 0 cycles\$"
expect_line "$T/mini.txt" '^  pkgconfig\(banner\) >= 1.0: blocks 1; BuildRequires of greet-tools$'
expect_line "$T/mini.txt" '^  greet-tools +1: pkgconfig\(banner\) >= 1.0$'
expect_line "$T/mini.txt" '^  libgreet +blocks 3$'
expect_line "$T/mini.txt" '^  bootstrap-base +blocks 1$'
expect_line "$T/mini.txt" '^top blockers \(4\), what their failure or absence blocks:$'

# spec NAME BUILDREQUIRES REQUIRES: SPECS/NAME/NAME.spec with one package.
repo=$T/synth
spec() {
	mkdir -p "$repo/SPECS/$1"
	{
		printf 'Name: %s\nVersion: 1\nRelease: 1\nSummary: s\nLicense: MIT\nBuildArch: noarch\n' "$1"
		[ -z "$2" ] || printf 'BuildRequires: %s\n' "$2"
		[ -z "$3" ] || printf 'Requires: %s\n' "$3"
		printf '%%description\nx\n%%files\n'
	} >"$repo/SPECS/$1/$1.spec"
}
spec base "" ""
spec mid "base" "ghost-runtime >= 2"
spec top "mid" ""
spec top2 "mid, missing-tool" ""
spec uses-broken "broken" ""
spec cyc-a "cyc-b" ""
spec cyc-b "cyc-a" ""
mkdir -p "$repo/SPECS/broken"
printf 'Version: 1\n%%description\nno name\n' >"$repo/SPECS/broken/broken.spec"
git_ -C "$repo" init -q
git_ -C "$repo" add -A
git_ -C "$repo" commit -q -m synthetic

an synth.txt --repo "$repo"
expect_line "$T/synth.txt" '^analysis of [0-9a-f]{12}: 8 specs, 4 buildable, 4 blocked, 1 cycles$'
sed -n '/^unresolved/,/^$/p' "$T/synth.txt" >"$T/unresolved.txt"
printf '%s\n' "unresolved capabilities (3), most blocking first:" \
	"  ghost-runtime >= 2: blocks 2; Requires of mid" \
	"  broken: blocks 1; BuildRequires of uses-broken" \
	"  missing-tool: blocks 1; BuildRequires of top2" "" >"$T/expected"
cmp -s "$T/expected" "$T/unresolved.txt" || { diff "$T/expected" "$T/unresolved.txt"; fail "unresolved report"; }
expect_line "$T/synth.txt" '^  broken +1: broken \(does not parse\)$'
expect_line "$T/synth.txt" '^  top2 +2: ghost-runtime >= 2, missing-tool$'
expect_line "$T/synth.txt" '^  base +blocks 3$'
expect_line "$T/synth.txt" '^  cyc-a -> cyc-b -> cyc-a$|^  cyc-b -> cyc-a -> cyc-b$'

an synth.json --repo "$repo" --json --max-results 2
jq -e '.specs == 8 and .buildable == 4 and .unresolved.total == 3 and
	(.unresolved.top | length) == 2 and
	.unresolved.top[0] == {"capability": "ghost-runtime >= 2", "blocked": 2,
		"build_referrers": [], "runtime_referrers": ["mid"]} and
	.closest.total == 4 and [.closest.top[].spec] == ["broken", "top"] and
	.blockers.top[0] == {"spec": "base", "path": "SPECS/base/base.spec", "blocks": 3} and
	.blockers.top[1].spec == "mid" and (.cycles[0] | sort) == ["cyc-a", "cyc-b"]' \
	"$T/synth.json" >/dev/null || { cat "$T/synth.json"; fail "analyze --json"; }

# Real Azure Linux specs, when ../shared is beside the checkout: every spec
# is buildable or blocked, and the reports come biggest first.
sample=${SHIPYARD_SHARED:-$TOP/../shared}/azl-sample
if [ -d "$sample/SPECS" ]; then
	cp -r "$sample" "$T/azl"
	git_ -C "$T/azl" init -q
	git_ -C "$T/azl" add -A
	git_ -C "$T/azl" commit -q -m "azl sample"
	an azl.json --repo "$T/azl" --json --max-results 0
	jq -e '.buildable + .closest.total == .specs and .specs > 30 and
		([.blockers.top[].blocks] | . == (sort | reverse)) and
		([.unresolved.top[].blocked] | . == (sort | reverse)) and
		any(.blockers.top[]; .spec == "zlib" and .blocks > 0)' "$T/azl.json" >/dev/null ||
		{ cat "$T/azl.json"; fail "analyze on azl-sample"; }
else
	echo "azl-sample part skipped: $sample is absent"
fi

"$SHIPYARD" analyze --repo "$repo" --max-results -1 >"$T/bad" 2>&1 && fail "--max-results -1 accepted"
expect_line "$T/bad" 'max-results must be a number >= 0'
echo ok
