#include "builder/plan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

char *builder_path_dir(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return sy_xstrdup("");
	char *dir = sy_xmalloc((size_t)(slash - path) + 1);
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	return dir;
}

static int path_in_dir(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return path && !strncmp(path, dir, n) && path[n] == '/';
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/* Marks specs whose directory holds a changed file, and lists removed specs
 * and changed image configs. */
static void classify_changes(const struct builder_plan_input *in, struct builder_plan *plan,
			     unsigned char *changed)
{
	const struct gitwatch_changeset *cs = in->changes;

	for (size_t c = 0; cs && c < cs->n; c++) {
		const struct gitwatch_change *ch = &cs->changes[c];
		const char *path = ch->new_path ? ch->new_path : ch->old_path;
		if (!strncmp(path, "toolkit/imageconfigs/", 21))
			sy_strv_push(&plan->changed_images, path);
		if (ch->old_path && ends_with(ch->old_path, ".spec") &&
		    (ch->kind == GITWATCH_DELETED || ch->kind == GITWATCH_RENAMED))
			sy_strv_push(&plan->removed_specs, ch->old_path);
		for (size_t i = 0; i < in->nspecs; i++) {
			char *dir = builder_path_dir(in->specs[i].path);
			if (path_in_dir(ch->new_path, dir) || path_in_dir(ch->old_path, dir))
				changed[i] = 1;
			free(dir);
		}
	}
	for (size_t i = 0; i < in->nspecs; i++)
		if (changed[i])
			sy_strv_push(&plan->changed_specs, in->specs[i].path);
}

struct planner {
	const struct builder_plan_input *in;
	struct builder_plan *plan;
	size_t *slot;          /* spec -> index in plan->entries, SIZE_MAX if absent */
	size_t **dependents;   /* reverse build edges */
	size_t *ndependents;
};

static void add_entry(struct planner *p, size_t spec, enum builder_plan_why why, size_t via,
		      char *reason)
{
	struct builder_plan *plan = p->plan;

	plan->entries = sy_xrealloc(plan->entries, (plan->n + 1) * sizeof(*plan->entries));
	plan->entries[plan->n] = (struct builder_plan_entry){ spec, why, via, reason, 0 };
	p->slot[spec] = plan->n++;
}

static void build_reverse_edges(struct planner *p)
{
	const struct builder_graph *g = p->in->graph;

	p->dependents = sy_xcalloc(g->nspecs + 1, sizeof(*p->dependents));
	p->ndependents = sy_xcalloc(g->nspecs + 1, sizeof(*p->ndependents));
	for (size_t i = 0; i < g->nspecs; i++) {
		const struct builder_graph_node *n = &g->nodes[i];
		for (size_t k = 0; k < n->nbuild_deps; k++) {
			size_t d = n->build_deps[k];
			p->dependents[d] = sy_xrealloc(p->dependents[d],
						       (p->ndependents[d] + 1) * sizeof(size_t));
			p->dependents[d][p->ndependents[d]++] = i;
		}
	}
}

static const char *edge_reason(const struct builder_graph *g, size_t spec, size_t dep)
{
	const struct builder_graph_node *n = &g->nodes[spec];

	for (size_t k = 0; k < n->nbuild_deps; k++)
		if (n->build_deps[k] == dep)
			return n->build_dep_reasons[k];
	return "?";
}

/* Breadth-first over reverse build edges from every entry, so that each
 * dependent's reason names the nearest spec that put it there. */
static void add_dependents(struct planner *p)
{
	const struct builder_graph *g = p->in->graph;

	for (size_t e = 0; e < p->plan->n; e++) {
		size_t s = p->plan->entries[e].spec;
		for (size_t k = 0; k < p->ndependents[s]; k++) {
			size_t d = p->dependents[s][k];
			if (p->slot[d] != SIZE_MAX)
				continue;
			char *reason = sy_xasprintf("BuildRequires %s (%s: %s)", edge_reason(g, d, s),
						    g->specs[s].name, p->plan->entries[e].reason);
			add_entry(p, d, BUILDER_PLAN_DEPENDENCY, s, reason);
		}
	}
}

/* Orders the entries so that every spec comes after the specs of the set it
 * BuildRequires (Kahn's algorithm; members of cycles go last, in name order). */
static void order_entries(struct planner *p)
{
	struct builder_plan *plan = p->plan;
	const struct builder_graph *g = p->in->graph;
	size_t n = plan->n, *pending = sy_xcalloc(n + 1, sizeof(size_t));
	struct builder_plan_entry *sorted = sy_xcalloc(n + 1, sizeof(*sorted));
	unsigned char *done = sy_xcalloc(n + 1, 1);
	size_t out = 0;

	for (size_t e = 0; e < n; e++) {
		const struct builder_graph_node *node = &g->nodes[plan->entries[e].spec];
		for (size_t k = 0; k < node->nbuild_deps; k++)
			pending[e] += p->slot[node->build_deps[k]] != SIZE_MAX;
	}
	for (int progress = 1; progress;) {
		progress = 0;
		for (size_t e = 0; e < n; e++) {
			if (done[e] || pending[e])
				continue;
			done[e] = 1;
			progress = 1;
			sorted[out++] = plan->entries[e];
			size_t s = plan->entries[e].spec;
			for (size_t k = 0; k < p->ndependents[s]; k++) {
				size_t d = p->slot[p->dependents[s][k]];
				if (d != SIZE_MAX && pending[d])
					pending[d]--;
			}
		}
	}
	for (size_t e = 0; e < n; e++)
		if (!done[e])
			sorted[out++] = plan->entries[e];
	memcpy(plan->entries, sorted, n * sizeof(*sorted));
	for (size_t e = 0; e < n; e++)
		p->slot[plan->entries[e].spec] = e;
	free(sorted);
	free(pending);
	free(done);
}

static void mark_cycles(struct planner *p)
{
	const struct builder_graph *g = p->in->graph;
	unsigned char *in_set = sy_xcalloc(g->nspecs + 1, 1), *member = sy_xcalloc(g->nspecs + 1, 1);

	for (size_t e = 0; e < p->plan->n; e++)
		in_set[p->plan->entries[e].spec] = 1;
	builder_graph_cycles(g, in_set, member, &p->plan->cycles);
	for (size_t e = 0; e < p->plan->n; e++)
		p->plan->entries[e].in_cycle = member[p->plan->entries[e].spec];
	free(in_set);
	free(member);
}

int builder_plan_compute(const struct builder_plan_input *in, struct builder_plan *plan,
			 struct sy_error *err)
{
	struct planner p = { .in = in, .plan = plan };
	unsigned char *changed = sy_xcalloc(in->nspecs + 1, 1);

	(void)err;
	memset(plan, 0, sizeof(*plan));
	p.slot = sy_xmalloc((in->nspecs + 1) * sizeof(size_t));
	for (size_t i = 0; i < in->nspecs; i++)
		p.slot[i] = SIZE_MAX;
	classify_changes(in, plan, changed);
	build_reverse_edges(&p);
	for (size_t i = 0; i < in->nspecs; i++) {
		const struct builder_spec *s = &in->specs[i];
		if (s->error)
			sy_strv_pushf(&plan->broken_specs, "%s", s->error);
		if (changed[i])
			add_entry(&p, i, BUILDER_PLAN_CHANGED, SIZE_MAX,
				  sy_xasprintf("%s changed", s->path));
	}
	/* Dependents of changed specs first, so that their reason names the
	 * change rather than a missing publication. */
	add_dependents(&p);
	for (size_t i = 0; i < in->nspecs; i++) {
		const struct builder_spec *s = &in->specs[i];
		if (s->error || p.slot[i] != SIZE_MAX)
			continue;
		if (in->force && sy_strv_contains(in->force, s->name))
			add_entry(&p, i, BUILDER_PLAN_NOT_PUBLISHED, SIZE_MAX,
				  sy_xstrdup("failed in the previous pipeline"));
		else if (!in->published || !in->published(in->arg, s))
			add_entry(&p, i, BUILDER_PLAN_NOT_PUBLISHED, SIZE_MAX,
				  sy_xstrdup("packages not in the repository"));
	}
	add_dependents(&p);
	order_entries(&p);
	mark_cycles(&p);
	for (size_t i = 0; i < in->nspecs; i++)
		free(p.dependents[i]);
	free(p.dependents);
	free(p.ndependents);
	free(p.slot);
	free(changed);
	return 0;
}

void builder_plan_release(struct builder_plan *plan)
{
	for (size_t e = 0; e < plan->n; e++)
		free(plan->entries[e].reason);
	free(plan->entries);
	sy_strv_release(&plan->changed_specs);
	sy_strv_release(&plan->removed_specs);
	sy_strv_release(&plan->changed_images);
	sy_strv_release(&plan->cycles);
	sy_strv_release(&plan->broken_specs);
	memset(plan, 0, sizeof(*plan));
}
