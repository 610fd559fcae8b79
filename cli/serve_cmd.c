#include "cli/serve_cmd.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/s3_cmd.h"
#include "common/log.h"
#include "server/serve.h"

const char cli_serve_usage[] =
	"usage: shipyard serve -c FILE [--worker-manifest FILE] [--worker-cache DIR]\n"
	"\n"
	"Runs the service: webhooks under /hooks/github, /hooks/gitea (also\n"
	"Forgejo) and /hooks/gitlab; pipelines for pushes, pull requests, polls\n"
	"and schedules; commit statuses through a durable outbox; the dashboard,\n"
	"the JSON API under /api/, /metrics, /healthz, and the published\n"
	"repositories under /repos/. SIGTERM stops it gracefully.\n"
	"\n"
	"  -c, --config FILE      service configuration (git-config syntax; see\n"
	"                         config/shipyard-serve.conf)\n"
	"  --worker-manifest FILE worker root manifest for the pipelines\n"
	"  --worker-cache DIR     worker root cache for the pipelines\n";

enum { OPT_MANIFEST = 256, OPT_CACHE, OPT_HELP };

int cli_serve_command(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "worker-manifest", required_argument, NULL, OPT_MANIFEST },
		{ "worker-cache", required_argument, NULL, OPT_CACHE },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = NULL, *manifest = NULL, *cache = getenv("SHIPYARD_WORKER_CACHE");
	struct sy_error err = { { 0 } };
	char self[PATH_MAX];
	ssize_t n;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:", options, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case OPT_MANIFEST: manifest = optarg; break;
		case OPT_CACHE: cache = optarg; break;
		case OPT_HELP: fputs(cli_serve_usage, stdout); return 0;
		default: fputs(cli_serve_usage, stderr); return 2;
		}
	}
	if (!conf || optind != argc) {
		fputs(cli_serve_usage, stderr);
		return 2;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		sy_log_error("cannot find the shipyard binary (/proc/self/exe)");
		return 2;
	}
	self[n] = '\0';
	/* Read here only to refuse a wrong [publish "s3"] before anything runs:
	 * each pipeline's `shipyard run --config` reads it again. */
	struct repo_s3_config s3;
	int s3_rc = cli_s3_config_load(conf, &s3);
	repo_s3_config_release(&s3);
	if (s3_rc < 0)
		return 2;
	if (server_serve(conf, self, manifest, cache, &err)) {
		sy_log_error("%s", err.msg);
		return 2;
	}
	return 0;
}
