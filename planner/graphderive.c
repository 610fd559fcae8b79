/* Deriving a commit's dependency graph from another commit's (planner/graph.h,
 * planner_graph_derive): a new commit changes a few specs of thousands, and
 * resolving every spec's build root again is most of the cost of planning it.
 * The nodes whose resolution cannot have changed are copied. */
#include <stdlib.h>
#include <string.h>

#include <solv/evr.h>

#include "planner/graph-private.h"

#define NONE ((size_t)-1)

struct derive {
	struct planner_graph *g;          /* being derived */
	const struct planner_graph *base; /* derived from */
	struct planner_graph_pool *gp;    /* g's pool; base's changed packages in shadow */
	size_t *b2h, *h2b;                /* spec index maps (NONE: no counterpart) */
	unsigned char *changed;           /* per spec of g: added or parsed otherwise */
	unsigned char *bchanged;          /* per spec of base: removed or parsed otherwise */
	unsigned char *dep_str, *dep_rel; /* per dependency id: 0 not judged, 1 same
					   * provider in both, 2 not */
	size_t ndep_str, ndep_rel;
	unsigned char *pkg;               /* per solvable of g: 0 not judged, 1 its
					   * Requires resolve alike in both, 2 not */
	unsigned char *offered;           /* per string id: the name of a Provides
					   * of a changed package (either side) */
	size_t noffered;
};

static int same_deps(const struct planner_deps *a, const struct planner_deps *b)
{
	if (a->items == b->items)
		return a->n == b->n;
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		const struct planner_dep *x = &a->items[i], *y = &b->items[i];
		if (x->flags != y->flags || strcmp(x->name, y->name) || !x->evr != !y->evr ||
		    (x->evr && strcmp(x->evr, y->evr)))
			return 0;
	}
	return 1;
}

/* Whether a and b (same path) resolve alike: what the graph reads of them. */
static int same_spec(const struct planner_spec *a, const struct planner_spec *b)
{
	int a_out = a->error || a->excluded, b_out = b->error || b->excluded;

	if (a_out || b_out)
		return a_out && b_out;
	if (a->npackages != b->npackages || !same_deps(&a->buildrequires, &b->buildrequires))
		return 0;
	if (a->packages == b->packages)
		return 1;
	for (size_t i = 0; i < a->npackages; i++) {
		const struct planner_package *x = &a->packages[i], *y = &b->packages[i];
		if (strcmp(x->name, y->name) || strcmp(x->evr, y->evr) || strcmp(x->arch, y->arch) ||
		    !same_deps(&x->provides, &y->provides) || !same_deps(&x->requires, &y->requires))
			return 0;
	}
	return 1;
}

/* Pairs the specs of both graphs by path (both sorted by path). Returns the
 * number of specs changed, added or removed, or NONE when a side is not
 * sorted. */
static size_t pair_specs(struct derive *d)
{
	const struct planner_spec *h = d->g->specs, *b = d->base->specs;
	size_t nh = d->g->nspecs, nb = d->base->nspecs, i = 0, j = 0, changes = 0;

	for (size_t k = 1; k < nh; k++)
		if (strcmp(h[k - 1].path, h[k].path) >= 0)
			return NONE;
	for (size_t k = 1; k < nb; k++)
		if (strcmp(b[k - 1].path, b[k].path) >= 0)
			return NONE;
	while (i < nh || j < nb) {
		int c = i == nh ? 1 : j == nb ? -1 : strcmp(h[i].path, b[j].path);
		if (c < 0) {
			d->changed[i++] = 1;
			changes++;
		} else if (c > 0) {
			d->bchanged[j++] = 1;
			changes++;
		} else {
			d->h2b[i] = j;
			d->b2h[j] = i;
			if (!same_spec(&h[i], &b[j])) {
				d->changed[i] = d->bchanged[j] = 1;
				changes++;
			}
			i++;
			j++;
		}
	}
	return changes;
}

/* Where a base package is in g: (spec, package) by the spec's path and the
 * package's name. Returns 0, or -1 when g has no such package. */
static int map_ref(const struct derive *d, struct planner_pkgref b, struct planner_pkgref *h)
{
	size_t spec = d->b2h[b.spec];

	if (spec == NONE)
		return -1;
	if (!d->bchanged[b.spec]) {
		*h = (struct planner_pkgref){ spec, b.package };
		return 0;
	}
	const char *name = d->base->specs[b.spec].packages[b.package].name;
	const struct planner_spec *s = &d->g->specs[spec];
	for (size_t k = 0; !s->error && !s->excluded && k < s->npackages; k++)
		if (!strcmp(s->packages[k].name, name)) {
			*h = (struct planner_pkgref){ spec, k };
			return 0;
		}
	return -1;
}

/* The order of solvable p (of g's distribution or the shadow) in base's
 * pool: its spec and package there. */
static struct planner_pkgref base_ref(const struct derive *d, Id p)
{
	const struct planner_graph_pool *gp = d->gp;

	if (gp->shadow && d->gp->pool->solvables[p].repo == gp->shadow)
		return gp->shadow_ref[p - gp->shadow_start];
	struct planner_pkgref r = gp->by_id[p];
	return (struct planner_pkgref){ d->h2b[r.spec], r.package };
}

/* The best provider of dep as base's pool would pick it (graph.c's
 * find_best_provider over base's packages: highest EVR, then the first
 * loaded): among the unchanged packages and the shadow. */
static Id base_provider(const struct derive *d, Id dep, int *toolchain)
{
	Pool *pool = d->gp->pool;
	Id p, pp, best = 0;
	struct planner_pkgref best_at = { 0, 0 };

	*toolchain = 0;
	FOR_PROVIDES(p, pp, dep) {
		Solvable *s = pool->solvables + p;
		if (s->repo == d->gp->toolchain) {
			*toolchain = 1;
			if (d->gp->toolchain_first)
				return 0;
			continue;
		}
		if (s->repo == d->gp->distro && d->changed[d->gp->by_id[p].spec])
			continue;
		struct planner_pkgref at = base_ref(d, p);
		int c = best ? pool_evrcmp(pool, s->evr, pool->solvables[best].evr, EVRCMP_COMPARE) : 1;
		if (c > 0 || (c == 0 && (at.spec < best_at.spec ||
					 (at.spec == best_at.spec && at.package < best_at.package)))) {
			best = p;
			best_at = at;
		}
	}
	if (best)
		*toolchain = 0;
	return best;
}

/* Whether head provider hp and base provider bp (with their toolchain
 * flags) are the same package of g. */
static int same_provider(const struct derive *d, Id hp, int htc, Id bp, int btc)
{
	struct planner_pkgref b;

	if (htc != btc || !hp != !bp)
		return 0;
	if (!hp)
		return 1;
	if (d->gp->shadow && d->gp->pool->solvables[bp].repo == d->gp->shadow) {
		if (map_ref(d, d->gp->shadow_ref[bp - d->gp->shadow_start], &b))
			return 0;
	} else {
		b = d->gp->by_id[bp];
	}
	return b.spec == d->gp->by_id[hp].spec && b.package == d->gp->by_id[hp].package;
}

static unsigned char *dep_slot(struct derive *d, Id dep)
{
	int rel = ISRELDEP(dep);
	unsigned char **arr = rel ? &d->dep_rel : &d->dep_str;
	size_t *n = rel ? &d->ndep_rel : &d->ndep_str;
	size_t i = rel ? (size_t)GETRELID(dep) : (size_t)dep;

	if (i >= *n) {
		size_t grown = i + 1 > *n * 2 ? i + 1 : *n * 2;
		*arr = sy_xrealloc(*arr, grown);
		memset(*arr + *n, 0, grown - *n);
		*n = grown;
	}
	return *arr + i;
}

/* Marks the names of the Provides of solvable p as offered. */
static void mark_offered(struct derive *d, Id p)
{
	Pool *pool = d->gp->pool;
	Solvable *s = pool->solvables + p;

	for (Id *pr = s->provides ? s->repo->idarraydata + s->provides : NULL; pr && *pr; pr++) {
		Id name = *pr;
		while (ISRELDEP(name))
			name = GETRELDEP(pool, name)->name;
		if ((size_t)name < d->noffered)
			d->offered[name] = 1;
	}
}

/* Marks what the changed packages of both sides offer. */
static void find_offered(struct derive *d)
{
	Pool *pool = d->gp->pool;

	d->noffered = (size_t)pool->ss.nstrings;
	d->offered = sy_xcalloc(d->noffered + 1, 1);
	for (Id p = 2; p < pool->nsolvables; p++) {
		Solvable *s = pool->solvables + p;
		if ((d->gp->shadow && s->repo == d->gp->shadow) ||
		    (s->repo == d->gp->distro && d->changed[d->gp->by_id[p].spec]))
			mark_offered(d, p);
	}
}

/* Whether no changed package can provide dep, judged by its name alone:
 * 0 when it might (or dep is not a plain or versioned name). */
static int surely_untouched(const struct derive *d, Id dep)
{
	if (ISRELDEP(dep)) {
		const Reldep *rd = GETRELDEP(d->gp->pool, dep);
		if (rd->flags > 7 || ISRELDEP(rd->name))
			return 0;
		dep = rd->name;
	}
	return (size_t)dep >= d->noffered || !d->offered[dep];
}

/* Whether dep has the same best provider in g as in base. Only a
 * dependency a changed package offers can differ; a rich one that does is
 * taken as differing (libsolv's order of its providers is not the load
 * order). */
static int dep_same(struct derive *d, Id dep)
{
	unsigned char *slot = dep_slot(d, dep);
	Pool *pool = d->gp->pool;
	Id p, pp;
	int touched = 0, htc, btc;

	if (*slot)
		return *slot == 1;
	if (surely_untouched(d, dep)) {
		*slot = 1;
		return 1;
	}
	FOR_PROVIDES(p, pp, dep) {
		Solvable *s = pool->solvables + p;
		touched |= (d->gp->shadow && s->repo == d->gp->shadow) ||
			   (s->repo == d->gp->distro && d->changed[d->gp->by_id[p].spec]);
	}
	if (!touched) {
		*slot = 1;
	} else if (ISRELDEP(dep) && GETRELDEP(pool, dep)->flags > 7) {
		*slot = 2;
	} else {
		Id hp = planner_graph_best_provider(d->gp, dep, &htc);
		Id bp = base_provider(d, dep, &btc);
		*slot = same_provider(d, hp, htc, bp, btc) ? 1 : 2;
	}
	return *slot == 1;
}

/* The Requires of solvables h (g) and b (shadow) resolve to the same
 * packages, one by one. */
static int requires_alike(struct derive *d, Id h, Id b)
{
	Pool *pool = d->gp->pool;
	Solvable *hs = pool->solvables + h, *bs = pool->solvables + b;
	Id *hr = hs->requires ? hs->repo->idarraydata + hs->requires : NULL;
	Id *br = bs->requires ? bs->repo->idarraydata + bs->requires : NULL;
	int htc, btc;

	for (; hr && br && *hr && *br; hr++, br++) {
		Id hp = *hr == SOLVABLE_PREREQMARKER ? 0 : planner_graph_best_provider(d->gp, *hr, &htc);
		Id bp = *br == SOLVABLE_PREREQMARKER ? 0 : base_provider(d, *br, &btc);
		if ((*hr == SOLVABLE_PREREQMARKER) != (*br == SOLVABLE_PREREQMARKER) ||
		    (*hr != SOLVABLE_PREREQMARKER && !same_provider(d, hp, htc, bp, btc)))
			return 0;
	}
	return !(hr && *hr) && !(br && *br);
}

/* Whether a closure through solvable p of g goes on alike in base: its
 * Requires pick the same packages there. */
static int package_same(struct derive *d, Id p)
{
	Pool *pool = d->gp->pool;
	struct planner_pkgref r = d->gp->by_id[p];
	Solvable *s = pool->solvables + p;
	int same = 1;

	if (d->pkg[p])
		return d->pkg[p] == 1;
	if (d->changed[r.spec]) {
		size_t b = d->h2b[r.spec];
		const struct planner_spec *bs = b == NONE ? NULL : &d->base->specs[b];
		const char *name = d->g->specs[r.spec].packages[r.package].name;
		same = 0;
		for (size_t k = 0; bs && d->gp->shadow_first && d->gp->shadow_first[b] &&
				   k < bs->npackages; k++)
			if (!strcmp(bs->packages[k].name, name)) {
				same = requires_alike(d, p, d->gp->shadow_first[b] + (Id)k);
				break;
			}
	} else if (s->requires) {
		for (Id *rp = s->repo->idarraydata + s->requires; same && *rp; rp++)
			same = *rp == SOLVABLE_PREREQMARKER || dep_same(d, *rp);
	}
	d->pkg[p] = same ? 1 : 2;
	return same;
}

/* Whether spec i of g (unchanged) resolves as it did in base. */
static int node_same(struct derive *d, size_t i)
{
	const struct planner_spec *spec = &d->g->specs[i];
	const struct planner_graph_node *old = &d->base->nodes[d->h2b[i]];
	struct planner_pkgref h;

	for (size_t k = 0; k < spec->buildrequires.n; k++) {
		Id dep = planner_graph_dep_id(d->gp->pool, &spec->buildrequires.items[k]);
		if (dep && !dep_same(d, dep))
			return 0;
	}
	for (size_t k = 0; k < spec->npackages; k++)
		if (!package_same(d, d->gp->spec_first[i] + (Id)k))
			return 0;
	for (size_t k = 0; k < old->ninstall; k++)
		if (map_ref(d, old->install[k], &h) ||
		    !package_same(d, d->gp->spec_first[h.spec] + (Id)h.package))
			return 0;
	return 1;
}

static size_t *copy_specs(const struct derive *d, const size_t *from, size_t n)
{
	size_t *to = sy_xcalloc(n + 1, sizeof(size_t));

	for (size_t k = 0; k < n; k++)
		to[k] = d->b2h[from[k]];
	return to;
}

/* Copies base's node of spec i, its spec indices renumbered. */
static void copy_node(const struct derive *d, size_t i)
{
	const struct planner_graph_node *old = &d->base->nodes[d->h2b[i]];
	struct planner_graph_node *node = &d->g->nodes[i];

	node->build_deps = copy_specs(d, old->build_deps, old->nbuild_deps);
	node->build_dep_brs = sy_xcalloc(old->nbuild_deps + 1, sizeof(size_t));
	if (old->nbuild_deps)
		memcpy(node->build_dep_brs, old->build_dep_brs, old->nbuild_deps * sizeof(size_t));
	node->nbuild_deps = old->nbuild_deps;
	node->run_deps = copy_specs(d, old->run_deps, old->nrun_deps);
	node->run_dep_reqs = sy_xcalloc(old->nrun_deps + 1, sizeof(*node->run_dep_reqs));
	if (old->nrun_deps)
		memcpy(node->run_dep_reqs, old->run_dep_reqs,
		       old->nrun_deps * sizeof(*node->run_dep_reqs));
	node->nrun_deps = old->nrun_deps;
	node->install = sy_xcalloc(old->ninstall + 1, sizeof(*node->install));
	for (size_t k = 0; k < old->ninstall; k++)
		map_ref(d, old->install[k], &node->install[k]); /* node_same checked it */
	node->ninstall = old->ninstall;
	node->root_specs = copy_specs(d, old->root_specs, old->nroot_specs);
	node->nroot_specs = old->nroot_specs;
	for (size_t k = 0; k < old->unresolved.n; k++)
		sy_strv_push(&node->unresolved, old->unresolved.items[k]);
	for (size_t k = 0; k < old->toolchain.n; k++)
		sy_strv_push(&node->toolchain, old->toolchain.items[k]);
}

static void derive_release(struct derive *d)
{
	free(d->b2h);
	free(d->h2b);
	free(d->changed);
	free(d->bchanged);
	free(d->dep_str);
	free(d->dep_rel);
	free(d->pkg);
	free(d->offered);
}

int planner_graph_derive(const struct planner_graph *base, const struct planner_spec *specs,
			 size_t nspecs, const struct sy_strv *toolchain, int toolchain_first,
			 const char *arch, const char *learn_repo_dir, struct planner_graph *graph,
			 struct sy_error *err)
{
	struct derive d = { .g = graph, .base = base };
	size_t changes;

	if (learn_repo_dir || !base->nodes)
		return 0;
	d.b2h = sy_xmalloc((base->nspecs + 1) * sizeof(size_t));
	d.h2b = sy_xmalloc((nspecs + 1) * sizeof(size_t));
	memset(d.b2h, 0xff, (base->nspecs + 1) * sizeof(size_t));
	memset(d.h2b, 0xff, (nspecs + 1) * sizeof(size_t));
	d.changed = sy_xcalloc(nspecs + 1, 1);
	d.bchanged = sy_xcalloc(base->nspecs + 1, 1);
	planner_graph_init(graph, specs, nspecs, toolchain, toolchain_first, arch, NULL);
	changes = pair_specs(&d);
	if (changes == NONE || changes * 8 > nspecs + 8) {
		planner_graph_release(graph);
		derive_release(&d);
		return 0;
	}
	d.gp = graph->pool;
	d.gp->shadow_specs = base->specs;
	d.gp->shadow_take = d.bchanged;
	d.gp->nshadow_specs = base->nspecs;
	if (planner_graph_pool_ready(graph, err)) {
		planner_graph_release(graph);
		derive_release(&d);
		return -1;
	}
	d.gp->shadow_specs = NULL; /* borrowed for loading only */
	d.gp->shadow_take = NULL;
	d.pkg = sy_xcalloc((size_t)d.gp->pool->nsolvables + 1, 1);
	find_offered(&d);
	for (size_t i = 0; i < nspecs; i++) {
		if (specs[i].error || specs[i].excluded)
			continue;
		if (!d.changed[i] && node_same(&d, i))
			copy_node(&d, i);
		else
			planner_graph_resolve_spec(graph, i);
	}

	derive_release(&d);
	return 1;
}
