#include "repo-publish/contents.h"

#include <stdlib.h>
#include <string.h>

#include <solv/chksum.h>
#include <solv/pool.h>
#include <solv/repo.h>

#include "sandbox/solvload.h"

static char *dup_or_empty(const char *s)
{
	return sy_xstrdup(s ? s : "");
}

/* Splits "[E:]V-R" into its three parts (epoch "0" when absent). */
static void split_evr(const char *evr, struct state_release_package *p)
{
	const char *colon = strchr(evr, ':'), *v = colon ? colon + 1 : evr;
	const char *dash = strrchr(v, '-');

	p->epoch = colon ? sy_xstrndup(evr, (size_t)(colon - evr)) : sy_xstrdup("0");
	p->version = dash ? sy_xstrndup(v, (size_t)(dash - v)) : sy_xstrdup(v);
	p->release = sy_xstrdup(dash ? dash + 1 : "");
}

/* A location that stays inside the snapshot: relative, no "..". */
static int inside(const char *loc)
{
	return loc && loc[0] != '/' && strcmp(loc, "..") && strncmp(loc, "../", 3) &&
	       !strstr(loc, "/../") && (strlen(loc) < 3 || strcmp(loc + strlen(loc) - 3, "/.."));
}

static int fill(Pool *pool, Solvable *s, struct state_release_package *p, struct sy_error *err)
{
	Id type = 0;
	const char *sum = solvable_lookup_checksum(s, SOLVABLE_CHECKSUM, &type);
	const char *loc = solvable_lookup_location(s, NULL);

	p->name = sy_xstrdup(pool_id2str(pool, s->name));
	split_evr(pool_id2str(pool, s->evr), p);
	p->arch = sy_xstrdup(pool_id2str(pool, s->arch));
	p->sha256 = dup_or_empty(type == REPOKEY_TYPE_SHA256 ? sum : NULL);
	p->license = dup_or_empty(solvable_lookup_str(s, SOLVABLE_LICENSE));
	p->sourcerpm = dup_or_empty(solvable_lookup_sourcepkg(s));
	p->file = dup_or_empty(loc);
	if (!inside(loc))
		return sy_error_set(err, "%s: location of %s leaves the snapshot", s->repo->name,
				    p->name);
	return 0;
}

static int cmp_package(const void *a, const void *b)
{
	const struct state_release_package *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->arch, y->arch);
}

int repo_publish_snapshot_packages(const char *snapshot, struct repo_publish_packages *out,
				   struct sy_error *err)
{
	Pool *pool = pool_create();
	Repo *repo;
	Solvable *s;
	Id id;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	pool_setdisttype(pool, DISTTYPE_RPM);
	repo = sandbox_solv_add_repodata(pool, snapshot, err);
	if (!repo) {
		pool_free(pool);
		return -1;
	}
	out->items = sy_xcalloc((size_t)repo->nsolvables + 1, sizeof(*out->items));
	FOR_REPO_SOLVABLES(repo, id, s)
	{
		if (rc == 0)
			rc = fill(pool, s, &out->items[out->n], err);
		out->n++;
	}
	if (rc == 0)
		qsort(out->items, out->n, sizeof(*out->items), cmp_package);
	pool_free(pool);
	if (rc)
		repo_publish_packages_release(out);
	return rc;
}

void repo_publish_packages_release(struct repo_publish_packages *out)
{
	for (size_t i = 0; i < out->n; i++)
		state_release_package_release(&out->items[i]);
	free(out->items);
	memset(out, 0, sizeof(*out));
}
