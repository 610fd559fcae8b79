/* shipyard: the command line. Every command calls the same stage interfaces
 * the service calls. */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/log.h"
#include "common/strv.h"
#include "cli/depsearch_cmd.h"
#include "pipeline/pipeline.h"
#include "cli/serve_cmd.h"
#include "pipeline/status.h"
#include "cli/worker_cmd.h"

#define SHIPYARD_VERSION "0.1.0"

struct command {
	const char *name;
	const char *summary;
	const char *usage;
	int (*run)(int argc, char **argv);
};

static const struct command *commands(void);

static const char run_usage[] =
	"usage: shipyard run --repo DIR [--from REV] [--to REV] [--state DIR] [options]\n"
	"\n"
	"Runs one pipeline: changeset from..to, spec index, dependency graph,\n"
	"rebuild set, isolated builds, repository publication under\n"
	"<state>/repos/<branch>/, images, and statuses (log backend).\n"
	"\n"
	"  --repo DIR             distribution git repository (Azure Linux layout)\n"
	"  --from REV             base revision (default: the commit the branch's\n"
	"                         repository was last published from; none: all new)\n"
	"  --merge-base           use the merge base of --from and --to as the base\n"
	"  --settings-from REV    take shipyard.conf from REV for both commits\n"
	"                         (pull requests: the base branch)\n"
	"  --spec-tree DIR        a spec tree, repeatable (default: shipyard.conf's,\n"
	"                         else SPECS, SPECS-EXTENDED, SPECS-SIGNED)\n"
	"  --imageconfigs DIR     image configs (default toolkit/imageconfigs)\n"
	"  --rebuild-policy P     transitive, direct, local or layers=N\n"
	"  --to REV               head revision (default HEAD)\n"
	"  --state DIR            state directory (default ./.shipyard)\n"
	"  --channel NAME         repository channel (default: HEAD's branch)\n"
	"  --arch ARCH            target arch (default x86_64)\n"
	"  --jobs N               parallel spec readers and builds (default: cores)\n"
	"  --timeout SECONDS      wall-clock limit per build (default 3600)\n"
	"  --output-limit MIB     what a build may write (default 16384; 0: none)\n"
	"  --root-mode MODE       build roots: overlay over the worker root, or\n"
	"                         extract (its tarball, per build); auto: overlay\n"
	"                         where the state directory supports it (default)\n"
	"  --run-check            run each built spec's %check in a test build;\n"
	"                         failures are reported, never block anything\n"
	"  --worker-manifest FILE worker root manifest (default config/worker.conf)\n"
	"  --worker-cache DIR     worker root cache (default <state>/worker,\n"
	"                         or $SHIPYARD_WORKER_CACHE)\n"
	"  --events-fd N          also write statuses and job events as JSON lines\n"
	"                         to file descriptor N (used by shipyard serve)\n"
	"\n"
	"Exit status: 0 all succeeded, 1 some spec or image failed, 2 usage or\n"
	"setup error.\n";

static const char plan_usage[] =
	"usage: shipyard plan --repo DIR [--from REV] [--to REV] [--arch ARCH]\n"
	"                     [--merge-base] [--missing] [--format text|json]\n"
	"\n"
	"Prints the changeset and the rebuild set without building: the specs\n"
	"whose build key at --to differs from their key at --from, in build order,\n"
	"each with its reason chain; the specs whose own inputs changed; removed\n"
	"specs and their packages; affected image configs; unresolved\n"
	"BuildRequires; dependency cycles; specs excluded for the arch; specs that\n"
	"do not parse. Same code path and options as `shipyard run`.\n"
	"\n"
	"  --from REV             base (default: the first parent of --to)\n"
	"  --merge-base           use the merge base of --from and --to (pull requests)\n"
	"  --missing              also list specs with no artifact for their key in\n"
	"                         the state directory\n"
	"  --format FORMAT        text (default) or json\n";

static const char help_usage[] =
	"usage: shipyard help [COMMAND]\n\nLists the commands, or shows one command's help.\n";

static const char version_usage[] = "usage: shipyard version\n\nPrints the version.\n";

/* Returns the default worker manifest: $SHIPYARD_CONFIG_DIR/worker.conf, the
 * source tree's config/ next to the binary, or the installed copy. */
static char *default_manifest(void)
{
	const char *env = getenv("SHIPYARD_CONFIG_DIR");
	char exe[PATH_MAX];
	ssize_t n;

	if (env)
		return sy_xasprintf("%s/worker.conf", env);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		*strrchr(exe, '/') = '\0';
		char *path = sy_xasprintf("%s/../config/worker.conf", exe);
		if (sy_exists(path))
			return path;
		free(path);
	}
	return sy_xstrdup("/usr/local/share/shipyard/worker.conf");
}

enum { OPT_REPO = 256, OPT_FROM, OPT_TO, OPT_STATE, OPT_CHANNEL, OPT_ARCH, OPT_JOBS,
       OPT_TIMEOUT, OPT_MANIFEST, OPT_CACHE, OPT_FORMAT, OPT_MERGE_BASE, OPT_MISSING, OPT_EVENTS,
       OPT_OUTPUT_LIMIT, OPT_RUN_CHECK, OPT_SETTINGS_FROM, OPT_SPEC_TREE, OPT_IMAGECONFIGS,
       OPT_POLICY, OPT_ROOT_MODE,
       OPT_HELP };

static const struct option pipeline_options[] = {
	{ "repo", required_argument, NULL, OPT_REPO },
	{ "from", required_argument, NULL, OPT_FROM },
	{ "to", required_argument, NULL, OPT_TO },
	{ "state", required_argument, NULL, OPT_STATE },
	{ "channel", required_argument, NULL, OPT_CHANNEL },
	{ "arch", required_argument, NULL, OPT_ARCH },
	{ "jobs", required_argument, NULL, OPT_JOBS },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "worker-manifest", required_argument, NULL, OPT_MANIFEST },
	{ "worker-cache", required_argument, NULL, OPT_CACHE },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "merge-base", no_argument, NULL, OPT_MERGE_BASE },
	{ "missing", no_argument, NULL, OPT_MISSING },
	{ "events-fd", required_argument, NULL, OPT_EVENTS },
	{ "output-limit", required_argument, NULL, OPT_OUTPUT_LIMIT },
	{ "run-check", no_argument, NULL, OPT_RUN_CHECK },
	{ "settings-from", required_argument, NULL, OPT_SETTINGS_FROM },
	{ "spec-tree", required_argument, NULL, OPT_SPEC_TREE },
	{ "imageconfigs", required_argument, NULL, OPT_IMAGECONFIGS },
	{ "rebuild-policy", required_argument, NULL, OPT_POLICY },
	{ "root-mode", required_argument, NULL, OPT_ROOT_MODE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static int usage_error(const char *usage, const char *msg)
{
	if (msg)
		fprintf(stderr, "shipyard: %s\n", msg);
	fputs(usage, stderr);
	return 2;
}

/* Parses the options shared by plan and run; returns -1 on a usage error,
 * 1 when help was printed, 0 otherwise. */
/* --spec-tree values, for the life of the command. */
static struct sy_strv spec_trees = SY_STRV_INIT;

static int parse_pipeline_options(int argc, char **argv, const char *usage,
				  struct pipeline_options *o, char **manifest)
{
	int c;

	o->state_dir = ".shipyard";
	o->build_timeout_s = 3600;
	o->output_limit_bytes = 16384ULL << 20;
	o->worker_cache = getenv("SHIPYARD_WORKER_CACHE");
	optind = 1;
	while ((c = getopt_long(argc, argv, "", pipeline_options, NULL)) != -1) {
		switch (c) {
		case OPT_REPO: o->repo_path = optarg; break;
		case OPT_FROM: o->from = optarg; break;
		case OPT_TO: o->to = optarg; break;
		case OPT_STATE: o->state_dir = optarg; break;
		case OPT_CHANNEL: o->channel = optarg; break;
		case OPT_ARCH: o->arch = optarg; break;
		case OPT_JOBS: o->jobs = atoi(optarg); break;
		case OPT_TIMEOUT: o->build_timeout_s = (unsigned)strtoul(optarg, NULL, 10); break;
		case OPT_RUN_CHECK: o->run_check = 1; break;
		case OPT_SETTINGS_FROM: o->settings_from = optarg; break;
		case OPT_SPEC_TREE:
			sy_strv_push(&spec_trees, optarg);
			o->spec_trees = (const char *const *)spec_trees.items;
			break;
		case OPT_IMAGECONFIGS: o->imageconfigs = optarg; break;
		case OPT_POLICY: o->rebuild_policy = optarg; break;
		case OPT_ROOT_MODE: {
			struct sy_error err = { { 0 } };
			if (builder_root_mode_parse(optarg, &o->root_mode, &err))
				return usage_error(usage, err.msg), -1;
			break;
		}
		case OPT_OUTPUT_LIMIT:
			o->output_limit_bytes = strtoull(optarg, NULL, 10) << 20;
			break;
		case OPT_MANIFEST: free(*manifest); *manifest = sy_xstrdup(optarg); break;
		case OPT_CACHE: o->worker_cache = optarg; break;
		case OPT_MERGE_BASE: o->merge_base = 1; break;
		case OPT_MISSING: o->missing = 1; break;
		case OPT_EVENTS:
			o->events = fdopen(atoi(optarg), "w");
			if (!o->events) {
				usage_error(usage, "--events-fd: not an open file descriptor");
				return -1;
			}
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "json") && strcmp(optarg, "text"))
				return usage_error(usage, "--format must be text or json"), -1;
			o->json = !strcmp(optarg, "json");
			break;
		case OPT_HELP: fputs(usage, stdout); return 1;
		default: return usage_error(usage, NULL), -1;
		}
	}
	if (optind < argc)
		return usage_error(usage, "unexpected argument"), -1;
	if (!o->repo_path)
		return usage_error(usage, "--repo is required"), -1;
	o->worker_manifest = *manifest;
	return 0;
}

static volatile sig_atomic_t cancelled;

static void on_cancel(int sig)
{
	(void)sig;
	cancelled = 1;
}

/* SIGINT and SIGTERM cancel a run: builds are killed and cleaned, nothing
 * is published; a second signal is not caught. */
static void catch_cancel(void)
{
	struct sigaction sa = { 0 };

	sa.sa_handler = on_cancel;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static int pipeline_command(int argc, char **argv, const char *usage, int plan_only)
{
	struct pipeline_options o = { 0 };
	struct pipeline_reporter reporter;
	struct sy_error err = { { 0 } };
	char *manifest = default_manifest();
	int rc = parse_pipeline_options(argc, argv, usage, &o, &manifest);

	if (rc) {
		free(manifest);
		return rc < 0 ? 2 : 0;
	}
	if (o.events)
		pipeline_reporter_events_init(&reporter, o.events);
	else
		pipeline_reporter_log_init(&reporter, stdout);
	o.plan_only = plan_only;
	o.exiting = 1;
	if (!plan_only) {
		catch_cancel();
		o.cancel = &cancelled;
	}
	o.out = stdout;
	o.reporter = plan_only && o.json ? NULL : &reporter;
	rc = pipeline_run(&o, &err);
	sy_strv_release(&spec_trees);
	if (rc < 0)
		sy_log_error("%s", err.msg);
	free(manifest);
	return rc < 0 ? 2 : rc;
}

static int cmd_run(int argc, char **argv)
{
	return pipeline_command(argc, argv, run_usage, 0);
}

static int cmd_plan(int argc, char **argv)
{
	return pipeline_command(argc, argv, plan_usage, 1);
}

static int cmd_worker(int argc, char **argv)
{
	char *manifest = default_manifest();
	int rc = cli_worker_command(argc, argv, manifest);

	free(manifest);
	return rc;
}

static int cmd_version(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--help")) {
		fputs(version_usage, stdout);
		return 0;
	}
	printf("shipyard %s\n", SHIPYARD_VERSION);
	return 0;
}

static void list_commands(FILE *out)
{
	fputs("usage: shipyard COMMAND [OPTIONS]\n\n"
	      "shipyard: GitOps CI for RPM-based distributions.\n\ncommands:\n", out);
	for (const struct command *c = commands(); c->name; c++)
		fprintf(out, "  %-10s %s\n", c->name, c->summary);
	fputs("\nRun `shipyard COMMAND --help` for a command's options.\n", out);
}

static int cmd_help(int argc, char **argv)
{
	if (argc < 2) {
		list_commands(stdout);
		return 0;
	}
	for (const struct command *c = commands(); c->name; c++)
		if (!strcmp(c->name, argv[1])) {
			fputs(c->usage, stdout);
			return 0;
		}
	if (!strcmp(argv[1], "--help")) {
		fputs(help_usage, stdout);
		return 0;
	}
	fprintf(stderr, "shipyard: unknown command '%s'\n", argv[1]);
	return 2;
}

static const struct command command_table[] = {
	{ "run", "run one pipeline: plan, build, publish, images, statuses", run_usage, cmd_run },
	{ "plan", "print the changeset and rebuild set without building", plan_usage, cmd_plan },
	{ "depsearch", "list what depends on specs or packages, or what they need", cli_depsearch_usage, cli_depsearch_command },
	{ "worker", "build, list, check or clean the cached worker roots", cli_worker_usage, cmd_worker },
	{ "serve", "run the service: webhooks, pipelines, statuses, dashboard", cli_serve_usage, cli_serve_command },
	{ "help", "show help for shipyard or a command", help_usage, cmd_help },
	{ "version", "print the version", version_usage, cmd_version },
	{ NULL, NULL, NULL, NULL },
};

static const struct command *commands(void)
{
	return command_table;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		list_commands(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cmd_help(1, argv);
	if (!strcmp(argv[1], "--version"))
		return cmd_version(1, argv);
	for (const struct command *c = commands(); c->name; c++)
		if (!strcmp(c->name, argv[1]))
			return c->run(argc - 1, argv + 1);
	fprintf(stderr, "shipyard: unknown command '%s'; see `shipyard help`\n", argv[1]);
	return 2;
}
