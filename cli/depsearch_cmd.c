#include "cli/depsearch_cmd.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "planner/depsearchprint.h"
#include "planner/commit.h"
#include "common/log.h"

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

enum { OPT_REV = CLI_OPT_OWN, OPT_SPECS, OPT_PACKAGES, OPT_REVERSE, OPT_MAX_DEPTH,
       OPT_BUILD_ONLY, OPT_RUNTIME_ONLY, OPT_FORMAT, OPT_TREE };

static const struct option depsearch_options[] = {
	CLI_REPOSITORY_OPTIONS,
	{ "rev", required_argument, NULL, OPT_REV },
	{ "specs", required_argument, NULL, OPT_SPECS },
	{ "packages", required_argument, NULL, OPT_PACKAGES },
	{ "reverse", no_argument, NULL, OPT_REVERSE },
	{ "max-depth", required_argument, NULL, OPT_MAX_DEPTH },
	{ "build-only", no_argument, NULL, OPT_BUILD_ONLY },
	{ "runtime-only", no_argument, NULL, OPT_RUNTIME_ONLY },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "tree", no_argument, NULL, OPT_TREE },
	{ NULL, 0, NULL, 0 },
};

static int usage_error(const char *msg)
{
	fprintf(stderr, "shipyard: depsearch: %s\n", msg);
	fputs(cli_depsearch_usage, stderr);
	return -1;
}

static int set_names(struct depsearch_opts *o, const char *list, int packages)
{
	if (o->packages >= 0 && o->packages != packages)
		return usage_error("give either --specs or --packages, not both");
	o->packages = packages;
	cli_split_list(list, &o->names);
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
	case CLI_OPT_REPO: o->repo_path = optarg; return 0;
	case OPT_REV: o->rev = optarg; return 0;
	case OPT_SPECS: return set_names(o, optarg, 0);
	case OPT_PACKAGES: return set_names(o, optarg, 1);
	case OPT_REVERSE: o->query.direction = PLANNER_DEPSEARCH_DEPENDENCIES; return 0;
	case OPT_MAX_DEPTH: return set_max_depth(o, optarg);
	case OPT_BUILD_ONLY: return set_edges(o, PLANNER_DEPSEARCH_BUILD);
	case OPT_RUNTIME_ONLY: return set_edges(o, PLANNER_DEPSEARCH_RUNTIME);
	case OPT_FORMAT: return set_format(o, optarg);
	case OPT_TREE: o->tree = 1; return 0;
	case CLI_OPT_STATE: o->state_dir = optarg; return 0;
	case CLI_OPT_CHANNEL: o->channel = optarg; return 0;
	case CLI_OPT_ARCH: o->arch = optarg; return 0;
	case CLI_OPT_JOBS: o->jobs = atoi(optarg); return 0;
	case CLI_OPT_HELP: fputs(cli_depsearch_usage, stdout); return 1;
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

/* Searched specs the graph holds no edges for are found alone: say why. */
static void warn_broken(const struct cli_commit *l, const size_t *start, size_t nstart)
{
	for (size_t k = 0; k < nstart; k++) {
		const struct planner_spec *s = &l->commit.index.specs[start[k]];
		if (s->error)
			sy_log_warn("%s does not parse, so it has no dependency edges: %s", s->path,
				    s->error);
		else if (s->excluded)
			sy_log_warn("%s is not built for this arch, so it has no dependency edges: %s",
				    s->path, s->excluded);
	}
}

static int search_and_print(const struct depsearch_opts *o, struct cli_commit *l,
			    struct sy_error *err)
{
	struct planner_depsearch_query q = o->query;
	struct planner_depsearch_result result = { 0 };
	size_t *start = NULL, nstart = 0;
	int rc = -1;

	if (planner_depsearch_resolve(l->commit.index.specs, l->commit.index.nspecs, &o->names, o->packages,
				      &start, &nstart, err))
		goto out;
	warn_broken(l, start, nstart);
	q.start = start;
	q.nstart = nstart;
	if (planner_depsearch_run(&l->commit.graph, &q, &result, err))
		goto out;
	struct planner_depsearch_view view = {
		.commit = l->commit.oid, .names = &o->names, .packages = o->packages, .query = &q,
		.format = o->json ? PLANNER_DEPSEARCH_JSON : o->dot ? PLANNER_DEPSEARCH_DOT
			: o->tree ? PLANNER_DEPSEARCH_TREE : PLANNER_DEPSEARCH_LIST,
	};
	rc = planner_depsearch_print(stdout, &l->commit.graph, &result, &view);
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
	struct cli_commit l;
	struct sy_error err = { { 0 } };
	int rc;

	memset(&o, 0, sizeof(o));
	memset(&l, 0, sizeof(l));
	rc = parse_options(argc, argv, &o);
	if (rc == 0) {
		/* The toolchain only satisfies BuildRequires that no spec
		 * provides, so it never makes a spec-level edge: none gives the
		 * same search without reading the worker manifest. */
		struct cli_commit_request r = {
			.repo_path = o.repo_path, .rev = o.rev, .state_dir = o.state_dir,
			.channel = o.channel, .arch = o.arch, .jobs = o.jobs,
		};
		rc = cli_commit_load(&r, &l, &err) || search_and_print(&o, &l, &err) ? -1 : 0;
		if (rc)
			sy_log_error("%s", err.msg);
		cli_commit_release(&l);
	}
	sy_strv_release(&o.names);
	return rc < 0 ? 2 : 0;
}
