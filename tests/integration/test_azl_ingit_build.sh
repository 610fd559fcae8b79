#!/bin/sh
# Real input, built (issue 12, "Checked by"): the specs of the Azure Linux
# 3.0 bundle (the shared input's azl/azurelinux-3.0.bundle) whose every
# Source and Patch is a file of their directory in git are built by
# `shipyard run` in the bootstrap root of config/worker.conf, with Azure
# Linux's macro context (its macros package, the worker manifest's macro
# files). Each either builds and is published, or fails or is blocked with
# one line naming its spec and what is missing (BuildRequires no root
# provides, a command the root lacks, the spec it needs). Prints the table.
#
# The run is restricted to those specs by a commit on top of the clone that
# removes every other spec (and the image configs, whose packages are not
# built here): reading all 3,087 specs cold takes minutes, these a few
# seconds, and a BuildRequires on a spec whose sources are not in git shows
# up as unresolvable, naming the capability, instead of as a failed fetch.
# Files the bundle altered (host names with ".invalid" added, per its
# README) are restored where the restored file is what signatures.json
# signs, so that a spec fails for its own reasons, not the bundle's.
. "$(dirname "$0")/lib.sh"
need_root
bundle=${SHIPYARD_SHARED:-$TOP/../shared}/azl/azurelinux-3.0.bundle
[ -f "$bundle" ] || skip "$bundle is absent (the shared input lies beside the checkout)"
for t in jq dnf sha256sum; do
	command -v $t >/dev/null || skip "needs $t"
done
start=$(date +%s)
# took WHAT: prints how long the test has run, for the 4-minute budget.
took() { echo "$1: $(($(date +%s) - start)) s"; }

azl=$T/azl
# No work tree: the commits are made with git's plumbing, which takes
# seconds where checking out and removing 3,000 directories takes a minute.
git clone -q --no-checkout "$bundle" "$azl"
# tree: the head's files, "<mode> <type> <object>\t<path>" (git ls-tree).
tree() { git -C "$azl" -c core.quotePath=false ls-tree -r --full-tree HEAD; }
# extract DIR PATHSPEC...: those files of the head, under DIR.
extract() {
	d=$1
	shift
	mkdir -p "$d"
	git -C "$azl" archive HEAD -- "$@" | tar -x -C "$d"
}

# 1. Candidates, without reading a spec: spec files whose signatures.json
# names only files of their directory in git (or that have none).
tree | cut -f2 | grep -E '^SPECS[^/]*/' >"$T/files"
grep -E '^SPECS[^/]*/[^/]+/[^/]+\.spec$' "$T/files" | LC_ALL=C sort >"$T/allspecs"
extract "$T/sigs" 'SPECS*/*/*.signatures.json'
(cd "$T/sigs" && grep '\.signatures\.json$' "$T/files" | xargs jq -r \
	'input_filename as $f | (.Signatures // .signatures // {}) | keys[] | "\($f)\t\(.)"') \
	>"$T/signed"
awk -F '\t' 'NR == FNR { have[$0] = 1; next }
	{ d = $1; sub(/\/[^\/]*$/, "", d); if (!((d "/" $2) in have)) print $1 }' \
	"$T/files" "$T/signed" | sed 's/\.signatures\.json$/.spec/' | LC_ALL=C sort -u >"$T/unsigned"
LC_ALL=C comm -23 "$T/allspecs" "$T/unsigned" >"$T/candidates"

# restrict LIST MESSAGE: commits the head without the specs not in LIST
# (sorted), their signatures, the spec directories left without a spec and
# the image configs, with the files of $T/restored (index lines) replaced.
restrict() {
	LC_ALL=C comm -23 "$T/allspecs" "$1" | sed 's/\.spec$//' >"$T/gone"
	sed 's|/[^/]*$||' "$1" | LC_ALL=C sort -u >"$T/keep"
	tree | awk -F '\t' -v gone="$T/gone" -v keep="$T/keep" -v restored="$T/restored" '
		BEGIN {
			while ((getline l < gone) > 0) { drop[l ".spec"] = 1; drop[l ".signatures.json"] = 1 }
			while ((getline l < keep) > 0) kept[l] = 1
			while ((getline l < restored) > 0) { split(l, r, "\t"); new[r[2]] = l }
		}
		$2 ~ /^toolkit\/imageconfigs\// { next }
		$2 ~ /^SPECS[^\/]*\// {
			d = $2; sub(/^[^\/]*\//, "", d); sub(/\/.*/, "", d)
			split($2, p, "/")
			if (!((p[1] "/" d) in kept) || ($2 in drop)) next
		}
		{ print ($2 in new) ? new[$2] : $0 }' >"$T/index"
	rm -f "$T/git-index"
	GIT_INDEX_FILE=$T/git-index git -C "$azl" update-index --add --index-info <"$T/index"
	t=$(GIT_INDEX_FILE=$T/git-index git -C "$azl" write-tree)
	c=$(git_ -C "$azl" commit-tree "$t" -p HEAD -m "$2")
	git -C "$azl" update-ref "refs/heads/$(git -C "$azl" symbolic-ref --short HEAD)" "$c"
	cp "$1" "$T/allspecs"
	tree | cut -f2 | grep -E '^SPECS[^/]*/' >"$T/files"
}

# The bundle's own edits, undone where the signature proves it.
extract "$T/kept" $(sed 's|/[^/]*$||' "$T/candidates" | LC_ALL=C sort -u)
: >"$T/restored"
for sig in $(cd "$T/kept" && find . -name '*.signatures.json' | sed 's|^\./||'); do
	d=${sig%/*}
	jq -r '(.Signatures // .signatures // {}) | to_entries[] | "\(.value) \(.key)"' \
		"$T/kept/$sig" | while read -r sum f; do
		p=$T/kept/$d/$f
		[ -f "$p" ] && [ "$(sha256sum <"$p" | cut -c1-64)" != "$sum" ] || continue
		[ "$(sed 's/\.invalid//g' "$p" | sha256sum | cut -c1-64)" = "$sum" ] || continue
		oid=$(sed 's/\.invalid//g' "$p" | git -C "$azl" hash-object -w --stdin)
		mode=$(tree | awk -F '\t' -v f="$d/$f" '$2 == f { split($1, m, " "); print m[1] }')
		printf '%s blob %s\t%s\n' "$mode" "$oid" "$d/$f" >>"$T/restored"
		echo "restored $d/$f as signed (the bundle added .invalid to its host names)"
	done
done
restrict "$T/candidates" "only the specs whose sources may all be in git"
: >"$T/restored"
took "clone and candidates"

# 2. The specs whose every Source and Patch is a file of their directory.
syj "$T/specs.json" specs --repo "$azl" --state "$T/state" --format json
[ "$rc" -eq 0 ] || { cat "$T/specs.json.err"; fail "shipyard specs exited $rc"; }
jq -r '.specs[] | (.path | sub("/[^/]*$"; "")) as $d |
	"\(.path)\t\([(.sources + .patches)[] | $d + "/" + (split("/") | last)] | join(" "))"' \
	"$T/specs.json" | awk -F '\t' 'NR == FNR { have[$0] = 1; next }
	{ n = split($2, f, " "); ok = 1; for (i = 1; i <= n; i++) if (!(f[i] in have)) ok = 0;
	  if (ok) print $1 }' "$T/files" - | LC_ALL=C sort >"$T/ingit"
n=$(wc -l <"$T/ingit")
echo "$n specs of the bundle have every Source and Patch in git" \
	"($(wc -l <"$T/candidates") candidates by their signatures)"
# The ones the issue names; libsepol, which it names too, is not one: its
# signatures.json signs libsepol-3.6.tar.gz, which is not in git.
for s in azurelinux-release azurelinux-rpm-macros azurelinux-repos ca-certificates \
	kernel-srpm-macros pyproject-rpm-macros python-rpm-generators; do
	grep -q "/$s\.spec\$" "$T/ingit" || fail "$s is not among them"
done
! grep -q '/libsepol\.spec$' "$T/ingit" || fail "libsepol's sources are in git now: recount"
restrict "$T/ingit" "only the specs whose sources are all in git"
took "specs read"

# 3. The run, in the bootstrap root.
sy "$T/run.out" run --repo "$azl" --state "$T/state" \
	--worker-manifest "$TOP/config/worker.conf"
[ "$rc" -le 1 ] || { tail -n 30 "$T/run.out"; fail "shipyard run exited $rc"; }
expect_line "$T/run.out" '^shipyard/plan '
expect_line "$T/run.out" '^shipyard/build '
took "shipyard run"
summary=$(ls "$T"/state/pipelines/*/build-summary.json)
[ "$(echo "$summary" | wc -l)" -eq 1 ] || fail "not one build summary: $summary"

# 4. The table: one row per spec, a result and the reason.
jq -r '.jobs[] | [.path, .spec, .state, (.reason // "")] | @tsv' "$summary" |
	LC_ALL=C sort >"$T/rows"
echo "spec                           result   reason"
awk -F '\t' '{ r = $4; p = $1 ": "; if (index(r, p) == 1) r = substr(r, length(p) + 1)
	printf "%-30s %-8s %s\n", $2, $3, r }' "$T/rows"
cut -f1 "$T/rows" | diff - "$T/ingit" >"$T/diff" ||
	{ cat "$T/diff"; fail "the table's specs are not the $n specs (< table, > specs)"; }
[ "$(jq '.jobs | length' "$summary")" -eq "$n" ] || fail "not $n jobs in $summary"
# Each failure and block: one line, its spec's path, what went wrong; a
# block names a spec of the table that did not build.
jq -e '[.jobs[] | select(.reason) | .reason | test("\n")] | any | not' "$summary" \
	>/dev/null || fail "a reason spans lines"
while IFS='	' read -r path spec state reason; do
	why=${reason#"$path: "}
	case $state in
	built | reused) [ -z "$reason" ] || fail "$spec: $state with a reason: $reason" ;;
	failed)
		[ "$why" != "$reason" ] || fail "$spec: reason does not name $path: $reason"
		case $why in
		"unresolvable BuildRequires: "?*)
			# All of them, as the plan lists them.
			echo "${why#unresolvable BuildRequires: }" | sed 's/, /\n/g' | LC_ALL=C sort >"$T/br"
			jq -r --arg s "$spec" '.unresolved[] | select(.spec == $s) | .dependency' \
				"${summary%/*}/plan.json" | LC_ALL=C sort | diff - "$T/br" >/dev/null ||
				fail "$spec: the reason does not name what the plan found unresolved: $why"
			;;
		*", see log" | *rpm-tmp.*) fail "$spec: reason does not say what failed: $why" ;;
		"rpmbuild failed with status "*": "?*) ;;
		*) fail "$spec: unexpected reason: $why" ;;
		esac
		;;
	blocked)
		by=${why#blocked by }
		[ "$by" != "$why" ] || fail "$spec: reason names no blocker: $reason"
		awk -F '\t' -v b="$by" '$2 == b && ($3 == "failed" || $3 == "blocked") { f = 1 }
			END { exit !f }' "$T/rows" || fail "$spec: blocked by $by, which is not a failure"
		;;
	*) fail "$spec: result $state" ;;
	esac
done <"$T/rows"

# 5. What built is published, as dnf sees it; what did not is not.
snap=$(readlink -f "$T"/state/repos/*/current)
[ -d "$snap" ] || fail "nothing published"
repoquery "$snap" >"$T/rq"
[ -s "$T/rq" ] || { cat "$T/dnf.err"; fail "dnf repoquery listed nothing"; }
jq -r '.jobs[] | select(.state == "built") | .rpms[]' "$summary" | grep -v '\.src\.rpm$' |
	while read -r rpm; do
		nevra=$(rpm -qp --qf '%{name}-%{evr}.%{arch}' "$rpm" 2>/dev/null)
		grep -qx "$nevra" "$T/rq" || fail "$nevra built but not published"
	done
jq -r '.specs[] | .name as $s | .packages[] | "\($s)\t\(.name)"' "$T/specs.json" >"$T/pkgs"
awk -F '\t' '$3 != "built" { print $2 }' "$T/rows" | while read -r spec; do
	awk -F '\t' -v s="$spec" '$1 == s { print $2 }' "$T/pkgs" | while read -r pkg; do
		! grep -q "^$pkg-[0-9]" "$T/rq" || fail "$pkg published although $spec did not build"
	done
done
# At least the packages that only install files and have no %prep
# build (a %prep runs the macros' package-note hook, which needs the macros
# package's scripts and python3, neither in the bootstrap root): the
# repository definitions, the sysinfo collector, qt's macro file.
for spec in azurelinux-repos azurelinux-sysinfo qt-rpm-macros; do
	awk -F '\t' -v s="$spec" '$2 == s && $3 == "built" { f = 1 } END { exit !f }' "$T/rows" ||
		fail "$spec did not build"
	grep -q "^$spec-[0-9]" "$T/rq" || fail "$spec is not published"
done

counts=$(awk -F '\t' '{ c[$3]++ } END { printf "%d built, %d failed, %d blocked",
	c["built"], c["failed"], c["blocked"] }' "$T/rows")
echo "ok: $n specs with their sources in git: $counts, in $(($(date +%s) - start)) s"
