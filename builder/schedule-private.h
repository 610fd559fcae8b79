/* Shared between the files of a schedule run (builder/schedule.h) only:
 * the order entries run in, and one job as its process runs it
 * (jobstep.c); schedule.c runs the loop. */
#ifndef BUILDER_SCHEDULE_PRIVATE_H
#define BUILDER_SCHEDULE_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "builder/jobdesc.h"
#include "builder/schedule.h"
#include "common/strv.h"

/* Where the run stands: entry of each spec, and each entry's position in
 * the order the entries are executed (deferred ones last). */
struct run_order {
	size_t *slot; /* spec -> entry, SIZE_MAX when not in the plan */
	size_t *pos;  /* entry -> execution position */
};

static inline int ran_before(const struct run_order *o, size_t spec, size_t e)
{
	return o->slot[spec] != SIZE_MAX && o->pos[o->slot[spec]] < o->pos[e];
}

/* Parallel builds of a run: jobs, or the number of cores when jobs <= 0. */
size_t builder_schedule_default_jobs(int jobs);

/* Cores each build of a run may use (the toolkit's MAX_CPU, passed as
 * %_smp_ncpus_max): the machine's cores shared by the parallel builds. */
unsigned builder_schedule_cores(const struct builder_schedule_input *in);

/* The scratch directory of entry e: <builds>/<name>-<key, 12 digits>.
 * Newly allocated. */
char *builder_schedule_scratch(const struct builder_schedule_input *in, size_t e);

/* Prepares entry e for its build: writes its spec directory out of git to
 * src (replacing what is there), puts its sources in place and checks
 * them, finds its build root's packages (late: those resolved against this
 * run's outputs) and fills d (zeroed first; release it in every case) with
 * all its build needs (builder/jobdesc.h) but result_path. Notes written to
 * log_fd (-1: none). Returns 0, or -1 with err (the spec's failure). */
int builder_schedule_job_prepare(const struct builder_schedule_input *in,
				 const struct run_order *o, const struct builder_job_result *results,
				 size_t e, const struct sy_strv *late, const char *src, int log_fd,
				 struct builder_jobdesc *d, struct sy_error *err);

/* Builds entry e in this process (the job's, where its executor runs it):
 * writes the spec directory out of git, puts its sources in place and checks
 * them, builds it in an isolated root with its build root's packages (late
 * holds those resolved against this run's outputs) and stores the outputs
 * as the artifact of its build key. Writes the outcome to fd as one line:
 * "<built 0|1> <infrastructure 0|1> <seconds> <check -1|0|1>\t<reason>". */
void builder_schedule_job_process(const struct builder_schedule_input *in,
				  const struct run_order *o, struct builder_job_result *results,
				  size_t e, const struct sy_strv *late, int fd);

#endif
