#!/bin/sh
# The service keeps what it knows across restarts and keeps every pipeline's
# reports apart: a polled branch built before a restart is not queued again
# when nothing changed (the service reads the commit the channel was
# published from); and the same commit run twice (poll, then a schedule)
# leaves both pipelines' logs and reports intact, each in its own
# <state>/pipelines/<id>/.
. "$(dirname "$0")/lib.sh"
need_root
command -v jq >/dev/null || skip "needs jq"
command -v curl >/dev/null || skip "needs curl"

state=$T/state
minidistro "$T/work"
git_ clone -q --bare "$T/work" "$T/remote.git"
head=$(git -C "$T/work" rev-parse HEAD)

# conf [SCHEDULE]: the service's configuration, polling every second.
conf() {
	cat >"$T/serve.conf" <<EOF2
[serve]
	listen = 127.0.0.1:0
	state = $state
[repo "mini"]
	remote = file://$T/remote.git
	branch = main
	poll = 1
EOF2
	[ -z "${1:-}" ] || printf '\tschedule = %s\n' "$1" >>"$T/serve.conf"
}
stop() {
	serve_stop
	[ "$serve_rc" -eq 0 ] || fail "serve did not stop cleanly"
}
# wait_pipelines N: until N pipelines exist and none is queued or running.
wait_pipelines() {
	i=0
	until curl -fs "$base/api/pipelines" >"$T/list.json" &&
		[ "$(jq '.pipelines | length' "$T/list.json")" -eq "$1" ] &&
		[ "$(jq '[.pipelines[] | select(.state == "queued" or .state == "running")] | length' \
			"$T/list.json")" -eq 0 ]; do
		i=$((i + 1))
		[ "$i" -lt 1200 ] || { cat "$T/list.json"; tail -n 20 "$T/serve.log"; fail "no $1 finished pipelines"; }
		sleep 0.1
	done
}

# 1. The poll builds the branch head and publishes it.
conf
serve_start "$T/serve.conf" "$T/serve.log"
wait_pipelines 1
[ "$(jq -r '.pipelines[0].state' "$T/list.json")" = success ] || fail "the polled pipeline failed"
[ -f "$state/repos/main/published.json" ] || fail "no published.json for main"
stop

# 2. Restarted, the service polls the same head: nothing is queued.
serve_start "$T/serve.conf" "$T/serve2.log"
sleep 3
expect_line "$T/serve2.log" 'serving on'
curl -fs "$base/api/pipelines" >"$T/list.json"
[ "$(jq '.pipelines | length' "$T/list.json")" -eq 1 ] || {
	cat "$T/list.json"
	fail "the unchanged branch was queued again after a restart"
}
expect_no_line "$T/serve2.log" '^shipyard: poll: repo=mini branch=main'
stop

# 3. The same commit again, from a schedule: a second pipeline that builds
# nothing; the first one's logs and reports stay as they were.
first=$(jq -r '.pipelines[0].id' "$T/list.json")
[ -f "$state/pipelines/$first/build-summary.json" ] || fail "pipeline $first has no build-summary.json"
cp "$state/pipelines/$first/build-summary.json" "$T/summary1.json"
ls "$state/pipelines/$first/logs" >"$T/logs1"
grep -q '^hello\.log$' "$T/logs1" || fail "pipeline $first has no hello.log"
conf '* * * * *'
serve_start "$T/serve.conf" "$T/serve3.log"
wait_pipelines 2
second=$(jq -r '.pipelines[0].id' "$T/list.json")
[ "$second" != "$first" ] || fail "no second pipeline"
[ "$(jq -r '.pipelines[0].head' "$T/list.json")" = "$head" ] || fail "the schedule ran another commit"
[ "$(jq -r '.pipelines[0].trigger' "$T/list.json")" = schedule ] || fail "the second pipeline is not the schedule's"
cmp -s "$state/pipelines/$first/build-summary.json" "$T/summary1.json" ||
	fail "the second run of the commit changed the first one's build-summary.json"
ls "$state/pipelines/$first/logs" | cmp -s - "$T/logs1" || fail "the first run's logs changed"
[ "$(jq '.counts.built' "$T/summary1.json")" -gt 0 ] || fail "the first run built nothing"
[ -f "$state/pipelines/$second/pipeline.log" ] || fail "pipeline $second has no pipeline.log"
[ -f "$state/pipelines/$second/plan.json" ] || fail "pipeline $second has no plan.json"
[ "$(jq '.jobs | length' "$state/pipelines/$second/build-summary.json")" -eq 0 ] ||
	fail "pipeline $second reports jobs it did not run"
curl -fs "$base/api/pipelines/$second" >"$T/second.json"
# Its image job (the image found unchanged) is its own; no build job is.
[ "$(jq '[.jobs[] | select(.kind == "build")] | length' "$T/second.json")" -eq 0 ] || {
	cat "$T/second.json"
	fail "the dashboard shows jobs of another pipeline for pipeline $second"
}
curl -fs "$base/api/pipelines/$first" >"$T/first.json"
[ "$(jq '.jobs | length' "$T/first.json")" -gt 0 ] || fail "pipeline $first lost its jobs"
stop
echo ok
