/* What graph.c shares with graphderive.c (deriving a commit's graph from
 * another's): the libsolv side of a graph and the resolution steps. Not an
 * interface of the planner: only these two files include it. */
#ifndef PLANNER_GRAPH_PRIVATE_H
#define PLANNER_GRAPH_PRIVATE_H

#include <pthread.h>
#include <stdint.h>

#include <solv/pool.h>
#include <solv/repo.h>

#include "planner/graph.h"

/* The node arrays of a graph read from the graph cache, carved from one
 * allocation (thousands of small ones cost more than decoding them), and
 * shared, unchanged, by the graphs derived from it: freed with the last
 * graph that holds it. An array inside it is never freed on its own. */
struct planner_graph_block {
	size_t refs;   /* graphs holding it (atomic) */
	size_t len;    /* bytes of data */
	size_t used;   /* bytes carved so far (by its first graph only) */
	unsigned char data[];
};

/* Whether p points into graph's block. */
int planner_graph_in_block(const struct planner_graph *graph, const void *p);

/* The libsolv side of a graph. A graph read back from the graph cache
 * (planner_graph_from_nodes) has its nodes but no pool until a call needs
 * one (late resolution, unresolved Requires): what makes the pool is kept
 * for that, and lock serialises its making among build threads. */
struct planner_graph_pool {
	pthread_mutex_t lock;
	int state;                    /* 0 not made, 1 made, -1 could not be */
	struct sy_strv toolchain_caps; /* what the worker root's toolchain offers */
	char *arch;                   /* target arch */
	char *learn_repo;             /* published repository to learn from, or NULL */
	Pool *pool;
	Repo *distro;                 /* packages of this distribution */
	Repo *toolchain;              /* one solvable offering the toolchain */
	int toolchain_first;          /* the toolchain wins over specs */
	struct planner_pkgref *by_id; /* solvable id -> package, for distro solvables */
	Id *spec_first;               /* per spec: the solvable id of its first
				       * package (the others follow), 0 when
				       * none was loaded; not set with take */
	/* When set, only the packages for which take returns 1 are loaded: a
	 * partial pool, to judge a few dependencies (graphderive.c). */
	int (*take)(void *arg, const struct planner_package *pkg);
	void *take_arg;
	/* Packages of another commit's specs (the base a graph is derived from,
	 * graphderive.c), loaded into repo shadow after the distribution's and
	 * never a provider of this graph: shadow_specs[i] for which
	 * shadow_take[i] is set. */
	const struct planner_spec *shadow_specs;
	const unsigned char *shadow_take;
	size_t nshadow_specs;
	Repo *shadow;                 /* NULL when no shadow packages */
	Id *shadow_first;             /* per shadow spec: its first solvable, or 0 */
	struct planner_pkgref *shadow_ref; /* solvable id - shadow start -> package
				       * of shadow_specs */
	Id shadow_start;              /* id of the first shadow solvable */
	/* best_provider's answers by dependency id, since thousands of specs ask
	 * for the same few (zlib-devel, glibc): 0 not asked yet, else
	 * (provider << 1 | toolchain) + 1. String ids and relation ids apart. */
	Id *best_str, *best_rel;
	size_t nbest_str, nbest_rel;
	uint32_t *seen;  /* per solvable: the stamp of the last closure that took it */
	uint32_t stamp;
	struct planner_graph_block *block; /* node arrays shared, or NULL */
	int block_own;   /* 1: this graph carves arrays from block */
};

/* Starts graph over specs with empty nodes and no pool yet. */
void planner_graph_init(struct planner_graph *graph, const struct planner_spec *specs,
			size_t nspecs, const struct sy_strv *toolchain, int toolchain_first,
			const char *arch, const char *learn_repo_dir);

/* Makes the pool of graph once (packages, shadow packages, learned
 * provides, whatprovides). Returns 0, or -1 with err set when the learned
 * repository cannot be read. */
int planner_graph_pool_ready(const struct planner_graph *graph, struct sy_error *err);

/* The libsolv id of dep in pool, or 0 when it cannot be parsed. */
Id planner_graph_dep_id(Pool *pool, const struct planner_dep *dep);

/* The best provider of dep among the distribution's packages (shadow
 * packages never), 0 when none; *toolchain as graph.c's best_provider. */
Id planner_graph_best_provider(struct planner_graph_pool *gp, Id dep, int *toolchain);

/* Resolves spec i of graph (its node empty, the pool ready): edges,
 * install closure, unresolved and toolchain BuildRequires. */
void planner_graph_resolve_spec(struct planner_graph *graph, size_t i);

#endif
