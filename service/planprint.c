#include "service/planprint.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char *why_name(enum builder_plan_why why)
{
	switch (why) {
	case BUILDER_PLAN_CHANGED: return "changed";
	case BUILDER_PLAN_DEPENDENCY: return "dependency";
	case BUILDER_PLAN_NOT_PUBLISHED: return "not-published";
	}
	return "?";
}

static const char *change_path(const struct gitwatch_change *c)
{
	return c->new_path ? c->new_path : c->old_path;
}

static json_t *strv_json(const struct sy_strv *v)
{
	json_t *a = json_array();

	for (size_t i = 0; i < v->n; i++)
		json_array_append_new(a, json_string(v->items[i]));
	return a;
}

static void print_json(FILE *out, const struct builder_index *index,
		       const struct builder_graph *graph, const struct builder_plan *plan,
		       const struct gitwatch_changeset *cs)
{
	json_t *doc = json_object(), *changes = json_array(), *rebuild = json_array();
	json_t *unresolved = json_object();

	json_object_set_new(doc, "from", json_string(cs ? cs->from : ""));
	json_object_set_new(doc, "to", json_string(index->commit));
	for (size_t i = 0; cs && i < cs->n; i++)
		json_array_append_new(changes, json_pack("{s:s, s:s}", "kind",
			gitwatch_change_kind_name(cs->changes[i].kind), "path",
			change_path(&cs->changes[i])));
	for (size_t e = 0; e < plan->n; e++) {
		const struct builder_spec *s = &index->specs[plan->entries[e].spec];
		json_array_append_new(rebuild, json_pack("{s:s, s:s?, s:s, s:s, s:b}", "spec", s->path,
			"name", s->name, "reason", plan->entries[e].reason, "why",
			why_name(plan->entries[e].why), "cycle", plan->entries[e].in_cycle));
	}
	for (size_t i = 0; i < graph->nspecs; i++)
		if (graph->nodes[i].unresolved.n)
			json_object_set_new(unresolved, index->specs[i].path,
					    strv_json(&graph->nodes[i].unresolved));
	json_object_set_new(doc, "changes", changes);
	json_object_set_new(doc, "specs", json_integer((json_int_t)index->nspecs));
	json_object_set_new(doc, "rebuild", rebuild);
	json_object_set_new(doc, "unresolved", unresolved);
	json_object_set_new(doc, "cycles", strv_json(&plan->cycles));
	json_object_set_new(doc, "broken", strv_json(&plan->broken_specs));
	json_object_set_new(doc, "removed", strv_json(&plan->removed_specs));
	json_object_set_new(doc, "changed_images", strv_json(&plan->changed_images));
	json_dumpf(doc, out, JSON_INDENT(2));
	fputc('\n', out);
	json_decref(doc);
}

static void print_text(FILE *out, const struct builder_index *index,
		       const struct builder_graph *graph, const struct builder_plan *plan,
		       const struct gitwatch_changeset *cs)
{
	fprintf(out, "changeset %.12s..%.12s: %zu files, %zu specs changed, %zu specs read\n",
		cs && *cs->from ? cs->from : "(empty)", index->commit, cs ? cs->n : 0,
		plan->changed_specs.n, index->nspecs);
	for (size_t i = 0; cs && i < cs->n; i++)
		fprintf(out, "  %-8s %s\n", gitwatch_change_kind_name(cs->changes[i].kind),
			change_path(&cs->changes[i]));
	fprintf(out, "rebuild set: %zu specs\n", plan->n);
	for (size_t e = 0; e < plan->n; e++) {
		const struct builder_spec *s = &index->specs[plan->entries[e].spec];
		const char *base = strrchr(s->path, '/');
		fprintf(out, "  %-24.*s %s%s\n", (int)strlen(base + 1) - 5, base + 1,
			plan->entries[e].reason,
			plan->entries[e].in_cycle ? " [cycle]" : "");
	}
	for (size_t i = 0; i < plan->removed_specs.n; i++)
		fprintf(out, "removed: %s (its packages leave the repository)\n",
			plan->removed_specs.items[i]);
	size_t nunresolved = 0;
	for (size_t i = 0; i < graph->nspecs; i++)
		nunresolved += graph->nodes[i].unresolved.n != 0;
	if (nunresolved)
		fprintf(out, "unresolved BuildRequires (%zu specs):\n", nunresolved);
	for (size_t i = 0; i < graph->nspecs; i++) {
		const struct sy_strv *u = &graph->nodes[i].unresolved;
		if (!u->n)
			continue;
		fprintf(out, "  %s:", index->specs[i].name);
		for (size_t k = 0; k < u->n; k++)
			fprintf(out, "%s %s", k ? "," : "", u->items[k]);
		fputc('\n', out);
	}
	for (size_t i = 0; i < plan->cycles.n; i++)
		fprintf(out, "cycle: %s\n", plan->cycles.items[i]);
	for (size_t i = 0; i < plan->broken_specs.n; i++)
		fprintf(out, "broken: %s\n", plan->broken_specs.items[i]);
}

void service_plan_print(FILE *out, const struct builder_index *index,
			const struct builder_graph *graph, const struct builder_plan *plan,
			const struct gitwatch_changeset *changes, int json)
{
	if (json)
		print_json(out, index, graph, plan, changes);
	else
		print_text(out, index, graph, plan, changes);
	fflush(out);
}
