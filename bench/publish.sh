#!/bin/sh
# Benchmark of incremental repodata (issue 13, "Checked by": make bench):
# publishing 1 new RPM into a 3,000-package repository. shipyard's path
# (build/bench/publish: repo_publish_snapshot_with, as a pipeline publishes:
# a new snapshot of hard links, the 3,000 kept packages keeping their
# entries, the new one read, repodata written and fsynced, current
# switched) against `createrepo_c --update` on a tree of the same files with
# the 3,000-package repodata, each the median of 5 runs in this run. Also,
# for reference, both with every package read (shipyard's full generation,
# createrepo_c without --update), and the same with sqlite databases
# (publish.sqlite = yes; createrepo_c writes them unless --no-database).
#
# The packages (noarch, 2 files, a Requires, a Provides and a changelog
# each, about 8 KiB) come from one rpmbuild of a spec with 3,000
# subpackages, about a minute, kept under build/bench-scratch/publish/ for
# the next run. Prints `bench/publish: ...` lines; the goal is a ratio >= 5x.
#
# usage: bench/publish.sh [--packages N] [--runs R]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
tool=$top/build/bench/publish
say() { echo "bench/publish: $*"; }
n=3000
runs=5
while [ $# -gt 0 ]; do
	case $1 in
	--packages) n=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	*) echo "usage: bench/publish.sh [--packages N] [--runs R]" >&2; exit 2 ;;
	esac
done
for c in rpmbuild createrepo_c; do
	command -v "$c" >/dev/null || { say "skipped: needs $c"; exit 0; }
done
[ -x "$tool" ] || { echo "bench/publish: build first: make build/bench/publish" >&2; exit 1; }

scratch=$top/build/bench-scratch/publish
# The generator's version is in the name: a change of the spec below makes
# new packages instead of reusing old ones.
rpms=$scratch/rpms-$n-v1
now() { date +%s.%N; }
calc() { awk "BEGIN { print $1 }"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# spec N: a package with N noarch subpackages p0000..., each requiring the
# next and providing a capability of its own.
spec() {
	printf '%%global __os_install_post %%{nil}\n%%global _build_id_links none\n'
	printf 'Name: bulk\nVersion: 1.0\nRelease: 1\nSummary: bulk\nLicense: MIT\n'
	printf 'BuildArch: noarch\nAutoReqProv: no\n%%description\nbulk\n'
	awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf \
		"%%package -n p%04d\nSummary: package %d\nRequires: p%04d\nProvides: cap%d = 1.0\n" \
		"%%description -n p%04d\npackage %d of the bench\n%%files -n p%04d\n/usr/share/bulk/p%04d\n", \
		i, i, (i + 1) % n, i, i, i, i, i }'
	printf '%%install\nfor i in $(seq -f %%04g 0 %d); do\n' "$(($1 - 1))"
	printf '\tmkdir -p %%{buildroot}/usr/share/bulk/p$i\n'
	printf '\techo $i >%%{buildroot}/usr/share/bulk/p$i/a; echo $i >%%{buildroot}/usr/share/bulk/p$i/b\ndone\n'
	printf '%%changelog\n* Mon Jan 01 2024 bench <bench@shipyard.invalid> - 1.0-1\n- first\n'
}

if [ ! -f "$rpms/done" ]; then
	rm -rf "$rpms"
	mkdir -p "$rpms"
	spec "$n" >"$rpms/bulk.spec"
	cat >"$rpms/new.spec" <<-'EOF'
	%global _build_id_links none
	Name: newpkg
	Version: 1.0
	Release: 1
	Summary: the new package
	License: MIT
	BuildArch: noarch
	AutoReqProv: no
	Requires: p0000
	%description
	The package published into the repository.
	%install
	mkdir -p %{buildroot}/usr/share/newpkg
	echo new >%{buildroot}/usr/share/newpkg/a
	echo new >%{buildroot}/usr/share/newpkg/b
	%files
	/usr/share/newpkg
	%changelog
	* Mon Jan 01 2024 bench <bench@shipyard.invalid> - 1.0-1
	- first
	EOF
	# rpmbuild classifies each package's files with libmagic, loading
	# its whole database per package: a one-rule database makes that
	# instant (the files are text either way). Its OpenMP threads spin
	# while they wait: passive, they leave the CPU to the work.
	magic=
	if command -v file >/dev/null; then
		printf '0\tstring\tBULK\tbulk data\n' >"$rpms/bench.magic"
		(cd "$rpms" && file -C -m bench.magic) && magic=$rpms/bench.magic.mgc
	fi
	s=$(now)
	for sp in bulk new; do
		env ${magic:+MAGIC=$magic} OMP_WAIT_POLICY=passive rpmbuild -bb --quiet \
			--define "_topdir $rpms/$sp" "$rpms/$sp.spec" >"$rpms/$sp.log" 2>&1 ||
			{ tail -n 20 "$rpms/$sp.log"; exit 1; }
	done
	say "made $n packages with rpmbuild in $(printf '%.1f' "$(calc "$(now) - $s")") s (kept for the next run)"
	touch "$rpms/done"
fi
base=$rpms/bulk/RPMS/noarch
new=$(ls "$rpms"/new/RPMS/noarch/*.rpm)
kib=$(du -sk "$base" | cut -f1)

# shipyard: lines "full S", "incremental S" (one per run), "read R",
# "reused U"; field OUTPUT NAME gives the median of NAME's values.
field() { echo "$1" | awk -v k="$2" '$1 == k { print $2 }' | median; }
out=$("$tool" --rpms "$base" --new "$new" --scratch "$scratch/run" --runs "$runs")
sq=$("$tool" --rpms "$base" --new "$new" --scratch "$scratch/run" --runs "$runs" --sqlite)
sy_inc=$(field "$out" incremental)
sy_full=$(field "$out" full)
sy_inc_db=$(field "$sq" incremental)
sy_full_db=$(field "$sq" full)
[ "$(field "$out" read)" = 1 ] && [ "$(field "$out" reused)" = "$n" ] ||
	{ say "unexpected: $out"; exit 1; }

# createrepo_c on a tree of the same files: crc OPTIONS... prints the
# median seconds of --update from the N-package repodata, after adding
# the new package, and the seconds of the first, full generation.
tree=$scratch/tree
crc() {
	rm -rf "$tree"
	mkdir -p "$tree/RPMS/noarch"
	ln "$base"/*.rpm "$tree/RPMS/noarch/"
	s=$(now)
	createrepo_c -q "$@" "$tree"
	full=$(calc "$(now) - $s")
	cp -a "$tree/repodata" "$scratch/repodata.base"
	ln "$new" "$tree/RPMS/noarch/"
	update=$(for i in $(seq "$runs"); do
		rm -rf "$tree/repodata"
		cp -a "$scratch/repodata.base" "$tree/repodata"
		s=$(now)
		createrepo_c -q --update "$@" "$tree"
		calc "$(now) - $s"
	done | median)
	rm -rf "$tree" "$scratch/repodata.base"
	echo "$update $full"
}
set -- $(crc --no-database)
cr_nodb=$1 cr_nodb_full=$2
set -- $(crc)
cr_db=$1 cr_db_full=$2

ms() { printf '%.0f ms' "$(calc "$1 * 1000")"; }
ratio() { printf '%.1fx' "$(calc "$1 / $2")"; }
say "$n packages ($((kib / n)) KiB each) + 1 new, median of $runs runs"
say "1 new RPM, XML repodata: shipyard $(ms "$sy_inc") (new snapshot, 1 read, $n kept) vs createrepo_c --update --no-database $(ms "$cr_nodb"): $(ratio "$cr_nodb" "$sy_inc")"
say "1 new RPM, with sqlite: shipyard $(ms "$sy_inc_db") (publish.sqlite) vs createrepo_c --update $(ms "$cr_db") (its defaults): $(ratio "$cr_db" "$sy_inc_db")"
say "shipyard (XML) vs createrepo_c --update (its defaults): $(ratio "$cr_db" "$sy_inc") (goal >= 5x)"
say "full generation, every package read: shipyard $(ms "$sy_full") (XML), $(ms "$sy_full_db") (sqlite); createrepo_c $(ms "$cr_nodb_full") (--no-database), $(ms "$cr_db_full")"
