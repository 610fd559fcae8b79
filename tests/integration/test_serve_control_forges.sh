#!/bin/sh
# Pull request comment commands from Gitea and GitLab, end to end: one
# service watching a repository through Gitea and through GitLab (a fake
# forge, tests/fakeforge, serving both APIs and checking every call), each
# with a pull request that bumps hello and breaks libbanner. Deliveries are
# the forges' own shapes (tests/fixtures/webhooks: Gitea's issue_comment
# signed in X-Gitea-Signature, GitLab's Note Hook with X-Gitlab-Token).
# Neither forge says in the payload whether the commenter may write, so
# shipyard asks the permission API (Gitea collaborators/{user}/permission,
# GitLab members/all/{id}) with the repository's token: a writer's
# "/shipyard retry" queues a retry and gets a +1 (Gitea reaction "+1",
# GitLab award emoji "thumbsup"); a reader, and a user the forge does not
# know, are refused with a -1 and a reply on the pull request.
. "$(dirname "$0")/lib.sh"
need_root
command -v node >/dev/null || skip "needs node (scripts/deps.sh installs nodejs)"
command -v jq >/dev/null || skip "needs jq"
command -v curl >/dev/null || skip "needs curl"
command -v openssl >/dev/null || skip "needs openssl"
[ -d "$TOP/tests/npm/node_modules/ajv" ] || skip "needs tests/npm/node_modules (scripts/deps.sh runs npm ci)"
FIX=$TOP/tests/fixtures/webhooks

secret="forges-secret"
token="forge_token_never_logged_42"
state=$T/state
work=$T/work
remote=$T/remote.git
minidistro "$work"
git_ clone -q --bare "$work" "$remote"
git_ -C "$work" remote add origin "$remote"
printf '%s\n' "$secret" >"$T/secret"
printf '%s\n' "$token" >"$T/token"
chmod 600 "$T/secret" "$T/token"

forge_start "$token"
[ -n "${KEEP:-}" ] && trap - EXIT

# The project path is the fixtures' (distro/minidistro); each forge's
# pipelines publish to their own channels.
cat >"$T/serve.conf" <<EOF2
[serve]
	listen = 127.0.0.1:0
	state = $state
	shutdowntimeout = 1
[repo "gt"]
	remote = file://$remote
	branch = main
	forge = gitea
	api = $forge
	project = distro/minidistro
	tokenfile = $T/token
	secretfile = $T/secret
	channelprefix = gt-
	jobs = 2
[repo "gl"]
	remote = file://$remote
	branch = main
	forge = gitlab
	api = $forge/api/v4
	project = distro/minidistro
	tokenfile = $T/token
	secretfile = $T/secret
	channelprefix = gl-
	jobs = 2
EOF2
serve_start "$T/serve.conf"

# headers FIXTURE: its headers with a fresh delivery id, in $T/headers.
headers() {
	uuid=$(cat /proc/sys/kernel/random/uuid)
	sed "s/[0-9a-f]\{8\}-[0-9a-f-]\{27\}/$uuid/" "$FIX/$1.headers" >"$T/headers"
}

# gitea FIXTURE BODY: delivered as Gitea does (hex HMAC-SHA256, no prefix).
gitea() {
	headers "$1"
	sig=$(openssl dgst -sha256 -hmac "$secret" -r "$2" | cut -d' ' -f1)
	curl -s -o "$T/reply" -w '%{http_code}' -X POST "$base/hooks/gitea" \
		-H @"$T/headers" -H "X-Gitea-Signature: $sig" --data-binary "@$2"
}

# gitlab FIXTURE BODY: delivered as GitLab does (the secret as token).
gitlab() {
	headers "$1"
	curl -s -o "$T/reply" -w '%{http_code}' -X POST "$base/hooks/gitlab" \
		-H @"$T/headers" -H "X-Gitlab-Token: $secret" --data-binary "@$2"
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

permission() { # JSON: what the fake forge's permission endpoints answer
	curl -fs -X POST -H 'Content-Type: application/json' --data-binary "$1" \
		"$forge/__permission" >/dev/null || fail "cannot set permission $1"
}

# The pull request: hello bumped (builds), libbanner broken (fails).
basesha=$(git -C "$work" rev-parse HEAD)
git_ -C "$work" checkout -q -b broken
sed -i 's|^Release:.*|Release:        9%{?dist}|' "$work/SPECS/hello/hello.spec"
sed -i 's/^%build$/%build\nexit 1/' "$work/SPECS/libbanner/libbanner.spec"
git_ -C "$work" commit -q -am "hello bumped, libbanner broken"
git_ -C "$work" push -q origin broken
head=$(git -C "$work" rev-parse HEAD)

jq --arg sha "$head" --arg base "$basesha" '
	.pull_request.head.sha = $sha | .pull_request.head.ref = "broken"
	| .pull_request.base.sha = $base | .pull_request.merge_base = $base' \
	"$FIX/gitea/pull_request_opened.json" >"$T/gt-pr.json"
[ "$(gitea gitea/pull_request_opened "$T/gt-pr.json")" = 202 ] ||
	{ cat "$T/reply"; fail "Gitea pull request not 202"; }
gt_pr=$(jq -r .pipeline "$T/reply")
jq --arg sha "$head" --arg base "$basesha" '
	.object_attributes.last_commit.id = $sha | .object_attributes.source_branch = "broken"
	| .object_attributes.diff_refs = {"base_sha": $base, "head_sha": $sha, "start_sha": $base}' \
	"$FIX/gitlab/merge_request_open.json" >"$T/gl-mr.json"
[ "$(gitlab gitlab/merge_request_open "$T/gl-mr.json")" = 202 ] ||
	{ cat "$T/reply"; fail "GitLab merge request not 202"; }
gl_mr=$(jq -r .pipeline "$T/reply")
wait_pipeline "$gt_pr" failure
wait_pipeline "$gl_mr" failure

# Who may write: on Gitea alice (write) and mallory (read), carol unknown;
# on GitLab user 9 a Developer (30), user 11 a Reporter (20).
permission '{"user":"alice","permission":"write"}'
permission '{"user":"mallory","permission":"read"}'
permission '{"user_id":9,"access_level":30}'
permission '{"user_id":11,"access_level":20}'

# gt_comment LOGIN ID BODY / gl_note LOGIN USER_ID ID BODY: a comment on the
# pull (merge) request, delivered.
gt_comment() {
	jq --arg login "$1" --argjson id "$2" --arg body "$3" '
		.comment.id = $id | .comment.body = $body | .comment.user.login = $login
		| .comment.user.username = $login | .sender.login = $login
		| .sender.username = $login' \
		"$FIX/gitea/issue_comment_pull_created.json" >"$T/gt-comment.json"
	gitea gitea/issue_comment_pull_created "$T/gt-comment.json"
}
gl_note() {
	jq --arg login "$1" --argjson uid "$2" --argjson id "$3" --arg body "$4" '
		.object_attributes.id = $id | .object_attributes.note = $body
		| .object_attributes.description = $body | .object_attributes.author_id = $uid
		| .user.id = $uid | .user.username = $login' \
		"$FIX/gitlab/note_merge_request.json" >"$T/gl-note.json"
	gitlab gitlab/note_merge_request "$T/gl-note.json"
}

# Gitea: a reader and an unknown user are refused, a writer's retry queued.
[ "$(gt_comment mallory 601 '/shipyard retry')" = 200 ] || { cat "$T/reply"; fail "reader not 200"; }
expect_line "$T/reply" '"refused":"no write access"'
wait_calls '.forge == "gitea" and .kind == "permission" and .params.user == "mallory"'
wait_calls '.forge == "gitea" and .kind == "reaction" and .params.comment_id == "601" and .body.content == "-1"'
wait_calls '.forge == "gitea" and .kind == "comment-create" and .params.number == "12" and (.body.body | startswith("@mallory: sorry, only people with write access"))'
[ "$(gt_comment carol 602 '/shipyard retry')" = 200 ] || fail "unknown user not 200"
expect_line "$T/reply" '"refused":"no write access"'
wait_calls '.forge == "gitea" and .kind == "comment-create" and (.body.body | startswith("@carol: sorry"))'
[ "$(gt_comment alice 603 'The mirror was down.
/shipyard retry')" = 202 ] || { cat "$T/reply"; fail "Gitea writer retry not 202"; }
gt_retry=$(jq -r .pipeline "$T/reply")
wait_calls '.forge == "gitea" and .kind == "permission" and .params.user == "alice" and .params.owner == "distro" and .params.repo == "minidistro"'
wait_calls '.forge == "gitea" and .kind == "reaction" and .params.comment_id == "603" and .body.content == "+1"'

# GitLab: the same, the permission asked by user id.
[ "$(gl_note mallory 11 701 '/shipyard retry')" = 200 ] || { cat "$T/reply"; fail "reporter not 200"; }
expect_line "$T/reply" '"refused":"no write access"'
wait_calls '.forge == "gitlab" and .kind == "permission" and .params.user_id == "11"'
wait_calls '.forge == "gitlab" and .kind == "reaction" and .params.comment_id == "701" and .body.name == "thumbsdown"'
wait_calls '.forge == "gitlab" and .kind == "comment-create" and .params.number == "5" and (.body.body | startswith("@mallory: sorry, only people with write access"))'
[ "$(gl_note bob 9 702 '/shipyard retry')" = 202 ] || { cat "$T/reply"; fail "GitLab developer retry not 202"; }
gl_retry=$(jq -r .pipeline "$T/reply")
wait_calls '.forge == "gitlab" and .kind == "permission" and .params.user_id == "9" and .params.id == "distro/minidistro"'
wait_calls '.forge == "gitlab" and .kind == "reaction" and .params.comment_id == "702" and .body.name == "thumbsup"'

# The retries are the pull requests', asked by the commenters; hello is
# reused, libbanner built again.
for r in "gt $gt_retry gitea:alice" "gl $gl_retry gitlab:bob"; do
	set -- $r
	wait_pipeline "$2" failure
	curl -fs "$base/api/pipelines/$2" >"$T/retry.json"
	jq -e --arg repo "$1" --arg by "$3" '.repo == $repo and .trigger == "retry" and
		.requested_by == $by' "$T/retry.json" >/dev/null ||
		{ jq -c '{repo, trigger, requested_by, ref}' "$T/retry.json"; fail "$1: not $3's retry"; }
	[ "$(jq -r '.jobs[] | select(.name == "hello") | .state' "$T/retry.json")" = reused ] ||
		{ jq -c '.jobs' "$T/retry.json"; fail "$1: hello was not reused by the retry"; }
	[ "$(jq -r '.jobs[] | select(.name == "libbanner") | .state' "$T/retry.json")" = failed ] ||
		fail "$1: libbanner was not built again"
done

# Every call was valid and carried the token, the permission calls too.
curl -fs "$forge/__calls" >"$T/calls.json"
[ "$(jq '[.[] | select(.valid | not)] | length' "$T/calls.json")" = 0 ] ||
	{ jq -c '.[] | select(.valid | not)' "$T/calls.json"; fail "invalid forge calls"; }
[ "$(jq '[.[] | select(.token_matched != true)] | length' "$T/calls.json")" = 0 ] ||
	{ jq -c '.[] | select(.token_matched != true)' "$T/calls.json"; fail "a forge call without the token"; }
[ "$(jq '[.[] | select(.kind == "permission")] | length' "$T/calls.json")" -ge 5 ] ||
	fail "not every command asked the permission API"
! grep -q "$token" "$T/serve.log" || fail "the forge token was logged"
serve_stop
[ "$serve_rc" -eq 0 ] || fail "serve did not stop cleanly"
echo "ok"
