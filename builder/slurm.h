/* The "slurm" executor (builder/executor.h): build jobs on a Slurm cluster.
 *
 * Each job the scheduler hands over gets a directory <jobs_dir>/<job name>
 * on storage the nodes share, holding its description (job.json,
 * builder/jobdesc.h, written in the scheduler's process once its sources are
 * in place), a batch script (job.sh: `exec <shipyard> buildjob job.json`),
 * Slurm's output (slurm.out), the job id (jobid) and, once the build ended,
 * its result line (result). It is submitted with `sbatch --parsable` with
 * its resource request as --cpus-per-task, --mem, --tmp and --time and the
 * configured --partition, --account, --qos and extra options. Slurm's own
 * dependencies are never used: the scheduler hands over only jobs whose
 * dependencies are done (Slurm 22.05 keeps a job whose afterok prerequisite
 * failed pending forever, and counts a dependency on an unknown job id as
 * satisfied).
 *
 * Polling: a job whose result file exists is finished with it (the files
 * are looked at every 50 ms); once per tick, for the others, one
 * `squeue --states=all` gives their
 * states (and `sacct` those squeue no longer knows, where the cluster keeps
 * accounting). A job that ended without a result is an infrastructure
 * failure (retried by the scheduler): NODE_FAIL, BOOT_FAIL, PREEMPTED,
 * CANCELLED by someone else than this executor, DEADLINE, or a job that
 * vanished or ended without writing a result. TIMEOUT and OUT_OF_MEMORY are
 * the build's own failures: its resource class is too small.
 *
 * A job whose directory holds a job id when it is started again (the
 * scheduler was killed and runs the same work once more) is attached to, not
 * submitted: its result, or its end, is polled as any other's. */
#ifndef BUILDER_SLURM_H
#define BUILDER_SLURM_H

#include "builder/executor.h"
#include "common/error.h"

/* The operations of the slurm executor. */
extern const struct builder_executor_ops builder_slurm_ops;

/* Makes the slurm executor's state from cfg (copied). Returns it, or NULL
 * with err ("slurm executor: no jobs directory", "<jobs_dir>: <reason>"). */
void *builder_slurm_new(const struct builder_executor_config *cfg, struct sy_error *err);

/* How a Slurm job state (squeue's %T, sacct's State, e.g. "NODE_FAIL",
 * "CANCELLED by 0") reads for a job with no result: 0 still queued or
 * running, 1 an infrastructure failure, 2 a failure of the build itself
 * (TIMEOUT, OUT_OF_MEMORY), 3 ended normally (COMPLETED, FAILED: the result
 * decides). Unknown states count as running. */
int builder_slurm_state_class(const char *state);

/* Formats seconds as a Slurm time limit (sbatch --time): whole minutes,
 * rounded up, at least 1. Writes into buf (size bytes, 24 are enough). */
void builder_slurm_time(unsigned seconds, char *buf, size_t size);

#endif
