#include "cli/depsearch_cmd.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "planner/distro.h"
#include "planner/index.h"
#include "common/log.h"
#include "gitwatch/repo.h"
#include "repo-publish/publish.h"

const char cli_depsearch_usage[] =
	"usage: shipyard depsearch --repo DIR [--rev REV] --specs A,B | --packages x,y\n"
	"                          [--reverse] [--max-depth N] [--build-only | --runtime-only]\n"
	"                          [--format text|json|dot] [--tree] [--state DIR]\n"
	"\n"
	"Lists the specs that depend on the given specs or binary packages (what a\n"
	"change to them can affect), or with --reverse the specs they need, at one\n"
	"commit, as the Azure Linux toolkit's depsearch does. Spec A needs spec B\n"
	"when A BuildRequires a package of B (build edge) or a package of A\n"
	"Requires a package of B (runtime edge); the search follows these edges\n"
	"transitively. Packages are searched through the specs that build them.\n"
	"\n"
	"  --repo DIR        distribution git repository (Azure Linux layout)\n"
	"  --rev REV         commit to read (default HEAD)\n"
	"  --specs A,B       specs by file name without .spec (golang-1.25)\n"
	"  --packages x,y    binary package names (zlib-devel); unknown: exit 2\n"
	"  --reverse         what the given specs need instead of what needs them\n"
	"  --max-depth N     at most N edges from a given spec (0: only them)\n"
	"  --build-only      follow only BuildRequires edges, at every level\n"
	"  --runtime-only    follow only Requires edges, at every level\n"
	"  --format FORMAT   text (default): spec names, sorted, given specs\n"
	"                    included; json: {\"query\", \"specs\": [{\"spec\", \"path\",\n"
	"                    \"depth\", \"via\", \"reason\"}]}; dot: Graphviz digraph\n"
	"                    of the found specs (edges point at what is needed)\n"
	"  --tree            text as an indented tree, each spec once, with the\n"
	"                    edge that brought it in (\"libssh2 (BuildRequires zlib-devel)\")\n"
	"  --state DIR       state directory: spec cache, published repository\n"
	"                    whose generated Provides resolve BuildRequires, as in\n"
	"                    `shipyard plan` (default ./.shipyard)\n"
	"  --channel NAME    repository channel (default: HEAD's branch)\n"
	"  --arch ARCH       target arch (default x86_64)\n"
	"  --jobs N          parallel spec readers (default: cores)\n"
	"\n"
	"Exit status: 0 done, 2 usage or set-up error or unknown names.\n";

struct depsearch_opts {
	const char *repo_path;
	const char *rev;
	const char *state_dir;
	const char *arch;
	const char *channel;
	int jobs;
	struct sy_strv names;
	int packages;    /* -1 unset, 0 --specs, 1 --packages */
	int tree;
	int json, dot;
	struct planner_depsearch_query query;
};

enum { OPT_REPO = 256, OPT_REV, OPT_SPECS, OPT_PACKAGES, OPT_REVERSE, OPT_MAX_DEPTH,
       OPT_BUILD_ONLY, OPT_RUNTIME_ONLY, OPT_FORMAT, OPT_TREE, OPT_STATE, OPT_CHANNEL, OPT_ARCH,
       OPT_JOBS, OPT_HELP };

static const struct option depsearch_options[] = {
	{ "repo", required_argument, NULL, OPT_REPO },
	{ "rev", required_argument, NULL, OPT_REV },
	{ "specs", required_argument, NULL, OPT_SPECS },
	{ "packages", required_argument, NULL, OPT_PACKAGES },
	{ "reverse", no_argument, NULL, OPT_REVERSE },
	{ "max-depth", required_argument, NULL, OPT_MAX_DEPTH },
	{ "build-only", no_argument, NULL, OPT_BUILD_ONLY },
	{ "runtime-only", no_argument, NULL, OPT_RUNTIME_ONLY },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "tree", no_argument, NULL, OPT_TREE },
	{ "state", required_argument, NULL, OPT_STATE },
	{ "channel", required_argument, NULL, OPT_CHANNEL },
	{ "arch", required_argument, NULL, OPT_ARCH },
	{ "jobs", required_argument, NULL, OPT_JOBS },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static int usage_error(const char *msg)
{
	fprintf(stderr, "shipyard: depsearch: %s\n", msg);
	fputs(cli_depsearch_usage, stderr);
	return -1;
}

/* Appends the names of a comma- or space-separated list. */
static void split_names(const char *list, struct sy_strv *names)
{
	char *copy = sy_xstrdup(list), *save = NULL;

	for (char *t = strtok_r(copy, ", \t\n", &save); t; t = strtok_r(NULL, ", \t\n", &save))
		sy_strv_push(names, t);
	free(copy);
}

static int set_names(struct depsearch_opts *o, const char *list, int packages)
{
	if (o->packages >= 0 && o->packages != packages)
		return usage_error("give either --specs or --packages, not both");
	o->packages = packages;
	split_names(list, &o->names);
	return 0;
}

static int set_format(struct depsearch_opts *o, const char *format)
{
	o->json = !strcmp(format, "json");
	o->dot = !strcmp(format, "dot");
	if (!o->json && !o->dot && strcmp(format, "text"))
		return usage_error("--format must be text, json or dot");
	return 0;
}

static int set_max_depth(struct depsearch_opts *o, const char *text)
{
	char *end;
	long n = strtol(text, &end, 10);

	if (!*text || *end || n < 0)
		return usage_error("--max-depth must be a number >= 0");
	o->query.max_depth = n;
	return 0;
}

static int set_edges(struct depsearch_opts *o, enum planner_depsearch_edges edges)
{
	if (o->query.edges != PLANNER_DEPSEARCH_ALL && o->query.edges != edges)
		return usage_error("--build-only and --runtime-only exclude each other");
	o->query.edges = edges;
	return 0;
}

static int parse_option(struct depsearch_opts *o, int c)
{
	switch (c) {
	case OPT_REPO: o->repo_path = optarg; return 0;
	case OPT_REV: o->rev = optarg; return 0;
	case OPT_SPECS: return set_names(o, optarg, 0);
	case OPT_PACKAGES: return set_names(o, optarg, 1);
	case OPT_REVERSE: o->query.direction = PLANNER_DEPSEARCH_DEPENDENCIES; return 0;
	case OPT_MAX_DEPTH: return set_max_depth(o, optarg);
	case OPT_BUILD_ONLY: return set_edges(o, PLANNER_DEPSEARCH_BUILD);
	case OPT_RUNTIME_ONLY: return set_edges(o, PLANNER_DEPSEARCH_RUNTIME);
	case OPT_FORMAT: return set_format(o, optarg);
	case OPT_TREE: o->tree = 1; return 0;
	case OPT_STATE: o->state_dir = optarg; return 0;
	case OPT_CHANNEL: o->channel = optarg; return 0;
	case OPT_ARCH: o->arch = optarg; return 0;
	case OPT_JOBS: o->jobs = atoi(optarg); return 0;
	case OPT_HELP: fputs(cli_depsearch_usage, stdout); return 1;
	default: fputs(cli_depsearch_usage, stderr); return -1;
	}
}

/* Returns -1 on a usage error, 1 when help was printed, 0 otherwise. */
static int parse_options(int argc, char **argv, struct depsearch_opts *o)
{
	int c, rc;

	o->rev = "HEAD";
	o->state_dir = ".shipyard";
	o->packages = -1;
	o->query.max_depth = -1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", depsearch_options, NULL)) != -1)
		if ((rc = parse_option(o, c)) != 0)
			return rc;
	if (optind < argc)
		return usage_error("unexpected argument");
	if (!o->repo_path)
		return usage_error("--repo is required");
	if (o->packages < 0 || !o->names.n)
		return usage_error("--specs or --packages is required");
	if (o->tree && (o->json || o->dot))
		return usage_error("--tree is a text format; it does not combine with json or dot");
	return 0;
}

/* The commit's spec index and dependency graph, read as the pipeline's plan
 * stage reads them (pipeline/pipeline.c). */
struct loaded {
	struct gitwatch_repo *repo;
	char commit[GITWATCH_OID_HEX + 1];
	struct planner_distro distro;
	struct planner_index index;
	struct planner_graph graph;
};

/* The channel's current published snapshot, whose packages' generated
 * Provides (sonames, pkgconfig(...)) the graph learns, as the pipeline's
 * load_view does; NULL when nothing is published (caller frees). */
static char *published_repo(const struct depsearch_opts *o, const struct loaded *l)
{
	char *channel = o->channel ? sy_xstrdup(o->channel) : gitwatch_head_branch(l->repo);
	char *repos = sy_xasprintf("%s/repos", o->state_dir);
	char *dir = channel ? repo_publish_current_path(repos, channel) : NULL;

	free(repos);
	free(channel);
	return dir;
}

static int load(const struct depsearch_opts *o, struct loaded *l, struct sy_error *err)
{
	struct planner_macro_settings settings;
	/* The toolchain only satisfies BuildRequires that no spec provides, so it
	 * never makes a spec-level edge: an empty one gives the same search
	 * without reading the worker manifest. */
	struct sy_strv toolchain = SY_STRV_INIT;
	char *tmp = sy_xasprintf("%s/tmp", o->state_dir);
	char *cache = sy_xasprintf("%s/state.db", o->state_dir);
	char *learn = NULL;
	int rc = -1;

	if (gitwatch_repo_open(o->repo_path, &l->repo, err) ||
	    gitwatch_resolve(l->repo, o->rev, l->commit, err))
		goto out;
	if (planner_distro_load(l->repo, l->commit, tmp, &l->distro, err))
		goto out;
	planner_distro_macro_settings(&l->distro, o->arch, &settings);
	if (planner_index_load(l->repo, l->commit, &settings, tmp, cache, o->jobs, &l->index, err))
		goto out;
	learn = published_repo(o, l);
	rc = planner_graph_build(l->index.specs, l->index.nspecs, &toolchain, o->arch, learn,
				 &l->graph, err);
out:
	free(learn);
	free(cache);
	free(tmp);
	return rc;
}

static void loaded_release(struct loaded *l)
{
	planner_graph_release(&l->graph);
	planner_index_release(&l->index);
	planner_distro_release(&l->distro);
	gitwatch_repo_free(l->repo);
}

/* Searched specs the graph holds no edges for are found alone: say why. */
static void warn_broken(const struct loaded *l, const size_t *start, size_t nstart)
{
	for (size_t k = 0; k < nstart; k++) {
		const struct planner_spec *s = &l->index.specs[start[k]];
		if (s->error)
			sy_log_warn("%s does not parse, so it has no dependency edges: %s", s->path,
				    s->error);
		else if (s->excluded)
			sy_log_warn("%s is not built for this arch, so it has no dependency edges: %s",
				    s->path, s->excluded);
	}
}

static int search_and_print(const struct depsearch_opts *o, struct loaded *l,
			    struct sy_error *err)
{
	struct planner_depsearch_query q = o->query;
	struct planner_depsearch_result result = { 0 };
	size_t *start = NULL, nstart = 0;
	int rc = -1;

	if (planner_depsearch_resolve(l->index.specs, l->index.nspecs, &o->names, o->packages,
				      &start, &nstart, err))
		goto out;
	warn_broken(l, start, nstart);
	q.start = start;
	q.nstart = nstart;
	if (planner_depsearch_run(&l->graph, &q, &result, err))
		goto out;
	struct cli_depsearch_view view = {
		.commit = l->commit, .names = &o->names, .packages = o->packages, .query = &q,
		.format = o->json ? CLI_DEPSEARCH_JSON : o->dot ? CLI_DEPSEARCH_DOT
			: o->tree ? CLI_DEPSEARCH_TREE : CLI_DEPSEARCH_LIST,
	};
	rc = cli_depsearch_print(stdout, &l->graph, &result, &view);
	if (rc)
		sy_error_set(err, "depsearch: writing the result failed");
out:
	planner_depsearch_result_release(&result);
	free(start);
	return rc;
}

int cli_depsearch_command(int argc, char **argv)
{
	struct depsearch_opts o;
	struct loaded l;
	struct sy_error err = { { 0 } };
	int rc;

	memset(&o, 0, sizeof(o));
	memset(&l, 0, sizeof(l));
	rc = parse_options(argc, argv, &o);
	if (rc == 0) {
		rc = load(&o, &l, &err) || search_and_print(&o, &l, &err) ? -1 : 0;
		if (rc)
			sy_log_error("%s", err.msg);
		loaded_release(&l);
	}
	sy_strv_release(&o.names);
	return rc < 0 ? 2 : 0;
}

/* Printing. */

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

static json_t *query_json(const struct cli_depsearch_view *view)
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
		      const struct cli_depsearch_view *view)
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
		      const struct cli_depsearch_view *view)
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

int cli_depsearch_print(FILE *out, const struct planner_graph *graph,
			    const struct planner_depsearch_result *result,
			    const struct cli_depsearch_view *view)
{
	struct named_hit *v = named_sorted(graph, result);
	int rc = 0;

	switch (view->format) {
	case CLI_DEPSEARCH_LIST: print_list(out, v, result->n); break;
	case CLI_DEPSEARCH_TREE: print_tree(out, result, v); break;
	case CLI_DEPSEARCH_JSON: rc = print_json(out, graph, result, v, view); break;
	case CLI_DEPSEARCH_DOT: print_dot(out, graph, result, v, view); break;
	}
	named_free(v, result->n);
	if (fflush(out) || ferror(out))
		rc = -1;
	return rc;
}
