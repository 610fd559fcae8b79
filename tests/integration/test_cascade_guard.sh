#!/bin/sh
# The cascade guard: with plan.maxrebuild = 3 in shipyard.conf, one unused
# macro added to minidistro's macro package puts every spec into the plan
# (the macro context is every spec's input); the run builds nothing,
# publishes nothing, fails shipyard/plan with the count and the biggest
# causes, and exits 1. `shipyard plan` says the same, in text and JSON; a
# limit the plan fits under says nothing; `run --approve` builds it all.
. "$(dirname "$0")/lib.sh"
need_root
command -v jq >/dev/null || skip "needs jq"

repo=$T/distro
state=$T/state
minidistro "$repo"
n=$(ls -d "$repo"/SPECS/*/ | wc -l)

macros=$repo/SPECS/minidistro-rpm-macros
printf '%%minidistro_unused 1\n' >>"$macros/macros"
printf '{"Signatures": {"macros": "%s"}}\n' "$(sha256sum "$macros/macros" | cut -d' ' -f1)" \
	>"$macros/minidistro-rpm-macros.signatures.json"
printf '[plan]\n\tmaxrebuild = 3\n' >>"$repo/shipyard.conf"
git_ -C "$repo" commit -q -am "macros: one unused macro; plan.maxrebuild = 3"

# plan: the verdict and the causes, the global inputs first.
sy "$T/plan.out" plan --repo "$repo" --state "$state"
[ "$rc" -eq 1 ] || { cat "$T/plan.out"; fail "plan over the limit should exit 1, not $rc"; }
expect_line "$T/plan.out" "^rebuild set: $n specs\$"
expect_line "$T/plan.out" "^approval needed: $n specs to build, over plan.maxrebuild 3; nothing is built until a run with --approve\$"
expect_line "$T/plan.out" "^  global inputs +pulls in $n specs \\(macro context, arch or worker root changed\\)\$"
expect_line "$T/plan.out" '^  minidistro-rpm-macros +pulls in 1 spec$'
expect_line "$T/plan.out" "^shipyard/plan failure approval needed: $n specs to build, over plan.maxrebuild 3; biggest causes: global inputs $n, minidistro-rpm-macros 1\$"
syj "$T/plan.json" plan --repo "$repo" --state "$state" --format json
jq -e --argjson n "$n" '.approval.limit == 3 and .approval.to_build == $n and .approval.needed and
	(.approval.approved | not) and .approval.causes[0] == {"cause": "global", "count": $n} and
	.approval.causes[1] == {"cause": "spec", "spec": "minidistro-rpm-macros", "count": 1}' \
	"$T/plan.json" >/dev/null || { cat "$T/plan.json"; fail "plan JSON lacks the approval"; }

# A limit the plan fits under: no verdict at all.
sed -i "s/maxrebuild = 3/maxrebuild = $n/" "$repo/shipyard.conf"
git_ -C "$repo" commit -q -am "plan.maxrebuild = $n"
sy "$T/plan9.out" plan --repo "$repo" --state "$state" --from HEAD~2
[ "$rc" -eq 0 ] || { cat "$T/plan9.out"; fail "plan under the limit should exit 0, not $rc"; }
expect_no_line "$T/plan9.out" 'approval'
git_ -C "$repo" reset -q --hard HEAD~1

# run: held. Nothing is built or published; the reason is in the status.
sy "$T/held.out" run --repo "$repo" --state "$state" --from HEAD~1 --pipeline-id held
[ "$rc" -eq 1 ] || { cat "$T/held.out"; fail "a held run should exit 1, not $rc"; }
expect_line "$T/held.out" "^shipyard/plan failure approval needed: $n specs to build"
expect_line "$T/held.out" 'nothing built: run again with --approve'
expect_no_line "$T/held.out" '^shipyard/build'
[ ! -e "$state/pipelines/held/build_state.csv" ] || fail "a held run built"
[ ! -e "$state/repos/main/current" ] || fail "a held run published"
[ -z "$(ls "$state/artifacts" 2>/dev/null)" ] || fail "a held run left artifacts"
jq -e '.approval.needed' "$state/pipelines/held/plan.json" >/dev/null ||
	fail "the held run's plan.json does not say why"

# run --approve: built, published.
sy "$T/ok.out" run --repo "$repo" --state "$state" --from HEAD~1 --approve --pipeline-id ok
[ "$rc" -eq 0 ] || { cat "$T/ok.out"; fail "run --approve failed ($rc)"; }
expect_line "$T/ok.out" "^approved: $n specs to build, over plan.maxrebuild 3 \\(--approve\\)\$"
expect_line "$T/ok.out" "^shipyard/build success $n built"
[ -e "$state/repos/main/current" ] || fail "run --approve did not publish"

# Built already: the same plan needs no approval again.
syj "$T/again.out" plan --repo "$repo" --state "$state" --format json
jq -e '.approval.to_build == 0 and (.approval.needed | not)' "$T/again.out" >/dev/null ||
	{ cat "$T/again.out"; fail "a plan whose builds exist still needs approval"; }
echo ok
