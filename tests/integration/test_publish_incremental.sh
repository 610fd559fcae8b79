#!/bin/sh
# Incremental repodata through the real binary: a publication keeps the
# entries of the packages the channel already has and reads only the new
# ones (the output says how many of each), dnf reads the snapshot, its
# lists equal what createrepo_c makes of the same files from nothing,
# publish.sqlite in shipyard.conf adds the sqlite databases, and a previous
# repodata that is corrupt makes a full generation with a warning, never a
# broken snapshot.
. "$(dirname "$0")/lib.sh"
need_root
command -v createrepo_c >/dev/null || skip "needs createrepo_c"

repo=$T/distro
state=$T/state
minidistro "$repo"
published() { readlink -f "$state/repos/main/current"; }

# build N SPECS, publish N: output in $T/bN.out, $T/pN.out.
build() {
	sy "$T/b$1.out" build --repo "$repo" --state "$state" --specs "$2" --pipeline-id "b$1"
	[ "$rc" -eq 0 ] || { tail -n 30 "$T/b$1.out"; fail "building $2 failed"; }
}
publish() {
	sy "$T/p$1.out" publish --repo "$repo" --state "$state" --channel main
	[ "$rc" -eq 0 ] || { cat "$T/p$1.out"; fail "publication $1 failed"; }
}

# same_lists SNAPSHOT: each list of SNAPSHOT's repodata (and of its SRPMS/)
# holds what createrepo_c writes for the same files read from nothing.
same_lists() {
	full=$T/full
	rm -rf "$full"
	mkdir -p "$full"
	cp -al "$1/RPMS" "$1/SRPMS" "$full/"
	createrepo_c -q --no-database --excludes '*.src.rpm' "$full"
	createrepo_c -q --no-database "$full/SRPMS"
	for dir in "" /SRPMS; do
		for list in primary filelists other; do
			zcat "$1$dir"/repodata/*-$list.xml.gz | sort >"$T/inc.xml"
			zcat "$full$dir"/repodata/*-$list.xml.gz | sort >"$T/full.xml"
			cmp -s "$T/inc.xml" "$T/full.xml" || {
				diff "$T/inc.xml" "$T/full.xml" | head -n 20
				fail "$list of $1$dir differs from createrepo_c's"
			}
		done
	done
}

# The first publication reads every package.
build 1 libgreet
publish 1
expect_line "$T/p1.out" 'published main: .* \(([0-9]+) packages: [0-9]+ read, 0 kept their entries\)'

# A second spec, with sqlite databases asked for: libgreet's packages
# keep their entries, hello's are read.
printf '[publish]\n\tsqlite = yes\n' >>"$repo/shipyard.conf"
git_ -C "$repo" commit -qam "publish sqlite databases"
build 2 hello
publish 2
expect_line "$T/p2.out" 'published main: .* \(5 packages: 2 read, 3 kept their entries\)'
second=$(published)
repoquery "$second" >"$T/rq2"
for p in hello libgreet libgreet-devel; do
	grep -q "^$p-1.0-1\.mdst1\." "$T/rq2" || { cat "$T/rq2" "$T/dnf.err"; fail "dnf does not see $p"; }
done
same_lists "$second"
for db in primary_db filelists_db other_db; do
	grep -q "<data type=\"$db\">" "$second/repodata/repomd.xml" || fail "no $db in repomd.xml"
done

# Corrupt previous repodata (a list cut short; other.xml, which the
# planner's look at the channel does not read): read in full, with a
# warning, and the new snapshot is whole.
build 3 libbanner
other=$(ls "$second"/repodata/*-other.xml.gz)
truncate -s 100 "$other"
publish 3
expect_line "$T/p3.out" "warning: previous repodata not used, every package read: $other: checksum differs"
expect_line "$T/p3.out" 'published main: .* \(([0-9]+) packages: ([0-9]+) read, 0 kept their entries\)'
third=$(published)
repoquery "$third" >"$T/rq3"
for p in hello libgreet libbanner libbanner-devel; do
	grep -q "^$p-1.0-1\.mdst1\." "$T/rq3" || { cat "$T/rq3" "$T/dnf.err"; fail "dnf does not see $p"; }
done
same_lists "$third"
echo "ok"
