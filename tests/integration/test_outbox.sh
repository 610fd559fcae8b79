#!/bin/sh
# The fake forge the status tests rely on (tests/fakeforge/server.js): a
# well-formed GitHub status is accepted and recorded as valid; a body that
# breaks the schema from GitHub's OpenAPI description, a wrong token, a
# description over 140 characters and the forced 5xx/403/422 answers get the
# answers a real forge gives; /__calls and /__reset work. The outbox itself is
# driven through this server by build/tests/test_outbox
# (test_outbox_drains_to_fake_forge_through_500_403_and_422).
. "$(dirname "$0")/lib.sh"

[ -f "$TOP/tests/npm/node_modules/ajv/package.json" ] ||
	skip "tests/npm/node_modules is absent (scripts/deps.sh runs npm ci there)"
command -v node >/dev/null || skip "node is not installed"
command -v curl >/dev/null || skip "curl is not installed"

SHA=0123456789abcdef0123456789abcdef01234567
node "$TOP/tests/fakeforge/server.js" 0 "$T/calls.jsonl" tok-it >"$T/forge.out" 2>"$T/forge.err" &
FORGE_PID=$!
trap 'kill $FORGE_PID 2>/dev/null || true; rm -rf "$T"' EXIT
for _ in $(seq 50); do
	grep -q listening "$T/forge.out" && break
	sleep 0.1
done
PORT=$(sed -n 's/^fakeforge listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$T/forge.out")
[ -n "$PORT" ] || { cat "$T/forge.err"; fail "fake forge did not start"; }
URL=http://127.0.0.1:$PORT

# post TOKEN BODY: prints the HTTP status of a GitHub status call.
post() {
	curl -s -o "$T/answer" -w '%{http_code}' -X POST \
		-H "Authorization: Bearer $1" -H 'Accept: application/vnd.github+json' \
		-H 'X-GitHub-Api-Version: 2022-11-28' -H 'Content-Type: application/json' \
		-H 'User-Agent: shipyard-test' --data "$2" "$URL/repos/octo/distro/statuses/$SHA"
}

expect_status() {
	[ "$1" = "$2" ] || { cat "$T/answer"; fail "$3: HTTP $1, expected $2"; }
}

expect_status "$(post tok-it '{"state":"pending","context":"shipyard/plan","target_url":null}')" 201 "valid status"
expect_status "$(post tok-it '{"state":"running","context":"shipyard/plan"}')" 422 "state outside the schema"
expect_line "$T/answer" 'schema: /state must be equal to one of the allowed values'
expect_status "$(post wrong '{"state":"success"}')" 401 "wrong token"
LONG=$(printf 'x%.0s' $(seq 141))
expect_status "$(post tok-it "{\"state\":\"failure\",\"description\":\"$LONG\"}")" 422 "description of 141 characters"
expect_line "$T/answer" 'description is too long \(maximum is 140 characters\)'

curl -sf -X POST "$URL/__fail" -d '{"status":503,"count":1}' >/dev/null || fail "/__fail 503"
curl -sf -X POST "$URL/__fail" -d '{"status":403,"retry_after":7}' >/dev/null || fail "/__fail 403"
expect_status "$(post tok-it '{"state":"success"}')" 503 "forced 503"
curl -s -D "$T/headers" -o /dev/null -X POST -H 'Authorization: Bearer tok-it' \
	-H 'Content-Type: application/json' --data '{"state":"success"}' \
	"$URL/repos/octo/distro/statuses/$SHA"
expect_line "$T/headers" '^HTTP/1.1 403'
expect_line "$T/headers" '^retry-after: 7'
expect_line "$T/headers" '^x-ratelimit-remaining: 0'

curl -sf "$URL/__calls" >"$T/calls.json" || fail "/__calls"
[ "$(grep -o '"forge":"github"' "$T/calls.json" | wc -l)" -eq 6 ] || fail "expected 6 recorded calls"
[ "$(wc -l <"$T/calls.jsonl")" -eq 6 ] || fail "expected 6 lines in the calls file"
expect_no_line "$T/calls.jsonl" 'tok-it'
expect_line "$T/calls.jsonl" '"token_matched":false'
[ "$(head -n1 "$T/calls.jsonl" | grep -c '"valid":true')" -eq 1 ] || fail "first call not valid"
curl -sf -X POST "$URL/__reset" >/dev/null || fail "/__reset"
[ "$(curl -sf "$URL/__calls")" = "[]" ] || fail "/__reset kept calls"
echo "PASS fake forge"
