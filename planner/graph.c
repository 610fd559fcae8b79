#include "planner/graph.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <solv/evr.h>
#include <solv/pool.h>
#include <solv/pool_parserpmrichdep.h>
#include <solv/repo_rpmdb.h>
#include <solv/solver.h>
#include <solv/transaction.h>
#include <solv/repo.h>

#include "planner/graph-private.h"
#include "sandbox/solvload.h"

/* librpm's RPMSENSE_* comparison bits to libsolv's REL_* bits. */
static int rel_flags(int flags)
{
	int rel = 0;

	if (flags & PLANNER_DEP_LESS)
		rel |= REL_LT;
	if (flags & PLANNER_DEP_GREATER)
		rel |= REL_GT;
	if (flags & PLANNER_DEP_EQUAL)
		rel |= REL_EQ;
	return rel;
}

/* Returns the libsolv id of dep, or 0 when it cannot be parsed. */
Id planner_graph_dep_id(Pool *pool, const struct planner_dep *dep)
{
	if (dep->name[0] == '(')
		return pool_parserpmrichdep(pool, dep->name);
	Id name = pool_str2id(pool, dep->name, 1);
	if (!dep->flags || !dep->evr)
		return name;
	return pool_rel2id(pool, name, pool_str2id(pool, dep->evr, 1), rel_flags(dep->flags), 1);
}

static void add_package(struct planner_graph_pool *gp, Repo *repo, const struct planner_package *pkg)
{
	Pool *pool = gp->pool;
	Id p = repo_add_solvable(repo);
	Solvable *s = pool->solvables + p;

	s->name = pool_str2id(pool, pkg->name, 1);
	s->evr = pool_str2id(pool, pkg->evr, 1);
	s->arch = pool_str2id(pool, pkg->arch, 1);
	s->provides = repo_addid_dep(repo, s->provides,
				     pool_rel2id(pool, s->name, s->evr, REL_EQ, 1), 0);
	for (size_t i = 0; i < pkg->provides.n; i++) {
		Id d = planner_graph_dep_id(pool, &pkg->provides.items[i]);
		if (d)
			s->provides = repo_addid_dep(repo, s->provides, d, 0);
	}
	for (size_t i = 0; i < pkg->requires.n; i++) {
		Id d = planner_graph_dep_id(pool, &pkg->requires.items[i]);
		if (d)
			s->requires = repo_addid_dep(repo, s->requires, d, 0);
	}
}

static void add_toolchain(struct planner_graph_pool *gp, const struct sy_strv *toolchain)
{
	Pool *pool = gp->pool;
	Id p = repo_add_solvable(gp->toolchain);
	Solvable *s = pool->solvables + p;

	s->name = pool_str2id(pool, "shipyard-worker-toolchain", 1);
	s->evr = pool_str2id(pool, "0", 1);
	s->arch = pool_str2id(pool, "noarch", 1);
	for (size_t i = 0; toolchain && i < toolchain->n; i++)
		s->provides = repo_addid_dep(gp->toolchain, s->provides,
					     pool_str2id(pool, toolchain->items[i], 1), 0);
}

/* Copies the Provides of the published packages to the spec packages of the
 * same name and arch. */
static int learn_provides(struct planner_graph_pool *gp, const char *repo_dir, struct sy_error *err)
{
	Pool *pool = gp->pool;
	Repo *learned = sandbox_solv_add_repodata(pool, repo_dir, err);
	Id p, *by_name;
	Solvable *s;

	if (!learned)
		return -1;
	pool_addfileprovides(pool);
	by_name = sy_xcalloc((size_t)pool->ss.nstrings + 1, sizeof(Id));
	FOR_REPO_SOLVABLES(gp->distro, p, s)
		by_name[s->name] = p;
	FOR_REPO_SOLVABLES(learned, p, s) {
		Id d = by_name[s->name];
		Solvable *ds = pool->solvables + d;
		if (!d || ds->arch != s->arch || !s->provides)
			continue;
		for (Id *pp = learned->idarraydata + s->provides; *pp; pp++)
			ds->provides = repo_addid_dep(gp->distro, ds->provides, *pp, 0);
	}
	free(by_name);
	repo_free(learned, 1);
	return 0;
}

/* Loads the shadow packages (graph-private.h), after every other. */
static void load_shadow(struct planner_graph_pool *gp)
{
	Pool *pool = gp->pool;
	size_t total = 0;

	for (size_t i = 0; i < gp->nshadow_specs; i++)
		if (gp->shadow_take[i])
			total += gp->shadow_specs[i].npackages;
	if (!total)
		return;
	gp->shadow = repo_create(pool, "shadow");
	gp->shadow_start = pool->nsolvables;
	gp->shadow_first = sy_xcalloc(gp->nshadow_specs + 1, sizeof(Id));
	gp->shadow_ref = sy_xcalloc(total + 1, sizeof(*gp->shadow_ref));
	for (size_t i = 0; i < gp->nshadow_specs; i++) {
		const struct planner_spec *spec = &gp->shadow_specs[i];
		if (!gp->shadow_take[i] || !spec->npackages)
			continue;
		gp->shadow_first[i] = pool->nsolvables;
		for (size_t j = 0; j < spec->npackages; j++) {
			gp->shadow_ref[pool->nsolvables - gp->shadow_start] =
				(struct planner_pkgref){ i, j };
			add_package(gp, gp->shadow, &spec->packages[j]);
		}
	}
}

/* Loads the packages of specs and the toolchain into gp's new pool. */
static void load_pool(struct planner_graph_pool *gp, const struct planner_spec *specs,
		      size_t nspecs)
{
	Pool *pool = pool_create();

	gp->pool = pool;
	pool_setdisttype(pool, DISTTYPE_RPM);
	pool_setarch(pool, gp->arch);
	gp->distro = repo_create(pool, "distribution");
	gp->toolchain = repo_create(pool, "toolchain");
	size_t first = (size_t)pool->nsolvables, total = 0;
	for (size_t i = 0; i < nspecs; i++)
		if (!specs[i].error && !specs[i].excluded)
			total += specs[i].npackages;
	gp->by_id = sy_xcalloc(first + total + 1, sizeof(*gp->by_id));
	gp->spec_first = sy_xcalloc(nspecs + 1, sizeof(Id));
	for (size_t i = 0; i < nspecs; i++) {
		if (specs[i].error || specs[i].excluded)
			continue;
		gp->spec_first[i] = specs[i].npackages && !gp->take ? pool->nsolvables : 0;
		for (size_t j = 0; j < specs[i].npackages; j++) {
			if (gp->take && !gp->take(gp->take_arg, &specs[i].packages[j]))
				continue;
			gp->by_id[pool->nsolvables] = (struct planner_pkgref){ i, j };
			add_package(gp, gp->distro, &specs[i].packages[j]);
		}
	}
	add_toolchain(gp, &gp->toolchain_caps);
	load_shadow(gp);
}

/* Makes the pool of graph once: packages, learned provides, whatprovides.
 * Returns 0, or -1 with err set when the learned repository cannot be read
 * (then and afterwards: a later call fails the same way). */
int planner_graph_pool_ready(const struct planner_graph *graph, struct sy_error *err)
{
	struct planner_graph_pool *gp = graph->pool;
	int rc;

	pthread_mutex_lock(&gp->lock);
	if (gp->state == 0) {
		load_pool(gp, graph->specs, graph->nspecs);
		gp->state = 1;
		if (gp->learn_repo && learn_provides(gp, gp->learn_repo, err))
			gp->state = -1;
		repo_internalize(gp->distro);
		repo_internalize(gp->toolchain);
		if (gp->shadow)
			repo_internalize(gp->shadow);
		pool_createwhatprovides(gp->pool);
		gp->seen = sy_xcalloc((size_t)gp->pool->nsolvables + 1, sizeof(uint32_t));
	} else if (gp->state < 0) {
		sy_error_set(err, "%s: cannot be read again", gp->learn_repo);
	}
	rc = gp->state < 0 ? -1 : 0;
	pthread_mutex_unlock(&gp->lock);
	return rc;
}

/* Picks the best distribution provider of dep: highest EVR, then the first
 * loaded. Returns 0 when none; sets *toolchain when only the toolchain offers
 * it, or when it offers it at all and goes first. */
static Id find_best_provider(struct planner_graph_pool *gp, Id dep, int *toolchain)
{
	Pool *pool = gp->pool;
	Id p, pp, best = 0;

	*toolchain = 0;
	FOR_PROVIDES(p, pp, dep) {
		Solvable *s = pool->solvables + p;
		if (s->repo == gp->toolchain) {
			*toolchain = 1;
			if (gp->toolchain_first)
				return 0;
			continue;
		}
		if (s->repo != gp->distro)
			continue;
		if (!best || pool_evrcmp(pool, s->evr, pool->solvables[best].evr, EVRCMP_COMPARE) > 0)
			best = p;
	}
	if (best)
		*toolchain = 0;
	return best;
}

/* The memo slot of dep, grown on demand. */
static Id *best_slot(struct planner_graph_pool *gp, Id dep)
{
	Id **arr = ISRELDEP(dep) ? &gp->best_rel : &gp->best_str;
	size_t *n = ISRELDEP(dep) ? &gp->nbest_rel : &gp->nbest_str;
	size_t i = ISRELDEP(dep) ? (size_t)GETRELID(dep) : (size_t)dep;

	if (i >= *n) {
		size_t grown = i + 1 > *n * 2 ? i + 1 : *n * 2;
		*arr = sy_xrealloc(*arr, grown * sizeof(Id));
		memset(*arr + *n, 0, (grown - *n) * sizeof(Id));
		*n = grown;
	}
	return *arr + i;
}

/* find_best_provider, remembered per dependency id (valid once
 * pool_createwhatprovides ran; the pool does not change afterwards). */
Id planner_graph_best_provider(struct planner_graph_pool *gp, Id dep, int *toolchain)
{
	Id *slot = best_slot(gp, dep);

	if (!*slot) {
		int tc;
		Id p = find_best_provider(gp, dep, &tc);
		*slot = (p << 1 | tc) + 1;
	}
	*toolchain = (*slot - 1) & 1;
	return (*slot - 1) >> 1;
}

/* Returns 1 when spec is in the edge list deps[0..n). */
static int edge_has(const size_t *deps, size_t n, size_t spec)
{
	for (size_t i = 0; i < n; i++)
		if (deps[i] == spec)
			return 1;
	return 0;
}

/* Appends spec to the edge list (deps, n) with why, the index of what made
 * the edge, in the parallel array whys of elements of why_size bytes. */
static void edge_add(size_t **deps, void **whys, size_t why_size, size_t *n, size_t spec,
		     const void *why)
{
	*deps = sy_xrealloc(*deps, (*n + 1) * sizeof(**deps));
	*whys = sy_xrealloc(*whys, (*n + 1) * why_size);
	(*deps)[*n] = spec;
	memcpy((char *)*whys + *n * why_size, why, why_size);
	(*n)++;
}

/* Adds p and its Requires closure within the distribution to the install
 * list; seen marks solvables already added. */
static void add_install_closure(struct planner_graph_pool *gp, Id start,
				struct planner_graph_node *node)
{
	uint32_t *seen = gp->seen, stamp = gp->stamp;
	Pool *pool = gp->pool;
	Queue todo;

	queue_init(&todo);
	queue_push(&todo, start);
	while (todo.count) {
		Id p = queue_shift(&todo);
		if (seen[p] == stamp)
			continue;
		seen[p] = stamp;
		node->install = sy_xrealloc(node->install, (node->ninstall + 1) * sizeof(*node->install));
		node->install[node->ninstall++] = gp->by_id[p];
		Solvable *s = pool->solvables + p;
		if (!s->requires)
			continue;
		for (Id *rp = s->repo->idarraydata + s->requires; *rp; rp++) {
			if (*rp == SOLVABLE_PREREQMARKER)
				continue;
			int tc;
			Id q = planner_graph_best_provider(gp, *rp, &tc);
			if (q && seen[q] != stamp)
				queue_push(&todo, q);
		}
	}
	queue_free(&todo);
}

/* Sorts deps[0..n) and moves the parallel whys (why_size bytes each) along.
 * Insertion sort: lists are short. */
static void sort_edges(size_t *deps, void *whys, size_t why_size, size_t n)
{
	unsigned char w[sizeof(struct planner_reqref)];
	char *base = whys;

	for (size_t i = 1; i < n; i++) {
		size_t d = deps[i], j = i;

		memcpy(w, base + i * why_size, why_size);
		while (j > 0 && deps[j - 1] > d) {
			deps[j] = deps[j - 1];
			memcpy(base + j * why_size, base + (j - 1) * why_size, why_size);
			j--;
		}
		deps[j] = d;
		memcpy(base + j * why_size, w, why_size);
	}
}

/* Runtime edges: the specs providing what this spec's packages Require. */
static void resolve_runtime(struct planner_graph *graph, size_t i)
{
	struct planner_graph_pool *gp = graph->pool;
	const struct planner_spec *spec = &graph->specs[i];
	struct planner_graph_node *node = &graph->nodes[i];

	for (size_t j = 0; j < spec->npackages; j++) {
		const struct planner_package *pkg = &spec->packages[j];
		for (size_t k = 0; k < pkg->requires.n; k++) {
			Id dep = planner_graph_dep_id(gp->pool, &pkg->requires.items[k]);
			int tc;
			Id p = dep ? planner_graph_best_provider(gp, dep, &tc) : 0;
			if (!p || gp->by_id[p].spec == i ||
			    edge_has(node->run_deps, node->nrun_deps, gp->by_id[p].spec))
				continue;
			struct planner_reqref why = { j, k };
			edge_add(&node->run_deps, (void **)&node->run_dep_reqs, sizeof(why),
				 &node->nrun_deps, gp->by_id[p].spec, &why);
		}
	}
	sort_edges(node->run_deps, node->run_dep_reqs, sizeof(*node->run_dep_reqs),
		   node->nrun_deps);
}

void planner_graph_resolve_spec(struct planner_graph *graph, size_t i)
{
	struct planner_graph_pool *gp = graph->pool;
	const struct planner_spec *spec = &graph->specs[i];
	struct planner_graph_node *node = &graph->nodes[i];

	gp->stamp++;
	for (size_t k = 0; k < spec->buildrequires.n; k++) {
		const struct planner_dep *br = &spec->buildrequires.items[k];
		Id dep = planner_graph_dep_id(gp->pool, br);
		int tc = 0;
		Id p = dep ? planner_graph_best_provider(gp, dep, &tc) : 0;
		if (p) {
			struct planner_pkgref ref = gp->by_id[p];
			if (ref.spec != i && !edge_has(node->build_deps, node->nbuild_deps, ref.spec))
				edge_add(&node->build_deps, (void **)&node->build_dep_brs,
					 sizeof(k), &node->nbuild_deps, ref.spec, &k);
			add_install_closure(gp, p, node);
		} else {
			sy_strv_push_owned(tc ? &node->toolchain : &node->unresolved,
					   planner_dep_format(br));
		}
	}
	sort_edges(node->build_deps, node->build_dep_brs, sizeof(*node->build_dep_brs),
		   node->nbuild_deps);
	node->root_specs = sy_xcalloc(node->ninstall + 1, sizeof(size_t));
	for (size_t k = 0; k < node->ninstall; k++) {
		size_t d = node->install[k].spec, seen = d == i;
		for (size_t m = 0; !seen && m < node->nroot_specs; m++)
			seen = node->root_specs[m] == d;
		if (!seen)
			node->root_specs[node->nroot_specs++] = d;
	}
	resolve_runtime(graph, i);
}

void planner_graph_unresolved_requires(const struct planner_graph *graph, size_t spec,
				       struct sy_strv *out)
{
	const struct planner_spec *s = &graph->specs[spec];
	size_t first = out->n;
	struct sy_error ignored;

	/* Without its learned provides the pool is never made: the graph was
	 * resolved with them, and a pool without them would list too much. */
	if (s->error || s->excluded || planner_graph_pool_ready(graph, &ignored))
		return;
	for (size_t j = 0; j < s->npackages; j++) {
		const struct planner_package *pkg = &s->packages[j];
		for (size_t k = 0; k < pkg->requires.n; k++) {
			Id dep = planner_graph_dep_id(graph->pool->pool, &pkg->requires.items[k]);
			int tc;
			if (dep && (planner_graph_best_provider(graph->pool, dep, &tc) || tc))
				continue;
			char *text = planner_dep_format(&pkg->requires.items[k]);
			int seen = 0;
			for (size_t m = first; m < out->n && !seen; m++)
				seen = !strcmp(out->items[m], text);
			if (seen)
				free(text);
			else
				sy_strv_push_owned(out, text);
		}
	}
}

char *planner_graph_build_reason(const struct planner_graph *graph, size_t spec, size_t k)
{
	const struct planner_graph_node *node = &graph->nodes[spec];

	return planner_dep_format(&graph->specs[spec].buildrequires.items[node->build_dep_brs[k]]);
}

char *planner_graph_run_reason(const struct planner_graph *graph, size_t spec, size_t k)
{
	const struct planner_reqref *r = &graph->nodes[spec].run_dep_reqs[k];
	const struct planner_package *pkg = &graph->specs[spec].packages[r->package];
	char *text = planner_dep_format(&pkg->requires.items[r->require]);
	char *reason = sy_xasprintf("%s requires %s", pkg->name, text);

	free(text);
	return reason;
}

void planner_graph_init(struct planner_graph *graph, const struct planner_spec *specs, size_t nspecs,
		       const struct sy_strv *toolchain, int toolchain_first, const char *arch,
		       const char *learn_repo_dir)
{
	struct planner_graph_pool *gp = sy_xcalloc(1, sizeof(*gp));

	memset(graph, 0, sizeof(*graph));
	graph->specs = specs;
	graph->nspecs = nspecs;
	graph->nodes = sy_xcalloc(nspecs ? nspecs : 1, sizeof(*graph->nodes));
	pthread_mutex_init(&gp->lock, NULL);
	for (size_t i = 0; toolchain && i < toolchain->n; i++)
		sy_strv_push(&gp->toolchain_caps, toolchain->items[i]);
	gp->toolchain_first = toolchain_first;
	gp->arch = sy_xstrdup(arch ? arch : "x86_64");
	gp->learn_repo = learn_repo_dir ? sy_xstrdup(learn_repo_dir) : NULL;
	graph->pool = gp;
}

int planner_graph_build(const struct planner_spec *specs, size_t nspecs,
			const struct sy_strv *toolchain, int toolchain_first, const char *arch,
			const char *learn_repo_dir, struct planner_graph *graph,
			struct sy_error *err)
{
	planner_graph_init(graph, specs, nspecs, toolchain, toolchain_first, arch, learn_repo_dir);
	if (planner_graph_pool_ready(graph, err)) {
		planner_graph_release(graph);
		return -1;
	}
	for (size_t i = 0; i < nspecs; i++)
		if (!specs[i].error && !specs[i].excluded)
			planner_graph_resolve_spec(graph, i);
	return 0;
}

struct planner_graph_node *planner_graph_from_nodes(const struct planner_spec *specs, size_t nspecs,
						    const struct sy_strv *toolchain,
						    int toolchain_first, const char *arch,
						    const char *learn_repo_dir,
						    struct planner_graph *graph)
{
	planner_graph_init(graph, specs, nspecs, toolchain, toolchain_first, arch, learn_repo_dir);
	return graph->nodes;
}

struct planner_graph_node *planner_graph_from_nodes_sized(const struct planner_spec *specs,
							  size_t nspecs,
							  const struct sy_strv *toolchain,
							  int toolchain_first, const char *arch,
							  const char *learn_repo_dir, size_t bytes,
							  struct planner_graph *graph)
{
	struct planner_graph_block *b;

	planner_graph_init(graph, specs, nspecs, toolchain, toolchain_first, arch, learn_repo_dir);
	/* malloc, not calloc: pages past what is carved are never touched. */
	b = sy_xmalloc(sizeof(*b) + bytes);
	b->refs = 1;
	b->len = bytes;
	b->used = 0;
	graph->pool->block = b;
	graph->pool->block_own = 1;
	return graph->nodes;
}

void *planner_graph_node_array(struct planner_graph *graph, size_t n, size_t size)
{
	struct planner_graph_block *b = graph->pool->block;
	size_t bytes = (n + 1) * size, at;

	if (!b || !graph->pool->block_own || n >= (b->len - b->used) / size)
		return sy_xcalloc(n + 1, size);
	at = (b->used + 7) & ~(size_t)7; /* size_t-aligned */
	if (at > b->len || bytes > b->len - at)
		return sy_xcalloc(n + 1, size);
	b->used = at + bytes;
	memset(b->data + at, 0, bytes);
	return b->data + at;
}

int planner_graph_in_block(const struct planner_graph *graph, const void *p)
{
	const struct planner_graph_block *b = graph->pool ? graph->pool->block : NULL;
	uintptr_t at = (uintptr_t)p, start;

	if (!b)
		return 0;
	start = (uintptr_t)b->data;
	return at >= start && at < start + b->len;
}

/* Frees p unless graph's block holds it. */
static void free_array(const struct planner_graph *graph, void *p)
{
	if (!planner_graph_in_block(graph, p))
		free(p);
}

void planner_graph_release(struct planner_graph *graph)
{
	for (size_t i = 0; graph->nodes && i < graph->nspecs; i++) {
		struct planner_graph_node *n = &graph->nodes[i];
		free_array(graph, n->build_dep_brs);
		free_array(graph, n->build_deps);
		free_array(graph, n->run_dep_reqs);
		free_array(graph, n->run_deps);
		free_array(graph, n->install);
		free_array(graph, n->root_specs);
		sy_strv_release(&n->unresolved);
		sy_strv_release(&n->toolchain);
	}
	free(graph->nodes);
	if (graph->pool && graph->pool->block &&
	    __atomic_sub_fetch(&graph->pool->block->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(graph->pool->block);
	if (graph->pool) {
		if (graph->pool->pool)
			pool_free(graph->pool->pool);
		pthread_mutex_destroy(&graph->pool->lock);
		sy_strv_release(&graph->pool->toolchain_caps);
		free(graph->pool->arch);
		free(graph->pool->learn_repo);
		free(graph->pool->by_id);
		free(graph->pool->spec_first);
		free(graph->pool->shadow_first);
		free(graph->pool->shadow_ref);
		free(graph->pool->best_str);
		free(graph->pool->best_rel);
		free(graph->pool->seen);
		free(graph->pool);
	}
	memset(graph, 0, sizeof(*graph));
}

/* Tarjan's strongly connected components over the build edges. */
struct tarjan {
	const struct planner_graph *graph;
	const unsigned char *in_set;
	size_t *index, *low, *stack, nstack, counter;
	unsigned char *on_stack;
	size_t *member;
	struct sy_strv *cycles;
	size_t found;
};

static int in_set(const struct tarjan *t, size_t i)
{
	return !t->in_set || t->in_set[i];
}

static void emit_component(struct tarjan *t, size_t root)
{
	size_t start = t->nstack;
	do
		start--;
	while (t->stack[start] != root);
	size_t count = t->nstack - start;
	int self = 0;
	const struct planner_graph_node *n = &t->graph->nodes[root];
	for (size_t k = 0; k < n->nbuild_deps; k++)
		self |= n->build_deps[k] == root;
	if (count > 1 || self) {
		char *text = sy_xstrdup("");
		for (size_t k = start; k < t->nstack; k++) {
			char *next = sy_xasprintf("%s%s -> ", text, t->graph->specs[t->stack[k]].name);
			free(text);
			text = next;
			t->member[t->stack[k]] = t->found + 1;
		}
		sy_strv_pushf(t->cycles, "%s%s", text, t->graph->specs[t->stack[start]].name);
		free(text);
		t->found++;
	}
	for (size_t k = start; k < t->nstack; k++)
		t->on_stack[t->stack[k]] = 0;
	t->nstack = start;
}

static void strongconnect(struct tarjan *t, size_t v)
{
	const struct planner_graph_node *n = &t->graph->nodes[v];

	t->index[v] = t->low[v] = ++t->counter;
	t->stack[t->nstack++] = v;
	t->on_stack[v] = 1;
	for (size_t k = 0; k < n->nbuild_deps; k++) {
		size_t w = n->build_deps[k];
		if (!in_set(t, w))
			continue;
		if (!t->index[w]) {
			strongconnect(t, w);
			if (t->low[w] < t->low[v])
				t->low[v] = t->low[w];
		} else if (t->on_stack[w] && t->index[w] < t->low[v]) {
			t->low[v] = t->index[w];
		}
	}
	if (t->low[v] == t->index[v])
		emit_component(t, v);
}

size_t planner_graph_cycles(const struct planner_graph *graph, const unsigned char *in_set_,
			    size_t *cycle_member, struct sy_strv *cycles)
{
	size_t n = graph->nspecs;
	struct tarjan t = {
		.graph = graph, .in_set = in_set_,
		.index = sy_xcalloc(n + 1, sizeof(size_t)), .low = sy_xcalloc(n + 1, sizeof(size_t)),
		.stack = sy_xcalloc(n + 1, sizeof(size_t)), .on_stack = sy_xcalloc(n + 1, 1),
		.member = cycle_member, .cycles = cycles,
	};

	for (size_t v = 0; v < n; v++)
		if (in_set(&t, v) && !t.index[v])
			strongconnect(&t, v);
	free(t.index);
	free(t.low);
	free(t.stack);
	free(t.on_stack);
	return t.found;
}

/* Adds every RPM file to a new repo of pool; sets paths[id] for each. */
static Repo *load_rpm_files(Pool *pool, const char *const *files, const char ***paths)
{
	Repo *repo = repo_create(pool, "built");
	size_t n = 0;

	while (files[n])
		n++;
	*paths = sy_xcalloc((size_t)pool->nsolvables + n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		Id p = repo_add_rpm(repo, files[i], REPO_REUSE_REPODATA | REPO_NO_INTERNALIZE |
						     RPM_ADD_NO_FILELIST);
		if (p)
			(*paths)[p] = files[i];
	}
	repo_internalize(repo);
	return repo;
}

/* Adds to pool, as its installed repository, one solvable offering what
 * the graph's toolchain offers: Requires the worker root meets (libc, a
 * shell; with a root of the distribution's packages, everything its
 * packages provide) are met, not solved for among the built files. */
static void add_installed_toolchain(Pool *pool, const struct planner_graph_pool *gp)
{
	const Solvable *t = gp->pool->solvables + gp->toolchain->start;
	Repo *root = repo_create(pool, "worker root");
	Solvable *s = pool_id2solvable(pool, repo_add_solvable(root));

	s->name = pool_str2id(pool, "shipyard-worker-toolchain", 1);
	s->evr = pool_str2id(pool, "0", 1);
	s->arch = pool_str2id(pool, "noarch", 1);
	for (const Id *id = gp->toolchain->idarraydata + t->provides; t->provides && *id; id++)
		s->provides = repo_addid_dep(root, s->provides,
					     pool_str2id(pool, pool_id2str(gp->pool, *id), 1), 0);
	repo_internalize(root);
	pool_set_installed(pool, root);
}

/* Returns 1 when text is among the unresolved dependencies (which may carry
 * a note after it: "foo-devel (from foo, which does not parse)"). */
static int is_unresolved(const struct planner_graph_node *node, const char *text)
{
	size_t n = strlen(text);

	for (size_t i = 0; i < node->unresolved.n; i++)
		if (!strncmp(node->unresolved.items[i], text, n) &&
		    (!node->unresolved.items[i][n] || !strncmp(node->unresolved.items[i] + n, " (", 2)))
			return 1;
	return 0;
}

int planner_graph_resolve_late(const struct planner_graph *graph, size_t spec,
			       const char *const *rpm_files, struct sy_strv *install_paths,
			       struct sy_error *err)
{
	const struct planner_spec *s = &graph->specs[spec];
	const struct planner_graph_node *node = &graph->nodes[spec];
	Pool *pool;
	const char **paths;
	struct sy_strv missing = SY_STRV_INIT;
	Queue job;
	int rc = 0;

	if (planner_graph_pool_ready(graph, err))
		return -1;
	pool = pool_create();
	pool_setdisttype(pool, DISTTYPE_RPM);
	pool_setarch(pool, "x86_64");
	/* First, so that the paths array (sized at loading) covers its id. */
	add_installed_toolchain(pool, graph->pool);
	Repo *repo = load_rpm_files(pool, rpm_files, &paths);
	pool_createwhatprovides(pool);
	queue_init(&job);
	for (size_t k = 0; k < s->buildrequires.n; k++) {
		char *text = planner_dep_format(&s->buildrequires.items[k]);
		if (is_unresolved(node, text)) {
			Id dep = planner_graph_dep_id(pool, &s->buildrequires.items[k]);
			if (!dep || !*pool_whatprovides_ptr(pool, dep))
				sy_strv_push(&missing, text);
			else
				queue_push2(&job, SOLVER_INSTALL | SOLVER_SOLVABLE_PROVIDES, dep);
		}
		free(text);
	}
	if (missing.n) {
		/* All of them: a maintainer fixes them at once. */
		char *list = sy_strv_join(&missing, ", ");
		rc = sy_error_set(err, "unresolvable BuildRequires: %s", list);
		free(list);
	}
	if (rc == 0 && job.count) {
		Solver *solver = solver_create(pool);
		solver_set_flag(solver, SOLVER_FLAG_IGNORE_RECOMMENDED, 1);
		/* Requires the worker root meets (libc, /bin/sh) are not in the
		 * files: take what resolves, as the graph's install closure does. */
		solver_set_flag(solver, SOLVER_FLAG_ALLOW_UNINSTALL, 1);
		solver_solve(solver, &job);
		Transaction *trans = solver_create_transaction(solver);
		for (int i = 0; i < trans->steps.count; i++)
			if (paths[trans->steps.elements[i]])
				sy_strv_push(install_paths, paths[trans->steps.elements[i]]);
		transaction_free(trans);
		solver_free(solver);
	}
	(void)repo;
	sy_strv_release(&missing);
	queue_free(&job);
	free(paths);
	pool_free(pool);
	return rc;
}
