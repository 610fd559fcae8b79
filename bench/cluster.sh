#!/bin/sh
# The slurm executor against the local one (issue 16, "Bench"), in one run
# on a private single-node Slurm cluster started here
# (tests/integration/slurm-cluster.sh), as `bench/cluster: ...` lines:
#   - scheduling overhead per job: a chain of jobs that do nothing through
#     each executor (build/bench/cluster-exec --chain), and the ratio;
#   - makespan of the example distribution (examples/minidistro, `shipyard
#     build` from a fresh state) with each executor, and the ratio;
#   - makespan of a generated 300-job DAG of the shape bench/build-sched
#     uses (sleeping jobs: durations scaled down so that it runs in about
#     a minute) with each executor, the local one on as many slots as
#     cores, the cluster with as many CPUs, and the ratio;
#   - makespan of the Azure Linux 3.0 build graph (the shared bundle, when
#     present; SHIPYARD_SHARED) simulated on 1, 8 and 64 nodes with the
#     scheduler's simulator, with the 1 s Slurm tick per job
#     (build/bench/cluster-sim).
# Figures, not pass/fail. Needs root (builds) and slurmctld, slurmd, munge.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
shipyard=$top/build/shipyard
bundle=${SHIPYARD_SHARED:-$top/../shared}/azl/azurelinux-3.0.bundle
export SHIPYARD_WORKER_CACHE="${SHIPYARD_WORKER_CACHE:-$top/build/worker-cache}"
make -C "$top" --no-print-directory build/shipyard build/bench/cluster-exec build/bench/cluster-sim >/dev/null
say() { echo "bench/cluster: $*"; }
calc() { awk "BEGIN { print $1 }"; }
now() { date +%s.%N; }
tmp=$(mktemp -d /tmp/shipyard-bench-cluster-XXXXXX)
. "$top/tests/integration/slurm-cluster.sh"
trap 'cluster_stop; rm -rf "$tmp"' EXIT

# The simulation needs no cluster: first, so that it runs where none starts.
# SHIPYARD_BENCH_AZL, SHIPYARD_BENCH_AZL_STATE: a clone of the bundle and a
# state directory to reuse (the first plan of 3,000 specs takes minutes).
azl=${SHIPYARD_BENCH_AZL:-$tmp/azl}
if [ -f "$bundle" ]; then
	[ -d "$azl/.git" ] || git clone -q "$bundle" "$azl"
	"$top/build/bench/cluster-sim" --repo "$azl" --state "${SHIPYARD_BENCH_AZL_STATE:-$tmp/azl-state}" \
		--nodes 1 --nodes 8 --nodes 64 --tick 1
else
	say "simulation skipped: the Azure Linux bundle is absent"
fi

if [ "$(id -u)" -ne 0 ]; then
	say "skipped: needs root"
	exit 0
fi
if ! cluster_start "$tmp/cluster"; then
	say "skipped: no Slurm cluster: $cluster_why"
	exit 0
fi
say "single-node cluster up: $(nproc) CPUs, proctrack/$cluster_proctrack"

# Overhead per job.
lo=$("$top/build/bench/cluster-exec" --executor local --chain 100)
so=$("$top/build/bench/cluster-exec" --executor slurm --jobs-dir "$tmp/jobs" --chain 20)
echo "$lo"
echo "$so"
lms=$(echo "$lo" | sed 's/.*overhead per job \([0-9.]*\) ms.*/\1/')
sms=$(echo "$so" | sed 's/.*overhead per job \([0-9.]*\) ms.*/\1/')
say "overhead per job: slurm/local $(calc "$sms / $lms")x ($sms ms vs $lms ms)"

# The example distribution.
cp -r "$top/examples/minidistro" "$tmp/mini"
git -C "$tmp/mini" init -q
git -C "$tmp/mini" add -A
git -C "$tmp/mini" -c user.name=bench -c user.email=bench@shipyard.invalid commit -q -m mini
t0=$(now)
"$shipyard" build --repo "$tmp/mini" --state "$tmp/st-local" >"$tmp/local.out" 2>&1 ||
	{ cat "$tmp/local.out"; exit 1; }
t1=$(now)
"$shipyard" build --repo "$tmp/mini" --state "$tmp/st-slurm" --executor slurm >"$tmp/slurm.out" 2>&1 ||
	{ cat "$tmp/slurm.out"; exit 1; }
t2=$(now)
ml=$(calc "$t1 - $t0")
ms=$(calc "$t2 - $t1")
say "example distribution ($(ls -d "$top"/examples/minidistro/SPECS/*/ | wc -l) specs): makespan local $ml s, slurm $ms s: slurm/local $(calc "$ms / $ml")x"

# A generated 300-job DAG.
dl=$("$top/build/bench/cluster-exec" --executor local --dag 300 --slots "$(nproc)" --scale 0.01)
ds=$("$top/build/bench/cluster-exec" --executor slurm --jobs-dir "$tmp/jobs" --dag 300 --scale 0.01)
echo "$dl"
echo "$ds"
l=$(echo "$dl" | sed 's/.*makespan \([0-9.]*\) s.*/\1/')
s=$(echo "$ds" | sed 's/.*makespan \([0-9.]*\) s.*/\1/')
say "300-job DAG: slurm/local $(calc "$s / $l")x"
