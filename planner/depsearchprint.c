#include "planner/depsearchprint.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

struct named_hit {
	char *name;
	const struct planner_depsearch_hit *hit;
	const char *path;
};

static int named_cmp(const void *a, const void *b)
{
	const struct named_hit *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->path, y->path);
}

/* The hits with their search names, sorted by name then path (caller frees
 * with named_free). */
static struct named_hit *named_sorted(const struct planner_graph *g,
				      const struct planner_depsearch_result *r)
{
	struct named_hit *v = sy_xcalloc(r->n + 1, sizeof(*v));

	for (size_t i = 0; i < r->n; i++) {
		const struct planner_spec *s = &g->specs[r->hits[i].spec];
		v[i] = (struct named_hit){ planner_depsearch_spec_name(s), &r->hits[i], s->path };
	}
	qsort(v, r->n, sizeof(*v), named_cmp);
	return v;
}

static void named_free(struct named_hit *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

static void print_list(FILE *out, const struct named_hit *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(v[i].name, v[i - 1].name))
			fprintf(out, "%s\n", v[i].name);
}

static void print_subtree(FILE *out, const struct planner_depsearch_result *r,
			  const struct named_hit *v, size_t i, size_t level)
{
	const struct planner_depsearch_hit *h = v[i].hit;

	fprintf(out, "%*s%s", (int)(2 * level), "", v[i].name);
	if (h->reason)
		fprintf(out, " (%s)", h->reason);
	fputc('\n', out);
	for (size_t k = 0; k < r->n; k++)
		if (v[k].hit->via == (long)h->spec)
			print_subtree(out, r, v, k, level + 1);
}

static void print_tree(FILE *out, const struct planner_depsearch_result *r,
		       const struct named_hit *v)
{
	for (size_t i = 0; i < r->n; i++)
		if (v[i].hit->via < 0)
			print_subtree(out, r, v, i, 0);
}

static const char *edges_name(enum planner_depsearch_edges e)
{
	return e == PLANNER_DEPSEARCH_BUILD ? "build" : e == PLANNER_DEPSEARCH_RUNTIME ? "runtime"
										: "all";
}

static json_t *query_json(const struct planner_depsearch_view *view)
{
	json_t *q = json_object(), *names = json_array();

	for (size_t i = 0; i < view->names->n; i++)
		json_array_append_new(names, json_string(view->names->items[i]));
	json_object_set_new(q, "commit", view->commit ? json_string(view->commit) : json_null());
	json_object_set_new(q, view->packages ? "packages" : "specs", names);
	json_object_set_new(q, "direction", json_string(view->query->direction ==
		PLANNER_DEPSEARCH_DEPENDENTS ? "dependents" : "dependencies"));
	json_object_set_new(q, "edges", json_string(edges_name(view->query->edges)));
	json_object_set_new(q, "max_depth", view->query->max_depth < 0 ? json_null()
		: json_integer((json_int_t)view->query->max_depth));
	return q;
}

static int print_json(FILE *out, const struct planner_graph *g,
		      const struct planner_depsearch_result *r, const struct named_hit *v,
		      const struct planner_depsearch_view *view)
{
	json_t *doc = json_object(), *specs = json_array();
	int rc;

	json_object_set_new(doc, "query", query_json(view));
	for (size_t i = 0; i < r->n; i++) {
		const struct planner_depsearch_hit *h = v[i].hit;
		char *via = h->via < 0 ? NULL : planner_depsearch_spec_name(&g->specs[h->via]);
		json_array_append_new(specs, json_pack("{s:s, s:s, s:I, s:s?, s:s?}",
			"spec", v[i].name, "path", v[i].path, "depth", (json_int_t)h->depth,
			"via", via, "reason", h->reason));
		free(via);
	}
	json_object_set_new(doc, "specs", specs);
	rc = json_dumpf(doc, out, JSON_INDENT(2));
	fputc('\n', out);
	json_decref(doc);
	return rc;
}

/* Writes s as a DOT double-quoted string ("\"" and "\\" escaped). */
static void dot_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

static void dot_edges(FILE *out, const struct planner_graph *g,
		      const struct planner_depsearch_result *r, enum planner_depsearch_edges sel,
		      size_t a, enum planner_depsearch_kind kind)
{
	const struct planner_graph_node *n = &g->nodes[a];
	int build = kind == PLANNER_DEPSEARCH_EDGE_BUILD;
	size_t count = build ? n->nbuild_deps : n->nrun_deps;

	if (!planner_depsearch_follows(sel, kind))
		return;
	for (size_t k = 0; k < count; k++) {
		size_t b = build ? n->build_deps[k] : n->run_deps[k];
		if (r->hit_of[b] < 0)
			continue;
		char *from = planner_depsearch_spec_name(&g->specs[a]);
		char *to = planner_depsearch_spec_name(&g->specs[b]);
		char *why = build ? planner_graph_build_reason(g, a, k)
				  : planner_graph_run_reason(g, a, k);
		char *label = build ? sy_xasprintf("BuildRequires %s", why) : sy_xstrdup(why);
		free(why);
		fputs("  ", out);
		dot_string(out, from);
		fputs(" -> ", out);
		dot_string(out, to);
		fputs(" [label=", out);
		dot_string(out, label);
		fputs(build ? "];\n" : ", style=dashed];\n", out);
		free(label);
		free(to);
		free(from);
	}
}

static void print_dot(FILE *out, const struct planner_graph *g,
		      const struct planner_depsearch_result *r, const struct named_hit *v,
		      const struct planner_depsearch_view *view)
{
	fputs("digraph \"depsearch\" {\n  node [shape=box];\n", out);
	for (size_t i = 0; i < r->n; i++) {
		fputs("  ", out);
		dot_string(out, v[i].name);
		fputs(v[i].hit->via < 0 ? " [style=bold];\n" : ";\n", out);
	}
	for (size_t i = 0; i < r->n; i++) {
		dot_edges(out, g, r, view->query->edges, v[i].hit->spec, PLANNER_DEPSEARCH_EDGE_BUILD);
		dot_edges(out, g, r, view->query->edges, v[i].hit->spec,
			  PLANNER_DEPSEARCH_EDGE_RUNTIME);
	}
	fputs("}\n", out);
}

int planner_depsearch_print(FILE *out, const struct planner_graph *graph,
			    const struct planner_depsearch_result *result,
			    const struct planner_depsearch_view *view)
{
	struct named_hit *v = named_sorted(graph, result);
	int rc = 0;

	switch (view->format) {
	case PLANNER_DEPSEARCH_LIST: print_list(out, v, result->n); break;
	case PLANNER_DEPSEARCH_TREE: print_tree(out, result, v); break;
	case PLANNER_DEPSEARCH_JSON: rc = print_json(out, graph, result, v, view); break;
	case PLANNER_DEPSEARCH_DOT: print_dot(out, graph, result, v, view); break;
	}
	named_free(v, result->n);
	if (fflush(out) || ferror(out))
		rc = -1;
	return rc;
}
