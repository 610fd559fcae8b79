#!/bin/sh
# The whole Azure Linux 3.0 tree (../shared/azl, a git bundle of 3,087 specs):
# `shipyard specs` reads every spec without an error, and for a fixed sample
# of them (every 19th spec of the three trees, plus every kind that once
# failed: recursion in other packages' macro files, their @@...@@
# templates, %include of the spec's own files, parse-time rpm queries, the
# per-spec version macros) its names, EVRs, binary packages and
# BuildRequires equal `rpmspec -q`'s in Azure Linux's environment, as the
# toolkit reads specs in its worker chroot: rpm's configuration plus the
# macros package's macros, rpmrc and Lua modules, the macro files of the
# worker root's other packages (perl-macros, pyproject-rpm-macros,
# ocaml-srpm-macros), the %azl_<spec>_version macros, %_sourcedir = the
# spec's directory, an rpmdb of the worker manifest's packages.
. "$(dirname "$0")/lib.sh"
need_root
bundle=${SHIPYARD_SHARED:-$TOP/../shared}/azl/azurelinux-3.0.bundle
[ -f "$bundle" ] || skip "$bundle is absent (../shared is only beside the checkout)"
for t in rpmspec jq; do
	command -v $t >/dev/null || skip "needs $t"
done

azl=$T/azl
git clone -q "$bundle" "$azl"

# 1. Every spec reads.
rc=0
"$SHIPYARD" specs --repo "$azl" --state "$T/state" --format json >"$T/specs.json" 2>"$T/specs.err" ||
	rc=$?
[ "$rc" -eq 0 ] || { tail -n 20 "$T/specs.err"; fail "shipyard specs exited $rc on the bundle"; }
nfiles=$(find "$azl"/SPECS "$azl"/SPECS-EXTENDED "$azl"/SPECS-SIGNED -mindepth 2 -maxdepth 2 \
	-name '*.spec' | wc -l)
nread=$(jq '.specs | length' "$T/specs.json")
nbroken=$(jq '[.specs[] | select(.error)] | length' "$T/specs.json")
[ "$nread" -eq "$nfiles" ] || fail "$nread specs read, $nfiles spec files"
[ "$nbroken" -eq 0 ] || fail "$nbroken specs do not parse"
echo "all $nread specs of the bundle parse"

# 2. The sample.
(cd "$azl" && find SPECS SPECS-EXTENDED SPECS-SIGNED -mindepth 2 -maxdepth 2 -name '*.spec' |
	LC_ALL=C sort) >"$T/all"
awk 'NR % 19 == 1' "$T/all" >"$T/sample"
for d in abseil-cpp brotli dnf5 fmt geos cereal SuperLU kf qttools php-pecl-apcu perl pesign \
	shim-unsigned-x64 shim-unsigned-aarch64 systemd mlx-bootctl kernel-signed; do
	grep "/$d/$d.spec\$" "$T/all" >>"$T/sample" || fail "no spec $d in the bundle"
done
(cd "$azl" && xargs grep -l 'azl_[a-z0-9_]*_\(version\|release\)' <"$T/all") | head -n 8 \
	>>"$T/sample"
LC_ALL=C sort -u -o "$T/sample" "$T/sample"
nsample=$(wc -l <"$T/sample")
[ "$nsample" -ge 150 ] || fail "only $nsample specs in the sample"

# The environment, made here from the tree as the toolkit's worker chroot has it.
mac=$azl/SPECS/azurelinux-rpm-macros
mkdir -p "$T/lua/azl/srpm" "$T/home"
cp "$mac/common.lua" "$T/lua/azl/"
for f in "$mac"/*.lua; do
	[ "${f##*/}" = common.lua ] || cp "$f" "$T/lua/azl/srpm/"
done
: >"$T/loads"
for f in "$mac/macros" "$mac"/macros.* "$azl/SPECS/perl/macros.perl" \
	"$azl/SPECS/pyproject-rpm-macros/macros.pyproject" \
	"$azl/SPECS/ocaml-srpm-macros/macros.ocaml-srpm"; do
	echo "$f" >>"$T/loads"
done
# The worker manifest's rpmdb: the one shipyard made, checked against the
# manifest here; rpm finds it as ~/.rpmdb.
db=$(ls -d "$T"/state/tmp/rpmdb-* | head -n 1)
ln -s "$db" "$T/home/.rpmdb"
want=$(sed -n 's/^kernel-headers-\([^-]*\)-.*/\1/p' \
	"$azl/toolkit/resources/manifests/package/pkggen_core_x86_64.txt")
got=$(HOME=$T/home rpm -q --qf '%{VERSION}' kernel-headers)
[ "$got" = "$want" ] || fail "manifest rpmdb: kernel-headers $got, manifest $want"

# rq SPEC ARGS...: rpmspec -q in that environment, in a file for the
# parallel readers below.
cat >"$T/rq.sh" <<RQ
rq() {
	spec=\$1
	shift
	set -- "\$@" --eval '%{lua: package.path = "$T/lua/?.lua;" .. package.path}'
	while read -r m; do set -- "\$@" --load "\$m"; done <"$T/loads"
	[ -s "$T/versions" ] && set -- "\$@" --load "$T/versions"
	HOME=$T/home rpmspec --rcfile "/usr/lib/rpm/rpmrc:$mac/rpmrc" "\$@" \\
		--define 'dist .azl3' --define 'azl 3' --define 'with_check 0' \\
		--define "_sourcedir $azl/\${spec%/*}" --target x86_64 -q "$azl/\$spec" \\
		2>/dev/null | sed '/^\$/d'
}
RQ
. "$T/rq.sh"

# The version macros the sample names, from rpmspec on the specs they name.
: >"$T/versions.new"
for name in $( (cd "$azl" && xargs grep -oh 'azl_[a-z0-9_]*_\(version\|release\)' <"$T/sample") |
	sed 's/^azl_//; s/_\(version\|release\)$//' | LC_ALL=C sort -u); do
	for spec in $(grep "/$(echo "$name" | sed 's/_/[-_]/g')\.spec\$" "$T/all"); do
		v=$(rq "$spec" --srpm --qf '%{VERSION} %{RELEASE}\n' | head -n 1)
		[ -n "$v" ] || continue
		echo "%azl_${name}_version ${v% *}" >>"$T/versions.new"
		echo "%azl_${name}_release $(echo "${v#* }" | sed 's/\.azl3.*//')" >>"$T/versions.new"
	done
done
mv "$T/versions.new" "$T/versions"

# 3. Compare, spec by spec: shipyard's side from one pass over its JSON,
# rpmspec's from as many parallel readers as cores.
mkdir -p "$T/s" "$T/r"
jq -r 'def op: if . == 0 then "" elif . == 2 then " <" elif . == 4 then " >"
	elif . == 8 then " =" elif . == 10 then " <=" elif . == 12 then " >=" else " ?" end;
	.specs[] | (.path | gsub("/"; "%")) as $f |
	("\($f).nevr\t\(.name) \(.epoch // "(none)") \(.version) \(.release)"),
	(.packages[]? | "\($f).rpms\t\(.name)-\(.evr).\(.arch)"),
	(.buildrequires[]? | "\($f).br\t\(.n)\(.f | op)\(if .v then " " + .v else "" end)")' \
	"$T/specs.json" | awk -F '\t' -v dir="$T/s" \
	'$1 != cur { if (cur != "") close(dir "/" cur); cur = $1 } { print $2 > (dir "/" $1) }'
cat >"$T/ref.sh" <<REF
# ref.sh SPEC: rpmspec's side of one spec, into $T/r.
. "$T/rq.sh"
f=\$(echo "\$1" | tr / %)
rq "\$1" --srpm --qf '%{NAME} %{EPOCH} %{VERSION} %{RELEASE}\n' >"$T/r/\$f.nevr"
rq "\$1" --builtrpms --qf '%{NAME}-%{EVR}.%{ARCH}\n' >"$T/r/\$f.rpms"
rq "\$1" --buildrequires >"$T/r/\$f.br"
REF
xargs -P "$(nproc)" -n 1 sh "$T/ref.sh" <"$T/sample"
bad=0
while read -r spec; do
	f=$(echo "$spec" | tr / %)
	for k in nevr rpms br; do
		if [ -f "$T/s/$f.$k" ]; then LC_ALL=C sort -u "$T/s/$f.$k"; fi >"$T/s.$k"
		LC_ALL=C sort -u "$T/r/$f.$k" >"$T/r.$k"
		if ! cmp -s "$T/s.$k" "$T/r.$k"; then
			echo "$spec: $k differs (< shipyard, > rpmspec):"
			diff "$T/s.$k" "$T/r.$k" | sed -n '2,6p'
			bad=$((bad + 1))
		fi
	done
	[ -s "$T/r.nevr" ] || { echo "$spec: rpmspec read nothing"; bad=$((bad + 1)); }
done <"$T/sample"
[ "$bad" -eq 0 ] || fail "$bad differences over $nsample specs"
echo "ok: $nsample specs equal rpmspec -q's NEVRs, binary packages and BuildRequires"
