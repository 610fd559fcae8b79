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
#include "cli/analyze_cmd.h"
#include "cli/cli.h"
#include "cli/depsearch_cmd.h"
#include "cli/config_cmd.h"
#include "cli/gc_cmd.h"
#include "cli/specs_cmd.h"
#include "cli/pipeline_cmd.h"
#include "cli/s3_cmd.h"
#include "cli/serve_cmd.h"
#include "cli/worker_cmd.h"

#define SHIPYARD_VERSION "0.1.0"

struct command {
	const char *name;
	const char *summary;
	const char *usage;
	int (*run)(int argc, char **argv);
};

static const struct command *commands(void);

static const char help_usage[] =
	"usage: shipyard help [COMMAND]\n\nLists the commands, or shows one command's help.\n";

static const char version_usage[] = "usage: shipyard version\n\nPrints the version.\n";

static int cmd_worker(int argc, char **argv)
{
	char *manifest = cli_default_manifest();
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
	{ "run", "run one pipeline: plan, build, publish, images, statuses", cli_run_usage, cli_run_command },
	{ "plan", "print the changeset and rebuild set without building", cli_plan_usage, cli_plan_command },
	{ "build", "build specs into artifacts without publishing", cli_build_usage, cli_build_command },
	{ "publish", "publish a commit's packages to its channel", cli_publish_usage, cli_publish_command },
	{ "s3-sync", "upload channels' snapshots to an S3-compatible bucket", cli_s3_sync_usage, cli_s3_sync_command },
	{ "image", "compose a commit's images from its channel", cli_image_usage, cli_image_command },
	{ "depsearch", "list what depends on specs or packages, or what they need", cli_depsearch_usage, cli_depsearch_command },
	{ "analyze", "report unresolved capabilities, blockers, near-buildable specs, cycles", cli_analyze_usage, cli_analyze_command },
	{ "specs", "print every spec of a commit as planning reads it", cli_specs_usage, cli_specs_command },
	{ "worker", "build, list, check or clean the cached worker roots", cli_worker_usage, cmd_worker },
	{ "config", "check a configuration file and print what applies", cli_config_usage, cli_config_command },
	{ "gc", "remove old snapshots, image builds and pipeline logs", cli_gc_usage, cli_gc_command },
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
