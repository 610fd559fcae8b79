#!/bin/sh
# Control of the service from the API and from pull request comments, with
# a fake GitHub (tests/fakeforge) that validates every call. The service's
# first pipeline is a manual trigger of main (POST /api/pipelines: 401
# without or with a wrong token, 202 with one). A pull request that bumps
# hello and breaks libbanner fails: its shipyard/build status names
# libbanner (within 140 characters) and links to libbanner's log page, and
# one comment on the pull request gives the plan and the results. A
# "/shipyard retry" comment by an outsider is refused (-1 reaction and a
# reply), by a collaborator it queues a retry (+1 reaction) whose hello is
# reused and libbanner built again, and the pull request's comment is
# edited in place, not duplicated. The API's retry and cancel need the
# token; a cancelled retry ends "cancelled" with its statuses saying
# "cancelled by api:tester". Reads stay open (serve.apiread = open).
. "$(dirname "$0")/lib.sh"
need_root
command -v node >/dev/null || skip "needs node (scripts/deps.sh installs nodejs)"
command -v jq >/dev/null || skip "needs jq"
command -v curl >/dev/null || skip "needs curl"
examples=$TOP/tests/npm/node_modules/@octokit/webhooks-examples/api.github.com/index.json
[ -f "$examples" ] || skip "needs tests/npm/node_modules (scripts/deps.sh runs npm ci)"

secret="control-secret"
token="ghp_forge_token_never_logged"
apitoken="shipyard-api-token-0123456789abcdef"
state=$T/state
work=$T/work
remote=$T/remote.git
minidistro "$work"
git_ clone -q --bare "$work" "$remote"
git_ -C "$work" remote add origin "$remote"
printf '%s\n' "$secret" >"$T/secret"
printf '%s\n' "$token" >"$T/token"
printf 'tester %s\n' "$apitoken" >"$T/apitokens"
chmod 600 "$T/secret" "$T/token" "$T/apitokens"

forge_start "$token"
[ -n "${KEEP:-}" ] && trap - EXIT

cat >"$T/serve.conf" <<EOF2
[serve]
	listen = 127.0.0.1:0
	state = $state
	shutdowntimeout = 1
	apitokens = $T/apitokens
	apiread = open
[repo "mini"]
	remote = file://$remote
	branch = main
	forge = github
	api = $forge
	project = example/mini
	tokenfile = $T/token
	secretfile = $T/secret
	jobs = 2
EOF2
serve_start "$T/serve.conf"

# api METHOD PATH [TOKEN] [JSON]: the HTTP status; the body in $T/reply.
api() {
	set -- "$1" "$2" "${3:-}" "${4:-}"
	set -- "$@" ${3:+-H} ${3:+"Authorization: Bearer $3"}
	curl -s -o "$T/reply" -w '%{http_code}' -X "$1" -H 'Content-Type: application/json' \
		${4:+--data-binary} ${4:+"$4"} ${3:+-H} ${3:+"Authorization: Bearer $3"} "$base$2"
}

deliver() { # EVENT FILE
	sig=sha256=$(openssl dgst -sha256 -hmac "$secret" -r "$2" | cut -d' ' -f1)
	curl -s -o "$T/reply" -w '%{http_code}' -X POST "$base/hooks/github" \
		-H 'Content-Type: application/json' -H "X-GitHub-Event: $1" \
		-H "X-GitHub-Delivery: $(cat /proc/sys/kernel/random/uuid)" \
		-H "X-Hub-Signature-256: $sig" --data-binary "@$2"
}

wait_pipeline() { # ID STATE
	i=0
	while :; do
		st=$(curl -fs "$base/api/pipelines/$1" | jq -r '.state' 2>/dev/null || true)
		[ "$st" = "$2" ] && return 0
		case $st in success | failure | error | cancelled | superseded)
			tail -n 30 "$state/pipelines/$1/pipeline.log" >&2
			fail "pipeline $1 ended $st, not $2" ;;
		esac
		i=$((i + 1))
		[ "$i" -lt 3000 ] || { tail -n 30 "$T/serve.log" >&2; fail "pipeline $1 did not end"; }
		sleep 0.1
	done
}

wait_ended() { # ID: waits until pipeline ID has ended, whatever its state
	i=0
	until curl -fs "$base/api/pipelines/$1" | jq -e '.finished != null' >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -lt 3000 ] || fail "pipeline $1 did not end"
		sleep 0.1
	done
}

# wait_calls JQ: waits until a recorded forge call matches the jq filter.
wait_calls() {
	i=0
	until curl -fs "$forge/__calls" | jq -e "[.[] | select($1)] | length > 0" >/dev/null; do
		i=$((i + 1))
		[ "$i" -lt 300 ] || { curl -fs "$forge/__calls" | jq -c '.[]' | tail -n 20 >&2;
			fail "no forge call matches $1"; }
		sleep 0.1
	done
}

# Manual trigger: refused without a valid token, queued with one.
[ "$(api POST /api/pipelines "" '{"branch":"main"}')" = 401 ] || fail "trigger without a token"
[ "$(api POST /api/pipelines wrong-token-0123456789 '{"branch":"main"}')" = 401 ] ||
	fail "trigger with a wrong token"
[ "$(api POST /api/pipelines "$apitoken" '{"branch":"main","extra":1}')" = 400 ] ||
	fail "trigger with an unknown field"
expect_line "$T/reply" "field 'extra' is not supported"
[ "$(api POST /api/pipelines "$apitoken" '{"branch":"nope"}')" = 404 ] || fail "unknown branch"
[ "$(api POST /api/pipelines "$apitoken" '{"branch":"main"}')" = 202 ] ||
	{ cat "$T/reply"; fail "trigger with the token"; }
main_id=$(jq -r .pipeline "$T/reply")
wait_pipeline "$main_id" success
[ "$(curl -fs "$base/api/pipelines/$main_id" | jq -r .trigger)" = manual ] || fail "not manual"
grep -q "$apitoken" "$T/serve.log" && fail "the API token was logged"

# A pull request: hello bumped (builds), libbanner broken (fails).
git_ -C "$work" checkout -q -b broken
sed -i 's|^Release:.*|Release:        9%{?dist}|' "$work/SPECS/hello/hello.spec"
sed -i 's/^%build$/%build\nexit 1/' "$work/SPECS/libbanner/libbanner.spec"
git_ -C "$work" commit -q -am "hello bumped, libbanner broken"
git_ -C "$work" push -q origin broken
head=$(git -C "$work" rev-parse HEAD)
jq --arg sha "$head" '
	[.[] | select(.name == "pull_request") | .examples[] | select(.action == "opened")][0]
	| .number = 1 | .pull_request.number = 1
	| .pull_request.head.sha = $sha | .pull_request.head.ref = "broken"
	| .pull_request.base.ref = "main" | .repository.full_name = "example/mini"' \
	"$examples" >"$T/pr.json"
[ "$(deliver pull_request "$T/pr.json")" = 202 ] || { cat "$T/reply"; fail "PR not 202"; }
pr_id=$(jq -r .pipeline "$T/reply")
wait_pipeline "$pr_id" failure

# The build status names the failure and links to its log.
wait_calls ".kind == \"status\" and .params.sha == \"$head\" and .body.context == \"shipyard/build\" and .body.state == \"failure\""
curl -fs "$forge/__calls" | jq -c "[.[] | select(.kind == \"status\" and .params.sha == \"$head\" and .body.context == \"shipyard/build\" and .body.state == \"failure\")][0].body" >"$T/build-status"
cat "$T/build-status"
expect_line "$T/build-status" '"description":"failed: libbanner; blocked: [^"]*; [0-9]+ built'
expect_line "$T/build-status" "\"target_url\":\"$base/pipelines/$pr_id/jobs/libbanner/log.html\""
[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/pipelines/$pr_id/jobs/libbanner/log.html")" = 200 ] ||
	fail "the failed job's log page does not answer"

# One comment on the pull request: plan, results, log links.
wait_calls '.kind == "comment-create"'
curl -fs "$forge/__comments" >"$T/comments"
[ "$(jq '[.[] | select(.body | startswith("<!-- shipyard:"))] | length' "$T/comments")" = 1 ] ||
	fail "not one shipyard comment"
jq -r '.[0].body' "$T/comments" >"$T/comment.md"
cat "$T/comment.md"
expect_line "$T/comment.md" "shipyard pipeline \\[$pr_id\\]\\($base/pipelines/$pr_id\\): failure"
expect_line "$T/comment.md" '\*\*Plan\*\*: 2 changed specs'
expect_line "$T/comment.md" "^\\| \`libbanner\` \\| .* failed .*\\[log\\]\\($base/pipelines/$pr_id/jobs/libbanner/log\\.html\\)"
comment_id=$(jq -r '.[0].id' "$T/comments")

# comment AUTHOR_ASSOCIATION LOGIN ID BODY: an issue_comment delivery on PR 1.
comment() {
	jq --arg assoc "$1" --arg login "$2" --argjson id "$3" --arg body "$4" '
		[.[] | select(.name == "issue_comment") | .examples[] | select(.action == "created")][0]
		| .issue.number = 1 | .issue.pull_request = {"url": "https://api.github.com/repos/example/mini/pulls/1"}
		| .comment.id = $id | .comment.body = $body | .comment.author_association = $assoc
		| .comment.user.login = $login | .repository.full_name = "example/mini"' \
		"$examples" >"$T/comment.json"
	deliver issue_comment "$T/comment.json"
}
[ "$(comment NONE mallory 501 '/shipyard retry')" = 200 ] || { cat "$T/reply"; fail "outsider not 200"; }
expect_line "$T/reply" '"refused":"no write access"'
wait_calls '.kind == "reaction" and .params.comment_id == "501" and .body.content == "-1"'
wait_calls '.kind == "comment-create" and (.body.body | startswith("@mallory: sorry, only people with write access"))'
[ "$(comment NONE bob 502 'nice work')" = 200 ] || fail "plain comment not 200"
expect_line "$T/reply" '"ignored":"no /shipyard command"'
[ "$(comment COLLABORATOR alice 503 'Looks flaky.
/shipyard retry')" = 202 ] || { cat "$T/reply"; fail "collaborator retry not 202"; }
retry_id=$(jq -r .pipeline "$T/reply")
wait_calls '.kind == "reaction" and .params.comment_id == "503" and .body.content == "+1"'
wait_pipeline "$retry_id" failure
curl -fs "$base/api/pipelines/$retry_id" >"$T/retry.json"
[ "$(jq -r .trigger "$T/retry.json")" = retry ] || fail "not a retry"
[ "$(jq -r '.jobs[] | select(.name == "hello") | .state' "$T/retry.json")" = reused ] ||
	{ jq -c '.jobs' "$T/retry.json"; fail "hello was not reused by the retry"; }
[ "$(jq -r '.jobs[] | select(.name == "libbanner") | .state' "$T/retry.json")" = failed ] ||
	fail "libbanner was not built again"
# The comment is edited in place.
wait_calls ".kind == \"comment-edit\" and .params.comment_id == \"$comment_id\""
curl -fs "$forge/__comments" >"$T/comments"
[ "$(jq '[.[] | select(.body | startswith("<!-- shipyard:"))] | length' "$T/comments")" = 1 ] ||
	fail "the comment was duplicated"
jq -r ".[] | select(.id == $comment_id) | .body" "$T/comments" | grep -q "pipeline \\[$retry_id\\]" ||
	fail "the comment does not show the retry"

# API retry and cancel: the token is needed; a running retry is cancelled.
[ "$(api POST "/api/pipelines/$retry_id/retry")" = 401 ] || fail "retry without a token"
[ "$(api POST "/api/pipelines/$pr_id/retry" "$apitoken")" = 409 ] || fail "retry of an old pipeline"
expect_line "$T/reply" "followed pipeline $pr_id"
[ "$(api GET "/api/pipelines/$retry_id/retry" "$apitoken")" = 405 ] || fail "GET retry"
[ "$(api POST "/api/pipelines/$retry_id/retry" "$apitoken")" = 202 ] || { cat "$T/reply"; fail "API retry"; }
again=$(jq -r .pipeline "$T/reply")
[ "$(api POST "/api/pipelines/$again/cancel")" = 401 ] || fail "cancel without a token"
[ "$(api POST "/api/pipelines/$again/cancel" "$apitoken")" = 202 ] || { cat "$T/reply"; fail "cancel"; }
wait_pipeline "$again" cancelled
[ "$(curl -fs "$base/api/pipelines/$again" | jq -r .summary)" = "cancelled by api:tester" ] ||
	fail "no 'cancelled by' summary"
wait_calls ".kind == \"status\" and .params.sha == \"$head\" and .body.state == \"error\" and .body.description == \"cancelled by api:tester\""
[ "$(api POST "/api/pipelines/$again/cancel" "$apitoken")" = 409 ] || fail "cancel of an ended pipeline"

# /shipyard rebuild <spec>: that spec built again, whatever its artifact.
[ "$(comment MEMBER alice 504 '/shipyard rebuild hello')" = 202 ] ||
	{ cat "$T/reply"; fail "rebuild not 202"; }
rebuild_id=$(jq -r .pipeline "$T/reply")
wait_calls '.kind == "reaction" and .params.comment_id == "504" and .body.content == "+1"'
wait_ended "$rebuild_id"
curl -fs "$base/api/pipelines/$rebuild_id" >"$T/rebuild.json"
[ "$(jq -r .trigger "$T/rebuild.json")" = rebuild ] || fail "not a rebuild"
[ "$(jq -r '.jobs[] | select(.name == "hello") | .state' "$T/rebuild.json")" = built ] ||
	{ jq -c '.jobs' "$T/rebuild.json"; fail "hello was not rebuilt"; }
[ "$(comment MEMBER alice 505 '/shipyard frobnicate')" = 200 ] || fail "unknown command not 200"
wait_calls '.kind == "comment-create" and (.body.body | startswith("@alice: unknown command"))'

# Every call the fake forge saw was valid and carried the token.
curl -fs "$forge/__calls" >"$T/calls.json"
[ "$(jq '[.[] | select(.valid | not)] | length' "$T/calls.json")" = 0 ] ||
	{ jq -c '.[] | select(.valid | not)' "$T/calls.json"; fail "invalid forge calls"; }
[ "$(jq '[.[] | select(.token_matched != true)] | length' "$T/calls.json")" = 0 ] ||
	fail "a forge call without the token"
# Reads stay open.
[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/api/pipelines")" = 200 ] || fail "reads closed"
# The dashboard shows the buttons.
curl -fs "$base/pipelines/$retry_id" | grep -q "action=\"/api/pipelines/$retry_id/retry\"" ||
	fail "no retry button"
# The dashboard's trigger form: the token in a field, empty fields left
# out, a 303 to the new pipeline's page.
code=$(curl -s -o /dev/null -D "$T/form.h" -w '%{http_code}' -X POST \
	--data "token=$apitoken&repo=&branch=main&commit=" "$base/api/pipelines")
[ "$code" = 303 ] || fail "the trigger form answered $code"
expect_line "$T/form.h" '^Location: /pipelines/[0-9]+'
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data "token=wrong&branch=main" \
	"$base/api/pipelines")
[ "$code" = 401 ] || fail "the trigger form with a wrong token answered $code"
serve_stop
[ "$serve_rc" -eq 0 ] || fail "serve did not stop cleanly"
echo "ok"
