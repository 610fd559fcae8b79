#include "sandbox/solvload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <solv/repo_repomdxml.h>
#include <solv/repo_rpmmd.h>
#include <solv/solv_xfopen.h>

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
