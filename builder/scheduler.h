/* Which ready job runs next: a DAG of jobs with expected durations, handed
 * out to N workers either by critical path (the job heading the longest
 * remaining chain of expected durations first, as list schedulers do since
 * Graham and Hu) or in FIFO order (the order jobs became ready, as the Azure
 * Linux toolkit's scheduler hands them to its workers). The same code drives
 * real builds (builder/schedule.h) and the simulation bench/build uses to
 * compare the two orders against the lower bound. */
#ifndef BUILDER_SCHEDULER_H
#define BUILDER_SCHEDULER_H

#include <stddef.h>

#include "common/error.h"

/* One job of the DAG. */
struct builder_sched_job {
	double expected_s;   /* expected duration (seconds, >= 0) */
	const size_t *deps;  /* jobs that must finish before this one starts */
	size_t ndeps;
};

enum builder_sched_order {
	BUILDER_SCHED_CRITICAL_PATH, /* longest remaining chain first */
	BUILDER_SCHED_FIFO,          /* first ready, first started */
};

/* The state of one run; create with builder_sched_new. */
struct builder_sched;

/* Makes a scheduler over jobs[0..n) (copied: the caller may free jobs
 * afterwards). Critical path of a job: its expected duration plus the
 * largest critical path among the jobs that depend on it. Ties go to the job
 * with more dependents, then to the lower index. Returns NULL with err set
 * ("job 3 depends on itself through job 7", "job 2: dependency 9 out of
 * range") when the dependencies are not a DAG over 0..n. Free with
 * builder_sched_free. */
struct builder_sched *builder_sched_new(const struct builder_sched_job *jobs, size_t n,
					enum builder_sched_order order, struct sy_error *err);

/* Frees the scheduler (NULL is allowed). */
void builder_sched_free(struct builder_sched *s);

/* Takes the best ready job (all its dependencies done) and marks it started.
 * Returns its index, or -1 when no job is ready now (some are running, or all
 * are done). */
long builder_sched_next(struct builder_sched *s);

/* Marks a started job done, which may make its dependents ready. */
void builder_sched_done(struct builder_sched *s, size_t job);

/* Puts a started job back among the ready ones (a retry): by critical path
 * it keeps its priority; in FIFO order it queues behind the ready jobs. */
void builder_sched_retry(struct builder_sched *s, size_t job);

/* Returns 1 when every job is done. */
int builder_sched_finished(const struct builder_sched *s);

/* Returns the critical path of job (seconds): the time from its start to
 * the end of the longest chain of jobs waiting for it. */
double builder_sched_critical_path(const struct builder_sched *s, size_t job);

/* Returns the sum of the expected durations of the jobs not done yet, and in
 * *path (when not NULL) the longest critical path among them: with N
 * workers, max(path, work / N) estimates the time left. */
double builder_sched_remaining(const struct builder_sched *s, double *path);

/* Simulates running jobs with workers parallel workers in the given order,
 * each job taking actual_s[j] seconds (NULL: its expected duration), with
 * no time between jobs. Returns the makespan (seconds), or -1 with err set
 * when the jobs are not a DAG. */
double builder_sched_simulate(const struct builder_sched_job *jobs, size_t n, size_t workers,
			      enum builder_sched_order order, const double *actual_s,
			      struct sy_error *err);

/* The lower bound of any schedule of jobs on workers workers, with the
 * durations actual_s (NULL: expected): max(longest chain, total work /
 * workers). Returns seconds, or -1 with err set when the jobs are not a
 * DAG. */
double builder_sched_lower_bound(const struct builder_sched_job *jobs, size_t n, size_t workers,
				 const double *actual_s, struct sy_error *err);

#endif
