#define _GNU_SOURCE
#include "planner/analyze.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "planner/buildkey.h"

/* One unresolved dependency of one spec. */
struct ask {
	const char *capability; /* formatted; borrowed */
	size_t spec;
	int runtime;            /* 1: a Requires of its packages; 0: a BuildRequires */
};

/* State of one analysis. Rows are bit sets, `words` 64-bit words each: over
 * causes (capabilities, then specs that do not parse) or over specs. */
struct work {
	const struct planner_index *index;
	const struct planner_graph *graph;
	struct planner_analysis *a;
	size_t n;                 /* specs */
	char **ids;               /* spec id per spec */
	struct sy_strv *requires; /* per spec: its packages' Requires nothing offers */
	struct ask *asks;
	size_t nasks;
	size_t ncauses, words;    /* causes: the a->nunresolved capabilities, then
				   * the specs that do not parse */
	size_t *broken_cause;     /* per spec: its cause number, or SIZE_MAX */
	uint64_t *own;            /* per spec: causes in its own way */
	uint64_t *install;        /* per spec: causes in the way of installing its
				   * packages (their Requires) */
	uint64_t *rows;           /* per spec: every cause in its way */
	size_t *order;            /* specs, the ones needed first (build cycles'
				   * members in index order at the end) */
};

static int analysed(const struct work *w, size_t i)
{
	return !w->index->specs[i].excluded;
}

static void set_bit(uint64_t *row, size_t bit)
{
	row[bit / 64] |= UINT64_C(1) << (bit % 64);
}

static int get_bit(const uint64_t *row, size_t bit)
{
	return (int)((row[bit / 64] >> (bit % 64)) & 1);
}

static size_t count_bits(const uint64_t *row, size_t words)
{
	size_t n = 0;

	for (size_t k = 0; k < words; k++)
		n += (size_t)__builtin_popcountll(row[k]);
	return n;
}

static void add_ask(struct work *w, const char *capability, size_t spec, int runtime)
{
	w->asks = sy_xrealloc(w->asks, (w->nasks + 1) * sizeof(*w->asks));
	w->asks[w->nasks++] = (struct ask){ capability, spec, runtime };
}

static int by_capability(const void *x, const void *y)
{
	const struct ask *a = x, *b = y;
	int c = strcmp(a->capability, b->capability);

	return c ? c : a->spec < b->spec ? -1 : a->spec > b->spec;
}

/* Collects what nothing offers into a->unresolved, one entry per
 * capability, and numbers the causes. */
static void collect_causes(struct work *w)
{
	struct planner_analysis *a = w->a;

	for (size_t i = 0; i < w->n; i++) {
		if (!analysed(w, i))
			continue;
		const struct sy_strv *u = &w->graph->nodes[i].unresolved;
		for (size_t k = 0; k < u->n; k++)
			add_ask(w, u->items[k], i, 0);
		planner_graph_unresolved_requires(w->graph, i, &w->requires[i]);
		for (size_t k = 0; k < w->requires[i].n; k++)
			add_ask(w, w->requires[i].items[k], i, 1);
	}
	qsort(w->asks, w->nasks, sizeof(*w->asks), by_capability);
	a->unresolved = sy_xcalloc(w->nasks + 1, sizeof(*a->unresolved));
	for (size_t k = 0; k < w->nasks; k++) {
		if (!k || strcmp(w->asks[k].capability, w->asks[k - 1].capability))
			a->unresolved[a->nunresolved++].capability = sy_xstrdup(w->asks[k].capability);
		struct planner_analysis_capability *c = &a->unresolved[a->nunresolved - 1];
		sy_strv_push(w->asks[k].runtime ? &c->runtime_referrers : &c->build_referrers,
			     w->ids[w->asks[k].spec]);
	}
	w->ncauses = a->nunresolved;
	for (size_t i = 0; i < w->n; i++)
		w->broken_cause[i] = analysed(w, i) && w->index->specs[i].error ? w->ncauses++ : SIZE_MAX;
	w->words = (w->ncauses + 63) / 64;
}

/* Fills own and install from the causes. */
static void own_rows(struct work *w)
{
	size_t cause = 0;

	w->own = sy_xcalloc(w->n * w->words + 1, sizeof(uint64_t));
	w->install = sy_xcalloc(w->n * w->words + 1, sizeof(uint64_t));
	w->rows = sy_xcalloc(w->n * w->words + 1, sizeof(uint64_t));
	for (size_t k = 0; k < w->nasks; k++) {
		if (k && strcmp(w->asks[k].capability, w->asks[k - 1].capability))
			cause++;
		uint64_t *rows = w->asks[k].runtime ? w->install : w->own;
		set_bit(rows + w->asks[k].spec * w->words, cause);
	}
	for (size_t i = 0; i < w->n; i++)
		if (w->broken_cause[i] != SIZE_MAX)
			set_bit(w->own + i * w->words, w->broken_cause[i]);
}

/* Orders the specs so that the specs a build root needs come before it
 * (Kahn's algorithm over root edges); members of cycles go last. */
static void order_specs(struct work *w)
{
	size_t n = w->n, head = 0, tail = 0;
	size_t *pending = sy_xcalloc(n + 1, sizeof(size_t)), *first = sy_xcalloc(n + 2, sizeof(size_t));
	size_t *users, *fill;
	unsigned char *done = sy_xcalloc(n + 1, 1);

	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < w->graph->nodes[i].nroot_specs; k++)
			first[w->graph->nodes[i].root_specs[k] + 1]++;
	for (size_t i = 0; i < n; i++)
		first[i + 1] += first[i];
	users = sy_xcalloc(first[n] + 1, sizeof(size_t));
	fill = sy_xcalloc(n + 1, sizeof(size_t));
	memcpy(fill, first, n * sizeof(size_t));
	for (size_t i = 0; i < n; i++) {
		pending[i] = w->graph->nodes[i].nroot_specs;
		for (size_t k = 0; k < pending[i]; k++)
			users[fill[w->graph->nodes[i].root_specs[k]]++] = i;
	}
	w->order = sy_xcalloc(n + 1, sizeof(size_t));
	for (size_t i = 0; i < n; i++)
		if (!pending[i])
			w->order[tail++] = i;
	while (head < tail) {
		size_t d = w->order[head++];
		done[d] = 1;
		for (size_t k = first[d]; k < first[d + 1]; k++)
			if (--pending[users[k]] == 0)
				w->order[tail++] = users[k];
	}
	for (size_t i = 0; i < n; i++)
		if (!done[i])
			w->order[tail++] = i;
	free(pending);
	free(first);
	free(users);
	free(fill);
	free(done);
}

/* One pass in order: a spec's row is its own causes and, for every spec
 * its build root needs, that spec's row and the causes in the way of
 * installing its packages. Returns 1 when a row changed (only members of
 * cycles need a second pass). */
static int propagate_causes(struct work *w)
{
	uint64_t *next = sy_xcalloc(w->words + 1, sizeof(uint64_t));
	int changed = 0;

	for (size_t o = 0; o < w->n; o++) {
		size_t s = w->order[o];
		const struct planner_graph_node *node = &w->graph->nodes[s];
		memcpy(next, w->own + s * w->words, w->words * sizeof(uint64_t));
		for (size_t k = 0; k < node->nroot_specs; k++) {
			size_t d = node->root_specs[k];
			for (size_t x = 0; x < w->words; x++)
				next[x] |= w->rows[d * w->words + x] | w->install[d * w->words + x];
		}
		if (memcmp(next, w->rows + s * w->words, w->words * sizeof(uint64_t))) {
			memcpy(w->rows + s * w->words, next, w->words * sizeof(uint64_t));
			changed = 1;
		}
	}
	free(next);
	return changed;
}

static int by_blocked(const void *x, const void *y)
{
	const struct planner_analysis_capability *a = x, *b = y;
	size_t na = a->build_referrers.n + a->runtime_referrers.n;
	size_t nb = b->build_referrers.n + b->runtime_referrers.n;

	if (a->blocked != b->blocked)
		return a->blocked < b->blocked ? 1 : -1;
	if (na != nb)
		return na < nb ? 1 : -1;
	return strcmp(a->capability, b->capability);
}

/* The name of cause c. */
static const char *cause_name(const struct work *w, size_t c, char **owned)
{
	*owned = NULL;
	if (c < w->a->nunresolved)
		return w->a->unresolved[c].capability;
	for (size_t i = 0; i < w->n; i++)
		if (w->broken_cause[i] == c)
			return *owned = sy_xasprintf("%s (does not parse)", w->ids[i]);
	return "?";
}

static int by_causes(const void *x, const void *y, void *arg)
{
	const struct planner_analysis_stuck *a = x, *b = y;
	const struct work *w = arg;

	if (a->causes.n != b->causes.n)
		return a->causes.n < b->causes.n ? -1 : 1;
	return strcmp(w->ids[a->spec], w->ids[b->spec]);
}

/* Lists the stuck specs and counts what each capability blocks; sorts
 * both. */
static void report_causes(struct work *w)
{
	struct planner_analysis *a = w->a;

	a->stuck = sy_xcalloc(w->n + 1, sizeof(*a->stuck));
	for (size_t i = 0; i < w->n; i++) {
		const uint64_t *row = w->rows + i * w->words;
		if (!analysed(w, i))
			continue;
		a->nspecs++;
		if (!count_bits(row, w->words)) {
			a->buildable++;
			continue;
		}
		struct planner_analysis_stuck *st = &a->stuck[a->nstuck++];
		st->spec = i;
		for (size_t c = 0; c < w->ncauses; c++) {
			char *owned;
			if (!get_bit(row, c))
				continue;
			sy_strv_push(&st->causes, cause_name(w, c, &owned));
			free(owned);
			if (c < a->nunresolved)
				a->unresolved[c].blocked++;
		}
		sy_strv_sort_unique(&st->causes);
	}
	qsort_r(a->stuck, a->nstuck, sizeof(*a->stuck), by_causes, w);
	qsort(a->unresolved, a->nunresolved, sizeof(*a->unresolved), by_blocked);
	for (size_t c = 0; c < a->nunresolved; c++) {
		sy_strv_sort_unique(&a->unresolved[c].build_referrers);
		sy_strv_sort_unique(&a->unresolved[c].runtime_referrers);
	}
}

/* One pass against the order: every spec's build root specs learn that it
 * and what needs it need them. Returns 1 when a set changed. */
static int propagate_users(const struct work *w, uint64_t *users, size_t words)
{
	int changed = 0;

	for (size_t o = w->n; o-- > 0;) {
		size_t s = w->order[o];
		const struct planner_graph_node *node = &w->graph->nodes[s];
		for (size_t k = 0; k < node->nroot_specs; k++) {
			uint64_t *to = users + node->root_specs[k] * words;
			const uint64_t *from = users + s * words;
			for (size_t x = 0; x < words; x++) {
				uint64_t v = to[x] | from[x] | (x == s / 64 ? UINT64_C(1) << (s % 64) : 0);
				changed |= v != to[x];
				to[x] = v;
			}
		}
	}
	return changed;
}

static int by_blocks(const void *x, const void *y, void *arg)
{
	const struct planner_analysis_blocker *a = x, *b = y;
	const struct work *w = arg;

	if (a->blocks != b->blocks)
		return a->blocks < b->blocks ? 1 : -1;
	return strcmp(w->ids[a->spec], w->ids[b->spec]);
}

/* Counts, for each spec, the specs whose builds need it, transitively. */
static void find_blockers(struct work *w)
{
	size_t words = (w->n + 63) / 64;
	uint64_t *users = sy_xcalloc(w->n * words + 1, sizeof(uint64_t));
	struct planner_analysis *a = w->a;

	while (propagate_users(w, users, words))
		;
	a->blockers = sy_xcalloc(w->n + 1, sizeof(*a->blockers));
	for (size_t i = 0; i < w->n; i++) {
		/* A member of a cycle needs itself: not something it blocks. */
		size_t blocks = count_bits(users + i * words, words) - get_bit(users + i * words, i);
		if (blocks && analysed(w, i))
			a->blockers[a->nblockers++] = (struct planner_analysis_blocker){ i, blocks };
	}
	qsort_r(a->blockers, a->nblockers, sizeof(*a->blockers), by_blocks, w);
	free(users);
}

static void work_release(struct work *w)
{
	for (size_t i = 0; i < w->n; i++) {
		free(w->ids[i]);
		sy_strv_release(&w->requires[i]);
	}
	free(w->ids);
	free(w->requires);
	free(w->asks);
	free(w->broken_cause);
	free(w->own);
	free(w->install);
	free(w->rows);
	free(w->order);
}

int planner_analyze(const struct planner_index *index, const struct planner_graph *graph,
		    struct planner_analysis *a, struct sy_error *err)
{
	struct work w = { index, graph, a, index->nspecs };

	memset(a, 0, sizeof(*a));
	if (graph->nspecs != index->nspecs || graph->specs != index->specs)
		return sy_error_set(err, "analyze: the graph is not the index's (%zu specs, %zu nodes)",
				    index->nspecs, graph->nspecs);
	w.ids = sy_xcalloc(w.n + 1, sizeof(char *));
	w.requires = sy_xcalloc(w.n + 1, sizeof(*w.requires));
	w.broken_cause = sy_xcalloc(w.n + 1, sizeof(size_t));
	for (size_t i = 0; i < w.n; i++)
		w.ids[i] = planner_spec_id(&index->specs[i]);
	collect_causes(&w);
	own_rows(&w);
	order_specs(&w);
	while (propagate_causes(&w))
		;
	report_causes(&w);
	find_blockers(&w);
	size_t *member = sy_xcalloc(w.n + 1, sizeof(size_t));
	planner_graph_cycles(graph, NULL, member, &a->cycles);
	free(member);
	work_release(&w);
	return 0;
}

void planner_analysis_release(struct planner_analysis *a)
{
	for (size_t c = 0; c < a->nunresolved; c++) {
		free(a->unresolved[c].capability);
		sy_strv_release(&a->unresolved[c].build_referrers);
		sy_strv_release(&a->unresolved[c].runtime_referrers);
	}
	free(a->unresolved);
	for (size_t k = 0; k < a->nstuck; k++)
		sy_strv_release(&a->stuck[k].causes);
	free(a->stuck);
	free(a->blockers);
	sy_strv_release(&a->cycles);
	memset(a, 0, sizeof(*a));
}
