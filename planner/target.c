#include "planner/target.h"

#include <stdlib.h>
#include <string.h>

#include "planner/depsearch.h"

/* Copies a NULL-terminated list (or none) into v. */
static void list_copy(const char *const *list, struct sy_strv *v)
{
	for (; list && *list; list++)
		sy_strv_push(v, *list);
}

/* Marks the specs names match (spec ids, or package names with packages
 * 1). Returns 0, or -1 with err naming every name that matched nothing. */
static int mark_names(const struct planner_index *head, const char *const *names, int packages,
		      unsigned char *marks, struct sy_error *err)
{
	struct sy_strv v = SY_STRV_INIT;
	size_t *found = NULL, n = 0;

	list_copy(names, &v);
	int rc = v.n ? planner_depsearch_resolve(head->specs, head->nspecs, &v, packages, &found, &n,
						 err)
		     : 0;
	for (size_t k = 0; k < n; k++)
		marks[found[k]] = 1;
	free(found);
	sy_strv_release(&v);
	return rc;
}

/* Marks what one name means as the toolkit reads its lists: a spec id,
 * else a package name. Returns 1 when it matched. */
static int mark_spec_or_package(const struct planner_index *head, const char *name,
				unsigned char *marks)
{
	const char *one[] = { name, NULL };

	return mark_names(head, one, 0, marks, NULL) == 0 ||
	       mark_names(head, one, 1, marks, NULL) == 0;
}

/* Marks the specs of rebuild or ignore names; the names that match
 * nothing are appended to unknown. */
static void mark_either(const struct planner_index *head, const char *const *names,
			unsigned char *marks, struct sy_strv *unknown)
{
	for (; names && *names; names++)
		if (!mark_spec_or_package(head, *names, marks))
			sy_strv_push(unknown, *names);
}

/* Marks the specs that build an image config's packages; a package no
 * spec builds comes from elsewhere. */
static void mark_image_packages(const struct planner_index *head, const char *const *list,
				unsigned char *marks)
{
	for (; list && *list; list++) {
		char *name = sy_xstrdup(*list);
		const char *one[] = { name, NULL };
		name[strcspn(name, " <>=")] = '\0';
		mark_names(head, one, 1, marks, NULL);
		free(name);
	}
}

/* The toolkit refuses a spec both to rebuild and to ignore. */
static int refuse_conflicts(const struct planner_index *head, const struct planner_target_set *set,
			    struct sy_error *err)
{
	struct sy_strv both = SY_STRV_INIT;
	int rc = 0;

	for (size_t i = 0; i < head->nspecs; i++)
		if (set->forced[i] && set->ignored[i])
			sy_strv_push_owned(&both, planner_spec_id(&head->specs[i]));
	if (both.n) {
		char *list = sy_strv_join(&both, ", ");
		rc = sy_error_set(err, "%s: both to rebuild and ignored", list);
		free(list);
	}
	sy_strv_release(&both);
	return rc;
}

int planner_target_resolve(const struct planner_index *head, const struct planner_target *t,
			   struct planner_target_set *set, struct sy_error *err)
{
	size_t n = head->nspecs;
	struct sy_strv unknown = SY_STRV_INIT;
	int rc;

	memset(set, 0, sizeof(*set));
	set->nspecs = n;
	set->goal = sy_xcalloc(n + 1, 1);
	set->forced = sy_xcalloc(n + 1, 1);
	set->ignored = sy_xcalloc(n + 1, 1);
	set->has_goal = t->specs || t->packages || t->image_packages || t->rebuild;
	rc = mark_names(head, t->specs, 0, set->goal, err) ||
		     mark_names(head, t->packages, 1, set->goal, err)
	     ? -1
	     : 0;
	mark_image_packages(head, t->image_packages, set->goal);
	mark_either(head, t->rebuild, set->forced, &unknown);
	mark_either(head, t->ignore, set->ignored, &set->unknown_ignored);
	if (rc == 0 && unknown.n) {
		char *list = sy_strv_join(&unknown, ", ");
		rc = sy_error_set(err, "unknown spec or package to rebuild: %s", list);
		free(list);
	}
	sy_strv_release(&unknown);
	for (size_t i = 0; i < n; i++) {
		set->forced[i] |= t->force && set->goal[i];
		set->goal[i] |= set->forced[i];
	}
	return rc ? rc : refuse_conflicts(head, set, err);
}

void planner_target_set_release(struct planner_target_set *set)
{
	free(set->goal);
	free(set->forced);
	free(set->ignored);
	sy_strv_release(&set->unknown_ignored);
	memset(set, 0, sizeof(*set));
}

/* The reason of a spec the goal needs, from the search hit that found it. */
static char *needed_reason(const struct planner_index *head, const struct planner_depsearch_hit *h)
{
	char *via = planner_spec_id(&head->specs[h->via]);
	char *r = sy_xasprintf("no artifact for its build key, needed by %s (%s)", via, h->reason);

	free(via);
	return r;
}

/* Picks one spec the search found. */
static void pick_hit(const struct planner_plan_input *in, const struct planner_depsearch_hit *h,
		     struct planner_target_pick *pick)
{
	const struct planner_target_set *t = in->target;
	size_t i = h->spec;

	if (in->head->specs[i].excluded || t->ignored[i])
		return;
	if (t->goal[i]) {
		pick->why = PLANNER_PLAN_REQUESTED;
		pick->reason = sy_xstrdup(t->forced[i] ? "requested, rebuilt even if built" : "requested");
	} else if (!in->has_artifact || !in->has_artifact(in->arg, in->keys->keys[i])) {
		pick->why = PLANNER_PLAN_MISSING;
		pick->reason = needed_reason(in->head, h);
	} else {
		return;
	}
	pick->pick = 1;
}

int planner_target_pick(const struct planner_plan_input *in, struct planner_target_pick *picks,
			struct sy_error *err)
{
	const struct planner_target_set *t = in->target;
	size_t *start = sy_xcalloc(t->nspecs + 1, sizeof(size_t)), nstart = 0;
	struct planner_depsearch_result found = { 0 };

	for (size_t i = 0; i < t->nspecs; i++)
		if (t->goal[i] && !t->ignored[i])
			start[nstart++] = i;
	struct planner_depsearch_query q = {
		.start = start, .nstart = nstart, .direction = PLANNER_DEPSEARCH_DEPENDENCIES,
		.edges = PLANNER_DEPSEARCH_ALL, .max_depth = -1, .not_built = t->ignored,
	};
	int rc = planner_depsearch_run(in->graph, &q, &found, err);
	for (size_t k = 0; rc == 0 && k < found.n; k++)
		pick_hit(in, &found.hits[k], &picks[found.hits[k].spec]);
	planner_depsearch_result_release(&found);
	free(start);
	return rc;
}

/* Where an ignored spec's packages come from. */
static enum planner_plan_packages packages_of(const struct planner_plan_input *in, size_t spec)
{
	if (in->has_artifact && in->has_artifact(in->arg, in->keys->keys[spec]))
		return PLANNER_PACKAGES_ARTIFACT;
	if (in->has_built && in->has_built(in->arg, &in->head->specs[spec]))
		return PLANNER_PACKAGES_PUBLISHED;
	return PLANNER_PACKAGES_NONE;
}

/* Records ignored spec y and the entries whose build root holds it. */
static void mark_one(const struct planner_plan_input *in, struct planner_plan *plan, size_t y)
{
	struct planner_plan_ignored *ig = &plan->ignored[plan->nignored++];

	ig->spec = y;
	ig->packages = packages_of(in, y);
	for (size_t e = 0; e < plan->n; e++) {
		struct planner_plan_entry *entry = &plan->entries[e];
		const struct planner_graph_node *node = &in->graph->nodes[entry->spec];
		for (size_t k = 0; k < node->nroot_specs; k++) {
			if (node->root_specs[k] != y)
				continue;
			sy_strv_push_owned(&ig->dependents, planner_spec_id(&in->head->specs[entry->spec]));
			if (ig->packages == PLANNER_PACKAGES_NONE && !entry->blocked) {
				entry->blocked = 1;
				entry->blocker = y;
			}
		}
	}
}

/* Marks the entries whose build root holds an earlier build of an ignored
 * spec, directly or through an entry marked before it (build order). */
static void mark_stale(const struct planner_plan_input *in, struct planner_plan *plan,
		       const unsigned char *published)
{
	size_t nspecs = in->target->nspecs;
	unsigned char *stale = sy_xcalloc(nspecs + 1, 1);

	memcpy(stale, published, nspecs);
	for (size_t e = 0; e < plan->n; e++) {
		struct planner_plan_entry *entry = &plan->entries[e];
		const struct planner_graph_node *node = &in->graph->nodes[entry->spec];
		for (size_t k = 0; k < node->nroot_specs && !entry->stale_root; k++)
			entry->stale_root = stale[node->root_specs[k]];
		stale[entry->spec] = (unsigned char)entry->stale_root;
	}
	free(stale);
}

void planner_target_mark_ignored(const struct planner_plan_input *in, struct planner_plan *plan)
{
	const struct planner_target_set *t = in->target;
	unsigned char *published = sy_xcalloc(t->nspecs + 1, 1);
	size_t n = 0;

	for (size_t i = 0; i < t->nspecs; i++)
		n += t->ignored[i];
	plan->ignored = sy_xcalloc(n + 1, sizeof(*plan->ignored));
	for (size_t i = 0; i < t->nspecs; i++) {
		if (!t->ignored[i])
			continue;
		mark_one(in, plan, i);
		published[i] = plan->ignored[plan->nignored - 1].packages == PLANNER_PACKAGES_PUBLISHED;
	}
	mark_stale(in, plan, published);
	free(published);
}
