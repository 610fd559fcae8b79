#!/bin/sh
# Benchmark of `shipyard plan` (issue 3, "Checked by"), on:
#   - the real Azure Linux sample (../shared/azl-sample, 43 specs), when present;
#   - a synthetic 3,000-spec distribution written by build/bench/gen-distro
#     (hubs, chains, cycles, multi-spec directories; history: initial commit,
#     a zlib Release bump, then K one-spec commits);
#   - or only the tree given with --repo PATH (a work tree or a bare repository).
# For each tree it prints, as `bench/plan: ...` lines:
#   - cold plan time: fresh state directory, every spec read (generated tree:
#     root..HEAD~K, the hub commit), and the peak RSS of its largest process
#     (GNU time's %M: getrusage of the waited-for processes);
#   - the same reading done the Azure toolkit's way: five `rpmspec -q` calls per
#     spec (SRPM name, ExclusiveArch, ExcludeArch, --builtrpms, --buildrequires;
#     the toolkit's specreader, readSpecWorker) with the same macros, run on as many
#     parallel processes as there are cores (the toolkit runs 100 goroutines).
#     On large trees a random sample is timed and scaled linearly; the output
#     says so. The %azl_<spec>_version file the toolkit's versionsprocessor
#     makes (one more rpmspec call per spec) is written here with awk and not
#     counted, which favours the toolkit; and the ratio of the two;
#   - warm plan latency HEAD~1..HEAD on the same state directory: median of 7.
# Figures, not pass/fail; the targets are cold >= 3x faster, warm < 100 ms.
#
# usage: bench/plan.sh [--repo PATH] [--specs N] [--sample M] [--commits K] [--seed S]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
shipyard=$top/build/shipyard
gen=$top/build/bench/gen-distro

repo_arg=""
nspecs=3000
sample=300
commits=20
seed=1
usage() {
	echo "usage: bench/plan.sh [--repo PATH] [--specs N] [--sample M] [--commits K] [--seed S]" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--repo) [ $# -ge 2 ] || usage; repo_arg=$2; shift 2 ;;
	--specs) [ $# -ge 2 ] || usage; nspecs=$2; shift 2 ;;
	--sample) [ $# -ge 2 ] || usage; sample=$2; shift 2 ;;
	--commits) [ $# -ge 2 ] || usage; commits=$2; shift 2 ;;
	--seed) [ $# -ge 2 ] || usage; seed=$2; shift 2 ;;
	*) usage ;;
	esac
done

if [ ! -x "$shipyard" ]; then
	echo "bench/plan: $shipyard is missing; run make first" >&2
	exit 2
fi
tmp=$(mktemp -d /tmp/shipyard-bench-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
seq 1 100000 >"$tmp/random" # fixed bytes for shuf: the same sample every run
cores=$(nproc)

now() { date +%s.%N; }
calc() { awk "BEGIN { print $1 }"; }
say() { echo "bench/plan: $*"; }

# peak_kb FILE: the %M figure GNU time wrote, or empty.
peak_kb() { if [ -s "$1" ]; then tail -n 1 "$1"; fi; }

# run_plan STATE OUT ARGS...: runs shipyard plan, under GNU time when it is
# installed (peak RSS into OUT.rss); sets $elapsed (s). Exit 0 or 1 (a plan with
# cycles or unresolved dependencies) is fine, 2 is not.
run_plan() {
	st=$1 out=$2
	shift 2
	s=$(now)
	rc=0
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f %M -o "$out.rss" "$shipyard" plan "$@" --state "$st" >"$out" 2>"$out.err" || rc=$?
	else
		"$shipyard" plan "$@" --state "$st" >"$out" 2>"$out.err" || rc=$?
	fi
	e=$(now)
	elapsed=$(calc "$e - $s")
	if [ "$rc" -gt 1 ]; then
		echo "bench/plan: shipyard plan $* failed (exit $rc):" >&2
		tail -n 5 "$out.err" >&2
		exit 1
	fi
}

# export_tree REPO DIR: HEAD's spec trees as files, for rpmspec.
export_tree() {
	trees=$(git -C "$1" ls-tree -d --name-only HEAD SPECS SPECS-EXTENDED SPECS-SIGNED)
	mkdir -p "$2"
	# shellcheck disable=SC2086
	git -C "$1" archive --format=tar HEAD $trees | tar -x -C "$2"
}

# versions_file DIR OUT: %azl_<spec>_version/_release for every spec, as the
# toolkit's versionsprocessor writes them (spec basename, - as _), from the
# first Version:/Release: lines. Specs computing them with macros get none.
versions_file() {
	# shellcheck disable=SC2016
	find "$1" -mindepth 3 -maxdepth 3 -name '*.spec' -path '*/SPECS*' | sort |
		xargs awk '
		FNR == 1 { n = FILENAME; sub(/.*\//, "", n); sub(/\.spec$/, "", n); gsub(/[-.+]/, "_", n) }
		/^Version:/ && !v[FILENAME]++ && $2 !~ /%/ { print "%azl_" n "_version " $2 }
		/^Release:/ && !r[FILENAME]++ { x = $2; sub(/%.*/, "", x); if (x != "") print "%azl_" n "_release " x }
		' >"$2"
}

# rpmspec_way DIR NSAMPLE: the toolkit's five queries per spec over a random
# sample of NSAMPLE specs (all if fewer), on $cores parallel processes. Sets
# $base (s, for the sample), $nsampled, $nall and $failed (calls).
rpmspec_way() {
	dir=$1
	find "$dir" -mindepth 3 -maxdepth 3 -name '*.spec' -path '*/SPECS*' | sort >"$tmp/specs.all"
	nall=$(wc -l <"$tmp/specs.all")
	shuf -n "$2" --random-source="$tmp/random" "$tmp/specs.all" >"$tmp/specs.sample"
	nsampled=$(wc -l <"$tmp/specs.sample")
	versions_file "$dir" "$tmp/macros.releaseversions"
	: >"$tmp/load"
	for m in "$dir"/SPECS/*-rpm-macros/macros "$dir"/SPECS/*-rpm-macros/macros.* \
		"$tmp/macros.releaseversions"; do
		[ -f "$m" ] && printf '%s\n' "$m" >>"$tmp/load"
	done
	cat >"$tmp/query.sh" <<'EOF'
#!/bin/sh
# query.sh LOADLIST SPEC: the five rpmspec calls of the toolkit's specreader;
# prints how many failed.
loads=$1 spec=$2 failed=0
set --
while read -r m; do set -- "$@" --load "$m"; done <"$loads"
q() {
	rpmspec "$@" --define 'dist .azl3' --define 'azl 3' --define 'with_check 0' \
		--define "_sourcedir ${spec%/*}" -q --target x86_64 "$spec" >/dev/null 2>&1 ||
		failed=$((failed + 1))
}
q "$@" --srpm --qf '%{NAME}-%{VERSION}-%{RELEASE}.src.rpm'
q "$@" --srpm --qf '[%{EXCLUSIVEARCH} ]'
q "$@" --srpm --qf '[%{EXCLUDEARCH} ]'
q "$@" --builtrpms --qf 'rpm %{ARCH}/%{nvra}.rpm\n[provides %{PROVIDENEVRS}\n][requires %{REQUIRENEVRS}\n][arch %{ARCH}\n]'
q "$@" --buildrequires
echo "$failed"
EOF
	s=$(now)
	failed=$(xargs -P "$cores" -n 1 sh "$tmp/query.sh" "$tmp/load" <"$tmp/specs.sample" |
		awk '{ n += $1 } END { print n + 0 }')
	e=$(now)
	base=$(calc "$e - $s")
}

# median of the numbers on stdin
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# bench_tree LABEL REPO COLD_RUNS "COLD ARGS" "WARM ARGS" COLD_WHAT
bench_tree() {
	label=$1 repo=$2 runs=$3 cold_args=$4 warm_args=$5 cold_what=$6
	best="" rss=""
	i=0
	while [ "$i" -lt "$runs" ]; do
		rm -rf "$tmp/state"
		# shellcheck disable=SC2086
		run_plan "$tmp/state" "$tmp/cold.out" --repo "$repo" $cold_args
		if [ -z "$best" ] || [ "$(calc "$elapsed < $best")" = 1 ]; then best=$elapsed; fi
		r=$(peak_kb "$tmp/cold.out.rss")
		if [ -n "$r" ] && { [ -z "$rss" ] || [ "$r" -gt "$rss" ]; }; then rss=$r; fi
		i=$((i + 1))
	done
	summary=$(tail -n 1 "$tmp/cold.out")

	rm -rf "$tmp/export"
	export_tree "$repo" "$tmp/export"
	rpmspec_way "$tmp/export" "$sample"
	total=$(calc "$base * $nall / $nsampled")

	: >"$tmp/warm.times"
	i=0
	while [ "$i" -lt 7 ]; do
		# shellcheck disable=SC2086
		run_plan "$tmp/state" "$tmp/warm.out" --repo "$repo" $warm_args
		calc "$elapsed * 1000" >>"$tmp/warm.times"
		i=$((i + 1))
	done
	wmed=$(median <"$tmp/warm.times")
	wfirst=$(head -n 1 "$tmp/warm.times")
	wmin=$(sort -n "$tmp/warm.times" | head -n 1)
	wmax=$(sort -n "$tmp/warm.times" | tail -n 1)

	say "$label: $nall specs, $cores cores"
	if [ "$runs" -gt 1 ]; then what="best of $runs"; else what="one run"; fi
	say "$label: cold plan $cold_what (fresh state, $what): $(printf '%.2f' "$best") s; plan says: ${summary#shipyard/plan }"
	if [ -n "$rss" ]; then
		say "$label: cold plan peak memory: $(printf %.1f "$(calc "$rss / 1024")") MiB (max RSS of its largest process, GNU time %M)"
	else
		say "$label: cold plan peak memory: not measured (/usr/bin/time absent: Debian package time)"
	fi
	if [ "$nsampled" -lt "$nall" ]; then
		say "$label: toolkit way (5 x rpmspec -q per spec, $cores parallel): $(printf '%.2f' "$base") s for a random sample of $nsampled specs, scaled linearly to $nall specs: $(printf '%.1f' "$total") s ($failed of $((nsampled * 5)) sampled calls failed)"
	else
		say "$label: toolkit way (5 x rpmspec -q per spec, $cores parallel): $(printf '%.2f' "$total") s ($failed of $((nall * 5)) calls failed)"
	fi
	say "$label: cold speed-up over the toolkit way: $(printf '%.1f' "$(calc "$total / $best")")x (target >= 3x)"
	say "$label: warm plan $warm_args (same state, 7 runs): median $(printf '%.0f' "$wmed") ms, first $(printf '%.0f' "$wfirst") ms, min $(printf '%.0f' "$wmin") ms, max $(printf '%.0f' "$wmax") ms (target < 100 ms; $(printf '%.1f' "$(calc "$wmed / 100")")x the target)"
}

if [ -n "$repo_arg" ]; then
	repo=$(cd "$repo_arg" && pwd)
	# small trees: best of 3 cold runs, as for the sample
	n=$(git -C "$repo" ls-tree -r --name-only HEAD | grep -c '^SPECS[^/]*/[^/]*/[^/]*\.spec$' || true)
	runs=1
	[ "$n" -ge 500 ] || runs=3
	if git -C "$repo" rev-parse -q --verify 'HEAD~1^{commit}' >/dev/null; then
		bench_tree "$(basename "$repo")" "$repo" "$runs" "--from HEAD~1 --to HEAD" \
			"--from HEAD~1 --to HEAD" "HEAD~1..HEAD"
	else
		bench_tree "$(basename "$repo")" "$repo" "$runs" "--to HEAD" "--to HEAD" "of HEAD"
	fi
	exit 0
fi

# The real Azure Linux sample: one commit.
azl=${SHIPYARD_SHARED:-$top/../shared}/azl-sample
if [ -d "$azl/SPECS" ]; then
	cp -r "$azl" "$tmp/azl"
	(cd "$tmp/azl" && git -c user.name=b -c user.email=b@shipyard.invalid init -q . &&
		git add -A && git -c user.name=b -c user.email=b@shipyard.invalid commit -q -m sample)
	bench_tree azl-sample "$tmp/azl" 3 "--to HEAD" "--to HEAD" "of HEAD"
	rm -rf "$tmp/azl"
else
	say "azl-sample: skipped, $azl is absent"
fi

# The generated distribution.
make -C "$top" --no-print-directory build/bench/gen-distro >/dev/null 2>&1 || [ -x "$gen" ] || {
	echo "bench/plan: cannot build $gen" >&2
	exit 1
}
s=$(now)
"$gen" --specs "$nspecs" --seed "$seed" --commits "$commits" --out "$tmp/gen" >"$tmp/gen.out"
e=$(now)
say "generated: gen-distro --specs $nspecs --seed $seed --commits $commits: $(printf '%.1f' "$(calc "$e - $s")") s"
sed -n 's/^gen-distro: /bench\/plan: generated: /p' "$tmp/gen.out" | grep -v ' root \| head '
# A clone of a real distribution is packed; so is this one.
git -C "$tmp/gen" gc -q
root=$(git -C "$tmp/gen" rev-list --max-parents=0 HEAD)
bench_tree "gen$nspecs" "$tmp/gen" 1 "--from $root --to HEAD~$commits" \
	"--from HEAD~1 --to HEAD" "root..HEAD~$commits, the zlib Release bump,"
