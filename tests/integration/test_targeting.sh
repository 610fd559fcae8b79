#!/bin/sh
# Maintainer targeting on the example distribution, as the Azure Linux
# toolkit's PACKAGE_BUILD_LIST, PACKAGE_REBUILD_LIST, PACKAGE_IGNORE_LIST and
# CONFIG_FILE: `build --specs hello` builds hello and libgreet, which it
# needs, and nothing else; `--packages` names specs by a package they
# build; `--rebuild` builds a spec again though its artifact exists;
# `--ignore` leaves a spec out, and the specs needing it build with its
# artifact, with its published packages (kept apart from the builds of
# their keys), or are blocked, as the plan says;
# `--image-config` plans what an image config's packages need. Names that
# are nothing, a spec both rebuilt and ignored, and a goal given to `run`
# are refused.
. "$(dirname "$0")/lib.sh"
need_root
command -v jq >/dev/null || skip "needs jq"

repo=$T/distro
state=$T/state
minidistro "$repo"
# built RUN: the specs the run built, sorted, one line.
built() { grep ',Built,' "$state/pipelines/$1/build_state.csv" | sed 's/-[^-]*-[^-]*\.src\.rpm,.*//' |
	sort | tr '\n' ' '; }

# --specs hello: hello requested, libgreet needed (no artifact), in order.
sy "$T/p1.out" plan --repo "$repo" --state "$state" --specs hello
[ "$rc" -eq 0 ] || { cat "$T/p1.out"; fail "plan --specs failed"; }
expect_line "$T/p1.out" "^goal plan at [0-9a-f]{12}: $(ls -d "$repo"/SPECS/*/ | wc -l) specs read\$"
expect_line "$T/p1.out" '^rebuild set: 2 specs$'
expect_line "$T/p1.out" '^  libgreet +no artifact for its build key, needed by hello \(BuildRequires libgreet-devel >= 1.0\)$'
expect_line "$T/p1.out" '^  hello +requested$'
sy "$T/b1.out" build --repo "$repo" --state "$state" --specs hello --pipeline-id b1
[ "$rc" -eq 0 ] || { cat "$T/b1.out"; fail "build --specs hello failed"; }
[ "$(built b1)" = "hello libgreet " ] || fail "build --specs hello built: $(built b1)"

# --packages libbanner-devel --ignore libgreet: libbanner builds with the
# artifact of libgreet's build key, which exists now.
sy "$T/b2.out" build --repo "$repo" --state "$state" --packages libbanner-devel --ignore libgreet \
	--pipeline-id b2
[ "$rc" -eq 0 ] || { cat "$T/b2.out"; fail "build --packages --ignore failed"; }
expect_line "$T/b2.out" '^ignored: libgreet: not built; libbanner builds with the artifact of its build key$'
[ "$(built b2)" = "libbanner " ] || fail "build --packages libbanner-devel built: $(built b2)"

# --rebuild libgreet: built again; hello, whose key did not change, is not.
sy "$T/b3.out" build --repo "$repo" --state "$state" --rebuild libgreet --pipeline-id b3
[ "$rc" -eq 0 ] || { cat "$T/b3.out"; fail "build --rebuild failed"; }
expect_line "$T/b3.out" '^  libgreet +requested, rebuilt even if built$'
[ "$(built b3)" = "libgreet " ] || fail "build --rebuild libgreet built: $(built b3)"

# After a change to libgreet its key has no artifact: ignored, it is taken
# from the published repository; with nothing published, hello is blocked.
sy "$T/pub.out" publish --repo "$repo" --state "$state" --channel main
[ "$rc" -eq 0 ] || { cat "$T/pub.out"; fail "publish failed"; }
echo "# a comment" >>"$repo/SPECS/libgreet/libgreet.spec"
git_ -C "$repo" commit -q -am "libgreet: a comment"
syj "$T/p4.json" plan --repo "$repo" --state "$state" --specs hello --ignore libgreet --format json
jq -e '.goal and ([.rebuild[].spec] == ["hello"]) and (.rebuild[0] | has("blocked_by") | not) and
	.ignored == [{"spec": "libgreet", "path": "SPECS/libgreet/libgreet.spec",
		"packages": "published", "dependents": ["hello"]}]' "$T/p4.json" >/dev/null ||
	{ cat "$T/p4.json"; fail "an ignored spec with published packages"; }
sy "$T/b4.out" build --repo "$repo" --state "$state" --specs hello --ignore libgreet --pipeline-id b4
[ "$rc" -eq 0 ] || { cat "$T/b4.out"; fail "build with an ignored spec's published packages failed"; }
expect_line "$T/b4.out" '^ignored: libgreet: not built; hello builds with its published packages, an earlier build \(kept apart from builds of the current keys\)$'
[ "$(built b4)" = "hello " ] || fail "build --specs hello --ignore libgreet built: $(built b4)"
# That hello was built with the old libgreet: a build of its key is still
# to be made, with libgreet's current packages.
sy "$T/b4b.out" build --repo "$repo" --state "$state" --specs hello --pipeline-id b4b
[ "$(built b4b)" = "hello libgreet " ] || fail "hello built with an ignored spec's old packages was reused: $(built b4b)"
sy "$T/b5.out" build --repo "$repo" --state "$T/empty" --specs hello --ignore libgreet --pipeline-id b5
[ "$rc" -eq 1 ] || { cat "$T/b5.out"; fail "a blocked build should exit 1, not $rc"; }
expect_line "$T/b5.out" '^ignored: libgreet: not built; none of its packages exist, so hello is blocked$'
expect_line "$T/b5.out" '^  hello +requested \[blocked: needs ignored libgreet\]$'
grep -q '^hello-1.0-1.mdst1.src.rpm,Blocked,libgreet-1.0-1.mdst1.src.rpm-UNBUILT,0$' \
	"$T/empty/pipelines/b5/build_state.csv" || { cat "$T/empty/pipelines/b5/build_state.csv";
	fail "the blocked spec's row does not name the unbuilt spec"; }

# --image-config: the specs of the image's packages (glibc is only a
# generated dependency, unknown before anything is built).
syj "$T/p6.json" plan --repo "$repo" --state "$T/empty" --image-config minimal-container --format json
jq -e '[.rebuild[].spec] | sort == ["filesystem", "hello", "libgreet", "minidistro-release", "smoketest"]' \
	"$T/p6.json" >/dev/null || { cat "$T/p6.json"; fail "plan --image-config"; }
syj "$T/p7.json" plan --repo "$repo" --state "$T/empty" --format json \
	--image-config toolkit/imageconfigs/minimal-container.json --ignore hello
jq -e '[.rebuild[].spec] | sort == ["filesystem", "libgreet", "minidistro-release", "smoketest"]' \
	"$T/p7.json" >/dev/null || { cat "$T/p7.json"; fail "plan --image-config PATH --ignore"; }

# Refused: exit 2 with the reason.
sy "$T/e1.out" build --repo "$repo" --state "$state" --packages nope,hello
[ "$rc" -eq 2 ] || fail "exit status $rc, not 2"
expect_line "$T/e1.out" 'unknown package: nope'
sy "$T/e2.out" build --repo "$repo" --state "$state" --rebuild hello --ignore hello
[ "$rc" -eq 2 ] || fail "exit status $rc, not 2"
expect_line "$T/e2.out" 'hello: both to rebuild and ignored'
sy "$T/e3.out" build --repo "$repo" --state "$state" --image-config nope
[ "$rc" -eq 2 ] || fail "an unknown image config should exit 2, not $rc"
sy "$T/e4.out" run --repo "$repo" --state "$state" --specs hello
[ "$rc" -eq 2 ] || fail "exit status $rc, not 2"
expect_line "$T/e4.out" 'go with build or plan'
sy "$T/e5.out" plan --repo "$repo" --state "$state" --specs hello --ignore nothing
[ "$rc" -eq 0 ] || fail "exit status $rc, not 0"
expect_line "$T/e5.out" 'warning: ignore nothing: no spec or package of that name'
echo ok
