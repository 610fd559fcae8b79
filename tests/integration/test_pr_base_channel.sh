#!/bin/sh
# A pull request resolves like its base branch: until its own channel is
# first published, `shipyard run --base-channel main` (what `shipyard serve`
# passes for a pull request) reads main's published repository. A pull
# request bumping only hello learns greet-tools' generated BuildRequires
# pkgconfig(banner) from main's repodata, so it builds hello alone and goes
# green; nothing of it reaches main's channel. A package the pull request
# builds wins over main's of the same name, even when main's is newer. Its
# first publication keeps main's packages of the specs it could not build, so
# that its next run still learns every provide from its own channel.
. "$(dirname "$0")/lib.sh"
need_root
command -v jq >/dev/null || skip "needs jq"

repo=$T/distro
state=$T/state
minidistro "$repo"
git_ -C "$repo" branch -q fork

# bump SPEC RELEASE: a commit setting SPEC's Release on the current branch.
bump() {
	sed -i "s/^\(Release:[[:space:]]*\)[0-9]*/\1$2/" "$repo/SPECS/$1/$1.spec"
	git_ -C "$repo" commit -q -am "$1: release $2"
}

# run_main N: runs and publishes main; its output in $T/main-N.out.
run_main() {
	"$SHIPYARD" run --repo "$repo" --to main --state "$state" >"$T/main-$1.out" 2>&1 ||
		{ cat "$T/main-$1.out"; fail "run $1 of main failed"; }
}

# run_pr N BRANCH: the run `shipyard serve` starts for pull request N whose
# head is BRANCH; output in $T/pr-N.out, exit status in rc.
run_pr() {
	rc=0
	"$SHIPYARD" run --repo "$repo" --from main --to "$2" --merge-base --settings-from main \
		--channel "pr-$1" --base-channel main --state "$state" >"$T/pr-$1.out" 2>&1 || rc=$?
}

# published CHANNEL: name-evr.arch of the packages of CHANNEL's current snapshot.
published() {
	repoquery "$(readlink -f "$state/repos/$1/current")"
}

# job_log N SPEC: SPEC's build log in the last run of pull request N.
job_log() {
	echo "$state/pipelines/$(sed -n 's|.*build report: .*/pipelines/\([^/]*\)/.*|\1|p' \
		"$T/pr-$1.out")/logs/$2.log"
}

# main's first run resolves pkgconfig(banner) late; then greet-tools and
# libbanner change on main and build against the provide learned from main.
run_main 1
bump greet-tools 2
sed -i "s/^\(Release:[[:space:]]*\)[0-9]*/\13/" "$repo/SPECS/libbanner/libbanner.spec"
git_ -C "$repo" commit -q -am "libbanner: release 3"
run_main 2
expect_line "$T/main-2.out" '^shipyard/build success 2 built'
main_snap=$(readlink -f "$state/repos/main/current")
published main >"$T/main.rq"

# A pull request bumping only hello: hello is built, everything else is
# main's.
git_ -C "$repo" checkout -q -b hello main
bump hello 7
run_pr 1 hello
[ "$rc" -eq 0 ] || { cat "$T/pr-1.out"; fail "the pull request bumping hello failed ($rc)"; }
expect_line "$T/pr-1.out" 'channel pr-1 is not published yet: resolving against main'
expect_line "$T/pr-1.out" '^rebuild set: 1 specs'
expect_line "$T/pr-1.out" '^  hello +spec changed'
expect_no_line "$T/pr-1.out" 'unresolved BuildRequires'
expect_line "$T/pr-1.out" '^shipyard/build success 1 built, 0 reused, 0 unchanged, 0 failed, 0 blocked'
published pr-1 >"$T/pr-1.rq"
grep -q '^hello-1.0-7\.mdst1\.' "$T/pr-1.rq" || { cat "$T/pr-1.rq"; fail "pr-1 lacks hello 7"; }
grep -q '^greet-tools-1.0-2\.mdst1\.' "$T/pr-1.rq" || { cat "$T/pr-1.rq"; fail "pr-1 lacks main's greet-tools"; }
# Nothing leaks into main.
[ "$(readlink -f "$state/repos/main/current")" = "$main_snap" ] || fail "the pull request published to main"
published main | cmp -s - "$T/main.rq" || fail "main's packages changed"
[ "$(jq -r .commit "$state/repos/main/published.json")" = "$(git -C "$repo" rev-parse main)" ] ||
	fail "main's published.json changed"

# A pull request from before libbanner's release 3 builds libbanner 1.0-2
# with a noarch -devel (so main's provides are not learned for it) and a new
# greet-tools: greet-tools resolves pkgconfig(banner) late and must get the
# pull request's libbanner-devel, not main's newer one.
git_ -C "$repo" checkout -q -b noarch fork
sed -i "s/^\(Release:[[:space:]]*\)[0-9]*/\12/; s/^Summary: *Header, pkg-config.*/&\nBuildArch:      noarch/" \
	"$repo/SPECS/libbanner/libbanner.spec"
sed -i "s/^\(Release:[[:space:]]*\)[0-9]*/\15/" "$repo/SPECS/greet-tools/greet-tools.spec"
git_ -C "$repo" commit -q -am "libbanner: noarch -devel; greet-tools: release 5"
run_pr 2 noarch
[ "$rc" -eq 0 ] || { cat "$T/pr-2.out"; fail "the pull request with a noarch libbanner-devel failed ($rc)"; }
expect_line "$T/pr-2.out" '^  greet-tools: pkgconfig\(banner\) >= 1.0'
log=$(job_log 2 greet-tools)
expect_line "$log" '^installing libbanner-devel-1\.0-2\.mdst1\.noarch$'
expect_no_line "$log" '^installing libbanner.*-1\.0-3\.'

# A pull request breaking libbanner: libbanner fails, greet-tools is
# blocked, and its channel keeps main's packages of both.
git_ -C "$repo" checkout -q -b broken main
sed -i 's/^%build$/%build\nexit 1/' "$repo/SPECS/libbanner/libbanner.spec"
git_ -C "$repo" commit -q -am "libbanner: break the build"
run_pr 3 broken
[ "$rc" -eq 1 ] || { cat "$T/pr-3.out"; fail "the pull request breaking libbanner: exit $rc, expected 1"; }
expect_line "$T/pr-3.out" '^shipyard/build failure failed: libbanner; blocked: [a-z-]+; 0 built, 0 reused, 0 unchanged, 1 failed, 1 blocked'
published pr-3 >"$T/pr-3.rq"
for nevr in libbanner-1.0-3 libbanner-devel-1.0-3 greet-tools-1.0-2 hello-1.0-1; do
	grep -q "^$nevr\.mdst1\." "$T/pr-3.rq" || { cat "$T/pr-3.rq"; fail "pr-3 lacks main's $nevr"; }
done
# Its next push repairs libbanner and bumps hello: its own channel is read
# now, and it holds libbanner-devel's provide.
git_ -C "$repo" revert --no-edit HEAD >/dev/null
bump hello 8
run_pr 3 broken
[ "$rc" -eq 0 ] || { cat "$T/pr-3.out"; fail "the repaired pull request failed ($rc)"; }
expect_no_line "$T/pr-3.out" 'resolving against main'
expect_no_line "$T/pr-3.out" 'unresolved BuildRequires'
expect_line "$T/pr-3.out" '^shipyard/build success 1 built'
[ "$(readlink -f "$state/repos/main/current")" = "$main_snap" ] || fail "a pull request published to main"
echo ok
