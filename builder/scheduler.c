/* The ready queue is a binary heap ordered by the chosen priority; critical
 * paths are computed once, in reverse topological order. */
#include "builder/scheduler.h"

#include <stdlib.h>
#include <string.h>

#include "common/strv.h"

enum job_state { WAITING, READY, RUNNING, DONE };

struct builder_sched {
	size_t n;
	enum builder_sched_order order;
	double *expected;
	double *cp;            /* critical path per job */
	size_t **dependents;   /* per job: jobs that depend on it */
	size_t *ndependents;
	size_t *waiting_on;    /* per job: dependencies not done yet */
	enum job_state *state;
	unsigned long *seq;    /* FIFO: when the job became ready */
	unsigned long next_seq;
	size_t *heap;          /* ready jobs */
	size_t nheap;
	size_t ndone;
};

/* 1 when job a should run before job b. */
static int before(const struct builder_sched *s, size_t a, size_t b)
{
	if (s->order == BUILDER_SCHED_FIFO)
		return s->seq[a] != s->seq[b] ? s->seq[a] < s->seq[b] : a < b;
	if (s->cp[a] != s->cp[b])
		return s->cp[a] > s->cp[b];
	if (s->ndependents[a] != s->ndependents[b])
		return s->ndependents[a] > s->ndependents[b];
	return a < b;
}

static void swap(size_t *a, size_t *b)
{
	size_t t = *a;

	*a = *b;
	*b = t;
}

static void heap_push(struct builder_sched *s, size_t job)
{
	size_t i = s->nheap++;

	s->heap[i] = job;
	s->state[job] = READY;
	s->seq[job] = s->next_seq++;
	while (i > 0 && before(s, s->heap[i], s->heap[(i - 1) / 2])) {
		swap(&s->heap[i], &s->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
}

static size_t heap_pop(struct builder_sched *s)
{
	size_t top = s->heap[0], i = 0;

	s->heap[0] = s->heap[--s->nheap];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, best = i;
		if (l < s->nheap && before(s, s->heap[l], s->heap[best]))
			best = l;
		if (r < s->nheap && before(s, s->heap[r], s->heap[best]))
			best = r;
		if (best == i)
			break;
		swap(&s->heap[i], &s->heap[best]);
		i = best;
	}
	return top;
}

/* Fills dependents and waiting_on; returns 0 or -1 on a bad index. */
static int link_jobs(struct builder_sched *s, const struct builder_sched_job *jobs,
		     struct sy_error *err)
{
	for (size_t j = 0; j < s->n; j++) {
		for (size_t k = 0; k < jobs[j].ndeps; k++) {
			size_t d = jobs[j].deps[k];
			if (d >= s->n)
				return sy_error_set(err, "job %zu: dependency %zu out of range", j, d);
			s->dependents[d] = sy_xrealloc(s->dependents[d],
						       (s->ndependents[d] + 1) * sizeof(size_t));
			s->dependents[d][s->ndependents[d]++] = j;
			s->waiting_on[j]++;
		}
	}
	return 0;
}

/* Topological order into topo (Kahn); returns 0, or -1 naming a job on a
 * cycle. */
static int topo_order(const struct builder_sched *s, size_t *topo, struct sy_error *err)
{
	size_t *left = sy_xmalloc((s->n + 1) * sizeof(size_t)), head = 0, tail = 0;
	int rc = 0;

	memcpy(left, s->waiting_on, s->n * sizeof(size_t));
	for (size_t j = 0; j < s->n; j++)
		if (!left[j])
			topo[tail++] = j;
	while (head < tail) {
		size_t j = topo[head++];
		for (size_t k = 0; k < s->ndependents[j]; k++)
			if (--left[s->dependents[j][k]] == 0)
				topo[tail++] = s->dependents[j][k];
	}
	if (tail < s->n) {
		size_t j = 0;
		while (!left[j])
			j++;
		rc = sy_error_set(err, "job %zu is in a dependency cycle", j);
	}
	free(left);
	return rc;
}

struct builder_sched *builder_sched_new(const struct builder_sched_job *jobs, size_t n,
					enum builder_sched_order order, struct sy_error *err)
{
	struct builder_sched *s = sy_xcalloc(1, sizeof(*s));
	size_t *topo = sy_xmalloc((n + 1) * sizeof(size_t));

	s->n = n;
	s->order = order;
	s->expected = sy_xcalloc(n + 1, sizeof(double));
	s->cp = sy_xcalloc(n + 1, sizeof(double));
	s->dependents = sy_xcalloc(n + 1, sizeof(size_t *));
	s->ndependents = sy_xcalloc(n + 1, sizeof(size_t));
	s->waiting_on = sy_xcalloc(n + 1, sizeof(size_t));
	s->state = sy_xcalloc(n + 1, sizeof(enum job_state));
	s->seq = sy_xcalloc(n + 1, sizeof(unsigned long));
	s->heap = sy_xcalloc(n + 1, sizeof(size_t));
	for (size_t j = 0; j < n; j++)
		s->expected[j] = jobs[j].expected_s > 0 ? jobs[j].expected_s : 0;
	if (link_jobs(s, jobs, err) || topo_order(s, topo, err)) {
		free(topo);
		builder_sched_free(s);
		return NULL;
	}
	for (size_t t = n; t-- > 0;) {
		size_t j = topo[t];
		double longest = 0;
		for (size_t k = 0; k < s->ndependents[j]; k++)
			if (s->cp[s->dependents[j][k]] > longest)
				longest = s->cp[s->dependents[j][k]];
		s->cp[j] = s->expected[j] + longest;
	}
	free(topo);
	for (size_t j = 0; j < n; j++)
		if (!s->waiting_on[j])
			heap_push(s, j);
	return s;
}

void builder_sched_free(struct builder_sched *s)
{
	if (!s)
		return;
	for (size_t j = 0; j < s->n; j++)
		free(s->dependents[j]);
	free(s->dependents);
	free(s->ndependents);
	free(s->waiting_on);
	free(s->expected);
	free(s->cp);
	free(s->state);
	free(s->seq);
	free(s->heap);
	free(s);
}

long builder_sched_next(struct builder_sched *s)
{
	if (!s->nheap)
		return -1;
	size_t j = heap_pop(s);
	s->state[j] = RUNNING;
	return (long)j;
}

void builder_sched_done(struct builder_sched *s, size_t job)
{
	if (job >= s->n || s->state[job] != RUNNING)
		return;
	s->state[job] = DONE;
	s->ndone++;
	for (size_t k = 0; k < s->ndependents[job]; k++) {
		size_t d = s->dependents[job][k];
		if (--s->waiting_on[d] == 0)
			heap_push(s, d);
	}
}

void builder_sched_retry(struct builder_sched *s, size_t job)
{
	if (job < s->n && s->state[job] == RUNNING)
		heap_push(s, job);
}

int builder_sched_finished(const struct builder_sched *s)
{
	return s->ndone == s->n;
}

double builder_sched_critical_path(const struct builder_sched *s, size_t job)
{
	return job < s->n ? s->cp[job] : 0;
}

double builder_sched_remaining(const struct builder_sched *s, double *path)
{
	double work = 0, longest = 0;

	for (size_t j = 0; j < s->n; j++) {
		if (s->state[j] == DONE)
			continue;
		work += s->expected[j];
		if (s->cp[j] > longest)
			longest = s->cp[j];
	}
	if (path)
		*path = longest;
	return work;
}

/* Copies jobs with the durations replaced by actual (when given). */
static struct builder_sched_job *with_durations(const struct builder_sched_job *jobs, size_t n,
						const double *actual)
{
	struct builder_sched_job *copy = sy_xcalloc(n + 1, sizeof(*copy));

	for (size_t j = 0; j < n; j++) {
		copy[j] = jobs[j];
		if (actual)
			copy[j].expected_s = actual[j];
	}
	return copy;
}

double builder_sched_simulate(const struct builder_sched_job *jobs, size_t n, size_t workers,
			      enum builder_sched_order order, const double *actual_s,
			      struct sy_error *err)
{
	struct builder_sched *s = builder_sched_new(jobs, n, order, err);
	size_t *running = sy_xcalloc(workers + 1, sizeof(size_t)), nrunning = 0;
	double *ends = sy_xcalloc(workers + 1, sizeof(double)), now = 0;

	if (!s) {
		free(running);
		free(ends);
		return -1;
	}
	while (!builder_sched_finished(s)) {
		long j;
		while (nrunning < workers && (j = builder_sched_next(s)) >= 0) {
			running[nrunning] = (size_t)j;
			ends[nrunning++] = now + (actual_s ? actual_s[j] : jobs[j].expected_s);
		}
		size_t first = 0;
		for (size_t k = 1; k < nrunning; k++)
			if (ends[k] < ends[first])
				first = k;
		now = ends[first];
		builder_sched_done(s, running[first]);
		running[first] = running[--nrunning];
		ends[first] = ends[nrunning];
	}
	builder_sched_free(s);
	free(running);
	free(ends);
	return now;
}

double builder_sched_lower_bound(const struct builder_sched_job *jobs, size_t n, size_t workers,
				 const double *actual_s, struct sy_error *err)
{
	struct builder_sched_job *copy = with_durations(jobs, n, actual_s);
	struct builder_sched *s = builder_sched_new(copy, n, BUILDER_SCHED_CRITICAL_PATH, err);
	double path = 0, work;

	free(copy);
	if (!s)
		return -1;
	work = builder_sched_remaining(s, &path);
	builder_sched_free(s);
	return path > work / (double)(workers ? workers : 1) ? path : work / (double)workers;
}
