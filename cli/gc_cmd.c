#include "cli/gc_cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/log.h"
#include "common/strv.h"
#include "pipeline/gc.h"
#include "server/serveconf.h"

const char cli_gc_usage[] =
	"usage: shipyard gc [--state DIR | -c FILE] [--keep-snapshots N]\n"
	"                   [--snapshot-days N] [--keep-images N] [--image-days N]\n"
	"                   [--keep-pipelines N] [--pipeline-days N]\n"
	"                   [--cache-days N] [--worker-cache DIR]\n"
	"\n"
	"Removes what the state directory no longer needs: each channel's\n"
	"snapshots past the newest N, image builds and pipeline run directories\n"
	"(logs, reports) past their count or age, and the plan's cached values\n"
	"(state.db's kv rows, tmp/kv/ files) unused for days. Never a channel's\n"
	"current snapshot, what a running pipeline or a release being made holds,\n"
	"the snapshot an rpm worker root built from a channel:NAME repository can\n"
	"be made again from, or an image config's latest build; releases are\n"
	"never removed. Each removal is a rename into <state>/trash, then a\n"
	"delete.\n"
	"Prints \"removed <what>\", \"kept <what>: <why>\" for what only a\n"
	"reference keeps, and \"skipped <what>\".\n"
	"\n"
	"  --state DIR            state directory (default ./.shipyard)\n"
	"  -c, --config FILE      take the state directory (serve.state) and the\n"
	"                         limits ([retention]) from a service configuration\n"
	"  --keep-snapshots N     newest snapshots kept per channel (default 10;\n"
	"                         0: all)\n"
	"  --snapshot-days N      snapshots older than N days removed (default 0:\n"
	"                         no age limit)\n"
	"  --keep-images N        newest builds kept per image config (default 5)\n"
	"  --image-days N         image builds older than N days removed\n"
	"  --keep-pipelines N     newest pipeline run directories kept (default 200)\n"
	"  --pipeline-days N      run directories older than N days removed\n"
	"  --cache-days N         cached values neither stored nor read for N days\n"
	"                         removed (default 14; 0: never)\n"
	"  --worker-cache DIR     a worker root cache whose rpm roots keep the\n"
	"                         snapshots they were built from (repeatable;\n"
	"                         default $SHIPYARD_WORKER_CACHE; <state>/worker\n"
	"                         always)\n"
	"\n"
	"Exit status: 0 done, 1 something could not be removed, 2 usage or set-up\n"
	"error.\n";

enum {
	OPT_STATE = 256, OPT_KEEP_SNAPSHOTS, OPT_SNAPSHOT_DAYS, OPT_KEEP_IMAGES, OPT_IMAGE_DAYS,
	OPT_KEEP_PIPELINES, OPT_PIPELINE_DAYS, OPT_CACHE_DAYS, OPT_WORKER_CACHE, OPT_HELP,
};

/* A limit option given on the command line: which, and its value. */
struct limit_opt {
	int opt;
	unsigned value;
};

static int parse_count(const char *text, unsigned *out)
{
	char *end;
	unsigned long v = strtoul(text, &end, 10);

	if (!*text || *end || text[0] == '-' || v > 1000000000ul)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static void print_report(const struct pipeline_gc_report *rep)
{
	for (size_t i = 0; i < rep->removed.n; i++)
		printf("removed %s\n", rep->removed.items[i]);
	for (size_t i = 0; i < rep->kept.n; i++)
		printf("kept %s\n", rep->kept.items[i]);
	for (size_t i = 0; i < rep->skipped.n; i++)
		printf("skipped %s\n", rep->skipped.items[i]);
}

/* Which field of r an option sets. */
static unsigned *limit_field(struct state_retention *r, int opt)
{
	switch (opt) {
	case OPT_KEEP_SNAPSHOTS: return &r->snapshots.keep;
	case OPT_SNAPSHOT_DAYS: return &r->snapshots.max_age_days;
	case OPT_KEEP_IMAGES: return &r->images.keep;
	case OPT_IMAGE_DAYS: return &r->images.max_age_days;
	case OPT_KEEP_PIPELINES: return &r->pipelines.keep;
	case OPT_PIPELINE_DAYS: return &r->pipelines.max_age_days;
	case OPT_CACHE_DAYS: return &r->cache_days;
	}
	return NULL;
}

static int run(const char *state, const struct state_retention *limits,
	       const struct sy_strv *caches)
{
	struct pipeline_gc_report rep = PIPELINE_GC_REPORT_INIT;
	struct sy_error err = { { 0 } };
	const struct pipeline_gc_request req = {
		.state = state, .limits = limits,
		.worker_caches = caches->n ? (const char *const *)caches->items : NULL, .wait = 1,
	};
	int rc = pipeline_gc_run(&req, &rep, &err);

	print_report(&rep);
	pipeline_gc_report_release(&rep);
	if (rc)
		sy_log_error("%s", err.msg);
	return rc ? 1 : 0;
}

int cli_gc_command(int argc, char **argv)
{
	static const struct option options[] = {
		{ "state", required_argument, NULL, OPT_STATE },
		{ "config", required_argument, NULL, 'c' },
		{ "keep-snapshots", required_argument, NULL, OPT_KEEP_SNAPSHOTS },
		{ "snapshot-days", required_argument, NULL, OPT_SNAPSHOT_DAYS },
		{ "keep-images", required_argument, NULL, OPT_KEEP_IMAGES },
		{ "image-days", required_argument, NULL, OPT_IMAGE_DAYS },
		{ "keep-pipelines", required_argument, NULL, OPT_KEEP_PIPELINES },
		{ "pipeline-days", required_argument, NULL, OPT_PIPELINE_DAYS },
		{ "cache-days", required_argument, NULL, OPT_CACHE_DAYS },
		{ "worker-cache", required_argument, NULL, OPT_WORKER_CACHE },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct state_retention limits = STATE_RETENTION_DEFAULTS;
	struct server_conf conf = { 0 };
	struct limit_opt given[7];
	struct sy_strv caches = SY_STRV_INIT;
	const char *state = NULL, *config = NULL, *env = getenv("SHIPYARD_WORKER_CACHE");
	struct sy_error err = { { 0 } };
	size_t ngiven = 0;
	int c, rc = 2;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:", options, NULL)) != -1) {
		unsigned value;
		switch (c) {
		case OPT_STATE: state = optarg; break;
		case 'c': config = optarg; break;
		case OPT_WORKER_CACHE: sy_strv_push(&caches, optarg); break;
		case OPT_HELP: fputs(cli_gc_usage, stdout); rc = 0; goto out;
		case OPT_KEEP_SNAPSHOTS: case OPT_SNAPSHOT_DAYS: case OPT_KEEP_IMAGES:
		case OPT_IMAGE_DAYS: case OPT_KEEP_PIPELINES: case OPT_PIPELINE_DAYS:
		case OPT_CACHE_DAYS:
			if (parse_count(optarg, &value)) {
				cli_usage_error(cli_gc_usage, "a limit is a number of 0 or more");
				goto out;
			}
			/* Each option once: a later one replaces an earlier. */
			size_t k = 0;
			while (k < ngiven && given[k].opt != c)
				k++;
			given[k] = (struct limit_opt){ c, value };
			ngiven += k == ngiven;
			break;
		default: cli_usage_error(cli_gc_usage, NULL); goto out;
		}
	}
	if (optind != argc || (state && config)) {
		cli_usage_error(cli_gc_usage, optind != argc ? "unexpected argument"
							     : "--state and --config exclude each other");
		goto out;
	}
	if (config) {
		if (server_conf_read(config, &conf, &err)) {
			sy_log_error("%s", err.msg);
			goto out;
		}
		state = conf.state_dir;
		limits = conf.retention;
	}
	for (size_t k = 0; k < ngiven; k++)
		*limit_field(&limits, given[k].opt) = given[k].value;
	if (!caches.n && env && env[0])
		sy_strv_push(&caches, env);
	rc = run(state ? state : ".shipyard", &limits, &caches);
out:
	server_conf_release(&conf);
	sy_strv_release(&caches);
	return rc;
}
