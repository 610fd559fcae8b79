#!/bin/sh
# Webhook latency of `shipyard serve` (issue 5, "Checked by"), on loopback:
#   - webhook-to-202: wrk (a second process) POSTs signed GitHub push
#     deliveries, each with its own delivery id, over 2 connections for 10 s
#     (a bounded load: each connection waits for its answer); p50 and p99 of
#     the time to the 202, and the requests per second;
#   - webhook-to-pending-status: 20 deliveries one at a time, each for its
#     own commit; the time from sending it to the fake forge
#     (tests/fakeforge) receiving "shipyard/plan pending" for that commit.
# Each delivery queues a pipeline; the repository's remote does not exist, so
# the pipelines end at once instead of competing for the CPU.
# Figures, not pass/fail; targets: p99 to 202 under 10 ms, to the pending
# status under 500 ms.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
shipyard=$top/build/shipyard
examples=$top/tests/npm/node_modules/@octokit/webhooks-examples/api.github.com/index.json
say() { echo "bench/webhook: $*"; }
for tool in wrk node jq curl openssl; do
	command -v "$tool" >/dev/null || { say "skipped: $tool is missing (scripts/deps.sh)"; exit 0; }
done
[ -f "$examples" ] || { say "skipped: tests/npm/node_modules is missing"; exit 0; }
[ -x "$shipyard" ] || { echo "bench/webhook: build first" >&2; exit 2; }

tmp=$(mktemp -d /tmp/shipyard-bench-webhook-XXXXXX)
forge_pid="" serve_pid=""
cleanup() {
	[ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
	[ -n "$forge_pid" ] && kill "$forge_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

secret=bench-secret
printf '%s\n' "$secret" >"$tmp/secret"
printf 'token\n' >"$tmp/token"
node "$top/tests/fakeforge/server.js" 0 "$tmp/calls.jsonl" token >"$tmp/forge.out" 2>&1 &
forge_pid=$!
wait_for() { # FILE SED-EXPR: prints the first match, waiting for it
	i=0
	until v=$(sed -n "$2" "$1" 2>/dev/null | head -n 1) && [ -n "$v" ]; do
		i=$((i + 1))
		[ "$i" -lt 100 ] || { cat "$1" >&2; exit 1; }
		sleep 0.1
	done
	echo "$v"
}
forge_port=$(wait_for "$tmp/forge.out" 's/^fakeforge listening on 127.0.0.1:\([0-9]*\)$/\1/p')
cat >"$tmp/serve.conf" <<EOF
[serve]
	listen = 127.0.0.1:0
	state = $tmp/state
[repo "bench"]
	remote = file://$tmp/absent.git
	forge = github
	api = http://127.0.0.1:$forge_port
	project = example/bench
	tokenfile = $tmp/token
	secretfile = $tmp/secret
EOF
"$shipyard" serve -c "$tmp/serve.conf" >"$tmp/serve.log" 2>&1 &
serve_pid=$!
port=$(wait_for "$tmp/serve.log" 's/.*serving on 127.0.0.1:\([0-9]*\) .*/\1/p')
url=http://127.0.0.1:$port/hooks/github

# payload SHA: a real push example for commit SHA.
payload() {
	jq -c --arg after "$1" '[.[] | select(.name == "push") | .examples[]
		| select(.deleted == false and (.ref | startswith("refs/heads/")))][0]
		| .ref = "refs/heads/main" | .after = $after
		| .repository.full_name = "example/bench"' "$examples"
}
sign() { echo "sha256=$(printf '%s' "$1" | openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)"; }

# Webhook to 202 under load.
body=$(payload 1111111111111111111111111111111111111111)
sig=$(sign "$body")
lua_body=$(printf '%s' "$body" | sed 's/\\/\\\\/g; s/"/\\"/g')
cat >"$tmp/post.lua" <<EOF
wrk.method = "POST"
wrk.body = "$lua_body"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-GitHub-Event"] = "push"
wrk.headers["X-Hub-Signature-256"] = "$sig"
local n = 0
request = function()
	n = n + 1
	wrk.headers["X-GitHub-Delivery"] = string.format("bench-%d-%d", n, math.random(1, 1000000000))
	return wrk.format(nil, "/hooks/github", wrk.headers, wrk.body)
end
local bad = 0
response = function(status, headers, body)
	if status ~= 202 then bad = bad + 1 end
end
done = function(summary, latency, requests)
	io.write(string.format("p50 %.3f p99 %.3f rps %.1f requests %d non202 %d\n",
		latency:percentile(50) / 1000, latency:percentile(99) / 1000,
		summary.requests / (summary.duration / 1e6), summary.requests, bad))
end
EOF
wrk -t 1 -c 2 -d 10s -s "$tmp/post.lua" "$url" >"$tmp/wrk.out" 2>&1
line=$(grep '^p50 ' "$tmp/wrk.out") || { cat "$tmp/wrk.out"; exit 1; }
set -- $line
say "webhook to 202 (wrk, 2 connections, 10 s): p50 $2 ms, p99 $4 ms, $6 requests/s, $8 requests (${10} not 202) (target p99 < 10 ms)"

# Webhook to the pending status at the forge.
: >"$tmp/pending.ms"
for i in $(seq 1 20); do
	sha=$(printf '%040x' "$((0x2000000 + i))")
	body=$(payload "$sha")
	t0=$(date +%s%N)
	curl -s -o /dev/null -X POST "$url" -H 'Content-Type: application/json' \
		-H 'X-GitHub-Event: push' -H "X-GitHub-Delivery: pending-$i" \
		-H "X-Hub-Signature-256: $(sign "$body")" --data-binary "$body"
	until grep -q "\"/repos/example/bench/statuses/$sha\"" "$tmp/calls.jsonl" 2>/dev/null; do
		sleep 0.002
	done
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000)) >>"$tmp/pending.ms"
done
sort -n "$tmp/pending.ms" | awk '{ a[NR] = $1 } END {
	printf "bench/webhook: webhook to pending status at the forge (20 deliveries, one at a time): p50 %.1f ms, max %.1f ms (target < 500 ms)\n", a[int((NR + 1) / 2)] / 1000, a[NR] / 1000 }'
