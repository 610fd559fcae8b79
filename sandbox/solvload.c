#include "sandbox/solvload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <solv/chksum.h>
#include <solv/knownid.h>
#include <solv/poolarch.h>
#include <solv/repo_repomdxml.h>
#include <solv/repo_rpmmd.h>
#include <solv/selection.h>
#include <solv/solv_xfopen.h>
#include <solv/solver.h>
#include <solv/transaction.h>

#include "common/strv.h"

/* Returns the location of repomd.xml's record of the given type ("primary"),
 * as libsolv's own examples find it, or NULL. */
static const char *repomd_location(Pool *pool, Repo *repo, const char *type)
{
	Dataiterator di;
	const char *loc = NULL;

	dataiterator_init(&di, pool, repo, SOLVID_META, REPOSITORY_REPOMD_TYPE, type,
			  SEARCH_STRING);
	dataiterator_prepend_keyname(&di, REPOSITORY_REPOMD);
	if (dataiterator_step(&di)) {
		dataiterator_setpos_parent(&di);
		loc = pool_lookup_str(pool, SOLVID_POS, REPOSITORY_REPOMD_LOCATION);
	}
	dataiterator_free(&di);
	return loc;
}

/* Adds the rpm-md file of the given type to repo (flags: libsolv repo_add flags). */
static int load_rpmmd(Pool *pool, Repo *repo, const char *repo_dir, const char *type, int flags,
		      int required, struct sy_error *err)
{
	const char *loc = repomd_location(pool, repo, type);
	char *path;
	FILE *fp;
	int rc = 0;

	if (!loc)
		return required ? sy_error_set(err, "%s/repodata/repomd.xml: no %s record",
					       repo_dir, type) : 0;
	path = sy_xasprintf("%s/%s", repo_dir, loc);
	fp = solv_xfopen(path, "r");
	if (!fp)
		rc = sy_error_set(err, "%s: cannot open: %s", path, strerror(errno));
	else if (repo_add_rpmmd(repo, fp, NULL, flags) != 0)
		rc = sy_error_set(err, "%s: %s", path, pool_errstr(pool));
	if (fp)
		fclose(fp);
	free(path);
	return rc;
}

/* 1 when loc is a relative path that stays inside the repository. */
static int inside_repo(const char *loc)
{
	if (!loc[0] || loc[0] == '/')
		return 0;
	for (const char *p = loc; p; p = strchr(p, '/'), p = p ? p + 1 : NULL)
		if (!strncmp(p, "..", 2) && (p[2] == '/' || p[2] == '\0'))
			return 0;
	return 1;
}

int sandbox_solv_repomd_files(const char *repomd_path, struct sy_strv *locations,
			      struct sy_error *err)
{
	static const char *const types[] = { "primary", "filelists" };
	Pool *pool = pool_create();
	Repo *repo = repo_create(pool, "repomd");
	FILE *fp = fopen(repomd_path, "r");
	int rc = 0;

	if (!fp)
		rc = sy_error_set(err, "%s: cannot open: %s", repomd_path, strerror(errno));
	else if (repo_add_repomdxml(repo, fp, 0) != 0)
		rc = sy_error_set(err, "%s: %s", repomd_path, pool_errstr(pool));
	if (fp)
		fclose(fp);
	for (size_t i = 0; rc == 0 && i < sizeof(types) / sizeof(types[0]); i++) {
		const char *loc = repomd_location(pool, repo, types[i]);
		if (!loc && i == 0)
			rc = sy_error_set(err, "%s: no primary record", repomd_path);
		else if (loc && !inside_repo(loc))
			rc = sy_error_set(err, "%s: %s location \"%s\" leaves the repository",
					  repomd_path, types[i], loc);
		else if (loc)
			sy_strv_push(locations, loc);
	}
	pool_free(pool);
	return rc;
}

Repo *sandbox_solv_add_repodata(Pool *pool, const char *repo_dir, struct sy_error *err)
{
	char *repomd = sy_xasprintf("%s/repodata/repomd.xml", repo_dir);
	Repo *repo = repo_create(pool, repo_dir);
	FILE *fp = fopen(repomd, "r");
	int rc = 0;

	if (!fp)
		rc = sy_error_set(err, "%s: cannot open: %s", repomd, strerror(errno));
	else if (repo_add_repomdxml(repo, fp, 0) != 0)
		rc = sy_error_set(err, "%s: %s", repomd, pool_errstr(pool));
	if (fp)
		fclose(fp);
	if (rc == 0)
		rc = load_rpmmd(pool, repo, repo_dir, "primary", 0, 1, err);
	/* File lists make file dependencies outside primary's short list resolvable. */
	if (rc == 0)
		rc = load_rpmmd(pool, repo, repo_dir, "filelists", REPO_EXTEND_SOLVABLES, 0, err);
	free(repomd);
	if (rc) {
		repo_free(repo, 1);
		return NULL;
	}
	return repo;
}

/* ---- install closures ---- */

/* Creates a pool for arch holding the repositories, ready to solve. */
static Pool *closure_pool(const char *const *repo_dirs, const char *arch, struct sy_error *err)
{
	Pool *pool = pool_create();

	pool_setdisttype(pool, DISTTYPE_RPM);
	pool_setarch(pool, arch);
	for (size_t i = 0; repo_dirs[i]; i++) {
		if (!sandbox_solv_add_repodata(pool, repo_dirs[i], err)) {
			pool_free(pool);
			return NULL;
		}
	}
	pool_addfileprovides(pool);
	pool_createwhatprovides(pool);
	return pool;
}

/* Appends an install job per package spec; specs that match nothing go to
 * missing. */
static void closure_jobs(Pool *pool, const char *const *wanted, const char *first, Queue *job,
			 struct sy_strv *missing)
{
	const int flags = SELECTION_NAME | SELECTION_PROVIDES | SELECTION_REL | SELECTION_DOTARCH |
			  SELECTION_CANON;
	Queue sel;

	queue_init(&sel);
	if (first && selection_make(pool, &sel, first, SELECTION_NAME) && sel.count)
		for (int i = 0; i < sel.count; i += 2)
			queue_push2(job, SOLVER_INSTALL | sel.elements[i], sel.elements[i + 1]);
	for (size_t p = 0; wanted[p]; p++) {
		queue_empty(&sel);
		selection_make(pool, &sel, wanted[p], flags);
		if (sel.count == 0) {
			sy_strv_push(missing, wanted[p]);
			continue;
		}
		for (int i = 0; i < sel.count; i += 2)
			queue_push2(job, SOLVER_INSTALL | sel.elements[i], sel.elements[i + 1]);
	}
	queue_free(&sel);
}

/* Sets err to prefix and items joined with sep. Returns -1. */
static int join_error(struct sy_error *err, const char *prefix, const struct sy_strv *items,
		      const char *sep)
{
	size_t len = (size_t)snprintf(err->msg, sizeof(err->msg), "%s", prefix);

	for (size_t i = 0; i < items->n && len < sizeof(err->msg); i++)
		len += (size_t)snprintf(err->msg + len, sizeof(err->msg) - len, "%s%s",
					i ? sep : "", items->items[i]);
	return -1;
}

static int solver_problems(Solver *solv, struct sy_error *err)
{
	struct sy_strv problems = SY_STRV_INIT;
	Id count = solver_problem_count(solv);

	for (Id p = 1; p <= count; p++)
		sy_strv_push(&problems, solver_problem2str(solv, p));
	join_error(err, "", &problems, "; ");
	sy_strv_release(&problems);
	return -1;
}

static int cmp_pkg(const void *a, const void *b)
{
	return strcmp(((const struct sandbox_solv_pkg *)a)->nevra,
		      ((const struct sandbox_solv_pkg *)b)->nevra);
}

/* Appends the names of what s provides to names. */
static void provided_names(Pool *pool, Solvable *s, struct sy_strv *names)
{
	Queue q;

	queue_init(&q);
	solvable_lookup_deparray(s, SOLVABLE_PROVIDES, &q, -1);
	for (int i = 0; i < q.count; i++) {
		Id dep = q.elements[i];
		while (ISRELDEP(dep))
			dep = GETRELDEP(pool, dep)->name;
		sy_strv_push(names, pool_id2str(pool, dep));
	}
	queue_free(&q);
	sy_strv_sort_unique(names);
}

/* Fills out from the solver's transaction, sorted by NEVRA. Refuses (out
 * emptied) a package whose location leaves its repository: repodata can
 * come from a server. */
static int collect_closure(Pool *pool, Solver *solv, struct sandbox_solv_closure *out,
			   struct sy_error *err)
{
	int rc = 0;

	Transaction *trans = solver_create_transaction(solv);
	int n = trans->steps.count;

	out->pkgs = sy_xcalloc((size_t)n + 1, sizeof(*out->pkgs));
	out->n = (size_t)n;
	for (int i = 0; i < n; i++) {
		Solvable *s = pool_id2solvable(pool, trans->steps.elements[i]);
		struct sandbox_solv_pkg *pkg = &out->pkgs[i];
		Id type = 0;
		const char *sum = solvable_lookup_checksum(s, SOLVABLE_CHECKSUM, &type);

		const char *loc = solvable_lookup_location(s, NULL);

		pkg->name = sy_xstrdup(pool_id2str(pool, s->name));
		pkg->nevra = sy_xstrdup(pool_solvable2str(pool, s));
		if (rc == 0 && (!loc || !inside_repo(loc)))
			rc = sy_error_set(err, "%s: location of %s leaves the repository",
					  s->repo->name, pkg->nevra);
		/* The repo's name is its directory (sandbox_solv_add_repodata). */
		pkg->path = sy_xasprintf("%s/%s", s->repo->name, loc ? loc : "");
		pkg->checksum = sum ? sy_xasprintf("%s:%s", solv_chksum_type2str(type), sum)
				    : sy_xstrdup("none");
		provided_names(pool, s, &pkg->provides);
	}
	qsort(out->pkgs, out->n, sizeof(*out->pkgs), cmp_pkg);
	transaction_free(trans);
	if (rc)
		sandbox_solv_closure_release(out);
	return rc;
}

int sandbox_solv_closure(const char *const *repo_dirs, const char *const *wanted,
			 const char *first, const char *arch, struct sandbox_solv_closure *out,
			 struct sy_error *err)
{
	struct sy_strv missing = SY_STRV_INIT;
	Pool *pool = closure_pool(repo_dirs, arch, err);
	Solver *solv = NULL;
	Queue job;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!pool)
		return -1;
	queue_init(&job);
	closure_jobs(pool, wanted, first, &job, &missing);
	if (missing.n) {
		rc = join_error(err, "no package provides ", &missing, ", ");
		goto out;
	}
	solv = solver_create(pool);
	solver_set_flag(solv, SOLVER_FLAG_IGNORE_RECOMMENDED, 1);
	if (solver_solve(solv, &job) != 0) {
		rc = solver_problems(solv, err);
		goto out;
	}
	rc = collect_closure(pool, solv, out, err);
out:
	if (solv)
		solver_free(solv);
	queue_free(&job);
	pool_free(pool);
	sy_strv_release(&missing);
	return rc;
}

void sandbox_solv_closure_release(struct sandbox_solv_closure *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->pkgs[i].name);
		free(c->pkgs[i].nevra);
		free(c->pkgs[i].path);
		free(c->pkgs[i].checksum);
		sy_strv_release(&c->pkgs[i].provides);
	}
	free(c->pkgs);
	c->pkgs = NULL;
	c->n = 0;
}
