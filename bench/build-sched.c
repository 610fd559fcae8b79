/* Scheduler makespan on synthetic build DAGs (issue 4, "Checked by"):
 * the same jobs handed to N simulated workers by critical path (what
 * `shipyard run` does) and in FIFO order (the Azure Linux toolkit's
 * scheduler), against the lower bound max(longest chain, total work / N).
 *
 * A DAG is shaped like a distribution: a few toolchain hubs most jobs
 * depend on, chains of libraries, many leaves; build times are log-normal
 * (median about a minute, a tail of hour-long builds such as a kernel or a
 * compiler). The scheduler only knows estimates (the spec's last build
 * time): each run is simulated with the estimates exact and with every
 * actual duration off by a random factor between 0.5 and 2.
 *
 * usage: build-sched [--jobs N]... [--specs N] [--seed S]
 * Prints "bench/build: ..." lines; figures, not pass/fail (targets: within
 * 5% of the lower bound, better than FIFO). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/dag.h"
#include "builder/scheduler.h"
#include "common/strv.h"

/* Actual durations off the estimates by a factor in [0.5, 2]. */
static void add_noise(struct bench_dag *d)
{
	for (size_t j = 0; j < d->n; j++)
		d->seconds[j] = d->jobs[j].expected_s * exp2(bench_uniform() * 2 - 1);
}

static int report(const char *label, const struct bench_dag *d, size_t workers)
{
	struct sy_error err = { { 0 } };
	double lb = builder_sched_lower_bound(d->jobs, d->n, workers, d->seconds, &err);
	double cp = builder_sched_simulate(d->jobs, d->n, workers, BUILDER_SCHED_CRITICAL_PATH,
					   d->seconds, &err);
	double fifo = builder_sched_simulate(d->jobs, d->n, workers, BUILDER_SCHED_FIFO, d->seconds,
					     &err);

	if (lb < 0 || cp < 0 || fifo < 0) {
		fprintf(stderr, "bench/build: %s\n", err.msg);
		return -1;
	}
	printf("bench/build: scheduler, %zu jobs, %s, %zu workers: lower bound %.0f s; "
	       "critical path %.0f s (%.1f%% over the bound); FIFO %.0f s (%.1f%% over); "
	       "critical path is %.2fx faster than FIFO\n",
	       d->n, label, workers, lb, cp, fmax(0, 100 * (cp / lb - 1)), fifo,
	       fmax(0, 100 * (fifo / lb - 1)),
	       fifo / cp);
	return 0;
}

int main(int argc, char **argv)
{
	size_t workers[8], nworkers = 0, n = 3000;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--jobs") && i + 1 < argc && nworkers < 8)
			workers[nworkers++] = (size_t)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--specs") && i + 1 < argc)
			n = (size_t)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			bench_seed((uint64_t)strtoull(argv[++i], NULL, 10));
		else {
			fprintf(stderr, "usage: build-sched [--jobs N]... [--specs N] [--seed S]\n");
			return 2;
		}
	}
	if (!nworkers) {
		static const size_t defaults[] = { 2, 8, 32, 128 };
		memcpy(workers, defaults, sizeof(defaults));
		nworkers = 4;
	}
	struct bench_dag d;
	bench_dag_make(&d, n, 1);
	for (size_t w = 0; w < nworkers; w++)
		if (report("exact estimates", &d, workers[w]))
			return 1;
	add_noise(&d);
	for (size_t w = 0; w < nworkers; w++)
		if (report("estimates off by 0.5-2x", &d, workers[w]))
			return 1;
	bench_dag_free(&d);
	return 0;
}
