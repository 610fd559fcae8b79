/* Where build jobs run: the seam between the scheduler (builder/schedule.c,
 * which keeps the DAG, the critical-path order, retries, failure blocking
 * and progress) and the machines. The scheduler hands an executor the jobs
 * that are ready, waits for finished ones, reads each one's result line,
 * and cancels what runs when the run is cancelled. It never learns how or
 * where a job ran.
 *
 * One executor exists: "local", a job process per build on this machine
 * (common/child.h: forked from the scheduler, its result line over a pipe,
 * its own process group, killed with the scheduler), its process group
 * killed on cancel. A cluster executor (e.g. "slurm": a ready job submitted
 * with sbatch, polled with squeue or sacct, cancelled with scancel) is a
 * second struct builder_executor_ops beside it, chosen by name in
 * builder_executor_new; the scheduler does not change. Such an executor
 * cannot call a job's run function on another machine: it will need the
 * job written as a description that a build entry point on the node reads,
 * writing the same result line. */
#ifndef BUILDER_EXECUTOR_H
#define BUILDER_EXECUTOR_H

#include <stddef.h>

#include "common/error.h"

/* One job to run. */
struct builder_executor_job {
	size_t id;       /* the caller's number for the job (the plan entry),
			  * given back when it finishes */
	/* The job's work, run where the job runs (local: in a process forked
	 * from the caller, with the caller's memory as it was at the start);
	 * writes the job's result as one line to result_fd, which it does
	 * not close. */
	void (*run)(void *arg, int result_fd);
	void *arg;
	unsigned cores;  /* resource request: cores the job's build uses (its
			  * %_smp_ncpus_max); the local executor runs every
			  * job it is given, the caller limits how many */
};

/* A finished job. */
struct builder_executor_done {
	size_t id;       /* the job's id */
	char *line;      /* what the job wrote to result_fd, NUL-terminated, ""
			  * when nothing; caller frees */
	int status;      /* how its process ended: exit status 0..255, or 128 +
			  * the signal that killed it */
	int signal;      /* that signal, 0 when it exited */
};

/* The operations of one kind of executor; impl is its own state. */
struct builder_executor_ops {
	const char *name;  /* "local" */
	/* Starts job; 0, or -1 with err when it could not be started. */
	int (*start)(void *impl, const struct builder_executor_job *job, struct sy_error *err);
	/* Waits up to timeout_ms for news of the running jobs; 1 with done
	 * filled when one finished, else 0. */
	int (*wait)(void *impl, int timeout_ms, struct builder_executor_done *done);
	/* Kills every running job; they still finish through wait. */
	void (*cancel)(void *impl);
	/* Jobs started and not yet returned by wait. */
	size_t (*running)(void *impl);
	/* Kills and reaps what still runs, frees impl. */
	void (*free)(void *impl);
};

/* An executor: its operations and their state. */
struct builder_executor {
	const struct builder_executor_ops *ops;
	void *impl;
};

/* Makes the executor called name ("local"). Returns it (free with
 * builder_executor_free), or NULL with err ("unknown executor 'x'
 * (local)"). */
struct builder_executor *builder_executor_new(const char *name, struct sy_error *err);

/* Starts job. Returns 0, or -1 with err ("pipe: ...", "fork: ...") when it
 * could not be started. */
int builder_executor_start(struct builder_executor *ex, const struct builder_executor_job *job,
			   struct sy_error *err);

/* Waits up to timeout_ms milliseconds (-1: no limit) for news
 * of the running jobs. Returns 1 with done filled (done->line is the
 * caller's) when a job finished, 0 when none did (the time passed, or a
 * signal or some other news came first). */
int builder_executor_wait(struct builder_executor *ex, int timeout_ms,
			  struct builder_executor_done *done);

/* Kills every running job (local: SIGKILL to its process group); each is
 * still returned by builder_executor_wait. */
void builder_executor_cancel(struct builder_executor *ex);

/* Number of jobs started and not yet returned by builder_executor_wait. */
size_t builder_executor_running(const struct builder_executor *ex);

/* Kills and reaps the jobs still running, then frees ex (NULL: nothing). */
void builder_executor_free(struct builder_executor *ex);

#endif
