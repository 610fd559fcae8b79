#!/bin/sh
# The slurm executor on a private single-node cluster (munged, slurmctld and
# slurmd started here, tests/integration/slurm-cluster.sh): the example
# distribution built through Slurm publishes the same NEVRAs with the same
# output digests as the local executor; a failing spec blocks only its
# dependents; a build scancelled from outside is retried as an
# infrastructure failure; a service killed with kill -9 and started again
# attaches to the running Slurm job instead of submitting it again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slurm-cluster.sh"
need_root
command -v jq >/dev/null || skip "needs jq"
command -v curl >/dev/null || skip "needs curl"

trap 'serve_kill; cluster_stop; rm -rf "$T"' EXIT
cluster_start "$T/cluster" || skip "no Slurm cluster: $cluster_why"
echo "cluster up ($cluster_proctrack)"

repo=$T/minidistro
minidistro "$repo"

# jobs_named PREFIX [AFTER]: how many Slurm jobs (any state, MinJobAge keeps
# them) with an id above AFTER have a name starting with shipyard-PREFIX. (Without slurmdbd, sacct has
# no records; squeue --states=all lists the finished jobs too.)
jobs_named() {
	squeue -h -t all -o '%i %j' |
		awk -v min="${2:-0}" -v name="shipyard-${1:-}" '$1 > min && index($2, name) == 1' | wc -l
}

# state_of RUN_OUT SPEC: SPEC's state in the build_state.csv of the run
# whose output is RUN_OUT.
state_of() {
	csv=$(sed -n 's/^shipyard: build report: //p' "$1")
	grep "^$2-[0-9]" "$csv" | cut -d, -f2
}

# 1. The same repository through both executors.
sy "$T/local.out" run --repo "$repo" --state "$T/local"
[ "$rc" -eq 0 ] || { cat "$T/local.out"; fail "local run failed"; }
sy "$T/slurm.out" run --repo "$repo" --state "$T/slurm" --executor slurm
[ "$rc" -eq 0 ] || { cat "$T/slurm.out"; tail -n 20 "$T"/cluster/slurmd.log; fail "slurm run failed"; }
nspecs=$(ls -d "$TOP"/examples/minidistro/SPECS/*/ | wc -l)
expect_line "$T/slurm.out" "^shipyard/build success $nspecs built, 0 reused"
[ "$(jobs_named)" -eq "$nspecs" ] || { squeue -h -t all -o '%i %j %T'; fail "not one Slurm job per spec"; }
repoquery "$(readlink -f "$T/local/repos/main/current")" >"$T/rq.local"
repoquery "$(readlink -f "$T/slurm/repos/main/current")" >"$T/rq.slurm"
[ -s "$T/rq.local" ] || fail "nothing published locally"
cmp -s "$T/rq.local" "$T/rq.slurm" || { diff "$T/rq.local" "$T/rq.slurm"; fail "NEVRAs differ"; }
for summary in "$T"/local/artifacts/*/summary.json; do
	key=$(basename "$(dirname "$summary")")
	a=$(jq -r .output_digest "$summary")
	b=$(jq -r .output_digest "$T/slurm/artifacts/$key/summary.json" 2>/dev/null)
	[ -n "$a" ] && [ "$a" != null ] || fail "$key: no output digest locally"
	[ "$a" = "$b" ] || fail "$key ($(jq -r .name "$summary")): output digest $a locally, $b on Slurm"
done

# 2. libgreet fails: what needs it is blocked, smoketest (changed too) is
# built.
(cd "$repo" && sed -i 's/^%build$/%build\nexit 1/' SPECS/libgreet/libgreet.spec &&
	sed -i 's/^Summary:.*/Summary: smoke test, reworded/' SPECS/smoketest/smoketest.spec &&
	git_ commit -q -am "break libgreet, reword smoketest")
sy "$T/fail.out" build --repo "$repo" --state "$T/slurm" --executor slurm
[ "$rc" -eq 1 ] || { cat "$T/fail.out"; fail "a failed spec did not fail the run ($rc)"; }
[ "$(state_of "$T/fail.out" libgreet)" = Failed ] || { cat "$T/fail.out"; fail "libgreet did not fail"; }
for spec in hello libbanner greet-tools; do
	[ "$(state_of "$T/fail.out" $spec)" = Blocked ] || fail "$spec not blocked by libgreet"
done
[ "$(state_of "$T/fail.out" smoketest)" = Built ] || fail "smoketest not built beside the failure"
expect_line "$T/fail.out" 'SPECS/libgreet/libgreet.spec: rpmbuild failed'
[ "$(jobs_named libgreet)" -eq 2 ] || fail "the failed build was retried (a build failure is final)"

# 3. A build scancelled from outside is submitted again and succeeds.
(cd "$repo" && git_ revert --no-edit HEAD >/dev/null &&
	sed -i 's/^%build$/%build\nsleep 12/' SPECS/smoketest/smoketest.spec &&
	git_ commit -q -am "slow smoketest")
"$SHIPYARD" build --repo "$repo" --state "$T/slurm" --executor slurm --specs smoketest \
	>"$T/cancel.out" 2>&1 &
run=$!
i=0
until id=$(squeue -h -t running -o '%i %j' | awk '/ shipyard-smoketest-/ {print $1}') && [ -n "$id" ]; do
	i=$((i + 1))
	[ "$i" -lt 600 ] || { kill $run; cat "$T/cancel.out"; fail "smoketest never ran"; }
	sleep 0.1
done
sleep 2
scancel "$id"
wait $run || { cat "$T/cancel.out"; fail "the run with a scancelled build failed"; }
expect_line "$T/cancel.out" '^shipyard/build success 1 built'
name=$(squeue -h -t all -j "$id" -o %j | sed 's/^shipyard-//')
[ "$(jobs_named "$name")" -eq 2 ] || { squeue -h -t all -o '%i %j %T'; fail "the scancelled build was not submitted exactly once more"; }
log=$(ls -t "$T"/slurm/pipelines/*/logs/smoketest.log | head -n 1)
grep -q 'attempt 2 after an infrastructure failure' "$log" ||
	fail "no second attempt in the log ($log)"
# Every line has its time in the log's sidecar (builder/logtimes.h: a
# 16-byte header, then 12-byte records: offset, ms since the job's start),
# those the describing host wrote and those of both attempts on the node:
# the retry's first line comes after the 2 s the first attempt ran.
od -An -v -tu1 -j16 "$log.times" | awk '{ for (i = 1; i <= NF; i++) b[n++] = $i }
	END { for (r = 0; r + 12 <= n; r += 12) { o = 0; m = 0
		for (k = 7; k >= 0; k--) o = o * 256 + b[r + k]
		for (k = 11; k >= 8; k--) m = m * 256 + b[r + k]
		print o, m } }' >"$T/times"
[ "$(wc -l <"$T/times")" -eq "$(wc -l <"$log")" ] ||
	{ cat "$T/times"; fail "not one time per line of $log"; }
at=$(grep -b 'attempt 2 after an infrastructure failure' "$log" | cut -d: -f1)
ms=$(awk -v at="$at" '$1 == at { print $2 }' "$T/times")
[ -n "$ms" ] && [ "$ms" -ge 2000 ] || { cat "$T/times"; fail "the retry's line has time '$ms'"; }
sort -n -k1,1 "$T/times" | awk 'NR > 1 && $2 < last { exit 1 } { last = $2 }' ||
	fail "the times of $log go back"

# 4. The service, killed while its build runs in Slurm, attaches to the job
# once restarted.
git_ clone -q --bare "$repo" "$T/remote.git"
cat >"$T/serve.conf" <<EOF2
[serve]
	listen = 127.0.0.1:0
	state = $T/serve-state
[repo "mini"]
	remote = file://$T/remote.git
	branch = main
	poll = 1
	executor = slurm
EOF2
# The service's state is new: it builds smoketest at the key of step 3 again.
before=$(squeue -h -t all -o %i | sort -n | tail -n 1)
serve_start "$T/serve.conf"
# The slow smoketest is the last to build (greet-tools waits on others, but
# smoketest sleeps longer): wait until its job runs.
i=0
until [ "$(squeue -h -t running -o %j | grep -c '^shipyard-smoketest-')" -ge 1 ]; do
	i=$((i + 1))
	[ "$i" -lt 1800 ] || { tail -n 30 "$T/serve.log"; fail "smoketest never ran under the service"; }
	sleep 0.1
done
sname=$(squeue -h -t running -o %j | grep '^shipyard-smoketest-' | sed 's/^shipyard-//')
serve_kill
sleep 1
[ "$(squeue -h -t running -o %j | grep -c "^shipyard-$sname")" -eq 1 ] ||
	fail "the Slurm job did not outlive the service"
serve_start "$T/serve.conf"
i=0
until curl -fs "$base/api/pipelines" >"$T/list.json" &&
	[ "$(jq '[.pipelines[] | select(.state == "success")] | length' "$T/list.json")" -ge 1 ]; do
	i=$((i + 1))
	[ "$i" -lt 1800 ] || { cat "$T/list.json"; tail -n 30 "$T/serve.log"; fail "no pipeline succeeded after the restart"; }
	sleep 0.1
done
grep -q "$sname: attached to Slurm job" "$T"/serve-state/pipelines/*/*.log "$T/serve.log" 2>/dev/null ||
	grep -rq "$sname: attached to Slurm job" "$T/serve-state/pipelines" ||
	fail "the restarted run did not attach to the Slurm job"
[ "$(jobs_named "$sname" "$before")" -eq 1 ] || { squeue -h -t all -o '%i %j %T'; fail "the build was submitted again after the restart"; }
serve_stop
echo "ok"
