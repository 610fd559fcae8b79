#!/bin/sh
# Benchmark: planning the real Azure Linux sample (../shared/azl-sample, 43
# specs) with `shipyard plan` (librpm in forked children, one per core),
# against the Azure Linux toolkit's way of reading specs: five rpmspec
# processes per spec (SRPM name, ExclusiveArch, ExcludeArch, --builtrpms,
# --buildrequires; specreader §1.2), run sequentially here with the same
# macros. Prints seconds for both and the ratio; no pass/fail.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
sample=${SHIPYARD_SHARED:-$top/../shared}/azl-sample
if [ ! -d "$sample/SPECS" ]; then
	echo "bench/plan: skipped, $sample is absent"
	exit 0
fi
tmp=$(mktemp -d /tmp/shipyard-bench-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cp -r "$sample" "$tmp/repo"
(cd "$tmp/repo" && git -c user.name=b -c user.email=b@shipyard.invalid init -q . &&
	git add -A && git -c user.name=b -c user.email=b@shipyard.invalid commit -q -m sample)

now() { date +%s.%N; }
calc() { awk "BEGIN { print $1 }"; }

# shipyard: cold (fresh state directory each time), best of 3.
best=""
for i in 1 2 3; do
	rm -rf "$tmp/state"
	s=$(now)
	"$top/build/shipyard" plan --repo "$tmp/repo" --state "$tmp/state" >/dev/null
	e=$(now)
	t=$(calc "$e - $s")
	if [ -z "$best" ] || [ "$(calc "$t < $best")" = 1 ]; then best=$t; fi
done

# Baseline: five rpmspec calls per spec.
macros=$tmp/repo/SPECS/azurelinux-rpm-macros
load=""
for f in "$macros"/macros "$macros"/macros.*; do load="$load --load $f"; done
s=$(now)
failed=0
for spec in "$tmp"/repo/SPECS/*/*.spec; do
	q() {
		# shellcheck disable=SC2086
		rpmspec $load --define 'dist .azl3' --define 'azl 3' --define 'with_check 0' \
			--define "_sourcedir $(dirname "$spec")" -q --target x86_64 "$@" "$spec" \
			>/dev/null 2>&1 || failed=$((failed + 1))
	}
	q --srpm --qf '%{NAME}-%{VERSION}-%{RELEASE}.src.rpm'
	q --srpm --qf '[%{EXCLUSIVEARCH} ]'
	q --srpm --qf '[%{EXCLUDEARCH} ]'
	q --builtrpms --qf 'rpm %{ARCH}/%{nvra}.rpm\n[provides %{PROVIDENEVRS}\n][requires %{REQUIRENEVRS}\n]'
	q --buildrequires
done
e=$(now)
base=$(calc "$e - $s")
nspecs=$(ls "$tmp"/repo/SPECS/*/*.spec | wc -l)
echo "bench/plan: $nspecs real specs, $(nproc) cores"
printf 'bench/plan: shipyard plan (cold, best of 3): %.3f s\n' "$best"
printf 'bench/plan: toolkit-style 5 x rpmspec per spec: %.3f s (%d calls failed without the chroot)\n' "$base" "$failed"
printf 'bench/plan: speed-up %.1fx\n' "$(calc "$base / $best")"
