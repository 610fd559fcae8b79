#include "planner/depsearch.h"

#include <stdlib.h>
#include <string.h>

/* One spec-level edge as seen from the spec being expanded. */
struct edge {
	size_t other;                /* the spec at the other end */
	enum planner_depsearch_kind kind;
	size_t owner, k;             /* the edge is nodes[owner]'s k-th of its kind */
};

/* Edges of every spec in one direction, as compressed rows: the edges of
 * spec i are items[first[i] .. first[i + 1]). */
struct adjacency {
	size_t *first; /* nspecs + 1 entries */
	struct edge *items;
};

char *planner_depsearch_spec_name(const struct planner_spec *spec)
{
	const char *slash = strrchr(spec->path, '/');
	const char *base = slash ? slash + 1 : spec->path;
	size_t len = strlen(base);

	if (len > 5 && !strcmp(base + len - 5, ".spec"))
		len -= 5;
	char *name = sy_xmalloc(len + 1);
	memcpy(name, base, len);
	name[len] = '\0';
	return name;
}

int planner_depsearch_follows(enum planner_depsearch_edges edges, enum planner_depsearch_kind kind)
{
	switch (kind) {
	case PLANNER_DEPSEARCH_EDGE_BUILD: return edges != PLANNER_DEPSEARCH_RUNTIME;
	case PLANNER_DEPSEARCH_EDGE_RUNTIME: return edges != PLANNER_DEPSEARCH_BUILD;
	default: return 0;
	}
}

static int spec_matches(const struct planner_spec *spec, const char *name, int packages)
{
	if (packages) {
		for (size_t j = 0; j < spec->npackages; j++)
			if (spec->packages[j].name && !strcmp(spec->packages[j].name, name))
				return 1;
		return 0;
	}
	char *own = planner_depsearch_spec_name(spec);
	int match = !strcmp(own, name);
	free(own);
	return match;
}

int planner_depsearch_resolve(const struct planner_spec *specs, size_t nspecs,
			      const struct sy_strv *names, int packages, size_t **out,
			      size_t *nout, struct sy_error *err)
{
	struct sy_strv unknown = SY_STRV_INIT;
	int rc = 0;

	for (size_t k = 0; k < names->n; k++) {
		int found = 0;
		for (size_t i = 0; i < nspecs; i++) {
			if (!spec_matches(&specs[i], names->items[k], packages))
				continue;
			*out = sy_xrealloc(*out, (*nout + 1) * sizeof(**out));
			(*out)[(*nout)++] = i;
			found = 1;
		}
		if (!found)
			sy_strv_push(&unknown, names->items[k]);
	}
	if (unknown.n) {
		char *list = sy_strv_join(&unknown, ", ");
		rc = sy_error_set(err, "unknown %s%s: %s", packages ? "package" : "spec",
				  unknown.n > 1 ? "s" : "", list);
		free(list);
	}
	sy_strv_release(&unknown);
	return rc;
}

/* Calls add(arg, from, to, kind, k) for every edge "from needs to" the
 * selection follows (the k-th of its kind in from's node), from ascending,
 * build edges of a spec before its runtime edges. */
static void each_edge(const struct planner_graph *g, enum planner_depsearch_edges sel,
		      void (*add)(void *, size_t, size_t, enum planner_depsearch_kind, size_t),
		      void *arg)
{
	for (size_t a = 0; a < g->nspecs; a++) {
		const struct planner_graph_node *n = &g->nodes[a];
		if (planner_depsearch_follows(sel, PLANNER_DEPSEARCH_EDGE_BUILD))
			for (size_t k = 0; k < n->nbuild_deps; k++)
				add(arg, a, n->build_deps[k], PLANNER_DEPSEARCH_EDGE_BUILD, k);
		if (planner_depsearch_follows(sel, PLANNER_DEPSEARCH_EDGE_RUNTIME))
			for (size_t k = 0; k < n->nrun_deps; k++)
				add(arg, a, n->run_deps[k], PLANNER_DEPSEARCH_EDGE_RUNTIME, k);
	}
}

/* State of building an adjacency in two passes: count, then fill. */
struct adj_build {
	struct adjacency *adj;
	size_t *fill;     /* NULL in the counting pass */
	int reversed;     /* 1: index by the needed spec (edges to dependents) */
};

static void adj_add(void *arg, size_t from, size_t to, enum planner_depsearch_kind kind,
		    size_t k)
{
	struct adj_build *b = arg;
	size_t row = b->reversed ? to : from, other = b->reversed ? from : to;

	if (!b->fill) {
		b->adj->first[row + 1]++;
		return;
	}
	b->adj->items[b->fill[row]++] = (struct edge){ other, kind, from, k };
}

/* Builds the edges to follow: to dependents (reversed) or to dependencies.
 * Rows keep each_edge's order: a row of dependencies holds the spec's build
 * edges then its runtime edges; a row of dependents is ordered by dependent
 * index, its build edge before its runtime edge. Either way, when both kinds
 * join the same two specs the build edge comes first and is the one kept. */
static void adjacency_build(const struct planner_graph *g, enum planner_depsearch_edges sel,
			    int reversed, struct adjacency *adj)
{
	struct adj_build b = { adj, NULL, reversed };

	adj->first = sy_xcalloc(g->nspecs + 2, sizeof(*adj->first));
	each_edge(g, sel, adj_add, &b);
	for (size_t i = 0; i < g->nspecs; i++)
		adj->first[i + 1] += adj->first[i];
	adj->items = sy_xcalloc(adj->first[g->nspecs] + 1, sizeof(*adj->items));
	b.fill = sy_xcalloc(g->nspecs + 1, sizeof(*b.fill));
	memcpy(b.fill, adj->first, g->nspecs * sizeof(*b.fill));
	each_edge(g, sel, adj_add, &b);
	free(b.fill);
}

static char *edge_reason(const struct planner_graph *g, const struct edge *e)
{
	if (e->kind != PLANNER_DEPSEARCH_EDGE_BUILD)
		return planner_graph_run_reason(g, e->owner, e->k);
	char *why = planner_graph_build_reason(g, e->owner, e->k);
	char *reason = sy_xasprintf("BuildRequires %s", why);
	free(why);
	return reason;
}

static void hit_add(const struct planner_graph *g, struct planner_depsearch_result *r,
		    size_t spec, size_t depth, long via, const struct edge *e)
{
	struct planner_depsearch_hit *h = &r->hits[r->n];

	h->spec = spec;
	h->depth = depth;
	h->via = via;
	h->kind = e ? e->kind : PLANNER_DEPSEARCH_SEARCHED;
	h->reason = e ? edge_reason(g, e) : NULL;
	r->hit_of[spec] = (long)r->n++;
}

/* Queues the searched specs in index order, each once. */
static void add_searched(const struct planner_graph *g, const struct planner_depsearch_query *q,
			 struct planner_depsearch_result *r)
{
	unsigned char *start = sy_xcalloc(g->nspecs + 1, 1);

	for (size_t k = 0; k < q->nstart; k++)
		start[q->start[k]] = 1;
	for (size_t i = 0; i < g->nspecs; i++)
		if (start[i])
			hit_add(g, r, i, 0, -1, NULL);
	free(start);
}

int planner_depsearch_run(const struct planner_graph *graph,
			  const struct planner_depsearch_query *query,
			  struct planner_depsearch_result *result, struct sy_error *err)
{
	struct adjacency adj = { NULL, NULL };

	memset(result, 0, sizeof(*result));
	for (size_t k = 0; k < query->nstart; k++)
		if (query->start[k] >= graph->nspecs)
			return sy_error_set(err, "depsearch: spec index %zu out of range (%zu specs)",
					    query->start[k], graph->nspecs);
	result->nspecs = graph->nspecs;
	result->hits = sy_xcalloc(graph->nspecs + 1, sizeof(*result->hits));
	result->hit_of = sy_xmalloc((graph->nspecs + 1) * sizeof(*result->hit_of));
	for (size_t i = 0; i < graph->nspecs; i++)
		result->hit_of[i] = -1;
	add_searched(graph, query, result);
	adjacency_build(graph, query->edges, query->direction == PLANNER_DEPSEARCH_DEPENDENTS, &adj);
	/* The hits array is the breadth-first queue. */
	for (size_t q = 0; q < result->n; q++) {
		size_t spec = result->hits[q].spec, depth = result->hits[q].depth;
		if (query->max_depth >= 0 && depth >= (size_t)query->max_depth)
			continue;
		int skip_build = query->not_built && query->not_built[spec] &&
				 query->direction == PLANNER_DEPSEARCH_DEPENDENCIES;
		for (size_t k = adj.first[spec]; k < adj.first[spec + 1]; k++)
			if (result->hit_of[adj.items[k].other] < 0 &&
			    !(skip_build && adj.items[k].kind == PLANNER_DEPSEARCH_EDGE_BUILD))
				hit_add(graph, result, adj.items[k].other, depth + 1, (long)spec,
					&adj.items[k]);
	}
	free(adj.first);
	free(adj.items);
	return 0;
}

void planner_depsearch_result_release(struct planner_depsearch_result *result)
{
	for (size_t i = 0; i < result->n; i++)
		free(result->hits[i].reason);
	free(result->hits);
	free(result->hit_of);
	memset(result, 0, sizeof(*result));
}
