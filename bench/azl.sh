#!/bin/sh
# Benchmark of planning the whole Azure Linux 3.0 tree (issue 11, "Speed at
# full scale"): ../shared/azl/azurelinux-3.0.bundle, 3,087 specs. Prints, as
# `bench/azl: ...` lines, all measured in this run on this machine:
#   - cold plan of the bundle's commit (fresh state: every spec read), wall
#     time, peak RSS (GNU time %M) and the stage split (SHIPYARD_TIMING);
#   - the floor: one librpm parse per spec with the same macro context and
#     nothing else (build/bench/spec-floor), as many in parallel as cores;
#   - the toolkit's way: six `rpmspec -q` calls per spec (the specreader's
#     five and the versionsprocessor's one) with the same macros, on as many
#     parallel processes as cores, over a random sample scaled to the tree;
#   - the plan of a new one-spec commit (a Release bump of zlib) on the warm
#     state, and the warm re-plan of the same pair (median of 7), each with
#     its CPU time, minor page faults and stage split (SHIPYARD_TIMING);
#   - the ratios against the targets: cold <= 1.3x the floor, >= 4x faster
#     than the toolkit's way, one-spec commit < 100 ms, warm < 50 ms.
# Figures, not pass/fail. usage: bench/azl.sh [--sample N] [--latency]
# (--latency: the cold plan and the warm figures only, no floor nor
# toolkit way).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
shipyard=$top/build/shipyard
floor=$top/build/bench/spec-floor
bundle=${SHIPYARD_SHARED:-$top/../shared}/azl/azurelinux-3.0.bundle
sample=300
latency_only=
while [ $# -gt 0 ]; do
	case $1 in
	--sample) sample=$2; shift 2 ;;
	--latency) latency_only=1; shift ;;
	*) echo "usage: bench/azl.sh [--sample N] [--latency]" >&2; exit 2 ;;
	esac
done

say() { echo "bench/azl: $*"; }
if [ ! -f "$bundle" ]; then
	say "skipped, $bundle is absent"
	exit 0
fi
[ -n "$latency_only" ] && floor=$shipyard # the floor is not measured
for f in "$shipyard" "$floor"; do
	[ -x "$f" ] || { echo "bench/azl: $f is missing; run make bench" >&2; exit 2; }
done
tmp=$(mktemp -d /tmp/shipyard-bench-azl-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cores=$(nproc)
now() { date +%s.%N; }
calc() { awk "BEGIN { print $1 }"; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
# split WHAT ERR: the stage split SHIPYARD_TIMING printed to ERR, one line
# per stage ("index 9954c22c" names the commit read).
split() {
	sed -n 's/.*timing: \([a-z]*\) \([0-9a-f]*\): \(.*\)$/\1 \2: \3/p' "$2" |
		sed 's/^\([a-z]*\) \([0-9a-f]\{8\}\)[0-9a-f]*:/\1 \2:/; s/^\([a-z]*\) :/\1:/' |
		while read -r line; do say "$1 stage $line"; done
}
# GNU time wrote OUT.rss: maybe "Command exited with non-zero status N",
# then the peak RSS (KiB), then user and system CPU (s) and minor faults.
rss_of() { tail -n 2 "$1.rss" | head -n 1; }
# cost WHAT OUT: CPU time and page faults of the run whose output is OUT.
cost() {
	[ -s "$2.rss" ] || return 0
	set -- "$1" $(tail -n 1 "$2.rss")
	say "$1: CPU $(printf '%.0f' "$(calc "($2 + $3) * 1000")") ms (user+system), $4 minor page faults"
}

git clone -q "$bundle" "$tmp/azl"
repo=$tmp/azl
nspecs=$(git -C "$repo" ls-tree -r --name-only HEAD | grep -c '^SPECS[^/]*/[^/]*/[^/]*\.spec$')

# plan STATE OUT ARGS...: sets $elapsed (s); exit 0 or 1 (unresolved) is fine.
plan() {
	st=$1 out=$2
	shift 2
	s=$(now)
	rc=0
	if [ -x /usr/bin/time ]; then
		# peak RSS (KiB), then user + system CPU (s) and minor page faults
		SHIPYARD_TIMING=1 /usr/bin/time -f '%M
%U %S %R' -o "$out.rss" "$shipyard" plan --repo "$repo" \
			--state "$st" "$@" >"$out" 2>"$out.err" || rc=$?
	else
		SHIPYARD_TIMING=1 "$shipyard" plan --repo "$repo" --state "$st" "$@" >"$out" \
			2>"$out.err" || rc=$?
	fi
	elapsed=$(calc "$(now) - $s")
	if [ "$rc" -gt 1 ]; then
		echo "bench/azl: shipyard plan $* failed (exit $rc):" >&2
		tail -n 5 "$out.err" >&2
		exit 1
	fi
}

# 1. Cold plan.
plan "$tmp/state" "$tmp/cold" --to HEAD
cold=$elapsed
say "$nspecs specs, $cores cores"
say "cold plan (fresh state, every spec read): $(printf '%.1f' "$cold") s; plan says: $(tail -n 1 "$tmp/cold")"
[ -s "$tmp/cold.rss" ] && say "cold plan peak RSS: $(printf '%.1f' "$(calc "$(rss_of "$tmp/cold") / 1024")") MiB"
split "cold plan" "$tmp/cold.err"

if [ -z "$latency_only" ]; then
# 2. The floor, with the context the plan made.
versions=$(ls "$tmp"/state/tmp/macros-*/versions-*/macros.versions 2>/dev/null | head -n 1)
ctx=$(dirname "$(dirname "$versions")")
"$floor" --ctx "$ctx" --tree "$repo" --versions "$versions" --jobs "$cores" >"$tmp/floor"
sed 's|^bench/floor:|bench/azl: floor:|' "$tmp/floor"
fwall=$(sed -n 's/.*wall \([0-9.]*\) s.*/\1/p' "$tmp/floor")
say "cold plan / floor: $(printf '%.2f' "$(calc "$cold / $fwall")")x (target <= 1.3x)"

# 3. The toolkit's way on a sample.
find "$repo" -mindepth 3 -maxdepth 3 -name '*.spec' -path '*/SPECS*' | sort >"$tmp/all"
seq 1 100000 >"$tmp/random"
shuf -n "$sample" --random-source="$tmp/random" "$tmp/all" >"$tmp/sample"
nsampled=$(wc -l <"$tmp/sample")
: >"$tmp/load"
for m in "$ctx"/macros "$ctx"/macros.* "$ctx"/shipped/* "$ctx"/generated/macros.dist "$versions"; do
	[ -f "$m" ] && printf '%s\n' "$m" >>"$tmp/load"
done
cat >"$tmp/query.sh" <<'EOF'
#!/bin/sh
# query.sh LOADLIST RPMRC LUADIR SPEC: the toolkit's six rpmspec calls.
loads=$1 rpmrc=$2 lua=$3 spec=$4
set -- --rcfile "/usr/lib/rpm/rpmrc:$rpmrc" --eval "%{lua: package.path = \"$lua/?.lua;\" .. package.path}"
while read -r m; do set -- "$@" --load "$m"; done <"$loads"
q() { rpmspec "$@" --define "_sourcedir ${spec%/*}" --target x86_64 -q "$spec" >/dev/null 2>&1 || true; }
q "$@" --srpm --qf '%{VERSION} %{RELEASE} %{EPOCH}'
q "$@" --srpm --qf '%{NAME}-%{VERSION}-%{RELEASE}.src.rpm'
q "$@" --srpm --qf '[%{EXCLUSIVEARCH} ]'
q "$@" --srpm --qf '[%{EXCLUDEARCH} ]'
q "$@" --builtrpms --qf 'rpm %{ARCH}/%{nvra}.rpm\n[provides %{PROVIDENEVRS}\n][requires %{REQUIRENEVRS}\n][arch %{ARCH}\n]'
q "$@" --buildrequires
EOF
s=$(now)
xargs -P "$cores" -n 1 sh "$tmp/query.sh" "$tmp/load" "$ctx/rpmrc" "$ctx/lua" <"$tmp/sample"
base=$(calc "$(now) - $s")
total=$(calc "$base * $nspecs / $nsampled")
say "toolkit way (6 x rpmspec -q per spec, $cores parallel): $(printf '%.1f' "$base") s for $nsampled random specs, scaled to $nspecs: $(printf '%.1f' "$total") s"
say "cold plan speed-up over the toolkit way: $(printf '%.1f' "$(calc "$total / $cold")")x (target >= 4x)"
fi

# 4. A new one-spec commit on the warm state, then the same pair again.
sed -i 's/^\(Release:[[:space:]]*\)\([0-9]*\)/\1\2000/' "$repo/SPECS/zlib/zlib.spec"
git -C "$repo" -c user.name=b -c user.email=b@shipyard.invalid commit -q -am "zlib: bump"
plan "$tmp/state" "$tmp/one" --from HEAD~1 --to HEAD
say "plan of a new one-spec commit (zlib Release bump, warm state): $(printf '%.0f' "$(calc "$elapsed * 1000")") ms (target < 100 ms); plan says: $(tail -n 1 "$tmp/one")"
cost "one-spec commit" "$tmp/one"
split "one-spec commit" "$tmp/one.err"
: >"$tmp/warm"
for i in 1 2 3 4 5 6 7; do
	plan "$tmp/state" "$tmp/warm.$i" --from HEAD~1 --to HEAD
	echo "$(calc "$elapsed * 1000") $i" >>"$tmp/warm"
	cmp -s "$tmp/warm.$i" "$tmp/one" ||
		{ echo "bench/azl: the warm re-plan printed another plan than the first" >&2; exit 1; }
done
mid=$(sort -n "$tmp/warm" | sed -n 4p | cut -d' ' -f2)
say "warm re-plan of the same pair (7 runs): median $(printf '%.0f' "$(cut -d' ' -f1 "$tmp/warm" | median)") ms (target < 50 ms)"
cost "warm re-plan (median run)" "$tmp/warm.$mid"
split "warm re-plan (median run)" "$tmp/warm.$mid.err"
say "load average while measured: $(cut -d' ' -f1-3 /proc/loadavg) ($cores cores)"
