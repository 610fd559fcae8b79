/* Where build jobs run: the seam between the scheduler (builder/schedule.c,
 * which keeps the DAG, the critical-path order, retries, failure blocking
 * and progress) and the machines. The scheduler hands an executor the jobs
 * that are ready, waits for finished ones, reads each one's result line,
 * and cancels what runs when the run is cancelled. It never learns how or
 * where a job ran.
 *
 * Two executors exist. "local": a job process per build on this machine
 * (common/child.h: forked from the scheduler, its result line over a pipe,
 * its own process group, killed with the scheduler), its process group
 * killed on cancel. "slurm" (builder/slurm.h): each job written as a
 * description file (builder/jobdesc.h) and submitted with sbatch to run
 * `shipyard buildjob` on a node, polled with squeue, cancelled with
 * scancel, its Slurm job id kept in its job directory so that a restarted
 * scheduler attaches to it again instead of submitting it twice. */
#ifndef BUILDER_EXECUTOR_H
#define BUILDER_EXECUTOR_H

#include <stddef.h>

#include "common/error.h"

/* What a job asks of the machine that runs it. */
struct builder_resources {
	unsigned cpus;            /* cores (Slurm --cpus-per-task) */
	unsigned long long memory_mib; /* memory (--mem), 0: the cluster's default */
	unsigned long long tmp_mib;    /* local disk (--tmp), 0: none asked */
	unsigned time_s;          /* wall-clock limit (--time), 0: the partition's */
};

/* One job to run. */
struct builder_executor_job {
	size_t id;       /* the caller's number for the job (the plan entry),
			  * given back when it finishes */
	const char *name; /* the job's name, the same for the same work in any
			  * run (spec name and build key: "hello-0123456789ab");
			  * letters, digits, '.', '_', '-' */
	/* The job's work, run where the job runs (local: in a process forked
	 * from the caller, with the caller's memory as it was at the start);
	 * writes the job's result as one line to result_fd, which it does
	 * not close. */
	void (*run)(void *arg, int result_fd);
	/* The job written down for a build entry point elsewhere, run in the
	 * caller's process: writes the description file desc_path
	 * (builder/jobdesc.h) whose result line goes to result_path (and
	 * starts the job's log). Returns 0, or -1 with *line (newly
	 * allocated) the job's result line when it ended already (its
	 * sources failed). NULL: the job can only run here. */
	int (*describe)(void *arg, const char *desc_path, const char *result_path, char **line);
	void *arg;
	struct builder_resources res; /* resource request; cpus is what the
			  * job's build uses (its %_smp_ncpus_max). The local
			  * executor runs every job it is given, the caller
			  * limits how many */
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
	const char *name;  /* "local", "slurm" */
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

/* How to make an executor. */
struct builder_executor_config {
	const char *name;          /* "local" (also for NULL) or "slurm" */
	/* slurm only: */
	const char *jobs_dir;      /* a directory the nodes share: one
				    * directory per job (description, script,
				    * Slurm's output, result, job id) */
	const char *partition;     /* sbatch --partition, NULL: the default */
	const char *account;       /* --account, NULL: the default */
	const char *qos;           /* --qos, NULL: the default */
	const char *const *sbatch_options; /* more sbatch options, NULL-terminated,
				    * or NULL */
	const char *program;       /* the shipyard the nodes run; NULL: this
				    * one (/proc/self/exe resolved) */
	unsigned tick_ms;          /* squeue poll interval; 0: 1000 */
};

/* The names of the executors, for messages: "local, slurm". */
#define BUILDER_EXECUTOR_NAMES "local, slurm"

/* Makes the executor cfg names (cfg NULL: "local"). Returns it (free with
 * builder_executor_free), or NULL with err ("unknown executor 'x' (local,
 * slurm)", "slurm executor: no jobs directory"). */
struct builder_executor *builder_executor_new(const struct builder_executor_config *cfg,
					      struct sy_error *err);

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

/* Kills every running job (local: SIGKILL to its process group; slurm:
 * scancel, unless the process that started the scheduler died: its jobs
 * are left for the restarted one to attach to); each is still returned by
 * builder_executor_wait. */
void builder_executor_cancel(struct builder_executor *ex);

/* Number of jobs started and not yet returned by builder_executor_wait. */
size_t builder_executor_running(const struct builder_executor *ex);

/* Kills and reaps the jobs still running (local; slurm leaves them to
 * Slurm), then frees ex (NULL: nothing). */
void builder_executor_free(struct builder_executor *ex);

#endif
