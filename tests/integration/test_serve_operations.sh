#!/bin/sh
# What an operator sees of a running `shipyard serve` after one polled
# pipeline that reported its statuses to a fake GitHub.
# Metrics: promtool (Prometheus' own checker) accepts the real /metrics and
# its naming; statuses are counted under the repository's forge kind, the
# outbox backlog is 0 once they are sent, the pipeline and build duration
# histograms hold the run, and the published channel has its last-publish
# time.
# Logs: started as systemd would, with $JOURNAL_STREAM naming its stderr,
# every line of the service carries a journal priority (<6> info, <4> a
# refused webhook), while the pipeline's own log file, which the child
# writes with the same environment, stays plain.
. "$(dirname "$0")/lib.sh"
need_root
command -v promtool >/dev/null || skip "needs promtool (scripts/deps.sh installs prometheus)"
command -v node >/dev/null || skip "needs node (scripts/deps.sh installs nodejs)"
command -v curl >/dev/null || skip "needs curl"

token="ghp_metrics_test"
minidistro "$T/work"
git_ clone -q --bare "$T/work" "$T/remote.git"
printf '%s\n' "$token" >"$T/token"
chmod 600 "$T/token"

forge_start "$token"

cat >"$T/serve.conf" <<EOF
[serve]
	listen = 127.0.0.1:0
	state = $T/state
	shutdowntimeout = 1
[repo "mini"]
	remote = file://$T/remote.git
	branch = main
	poll = 1
	forge = github
	api = http://127.0.0.1:$forge_port
	project = example/mini
	tokenfile = $T/token
	jobs = 2
EOF
# stderr "is the journal": JOURNAL_STREAM names the log file's device and
# inode, as systemd names the stream it connects (systemd.exec(5)).
: >"$T/serve.log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$T/serve.log")
export JOURNAL_STREAM
serve_start "$T/serve.conf"
unset JOURNAL_STREAM

# The first poll queues pipeline 1; wait for it and for its statuses.
i=0
until curl -fs "$base/metrics" >"$T/metrics" &&
	grep -Eq '^shipyard_pipeline_duration_seconds_count\{state="success"\} 1$' "$T/metrics" &&
	grep -Eq '^shipyard_outbox_pending_statuses 0$' "$T/metrics"; do
	i=$((i + 1))
	[ "$i" -lt 1800 ] || { tail -n 30 "$T/serve.log"; cat "$T/metrics"; fail "no finished pipeline in /metrics"; }
	sleep 0.2
done

promtool check metrics <"$T/metrics" >"$T/promtool.out" 2>&1 ||
	{ cat "$T/promtool.out"; fail "promtool check metrics rejected /metrics"; }
expect_line "$T/metrics" '^shipyard_statuses_sent_total\{forge="github",outcome="accepted"\} [1-9][0-9]*$'
expect_no_line "$T/metrics" 'forge="forge"'
expect_line "$T/metrics" '^shipyard_build_duration_seconds_count\{state="built"\} [1-9][0-9]*$'
expect_line "$T/metrics" '^# HELP shipyard_build_duration_seconds Seconds one spec.s build ran'
expect_line "$T/metrics" '^shipyard_publish_last_success_timestamp_seconds\{channel="main"\} [0-9]+\.[0-9]{3}$'
published=$(sed -n 's/^shipyard_publish_last_success_timestamp_seconds{channel="main"} \([0-9]*\)\..*/\1/p' "$T/metrics")
now=$(date +%s)
[ "$published" -le "$now" ] && [ "$published" -gt $((now - 3600)) ] ||
	fail "last publish time $published is not within the last hour of $now"
expect_line "$T/metrics" '^shipyard_queue_length 0$'

# A webhook for no configured forge repository is refused: a warning.
curl -s -o /dev/null -X POST "$base/hooks/gitlab" -H 'Content-Type: application/json' \
	-H 'X-Gitlab-Event: Push Hook' --data-binary '{}' || true
serve_stop
expect_line "$T/serve.log" '^<6>serving on 127\.0\.0\.1:'
expect_line "$T/serve.log" '^<6>pipeline 1: success$'
expect_line "$T/serve.log" '^<4>warning: webhook refused: forge=gitlab'
expect_no_line "$T/serve.log" '^shipyard: '
bad=$(grep -cv '^<[3467]>' "$T/serve.log" || true)
[ "$bad" -eq 0 ] || { cat "$T/serve.log"; fail "$bad lines of the service without a priority"; }
log=$T/state/pipelines/1/pipeline.log
expect_line "$log" '^shipyard: '
expect_no_line "$log" '^<[0-9]>'
echo "PASS: promtool accepts /metrics; statuses by forge kind, backlog, durations, publish time; journal priorities"
