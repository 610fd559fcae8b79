#!/bin/sh
# One stage alone on a state directory: `shipyard build --specs` builds the
# named specs and what they need (here nothing more), `--force` builds one
# again; `shipyard
# publish` publishes what was built; `shipyard image` composes from the
# published repository and recomposes only when forced. `shipyard run
# --config FILE --repo-name NAME` takes the repository's settings and state
# directory from the service's configuration.
. "$(dirname "$0")/lib.sh"
need_root
command -v jq >/dev/null || skip "needs jq"

repo=$T/distro
state=$T/state
minidistro "$repo"
csv_state() { grep "^$2-[^-]*-[^-]*\.src\.rpm," "$state/pipelines/$1/build_state.csv" | cut -d, -f2; }

# build --specs: the named specs, in build order; hello needs only libgreet.
sy "$T/b1.out" build --repo "$repo" --state "$state" --specs hello,libgreet --pipeline-id b1
[ "$rc" -eq 0 ] || { cat "$T/b1.out"; fail "build --specs failed"; }
[ "$(csv_state b1 libgreet)" = Built ] || fail "libgreet was not built"
[ "$(csv_state b1 hello)" = Built ] || fail "hello was not built"
[ "$(grep -c '\.src\.rpm,' "$state/pipelines/b1/build_state.csv")" -eq 2 ] ||
	fail "build --specs built more than the named specs"
[ ! -e "$state/repos/main/current" ] || fail "build published something"

# Again: reused; with --force: built again.
sy "$T/b2.out" build --repo "$repo" --state "$state" --specs hello --pipeline-id b2
[ "$(csv_state b2 hello)" = PreBuilt ] || fail "hello was not reused"
sy "$T/b3.out" build --repo "$repo" --state "$state" --specs hello --force --pipeline-id b3
[ "$rc" -eq 0 ] || { cat "$T/b3.out"; fail "build --force failed"; }
[ "$(csv_state b3 hello)" = Built ] || fail "--force did not build hello again"
[ "$(csv_state b1 hello)" = Built ] || fail "a later run changed the first run's report"

# Names that are no spec: exit 2, every one named.
sy "$T/b4.out" build --repo "$repo" --state "$state" --specs nope,hello,neither
[ "$rc" -eq 2 ] || fail "unknown specs should exit 2, not $rc"
expect_line "$T/b4.out" 'unknown specs: nope, neither'

# publish: what was built, nothing else.
sy "$T/p1.out" publish --repo "$repo" --state "$state" --channel main
[ "$rc" -eq 0 ] || { cat "$T/p1.out"; fail "publish failed"; }
repoquery "$state/repos/main/current" >"$T/rq1"
grep -q '^hello-1.0-1\.mdst1\.' "$T/rq1" || { cat "$T/rq1"; fail "hello is not published"; }
! grep -q '^greet-tools-' "$T/rq1" || fail "greet-tools was published without being built"
[ "$(jq -r .commit "$state/repos/main/published.json")" = "$(git -C "$repo" rev-parse HEAD)" ] ||
	fail "published.json does not name the commit"
sy "$T/p2.out" publish --repo "$repo" --state "$state" --channel main
expect_line "$T/p2.out" 'repository main unchanged'

# image: an unknown config is an error; a config needing unbuilt packages fails.
sy "$T/i0.out" image --repo "$repo" --state "$state" --channel main --images nope
[ "$rc" -eq 2 ] || fail "an unknown image config should exit 2"
expect_line "$T/i0.out" "no image config 'nope'"
sy "$T/r1.out" build --repo "$repo" --state "$state" --pipeline-id all
[ "$rc" -eq 0 ] || { cat "$T/r1.out"; fail "building the rest failed"; }
sy "$T/p3.out" publish --repo "$repo" --state "$state" --channel main
sy "$T/i1.out" image --repo "$repo" --state "$state" --channel main --images minimal-container
[ "$rc" -eq 0 ] || { cat "$T/i1.out"; fail "image failed"; }
expect_line "$T/i1.out" '^shipyard/image/minimal-container success composed'
sy "$T/i2.out" image --repo "$repo" --state "$state" --channel main
expect_line "$T/i2.out" '^shipyard/image/minimal-container success unchanged'
sy "$T/i3.out" image --repo "$repo" --state "$state" --channel main --force
expect_line "$T/i3.out" '^shipyard/image/minimal-container success composed'

# run --config --repo-name: the state directory, the mirror and a
# per-repository setting come from the service's configuration.
cstate=$T/cstate
git_ clone -q --bare "$repo" "$cstate/git/mini.git"
cat >"$T/serve.conf" <<EOF2
[serve]
	state = $cstate
[repo "mini"]
	remote = file://$repo
	imageconfigs = no-images-here
EOF2
sy "$T/c1.out" run --config "$T/serve.conf" --repo-name mini --channel main --pipeline-id c1
[ "$rc" -eq 0 ] || { cat "$T/c1.out"; fail "run --config failed"; }
[ -f "$cstate/pipelines/c1/build_state.csv" ] || fail "run --config did not use serve.state"
[ -e "$cstate/repos/main/current" ] || fail "run --config did not publish under serve.state"
expect_no_line "$T/c1.out" '^shipyard/image/'
sy "$T/c2.out" run --config "$T/serve.conf" --repo-name other
[ "$rc" -eq 2 ] || fail "an unknown repository name should exit 2"
expect_line "$T/c2.out" "no repository 'other'"
echo ok
