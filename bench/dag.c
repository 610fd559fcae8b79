#include "dag.h"

#include <math.h>
#include <stdlib.h>

#include "common/strv.h"

static uint64_t rng = 88172645463325252ULL;

void bench_seed(uint64_t seed)
{
	rng ^= seed * 0x9E3779B97F4A7C15ULL;
}

double bench_uniform(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / (double)(1ULL << 53);
}

double bench_lognormal(double median, double sigma)
{
	double u1 = bench_uniform() + 1e-12, u2 = bench_uniform();
	double z = sqrt(-2.0 * log(u1)) * cos(2 * M_PI * u2);

	return median * exp(sigma * z);
}

/* The dependencies of job j when the first nhubs jobs are hubs (at most
 * 16; caller frees), their number in *ndeps. */
static size_t *hub_deps(size_t j, size_t nhubs, size_t *ndeps)
{
	size_t *deps = sy_xcalloc(16, sizeof(size_t)), k = 0;

	if (j > 0 && j < nhubs && bench_uniform() < 0.3)
		deps[k++] = (size_t)(bench_uniform() * (double)j);
	for (size_t h = 0; j >= nhubs && h < nhubs && k < 6; h++)
		if (bench_uniform() < 0.3)
			deps[k++] = h;
	if (j > nhubs && bench_uniform() < 0.3)
		deps[k++] = j - 1;
	for (int r = 0; j > nhubs && r < 3 && k < 16; r++)
		if (bench_uniform() < 0.4)
			deps[k++] = nhubs + (size_t)(bench_uniform() * (double)(j - nhubs));
	*ndeps = k;
	return deps;
}

void bench_dag_make(struct bench_dag *d, size_t n, double scale)
{
	size_t nhubs = n / 100 + 3;

	d->n = n;
	d->jobs = sy_xcalloc(n + 1, sizeof(*d->jobs));
	d->seconds = sy_xcalloc(n + 1, sizeof(double));
	for (size_t j = 0; j < n; j++) {
		size_t k;
		size_t *deps = hub_deps(j, nhubs, &k);
		d->seconds[j] = bench_lognormal(j < nhubs ? 120 : 60, 1.1) * scale;
		d->jobs[j] = (struct builder_sched_job){
			.deps = deps, .ndeps = k, .expected_s = d->seconds[j],
		};
	}
}

void bench_dag_chain(struct bench_dag *d, size_t n)
{
	d->n = n;
	d->jobs = sy_xcalloc(n + 1, sizeof(*d->jobs));
	d->seconds = sy_xcalloc(n + 1, sizeof(double));
	for (size_t j = 0; j < n; j++) {
		size_t *deps = sy_xcalloc(1, sizeof(size_t));
		deps[0] = j - 1;
		d->jobs[j] = (struct builder_sched_job){ .deps = deps, .ndeps = j > 0, .expected_s = 1 };
	}
}

void bench_dag_free(struct bench_dag *d)
{
	for (size_t j = 0; j < d->n; j++)
		free((size_t *)d->jobs[j].deps);
	free(d->jobs);
	free(d->seconds);
}
