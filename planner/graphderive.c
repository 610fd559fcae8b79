/* Deriving a commit's dependency graph from another commit's (planner/graph.h,
 * planner_graph_derive): a new commit changes a few specs of thousands, and
 * resolving every spec's build root again is most of the cost of planning it.
 * The nodes whose resolution cannot have changed are copied. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <solv/evr.h>

#include "planner/graph-private.h"

#define NONE ((size_t)-1)
#define NAME_BITS 4096 /* a power of two */

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
	unsigned char *pkg;               /* per package of g (pkg_first[spec] +
					   * package): 0 not judged, 1 its Requires
					   * resolve alike in both, 2 not */
	size_t *pkg_first;
	unsigned char *offered;           /* per string id: the name of a Provides
					   * of a changed package (either side) */
	size_t noffered;
	unsigned char may_offer[NAME_BITS / 8]; /* bit name_bit(s) set for every name
					   * offered: a name whose bit is clear is
					   * not, without a lookup in the pool */
	int same_numbers;                 /* every spec and package of base has the
					   * same index in g: base's node arrays
					   * hold g's numbers */
	int partial;                      /* gp holds only the packages offering
					   * such a name: a dependency on any other
					   * name cannot be looked up in it */
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

/* A bit of a NAME_BITS filter for name s of len bytes (len > 0): its
 * length, first and last byte, mixed (Knuth's multiplicative hash). */
static size_t name_bit(const char *s, size_t len)
{
	uint32_t key = (uint32_t)(len & 0xff) | (uint32_t)(unsigned char)s[0] << 8 |
		       (uint32_t)(unsigned char)s[len - 1] << 16;

	return (size_t)((key * 2654435761u) >> 20) & (NAME_BITS - 1);
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
	memset(d->may_offer, 0, sizeof(d->may_offer));
	for (size_t id = 1; id < d->noffered; id++) {
		const char *name = d->offered[id] ? pool_id2str(pool, (Id)id) : "";
		size_t len = strlen(name);
		if (len) {
			size_t bit = name_bit(name, len);
			d->may_offer[bit / 8] |= (unsigned char)(1u << (bit % 8));
		}
	}
}

/* Whether no changed package can provide dep, judged by its names (every
 * name of a rich dependency): then its providers are the same packages in
 * both, and so is the best. */
static int surely_untouched(const struct derive *d, Id dep)
{
	Pool *pool = d->gp->pool;

	while (ISRELDEP(dep)) {
		const Reldep *rd = GETRELDEP(pool, dep);
		if (rd->flags > 7 && !surely_untouched(d, rd->evr))
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

/* dep_same for a dependency of a spec: a plain or versioned one whose name
 * no changed package offers is the same without being made a pool id. */
static int spec_dep_same(struct derive *d, const struct planner_dep *dep)
{
	Id id;

	if (dep->name[0] != '(') {
		size_t len = strlen(dep->name), bit = len ? name_bit(dep->name, len) : 0;
		if (len && !(d->may_offer[bit / 8] & (1u << (bit % 8))))
			return 1; /* not a name offered: not even in the pool */
		Id name = pool_str2id(d->gp->pool, dep->name, 0);
		if (!name || (size_t)name >= d->noffered || !d->offered[name])
			return 1;
	}
	id = planner_graph_dep_id(d->gp->pool, dep);
	return !id || dep_same(d, id);
}

/* The Requires of package h (of g) and b (of base, of the same name)
 * resolve to the same packages, one by one (so that a runtime edge's
 * reason, an index into them, is the same too). */
static int requires_alike(struct derive *d, const struct planner_package *h,
			  const struct planner_package *b)
{
	Pool *pool = d->gp->pool;
	int htc, btc;

	if (h->requires.n != b->requires.n)
		return 0;
	for (size_t k = 0; k < h->requires.n; k++) {
		Id hd = planner_graph_dep_id(pool, &h->requires.items[k]);
		Id bd = planner_graph_dep_id(pool, &b->requires.items[k]);
		if (!hd || !bd) {
			if (hd || bd)
				return 0;
		} else if (hd == bd) {
			if (!dep_same(d, hd))
				return 0;
		} else if (d->partial && (surely_untouched(d, hd) || surely_untouched(d, bd))) {
			return 0; /* providers this pool does not hold */
		} else {
			Id hp = planner_graph_best_provider(d->gp, hd, &htc);
			Id bp = base_provider(d, bd, &btc);
			if (!same_provider(d, hp, htc, bp, btc))
				return 0;
		}
	}
	return 1;
}

/* Base's package of the same spec path and name as r (a changed spec's),
 * or NULL. */
static const struct planner_package *base_package(const struct derive *d, struct planner_pkgref r)
{
	size_t b = d->h2b[r.spec];
	const struct planner_spec *bs = b == NONE ? NULL : &d->base->specs[b];
	const char *name = d->g->specs[r.spec].packages[r.package].name;

	for (size_t k = 0; bs && !bs->error && !bs->excluded && k < bs->npackages; k++)
		if (!strcmp(bs->packages[k].name, name))
			return &bs->packages[k];
	return NULL;
}

/* Whether a closure through package r of g goes on alike in base: its
 * Requires pick the same packages there. */
static int package_same(struct derive *d, struct planner_pkgref r)
{
	unsigned char *memo = &d->pkg[d->pkg_first[r.spec] + r.package];
	const struct planner_package *pkg = &d->g->specs[r.spec].packages[r.package];
	int same = 1;

	if (*memo)
		return *memo == 1;
	if (d->changed[r.spec]) {
		const struct planner_package *old = base_package(d, r);
		same = old && requires_alike(d, pkg, old);
	} else {
		for (size_t k = 0; same && k < pkg->requires.n; k++)
			same = spec_dep_same(d, &pkg->requires.items[k]);
	}
	*memo = same ? 1 : 2;
	return same;
}

/* Whether a changed spec i reads as base's did where its node comes from:
 * the same BuildRequires and packages of the same names. */
static int changed_alike(const struct derive *d, size_t i)
{
	const struct planner_spec *h = &d->g->specs[i];
	size_t b = d->h2b[i];
	const struct planner_spec *old = b == NONE ? NULL : &d->base->specs[b];

	if (!old || old->error || old->excluded || old->npackages != h->npackages ||
	    !same_deps(&h->buildrequires, &old->buildrequires))
		return 0;
	for (size_t k = 0; k < h->npackages; k++)
		if (strcmp(h->packages[k].name, old->packages[k].name))
			return 0;
	return 1;
}

/* Whether spec i of g resolves as it did in base. */
static int node_same(struct derive *d, size_t i)
{
	const struct planner_spec *spec = &d->g->specs[i];
	const struct planner_graph_node *old;
	struct planner_pkgref h;

	if (d->changed[i] && !changed_alike(d, i))
		return 0;
	old = &d->base->nodes[d->h2b[i]];
	for (size_t k = 0; k < spec->buildrequires.n; k++)
		if (!spec_dep_same(d, &spec->buildrequires.items[k]))
			return 0;
	for (size_t k = 0; k < spec->npackages; k++)
		if (!package_same(d, (struct planner_pkgref){ i, k }))
			return 0;
	for (size_t k = 0; k < old->ninstall; k++)
		if (map_ref(d, old->install[k], &h) || !package_same(d, h))
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

/* Whether base's node old can be g's as it is: its numbers are g's, and
 * its arrays are in base's block (planner_graph_from_nodes_sized), which
 * g may hold too. */
static int node_shareable(const struct derive *d, const struct planner_graph_node *old)
{
	const struct planner_graph *b = d->base;

	return d->same_numbers && planner_graph_in_block(b, old->build_deps) &&
	       planner_graph_in_block(b, old->build_dep_brs) &&
	       planner_graph_in_block(b, old->run_deps) &&
	       planner_graph_in_block(b, old->run_dep_reqs) &&
	       planner_graph_in_block(b, old->install) &&
	       planner_graph_in_block(b, old->root_specs);
}

/* Makes node share old's arrays (node_shareable), g holding base's block. */
static void share_node(const struct derive *d, const struct planner_graph_node *old,
		       struct planner_graph_node *node)
{
	struct planner_graph_pool *gp = d->g->pool;

	if (!gp->block) {
		gp->block = d->base->pool->block;
		__atomic_add_fetch(&gp->block->refs, 1, __ATOMIC_ACQ_REL);
	}
	node->build_deps = old->build_deps;
	node->build_dep_brs = old->build_dep_brs;
	node->nbuild_deps = old->nbuild_deps;
	node->run_deps = old->run_deps;
	node->run_dep_reqs = old->run_dep_reqs;
	node->nrun_deps = old->nrun_deps;
	node->install = old->install;
	node->ninstall = old->ninstall;
	node->root_specs = old->root_specs;
	node->nroot_specs = old->nroot_specs;
}

/* Copies base's node of spec i, its spec indices renumbered (or shares
 * its arrays, which need none). */
static void copy_node(const struct derive *d, size_t i)
{
	const struct planner_graph_node *old = &d->base->nodes[d->h2b[i]];
	struct planner_graph_node *node = &d->g->nodes[i];

	for (size_t k = 0; k < old->unresolved.n; k++)
		sy_strv_push(&node->unresolved, old->unresolved.items[k]);
	for (size_t k = 0; k < old->toolchain.n; k++)
		sy_strv_push(&node->toolchain, old->toolchain.items[k]);
	if (node_shareable(d, old)) {
		share_node(d, old, node);
		return;
	}
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
}

/* Whether every spec and package of base has the same index in g (the
 * same specs, a changed one's packages of the same names in the same
 * order): then map_ref and b2h change no number. */
static int same_numbers(const struct derive *d)
{
	if (d->g->nspecs != d->base->nspecs)
		return 0;
	for (size_t i = 0; i < d->g->nspecs; i++)
		if (d->h2b[i] != i)
			return 0;
	for (size_t b = 0; b < d->base->nspecs; b++) {
		const struct planner_spec *s = &d->base->specs[b];
		struct planner_pkgref h;
		if (!d->bchanged[b] || s->error || s->excluded)
			continue;
		for (size_t k = 0; k < s->npackages; k++)
			if (map_ref(d, (struct planner_pkgref){ b, k }, &h) || h.spec != b ||
			    h.package != k)
				return 0;
	}
	return 1;
}

/* Forgets every judgement (they are by the ids of one pool). */
static void judgements_reset(struct derive *d, size_t npackages)
{
	free(d->dep_str);
	free(d->dep_rel);
	free(d->offered);
	d->dep_str = d->dep_rel = d->offered = NULL;
	d->ndep_str = d->ndep_rel = d->noffered = 0;
	memset(d->pkg, 0, npackages + 1);
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
	free(d->pkg_first);
	free(d->offered);
}

/* The names the changed packages offer: a string pool of them, and a bit
 * per name (name_bit) to turn most other names away without a lookup. */
struct names {
	Pool *pool;
	unsigned char bits[NAME_BITS / 8];
};

static int has_name(const struct names *names, const char *name)
{
	size_t len = strlen(name), bit = len ? name_bit(name, len) : 0;

	if (len && !(names->bits[bit / 8] & (1u << (bit % 8))))
		return 0;
	return pool_str2id(names->pool, name, 0) != 0;
}

/* Whether pkg offers a name of arg (struct names): its own name, or a
 * Provides'. */
static int offers_a_name(void *arg, const struct planner_package *pkg)
{
	const struct names *names = arg;

	if (has_name(names, pkg->name))
		return 1;
	for (size_t k = 0; k < pkg->provides.n; k++)
		if (has_name(names, pkg->provides.items[k].name))
			return 1;
	return 0;
}

static void add_name(struct names *names, const char *name)
{
	size_t len = strlen(name);

	pool_str2id(names->pool, name, 1);
	if (len) {
		size_t bit = name_bit(name, len);
		names->bits[bit / 8] |= (unsigned char)(1u << (bit % 8));
	}
}

static void add_names(struct names *names, const struct planner_spec *spec)
{
	for (size_t j = 0; !spec->error && !spec->excluded && j < spec->npackages; j++) {
		add_name(names, spec->packages[j].name);
		for (size_t k = 0; k < spec->packages[j].provides.n; k++)
			add_name(names, spec->packages[j].provides.items[k].name);
	}
}

/* Copies every node from base when each is judged the same in a pool of
 * only the packages offering a name a changed package offers (and the
 * toolchain): what a change that moves no provider (a Release bump) needs,
 * without loading thousands of packages. Returns 1 when every node was
 * copied, 0 when one must be resolved (graph's nodes untouched). */
static int derive_from_few(struct derive *d, const struct sy_strv *toolchain, int toolchain_first,
			   const char *arch, size_t npackages)
{
	const struct planner_graph *g = d->g;
	struct planner_graph judge;
	struct sy_error ignored;
	struct names names = { .pool = pool_create() };

	/* A new pool holds libsolv's own strings: they answer too. */
	for (Id id = 1; id < names.pool->ss.nstrings; id++)
		add_name(&names, pool_id2str(names.pool, id));
	int same = 1;

	for (size_t i = 0; i < g->nspecs; i++)
		if (d->changed[i])
			add_names(&names, &g->specs[i]);
	for (size_t b = 0; b < d->base->nspecs; b++)
		if (d->bchanged[b])
			add_names(&names, &d->base->specs[b]);
	planner_graph_init(&judge, g->specs, g->nspecs, toolchain, toolchain_first, arch, NULL);
	judge.pool->take = offers_a_name;
	judge.pool->take_arg = &names;
	judge.pool->shadow_specs = d->base->specs;
	judge.pool->shadow_take = d->bchanged;
	judge.pool->nshadow_specs = d->base->nspecs;
	planner_graph_pool_ready(&judge, &ignored); /* no learned repository: no error */
	d->gp = judge.pool;
	d->partial = 1;
	find_offered(d);
	for (size_t i = 0; same && i < g->nspecs; i++)
		same = g->specs[i].error || g->specs[i].excluded || node_same(d, i);
	for (size_t i = 0; same && i < g->nspecs; i++)
		if (!g->specs[i].error && !g->specs[i].excluded)
			copy_node(d, i);
	judgements_reset(d, npackages);
	d->partial = 0;
	d->gp = NULL;
	planner_graph_release(&judge);
	pool_free(names.pool);
	return same;
}

int planner_graph_derive(const struct planner_graph *base, const struct planner_spec *specs,
			 size_t nspecs, const struct sy_strv *toolchain, int toolchain_first,
			 const char *arch, const char *learn_repo_dir, struct planner_graph *graph,
			 struct sy_error *err)
{
	struct derive d = { .g = graph, .base = base };
	size_t changes, npackages = 0;

	if (learn_repo_dir || !base->nodes)
		return 0;
	d.b2h = sy_xmalloc((base->nspecs + 1) * sizeof(size_t));
	d.h2b = sy_xmalloc((nspecs + 1) * sizeof(size_t));
	memset(d.b2h, 0xff, (base->nspecs + 1) * sizeof(size_t));
	memset(d.h2b, 0xff, (nspecs + 1) * sizeof(size_t));
	d.changed = sy_xcalloc(nspecs + 1, 1);
	d.bchanged = sy_xcalloc(base->nspecs + 1, 1);
	d.pkg_first = sy_xcalloc(nspecs + 1, sizeof(size_t));
	for (size_t i = 0; i < nspecs; i++) {
		d.pkg_first[i] = npackages;
		npackages += specs[i].npackages;
	}
	d.pkg = sy_xcalloc(npackages + 1, 1);
	planner_graph_init(graph, specs, nspecs, toolchain, toolchain_first, arch, NULL);
	changes = pair_specs(&d);
	if (changes == NONE || changes * 8 > nspecs + 8) {
		planner_graph_release(graph);
		derive_release(&d);
		return 0;
	}
	d.same_numbers = same_numbers(&d);
	if (derive_from_few(&d, toolchain, toolchain_first, arch, npackages)) {
		derive_release(&d);
		return 1;
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
	find_offered(&d);
	for (size_t i = 0; i < nspecs; i++) {
		if (specs[i].error || specs[i].excluded)
			continue;
		if (node_same(&d, i))
			copy_node(&d, i);
		else
			planner_graph_resolve_spec(graph, i);
	}
	derive_release(&d);
	return 1;
}
