/* depsearch: which specs depend on given specs, or which specs they need, over
 * the spec-level edges of the dependency graph (planner/graph.h), as the Azure
 * Linux toolkit's depsearch does on its DOT graph (tools/pkg/depsearch).
 *
 * Edges: spec A needs spec B when B is in nodes[A].build_deps (A BuildRequires
 * a package of B: a build edge) or in nodes[A].run_deps (a package of A
 * Requires a package of B: a runtime edge). Which edges are followed is the
 * same at every level:
 *   PLANNER_DEPSEARCH_ALL      both kinds (the toolkit's closure over BUILD and
 *                              RUN nodes; what lands in a build root through a
 *                              BuildRequires' own Requires is reached this way)
 *   PLANNER_DEPSEARCH_BUILD    build edges only (only what BuildRequires
 *                              created; a Requires of a BuildRequires is not
 *                              followed)
 *   PLANNER_DEPSEARCH_RUNTIME  runtime edges only
 * Directions:
 *   PLANNER_DEPSEARCH_DEPENDENTS    what depends on the searched specs: every A
 *                                   with a path A -> ... -> searched (the
 *                                   toolkit's default)
 *   PLANNER_DEPSEARCH_DEPENDENCIES  what the searched specs need: every B with
 *                                   a path searched -> ... -> B (the toolkit's
 *                                   --reverse)
 * The search is breadth-first: a spec's depth is its shortest distance from a
 * searched spec (searched specs: 0, queued in index order), and it is listed
 * once, under the first spec of the previous level, in breadth-first order,
 * that reaches it (a build edge before a runtime edge; then lower spec index).
 * Packages are searched through the specs that build them, so results are
 * spec-level. The module does no I/O. */
#ifndef PLANNER_DEPSEARCH_H
#define PLANNER_DEPSEARCH_H

#include <stddef.h>

#include "planner/graph.h"
#include "planner/spec.h"
#include "common/error.h"
#include "common/strv.h"

enum planner_depsearch_direction {
	PLANNER_DEPSEARCH_DEPENDENTS = 0,
	PLANNER_DEPSEARCH_DEPENDENCIES,
};

enum planner_depsearch_edges {
	PLANNER_DEPSEARCH_ALL = 0,
	PLANNER_DEPSEARCH_BUILD,
	PLANNER_DEPSEARCH_RUNTIME,
};

/* A search. Zero-initialise, then set start. */
struct planner_depsearch_query {
	const size_t *start;   /* indices of the searched specs (duplicates allowed) */
	size_t nstart;
	enum planner_depsearch_direction direction;
	enum planner_depsearch_edges edges;
	long max_depth;        /* keep specs at most this many edges away from a
				* searched spec; < 0: no limit; 0: only the
				* searched specs */
	const unsigned char *not_built; /* per spec, or NULL: 1 for a spec that
				* is not to be built, whose own build edges are
				* not followed (a goal's ignored specs,
				* planner/target.h); DEPENDENCIES only */
};

/* Kind of the edge a spec was reached by. */
enum planner_depsearch_kind {
	PLANNER_DEPSEARCH_SEARCHED = 0, /* a searched spec, not reached by an edge */
	PLANNER_DEPSEARCH_EDGE_BUILD,
	PLANNER_DEPSEARCH_EDGE_RUNTIME,
};

/* One spec found. */
struct planner_depsearch_hit {
	size_t spec;    /* index into the specs */
	size_t depth;   /* edges from the nearest searched spec; 0 for searched */
	long via;       /* index of the spec it was reached from (its parent in
			 * the search tree); -1 for a searched spec */
	enum planner_depsearch_kind kind;
	char *reason;   /* owned; the dependent's edge, read the same in both
			 * directions: "BuildRequires zlib-devel >= 1.3" for a
			 * build edge, the graph's "curl requires libssh2" for a
			 * runtime edge; NULL for a searched spec */
};

/* The specs found, in breadth-first order (depth, then discovery).
 * Release with planner_depsearch_result_release. */
struct planner_depsearch_result {
	struct planner_depsearch_hit *hits;
	size_t n;
	long *hit_of;   /* nspecs entries: index into hits, or -1 when not found */
	size_t nspecs;
};

/* Returns the spec's search name: its file basename without ".spec"
 * ("SPECS/golang/golang-1.25.spec" -> "golang-1.25"), as the toolkit's
 * SpecName(), newly allocated (caller frees). */
char *planner_depsearch_spec_name(const struct planner_spec *spec);

/* Maps names to spec indices, appended to *out (a malloc'd array, *nout
 * entries; caller frees). With packages = 0 a name matches every spec whose
 * search name (planner_depsearch_spec_name) equals it; with packages = 1 it
 * matches every spec with a binary package of that name
 * (specs[i].packages[j].name). Specs with an error match by spec name only.
 * Returns 0, or -1 with err set to "unknown spec(s): a, b" / "unknown
 * package(s): x" naming every name that matched nothing (*out is then still
 * to be freed). */
int planner_depsearch_resolve(const struct planner_spec *specs, size_t nspecs,
			      const struct sy_strv *names, int packages, size_t **out,
			      size_t *nout, struct sy_error *err);

/* Runs query over graph (its specs and nodes). Every start index must be
 * below graph->nspecs; an out-of-range index is an error. Returns 0 with
 * result filled, or -1 with err set. Release result with
 * planner_depsearch_result_release in both cases. */
int planner_depsearch_run(const struct planner_graph *graph,
			  const struct planner_depsearch_query *query,
			  struct planner_depsearch_result *result, struct sy_error *err);

/* Returns 1 when the query's edge selection follows edges of kind (a
 * PLANNER_DEPSEARCH_EDGE_* value), else 0: for printing the found subgraph
 * with the same edges the search used. */
int planner_depsearch_follows(enum planner_depsearch_edges edges, enum planner_depsearch_kind kind);

/* Frees the result and zeroes it. */
void planner_depsearch_result_release(struct planner_depsearch_result *result);

#endif
