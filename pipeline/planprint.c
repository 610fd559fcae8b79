#include "pipeline/planprint.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "planner/buildkey.h"

static const char *why_name(enum planner_plan_why why)
{
	switch (why) {
	case PLANNER_PLAN_CHANGED: return "changed";
	case PLANNER_PLAN_DEPENDENCY: return "dependency";
	case PLANNER_PLAN_MISSING: return "missing";
	case PLANNER_PLAN_REQUESTED: return "requested";
	}
	return "?";
}

static const char *packages_name(enum planner_plan_packages packages)
{
	switch (packages) {
	case PLANNER_PACKAGES_ARTIFACT: return "artifact";
	case PLANNER_PACKAGES_PUBLISHED: return "published";
	case PLANNER_PACKAGES_NONE: break;
	}
	return "none";
}

static const char *change_path(const struct gitwatch_change *c)
{
	return c->new_path ? c->new_path : c->old_path;
}

static json_t *strv_json(const struct sy_strv *v)
{
	json_t *a = json_array();

	for (size_t i = 0; v && i < v->n; i++)
		json_array_append_new(a, json_string(v->items[i]));
	return a;
}

/* {"spec": id, "path": path} for spec i of the head. */
static json_t *spec_json(const struct pipeline_plan_view *v, size_t i)
{
	char *id = planner_spec_id(&v->head->specs[i]);
	json_t *o = json_pack("{s:s, s:s}", "spec", id, "path", v->head->specs[i].path);

	free(id);
	return o;
}

/* The specs of the rebuild set (in_plan) whose packages spec i
 * BuildRequires: the edges of the set's build graph. */
static json_t *needs_json(const struct pipeline_plan_view *v, size_t i, const unsigned char *in_plan)
{
	json_t *a = json_array();
	const struct planner_graph_node *node = v->graph ? &v->graph->nodes[i] : NULL;

	for (size_t k = 0; node && k < node->nbuild_deps; k++)
		if (in_plan[node->build_deps[k]]) {
			char *id = planner_spec_id(&v->head->specs[node->build_deps[k]]);
			json_array_append_new(a, json_string(id));
			free(id);
		}
	return a;
}

static json_t *specs_json(const struct pipeline_plan_view *v)
{
	json_t *changed = json_array(), *rebuild = json_array();
	const struct planner_plan *plan = v->plan;

	for (size_t c = 0; c < plan->nchanged; c++) {
		json_t *o = spec_json(v, plan->changed[c].spec);
		json_object_set_new(o, "reasons", strv_json(&plan->changed[c].reasons));
		json_array_append_new(changed, o);
	}
	unsigned char *in_plan = sy_xcalloc(v->head->nspecs + 1, 1);
	for (size_t e = 0; e < plan->n; e++)
		in_plan[plan->entries[e].spec] = 1;
	for (size_t e = 0; e < plan->n; e++) {
		json_t *o = spec_json(v, plan->entries[e].spec);
		json_object_set_new(o, "why", json_string(why_name(plan->entries[e].why)));
		json_object_set_new(o, "needs", needs_json(v, plan->entries[e].spec, in_plan));
		json_object_set_new(o, "reasons", json_pack("[s]", plan->entries[e].reason));
		if (plan->entries[e].in_cycle)
			json_object_set_new(o, "cycle", json_true());
		if (plan->entries[e].forced)
			json_object_set_new(o, "forced", json_true());
		if (plan->entries[e].blocked) {
			char *id = planner_spec_id(&v->head->specs[plan->entries[e].blocker]);
			json_object_set_new(o, "blocked_by", json_string(id));
			free(id);
		}
		json_array_append_new(rebuild, o);
	}
	free(in_plan);
	return json_pack("{s:o, s:o}", "changed", changed, "rebuild", rebuild);
}

static json_t *problems_json(const struct pipeline_plan_view *v)
{
	json_t *unresolved = json_array(), *excluded = json_array(), *broken = json_array();
	json_t *cycles = json_array(), *removed = json_array(), *ignored = json_array();
	const struct planner_plan *plan = v->plan;

	for (size_t i = 0; i < v->head->nspecs; i++) {
		const struct planner_spec *s = &v->head->specs[i];
		char *id = planner_spec_id(s);
		for (size_t k = 0; k < v->graph->nodes[i].unresolved.n; k++)
			json_array_append_new(unresolved, json_pack("{s:s, s:s}", "spec", id,
				"dependency", v->graph->nodes[i].unresolved.items[k]));
		if (s->excluded)
			json_array_append_new(excluded, json_pack("{s:s, s:s}", "spec", id, "reason",
								  s->excluded));
		if (s->error)
			json_array_append_new(broken, json_pack("{s:s, s:s, s:s}", "spec", id, "path",
								s->path, "error", s->error));
		free(id);
	}
	for (size_t c = 0; c < plan->ncycles; c++)
		json_array_append_new(cycles, strv_json(&plan->cycles[c].members));
	for (size_t k = 0; k < plan->nignored; k++) {
		json_t *o = spec_json(v, plan->ignored[k].spec);
		json_object_set_new(o, "packages", json_string(packages_name(plan->ignored[k].packages)));
		json_object_set_new(o, "dependents", strv_json(&plan->ignored[k].dependents));
		json_array_append_new(ignored, o);
	}
	for (size_t r = 0; r < plan->nremoved; r++)
		json_array_append_new(removed, json_pack("{s:s, s:s, s:o}", "spec", plan->removed[r].spec,
			"path", plan->removed[r].path, "packages", strv_json(&plan->removed[r].packages)));
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "unresolved", unresolved, "excluded",
			 excluded, "broken", broken, "cycles", cycles, "removed", removed, "ignored",
			 ignored);
}

static const char *cause_kind_name(enum planner_cascade_kind kind)
{
	switch (kind) {
	case PLANNER_CASCADE_GLOBAL: return "global";
	case PLANNER_CASCADE_SPEC: return "spec";
	case PLANNER_CASCADE_MISSING: return "missing";
	}
	return "?";
}

/* A cause as people read it: the spec id, "global inputs" or "missing
 * artifacts". */
static char *cause_name(const struct pipeline_plan_view *v, const struct planner_cascade_cause *c)
{
	switch (c->kind) {
	case PLANNER_CASCADE_SPEC: return planner_spec_id(&v->head->specs[c->spec]);
	case PLANNER_CASCADE_GLOBAL: return sy_xstrdup("global inputs");
	case PLANNER_CASCADE_MISSING: break;
	}
	return sy_xstrdup("missing artifacts");
}

static json_t *approval_json(const struct pipeline_plan_view *v)
{
	const struct planner_cascade *c = v->cascade;
	json_t *causes = json_array();

	for (size_t k = 0; k < c->ncauses; k++) {
		json_t *o = json_pack("{s:s, s:I}", "cause", cause_kind_name(c->causes[k].kind),
				      "count", (json_int_t)c->causes[k].count);
		if (c->causes[k].kind == PLANNER_CASCADE_SPEC) {
			char *id = cause_name(v, &c->causes[k]);
			json_object_set_new(o, "spec", json_string(id));
			free(id);
		}
		json_array_append_new(causes, o);
	}
	return json_pack("{s:I, s:I, s:b, s:b, s:o}", "limit", (json_int_t)c->limit, "to_build",
			 (json_int_t)c->to_build, "needed", c->needs_approval, "approved",
			 v->approved, "causes", causes);
}

static void print_json(FILE *out, const struct pipeline_plan_view *v)
{
	json_t *doc = json_object(), *files = json_array();
	const struct gitwatch_changeset *cs = v->changes;

	json_object_set_new(doc, "from", v->base ? json_string(v->base) : json_null());
	json_object_set_new(doc, "to", json_string(v->head->commit));
	json_object_set_new(doc, "goal", json_boolean(v->goal));
	json_object_set_new(doc, "specs", json_integer((json_int_t)v->head->nspecs));
	for (size_t i = 0; cs && i < cs->n; i++)
		json_array_append_new(files, json_pack("{s:s, s:s}", "kind",
			gitwatch_change_kind_name(cs->changes[i].kind), "path", change_path(&cs->changes[i])));
	json_object_set_new(doc, "files", files);
	json_t *s = specs_json(v), *p = problems_json(v);
	json_object_update(doc, s);
	json_object_update(doc, p);
	json_decref(s);
	json_decref(p);
	json_object_set_new(doc, "images", strv_json(v->images));
	json_object_set_new(doc, "global", strv_json(v->global));
	if (v->cascade && v->cascade->limit)
		json_object_set_new(doc, "approval", approval_json(v));
	json_dumpf(doc, out, JSON_INDENT(2));
	fputc('\n', out);
	json_decref(doc);
}

static void print_id_line(FILE *out, const struct planner_spec *s, const char *text)
{
	char *id = planner_spec_id(s);

	fprintf(out, "  %-24s %s\n", id, text);
	free(id);
}

static void print_unresolved(FILE *out, const struct pipeline_plan_view *v)
{
	size_t n = 0;

	for (size_t i = 0; i < v->graph->nspecs; i++)
		n += v->graph->nodes[i].unresolved.n != 0;
	if (n)
		fprintf(out, "unresolved BuildRequires (%zu specs):\n", n);
	for (size_t i = 0; i < v->graph->nspecs; i++) {
		const struct sy_strv *u = &v->graph->nodes[i].unresolved;
		if (!u->n)
			continue;
		char *id = planner_spec_id(&v->head->specs[i]);
		fprintf(out, "  %s:", id);
		for (size_t k = 0; k < u->n; k++)
			fprintf(out, "%s %s", k ? "," : "", u->items[k]);
		fputc('\n', out);
		free(id);
	}
}

/* An ignored spec and what it means for the specs that need it, as the
 * toolkit's PACKAGE_IGNORE_LIST would leave them. */
static void print_ignored(FILE *out, const struct pipeline_plan_view *v,
			  const struct planner_plan_ignored *ig)
{
	char *id = planner_spec_id(&v->head->specs[ig->spec]);
	char *who = sy_strv_join(&ig->dependents, ", ");

	if (!ig->dependents.n)
		fprintf(out, "ignored: %s: not built; no spec of the plan needs it\n", id);
	else if (ig->packages == PLANNER_PACKAGES_NONE)
		fprintf(out, "ignored: %s: not built; none of its packages exist, so %s %s blocked\n",
			id, who, ig->dependents.n == 1 ? "is" : "are");
	else if (ig->packages == PLANNER_PACKAGES_ARTIFACT)
		fprintf(out, "ignored: %s: not built; %s build%s with the artifact of its build key\n",
			id, who, ig->dependents.n == 1 ? "s" : "");
	else
		fprintf(out, "ignored: %s: not built; %s build%s with its published packages, an "
			"earlier build (kept apart from builds of the current keys)\n", id, who,
			ig->dependents.n == 1 ? "s" : "");
	free(who);
	free(id);
}

static void print_problems(FILE *out, const struct pipeline_plan_view *v)
{
	const struct planner_plan *plan = v->plan;

	for (size_t r = 0; r < plan->nremoved; r++) {
		fprintf(out, "removed: %s (%s): packages", plan->removed[r].spec, plan->removed[r].path);
		for (size_t k = 0; k < plan->removed[r].packages.n; k++)
			fprintf(out, "%s %s", k ? "," : "", plan->removed[r].packages.items[k]);
		fputc('\n', out);
	}
	for (size_t i = 0; v->images && i < v->images->n; i++)
		fprintf(out, "image: %s\n", v->images->items[i]);
	for (size_t i = 0; i < v->head->nspecs; i++)
		if (v->head->specs[i].excluded) {
			char *id = planner_spec_id(&v->head->specs[i]);
			fprintf(out, "excluded: %s: %s\n", id, v->head->specs[i].excluded);
			free(id);
		}
	print_unresolved(out, v);
	for (size_t c = 0; c < plan->ncycles; c++) {
		fputs("cycle:", out);
		for (size_t k = 0; k < plan->cycles[c].members.n; k++)
			fprintf(out, " %s%s", plan->cycles[c].members.items[k],
				k + 1 < plan->cycles[c].members.n ? " ->" : "");
		if (plan->cycles[c].broken_at)
			fprintf(out, " (broken at %s: built packages exist)\n", plan->cycles[c].broken_at);
		else
			fputs(" (cannot be broken: no member has built packages)\n", out);
	}
	for (size_t i = 0; i < plan->broken_specs.n; i++)
		fprintf(out, "broken: %s\n", plan->broken_specs.items[i]);
	for (size_t k = 0; k < plan->nignored; k++)
		print_ignored(out, v, &plan->ignored[k]);
}

char *pipeline_plan_cascade_line(const struct pipeline_plan_view *v, size_t top)
{
	const struct planner_cascade *c = v->cascade;
	struct sy_strv causes = SY_STRV_INIT;

	for (size_t k = 0; k < c->ncauses && k < top; k++) {
		char *name = cause_name(v, &c->causes[k]);
		sy_strv_pushf(&causes, "%s %zu", name, c->causes[k].count);
		free(name);
	}
	char *list = sy_strv_join(&causes, ", ");
	char *line = sy_xasprintf("%zu specs to build, over plan.maxrebuild %zu%s%s", c->to_build,
				  c->limit, causes.n ? "; biggest causes: " : "", list);
	free(list);
	sy_strv_release(&causes);
	return line;
}

/* The cascade guard's verdict, with the ten biggest causes. */
static void print_approval(FILE *out, const struct pipeline_plan_view *v)
{
	const struct planner_cascade *c = v->cascade;

	if (!c || !c->needs_approval)
		return;
	fprintf(out, "%s: %zu specs to build, over plan.maxrebuild %zu%s\n",
		v->approved ? "approved" : "approval needed", c->to_build, c->limit,
		v->approved ? " (--approve)" : "; nothing is built until a run with --approve");
	for (size_t k = 0; k < c->ncauses && k < 10; k++) {
		char *name = cause_name(v, &c->causes[k]);
		fprintf(out, "  %-24s pulls in %zu spec%s%s\n", name, c->causes[k].count,
			c->causes[k].count == 1 ? "" : "s",
			c->causes[k].kind == PLANNER_CASCADE_GLOBAL
				? " (macro context, arch or worker root changed)"
				: "");
		free(name);
	}
	if (c->ncauses > 10)
		fprintf(out, "  ... and %zu more causes\n", c->ncauses - 10);
}

static void print_text(FILE *out, const struct pipeline_plan_view *v)
{
	const struct gitwatch_changeset *cs = v->changes;
	const struct planner_plan *plan = v->plan;

	if (v->goal)
		fprintf(out, "goal plan at %.12s: %zu specs read\n", v->head->commit, v->head->nspecs);
	else
		fprintf(out, "changeset %.12s..%.12s: %zu files, %zu specs changed, %zu specs read\n",
			v->base ? v->base : "(empty)", v->head->commit, cs ? cs->n : 0,
			plan->nchanged, v->head->nspecs);
	for (size_t i = 0; !v->goal && cs && i < cs->n && i < 50; i++)
		fprintf(out, "  %-8s %s\n", gitwatch_change_kind_name(cs->changes[i].kind),
			change_path(&cs->changes[i]));
	if (!v->goal && cs && cs->n > 50)
		fprintf(out, "  ... and %zu more files\n", cs->n - 50);
	for (size_t i = 0; v->global && i < v->global->n; i++)
		fprintf(out, "global input changed: %s\n", v->global->items[i]);
	fprintf(out, "rebuild set: %zu specs\n", plan->n);
	for (size_t e = 0; e < plan->n; e++) {
		const struct planner_plan_entry *entry = &plan->entries[e];
		char *blocker = entry->blocked ? planner_spec_id(&v->head->specs[entry->blocker]) : NULL;
		char *text = sy_xasprintf("%s%s%s%s%s", entry->reason, entry->in_cycle ? " [cycle]" : "",
					  blocker ? " [blocked: needs ignored " : "", blocker ? blocker : "",
					  blocker ? "]" : "");
		free(blocker);
		print_id_line(out, &v->head->specs[plan->entries[e].spec], text);
		free(text);
	}
	print_problems(out, v);
	print_approval(out, v);
}

void pipeline_plan_print(FILE *out, const struct pipeline_plan_view *view, int json)
{
	if (json)
		print_json(out, view);
	else
		print_text(out, view);
	fflush(out);
}
