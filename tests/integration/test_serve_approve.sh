#!/bin/sh
# Approving a held plan through the service's API. `shipyard serve` polls a
# real repository of the example distribution; its first commit is built
# and published. Without serve.apitokens, POST /api/pipelines/<id>/approve
# answers 403; a token file open to group or others stops the start. Then a
# commit adds one unused macro to the macro package and plan.maxrebuild = 3
# (as tests/integration/test_cascade_guard.sh): its pipeline is held,
# "failure" with "approval needed" on the dashboard and nothing built. The
# approval is refused without a token (401, with a challenge), with a wrong
# one (401), for a pipeline that was not held (409), for an unknown one
# (404) and for GET (405); with the token it is accepted (202), queues a
# pipeline that builds every spec with --approve and publishes, and the
# dashboard says who approved it; approving again is 409. With node, a
# fake GitHub (tests/fakeforge) sees shipyard/plan end in failure, then in
# success once approved. The token is never logged or shown.
. "$(dirname "$0")/lib.sh"
need_root
command -v jq >/dev/null || skip "needs jq"
command -v curl >/dev/null || skip "needs curl"

token=shipyard-test-token-0123456789abcdef
state=$T/state
work=$T/work
remote=$T/remote.git
minidistro "$work"
git_ clone -q --bare "$work" "$remote"
git_ -C "$work" remote add origin "$remote"
headA=$(git -C "$work" rev-parse HEAD)

# A fake GitHub when node and the test packages are there: the statuses of
# the held commit must end in success once it is approved.
forge_conf=""
if command -v node >/dev/null && [ -d "$TOP/tests/npm/node_modules/ajv" ]; then
	printf '%s\n' ghp_forge_token_never_logged >"$T/forge-token"
	chmod 600 "$T/forge-token"
	forge_start ghp_forge_token_never_logged
	forge_conf=$(printf '\tforge = github\n\tapi = http://127.0.0.1:%s\n\tproject = example/mini\n\ttokenfile = %s\n' \
		"$forge_port" "$T/forge-token")
else
	echo "note: node or tests/npm missing: forge statuses not checked"
fi

# conf [APITOKENS]: the service's configuration, polling every second.
conf() {
	cat >"$T/serve.conf" <<EOF
[serve]
	listen = 127.0.0.1:0
	state = $state
	shutdowntimeout = 5
EOF
	[ -z "${1:-}" ] || printf '\tapitokens = %s\n' "$1" >>"$T/serve.conf"
	cat >>"$T/serve.conf" <<EOF
[repo "mini"]
	remote = file://$remote
	branch = main
	poll = 1
	jobs = 2
$forge_conf
EOF
}

# start: starts the service, sets $serve_pid and $base once it answers.
start() {
	serve_start "$T/serve.conf"
}

stop() {
	serve_stop
	[ "$serve_rc" -eq 0 ] || fail "serve did not stop cleanly"
	cat "$T/serve.log" >>"$T/serve.all.log"
	: >"$T/serve.log"
}

# wait_head HEAD STATE: waits until the latest pipeline of HEAD has ended
# in STATE; prints its id.
wait_head() {
	i=0
	while :; do
		got=$(curl -fs "$base/api/pipelines" | jq -r --arg h "$1" \
			'[.pipelines[] | select(.head == $h)][0] | "\(.id) \(.state)"' 2>/dev/null || true)
		id=${got% *}
		st=${got#* }
		[ "$st" = "$2" ] && { echo "$id"; return 0; }
		case $st in success | failure | error | cancelled | superseded)
			tail -n 20 "$state/pipelines/$id/pipeline.log" >&2
			fail "pipeline $id of $1 ended $st, not $2" ;;
		esac
		i=$((i + 1))
		[ "$i" -lt 1800 ] || { tail -n 30 "$T/serve.log" >&2; fail "no pipeline of $1 ended"; }
		sleep 0.1
	done
}

# approve ID [TOKEN] [METHOD]: the HTTP status of an approval, the body in
# $T/reply, the headers in $T/reply.h.
approve() {
	set -- "$1" "${2:-}" "${3:-POST}"
	if [ -n "$2" ]; then
		curl -s -o "$T/reply" -D "$T/reply.h" -w '%{http_code}' -X "$3" \
			-H "Authorization: Bearer $2" "$base/api/pipelines/$1/approve"
	else
		curl -s -o "$T/reply" -D "$T/reply.h" -w '%{http_code}' -X "$3" \
			"$base/api/pipelines/$1/approve"
	fi
}

# statuses SHA: "context state" of every status call for SHA, in order.
statuses() {
	jq -r --arg sha "$1" 'select((.path | endswith("/statuses/" + $sha)) and .status < 300)
		| "\(.body.context) \(.body.state)"' "$T/calls.jsonl"
}

# 1. The first commit is built and published; writes are disabled.
conf
start
idA=$(wait_head "$headA" success)
[ "$(approve "$idA" "$token")" = 403 ] || { cat "$T/reply"; fail "approval without serve.apitokens not 403"; }
jq -e '.error == "API writes are disabled: no serve.apitokens"' "$T/reply" >/dev/null ||
	{ cat "$T/reply"; fail "403 without the one-line JSON error"; }
stop

# 2. A token file others may read stops the start; mode 0600 is taken.
printf '# name token\nalice %s\nbob %s\n' "$token" other-token-0123456789abcdef >"$T/api-tokens"
chmod 640 "$T/api-tokens"
conf "$T/api-tokens"
rc=0
"$SHIPYARD" serve -c "$T/serve.conf" >"$T/refused.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "serve started with a token file open to its group"
expect_line "$T/refused.log" "serve.apitokens '$T/api-tokens': group or others may access it \\(mode 0640\\); chmod 600 it"
chmod 600 "$T/api-tokens"
start
expect_line "$T/serve.log" 'API writes enabled for 2 tokens'

# 3. One unused macro and plan.maxrebuild = 3: the next pipeline is held.
macros=$work/SPECS/minidistro-rpm-macros
printf '%%minidistro_unused 1\n' >>"$macros/macros"
printf '{"Signatures": {"macros": "%s"}}\n' "$(sha256sum "$macros/macros" | cut -d' ' -f1)" \
	>"$macros/minidistro-rpm-macros.signatures.json"
printf '[plan]\n\tmaxrebuild = 3\n' >>"$work/shipyard.conf"
git_ -C "$work" commit -q -am "macros: one unused macro; plan.maxrebuild = 3"
git_ -C "$work" push -q origin main
headB=$(git -C "$work" rev-parse HEAD)
nspecs=$(ls -d "$work"/SPECS/*/ | wc -l)
held=$(wait_head "$headB" failure)
curl -fs "$base/api/pipelines/$held" >"$T/held.json"
jq -e --arg id "$held" --arg n "$nspecs" '.approval.state == "needed" and
	(.approval.reason | startswith("\($n) specs to build, over plan.maxrebuild 3; biggest causes: global inputs \($n)")) and
	.approval.approve == "/api/pipelines/\($id)/approve" and
	(.approval.command | endswith("\($id)/approve")) and
	(.approval.command | contains("$SHIPYARD_TOKEN"))' "$T/held.json" >/dev/null ||
	{ cat "$T/held.json"; fail "the held pipeline does not say approval is needed"; }
[ ! -e "$state/pipelines/$held/build_state.csv" ] || fail "the held pipeline built"
jq -e --arg a "$headA" '.commit == $a' "$state/repos/main/published.json" >/dev/null ||
	fail "the held pipeline published"
curl -fs "$base/pipelines/$held" >"$T/held.html"
expect_line "$T/held.html" 'class="badge s-approvalneeded">approval needed<'
expect_line "$T/held.html" "curl -X POST -H &quot;Authorization: Bearer \\\$SHIPYARD_TOKEN&quot; $base/api/pipelines/$held/approve"
curl -fs "$base/" >"$T/list.html"
expect_line "$T/list.html" 'class="badge s-approvalneeded"'

# 4. Refused approvals: nothing is queued.
[ "$(approve "$held")" = 401 ] || { cat "$T/reply"; fail "approval without a token not 401"; }
expect_line "$T/reply.h" '^WWW-Authenticate: Bearer realm="shipyard"'
jq -e '.error | length > 0' "$T/reply" >/dev/null || fail "401 without a JSON error"
[ "$(approve "$held" wrong-token-0123456789abcdef)" = 401 ] || fail "a wrong token not 401"
[ "$(approve "$held" "$token" GET)" = 405 ] || fail "GET of the approval not 405"
[ "$(approve "$idA" "$token")" = 409 ] || { cat "$T/reply"; fail "approving a successful pipeline not 409"; }
jq -e --arg id "$idA" '.error == "pipeline \($id) is success, not held for approval"' "$T/reply" >/dev/null ||
	{ cat "$T/reply"; fail "409 without the reason"; }
[ "$(approve 99999 "$token")" = 404 ] || fail "approving an unknown pipeline not 404"
[ "$(curl -fs "$base/api/pipelines" | jq '.pipelines | length')" -eq "$held" ] ||
	fail "a refused approval queued a pipeline"

# 5. The approval: queued at once, built with --approve, published. The
# forge has seen the held plan's failure first: the outbox sends only the
# latest state of a context, so an approval quicker than its sender would
# replace the failure before it left.
if [ -n "$forge_pid" ]; then
	i=0
	until statuses "$headB" | grep -q '^shipyard/plan failure$'; do
		i=$((i + 1))
		[ "$i" -lt 300 ] || { statuses "$headB"; fail "the held plan did not fail on the forge"; }
		sleep 0.1
	done
fi
[ "$(approve "$held" "$token")" = 202 ] || { cat "$T/reply"; fail "approval not 202"; }
run=$(jq -r '.pipeline' "$T/reply")
jq -e --arg h "$held" '.approves == ($h | tonumber) and .approved_by == "alice" and
	.url == "'"$base"'/pipelines/\(.pipeline)"' "$T/reply" >/dev/null ||
	{ cat "$T/reply"; fail "the approval's answer"; }
[ "$(approve "$held" "$token")" = 409 ] || fail "a second approval not 409"
jq -e --arg r "$run" '.error | endswith("approved by alice already: pipeline \($r)")' "$T/reply" >/dev/null ||
	{ cat "$T/reply"; fail "the second approval's reason"; }
[ "$(wait_head "$headB" success)" = "$run" ] || fail "the approved pipeline is not the latest of $headB"
log=$state/pipelines/$run/pipeline.log
expect_line "$log" "^approved: $nspecs specs to build, over plan.maxrebuild 3 \\(--approve\\)\$"
expect_line "$log" "^shipyard/build success $nspecs built"
jq -e --arg b "$headB" '.commit == $b' "$state/repos/main/published.json" >/dev/null ||
	fail "the approved pipeline did not publish"
curl -fs "$base/api/pipelines/$run" | jq -e --arg h "$held" '.trigger == "approval" and
	.approves == ($h | tonumber) and .approval == null' >/dev/null ||
	fail "the approved pipeline does not say what it approves"
curl -fs "$base/api/pipelines/$held" | jq -e --arg r "$run" '.state == "failure" and
	.approval.state == "approved" and .approval.approved_by == "alice" and
	(.approval.approved_at | test("^[0-9-]+T[0-9:.]+Z$")) and .approval.pipeline == ($r | tonumber)' >/dev/null ||
	fail "the held pipeline does not say who approved it"
curl -fs "$base/pipelines/$held" >"$T/approved.html"
expect_line "$T/approved.html" "approved by alice at [0-9-]+ [0-9:]+Z, built by pipeline <a href=\"/pipelines/$run\">"
expect_no_line "$T/approved.html" 'class="badge s-approvalneeded"'
expect_line "$T/serve.log" "api: pipeline $held approved by alice: pipeline $run queued"

# 6. The forge saw the held plan fail, then the approved one succeed.
if [ -n "$forge_pid" ]; then
	i=0
	until statuses "$headB" | grep -q '^shipyard/image/minimal-container success$'; do
		i=$((i + 1))
		[ "$i" -lt 300 ] || { statuses "$headB"; fail "no final image status for $headB"; }
		sleep 0.1
	done
	statuses "$headB" >"$T/st"
	grep -q '^shipyard/plan failure$' "$T/st" || { cat "$T/st"; fail "the held plan did not fail on the forge"; }
	[ "$(grep '^shipyard/plan ' "$T/st" | tail -n 1)" = "shipyard/plan success" ] ||
		{ cat "$T/st"; fail "shipyard/plan did not end in success once approved"; }
	grep -q '^shipyard/build success$' "$T/st" || { cat "$T/st"; fail "no shipyard/build success"; }
fi

stop
! grep -rq "$token" "$T/serve.all.log" "$state/pipelines" "$T/held.html" "$T/held.json" ||
	fail "the API token was logged or shown"
echo ok
