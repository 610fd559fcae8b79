#include "planner/analyzeprint.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "planner/buildkey.h"

/* Rows to show of a report of n. */
static size_t shown(const struct planner_analysis_view *v, size_t n)
{
	return v->max_results && v->max_results < n ? v->max_results : n;
}

static json_t *strv_json(const struct sy_strv *v)
{
	json_t *a = json_array();

	for (size_t i = 0; i < v->n; i++)
		json_array_append_new(a, json_string(v->items[i]));
	return a;
}

/* {"spec": id, "path": path} of spec i. */
static json_t *spec_json(const struct planner_index *index, size_t i)
{
	char *id = planner_spec_id(&index->specs[i]);
	json_t *o = json_pack("{s:s, s:s}", "spec", id, "path", index->specs[i].path);

	free(id);
	return o;
}

static json_t *report_json(size_t total, json_t *top)
{
	return json_pack("{s:I, s:o}", "total", (json_int_t)total, "top", top);
}

static json_t *unresolved_json(const struct planner_analysis *a, const struct planner_analysis_view *v)
{
	json_t *top = json_array();

	for (size_t k = 0; k < shown(v, a->nunresolved); k++) {
		const struct planner_analysis_capability *c = &a->unresolved[k];
		json_array_append_new(top, json_pack("{s:s, s:I, s:o, s:o}", "capability",
			c->capability, "blocked", (json_int_t)c->blocked, "build_referrers",
			strv_json(&c->build_referrers), "runtime_referrers",
			strv_json(&c->runtime_referrers)));
	}
	return report_json(a->nunresolved, top);
}

/* The members of a cycle "a -> b -> a", as ["a", "b"]. */
static json_t *cycle_json(const char *text)
{
	json_t *members = json_array();
	const char *at = text;

	for (;;) {
		const char *arrow = strstr(at, " -> ");
		size_t len = arrow ? (size_t)(arrow - at) : strlen(at);
		char *name = sy_xstrndup(at, len);
		if (json_array_size(members) && !arrow) {
			free(name); /* the first member again, closing the cycle */
			break;
		}
		json_array_append_new(members, json_string(name));
		free(name);
		if (!arrow)
			break;
		at = arrow + 4;
	}
	return members;
}

static int print_json(FILE *out, const struct planner_index *index, const struct planner_analysis *a,
		      const struct planner_analysis_view *v)
{
	json_t *closest = json_array(), *blockers = json_array(), *cycles = json_array();

	for (size_t k = 0; k < shown(v, a->nstuck); k++) {
		json_t *o = spec_json(index, a->stuck[k].spec);
		json_object_set_new(o, "causes", strv_json(&a->stuck[k].causes));
		json_array_append_new(closest, o);
	}
	for (size_t k = 0; k < shown(v, a->nblockers); k++) {
		json_t *o = spec_json(index, a->blockers[k].spec);
		json_object_set_new(o, "blocks", json_integer((json_int_t)a->blockers[k].blocks));
		json_array_append_new(blockers, o);
	}
	for (size_t k = 0; k < a->cycles.n; k++)
		json_array_append_new(cycles, cycle_json(a->cycles.items[k]));
	json_t *doc = json_pack("{s:o, s:I, s:I, s:o, s:o, s:o, s:o}", "commit",
				v->commit ? json_string(v->commit) : json_null(), "specs",
				(json_int_t)a->nspecs, "buildable", (json_int_t)a->buildable,
				"unresolved", unresolved_json(a, v), "closest",
				report_json(a->nstuck, closest), "blockers",
				report_json(a->nblockers, blockers), "cycles", cycles);
	int rc = json_dumpf(doc, out, JSON_INDENT(2));
	fputc('\n', out);
	json_decref(doc);
	return rc;
}

static void print_unresolved(FILE *out, const struct planner_analysis *a,
			     const struct planner_analysis_view *v)
{
	fprintf(out, "\nunresolved capabilities (%zu), most blocking first:\n", a->nunresolved);
	for (size_t k = 0; k < shown(v, a->nunresolved); k++) {
		const struct planner_analysis_capability *c = &a->unresolved[k];
		char *build = sy_strv_join(&c->build_referrers, ", ");
		char *runtime = sy_strv_join(&c->runtime_referrers, ", ");
		fprintf(out, "  %s: blocks %zu%s%s%s%s\n", c->capability, c->blocked,
			c->build_referrers.n ? "; BuildRequires of " : "", build,
			c->runtime_referrers.n ? "; Requires of " : "", runtime);
		free(build);
		free(runtime);
	}
}

static void print_text(FILE *out, const struct planner_index *index, const struct planner_analysis *a,
		       const struct planner_analysis_view *v)
{
	fprintf(out, "analysis of %.12s: %zu specs, %zu buildable, %zu blocked, %zu cycles\n",
		v->commit ? v->commit : "?", a->nspecs, a->buildable, a->nstuck, a->cycles.n);
	print_unresolved(out, a, v);
	fprintf(out, "\nclosest to buildable (%zu blocked), fewest causes first:\n", a->nstuck);
	for (size_t k = 0; k < shown(v, a->nstuck); k++) {
		char *id = planner_spec_id(&index->specs[a->stuck[k].spec]);
		char *causes = sy_strv_join(&a->stuck[k].causes, ", ");
		fprintf(out, "  %-24s %zu: %s\n", id, a->stuck[k].causes.n, causes);
		free(causes);
		free(id);
	}
	fprintf(out, "\ntop blockers (%zu), what their failure or absence blocks:\n", a->nblockers);
	for (size_t k = 0; k < shown(v, a->nblockers); k++) {
		char *id = planner_spec_id(&index->specs[a->blockers[k].spec]);
		fprintf(out, "  %-24s blocks %zu\n", id, a->blockers[k].blocks);
		free(id);
	}
	fprintf(out, "\ncycles (%zu):\n", a->cycles.n);
	for (size_t k = 0; k < a->cycles.n; k++)
		fprintf(out, "  %s\n", a->cycles.items[k]);
}

int planner_analysis_print(FILE *out, const struct planner_index *index,
			   const struct planner_analysis *a, const struct planner_analysis_view *view)
{
	if (view->json) {
		if (print_json(out, index, a, view))
			return -1;
	} else {
		print_text(out, index, a, view);
	}
	return fflush(out) || ferror(out) ? -1 : 0;
}
