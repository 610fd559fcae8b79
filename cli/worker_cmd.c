#include "cli/worker_cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "builder/worker.h"
#include "builder/workercache.h"
#include "common/log.h"
#include "common/strv.h"
#include "planner/macros.h"
#include "repo-publish/publish.h"

#define MIB (1024.0 * 1024.0)

const char cli_worker_usage[] =
	"usage: shipyard worker build|list|check|gc [--manifest FILE] [--cache DIR]\n"
	"                       [--state DIR] [--arch ARCH]\n"
	"\n"
	"Manages the cached worker roots every build starts from. A debootstrap\n"
	"root (the bootstrap root) is one per manifest digest (its [worker] and\n"
	"[toolchain] sections); an rpm root (worker.kind = rpm) is one per exact\n"
	"set of packages its repositories give for its package list.\n"
	"\n"
	"  build   builds the manifest's root unless cached; prints its path\n"
	"  list    one line per cached root: digest (12 chars), suite, size,\n"
	"          creation time, \"current\" for the manifest's root\n"
	"  check   verifies the manifest's root: rpmbuild and rpm present, every\n"
	"          toolchain capability (rpm root: package) in its rpmdb, the\n"
	"          build user\n"
	"  gc      removes the cached roots other than the manifest's (not those\n"
	"          a running build uses); prints what was removed and the bytes freed\n"
	"\n"
	"  --manifest FILE   worker manifest (default config/worker.conf)\n"
	"  --cache DIR       worker root cache (default $SHIPYARD_WORKER_CACHE,\n"
	"                    else <state>/worker)\n"
	"  --state DIR       state directory (default ./.shipyard): the channels an\n"
	"                    rpm root's repo = channel:NAME names\n"
	"  --arch ARCH       target arch of an rpm root (default x86_64)\n"
	"\n"
	"Run `shipyard worker SUBCOMMAND --help` for one subcommand.\n"
	"Exit status: 0 done, 1 check found problems or gc could not remove a\n"
	"root, 2 usage or set-up error.\n";

static const char build_usage[] =
	"usage: shipyard worker build [--manifest FILE] [--cache DIR] [--state DIR]\n"
	"\n"
	"Builds the worker root declared by the manifest (debootstrap, the build\n"
	"user, the toolchain package in its rpmdb; or the install closure of an\n"
	"rpm root's packages and the build user), unless a root with the same\n"
	"manifest digest is cached, and prints its path. Needs root.\n";

static const char list_usage[] =
	"usage: shipyard worker list [--manifest FILE] [--cache DIR] [--state DIR]\n"
	"\n"
	"Lists the cached worker roots, one a line:\n"
	"  DIGEST12  KIND  SIZE MiB  YYYY-MM-DD HH:MM  [current]\n"
	"KIND is the Debian suite of a debootstrap root, \"rpm:N\" (N packages)\n"
	"for an rpm root.\n"
	"\"current\" marks the root of the manifest's digest.\n";

static const char check_usage[] =
	"usage: shipyard worker check [--manifest FILE] [--cache DIR] [--state DIR]\n"
	"\n"
	"Checks the manifest's cached root: it exists, /usr/bin/rpmbuild and\n"
	"/usr/bin/rpm are present, every [toolchain] capability is provided in\n"
	"its rpmdb (an rpm root: every package of its closure is installed at\n"
	"its NEVRA), the build user exists and owns /build. Prints one line per\n"
	"problem and exits 1, or prints \"<root>: ok\" and exits 0.\n";

static const char gc_usage[] =
	"usage: shipyard worker gc [--manifest FILE] [--cache DIR] [--state DIR]\n"
	"\n"
	"Removes the cached worker roots other than the manifest's, except those\n"
	"a running build holds, and roots left half-built by a builder that died.\n"
	"Prints each removed directory, each root kept because it is in use, and\n"
	"the bytes freed.\n";

/* What a subcommand works on. */
struct worker_ctx {
	const char *manifest; /* the manifest file */
	const char *cache;    /* the worker root cache */
	const char *state;    /* the state directory: channels of rpm roots */
	const char *arch;     /* target arch: package lists, closures */
};

/* One subcommand. */
struct subcommand {
	const char *name;
	const char *usage;
	int (*run)(const struct worker_ctx *ctx);
};

/* Reads the manifest and resolves an rpm root's packages; logs the error. */
static int read_manifest(const struct worker_ctx *ctx, struct builder_worker_manifest *m)
{
	struct sy_error err = { { 0 } };
	char *downloads = sy_xasprintf("%s/repos", ctx->cache);
	const struct builder_worker_sources src = {
		repo_publish_channel_dir, (void *)ctx->state, downloads,
	};
	int rc = -1;

	if (builder_worker_manifest_read(ctx->manifest, m, &err) == 0) {
		rc = builder_worker_resolve(m, ctx->manifest, ctx->arch, &src, &err);
		if (rc)
			builder_worker_manifest_release(m);
	}
	free(downloads);
	if (rc == 0)
		return 0;
	sy_log_error("%s", err.msg);
	return -1;
}

static int worker_build(const struct worker_ctx *ctx)
{
	struct builder_worker_manifest m;
	struct sy_error err = { { 0 } };
	char *root = NULL;
	int rc = 2;

	if (read_manifest(ctx, &m))
		return 2;
	if (builder_worker_ensure(ctx->cache, &m, NULL, 2, &root, &err) == 0) {
		printf("%s\n", root);
		rc = 0;
	} else {
		sy_log_error("%s", err.msg);
	}
	builder_worker_manifest_release(&m);
	free(root);
	return rc;
}

static int worker_list(const struct worker_ctx *ctx)
{
	struct builder_worker_manifest m;
	struct builder_worker_entry *entries;
	struct sy_error err = { { 0 } };
	size_t n;

	if (read_manifest(ctx, &m))
		return 2;
	if (builder_worker_list(ctx->cache, &entries, &n, &err)) {
		sy_log_error("%s", err.msg);
		builder_worker_manifest_release(&m);
		return 2;
	}
	for (size_t i = 0; i < n; i++) {
		char when[32] = "-";
		struct tm tm;
		if (entries[i].created && localtime_r(&entries[i].created, &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
		printf("%.12s  %-10s %9.1f MiB  %s%s\n", entries[i].digest,
		       entries[i].suite ? entries[i].suite : "?",
		       (double)entries[i].bytes / MIB, when,
		       strcmp(entries[i].digest, m.digest) ? "" : "  current");
	}
	builder_worker_entries_free(entries, n);
	builder_worker_manifest_release(&m);
	return 0;
}

static int worker_check(const struct worker_ctx *ctx)
{
	struct builder_worker_manifest m;
	struct sy_strv problems = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	int rc;

	if (read_manifest(ctx, &m))
		return 2;
	if (builder_worker_check(ctx->cache, &m, &problems, &err)) {
		sy_log_error("%s", err.msg);
		rc = 2;
	} else if (problems.n) {
		for (size_t i = 0; i < problems.n; i++)
			printf("%s\n", problems.items[i]);
		rc = 1;
	} else {
		printf("%s/%s/root: ok\n", ctx->cache, m.digest);
		rc = 0;
	}
	sy_strv_release(&problems);
	builder_worker_manifest_release(&m);
	return rc;
}

static int worker_gc(const struct worker_ctx *ctx)
{
	struct builder_worker_manifest m;
	struct sy_strv removed = SY_STRV_INIT, skipped = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	unsigned long long freed = 0;
	int rc = 0;

	if (read_manifest(ctx, &m))
		return 2;
	if (builder_worker_gc(ctx->cache, m.digest, &removed, &skipped, &freed, &err)) {
		sy_log_error("%s", err.msg);
		rc = 1;
	}
	for (size_t i = 0; i < removed.n; i++)
		printf("removed %s\n", removed.items[i]);
	for (size_t i = 0; i < skipped.n; i++)
		printf("kept %.12s: in use by a build\n", skipped.items[i]);
	printf("freed %llu bytes (%.1f MiB)\n", freed, (double)freed / MIB);
	sy_strv_release(&removed);
	sy_strv_release(&skipped);
	builder_worker_manifest_release(&m);
	return rc;
}

static const struct subcommand subcommands[] = {
	{ "build", build_usage, worker_build },
	{ "list", list_usage, worker_list },
	{ "check", check_usage, worker_check },
	{ "gc", gc_usage, worker_gc },
	{ NULL, NULL, NULL },
};

enum { OPT_MANIFEST = 256, OPT_CACHE, OPT_STATE, OPT_ARCH, OPT_HELP };

static const struct option options[] = {
	{ "manifest", required_argument, NULL, OPT_MANIFEST },
	{ "cache", required_argument, NULL, OPT_CACHE },
	/* The spellings of `shipyard run`. */
	{ "worker-manifest", required_argument, NULL, OPT_MANIFEST },
	{ "worker-cache", required_argument, NULL, OPT_CACHE },
	{ "state", required_argument, NULL, OPT_STATE },
	{ "arch", required_argument, NULL, OPT_ARCH },
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

static const struct subcommand *find_subcommand(const char *name)
{
	for (const struct subcommand *s = subcommands; s->name; s++)
		if (!strcmp(s->name, name))
			return s;
	return NULL;
}

int cli_worker_command(int argc, char **argv, const char *default_manifest)
{
	const char *manifest = default_manifest, *cache = getenv("SHIPYARD_WORKER_CACHE");
	const char *state = ".shipyard", *arch = "x86_64";
	const struct subcommand *sub = NULL;
	char *state_cache = NULL;
	int c, help = 0, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case OPT_MANIFEST: manifest = optarg; break;
		case OPT_CACHE: cache = optarg; break;
		case OPT_STATE: state = optarg; break;
		case OPT_ARCH: arch = optarg; break;
		case OPT_HELP: help = 1; break;
		default: return usage_error(cli_worker_usage, NULL);
		}
	}
	if (optind < argc && !(sub = find_subcommand(argv[optind])))
		return usage_error(cli_worker_usage, "unknown worker subcommand");
	if (help) {
		fputs(sub ? sub->usage : cli_worker_usage, stdout);
		return 0;
	}
	if (!sub)
		return usage_error(cli_worker_usage, "expected build, list, check or gc");
	if (optind + 1 < argc)
		return usage_error(sub->usage, "unexpected argument");
	struct sy_error err = { { 0 } };
	if (planner_arch_check(arch, &err))
		return usage_error(sub->usage, err.msg);
	if (!cache || !cache[0])
		cache = state_cache = sy_xasprintf("%s/worker", state);
	const struct worker_ctx ctx = { manifest, cache, state, arch };
	rc = sub->run(&ctx);
	free(state_cache);
	return rc;
}
