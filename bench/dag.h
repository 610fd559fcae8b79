/* Synthetic build DAGs and the random source of the scheduler benches
 * (build-sched, cluster-exec, cluster-sim): one generator, so that their
 * figures describe the same shape of distribution. Not thread-safe: one
 * random state per process. */
#ifndef SHIPYARD_BENCH_DAG_H
#define SHIPYARD_BENCH_DAG_H

#include <stddef.h>
#include <stdint.h>

#include "builder/scheduler.h"

/* Mixes seed into the random state (--seed S of the benches); without a
 * call, every run draws the same numbers. */
void bench_seed(uint64_t seed);

/* A uniform number in [0, 1) (xorshift64). */
double bench_uniform(void);

/* A log-normal number with the given median (seconds) and sigma. */
double bench_lognormal(double median, double sigma);

/* A DAG of jobs for builder/scheduler.h: jobs[j] depends on earlier jobs
 * only (topological order); seconds[j] is what job j takes (the benches'
 * actual duration; jobs[j].expected_s is the scheduler's estimate). */
struct bench_dag {
	struct builder_sched_job *jobs;
	double *seconds;
	size_t n;
};

/* Makes n jobs shaped like a distribution: each depends on some of the hubs
 * (the first n / 100 + 3 jobs: zlib, openssl, ...; a hub depends on an
 * earlier hub now and then, as openssl needs zlib), sometimes on the job
 * before it (a chain), and on a few random earlier jobs. Durations are
 * log-normal (median 120 s for a hub, 60 s for a job, sigma 1.1) times
 * scale; the estimates equal them. Free with bench_dag_free. */
void bench_dag_make(struct bench_dag *d, size_t n, double scale);

/* Makes n jobs each depending on the one before, each taking no time (an
 * estimate of 1 s). Free with bench_dag_free. */
void bench_dag_chain(struct bench_dag *d, size_t n);

/* Frees what bench_dag_make or bench_dag_chain allocated in d. */
void bench_dag_free(struct bench_dag *d);

#endif
