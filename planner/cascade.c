#include "planner/cascade.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A cause being counted, with the spec id it sorts by. */
struct counted {
	struct planner_cascade_cause cause;
	char *id; /* SPEC: its spec id; else NULL */
};

static void add_cause(struct counted **v, size_t *n, enum planner_cascade_kind kind, size_t spec,
		      size_t count, char *id)
{
	*v = sy_xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = (struct counted){ { kind, spec, count }, id };
}

/* 1 when spec i (of the head) changed by more than the global inputs: its
 * own files or parsed metadata, or it is new. */
static int changed_itself(const struct planner_plan_input *in, size_t i)
{
	long b = in->base ? planner_index_lookup_path(in->base, in->head->specs[i].path) : -1;
	struct sy_strv reasons = SY_STRV_INIT;

	if (b < 0 || !in->base_keys)
		return 1;
	/* The same global digest on both sides leaves only the spec's own. */
	planner_inputs_diff(&in->base_keys->inputs[b], "", &in->keys->inputs[i], "", &reasons);
	int own = reasons.n != 0;
	sy_strv_release(&reasons);
	return own;
}

/* Counts, for each spec cause (bit k of a row: spec causes[k]), the entries
 * it reaches over build-root edges among the plan's entries. Rows are
 * filled in build order, so an entry's row is the union of the rows of the
 * entries its build root holds, which were filled before it. */
static void count_reach(const struct planner_plan_input *in, const struct planner_plan *plan,
			struct counted *causes, size_t first, size_t ncauses)
{
	size_t nspecs = in->head->nspecs, words = (ncauses - first + 63) / 64;
	size_t *slot = sy_xmalloc((nspecs + 1) * sizeof(size_t));
	long *bit = sy_xmalloc((nspecs + 1) * sizeof(long));
	uint64_t *rows = sy_xcalloc(plan->n * words + 1, sizeof(uint64_t));

	for (size_t i = 0; i < nspecs; i++) {
		slot[i] = SIZE_MAX;
		bit[i] = -1;
	}
	for (size_t e = 0; e < plan->n; e++)
		slot[plan->entries[e].spec] = e;
	for (size_t c = first; c < ncauses; c++)
		bit[causes[c].cause.spec] = (long)(c - first);
	for (size_t e = 0; e < plan->n; e++) {
		size_t spec = plan->entries[e].spec;
		const struct planner_graph_node *node = &in->graph->nodes[spec];
		uint64_t *row = rows + e * words;
		if (bit[spec] >= 0)
			row[bit[spec] / 64] |= UINT64_C(1) << (bit[spec] % 64);
		for (size_t k = 0; k < node->nroot_specs; k++) {
			size_t s = slot[node->root_specs[k]];
			for (size_t w = 0; s != SIZE_MAX && s != e && w < words; w++)
				row[w] |= rows[s * words + w];
		}
	}
	for (size_t e = 0; e < plan->n; e++)
		for (size_t c = first; c < ncauses; c++)
			causes[c].cause.count +=
				(rows[e * words + (c - first) / 64] >> ((c - first) % 64)) & 1;
	free(rows);
	free(bit);
	free(slot);
}

static int by_size(const void *a, const void *b)
{
	const struct counted *x = a, *y = b;

	if (x->cause.count != y->cause.count)
		return x->cause.count < y->cause.count ? 1 : -1;
	if (x->cause.kind != y->cause.kind)
		return x->cause.kind < y->cause.kind ? -1 : 1;
	return x->id && y->id ? strcmp(x->id, y->id) : 0;
}

/* Lists the causes of plan with their counts, biggest first. */
static void find_causes(const struct planner_plan_input *in, const struct planner_plan *plan,
			struct planner_cascade *out)
{
	struct counted *v = NULL;
	size_t n = 0, missing = 0, first;

	for (size_t e = 0; e < plan->n; e++)
		missing += plan->entries[e].why == PLANNER_PLAN_MISSING;
	if (in->base_keys && strcmp(in->base_keys->global, in->keys->global))
		add_cause(&v, &n, PLANNER_CASCADE_GLOBAL, 0, plan->n - missing, NULL);
	if (missing)
		add_cause(&v, &n, PLANNER_CASCADE_MISSING, 0, missing, NULL);
	first = n;
	for (size_t c = 0; c < plan->nchanged; c++)
		if (changed_itself(in, plan->changed[c].spec))
			add_cause(&v, &n, PLANNER_CASCADE_SPEC, plan->changed[c].spec, 0,
				  planner_spec_id(&in->head->specs[plan->changed[c].spec]));
	if (n > first)
		count_reach(in, plan, v, first, n);
	qsort(v, n, sizeof(*v), by_size);
	out->causes = sy_xcalloc(n + 1, sizeof(*out->causes));
	for (size_t k = 0; k < n; k++) {
		out->causes[k] = v[k].cause;
		free(v[k].id);
	}
	out->ncauses = n;
	free(v);
}

void planner_cascade_check(const struct planner_plan_input *in, const struct planner_plan *plan,
			   size_t limit, planner_artifact_fn has_artifact, void *arg,
			   struct planner_cascade *out)
{
	memset(out, 0, sizeof(*out));
	out->limit = limit;
	for (size_t e = 0; e < plan->n; e++)
		out->to_build += !has_artifact ||
				 !has_artifact(arg, in->keys->keys[plan->entries[e].spec]);
	out->needs_approval = limit > 0 && out->to_build > limit;
	if (out->needs_approval)
		find_causes(in, plan, out);
}

void planner_cascade_release(struct planner_cascade *c)
{
	free(c->causes);
	memset(c, 0, sizeof(*c));
}
