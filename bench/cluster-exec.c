/* Executor overhead and DAG makespan (issue 16, "Bench"): the same jobs
 * through the local executor (forked processes) and the slurm executor
 * (sbatch, squeue polling; a cluster given by $SLURM_CONF), with the
 * scheduler's critical-path order (builder/scheduler.h).
 *
 *   cluster-exec --executor local|slurm [--jobs-dir DIR] [--chain N]
 *                [--dag N] [--scale S] [--slots K] [--seed S]
 *
 * --chain N: N jobs that do nothing, one after the other: the time per job
 * is the executor's overhead (start, run, notice the end, collect).
 * --dag N: N jobs shaped like a distribution (a few hubs most jobs need,
 * chains, random earlier dependencies; bench/dag.h), each
 * sleeping a log-normal duration (median 60 s for a job, 120 s for a hub,
 * sigma 1.1) times --scale, at most --slots at once (default: all ready
 * jobs; the cluster limits them). Prints its makespan and the simulated
 * makespan of the same durations on --slots workers with no overhead.
 * A slurm job runs a shell script in place of `shipyard buildjob` that
 * sleeps and writes the result line: Slurm's part alone is measured.
 * Prints "bench/cluster: ..." lines; figures, not pass/fail. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/dag.h"
#include "builder/executor.h"
#include "builder/scheduler.h"
#include "common/fs.h"
#include "common/strv.h"
#include "common/util.h"

static double *job_seconds; /* the running bench's durations, for the jobs */

struct jarg {
	size_t j;
};

static void run_local(void *arg, int fd)
{
	const struct jarg *a = arg;
	double s = job_seconds[a->j];
	struct timespec ts = { (time_t)s, (long)((s - floor(s)) * 1e9) };

	nanosleep(&ts, NULL);
	dprintf(fd, "1 0 %.3f -1\t\n", s);
}

static int describe(void *arg, const char *desc, const char *result, char **line)
{
	const struct jarg *a = arg;
	char *text = sy_xasprintf("d=%.3f\nr='%s'\n", job_seconds[a->j], result);
	int rc = sy_write_file_atomic(desc, text, strlen(text), 0644, NULL);

	free(text);
	if (rc)
		*line = sy_xstrdup("0 1 0 -1\tcannot write the description\n");
	return rc;
}

/* Runs b through ex with at most slots jobs at once; returns the makespan
 * in seconds, or -1. */
static double run(struct builder_executor *ex, const struct bench_dag *b, size_t slots, const char *tag)
{
	struct sy_error err = { { 0 } };
	struct builder_sched *s = builder_sched_new(b->jobs, b->n, BUILDER_SCHED_CRITICAL_PATH, &err);
	struct jarg *args = sy_xcalloc(b->n + 1, sizeof(*args));
	size_t running = 0, failed = 0;
	double t0 = sy_now_s();
	long next;

	job_seconds = b->seconds;
	while (s && !builder_sched_finished(s)) {
		while (running < slots && (next = builder_sched_next(s)) >= 0) {
			char name[64];
			snprintf(name, sizeof(name), "bench-%s-%ld", tag, next);
			args[next].j = (size_t)next;
			struct builder_executor_job job = {
				.id = (size_t)next, .name = name, .run = run_local, .describe = describe,
				.arg = &args[next], .res = { .cpus = 1, .memory_mib = 100, .time_s = 600 },
			};
			if (builder_executor_start(ex, &job, &err)) {
				fprintf(stderr, "bench/cluster: %s\n", err.msg);
				goto out;
			}
			running++;
		}
		struct builder_executor_done done;
		if (builder_executor_wait(ex, 1000, &done) == 1) {
			failed += strncmp(done.line, "1 ", 2) != 0;
			free(done.line);
			running--;
			builder_sched_done(s, done.id);
		}
	}
out:;
	int ok = s && !failed && builder_sched_finished(s);
	double t = sy_now_s() - t0;
	if (failed)
		fprintf(stderr, "bench/cluster: %zu jobs failed\n", failed);
	free(args);
	builder_sched_free(s);
	return ok ? t : -1;
}

int main(int argc, char **argv)
{
	struct builder_executor_config cfg = { .name = "local" };
	size_t chain = 0, dag = 0, slots = 0;
	double scale = 0.005;
	char *script = NULL, tag[32];
	struct sy_error err = { { 0 } };
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			goto usage;
		if (!strcmp(argv[i], "--executor"))
			cfg.name = argv[++i];
		else if (!strcmp(argv[i], "--jobs-dir"))
			cfg.jobs_dir = argv[++i];
		else if (!strcmp(argv[i], "--chain"))
			chain = (size_t)atol(argv[++i]);
		else if (!strcmp(argv[i], "--dag"))
			dag = (size_t)atol(argv[++i]);
		else if (!strcmp(argv[i], "--scale"))
			scale = atof(argv[++i]);
		else if (!strcmp(argv[i], "--slots"))
			slots = (size_t)atol(argv[++i]);
		else if (!strcmp(argv[i], "--seed"))
			bench_seed((uint64_t)strtoull(argv[++i], NULL, 10));
		else
			goto usage;
	}
	if (cfg.jobs_dir) {
		/* What a node runs in place of `shipyard buildjob`. */
		script = sy_xasprintf("%s/bench-job.sh", cfg.jobs_dir);
		const char *text = "#!/bin/sh\n. \"$2\"\nsleep \"$d\"\n"
				   "printf '1 0 %s -1\\t\\n' \"$d\" >\"$r.tmp\" && mv \"$r.tmp\" \"$r\"\n";
		if (sy_mkdir_p(cfg.jobs_dir, 0755, &err) ||
		    sy_write_file_atomic(script, text, strlen(text), 0755, &err)) {
			fprintf(stderr, "bench/cluster: %s\n", err.msg);
			return 1;
		}
		cfg.program = script;
	}
	struct builder_executor *ex = builder_executor_new(&cfg, &err);
	if (!ex) {
		fprintf(stderr, "bench/cluster: %s\n", err.msg);
		free(script);
		return 1;
	}
	snprintf(tag, sizeof(tag), "%ld", (long)getpid());
	if (chain) {
		struct bench_dag b;
		bench_dag_chain(&b, chain);
		double t = run(ex, &b, 1, tag);
		if (t < 0)
			rc = 1;
		else
			printf("bench/cluster: %s: overhead per job %.1f ms (%zu jobs in a chain, %.2f s)\n",
			       cfg.name, 1000 * t / (double)chain, chain, t);
		bench_dag_free(&b);
	}
	if (dag && rc == 0) {
		struct bench_dag b;
		size_t workers = slots ? slots : (size_t)sysconf(_SC_NPROCESSORS_ONLN);
		bench_dag_make(&b, dag, scale);
		strcat(tag, "d");
		double t = run(ex, &b, slots ? slots : dag, tag);
		double ideal = builder_sched_simulate(b.jobs, b.n, workers, BUILDER_SCHED_CRITICAL_PATH,
						      NULL, &err);
		if (t < 0)
			rc = 1;
		else
			printf("bench/cluster: %s: DAG of %zu jobs: makespan %.2f s (simulated on %zu "
			       "workers without overhead: %.2f s)\n", cfg.name, dag, t, workers, ideal);
		bench_dag_free(&b);
	}
	builder_executor_free(ex);
	free(script);
	return rc;
usage:
	fprintf(stderr, "usage: cluster-exec --executor local|slurm [--jobs-dir DIR] [--chain N] "
			"[--dag N] [--scale S] [--slots K] [--seed S]\n");
	return 2;
}
