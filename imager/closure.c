#include "imager/closure.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <solv/knownid.h>
#include <solv/pool.h>
#include <solv/poolarch.h>
#include <solv/repo.h>
#include <solv/selection.h>
#include <solv/solver.h>
#include <solv/transaction.h>

#include "sandbox/solvload.h"

/* The package the toolkit's imager installs first when the repository has it. */
#define COMPOSE_FIRST_PACKAGE "filesystem"

/* Creates a pool for arch holding the repository at repo_dir. */
static Pool *load_pool(const char *repo_dir, const char *arch, struct sy_error *err)
{
	Pool *pool = pool_create();

	pool_setdisttype(pool, DISTTYPE_RPM);
	pool_setarch(pool, arch);
	if (!sandbox_solv_add_repodata(pool, repo_dir, err)) {
		pool_free(pool);
		return NULL;
	}
	pool_addfileprovides(pool);
	pool_createwhatprovides(pool);
	return pool;
}

/* Appends to job an install job per package spec ("name", "name=1.2-3",
 * "name >= 1.2", "name.arch", a capability). Missing specs go to missing. */
static void add_jobs(Pool *pool, const struct imager_config *cfg, Queue *job,
		     struct sy_strv *missing)
{
	const int flags = SELECTION_NAME | SELECTION_PROVIDES | SELECTION_REL | SELECTION_DOTARCH |
			  SELECTION_CANON;
	Queue sel;

	queue_init(&sel);
	if (selection_make(pool, &sel, COMPOSE_FIRST_PACKAGE, SELECTION_NAME) && sel.count)
		for (int i = 0; i < sel.count; i += 2)
			queue_push2(job, SOLVER_INSTALL | sel.elements[i], sel.elements[i + 1]);
	for (size_t p = 0; p < cfg->packages.n; p++) {
		queue_empty(&sel);
		selection_make(pool, &sel, cfg->packages.items[p], flags);
		if (sel.count == 0) {
			sy_strv_push(missing, cfg->packages.items[p]);
			continue;
		}
		for (int i = 0; i < sel.count; i += 2)
			queue_push2(job, SOLVER_INSTALL | sel.elements[i], sel.elements[i + 1]);
	}
	queue_free(&sel);
}

/* Joins items with sep into err after prefix. Returns -1. */
static int join_error(struct sy_error *err, const char *prefix, const struct sy_strv *items,
		      const char *sep)
{
	size_t len = (size_t)snprintf(err->msg, sizeof(err->msg), "%s", prefix);

	for (size_t i = 0; i < items->n && len < sizeof(err->msg); i++)
		len += (size_t)snprintf(err->msg + len, sizeof(err->msg) - len, "%s%s",
					i ? sep : "", items->items[i]);
	return -1;
}

static int report_problems(Solver *solv, const struct imager_config *cfg, struct sy_error *err)
{
	struct sy_strv problems = SY_STRV_INIT;
	Id count = solver_problem_count(solv);
	char prefix[256];

	for (Id p = 1; p <= count; p++)
		sy_strv_push(&problems, solver_problem2str(solv, p));
	snprintf(prefix, sizeof(prefix), "image %s: ", cfg->name);
	join_error(err, prefix, &problems, "; ");
	sy_strv_release(&problems);
	return -1;
}

/* A package of the closure. */
struct closure_pkg {
	char *nevra; /* name-[epoch:]version-release.arch */
	char *path;  /* RPM file under the repository */
};

static int cmp_closure(const void *a, const void *b)
{
	return strcmp(((const struct closure_pkg *)a)->nevra, ((const struct closure_pkg *)b)->nevra);
}

/* Fills nevras and rpm_paths, sorted by NEVRA, from the solver's transaction. */
static void collect_transaction(Pool *pool, Solver *solv, const char *repo_dir,
				struct sy_strv *nevras, struct sy_strv *rpm_paths)
{
	Transaction *trans = solver_create_transaction(solv);
	int n = trans->steps.count;
	struct closure_pkg *pkgs = sy_xcalloc((size_t)n + 1, sizeof(*pkgs));

	for (int i = 0; i < n; i++) {
		Solvable *s = pool_id2solvable(pool, trans->steps.elements[i]);
		pkgs[i].nevra = sy_xstrdup(pool_solvable2str(pool, s));
		pkgs[i].path = sy_xasprintf("%s/%s", repo_dir, solvable_lookup_location(s, NULL));
	}
	qsort(pkgs, (size_t)n, sizeof(*pkgs), cmp_closure);
	for (int i = 0; i < n; i++) {
		sy_strv_push_owned(nevras, pkgs[i].nevra);
		if (rpm_paths)
			sy_strv_push_owned(rpm_paths, pkgs[i].path);
		else
			free(pkgs[i].path);
	}
	free(pkgs);
	transaction_free(trans);
}

int imager_closure(const struct imager_config *cfg, const char *repo_dir, const char *arch,
		   struct sy_strv *nevras, struct sy_strv *rpm_paths, struct sy_error *err)
{
	struct sy_strv missing = SY_STRV_INIT;
	Pool *pool = load_pool(repo_dir, arch, err);
	Solver *solv = NULL;
	Queue job;
	int rc = 0;

	if (!pool)
		return sy_error_prefix(err, "image %s", cfg->name);
	queue_init(&job);
	add_jobs(pool, cfg, &job, &missing);
	if (missing.n) {
		char prefix[256];
		snprintf(prefix, sizeof(prefix), "image %s: no package provides ", cfg->name);
		rc = join_error(err, prefix, &missing, ", ");
		goto out;
	}
	solv = solver_create(pool);
	solver_set_flag(solv, SOLVER_FLAG_IGNORE_RECOMMENDED, 1);
	if (solver_solve(solv, &job) != 0) {
		rc = report_problems(solv, cfg, err);
		goto out;
	}
	collect_transaction(pool, solv, repo_dir, nevras, rpm_paths);
out:
	if (solv)
		solver_free(solv);
	queue_free(&job);
	pool_free(pool);
	sy_strv_release(&missing);
	return rc;
}
