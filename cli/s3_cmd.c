#include "cli/s3_cmd.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "server/serveconf.h"

const char cli_s3_sync_usage[] =
	"usage: shipyard s3-sync --config FILE [--state DIR] CHANNEL...\n"
	"\n"
	"Uploads each channel's current snapshot to the S3-compatible bucket that\n"
	"FILE's [publish \"s3\"] section names (docs/pipeline.md, \"Object\n"
	"storage\"): packages first, repodata/repomd.xml last, objects the bucket\n"
	"already holds with the same content skipped. `shipyard run` and\n"
	"`shipyard publish` with --config do this after every publication; this\n"
	"command uploads again after a failed upload, or fills a new bucket.\n"
	"\n"
	"  --config FILE          git-config file with [publish \"s3\"] (the\n"
	"                         service configuration, or a file of its own)\n"
	"  --state DIR            state directory (default: FILE's serve.state, as\n"
	"                         `shipyard serve` reads it)\n"
	"  CHANNEL                a channel name, as under <state>/repos/\n"
	"\n"
	"Exit status: 0 all uploaded, 1 some upload failed, 2 usage or\n"
	"configuration error.\n";

int cli_s3_config_load(const char *path, struct repo_s3_config *conf)
{
	struct sy_error err = { { 0 } };
	int rc = repo_s3_config_read(path, conf, &err);

	if (rc == 1 && server_check_secret_file(conf->credentials, "publish.s3.credentials", &err))
		rc = -1;
	if (rc < 0)
		sy_log_error("%s", err.msg);
	return rc;
}

void cli_s3_report_print(const char *channel, const struct repo_s3_report *rep)
{
	if (!rep->snapshot) {
		printf("%s: no published snapshot, nothing uploaded\n", channel);
		return;
	}
	printf("%s: %s -> %s: %zu objects, %zu uploaded (%" PRIu64 " bytes), %zu retried, "
	       "%zu stale\n", channel, rep->snapshot, rep->url, rep->objects, rep->uploaded,
	       rep->bytes, rep->retries, rep->stale);
	fflush(stdout);
}

/* Uploads every channel of argv; returns the exit status. */
static int sync_channels(const struct repo_s3_config *conf, const char *state, char **channels,
			 int n)
{
	int failed = 0;

	for (int i = 0; i < n; i++) {
		struct repo_s3_report rep;
		struct sy_error err = { { 0 } };

		if (repo_s3_publish_channel(conf, state, channels[i], &rep, &err)) {
			sy_log_error("%s", err.msg);
			failed = 1;
		} else {
			cli_s3_report_print(channels[i], &rep);
		}
		repo_s3_report_release(&rep);
	}
	return failed;
}

int cli_s3_sync_command(int argc, char **argv)
{
	enum { OPT_CONFIG = 256, OPT_STATE, OPT_HELP };
	static const struct option options[] = {
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *state = NULL;
	struct repo_s3_config conf = { 0 };
	struct server_conf service;
	struct sy_error err = { { 0 } };
	int opt, rc, has_service = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case OPT_CONFIG: config = optarg; break;
		case OPT_STATE: state = optarg; break;
		case OPT_HELP: fputs(cli_s3_sync_usage, stdout); return 0;
		default: fputs(cli_s3_sync_usage, stderr); return 2;
		}
	}
	if (!config || optind == argc) {
		fprintf(stderr, "shipyard: %s\n", !config ? "--config is required"
							  : "name the channels to upload");
		fputs(cli_s3_sync_usage, stderr);
		return 2;
	}
	rc = cli_s3_config_load(config, &conf);
	if (rc == 0)
		sy_log_error("%s: no [publish \"s3\"] endpoint: nothing to upload to", config);
	if (rc == 1 && !state) {
		if (server_conf_read(config, &service, &err)) {
			sy_log_error("%s", err.msg);
			rc = -1;
		} else {
			has_service = 1;
			state = service.state_dir;
		}
	}
	rc = rc == 1 ? sync_channels(&conf, state, argv + optind, argc - optind) : 2;
	if (has_service)
		server_conf_release(&service);
	repo_s3_config_release(&conf);
	return rc;
}
