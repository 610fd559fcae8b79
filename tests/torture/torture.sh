#!/bin/sh
# Crash torture of `shipyard serve`: for N rounds a random fault scenario (a
# push to main, a pull request opened, synchronized or closed, a redelivery,
# a delivery cut by the crash, a crash alone; with or without a forge down
# or failing its first answers), then kill -9 of the service (one time in
# eight SIGTERM) after a random delay, and a restart. A `* * * * *`
# schedule is on while the rounds run, so that releases get crashed into
# too. At the end the service finishes everything and stops on SIGTERM, and
# tests/torture/invariants.sh checks: every accepted delivery built once,
# one right final status per commit and context, nothing leaked (mounts,
# processes, build roots, locks), every published repository consistent for
# dnf. Each broken invariant prints a line "FAIL <invariant>: ...".
#
# Usage: tests/torture/torture.sh [N]   (N rounds, default $TORTURE_N or 3)
#   TORTURE_SEED=S       repeats the choices of a run (its seed is printed
#                        first; where each kill lands is up to the machine)
#   TORTURE_SCHEDULE=0   no schedule while the rounds run
#   TORTURE_PIPELINES=N  serve.pipelines (default 1)
#   TORTURE_OVERLAP=1    half the restarts start the service beside the runs
#                        the crash interrupted, not once they stopped
#   KEEP=1               keeps the working directory (printed) for a look
# Needs root, node, jq, curl, dnf, sqlite3 (or python3) and unshare: the
# whole run happens in its own PID and mount namespaces, so that "no process
# left" means no process of this run, and nothing outlives it.
. "$(dirname "$0")/../integration/lib.sh"
need_root
command -v node >/dev/null || skip "needs node (scripts/deps.sh installs nodejs)"
command -v jq >/dev/null || skip "needs jq"
command -v curl >/dev/null || skip "needs curl"
command -v dnf >/dev/null || skip "needs dnf"
command -v sqlite3 >/dev/null || command -v python3 >/dev/null || skip "needs sqlite3 or python3"
examples=$TOP/tests/npm/node_modules/@octokit/webhooks-examples/api.github.com/index.json
[ -f "$examples" ] || skip "needs tests/npm/node_modules (scripts/deps.sh runs npm ci)"
[ -x "$SHIPYARD" ] || fail "$SHIPYARD is not built (make build/shipyard)"

if [ -z "${TORTURE_IN_NAMESPACE:-}" ]; then
	rm -rf "$T"
	trap - EXIT
	unshare --pid --fork --kill-child --mount-proc true 2>/dev/null ||
		skip "needs unshare --pid --mount-proc (util-linux)"
	TORTURE_IN_NAMESPACE=1 exec unshare --pid --fork --kill-child --mount-proc \
		/bin/sh "$0" "$@"
fi

N=${1:-${TORTURE_N:-3}}
case $N in '' | *[!0-9]*) fail "usage: $0 [N] (N a number of rounds)" ;; esac
seed=${TORTURE_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
case $seed in '' | *[!0-9]*) fail "TORTURE_SEED must be a number" ;; esac
echo "torture: $N rounds, seed $seed (TORTURE_SEED=$seed repeats the choices)"
started=$(date +%s)

# rand N: sets r to a number in [0, N) from the seeded generator (an LCG:
# the same seed gives the same choices; the timing of the machine decides
# where each kill lands).
rng=$((seed % 2147483648))
rand() {
	rng=$(((rng * 1103515245 + 12345) % 2147483648))
	r=$(((rng / 65536) % $1))
}

# sleep_ms MS
sleep_ms() {
	sleep "$(($1 / 1000)).$(printf '%03d' $(($1 % 1000)))"
}

# say TEXT: a progress line with the seconds since the start.
say() {
	echo "[$(($(date +%s) - started))s] $*"
}

secret="torture secret"
token="ghp_torture_token_never_logged"
state=$T/state
work=$T/work
remote=$T/remote.git
db=$state/state.db
mkdir -p "$T/payloads"
: >"$T/deliveries"
: >"$T/main.heads"
: >"$T/calls.jsonl"
printf '%s\n' "$secret" >"$T/secret"
printf '%s\n' "$token" >"$T/token"
chmod 600 "$T/secret" "$T/token"

forge_pid=""
serve_pid=""
phase=""
cleanup() {
	rc=$?
	[ -z "$serve_pid" ] || kill -9 "$serve_pid" 2>/dev/null || true
	[ -z "$forge_pid" ] || kill -9 "$forge_pid" 2>/dev/null || true
	# Pid 1 of the run's namespace: everything else in it goes too
	# (pipelines, builds), before their directory is removed.
	if [ "$$" = 1 ]; then
		kill -9 -1 2>/dev/null || true
		sleep 0.2
	fi
	if [ "$rc" -eq 130 ]; then
		echo "torture: interrupted (seed $seed)"
	elif [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		[ -z "$phase" ] || echo "torture: stopped by an error while checking $phase"
		echo "--- last lines of the service's log"
		tail -n 40 "$T/serve.log" 2>/dev/null || true
		echo "torture: failed with seed $seed (TORTURE_SEED=$seed $0 $N repeats it)"
	fi
	if [ -n "${KEEP:-}" ]; then
		echo "torture: kept $T"
	else
		# Nothing may be removed through a mount a build left behind.
		awk -v t="$T/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
			while read -r m; do umount -l "$m" 2>/dev/null || true; done
		rm -rf "$T"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# sql QUERY: rows of the state database, columns separated by one space.
sql() {
	if command -v sqlite3 >/dev/null; then
		sqlite3 -readonly -cmd '.timeout 5000' -separator ' ' "$db" "$1"
	else
		python3 -c 'import sqlite3, sys
c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True, timeout=5)
for row in c.execute(sys.argv[2]):
    print(" ".join("" if v is None else str(v) for v in row))' "$db" "$1"
	fi
}

. "$(dirname "$0")/invariants.sh"

# ---- the distribution and its remote ----

minidistro "$work"
# A spec whose build takes a while, so that kills land in builds too.
mkdir -p "$work/SPECS/slow"
cat >"$work/SPECS/slow/slow.spec" <<'SPEC'
Name: slow
Version: 1
Release: 1%{?dist}
Summary: builds for a while
License: MIT
BuildArch: noarch
%description
x
%build
sleep 2
%files
SPEC
# The example is otherwise as it is: greet-tools' BuildRequires
# pkgconfig(banner) is a provide generated when libbanner-devel is built, which
# a pull request learns from main's repository until its own is published.
git_ -C "$work" add -A
git_ -C "$work" commit -q -m "torture: slow"
git_ clone -q --bare "$work" "$remote"
git_ -C "$work" remote add origin "$remote"
main_head=$(git -C "$work" rev-parse HEAD)
echo "$main_head" >>"$T/main.heads"

# The specs a round bumps: libgreet rebuilds hello and greet-tools too.
bumpable="hello greet-tools libbanner libgreet slow"

# bump: a new commit in $work raising the Release of a random spec; sets
# bumped to "spec release".
bump() {
	set -- $bumpable
	rand $#
	shift "$r"
	f=$work/SPECS/$1/$1.spec
	rel=$(sed -n 's/^Release:[[:space:]]*\([0-9]*\).*/\1/p' "$f")
	sed -i "s/^\(Release:[[:space:]]*\)[0-9]*/\1$((rel + 1))/" "$f"
	git_ -C "$work" commit -q -am "$1: release $((rel + 1))"
	bumped="$1 $((rel + 1))"
}

# ---- the fake forge ----

forge_port=0
forge_starts=0
# forge_start [FAIL]: starts the fake forge (on the port it had before), with
# FAKEFORGE_FAIL=FAIL when given. Each start has its own output file: an old
# one could be read before the shell truncates it for the new process.
forge_start() {
	forge_starts=$((forge_starts + 1))
	out=$T/forge.out.$forge_starts
	FAKEFORGE_FAIL=${1:-} node "$TOP/tests/fakeforge/server.js" "$forge_port" \
		"$T/calls.jsonl" "$token" >"$out" 2>&1 &
	forge_pid=$!
	i=0
	until port_=$(sed -n 's/^fakeforge listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$out" 2>/dev/null) &&
		[ -n "$port_" ]; do
		i=$((i + 1))
		if [ "$i" -ge 100 ] || ! kill -0 "$forge_pid" 2>/dev/null; then
			cat "$out"
			fail "the fake forge did not start on port $forge_port"
		fi
		sleep 0.1
	done
	forge_port=$port_
}

forge_stop() {
	[ -n "$forge_pid" ] || return 0
	kill -9 "$forge_pid" 2>/dev/null || true
	wait "$forge_pid" 2>/dev/null || true
	forge_pid=""
}

forge_start

# ---- the service ----

# write_conf SCHEDULE: the service's configuration ("" for no schedule).
write_conf() {
	cat >"$T/serve.conf" <<EOF
[serve]
	listen = 127.0.0.1:0
	state = $state
	shutdowntimeout = 1
	pipelines = ${TORTURE_PIPELINES:-1}
[repo "mini"]
	remote = file://$remote
	branch = main
	forge = github
	api = http://127.0.0.1:$forge_port
	project = example/mini
	tokenfile = $T/token
	secretfile = $T/secret
	jobs = 2
EOF
	[ -z "$1" ] || printf '\tschedule = %s\n' "$1" >>"$T/serve.conf"
}
if [ "${TORTURE_SCHEDULE:-1}" = 0 ]; then
	write_conf ""
else
	write_conf '* * * * *'
fi

starts=0
start_serve() {
	starts=$((starts + 1))
	echo "--- start $starts" >>"$T/serve.log"
	"$SHIPYARD" serve -c "$T/serve.conf" >>"$T/serve.log" 2>&1 &
	serve_pid=$!
	deadline=$(($(date +%s) + 30))
	until port=$(sed -n '/^--- start '"$starts"'$/,$ s/.*serving on 127.0.0.1:\([0-9]*\) .*/\1/p' \
		"$T/serve.log" | tail -n 1) && [ -n "$port" ] &&
		curl -fs -m 5 "http://127.0.0.1:$port/healthz" >/dev/null; do
		if [ "$(date +%s)" -ge "$deadline" ] || ! kill -0 "$serve_pid" 2>/dev/null; then
			fail "the service did not start within 30 s (start $starts)"
		fi
		sleep 0.1
	done
	base="http://127.0.0.1:$port"
}

crash_serve() {
	kill -9 "$serve_pid"
	wait "$serve_pid" 2>/dev/null || true
	serve_pid=""
}

# stop_serve: SIGTERM; the service must stop within 60 s (its
# shutdowntimeout is 1 s) and exit 0.
stop_serve() {
	kill -TERM "$serve_pid"
	pred() { ! kill -0 "$serve_pid" 2>/dev/null; }
	if ! wait_for "stop on SIGTERM" 60; then
		violation "clean-stop" "service (start $starts)" "still running 60 s after SIGTERM"
		kill -9 "$serve_pid"
	fi
	rc=0
	wait "$serve_pid" || rc=$?
	serve_pid=""
	[ "$rc" -eq 0 ] || violation "clean-stop" "service (start $starts)" "exited $rc on SIGTERM"
	sed -n "/^--- start $starts\$/,\$p" "$T/serve.log" | grep -q 'shutdown complete' ||
		violation "clean-stop" "service (start $starts)" "no 'shutdown complete' in its log"
}

# ---- deliveries ----

# post EVENT FILE DELIVERY: POSTs FILE to /hooks/github; prints the HTTP
# status (000 when no answer came), the body goes to $T/reply.
post() {
	sig=sha256=$(openssl dgst -sha256 -hmac "$secret" -r "$2" | cut -d' ' -f1)
	curl -s -m 30 -o "$T/reply" -w '%{http_code}' -X POST "$base/hooks/github" \
		-H 'Content-Type: application/json' -H "X-GitHub-Event: $1" \
		-H "X-GitHub-Delivery: $3" -H "X-Hub-Signature-256: $sig" --data-binary "@$2" || true
}

ndeliveries=0
# new_delivery EVENT WHAT: a delivery id for a payload about to be written to
# $T/payloads/<id>.json; WHAT ("push main SHA", "pr N ACTION SHA") is kept
# for the checks. Sets delivery and payload.
new_delivery() {
	ndeliveries=$((ndeliveries + 1))
	delivery=torture-$seed-$ndeliveries
	payload=$T/payloads/$delivery.json
	echo "$1" >"$T/payloads/$delivery.event"
	echo "$2" >"$T/payloads/$delivery.what"
}

# record DELIVERY CODE HOW: one line of $T/deliveries (HOW: first, again
# after a cut, redelivery).
record() {
	echo "$1 $2 $3" >>"$T/deliveries"
}

# deliver_now: delivers $delivery and expects 202.
deliver_now() {
	t0=$(date +%s)
	code=$(post "$(cat "$T/payloads/$delivery.event")" "$payload" "$delivery")
	[ $(($(date +%s) - t0)) -lt 5 ] || say "note: delivery $delivery took $(($(date +%s) - t0)) s"
	record "$delivery" "$code" first
	[ "$code" = 202 ] || violation "accepted-delivery" "$delivery ($(cat "$T/payloads/$delivery.what"))" \
		"answered $code: $(cat "$T/reply" 2>/dev/null)"
}

# push_main: a new commit on main, pushed, and its payload prepared.
push_main() {
	git_ -C "$work" checkout -q main
	bump
	git_ -C "$work" push -q origin main
	before=$main_head
	main_head=$(git -C "$work" rev-parse HEAD)
	echo "$main_head" >>"$T/main.heads"
	new_delivery push "push main $main_head"
	push_payload "$main_head" "$before"
	what="push main $main_head ($bumped)"
}

# push_payload AFTER BEFORE: a real push example aimed at main of this
# repository, into $payload.
push_payload() {
	jq --arg after "$1" --arg before "$2" --arg url "file://$remote" '
		[.[] | select(.name == "push") | .examples[]
		 | select(.deleted == false and (.ref | startswith("refs/heads/")))][0]
		| .ref = "refs/heads/main" | .after = $after | .before = $before
		| .repository.full_name = "example/mini" | .repository.clone_url = $url' \
		"$examples" >"$payload"
}

# Pull requests: $T/pr/<n>.state (open, closed) and $T/pr/<n>.heads.
mkdir -p "$T/pr"
npr=0
# pr_event: opens a pull request, or updates or closes an open one.
pr_event() {
	open=$(grep -l '^open$' "$T"/pr/*.state 2>/dev/null | wc -l)
	rand 3
	if [ "$open" -eq 0 ] || { [ "$open" -lt 2 ] && [ "$r" -eq 0 ]; }; then
		npr=$((npr + 1))
		n=$npr
		action=opened
		git_ -C "$work" checkout -q -b "pr-$n" main
	else
		set -- $(grep -l '^open$' "$T"/pr/*.state)
		rand $#
		shift "$r"
		n=$(basename "$1" .state)
		rand 3
		[ "$r" -eq 0 ] && action=closed || action=synchronize
		git_ -C "$work" checkout -q "pr-$n"
	fi
	if [ "$action" != closed ]; then
		bump
		git_ -C "$work" push -q -f origin "pr-$n" "HEAD:refs/pull/$n/head"
		git -C "$work" rev-parse HEAD >>"$T/pr/$n.heads"
		echo open >"$T/pr/$n.state"
	else
		echo closed >"$T/pr/$n.state"
		bumped="-"
	fi
	sha=$(tail -n 1 "$T/pr/$n.heads")
	git_ -C "$work" checkout -q main
	new_delivery pull_request "pr $n $action $sha"
	jq --arg sha "$sha" --arg action "$action" --argjson n "$n" --arg base "$main_head" '
		[.[] | select(.name == "pull_request") | .examples[] | select(.action == "opened")][0]
		| .action = $action | .number = $n | .pull_request.number = $n
		| .pull_request.head.sha = $sha | .pull_request.head.ref = "pr-\($n)"
		| .pull_request.base.ref = "main" | .pull_request.base.sha = $base
		| .pull_request.merged = false | .pull_request.state = (if $action == "closed" then "closed" else "open" end)
		| .repository.full_name = "example/mini"' "$examples" >"$payload"
	what="pr $n $action $sha ($bumped)"
}

# redeliver: sends an earlier delivery again; the service must answer 200
# duplicate.
redeliver() {
	set -- $(cut -d' ' -f1 "$T/deliveries" | sort -u)
	[ $# -gt 0 ] || return 1
	rand $#
	shift "$r"
	delivery=$1
	payload=$T/payloads/$delivery.json
	code=$(post "$(cat "$T/payloads/$delivery.event")" "$payload" "$delivery")
	record "$delivery" "$code" redelivery
	what="redelivery of $delivery ($(cat "$T/payloads/$delivery.what"))"
	{ [ "$code" = 200 ] && jq -e '.duplicate' "$T/reply" >/dev/null 2>&1; } ||
		violation "one-pipeline-per-delivery" "$delivery" \
			"a redelivery was answered $code: $(cat "$T/reply" 2>/dev/null)"
}

# ---- waiting ----

# api_pipelines: the service's pipelines (newest first) into $T/list.json.
api_pipelines() {
	curl -fs -m 10 "$base/api/pipelines?limit=1000" >"$T/list.json"
}

# wait_for WHAT MAX_S: polls until pred succeeds, at most MAX_S seconds (of
# the clock: a poll itself takes time); returns 1 (and says so) when it does
# not.
wait_for() {
	deadline=$(($(date +%s) + $2))
	until pred; do
		[ "$(date +%s)" -lt "$deadline" ] || { say "note: no $1 within $2 s"; return 1; }
		sleep 0.1
	done
}

# A job is running in some pipeline, or none will (nothing queued or
# running).
job_running() {
	api_pipelines && jq -e '([.pipelines[] | select(.state == "running")
		| .progress.running // [] | length] | add // 0) > 0 or
		([.pipelines[] | select(.state == "queued" or .state == "running")] | length == 0)' \
		"$T/list.json" >/dev/null
}

# No pipeline is queued or running.
idle() {
	api_pipelines && jq -e '[.pipelines[] | select(.state == "queued" or .state == "running")]
		| length == 0' "$T/list.json" >/dev/null
}

# builds_ended: how many build stages the pipelines' logs say ended.
builds_ended() {
	cat "$state"/pipelines/*/pipeline.log 2>/dev/null |
		grep -c '^shipyard/build \(success\|failure\|error\)' || true
}

# The outbox sent everything it holds.
outbox_empty() {
	[ "$(sql "SELECT count(*) FROM outbox WHERE status = 'queued'")" = 0 ]
}

# ---- the rounds ----

start_serve
# Warm-up, not killed: the first commit is built and published, so that each
# round builds only what it changes.
new_delivery push "push main $main_head"
push_payload "$main_head" 0000000000000000000000000000000000000000
deliver_now
pred() { idle; }
wait_for "end of the first pipeline" 600 || fail "the first pipeline did not end within 600 s"
say "warm-up done"

forge_down=0
round=1
while [ "$round" -le "$N" ]; do
	# A forge outage for this round: down (back after the restart), or
	# failing its first answers.
	outage=""
	rand 100
	if [ "$r" -lt 15 ]; then
		outage=down
		forge_stop
		forge_down=1
	elif [ "$r" -lt 30 ]; then
		set -- 500x2 503x3,403x1 429x1,500x1 403x2 502x4
		rand $#
		shift "$r"
		outage="fail $1"
		forge_stop
		forge_start "$1"
	fi

	# The event.
	ended=$(builds_ended)
	cut=""
	rand 100
	if [ "$r" -lt 35 ]; then
		push_main
		deliver_now
	elif [ "$r" -lt 60 ]; then
		pr_event
		deliver_now
	elif [ "$r" -lt 72 ] && redeliver; then
		:
	elif [ "$r" -lt 85 ]; then
		# A delivery the crash cuts: the answer may never come.
		rand 2
		if [ "$r" -eq 0 ]; then push_main; else pr_event; fi
		cut=$delivery
		post "$(cat "$T/payloads/$delivery.event")" "$payload" "$delivery" >"$T/cut.code" &
		cut_pid=$!
		rand 60
		sleep_ms "$r"
		what="$what, cut"
	else
		what="nothing new"
	fi

	# When the crash comes: soon, in the first seconds, in a build, while
	# publishing (right after a build stage ended), or once the pipelines
	# ended (while their statuses are sent).
	rand 5
	if [ -n "$cut" ]; then
		how="during the delivery"
	else
		case $r in
		4) pred() { [ "$(builds_ended)" -gt "$ended" ] || idle; }
		   wait_for "end of a build stage (or idle service)" 60 || true
		   rand 300; sleep_ms "$r"; how="$r ms after a build stage ended (or all ended)" ;;
		0) rand 300; sleep_ms "$r"; how="after $r ms" ;;
		1) rand 3000; sleep_ms "$r"; how="after $r ms" ;;
		2) pred() { job_running; }
		   wait_for "running job (or idle service)" 60 || true
		   rand 1500; sleep_ms "$r"; how="$r ms after a build started (or all ended)" ;;
		3) pred() { idle; }
		   wait_for "idle service" 300 || true
		   rand 1000; sleep_ms "$r"; how="$r ms after the pipelines ended" ;;
		esac
	fi
	# One stop in eight is a SIGTERM (running pipelines are stopped after
	# shutdowntimeout and resume at the next start), the others kill -9.
	rand 8
	if [ "$r" -eq 0 ]; then
		stop_serve
		say "round $round: $what; ${outage:+forge $outage; }SIGTERM $how"
	else
		crash_serve
		say "round $round: $what; ${outage:+forge $outage; }kill -9 $how"
	fi

	if [ -n "$cut" ]; then
		wait "$cut_pid" || true
		code=$(cat "$T/cut.code")
		record "$cut" "$code" first
		[ "$code" = 202 ] || [ "$code" = 000 ] ||
			violation "accepted-delivery" "$cut" "answered $code: $(cat "$T/reply")"
	fi
	# The interrupted `shipyard run` children (told to stop by their death
	# signal) stop before the restart, as with systemd, which stops what
	# is left of the unit before it starts it again. With TORTURE_OVERLAP=1
	# half the restarts do not wait: the new service runs beside them.
	rand 2
	if [ "${TORTURE_OVERLAP:-0}" = 1 ] && [ "$r" -eq 0 ]; then
		say "restart beside the interrupted runs"
	else
		pred() { ! pgrep -f "$SHIPYARD run" >/dev/null; }
		wait_for "end of the interrupted runs" 60 ||
			violation "runs-stop" "round $round" \
				"interrupted runs still there 60 s after the service died: $(pgrep -a -f "$SHIPYARD run" | tr '\n' ';')"
	fi
	[ "$round" -lt "$N" ] || write_conf ""
	start_serve
	if [ -n "$cut" ] && [ "$code" = 000 ]; then
		# The forge delivers again what got no answer.
		delivery=$cut
		payload=$T/payloads/$cut.json
		code=$(post "$(cat "$T/payloads/$cut.event")" "$payload" "$cut")
		record "$cut" "$code" again
		[ "$code" = 202 ] || { [ "$code" = 200 ] && jq -e '.duplicate' "$T/reply" >/dev/null; } ||
			violation "accepted-delivery" "$cut" "delivered again after a cut: $code $(cat "$T/reply")"
	fi
	if [ "$forge_down" = 1 ]; then
		rand 2000
		sleep_ms "$r"
		forge_start
		forge_down=0
	fi
	round=$((round + 1))
done

# ---- the end: everything finishes, then a clean stop ----

[ -n "$forge_pid" ] || forge_start
if [ "$N" -eq 0 ]; then
	crash_serve
	write_conf ""
	start_serve
fi
say "rounds done; waiting for the pipelines and the outbox"
pred() { idle && outbox_empty; }
if ! wait_for "idle service with an empty outbox" 900; then
	jq -c '.pipelines[] | select(.state == "queued" or .state == "running")
		| {id, ref, head, state, attempts}' "$T/list.json"
	violation "everything-ends" "service" "pipelines or statuses still waiting after 900 s"
fi
stop_serve
say "stopped; checking"

check_all
say "$N rounds: $(wc -l <"$T/main.heads") commits on main, $npr pull requests," \
	"$(sql 'SELECT count(*) FROM pipelines') pipelines ($(sql 'SELECT count(*) FROM pipelines
	WHERE attempts > 1') resumed after a crash), $starts starts, $forge_starts forge starts," \
	"$(grep -c '"injected":true' "$T/calls.jsonl") status calls failed on purpose"
if [ "$violations" -gt 0 ]; then
	echo "torture: $violations invariants broken (seed $seed)"
	exit 1
fi
echo "ok (seed $seed, $(($(date +%s) - started)) s)"
