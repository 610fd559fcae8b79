# The invariants the crash torture checks once the service has finished
# everything and stopped (sourced by tests/torture/torture.sh, which sets T,
# state, db, base, work, main_head, seed and the files under $T it names:
# deliveries, payloads/, pr/, calls.jsonl). Each broken invariant prints one
# line "FAIL <invariant>: <commit, context or delivery>: <evidence>" and
# counts in $violations; check_all runs them all, so that one run shows every
# broken invariant, not only the first.

violations=0

# violation INVARIANT SUBJECT EVIDENCE
violation() {
	violations=$((violations + 1))
	echo "FAIL $1: $2: $3"
}

# pipeline_of DELIVERY: "id state ref" of each pipeline the delivery queued.
pipeline_of() {
	sql "SELECT p.id, p.state, p.ref FROM pipelines p JOIN events e ON p.event = e.id
		WHERE e.delivery = '$1' ORDER BY p.id"
}

# Every accepted delivery (answered 202, or after a cut answered 202 or
# "duplicate" when delivered again) queued exactly one pipeline, which ended
# success or was superseded by a newer pipeline of its ref; a closed pull
# request is recorded as one cancelled pipeline.
check_deliveries() {
	for d in $(cut -d' ' -f1 "$T/deliveries" | sort -u); do
		what=$(cat "$T/payloads/$d.what")
		accepted=$(awk -v d="$d" '$1 == d && ($3 == "first" && $2 == "202" ||
			$3 == "again" && ($2 == "202" || $2 == "200")) { print "yes"; exit }' "$T/deliveries")
		[ "$accepted" = yes ] || continue
		pipeline_of "$d" >"$T/of"
		n=$(wc -l <"$T/of")
		if [ "$n" -ne 1 ]; then
			violation "one-pipeline-per-delivery" "$d ($what)" "$n pipelines: $(tr '\n' ';' <"$T/of")"
			continue
		fi
		read -r id st ref <"$T/of"
		case $what in
		"pr "*" closed "*)
			[ "$st" = cancelled ] ||
				violation "delivery-built" "$d ($what)" "pipeline $id is $st, not cancelled" ;;
		*)
			if [ "$st" = superseded ]; then
				newer=$(sql "SELECT count(*) FROM pipelines WHERE ref = '$ref' AND id > $id")
				[ "$newer" -gt 0 ] ||
					violation "delivery-built" "$d ($what)" "pipeline $id superseded, but no newer pipeline of $ref"
			elif [ "$st" != success ]; then
				violation "delivery-built" "$d ($what)" "pipeline $id ended $st: $(sql "SELECT summary FROM pipelines WHERE id = $id")"
			fi ;;
		esac
	done
}

# No pipeline is left queued or running, none failed; a scheduled pipeline
# ended success (with its dated release on disk) or was superseded by a newer
# schedule.
check_pipelines() {
	sql "SELECT id, state, trigger, ref, head, ifnull(release, '-') FROM pipelines ORDER BY id" >"$T/pipelines"
	while read -r id st trigger ref head release; do
		case $st in
		queued | running)
			violation "everything-ends" "pipeline $id ($trigger $ref ${head:-})" "left $st" ;;
		failure | error)
			violation "delivery-built" "pipeline $id ($trigger $ref $head)" \
				"ended $st: $(sql "SELECT summary FROM pipelines WHERE id = $id")" ;;
		esac
		[ "$trigger" = schedule ] || continue
		if [ "$st" = success ]; then
			rel=$state/releases/mini/$release
			if [ "$(jq -r .commit "$rel/release.json" 2>/dev/null)" != "$head" ]; then
				violation "schedule-released" "pipeline $id ($release)" "no release.json naming $head in $rel"
			elif [ ! -f "$rel/repo/repodata/repomd.xml" ]; then
				violation "schedule-released" "pipeline $id ($release)" "$rel/repo is no repository"
			else
				check_repodata "$rel/repo/" "release $release"
			fi
		elif [ "$st" = superseded ]; then
			[ "$(sql "SELECT count(*) FROM pipelines WHERE ref = '$ref' AND id > $id")" -gt 0 ] ||
				violation "delivery-built" "pipeline $id ($ref)" "superseded, but no newer pipeline of $ref"
		fi
	done <"$T/pipelines"
}

# The commits whose statuses must end success: the last head of main and of
# each open pull request.
live_heads() {
	echo "$main_head"
	for f in "$T"/pr/*.state; do
		[ -e "$f" ] || continue
		if [ "$(cat "$f")" = open ]; then
			tail -n 1 "${f%.state}.heads"
		fi
	done
}

# For each commit and context the forge accepted statuses for: exactly one
# final (success, failure, error), never only pending; success for the live
# heads, which have all three contexts; for the others success or "error"
# saying "superseded by <commit>" or "pull request closed". Every call was
# valid for GitHub's schema and carried the token. (Calls without a commit
# and a context, the pull requests' comments, are no statuses.)
check_statuses() {
	jq -s -r '[.[] | select(.status < 300 and .params.sha != null and .body.context != null)]
		| group_by([.params.sha, .body.context]) | .[]
		| ([.[] | select(.body.state | IN("success", "failure", "error"))]) as $f
		| [.[0].params.sha, .[0].body.context, ($f | length),
		   ($f | map([.body.state, .body.description]) | unique | length),
		   ($f[0].body.state // "-"), ($f[0].body.description // "-"),
		   ([.[].body.state] | join(","))] | @tsv' \
		"$T/calls.jsonl" >"$T/contexts"
	live_heads >"$T/live"
	tab=$(printf '\t')
	while IFS=$tab read -r sha ctx nfinal ndistinct final desc all; do
		subject="$sha $ctx"
		if [ "$nfinal" -eq 0 ]; then
			violation "one-final-status" "$subject" "only $all"
			continue
		fi
		if [ "$nfinal" -gt 1 ]; then
			# The outbox sends at least once: a final the forge accepted
			# just before a kill -9, not yet recorded, is sent again
			# after the restart, the same entry with the same text.
			# Two entries sent, or two different finals, are two finals.
			entries=$(sql "SELECT count(*) FROM outbox WHERE sha = '$sha' AND context = '$ctx'
				AND status = 'sent' AND state NOT IN ('pending', 'running')")
			if [ "$ndistinct" -eq 1 ] && [ "$entries" -eq 1 ]; then
				echo "note: $subject: the same final ($final) accepted $nfinal times (sent again after a crash)"
			else
				violation "one-final-status" "$subject" "$nfinal finals from $entries outbox entries: $all"
			fi
		fi
		if grep -qx "$sha" "$T/live"; then
			[ "$final" = success ] ||
				violation "right-final-status" "$subject" "the live head ended $final ($desc)"
			continue
		fi
		case $final in
		success) ;;
		error)
			case $desc in
			"superseded by "[0-9a-f]* | "pull request closed") ;;
			*) violation "right-final-status" "$subject" "error, but not superseded: $desc" ;;
			esac ;;
		*) violation "right-final-status" "$subject" "$final ($desc)" ;;
		esac
	done <"$T/contexts"
	# The live heads and every commit a push or pull request pipeline built:
	# all three contexts, success. (A scheduled pipeline builds a commit that
	# a push pipeline may have ended already: the forge keeps the first
	# final of each context, which may be "superseded".)
	{ cat "$T/live"; sql "SELECT DISTINCT head FROM pipelines WHERE state = 'success'
		AND trigger IN ('push', 'pull_request')"; } | sort -u >"$T/built"
	while read -r sha; do
		for ctx in shipyard/plan shipyard/build shipyard/image/minimal-container; do
			got=$(awk -F "$tab" -v s="$sha" -v c="$ctx" '$1 == s && $2 == c { print $5 }' "$T/contexts")
			[ "$got" = success ] || violation "right-final-status" "$sha $ctx" \
				"a successful or live head has ${got:-no} final on the forge"
		done
	done <"$T/built"
	bad=$(jq -s '[.[] | select(.valid != true or .token_matched != true)] | length' "$T/calls.jsonl")
	[ "$bad" -eq 0 ] || violation "valid-status-calls" "forge" "$bad status calls invalid or without the token"
}

# Nothing of a build outlives it: no mount under the state directory, no
# `shipyard` or rpmbuild process, no build root in <state>/builds, no lock
# under the state directory still held.
check_leaks() {
	awk -v s="$state/" 'index($5, s) == 1 { print $5 }' /proc/self/mountinfo >"$T/mounts"
	[ ! -s "$T/mounts" ] || violation "no-leaked-mount" "$state" "$(tr '\n' ' ' <"$T/mounts")"
	if pgrep -a -f '(^|/)shipyard( |$)|rpmbuild' >"$T/procs"; then
		violation "no-leaked-process" "$state" "$(tr '\n' ';' <"$T/procs")"
	fi
	if [ -d "$state/builds" ]; then
		find "$state/builds" -mindepth 1 -maxdepth 1 ! -name '*.lock' >"$T/roots"
		[ ! -s "$T/roots" ] || violation "no-leaked-build-root" "$state/builds" "$(tr '\n' ' ' <"$T/roots")"
	fi
	find "$state" \( -name '*.lock' -o -name lock \) -type f >"$T/locks"
	while read -r lock; do
		flock -n "$lock" true || violation "no-held-lock" "$lock" "flock -n fails: still held"
	done <"$T/locks"
}

# unpack FILE: FILE's content, decompressed by its name.
unpack() {
	case $1 in
	*.gz) zcat "$1" ;;
	*.zst) zstd -dcq "$1" ;;
	*.xz) xzcat "$1" ;;
	*.bz2) bzcat "$1" ;;
	*) cat "$1" ;;
	esac
}

# sums_and_hrefs: "sha256 href" for each <checksum type="sha256"...> followed
# by a <location href=...> in the XML on stdin (repomd.xml, primary.xml).
sums_and_hrefs() {
	awk '/<checksum type="sha256"/ { sub(/.*<checksum[^>]*>/, ""); sub(/<.*/, ""); sum = $0 }
	     /<location href="/ { h = $0; sub(/.*<location href="/, "", h); sub(/".*/, "", h);
	                          print sum, h; sum = "" }'
}

# check_repodata DIR/ SUBJECT: DIR's repodata matches its files: each href of
# repomd.xml exists with its checksum, the RPM files are exactly those primary
# lists, with its checksums, and pass rpm -K; for a binary repository dnf
# lists exactly the packages of the files, one version of each name.
check_repodata() {
	dir=$1
	[ -f "$dir/repodata/repomd.xml" ] || { violation "repo-consistent" "$2" "no repodata/repomd.xml"; return; }
	sums_and_hrefs <"$dir/repodata/repomd.xml" >"$T/repomd.sums"
	while read -r sum href; do
		if [ ! -f "$dir/$href" ]; then
			violation "repo-consistent" "$2" "repomd.xml names $href, which is missing"
		elif [ "$(sha256sum "$dir/$href" | cut -d' ' -f1)" != "$sum" ]; then
			violation "repo-consistent" "$2" "$href does not match its checksum in repomd.xml"
		fi
	done <"$T/repomd.sums"
	primary=$(awk '/<data type="primary">/ { p = 1 } p && /<location href="/ {
		sub(/.*<location href="/, ""); sub(/".*/, ""); print; exit }' "$dir/repodata/repomd.xml")
	[ -n "$primary" ] && [ -f "$dir/$primary" ] || return 0
	unpack "$dir/$primary" | sums_and_hrefs | sort -k 2 >"$T/primary.sums"
	cut -d' ' -f2 "$T/primary.sums" >"$T/listed"
	(cd "$dir" && find . -name '*.rpm' ! -path './SRPMS/*' | sed 's|^\./||' | sort) >"$T/files"
	cmp -s "$T/listed" "$T/files" || violation "repo-consistent" "$2" \
		"files and primary differ: $(diff "$T/listed" "$T/files" | grep '^[<>]' | tr '\n' ' ')"
	[ -s "$T/files" ] || return 0
	# One call of each tool for all the files of the repository.
	(cd "$dir" && xargs sha256sum <"$T/files") | awk '{ print $1, $2 }' | sort -k 2 >"$T/file.sums"
	join -1 2 -2 2 -o 0,1.1,2.1 "$T/primary.sums" "$T/file.sums" | awk '$2 != $3 { print $1 }' >"$T/bad.sums"
	[ ! -s "$T/bad.sums" ] || violation "repo-consistent" "$2" \
		"files whose checksum differs from primary: $(tr '\n' ' ' <"$T/bad.sums")"
	(cd "$dir" && xargs rpm -K --nosignature <"$T/files") >"$T/rpmk" 2>&1 ||
		violation "repo-consistent" "$2" "rpm -K: $(grep -v 'digests OK$' "$T/rpmk" | tr '\n' ' ')"
	case $dir in */SRPMS/) return 0 ;; esac
	repoquery "$dir" >"$T/dnf.list" || true
	(cd "$dir" && xargs rpm -qp --qf '%{name}-%{version}-%{release}.%{arch} %{name}\n' <"$T/files") \
		>"$T/rpm.qp" 2>/dev/null || true
	cut -d' ' -f1 "$T/rpm.qp" | sort >"$T/rpm.list"
	cmp -s "$T/dnf.list" "$T/rpm.list" || violation "repo-consistent" "$2" \
		"dnf repoquery and the RPM files differ: $(diff "$T/dnf.list" "$T/rpm.list" | grep '^[<>]' | tr '\n' ' ') $(head -c 300 "$T/dnf.err")"
	dup=$(cut -d' ' -f2 "$T/rpm.qp" | sort | uniq -d | tr '\n' ' ')
	[ -z "$dup" ] || violation "repo-consistent" "$2" "several versions of: $dup"
}

# check_published CHANNEL COMMIT: the channel was last published from COMMIT
# and holds, for every spec a round bumps, the release COMMIT has.
check_published() {
	got=$(jq -r .commit "$state/repos/$1/published.json" 2>/dev/null || echo none)
	if [ "$got" != "$2" ]; then
		violation "published-head" "$1" "published from $got, not $2"
		return
	fi
	for spec in $bumpable; do
		rel=$(git -C "$work" show "$2:SPECS/$spec/$spec.spec" |
			sed -n 's/^Release:[[:space:]]*\([0-9]*\).*/\1/p')
		grep -q "^$spec-[^-]*-$rel\.mdst1\." "$T/dnf.list" ||
			violation "published-head" "$1" "no $spec of release $rel (commit $2): $(grep "^$spec-" "$T/dnf.list" | tr '\n' ' ')"
	done
}

# Every channel's current snapshot is consistent for dnf; main and each open
# pull request are published from their last head; a closed pull request's
# channel is gone.
check_repos() {
	for ch in "$state"/repos/*/; do
		[ -d "$ch" ] || continue
		name=$(basename "$ch")
		if [ ! -e "$ch/current" ]; then
			violation "repo-consistent" "$name" "a channel without a current snapshot"
			continue
		fi
		check_repodata "${ch}current/" "channel $name"
		case $name in
		main) check_published main "$main_head" ;;
		pr-*)
			n=${name#pr-}
			if [ "$(cat "$T/pr/$n.state" 2>/dev/null)" = open ]; then
				check_published "$name" "$(tail -n 1 "$T/pr/$n.heads")"
			fi ;;
		esac
		[ ! -d "${ch}current/SRPMS" ] || check_repodata "${ch}current/SRPMS/" "channel $name SRPMS"
	done
	[ -d "$state/repos/main" ] || violation "published-head" "main" "never published"
	for f in "$T"/pr/*.state; do
		[ -e "$f" ] || continue
		n=$(basename "$f" .state)
		case $(cat "$f") in
		open) [ -d "$state/repos/pr-$n" ] || violation "published-head" "pr-$n" "an open pull request without its channel" ;;
		closed) [ ! -e "$state/repos/pr-$n" ] || violation "closed-pr-removed" "pr-$n" \
			"the channel of the closed pull request is still there: $(ls "$state/repos/pr-$n" | tr '\n' ' ')" ;;
		esac
	done
}

# check_all: every check; $phase names the one running (for a check that
# stops on an error of its own).
check_all() {
	for phase in deliveries pipelines statuses leaks repos; do
		"check_$phase"
	done
	phase=""
}
