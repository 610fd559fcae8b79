/* Makespan against the number of cluster nodes (issue 16, "Bench"): the
 * build DAG of a real distribution (every spec of a commit, the edges of its
 * dependency graph: a spec waits for the specs whose packages its build
 * root installs; the back edges of build cycles dropped, as a bootstrap
 * build breaks them) simulated with the scheduler's simulator
 * (builder_sched_simulate, critical-path order) on N nodes, one build per
 * node at a time, with and without the Slurm tick (each job starts on
 * slurmctld's next scheduling pass and its end is seen at shipyard's next
 * squeue poll: on average half a tick each, --tick seconds per job in all).
 *
 *   cluster-sim --repo DIR [--rev REV] [--state DIR] [--nodes N]...
 *               [--tick S] [--seed S]
 *
 * Build durations are not in git: each spec gets a log-normal duration
 * (median 60 s, sigma 1.1; the specs most depended upon, the top 1%, a
 * median of 600 s: compilers, kernels), the model of bench/dag.h.
 * Prints "bench/cluster: ..." lines; figures, not pass/fail. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/dag.h"
#include "builder/scheduler.h"
#include "cli/cli.h"
#include "common/strv.h"

/* Depth-first walk keeping only edges to specs not on the current path. */
struct walk {
	const struct planner_graph *g;
	unsigned char *color; /* 0 new, 1 on the path, 2 done */
	size_t **deps;
	size_t *ndeps;
	size_t dropped;
};

static void visit(struct walk *w, size_t i)
{
	const struct planner_graph_node *node = &w->g->nodes[i];

	w->color[i] = 1;
	w->deps[i] = calloc(node->nroot_specs + 1, sizeof(size_t));
	for (size_t k = 0; k < node->nroot_specs; k++) {
		size_t d = node->root_specs[k];
		if (w->color[d] == 1) {
			w->dropped++;
			continue;
		}
		if (w->color[d] == 0)
			visit(w, d);
		w->deps[i][w->ndeps[i]++] = d;
	}
	w->color[i] = 2;
}

int main(int argc, char **argv)
{
	struct cli_commit_request r = { .rev = "HEAD", .state_dir = "/tmp/shipyard-cluster-sim" };
	struct cli_commit c = { 0 };
	struct sy_error err = { { 0 } };
	size_t nodes[8], nn = 0;
	double tick = 1.0;

	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			goto usage;
		if (!strcmp(argv[i], "--repo"))
			r.repo_path = argv[++i];
		else if (!strcmp(argv[i], "--rev"))
			r.rev = argv[++i];
		else if (!strcmp(argv[i], "--state"))
			r.state_dir = argv[++i];
		else if (!strcmp(argv[i], "--nodes") && nn < 8)
			nodes[nn++] = (size_t)atol(argv[++i]);
		else if (!strcmp(argv[i], "--tick"))
			tick = atof(argv[++i]);
		else if (!strcmp(argv[i], "--seed"))
			bench_seed((uint64_t)strtoull(argv[++i], NULL, 10));
		else
			goto usage;
	}
	if (!r.repo_path)
		goto usage;
	if (!nn) {
		nodes[nn++] = 1;
		nodes[nn++] = 8;
		nodes[nn++] = 64;
	}
	if (cli_commit_load(&r, &c, &err) || !c.commit.has_graph) {
		fprintf(stderr, "bench/cluster: %s\n", err.msg[0] ? err.msg : "no graph");
		cli_commit_release(&c);
		return 1;
	}
	const struct planner_graph *g = &c.commit.graph;
	size_t n = c.commit.index.nspecs, edges = 0;
	struct walk w = { g, calloc(n + 1, 1), calloc(n + 1, sizeof(size_t *)),
			  calloc(n + 1, sizeof(size_t)), 0 };
	size_t *dependents = calloc(n + 1, sizeof(size_t));
	struct builder_sched_job *jobs = calloc(n + 1, sizeof(*jobs));
	double *with_tick = calloc(n + 1, sizeof(double));

	for (size_t i = 0; i < n; i++)
		if (!w.color[i])
			visit(&w, i);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < w.ndeps[i]; k++)
			dependents[w.deps[i][k]]++, edges++;
	/* The top 1% by dependents are the long builds. */
	size_t *sorted = calloc(n + 1, sizeof(size_t)), cut;
	memcpy(sorted, dependents, n * sizeof(size_t));
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && sorted[j - 1] < sorted[j]; j--) {
			size_t t = sorted[j];
			sorted[j] = sorted[j - 1];
			sorted[j - 1] = t;
		}
	cut = n ? sorted[n / 100] : 0;
	for (size_t i = 0; i < n; i++) {
		jobs[i] = (struct builder_sched_job){
			.expected_s = bench_lognormal(dependents[i] > cut ? 600 : 60, 1.1),
			.deps = w.deps[i], .ndeps = w.ndeps[i],
		};
		with_tick[i] = jobs[i].expected_s + tick;
	}
	printf("bench/cluster: %s: %zu specs, %zu build edges (%zu cycle edges dropped)\n",
	       r.repo_path, n, edges, w.dropped);
	double base = -1;
	for (size_t k = 0; k < nn; k++) {
		double lb = builder_sched_lower_bound(jobs, n, nodes[k], NULL, &err);
		double plain = builder_sched_simulate(jobs, n, nodes[k], BUILDER_SCHED_CRITICAL_PATH,
						      NULL, &err);
		double ticked = builder_sched_simulate(jobs, n, nodes[k], BUILDER_SCHED_CRITICAL_PATH,
						       with_tick, &err);
		if (lb < 0 || plain < 0 || ticked < 0) {
			fprintf(stderr, "bench/cluster: %s\n", err.msg);
			return 1;
		}
		if (base < 0)
			base = ticked;
		printf("bench/cluster: simulated %zu nodes: makespan %.0f s without the tick, %.0f s "
		       "with a %.1f s tick per job (+%.2f%%); lower bound %.0f s; speedup over "
		       "%zu node%s %.2fx\n", nodes[k], plain, ticked, tick,
		       100 * (ticked / plain - 1), lb, nodes[0], nodes[0] == 1 ? "" : "s",
		       base / ticked);
	}
	for (size_t i = 0; i < n; i++)
		free(w.deps[i]);
	free(w.deps);
	free(w.ndeps);
	free(w.color);
	free(dependents);
	free(sorted);
	free(jobs);
	free(with_tick);
	cli_commit_release(&c);
	return 0;
usage:
	fprintf(stderr, "usage: cluster-sim --repo DIR [--rev REV] [--state DIR] [--nodes N]... "
			"[--tick S] [--seed S]\n");
	return 2;
}
