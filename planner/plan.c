#include "planner/plan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "planner/target.h"

char *planner_path_dir(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return sy_xstrdup("");
	char *dir = sy_xmalloc((size_t)(slash - path) + 1);
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	return dir;
}

long planner_index_lookup_path(const struct planner_index *index, const char *path)
{
	size_t lo = 0, hi = index ? index->nspecs : 0;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(index->specs[mid].path, path);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

struct planner {
	const struct planner_plan_input *in;
	struct planner_plan *plan;
	long *base_of;       /* head spec -> base spec, -1 when new */
	char **reason;       /* memo: reason chain of a spec whose key changed */
	unsigned char *busy; /* reason being computed (guards cycles) */
	size_t *slot;        /* head spec -> entry, SIZE_MAX when not in the set */
	size_t entries_alloc; /* entries allocated in plan */
	unsigned char *given; /* head spec -> 1 when its reason went to an entry */
	unsigned char *in_head; /* base spec -> 1 when the head has its path */
};

static int own_changed(const struct planner *p, size_t i)
{
	long b = p->base_of[i];

	return b < 0 || strcmp(p->in->base_keys->inputs[b].digest, p->in->keys->inputs[i].digest);
}

static int key_changed(const struct planner *p, size_t i)
{
	long b = p->base_of[i];

	return b < 0 || strcmp(p->in->base_keys->keys[b], p->in->keys->keys[i]);
}

static char *spec_id(const struct planner *p, size_t i)
{
	return planner_spec_id(&p->in->head->specs[i]);
}

static char *own_reason(const struct planner *p, size_t i)
{
	struct sy_strv reasons = SY_STRV_INIT;
	long b = p->base_of[i];

	if (b < 0)
		sy_strv_push(&reasons, "new spec");
	else
		planner_inputs_diff(&p->in->base_keys->inputs[b], p->in->base_keys->global,
				    &p->in->keys->inputs[i], p->in->keys->global, &reasons);
	if (!reasons.n)
		sy_strv_push(&reasons, "inputs changed");
	char *text = sy_strv_join(&reasons, ", ");
	sy_strv_release(&reasons);
	return text;
}

static const char *reason_of(struct planner *p, size_t i, size_t *via);

/* Picks the spec of i's build root that carries the change: a direct
 * BuildRequires before the rest of the build root, and one whose own inputs
 * changed before one changed through its dependencies (shorter chains). */
static int pick_dependency(const struct planner *p, size_t i, size_t *dep, size_t *br)
{
	const struct planner_graph_node *node = &p->in->graph->nodes[i];

	for (int want_own = 1; want_own >= 0; want_own--) {
		for (size_t k = 0; k < node->nbuild_deps; k++) {
			size_t d = node->build_deps[k];
			if (!p->busy[d] && key_changed(p, d) && own_changed(p, d) >= want_own) {
				*dep = d;
				*br = k;
				return 1;
			}
		}
	}
	for (int want_own = 1; want_own >= 0; want_own--) {
		for (size_t k = 0; k < node->nroot_specs; k++) {
			size_t d = node->root_specs[k];
			if (!p->busy[d] && key_changed(p, d) && own_changed(p, d) >= want_own) {
				*dep = d;
				*br = SIZE_MAX;
				return 1;
			}
		}
	}
	return 0;
}

/* A piece of a reason: len bytes at s. */
struct piece {
	const char *s;
	size_t len;
};

#define PIECE(text) { text, sizeof(text) - 1 }

static struct piece piece_of(const char *s)
{
	return (struct piece){ s, strlen(s) };
}

/* The pieces joined, newly allocated: thousands of reasons a plan, each
 * holding the chain below it, without a printf each. */
static char *join_pieces(const struct piece *pieces, size_t n)
{
	size_t len = 0;
	char *out, *at;

	for (size_t k = 0; k < n; k++)
		len += pieces[k].len;
	at = out = sy_xmalloc(len + 1);
	for (size_t k = 0; k < n; k++) {
		memcpy(at, pieces[k].s, pieces[k].len);
		at += pieces[k].len;
	}
	*at = '\0';
	return out;
}

/* The id of spec i (planner_spec_id) as a piece of its path. */
static struct piece id_piece(const struct planner *p, size_t i)
{
	const char *path = p->in->head->specs[i].path, *base = strrchr(path, '/');
	size_t len;

	base = base ? base + 1 : path;
	len = strlen(base);
	if (len > 5 && !strcmp(base + len - 5, ".spec"))
		len -= 5;
	return (struct piece){ base, len };
}

/* The reason of a spec whose key changed through a spec of its build root. */
static char *dependency_reason(struct planner *p, size_t i, size_t *via)
{
	const struct planner_graph_node *node = &p->in->graph->nodes[i];
	size_t d, br, ignored;
	const char *pkg = "?";

	if (!pick_dependency(p, i, &d, &br))
		return node->unresolved.n ? sy_xasprintf("build root changed: BuildRequires %s is "
							  "unresolved", node->unresolved.items[0])
					  : sy_xstrdup("build root changed");
	const char *dr = reason_of(p, d, &ignored);
	char *r;
	if (br != SIZE_MAX) {
		char *why = planner_graph_build_reason(p->in->graph, i, br);
		struct piece pieces[] = { PIECE("BuildRequires "), piece_of(why), PIECE(", from "),
					  id_piece(p, d), PIECE(": "), piece_of(dr) };
		r = join_pieces(pieces, sizeof(pieces) / sizeof(*pieces));
		free(why);
	} else {
		for (size_t k = 0; k < node->ninstall; k++)
			if (node->install[k].spec == d)
				pkg = p->in->head->specs[d].packages[node->install[k].package].name;
		struct piece pieces[] = { PIECE("build root package "), piece_of(pkg),
					  PIECE(", from "), id_piece(p, d), PIECE(": "),
					  piece_of(dr) };
		r = join_pieces(pieces, sizeof(pieces) / sizeof(*pieces));
	}
	*via = d;
	return r;
}

static const char *reason_of(struct planner *p, size_t i, size_t *via)
{
	*via = SIZE_MAX;
	if (p->reason[i])
		return p->reason[i];
	p->busy[i] = 1;
	if (own_changed(p, i))
		p->reason[i] = own_reason(p, i);
	else
		p->reason[i] = dependency_reason(p, i, via);
	p->busy[i] = 0;
	return p->reason[i];
}

/* Adds an entry whose reason is owned, given to the plan. */
static void add_entry_owned(struct planner *p, size_t spec, enum planner_plan_why why, size_t via,
			    char *reason)
{
	struct planner_plan *plan = p->plan;

	if (plan->n == p->entries_alloc) {
		p->entries_alloc = p->entries_alloc ? 2 * p->entries_alloc : 64;
		plan->entries = sy_xrealloc(plan->entries,
					    p->entries_alloc * sizeof(*plan->entries));
	}
	plan->entries[plan->n] = (struct planner_plan_entry){ .spec = spec, .why = why, .via = via,
							     .reason = reason };
	p->slot[spec] = plan->n++;
}

static void add_entry(struct planner *p, size_t spec, enum planner_plan_why why, size_t via,
		      const char *reason)
{
	add_entry_owned(p, spec, why, via, sy_xstrdup(reason));
}

static void add_change(struct planner *p, size_t i)
{
	struct planner_plan *plan = p->plan;
	struct planner_plan_change *c;
	long b = p->base_of[i];

	plan->changed = sy_xrealloc(plan->changed, (plan->nchanged + 1) * sizeof(*plan->changed));
	c = &plan->changed[plan->nchanged++];
	memset(c, 0, sizeof(*c));
	c->spec = i;
	if (b < 0)
		sy_strv_push(&c->reasons, "new spec");
	else
		planner_inputs_diff(&p->in->base_keys->inputs[b], p->in->base_keys->global,
				    &p->in->keys->inputs[i], p->in->keys->global, &c->reasons);
}

static void add_removals(struct planner *p)
{
	const struct planner_index *base = p->in->base;
	struct planner_plan *plan = p->plan;

	for (size_t b = 0; base && b < base->nspecs; b++) {
		if (p->in_head[b])
			continue;
		plan->removed = sy_xrealloc(plan->removed, (plan->nremoved + 1) * sizeof(*plan->removed));
		struct planner_plan_removal *r = &plan->removed[plan->nremoved++];
		memset(r, 0, sizeof(*r));
		r->spec = planner_spec_id(&base->specs[b]);
		r->path = sy_xstrdup(base->specs[b].path);
		for (size_t k = 0; k < base->specs[b].npackages; k++)
			sy_strv_push(&r->packages, base->specs[b].packages[k].name);
	}
}

/* A goal plan: what planner_target_pick picks, unordered. */
static int select_goal(struct planner *p, struct sy_error *err)
{
	size_t n = p->in->head->nspecs;
	struct planner_target_pick *picks = sy_xcalloc(n + 1, sizeof(*picks));
	int rc = planner_target_pick(p->in, picks, err);

	for (size_t i = 0; i < n; i++) {
		if (rc == 0 && picks[i].pick) {
			add_entry(p, i, picks[i].why, SIZE_MAX, picks[i].reason);
			p->plan->entries[p->plan->n - 1].forced = p->in->target->forced[i];
		}
		free(picks[i].reason);
	}
	free(picks);
	return rc;
}

/* Puts every head spec that must be built into the set, unordered. */
static void select_specs(struct planner *p)
{
	const struct planner_index *head = p->in->head;
	const struct planner_target_set *t = p->in->target;

	for (size_t i = 0; i < head->nspecs; i++) {
		const struct planner_spec *s = &head->specs[i];
		size_t via;
		if (s->excluded || (t && t->ignored[i]))
			continue;
		if (own_changed(p, i))
			add_change(p, i);
		if (key_changed(p, i)) {
			/* The plan's entry holds the memo's string, which only
			 * reasons made before plan_release read. */
			char *r = (char *)reason_of(p, i, &via);
			add_entry_owned(p, i,
					own_changed(p, i) ? PLANNER_PLAN_CHANGED
							  : PLANNER_PLAN_DEPENDENCY,
					via, r);
			p->given[i] = 1;
		} else if (p->in->has_artifact && !s->error &&
			   !p->in->has_artifact(p->in->arg, p->in->keys->keys[i])) {
			add_entry(p, i, PLANNER_PLAN_MISSING, SIZE_MAX, "no artifact for its build key");
		}
	}
}

/* Marks cycles among the set; a cycle member whose packages were built
 * before breaks its cycle: the others build against those packages. */
static void find_cycles(struct planner *p, unsigned char *bootstrap)
{
	const struct planner_graph *g = p->in->graph;
	struct planner_plan *plan = p->plan;
	unsigned char *in_set = sy_xcalloc(g->nspecs + 1, 1);
	size_t *member = sy_xcalloc(g->nspecs + 1, sizeof(size_t));
	struct sy_strv names = SY_STRV_INIT;

	for (size_t e = 0; e < plan->n; e++)
		in_set[plan->entries[e].spec] = 1;
	plan->ncycles = planner_graph_cycles(g, in_set, member, &names);
	sy_strv_release(&names);
	plan->cycles = sy_xcalloc(plan->ncycles + 1, sizeof(*plan->cycles));
	for (size_t c = 1; c <= plan->ncycles; c++) {
		struct planner_plan_cycle *cy = &plan->cycles[c - 1];
		size_t at = SIZE_MAX;
		for (size_t i = 0; i < g->nspecs; i++) {
			if (member[i] != c)
				continue;
			sy_strv_push_owned(&cy->members, spec_id(p, i));
			if (at == SIZE_MAX && p->in->has_built &&
			    p->in->has_built(p->in->arg, &p->in->head->specs[i]))
				at = i;
		}
		if (at != SIZE_MAX) {
			bootstrap[at] = 1;
			cy->broken_at = spec_id(p, at);
			continue;
		}
		for (size_t e = 0; e < plan->n; e++)
			if (member[plan->entries[e].spec] == c)
				plan->entries[e].in_cycle = 1;
	}
	free(in_set);
	free(member);
}

/* Kahn's algorithm within the set over "its build root holds packages of"
 * edges; edges to a bootstrap member are not waited for. Leftovers (cycles)
 * go last. */
static void order_entries(struct planner *p, const unsigned char *bootstrap)
{
	struct planner_plan *plan = p->plan;
	const struct planner_graph *g = p->in->graph;
	size_t n = plan->n, out = 0, *queue = sy_xcalloc(n + 1, sizeof(size_t)), head = 0, tail = 0;
	size_t *pending = sy_xcalloc(n + 1, sizeof(size_t));
	/* dependents of entry e: dependents[first[e] .. first[e] + ndependents[e]),
	 * counted first so that hundreds of thousands of edges take one array. */
	size_t *first = sy_xcalloc(n + 2, sizeof(size_t)), *ndependents = sy_xcalloc(n + 1, sizeof(size_t));
	struct planner_plan_entry *sorted = sy_xcalloc(n + 1, sizeof(*sorted));
	unsigned char *done = sy_xcalloc(n + 1, 1);
	size_t *dependents;

	for (int fill = 0; fill < 2; fill++) {
		for (size_t e = 0; e < n; e++) {
			const struct planner_graph_node *node = &g->nodes[plan->entries[e].spec];
			for (size_t k = 0; k < node->nroot_specs; k++) {
				size_t d = node->root_specs[k], de = p->slot[d];
				if (de == SIZE_MAX || bootstrap[d])
					continue;
				if (fill) {
					dependents[first[de] + ndependents[de]++] = e;
				} else {
					pending[e]++;
					first[de + 1]++;
				}
			}
		}
		if (!fill) {
			for (size_t e = 0; e < n; e++)
				first[e + 1] += first[e];
			dependents = sy_xcalloc(first[n] + 1, sizeof(size_t));
		}
	}
	for (size_t e = 0; e < n; e++)
		if (!pending[e])
			queue[tail++] = e;
	while (head < tail) {
		size_t e = queue[head++];
		done[e] = 1;
		sorted[out++] = plan->entries[e];
		for (size_t k = first[e]; k < first[e] + ndependents[e]; k++)
			if (--pending[dependents[k]] == 0)
				queue[tail++] = dependents[k];
	}
	for (size_t e = 0; e < n; e++)
		if (!done[e])
			sorted[out++] = plan->entries[e];
	memcpy(plan->entries, sorted, n * sizeof(*sorted));
	for (size_t e = 0; e < n; e++)
		p->slot[plan->entries[e].spec] = e;
	free(dependents);
	free(first);
	free(ndependents);
	free(queue);
	free(sorted);
	free(pending);
	free(done);
}

int planner_plan_compute(const struct planner_plan_input *in, struct planner_plan *plan,
			 struct sy_error *err)
{
	size_t n = in->head->nspecs;
	struct planner p = { in, plan, sy_xcalloc(n + 1, sizeof(long)), sy_xcalloc(n + 1, sizeof(char *)),
			     sy_xcalloc(n + 1, 1), sy_xmalloc((n + 1) * sizeof(size_t)) };
	unsigned char *bootstrap = sy_xcalloc(n + 1, 1);
	int rc = 0;

	memset(plan, 0, sizeof(*plan));
	p.given = sy_xcalloc(n + 1, 1);
	p.in_head = sy_xcalloc((in->base ? in->base->nspecs : 0) + 1, 1);
	for (size_t i = 0; i < n; i++) {
		p.base_of[i] = in->base ? planner_index_lookup_path(in->base, in->head->specs[i].path) : -1;
		if (p.base_of[i] >= 0)
			p.in_head[p.base_of[i]] = 1;
		p.slot[i] = SIZE_MAX;
	}
	for (size_t i = 0; i < n; i++)
		if (in->head->specs[i].error)
			sy_strv_pushf(&plan->broken_specs, "%s", in->head->specs[i].error);
	if (in->target && in->target->has_goal) {
		rc = select_goal(&p, err);
	} else {
		select_specs(&p);
		add_removals(&p);
	}
	find_cycles(&p, bootstrap);
	order_entries(&p, bootstrap);
	if (in->target)
		planner_target_mark_ignored(in, plan);
	for (size_t i = 0; i < n; i++)
		if (!p.given[i])
			free(p.reason[i]);
	free(p.reason);
	free(p.given);
	free(p.in_head);
	free(p.busy);
	free(p.base_of);
	free(p.slot);
	free(bootstrap);
	return rc;
}

void planner_plan_release(struct planner_plan *plan)
{
	for (size_t e = 0; e < plan->n; e++)
		free(plan->entries[e].reason);
	free(plan->entries);
	for (size_t c = 0; c < plan->nchanged; c++)
		sy_strv_release(&plan->changed[c].reasons);
	free(plan->changed);
	for (size_t r = 0; r < plan->nremoved; r++) {
		free(plan->removed[r].spec);
		free(plan->removed[r].path);
		sy_strv_release(&plan->removed[r].packages);
	}
	free(plan->removed);
	for (size_t c = 0; c < plan->ncycles; c++) {
		sy_strv_release(&plan->cycles[c].members);
		free(plan->cycles[c].broken_at);
	}
	free(plan->cycles);
	sy_strv_release(&plan->broken_specs);
	for (size_t k = 0; k < plan->nignored; k++)
		sy_strv_release(&plan->ignored[k].dependents);
	free(plan->ignored);
	memset(plan, 0, sizeof(*plan));
}
