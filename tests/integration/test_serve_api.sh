#!/bin/sh
# The JSON API and the dashboard of a running service on the example
# distribution (a polled repository: its pipeline builds the specs and
# composes the image): /api/openapi.json is a valid OpenAPI 3.1 document
# and every answer taken here matches the schema it gives (ajv); times are
# RFC 3339 UTC; the list pages with a cursor and filters by state, branch
# and repo, refusing unknown parameters and values with 400; jobs carry
# NEVRAs and artifacts with SHA-256 that match the files; the image job
# has its log, state and a download link served with its content type
# (paths out of the images refused); the image build names its pipeline.
# Headless Chromium opens the pages (screenshots in build/test-logs/).
. "$(dirname "$0")/lib.sh"
need_root
command -v node >/dev/null || skip "needs node (scripts/deps.sh installs nodejs)"
command -v jq >/dev/null || skip "needs jq"
command -v curl >/dev/null || skip "needs curl"
[ -d "$TOP/tests/npm/node_modules/ajv-formats" ] ||
	skip "needs tests/npm/node_modules (scripts/deps.sh runs npm ci)"

state=$T/state
minidistro "$T/work"
git_ clone -q --bare "$T/work" "$T/remote.git"
cat >"$T/serve.conf" <<EOF2
[serve]
	listen = 127.0.0.1:0
	state = $state
[repo "mini"]
	remote = file://$T/remote.git
	branch = main
	poll = 1
EOF2
serve_start "$T/serve.conf"

i=0
until [ "$(curl -fs "$base/api/pipelines?state=success" | jq '.pipelines | length')" = 1 ]; do
	i=$((i + 1))
	[ "$i" -lt 3000 ] || { tail -n 30 "$T/serve.log"; fail "no successful pipeline within 300 s"; }
	sleep 0.1
done
id=$(curl -fs "$base/api/pipelines?state=success" | jq -r '.pipelines[0].id')

# Every answer below is checked against the description.
a=$T/answers
mkdir -p "$a"
get() { # NAME OPERATION STATUS URL
	code=$(curl -s -o "$a/$1.json" -w '%{http_code}' "$base$4")
	[ "$code" = "$3" ] || { cat "$a/$1.json"; fail "GET $4: $code, expected $3"; }
	checks="$checks $2 $3 $a/$1.json"
}
checks=
curl -fs "$base/api/openapi.json" >"$a/openapi.json" || fail "no /api/openapi.json"
get list listPipelines 200 "/api/pipelines"
get one getPipeline 200 "/api/pipelines/$id"
get repos listRepositories 200 "/api/repositories"
get images listImages 200 "/api/images"
get releases listReleases 200 "/api/releases"
get filtered listPipelines 200 "/api/pipelines?state=success&branch=main&repo=mini&limit=1"
for bad in state=bogus branch=nope repo=other stat=success limit=0 cursor=zz; do
	get "bad-${bad%%=*}" listPipelines 400 "/api/pipelines?$bad"
done
# shellcheck disable=SC2086
node "$TOP/tests/integration/openapi_validate.js" "$a/openapi.json" $checks ||
	fail "answers do not match /api/openapi.json"

# RFC 3339 UTC times.
jq -e '.created | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$")' \
	"$a/one.json" >/dev/null || fail "created is not an RFC 3339 UTC time"

# The channel's snapshot is this pipeline's; no forge, no statuses.
jq -e '.published.head == true and (.published.snapshot | length) > 0 and .statuses == []' \
	"$a/one.json" >/dev/null || fail "the published snapshot is not the pipeline's"

# Jobs: NEVRAs and artifacts whose SHA-256 are the files'.
jq -e '.jobs[] | select(.name == "hello") | .nevras | map(test("^hello-[0-9]")) | any' \
	"$a/one.json" >/dev/null || { jq .jobs "$a/one.json"; fail "hello has no NEVRA"; }
rpm=$(jq -r '.jobs[] | select(.name == "hello") | .artifacts[0] | .file + " " + .sha256' "$a/one.json")
file=$(find "$state" -name "${rpm% *}" -type f | head -n 1)
[ -n "$file" ] && [ "$(sha256sum <"$file" | cut -d' ' -f1)" = "${rpm#* }" ] ||
	fail "the artifact's SHA-256 is not its file's"

# The image job: state, log, artifacts served with a content type.
job=$(jq -c '.jobs[] | select(.kind == "image")' "$a/one.json" | head -n 1)
[ -n "$job" ] || { jq .jobs "$a/one.json"; fail "no image job in the pipeline"; }
[ "$(printf '%s' "$job" | jq -r .state)" = built ] || fail "image job: $job"
curl -fs "$base$(printf '%s' "$job" | jq -r .log)" | grep -q . || fail "the image job's log is empty"
url=$(printf '%s' "$job" | jq -r '.artifacts[0].url')
digest=$(printf '%s' "$job" | jq -r '.artifacts[0].sha256')
ctype=$(curl -fs -o "$T/artifact" -w '%{content_type}' "$base$url") || fail "cannot download $url"
[ "$ctype" = "$(printf '%s' "$job" | jq -r '.artifacts[0].content_type')" ] || fail "content type $ctype"
[ "$(sha256sum <"$T/artifact" | cut -d' ' -f1)" = "$digest" ] || fail "the download's digest differs"
[ "$(curl -s -o /dev/null -w '%{http_code}' --path-as-is "$base/images/../state.db")" = 404 ] ||
	fail "a path out of the images was served"
config=$(printf '%s' "$job" | jq -r .config)
[ "$(jq --arg c "$config" '.images[] | select(.config == $c) | .builds[0].pipeline' "$a/images.json")" = "$id" ] ||
	fail "the image build does not name pipeline $id"

# Pagination: limit=1 pages through every pipeline once.
total=$(jq '.pipelines | length' "$a/list.json")
next="/api/pipelines?limit=1"
seen=0
while [ "$next" != null ]; do
	page=$(curl -fs "$base$next")
	seen=$((seen + $(printf '%s' "$page" | jq '.pipelines | length')))
	next=$(printf '%s' "$page" | jq -r .next)
	[ "$seen" -le "$total" ] || fail "pagination repeats pipelines"
done
[ "$seen" = "$total" ] || fail "pagination saw $seen of $total pipelines"

# A commit whose spec fails, with markup in its subject and spec name's
# output: a failed pipeline, its failure first, its log's error: line
# highlighted, nothing of the repository unescaped.
mkdir -p "$T/work/SPECS/failing"
cat >"$T/work/SPECS/failing/failing.spec" <<'SPEC'
Name: failing
Version: 1
Release: 1%{?dist}
Summary: its build fails
License: MIT
%description
x
%build
echo "error: <b>this build fails on purpose</b>" >&2
exit 3
%files
SPEC
git_ -C "$T/work" add -A
git_ -C "$T/work" commit -q -m 'Add <i>failing</i> & "quoted" spec'
git_ -C "$T/work" push -q "$T/remote.git" HEAD:main
i=0
until [ "$(curl -fs "$base/api/pipelines?state=failure" | jq '.pipelines | length')" = 1 ]; do
	i=$((i + 1))
	[ "$i" -lt 3000 ] || { tail -n 30 "$T/serve.log"; fail "no failed pipeline within 300 s"; }
	sleep 0.1
done
bad=$(curl -fs "$base/api/pipelines?state=failure" | jq -r '.pipelines[0].id')
curl -fs "$base/api/pipelines?state=failure" | jq -e '.pipelines[0] |
	.commit.subject == "Add <i>failing</i> & \"quoted\" spec" and
	(.jobs_summary | test("1 failed: failing$"))' >/dev/null ||
	{ curl -fs "$base/api/pipelines?state=failure" | jq .; fail "the failed pipeline's commit or summary"; }
curl -fs "$base/api/pipelines/$bad" | jq -e '.jobs[] | select(.name == "failing") | .seconds > 0' \
	>/dev/null || fail "the failed job shows no time"
curl -fs "$base/api/pipelines/$bad" >"$a/bad.json"
node "$TOP/tests/integration/openapi_validate.js" "$a/openapi.json" getPipeline 200 "$a/bad.json" ||
	fail "the failed pipeline does not match /api/openapi.json"
jq -e '.plan.rebuild[] | select(.spec == "failing") | .needs | type == "array"' "$a/bad.json" \
	>/dev/null || fail "plan.json has no needs"
# Each line of the failed job's log has a time: its start offset in the log
# (which stays the text the build printed) and the ms since the job began.
curl -fs "$base/pipelines/$bad/jobs/failing/log" >"$T/failing.log"
curl -fs "$base/pipelines/$bad/jobs/failing/log?times=0" >"$T/failing.times"
lines=$(wc -l <"$T/failing.log")
jq -e --argjson lines "$lines" '(.start | type == "number") and (.times | length == $lines) and
	.times[0][0] == 0 and ([.times[][1]] | . == sort)' "$T/failing.times" >/dev/null ||
	{ head -c 600 "$T/failing.times"; fail "the failed job's log has no time per line"; }
off=$(jq '.times[1][0]' "$T/failing.times")
[ "$(head -n 1 "$T/failing.log" | wc -c)" = "$off" ] ||
	fail "the second line's time is not at its offset ($off)"

# The pages in a real browser: DOM asserted, screenshots kept.
if command -v chromium >/dev/null; then
	shots=$TOP/build/test-logs/test_serve_api
	mkdir -p "$shots"
	browse() { # URL NAME
		timeout 60 chromium --headless --no-sandbox --disable-gpu --virtual-time-budget=3000 \
			--dump-dom "$1" 2>/dev/null >"$T/$2.html"
		timeout 60 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --virtual-time-budget=3000 \
			--window-size=1400,1000 --screenshot="$shots/$2.png" "$1" >/dev/null 2>&1 ||
			echo "note: no screenshot of $1"
	}
	browse "$base/" list
	grep -q "<a href=\"/pipelines/$bad\">" "$T/list.html" || fail "the list lacks $bad"
	grep -q '<form id="filters"' "$T/list.html" || fail "the list has no filters"
	grep -q '<option selected="">success</option>\|<option>success</option>' "$T/list.html" ||
		fail "the state filter has no options"
	browse "$base/?state=success&repo=mini" filtered
	grep -q "href=\"/pipelines/$id\"" "$T/filtered.html" || fail "the filtered list lacks $id"
	browse "$base/pipelines/$id" pipeline
	grep -q "href=\"$url\"" "$T/pipeline.html" || fail "the pipeline page has no image download"
	grep -q '<td>image</td>' "$T/pipeline.html" || fail "the pipeline page has no image job"
	grep -q '<svg class="timeline" id="timeline"' "$T/pipeline.html" || fail "no timeline"
	grep -q '<g class="bar critical">' "$T/pipeline.html" || fail "no critical path"
	grep -q '<div class="graph" id="graph"><svg' "$T/pipeline.html" || fail "no dependency graph"
	grep -q 'class="node"' "$T/pipeline.html" || fail "the graph has no node"
	grep -q 'Add &lt;i&gt;failing&lt;/i&gt; &amp; "quoted" spec' "$T/list.html" ||
		grep -q 'Add &lt;i&gt;failing&lt;/i&gt; &amp; &quot;quoted&quot; spec' "$T/list.html" ||
		fail "the list does not show the commit subject escaped"
	! grep -q '<i>failing</i>' "$T/list.html" || fail "a commit subject is not escaped"
	browse "$base/pipelines/$bad" failed
	# Failures first: the first job row is the failed one.
	first=$(grep -o '<tr class="job[^"]*"><td>[^<]*</td>' "$T/failed.html" | head -n 1)
	case $first in
	*'class="job failed"><td>failing</td>') ;;
	*) fail "the failed job is not first: $first" ;;
	esac
	! grep -q '<b>this build' "$T/failed.html" || fail "the log's markup reached the page"
	browse "$base/pipelines/$bad/jobs/failing/log.html#L3" log
	grep -q '<div id="L1" class="line' "$T/log.html" || fail "the log has no line anchors"
	grep -q '<a href="#L1" class="ln">1</a><span class="ts"' "$T/log.html" ||
		fail "the log's lines have no number links and times"
	# Times from the log's sidecar: since the job started, absolute on hover.
	grep -q '<a href="#L1" class="ln">1</a><span class="ts" title="20[0-9-]*T[0-9:.]*Z">[0-9]*:[0-9][0-9]\.[0-9][0-9][0-9]</span>' \
		"$T/log.html" || fail "the job log's lines do not show when they were written"
	browse "$base/pipelines/$bad/log.html" pipelinelog
	grep -q '<span class="ts" title="20[0-9-]*T[0-9:.]*Z">[0-9]*:[0-9][0-9]\.[0-9][0-9][0-9]</span><span class="tx">shipyard: pipeline' \
		"$T/pipelinelog.html" || fail "the pipeline log's lines do not show when they were written"
	grep -q '<div id="L3" class="line[^"]* target"' "$T/log.html" || fail "#L3 is not marked"
	grep -q 'class="line err".*error: &lt;b&gt;this build fails on purpose' "$T/log.html" ||
		fail "the error: line is not highlighted"
	! grep -q '<b>this build' "$T/log.html" || fail "the log's markup reached the page"
else
	echo "note: chromium missing, pages not opened in a browser"
fi
serve_stop
[ "$serve_rc" -eq 0 ] || fail "serve did not stop cleanly"
echo ok
