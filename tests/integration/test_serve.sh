#!/bin/sh
# `shipyard serve` on loopback with the example distribution as a file://
# remote and a fake GitHub (tests/fakeforge) that checks every status call
# against GitHub's OpenAPI request schema: signed real payloads of
# @octokit/webhooks-examples trigger pipelines; unsigned, malformed and
# oversized deliveries are refused and nothing is queued; a redelivery is
# deduplicated; each status context gets pending first and then exactly one
# final state, also when the service is killed with SIGKILL in the middle of
# a build and started again; a pull request publishes to its own repository,
# removed when it closes, and resolves against main's until then; /healthz and /metrics answer; SIGTERM stops it.
. "$(dirname "$0")/lib.sh"
need_root
command -v node >/dev/null || skip "needs node (scripts/deps.sh installs nodejs)"
command -v jq >/dev/null || skip "needs jq"
command -v curl >/dev/null || skip "needs curl"
examples=$TOP/tests/npm/node_modules/@octokit/webhooks-examples/api.github.com/index.json
[ -f "$examples" ] || skip "needs tests/npm/node_modules (scripts/deps.sh runs npm ci)"

secret="it's a secret to everybody"
token="ghp_test_token_never_logged"
state=$T/state
work=$T/work
remote=$T/remote.git

minidistro "$work"
git_ clone -q --bare "$work" "$remote"
git_ -C "$work" remote add origin "$remote"
# A second repository without webhooks, polled every second.
polled=$T/polled.git
git_ clone -q --bare "$work" "$polled"
git_ -C "$polled" branch -q side main

printf '%s\n' "$secret" >"$T/secret"
printf '%s\n' "$token" >"$T/token"
chmod 600 "$T/secret" "$T/token"

# The forge fails its first answers (two 500s, then a 403 with Retry-After):
# statuses wait in the outbox and arrive in order; pipelines go on.
forge_start "$token" "500x2,403x1"
[ -n "${KEEP:-}" ] && trap - EXIT

cat >"$T/serve.conf" <<EOF
[serve]
	listen = 127.0.0.1:0
	state = $state
	maxbody = 1048576
	shutdowntimeout = 1
[repo "mini"]
	remote = file://$remote
	branch = main
	forge = github
	api = http://127.0.0.1:$forge_port
	project = example/mini
	tokenfile = $T/token
	secretfile = $T/secret
	jobs = 2
[repo "polled"]
	remote = file://$polled
	branch = side
	poll = 1
	channelprefix = polled-
EOF

start_serve() {
	serve_start "$T/serve.conf"
}

# deliver EVENT FILE [DELIVERY [SIGNATURE]]: POSTs FILE to /hooks/github;
# prints the HTTP status, the body goes to $T/reply.
deliver() {
	sig=${4:-sha256=$(openssl dgst -sha256 -hmac "$secret" -r "$2" | cut -d' ' -f1)}
	curl -s -o "$T/reply" -w '%{http_code}' -X POST "$base/hooks/github" \
		-H 'Content-Type: application/json' -H "X-GitHub-Event: $1" \
		-H "X-GitHub-Delivery: ${3:-$(cat /proc/sys/kernel/random/uuid)}" \
		-H "X-Hub-Signature-256: $sig" --data-binary "@$2"
}

# push_payload SHA BEFORE OUT: a real push example aimed at this repository.
push_payload() {
	jq --arg after "$1" --arg before "$2" --arg url "file://$remote" '
		[.[] | select(.name == "push") | .examples[]
		 | select(.deleted == false and (.ref | startswith("refs/heads/")))][0]
		| .ref = "refs/heads/main" | .after = $after | .before = $before
		| .repository.full_name = "example/mini" | .repository.clone_url = $url' \
		"$examples" >"$3"
}

# wait_pipeline ID STATE: waits until pipeline ID has ended in STATE.
wait_pipeline() {
	i=0
	while :; do
		st=$(curl -fs "$base/api/pipelines/$1" | jq -r '.state' 2>/dev/null || true)
		[ "$st" = "$2" ] && return 0
		case $st in success | failure | error | cancelled | superseded)
			cat "$state/pipelines/$1/pipeline.log" 2>/dev/null | tail -n 20
			fail "pipeline $1 ended $st, not $2" ;;
		esac
		i=$((i + 1))
		[ "$i" -lt 1200 ] || { tail -n 30 "$T/serve.log"; fail "pipeline $1 did not end"; }
		sleep 0.1
	done
}

# statuses SHA: "context state" of every call for SHA the forge accepted, in
# order.
statuses() {
	jq -r --arg sha "$1" 'select((.path | endswith("/statuses/" + $sha)) and .status < 300)
		| "\(.body.context) \(.body.state)"' "$T/calls.jsonl"
}

# check_contexts SHA: every context got pending first and exactly one final
# state, success; every call was valid and carried the token.
check_contexts() {
	statuses "$1" >"$T/st"
	[ -s "$T/st" ] || fail "no statuses for $1"
	for ctx in $(cut -d' ' -f1 "$T/st" | sort -u); do
		first=$(grep "^$ctx " "$T/st" | head -n 1 | cut -d' ' -f2)
		finals=$(grep -c "^$ctx \(success\|failure\|error\)$" "$T/st" || true)
		[ "$first" = pending ] || { cat "$T/st"; fail "$ctx: first status $first"; }
		[ "$finals" -eq 1 ] || { cat "$T/st"; fail "$ctx: $finals final states"; }
		grep -q "^$ctx success$" "$T/st" || { cat "$T/st"; fail "$ctx: not success"; }
	done
	bad=$(jq -s '[.[] | select(.valid != true or .token_matched != true)] | length' "$T/calls.jsonl")
	[ "$bad" -eq 0 ] || fail "$bad status calls invalid or without the token"
}

# wait_final SHA CONTEXT: waits until the forge got a final state.
wait_final() {
	i=0
	until statuses "$1" | grep -q "^$2 \(success\|failure\|error\)$"; do
		i=$((i + 1))
		[ "$i" -lt 300 ] || { statuses "$1"; fail "no final $2 status for $1"; }
		sleep 0.1
	done
}

start_serve

# Refused deliveries: nothing is stored or queued.
head1=$(git -C "$work" rev-parse HEAD)
push_payload "$head1" 0000000000000000000000000000000000000000 "$T/push1.json"
[ "$(deliver push "$T/push1.json" d-unsigned sha256=0000)" = 401 ] || fail "bad signature not 401"
printf '{"ref": ' >"$T/broken.json"
[ "$(deliver push "$T/broken.json")" = 400 ] || fail "malformed JSON not 400"
head -c 2000000 /dev/zero | tr '\0' ' ' >"$T/big.json"
[ "$(deliver push "$T/big.json")" = 413 ] || fail "oversized body not 413"
[ "$(deliver stargazer "$T/push1.json")" = 400 ] || fail "unknown event not 400"
[ "$(curl -fs "$base/api/pipelines" | jq '[.pipelines[] | select(.repo == "mini")] | length')" -eq 0 ] || fail "a refused delivery queued a pipeline"

# A ping, then the push.
jq '[.[] | select(.name == "ping") | .examples[0]][0] | .repository.full_name = "example/mini"' \
	"$examples" >"$T/ping.json"
[ "$(deliver ping "$T/ping.json")" = 200 ] || fail "ping not answered 200"
[ "$(deliver push "$T/push1.json" delivery-1)" = 202 ] || { cat "$T/reply"; fail "push not 202"; }
id1=$(jq -r '.pipeline' "$T/reply")
[ "$(deliver push "$T/push1.json" delivery-1)" = 200 ] || fail "redelivery not deduplicated"
jq -e '.duplicate' "$T/reply" >/dev/null || fail "redelivery reply"
wait_pipeline "$id1" success
wait_final "$head1" shipyard/build
wait_final "$head1" shipyard/image/minimal-container
check_contexts "$head1"
! grep -q "$token" "$T/serve.log" "$state/pipelines/$id1/pipeline.log" || fail "the token was logged"

# The repository is served for dnf.
curl -fs "$base/repos/main/current/repodata/repomd.xml" | grep -q '<repomd' ||
	fail "repodata not served under /repos/"

# SIGKILL in the middle of a build, then a restart: the pipeline finishes,
# nothing is lost or sent twice.
# The build sleeps for a time no other process on the machine sleeps for.
slow=6.$(($$ % 1000))
mkdir -p "$work/SPECS/slow"
cat >"$work/SPECS/slow/slow.spec" <<SPEC
Name: slow
Version: 1
Release: 1%{?dist}
Summary: builds for a while
License: MIT
BuildArch: noarch
%description
x
%build
sleep $slow
%files
SPEC
# greet-tools now builds against the pkgconfig(banner) learned from main's
# repository: a pull request must learn it too (see the pull request below).
sed -i 's|^Release:.*|Release:        2%{?dist}|' "$work/SPECS/greet-tools/greet-tools.spec"
git_ -C "$work" add -A
git_ -C "$work" commit -q -m "slow; greet-tools: release 2"
git_ -C "$work" push -q origin main
head2=$(git -C "$work" rev-parse HEAD)
push_payload "$head2" "$head1" "$T/push2.json"
[ "$(deliver push "$T/push2.json" delivery-2)" = 202 ] || { cat "$T/reply"; fail "push 2 not 202"; }
id2=$(jq -r '.pipeline' "$T/reply")
i=0
until pgrep -fx "sleep $slow" >/dev/null; do
	i=$((i + 1))
	[ "$i" -lt 600 ] || { tail -n 20 "$state/pipelines/$id2/pipeline.log"; fail "slow build did not start"; }
	sleep 0.1
done
serve_kill
i=0
while pgrep -fx "sleep $slow" >/dev/null; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || fail "the build outlived the killed service"
	sleep 0.1
done
start_serve
expect_line "$T/serve.log" 'interrupted pipelines queued again'
wait_pipeline "$id2" success
wait_final "$head2" shipyard/build
[ "$(curl -fs "$base/api/pipelines/$id2" | jq '.attempts')" -ge 2 ] || fail "pipeline 2 was not resumed"
check_contexts "$head2"

# A newer push supersedes a running pipeline of the same branch: it is
# stopped, its contexts end "error" (cancelled) and the newer one runs.
sed -i 's|^Release:.*|Release: 2%{?dist}|' "$work/SPECS/slow/slow.spec"
git_ -C "$work" commit -q -am "slow: release 2"
git_ -C "$work" push -q origin main
head4=$(git -C "$work" rev-parse HEAD)
push_payload "$head4" "$head2" "$T/push4.json"
[ "$(deliver push "$T/push4.json")" = 202 ] || fail "push 4 not 202"
id4=$(jq -r '.pipeline' "$T/reply")
i=0
until pgrep -fx "sleep $slow" >/dev/null; do
	i=$((i + 1))
	[ "$i" -lt 600 ] || fail "slow build 2 did not start"
	sleep 0.1
done
echo "superseding" >"$work/README.superseding"
git_ -C "$work" add -A
git_ -C "$work" commit -q -m "a newer push"
git_ -C "$work" push -q origin main
head5=$(git -C "$work" rev-parse HEAD)
push_payload "$head5" "$head4" "$T/push5.json"
[ "$(deliver push "$T/push5.json")" = 202 ] || fail "push 5 not 202"
id5=$(jq -r '.pipeline' "$T/reply")
wait_pipeline "$id4" superseded
wait_pipeline "$id5" success
wait_final "$head4" shipyard/build
statuses "$head4" | grep -q '^shipyard/build error$' || { statuses "$head4"; fail "superseded build not ended as error"; }

# SIGTERM in the middle of a build, past serve.shutdowntimeout: the pipeline
# is stopped without posting a final status, resumes after the restart, and
# its contexts end once, with the real result.
sed -i 's|^Release:.*|Release: 3%{?dist}|' "$work/SPECS/slow/slow.spec"
git_ -C "$work" commit -q -am "slow: release 3"
git_ -C "$work" push -q origin main
head6=$(git -C "$work" rev-parse HEAD)
push_payload "$head6" "$head5" "$T/push6.json"
[ "$(deliver push "$T/push6.json")" = 202 ] || fail "push 6 not 202"
id6=$(jq -r '.pipeline' "$T/reply")
i=0
until pgrep -fx "sleep $slow" >/dev/null; do
	i=$((i + 1))
	[ "$i" -lt 600 ] || fail "slow build 3 did not start"
	sleep 0.1
done
serve_stop
[ "$serve_rc" -eq 0 ] || fail "serve exited $serve_rc on SIGTERM during a build"
# The plan had ended; the build had not, and says nothing yet.
! statuses "$head6" | grep -q '^shipyard/build \(success\|failure\|error\)$' ||
	{ statuses "$head6"; fail "an interrupted build posted a final status"; }
start_serve
wait_pipeline "$id6" success
wait_final "$head6" shipyard/build
check_contexts "$head6"

# A pull request publishes to repos/pr-<n>, removed when it closes. Bumping
# only hello, it builds hello alone: until pr-<n> is published it resolves
# against main's repository, where greet-tools' pkgconfig(banner) is learnt.
git_ -C "$work" checkout -q -b feature
sed -i 's|^Release:.*|Release:        7%{?dist}|' "$work/SPECS/hello/hello.spec"
git_ -C "$work" commit -q -am "hello: release 7"
git_ -C "$work" push -q origin feature
head3=$(git -C "$work" rev-parse HEAD)
pr_payload() { # ACTION OUT
	jq --arg sha "$head3" --arg action "$1" '
		[.[] | select(.name == "pull_request") | .examples[] | select(.action == "opened")][0]
		| .action = $action | .number = 7 | .pull_request.number = 7
		| .pull_request.head.sha = $sha | .pull_request.head.ref = "feature"
		| .pull_request.base.ref = "main" | .pull_request.merged = false
		| .repository.full_name = "example/mini"' "$examples" >"$2"
}
pr_payload opened "$T/pr-open.json"
[ "$(deliver pull_request "$T/pr-open.json")" = 202 ] || { cat "$T/reply"; fail "PR not 202"; }
id3=$(jq -r '.pipeline' "$T/reply")
wait_pipeline "$id3" success
expect_line "$state/pipelines/$id3/pipeline.log" 'channel pr-7 is not published yet: resolving against main'
expect_line "$state/pipelines/$id3/pipeline.log" '^shipyard/build success 1 built, 0 reused'
[ -e "$state/repos/pr-7/current/repodata/repomd.xml" ] || fail "no per-PR repository"
[ ! -e "$state/repos/main/current/hello-1.0-7.mdst1.x86_64.rpm" ] || fail "the PR published to main"
pr_payload closed "$T/pr-close.json"
[ "$(deliver pull_request "$T/pr-close.json")" = 202 ] || fail "PR close not 202"
[ ! -e "$state/repos/pr-7" ] || fail "per-PR repository not removed"

# The dashboard in a real browser (headless Chromium, JavaScript on): the
# pipelines page, one pipeline with its plan and jobs, its log followed live.
if command -v chromium >/dev/null; then
	dom() {
		timeout 60 chromium --headless --no-sandbox --disable-gpu --virtual-time-budget=3000 \
			--dump-dom "$1" 2>/dev/null
	}
	dom "$base/" >"$T/list.html"
	expect_line "$T/list.html" "pipelines/$id1"
	dom "$base/pipelines/$id1" >"$T/one.html"
	for s in libgreet hello greet-tools; do
		expect_line "$T/one.html" "$s"
	done
	expect_line "$T/one.html" 'built'
	dom "$base/pipelines/$id1/log.html" >"$T/log.html"
	expect_line "$T/log.html" "pipeline $id1: exit status 0"
	! grep -q 'http[s]*://[^"]*\.\(js\|css\)' "$T/list.html" "$T/one.html" ||
		fail "the dashboard loads external assets"
else
	echo "note: chromium missing, dashboard not opened in a browser"
fi

# Polling: the polled repository's branch was built at start; a new commit
# on it is found and built without any webhook.
poll_pipeline() { # HEAD: the id of the poll pipeline of polled for HEAD, once it succeeded
	i=0
	until id=$(curl -fs "$base/api/pipelines" | jq -r --arg h "$1" '.pipelines[]
		| select(.repo == "polled" and .trigger == "poll" and .head == $h and .state == "success")
		| .id' | head -n 1) && [ -n "$id" ]; do
		i=$((i + 1))
		[ "$i" -lt 600 ] || { tail -n 20 "$T/serve.log"; fail "no successful poll pipeline for $1"; }
		sleep 0.1
	done
	echo "$id"
}
poll_pipeline "$(git -C "$polled" rev-parse side)" >/dev/null
git_ clone -q -b side "$polled" "$T/polled-work"
sed -i 's|^Release:.*|Release:        9%{?dist}|' "$T/polled-work/SPECS/hello/hello.spec"
git_ -C "$T/polled-work" commit -q -am "hello: release 9"
git_ -C "$T/polled-work" push -q origin side
poll_pipeline "$(git -C "$polled" rev-parse side)" >/dev/null
[ -e "$state/repos/polled-side/current" ] || fail "the polled branch was not published (polled-side)"

# Health and metrics.
curl -fs "$base/metrics" >"$T/metrics" || fail "/metrics"
expect_line "$T/metrics" '^shipyard_pipelines\{state="success"\} [0-9]+'
expect_line "$T/metrics" '^shipyard_webhook_duration_seconds_count\{forge="github"\} [0-9]+'

# SIGTERM: a graceful stop.
serve_stop
[ "$serve_rc" -eq 0 ] || { tail -n 20 "$T/serve.log"; fail "serve exited $serve_rc on SIGTERM"; }
expect_line "$T/serve.log" 'shutdown complete'
# Statuses were accepted: the outbox logs nothing unless it fails.
expect_no_line "$T/serve.log" "status outbox"
echo ok
