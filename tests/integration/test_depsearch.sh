#!/bin/sh
# shipyard depsearch on the example distribution: dependents (default) and
# dependencies (--reverse) over BuildRequires and Requires edges, each kind
# alone, depth limits, packages, every output form, --rev, and errors; then on
# real Azure Linux specs (../shared/azl-sample) when present.
#
# Edges of minidistro at the second commit: libbanner BuildRequires
# libgreet-devel and libbanner-devel Requires it; greet-tools BuildRequires
# pkgconfig(greet) (libgreet-devel) and pkgconfig(banner), a provide that
# exists only in built libbanner-devel packages, so with nothing published
# that edge is unknown (unresolved); hello BuildRequires
# libbanner-devel (at the first commit libgreet-devel); glibc,
# minidistro-release and smoketest Require filesystem; bootstrap-base
# BuildRequires and Requires glibc and filesystem, bootstrap-gcc those and
# bootstrap-base.
. "$(dirname "$0")/lib.sh"

repo=$T/minidistro
cp -r "$TOP/examples/minidistro" "$repo"
(cd "$repo" && git_ init -q . && git_ add -A && git_ commit -q -m "minidistro" &&
	sed -i 's/^BuildRequires:  libgreet-devel >= 1.0$/BuildRequires:  libbanner-devel/' \
		SPECS/hello/hello.spec &&
	git_ commit -q -am "hello: BuildRequires libbanner-devel instead of libgreet-devel")

# ds OUT ARGS...: runs depsearch on the repository, output in $T/OUT.
ds() {
	out=$T/$1
	shift
	"$SHIPYARD" depsearch --repo "$repo" --state "$T/state" "$@" >"$out" 2>"$out.err" ||
		{ cat "$out" "$out.err"; fail "depsearch $* failed"; }
}

# expect_list FILE NAMES...: FILE holds exactly NAMES, one a line, in order.
expect_list() {
	file=$1
	shift
	printf '%s\n' "$@" >"$T/expected"
	cmp -s "$T/expected" "$file" || { echo "--- expected"; cat "$T/expected";
		echo "--- got"; cat "$file"; fail "unexpected list in $file"; }
}

# What depends on libgreet: transitively over both edge kinds, sorted, the
# searched spec included; hello is two edges away (through libbanner).
ds deps --specs libgreet
expect_list "$T/deps" greet-tools hello libbanner libgreet
ds deps-pkg --packages libgreet-devel
expect_list "$T/deps-pkg" greet-tools hello libbanner libgreet
ds depth1 --specs libgreet --max-depth 1
expect_list "$T/depth1" greet-tools libbanner libgreet
ds depth0 --specs libgreet --max-depth 0
expect_list "$T/depth0" libgreet
# Each edge kind alone, at every level.
ds build --specs libgreet --build-only
expect_list "$T/build" greet-tools hello libbanner libgreet
ds runtime --specs libgreet --runtime-only
expect_list "$T/runtime" libbanner libgreet
ds fs-runtime --specs filesystem --runtime-only
expect_list "$T/fs-runtime" bootstrap-base bootstrap-gcc filesystem glibc minidistro-release smoketest
ds fs-build --specs filesystem --build-only
expect_list "$T/fs-build" bootstrap-base bootstrap-gcc filesystem
# What hello and greet-tools need.
ds reverse --specs hello --reverse
expect_list "$T/reverse" hello libbanner libgreet
ds reverse-two --specs hello,greet-tools --reverse --max-depth 1
expect_list "$T/reverse-two" greet-tools hello libbanner libgreet
ds reverse-rt --specs greet-tools --reverse --runtime-only
expect_list "$T/reverse-rt" greet-tools

# --rev: at the first commit hello BuildRequires libgreet-devel directly.
ds old-depth1 --rev HEAD~1 --specs libgreet --max-depth 1
expect_list "$T/old-depth1" greet-tools hello libbanner libgreet
ds banner-old --rev HEAD~1 --specs libbanner
expect_list "$T/banner-old" libbanner
ds banner-new --specs libbanner
expect_list "$T/banner-new" hello libbanner

# Tree: each spec once, under what brought it in, with the edge.
ds tree --specs libgreet --tree
expect_list "$T/tree" libgreet \
	"  greet-tools (BuildRequires pkgconfig(greet) >= 1.0)" \
	"  libbanner (BuildRequires libgreet-devel >= 1.0)" \
	"    hello (BuildRequires libbanner-devel)"

# JSON.
ds json --specs libgreet --format json
expect_line "$T/json" '"direction": "dependents"'
expect_line "$T/json" '"edges": "all"'
expect_line "$T/json" '"spec": "hello"'
expect_line "$T/json" '"path": "SPECS/hello/hello.spec"'
expect_line "$T/json" '"via": "libbanner"'
expect_line "$T/json" '"depth": 2'
expect_line "$T/json" '"reason": "BuildRequires libbanner-devel"'
if command -v jq >/dev/null; then
	[ "$(jq -r '[.specs[].spec] | join(" ")' "$T/json")" = "greet-tools hello libbanner libgreet" ] ||
		fail "json specs are not greet-tools hello libbanner libgreet"
	[ "$(jq -r '.specs[] | select(.spec == "libgreet") | .via' "$T/json")" = null ] ||
		fail "the searched spec has a via"
fi

# DOT: the found subgraph, edges pointing at what is needed.
ds dot --specs libgreet --format dot
expect_line "$T/dot" '^digraph "depsearch" \{$'
expect_line "$T/dot" '^  "libgreet" \[style=bold\];$'
expect_line "$T/dot" '^  "hello" -> "libbanner" \[label="BuildRequires libbanner-devel"\];$'
expect_line "$T/dot" '^  "libbanner" -> "libgreet" \[label="libbanner-devel requires libgreet-devel >= 1.0", style=dashed\];$'
expect_no_line "$T/dot" 'filesystem'
if command -v dot >/dev/null; then
	dot -Tsvg "$T/dot" >/dev/null || fail "dot rejects the output"
fi

# Errors: unknown names are all named, exit 2; bad option combinations.
rc=0
"$SHIPYARD" depsearch --repo "$repo" --state "$T/state" --packages nope,libgreet,zlib-devel \
	>"$T/unknown" 2>"$T/unknown.err" || rc=$?
[ "$rc" -eq 2 ] || fail "unknown packages: exit $rc, not 2"
expect_line "$T/unknown.err" 'unknown packages: nope, zlib-devel'
rc=0
"$SHIPYARD" depsearch --repo "$repo" --state "$T/state" --specs libgreet-devel \
	>"$T/unknown" 2>"$T/unknown.err" || rc=$?
[ "$rc" -eq 2 ] || fail "unknown spec: exit $rc, not 2"
expect_line "$T/unknown.err" 'unknown spec: libgreet-devel'
for args in "--specs a --packages b" "--specs a --build-only --runtime-only" \
	"--specs a --tree --format json" "--specs a --max-depth -1" "--format json"; do
	rc=0
	# shellcheck disable=SC2086 # word splitting of args is intended
	"$SHIPYARD" depsearch --repo "$repo" --state "$T/state" $args >/dev/null 2>&1 || rc=$?
	[ "$rc" -eq 2 ] || fail "depsearch $args: exit $rc, not 2"
done

# Real Azure Linux specs: what depends on zlib, directly (libssh2, pcre2,
# libgit2, createrepo_c...) and through another sample spec (curl through
# libssh2, grep through pcre2).
sample=${SHIPYARD_SHARED:-$TOP/../shared}/azl-sample
if [ -d "$sample/SPECS" ]; then
	azl=$T/azl-repo
	cp -r "$sample" "$azl"
	(cd "$azl" && git_ init -q . && git_ add -A && git_ commit -q -m "azl sample")
	"$SHIPYARD" depsearch --repo "$azl" --state "$T/state" --specs zlib >"$T/azl" 2>"$T/azl.err" ||
		{ cat "$T/azl" "$T/azl.err"; fail "depsearch on azl-sample failed"; }
	cat "$T/azl"
	for spec in zlib libssh2 curl pcre2 grep libgit2 createrepo_c; do
		expect_line "$T/azl" "^$spec\$"
	done
	expect_no_line "$T/azl" '^(filesystem|golang)$'
	sort -c "$T/azl" || fail "azl-sample list is not sorted"
	"$SHIPYARD" depsearch --repo "$azl" --state "$T/state" --specs curl --reverse \
		--build-only --tree >"$T/azl-tree" 2>"$T/azl.err" ||
		{ cat "$T/azl-tree" "$T/azl.err"; fail "depsearch --reverse on azl-sample failed"; }
	expect_line "$T/azl-tree" '^curl$'
	expect_line "$T/azl-tree" '^  libssh2 \(BuildRequires libssh2-devel'
	expect_line "$T/azl-tree" '^ +zlib \(BuildRequires '
else
	echo "azl-sample part skipped: $sample is absent (../shared is only beside the checkout)"
fi
echo "ok"
