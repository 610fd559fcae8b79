#!/bin/sh
# The slurm executor against the local one (issue 16, "Bench"), in one run
# on a private single-node Slurm cluster started here
# (tests/integration/slurm-cluster.sh), as `bench/cluster: ...` lines:
#   - scheduling overhead per job: a chain of jobs that do nothing through
#     each executor (build/bench/cluster-exec --chain), and the ratio; and
#     the alternatives to one sbatch job per build: a chain of `srun true`
#     (one job each), and of `srun true` job steps in one `salloc`
#     allocation;
#   - makespan of the example distribution (examples/minidistro, `shipyard
#     build` from a fresh state) with each executor, and the ratio;
#   - makespan of a generated distribution of $CLUSTER_SPECS specs (default
#     300; build/bench/gen-distro --buildable: the DAG shape of a
#     distribution, each spec built for real by rpmbuild in moments)
#     published by `shipyard run` from a fresh state with each executor
#     (the local one on as many builds at once as cores, the cluster with
#     as many CPUs), the ratio, and a check that both published the same
#     NEVRAs (and output digests);
#   - makespan of the Azure Linux 3.0 build graph (the shared bundle, when
#     present; SHIPYARD_SHARED) simulated on 1, 8 and 64 nodes with the
#     scheduler's simulator, with the 1 s Slurm tick per job
#     (build/bench/cluster-sim).
# Figures, not pass/fail, but for the check of the generated distribution.
# Needs root (builds) and slurmctld, slurmd, munge. CLUSTER_SPECS=40 makes a
# quick run. (build/bench/cluster-exec --dag N runs a DAG of sleeping jobs
# instead: Slurm's part alone, without builds.)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
shipyard=$top/build/shipyard
bundle=${SHIPYARD_SHARED:-$top/../shared}/azl/azurelinux-3.0.bundle
export SHIPYARD_WORKER_CACHE="${SHIPYARD_WORKER_CACHE:-$top/build/worker-cache}"
nspecs=${CLUSTER_SPECS:-300}
make -C "$top" --no-print-directory build/shipyard build/bench/cluster-exec build/bench/cluster-sim \
	build/bench/gen-distro >/dev/null
say() { echo "bench/cluster: $*"; }
ratio() { awk "BEGIN { printf \"%.2f\", $1 }"; }
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
say "overhead per job: slurm/local $(ratio "$sms / $lms")x ($sms ms vs $lms ms)"

# The alternatives to one sbatch job per build, for a chain of 20 empty
# jobs: srun (a job each, allocated at submission instead of at the next
# scheduling pass), and job steps of one allocation (salloc, then srun per
# job; the allocation holds its CPUs all along).
if command -v srun >/dev/null && command -v salloc >/dev/null; then
	chain='t0=$(date +%s.%N); i=0
		while [ $i -lt 20 ]; do srun -n1 --mem=100 true || exit 1; i=$((i + 1)); done
		awk "BEGIN { printf \"%.1f\", ($(date +%s.%N) - $t0) * 1000 / 20 }"'
	rms=$(sh -c "$chain" 2>"$tmp/srun.err") || { cat "$tmp/srun.err"; exit 1; }
	ams=$(salloc -n1 --mem=100 sh -c "$chain" 2>"$tmp/salloc.err") || { cat "$tmp/salloc.err"; exit 1; }
	say "overhead per job: srun $rms ms, srun in one salloc allocation $ams ms, sbatch (slurm executor) $sms ms: sbatch/srun $(ratio "$sms / $rms")x, sbatch/salloc+srun $(ratio "$sms / $ams")x"
else
	say "srun and salloc not installed: not measured"
fi

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
ml=$(ratio "$t1 - $t0")
ms=$(ratio "$t2 - $t1")
say "example distribution ($(ls -d "$top"/examples/minidistro/SPECS/*/ | wc -l) specs): makespan local $ml s, slurm $ms s: slurm/local $(ratio "$ms / $ml")x"

# A generated distribution, built for real and published: the same
# repository, two fresh state directories.
"$top/build/bench/gen-distro" --specs "$nspecs" --commits 0 --buildable --out "$tmp/gen" >"$tmp/gen.out"
sed -n 's/^gen-distro: /bench\/cluster: generated: /p' "$tmp/gen.out" | grep -v ' root \| head '
t0=$(now)
"$shipyard" run --repo "$tmp/gen" --state "$tmp/gen-local" --channel gen --executor local >"$tmp/gen-local.out" 2>&1 ||
	{ tail -n 30 "$tmp/gen-local.out"; exit 1; }
t1=$(now)
"$shipyard" run --repo "$tmp/gen" --state "$tmp/gen-slurm" --channel gen --executor slurm >"$tmp/gen-slurm.out" 2>&1 ||
	{ tail -n 30 "$tmp/gen-slurm.out"; exit 1; }
t2=$(now)
for ex in local slurm; do
	grep -q "^shipyard/build success $nspecs built, 0 reused" "$tmp/gen-$ex.out" ||
		{ grep '^shipyard/build' "$tmp/gen-$ex.out"; say "$ex: not $nspecs specs built"; exit 1; }
	find "$(readlink -f "$tmp/gen-$ex/repos/gen/current")" -name '*.rpm' -print0 |
		xargs -0 rpm -qp --nosignature --qf '%{NEVRA}\n' 2>/dev/null | sort >"$tmp/nevra.$ex"
done
[ -s "$tmp/nevra.local" ] || { say "nothing published"; exit 1; }
cmp -s "$tmp/nevra.local" "$tmp/nevra.slurm" ||
	{ diff "$tmp/nevra.local" "$tmp/nevra.slurm" | head; say "the executors published different NEVRAs"; exit 1; }
# Same build keys, same outputs.
if command -v jq >/dev/null; then
	for summary in "$tmp"/gen-local/artifacts/*/summary.json; do
		key=$(basename "$(dirname "$summary")")
		a=$(jq -r .output_digest "$summary")
		b=$(jq -r .output_digest "$tmp/gen-slurm/artifacts/$key/summary.json" 2>/dev/null || true)
		[ -n "$a" ] && [ "$a" != null ] || { say "$key: no output digest"; exit 1; }
		[ "$a" = "$b" ] || { say "$key: output digest $a locally, ${b:-none} on Slurm"; exit 1; }
	done
fi
gl=$(ratio "$t1 - $t0")
gs=$(ratio "$t2 - $t1")
say "generated distribution ($nspecs specs, $(wc -l <"$tmp/nevra.local") RPMs published, the same NEVRAs): makespan local $gl s, slurm $gs s: slurm/local $(ratio "$gs / $gl")x"
