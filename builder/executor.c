#define _GNU_SOURCE
#include "builder/executor.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "builder/slurm.h"
#include "common/child.h"
#include "common/strv.h"

/* ---- local: a forked job process per job ---- */

/* One running job. */
struct local_job {
	size_t id;                /* the job's id */
	void (*run)(void *arg, int result_fd);
	void *arg;
	struct sy_child child;    /* its process; the capture pipe carries the
				   * result line */
};

struct local {
	struct local_job *jobs;   /* the running jobs */
	size_t n, alloc;          /* jobs running, slots allocated */
};

/* The job process: runs the job with the result pipe where fork left it
 * (moving it could overwrite an fd the job's code uses, such as an open
 * pack of the repository). */
static int local_job_main(void *arg)
{
	struct local_job *job = arg;

	job->run(job->arg, job->child.capture_child_fd);
	return 0;
}

static int local_start(void *impl, const struct builder_executor_job *job, struct sy_error *err)
{
	struct local *l = impl;
	struct local_job *j;

	if (l->n == l->alloc) {
		l->alloc = l->alloc ? l->alloc * 2 : 8;
		l->jobs = sy_xrealloc(l->jobs, l->alloc * sizeof(*l->jobs));
	}
	j = &l->jobs[l->n];
	*j = (struct local_job){ .id = job->id, .run = job->run, .arg = job->arg,
				 .child = SY_CHILD_INIT };
	j->child.child_fn = local_job_main;
	j->child.child_arg = j;
	j->child.capture = 1;
	j->child.capture_at = SY_CHILD_ANY_FD;
	/* It dies with the scheduler, and its build (a death signal too)
	 * with it. */
	j->child.death_signal = SIGKILL;
	if (sy_child_start(&j->child, err))
		return -1;
	l->n++;
	return 0;
}

static int local_wait(void *impl, int timeout_ms, struct builder_executor_done *done)
{
	struct local *l = impl;
	struct sy_child **children = sy_xcalloc(l->n + 1, sizeof(*children));
	struct local_job *j;
	int i;

	for (size_t k = 0; k < l->n; k++)
		children[k] = &l->jobs[k].child;
	i = sy_child_wait_any(children, l->n, timeout_ms);
	free(children);
	if (i < 0)
		return 0;
	j = &l->jobs[i];
	*done = (struct builder_executor_done){
		.id = j->id, .line = j->child.out, .status = j->child.status,
		.signal = j->child.signal,
	};
	j->child.out = NULL;
	sy_child_release(&j->child);
	l->jobs[i] = l->jobs[--l->n];
	return 1;
}

static void local_cancel(void *impl)
{
	struct local *l = impl;

	for (size_t k = 0; k < l->n; k++)
		sy_child_kill(&l->jobs[k].child, SIGKILL);
}

static size_t local_running(void *impl)
{
	return ((struct local *)impl)->n;
}

static void local_free(void *impl)
{
	struct local *l = impl;

	for (size_t k = 0; k < l->n; k++)
		sy_child_release(&l->jobs[k].child);
	free(l->jobs);
	free(l);
}

static const struct builder_executor_ops local_ops = {
	"local", local_start, local_wait, local_cancel, local_running, local_free,
};

/* ---- the interface ---- */

struct builder_executor *builder_executor_new(const struct builder_executor_config *cfg,
					      struct sy_error *err)
{
	const char *name = cfg && cfg->name ? cfg->name : local_ops.name;
	struct builder_executor *ex;
	void *impl;

	if (!strcmp(name, local_ops.name)) {
		impl = sy_xcalloc(1, sizeof(struct local));
		ex = sy_xcalloc(1, sizeof(*ex));
		ex->ops = &local_ops;
	} else if (!strcmp(name, builder_slurm_ops.name)) {
		if (!(impl = builder_slurm_new(cfg, err)))
			return NULL;
		ex = sy_xcalloc(1, sizeof(*ex));
		ex->ops = &builder_slurm_ops;
	} else {
		sy_error_set(err, "unknown executor '%s' (" BUILDER_EXECUTOR_NAMES ")", name);
		return NULL;
	}
	ex->impl = impl;
	return ex;
}

int builder_executor_start(struct builder_executor *ex, const struct builder_executor_job *job,
			   struct sy_error *err)
{
	return ex->ops->start(ex->impl, job, err);
}

int builder_executor_wait(struct builder_executor *ex, int timeout_ms,
			  struct builder_executor_done *done)
{
	int got = ex->ops->wait(ex->impl, timeout_ms, done);

	if (got && !done->line)
		done->line = sy_xcalloc(1, 1);
	return got;
}

void builder_executor_cancel(struct builder_executor *ex)
{
	ex->ops->cancel(ex->impl);
}

size_t builder_executor_running(const struct builder_executor *ex)
{
	return ex->ops->running(ex->impl);
}

void builder_executor_free(struct builder_executor *ex)
{
	if (!ex)
		return;
	ex->ops->free(ex->impl);
	free(ex);
}
