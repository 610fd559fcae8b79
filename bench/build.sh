#!/bin/sh
# Scheduler part of the build benchmark (issue 4, "Checked by"): makespan of
# critical-path order and FIFO order on synthetic 3,000-job build DAGs with
# simulated durations, against the lower bound max(longest chain, total work
# / N), for several DAGs (seeds) and worker counts. The per-build overhead
# part is bench/build-overhead.sh. Figures, not pass/fail; targets: within 5%
# of the lower bound, better than FIFO.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
make -C "$top" --no-print-directory build/bench/build-sched >/dev/null
for seed in 1 2 3; do
	echo "bench/build: DAG seed $seed"
	"$top/build/bench/build-sched" --seed "$seed" --jobs 2 --jobs 8 --jobs 32
done
