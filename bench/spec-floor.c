/* The floor of reading a distribution's specs (issue 11, "Speed at full
 * scale"): one librpm parse per spec and nothing else, for the cold plan to
 * be measured against. The macro context a plan made (the directory
 * <state>/tmp/macros-<digest> it materialised) is applied once in this
 * process; then each spec is parsed with rpmSpecParse (rpmspec -q's flags)
 * in a child forked from it, --jobs at a time, with no sandbox, no result
 * written, no cache. Prints wall and CPU time.
 *
 * usage: spec-floor --ctx DIR --tree DIR [--versions FILE] [--jobs N] */
#define _GNU_SOURCE
#include <dirent.h>
#include <glob.h>
#include <rpm/rpmbuild.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmmacro.h>
#include <rpm/rpmspec.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/child.h"
#include "common/strv.h"
#include "common/util.h"
#include "planner/macros.h"

static int quiet(rpmlogRec rec, rpmlogCallbackData data)
{
	(void)rec;
	(void)data;
	return 0;
}

/* Appends the files matching pattern under dir, sorted, to v. */
static void add_glob(struct sy_strv *v, const char *dir, const char *pattern)
{
	char *full = sy_xasprintf("%s/%s", dir, pattern);
	glob_t g;

	if (glob(full, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++)
			sy_strv_push(v, g.gl_pathv[i]);
		globfree(&g);
	}
	free(full);
}

/* The context of a materialised directory, in planner/macros.h's order. */
static void ctx_of(const char *dir, const char *versions, struct planner_macro_ctx *ctx)
{
	char *p;

	memset(ctx, 0, sizeof(*ctx));
	ctx->dir = sy_xstrdup(dir);
	add_glob(&ctx->macro_files, dir, "macros");
	add_glob(&ctx->macro_files, dir, "macros.*");
	add_glob(&ctx->macro_files, dir, "shipped/*");
	add_glob(&ctx->macro_files, dir, "generated/macros.dist");
	if (versions)
		sy_strv_push(&ctx->macro_files, versions);
	p = sy_xasprintf("%s/rpmrc", dir);
	if (access(p, R_OK) == 0)
		ctx->rpmrc = p;
	else
		free(p);
	p = sy_xasprintf("%s/lua", dir);
	if (access(p, R_OK) == 0)
		ctx->lua_dir = p;
	else
		free(p);
	ctx->target_arch = sy_xstrdup("x86_64");
}

static int parse_one(void *arg)
{
	const char *spec = arg;
	char *dir = sy_xstrndup(spec, (size_t)(strrchr(spec, '/') - spec));
	rpmSpec s;

	rpmPushMacro(NULL, "_sourcedir", NULL, dir, RMIL_CMDLINE);
	rpmPushMacro(NULL, "_specdir", NULL, dir, RMIL_CMDLINE);
	s = rpmSpecParse(spec, RPMSPEC_ANYARCH | RPMSPEC_FORCE, NULL);
	_exit(s ? 0 : 1);
}

int main(int argc, char **argv)
{
	const char *ctxdir = NULL, *tree = NULL, *versions = NULL;
	int jobs = 2, failed = 0;
	struct planner_macro_ctx ctx;
	struct sy_error err = { { 0 } };
	struct sy_strv specs = SY_STRV_INIT;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--ctx"))
			ctxdir = argv[i + 1];
		else if (!strcmp(argv[i], "--tree"))
			tree = argv[i + 1];
		else if (!strcmp(argv[i], "--versions"))
			versions = argv[i + 1];
		else if (!strcmp(argv[i], "--jobs"))
			jobs = atoi(argv[i + 1]);
	}
	if (!ctxdir || !tree || jobs < 1) {
		fprintf(stderr, "usage: spec-floor --ctx DIR --tree DIR [--versions FILE] [--jobs N]\n");
		return 2;
	}
	ctx_of(ctxdir, versions, &ctx);
	rpmlogSetCallback(quiet, NULL);
	if (planner_macro_ctx_apply(&ctx, &err)) {
		fprintf(stderr, "spec-floor: %s\n", err.msg);
		return 1;
	}
	add_glob(&specs, tree, "SPECS*/*/*.spec");

	struct sy_child *pool = sy_xcalloc((size_t)jobs, sizeof(*pool));
	struct sy_child **run = sy_xcalloc((size_t)jobs, sizeof(*run));
	size_t next = 0, nrun = 0;
	double t0 = sy_now_s();

	while (next < specs.n || nrun) {
		while (nrun < (size_t)jobs && next < specs.n) {
			struct sy_child *c = NULL;

			for (int k = 0; k < jobs && !c; k++) {
				int used = 0;

				for (size_t r = 0; r < nrun; r++)
					used |= run[r] == &pool[k];
				if (!used)
					c = &pool[k];
			}
			*c = (struct sy_child)SY_CHILD_INIT;
			c->child_fn = parse_one;
			c->child_arg = specs.items[next++];
			c->log_fd = SY_CHILD_DEVNULL;
			if (sy_child_start(c, &err)) {
				fprintf(stderr, "spec-floor: %s\n", err.msg);
				return 1;
			}
			run[nrun++] = c;
		}
		int i = sy_child_wait_any(run, nrun, -1);

		if (i < 0)
			continue;
		failed += run[i]->status != 0;
		sy_child_release(run[i]);
		run[i] = run[--nrun];
	}
	double wall = sy_now_s() - t0;
	struct rusage ru;

	getrusage(RUSAGE_CHILDREN, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		     (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	printf("bench/floor: %zu specs, %d parallel: one librpm parse each: wall %.1f s, "
	       "CPU %.1f s (%.1f ms per spec), %d did not parse\n",
	       specs.n, jobs, wall, cpu, specs.n ? cpu * 1000 / (double)specs.n : 0, failed);
	free(pool);
	free(run);
	sy_strv_release(&specs);
	planner_macro_ctx_release(&ctx);
	return 0;
}
