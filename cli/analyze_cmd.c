#include "cli/analyze_cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/log.h"
#include "planner/analyze.h"
#include "planner/analyzeprint.h"

const char cli_analyze_usage[] =
	"usage: shipyard analyze --repo DIR [--rev REV] [--json] [--max-results N]\n"
	"                        [--state DIR] [--worker-manifest FILE]\n"
	"\n"
	"Analyses the dependency graph at one commit, as the Azure Linux toolkit's\n"
	"graphanalytics does, assuming nothing is built: the capabilities nothing\n"
	"offers (BuildRequires, and Requires of packages) with the specs asking\n"
	"for them and how many specs they block; the specs closest to buildable,\n"
	"with what stands in their way (unresolved capabilities, specs that do\n"
	"not parse; however deep); the specs whose failure or absence blocks the\n"
	"most builds (their build roots need it, transitively); build cycles.\n"
	"\n"
	"  --repo DIR             distribution git repository (Azure Linux layout)\n"
	"  --rev REV              commit to read (default HEAD)\n"
	"  --json                 print JSON (same as --format json)\n"
	"  --format FORMAT        text (default) or json\n"
	"  --max-results N        rows of each report (default 10; 0: all)\n"
	"  --state DIR            state directory: spec cache, published repository\n"
	"                         whose generated Provides resolve dependencies, as\n"
	"                         in `shipyard plan` (default ./.shipyard)\n"
	"  --worker-manifest FILE worker root whose toolchain offers what no spec\n"
	"                         does (default config/worker.conf)\n"
	"  --channel NAME         repository channel (default: HEAD's branch)\n"
	"  --arch ARCH            target arch (default x86_64)\n"
	"  --jobs N               parallel spec readers (default: cores)\n"
	"\n"
	"Exit status: 0 done, 2 usage or set-up error.\n";

enum { OPT_REV = CLI_OPT_OWN, OPT_JSON, OPT_FORMAT, OPT_MAX_RESULTS, OPT_MANIFEST };

static const struct option analyze_options[] = {
	CLI_REPOSITORY_OPTIONS,
	{ "rev", required_argument, NULL, OPT_REV },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "max-results", required_argument, NULL, OPT_MAX_RESULTS },
	{ "worker-manifest", required_argument, NULL, OPT_MANIFEST },
	{ NULL, 0, NULL, 0 },
};

/* One command line, parsed. */
struct analyze_opts {
	struct cli_commit_request r;
	struct planner_analysis_view view;
	char *manifest; /* owned */
};

static int set_option(struct analyze_opts *o, int opt)
{
	char *end;
	long n;

	switch (opt) {
	case CLI_OPT_REPO: o->r.repo_path = optarg; return 0;
	case OPT_REV: o->r.rev = optarg; return 0;
	case CLI_OPT_STATE: o->r.state_dir = optarg; return 0;
	case CLI_OPT_CHANNEL: o->r.channel = optarg; return 0;
	case CLI_OPT_ARCH: o->r.arch = optarg; return 0;
	case CLI_OPT_JOBS: o->r.jobs = atoi(optarg); return 0;
	case OPT_MANIFEST: free(o->manifest); o->manifest = sy_xstrdup(optarg); return 0;
	case OPT_JSON: o->view.json = 1; return 0;
	case OPT_FORMAT:
		if (strcmp(optarg, "json") && strcmp(optarg, "text"))
			return cli_usage_error(cli_analyze_usage, "--format must be text or json"), -1;
		o->view.json = !strcmp(optarg, "json");
		return 0;
	case OPT_MAX_RESULTS:
		n = strtol(optarg, &end, 10);
		if (!*optarg || *end || n < 0)
			return cli_usage_error(cli_analyze_usage, "--max-results must be a number >= 0"), -1;
		o->view.max_results = (size_t)n;
		return 0;
	case CLI_OPT_HELP: fputs(cli_analyze_usage, stdout); return 1;
	default: return cli_usage_error(cli_analyze_usage, NULL), -1;
	}
}

/* Returns 0, 1 when help was printed, -1 after a usage error. */
static int parse(int argc, char **argv, struct analyze_opts *o)
{
	int opt, rc;

	o->r.rev = "HEAD";
	o->r.state_dir = ".shipyard";
	o->view.max_results = 10;
	o->manifest = cli_default_manifest();
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", analyze_options, NULL)) != -1)
		if ((rc = set_option(o, opt)) != 0)
			return rc;
	if (optind < argc)
		return cli_usage_error(cli_analyze_usage, "unexpected argument"), -1;
	if (!o->r.repo_path)
		return cli_usage_error(cli_analyze_usage, "--repo is required"), -1;
	o->r.worker_manifest = o->manifest;
	return 0;
}

static int analyze(const struct analyze_opts *o, struct sy_error *err)
{
	struct cli_commit c = { 0 };
	struct planner_analysis a = { 0 };
	struct planner_analysis_view view = o->view;
	int rc = -1;

	if (cli_commit_load(&o->r, &c, err) ||
	    planner_analyze(&c.commit.index, &c.commit.graph, &a, err))
		goto out;
	view.commit = c.commit.oid;
	rc = planner_analysis_print(stdout, &c.commit.index, &a, &view);
	if (rc)
		sy_error_set(err, "analyze: writing the result failed");
out:
	planner_analysis_release(&a);
	cli_commit_release(&c);
	return rc;
}

int cli_analyze_command(int argc, char **argv)
{
	struct analyze_opts o = { 0 };
	struct sy_error err = { { 0 } };
	int rc = parse(argc, argv, &o);

	if (rc == 0 && (rc = analyze(&o, &err)))
		sy_log_error("%s", err.msg);
	free(o.manifest);
	return rc < 0 ? 2 : 0;
}
