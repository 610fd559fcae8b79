#include "pipeline/gc.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "builder/rpmroot.h"
#include "builder/worker.h"
#include "builder/workercache.h"
#include "common/fs.h"
#include "imager/images.h"
#include "repo-publish/contents.h"
#include "repo-publish/publish.h"
#include "repo-publish/retention.h"
#include "repo-publish/sign.h"
#include "state/kv.h"
#include "state/layout.h"
#include "state/release.h"

/* The snapshots that stay whatever the limits say, per channel. */
struct keeps {
	struct sy_strv channels;         /* channel of each keep */
	struct repo_publish_keep *items; /* parallel to channels */
	size_t n;
};

static void keeps_add(struct keeps *k, const char *channel, const char *id, char *why)
{
	for (size_t i = 0; i < k->n; i++)
		if (!strcmp(k->channels.items[i], channel) && !strcmp(k->items[i].id, id)) {
			free(why);
			return;
		}
	sy_strv_push(&k->channels, channel);
	k->items = sy_xrealloc(k->items, (k->n + 1) * sizeof(*k->items));
	k->items[k->n++] = (struct repo_publish_keep){ sy_xstrdup(id), why };
}

static void keeps_release(struct keeps *k)
{
	for (size_t i = 0; i < k->n; i++) {
		free(k->items[i].id);
		free(k->items[i].why);
	}
	free(k->items);
	sy_strv_release(&k->channels);
}

/* The checksums ("sha256:<hex>") of the packages of one snapshot, sorted;
 * none when its repodata cannot be read. */
static void snapshot_checksums(const char *snapshot, struct sy_strv *sums)
{
	struct repo_publish_packages pkgs = REPO_PUBLISH_PACKAGES_INIT;

	if (repo_publish_snapshot_packages(snapshot, &pkgs, NULL) == 0)
		for (size_t i = 0; i < pkgs.n; i++)
			sy_strv_pushf(sums, "sha256:%s", pkgs.items[i].sha256);
	sy_strv_sort_unique(sums);
	repo_publish_packages_release(&pkgs);
}

/* Keeps, for the root digest built from channel (and maybe other
 * repositories), the newest snapshot of channel that holds every package
 * of the root that any snapshot of channel holds: the one the root can be
 * made again from. */
static void keep_root_source(const char *state, const char *digest, const char *channel,
			     const struct sy_strv *checksums, struct keeps *k)
{
	char *repos = state_repos_dir(state);
	struct sy_strv ids = SY_STRV_INIT, mine = SY_STRV_INIT;
	struct sy_strv *sums;

	repo_publish_list_snapshots(repos, channel, &ids);
	sums = sy_xcalloc(ids.n + 1, sizeof(*sums));
	for (size_t i = 0; i < ids.n; i++) {
		char *snap = sy_xasprintf("%s/%s/snapshots/%s", repos, channel, ids.items[i]);
		snapshot_checksums(snap, &sums[i]);
		free(snap);
	}
	/* The root's packages that came from this channel. */
	for (size_t c = 0; c < checksums->n; c++)
		for (size_t i = 0; i < ids.n; i++)
			if (sy_strv_contains(&sums[i], checksums->items[c])) {
				sy_strv_push(&mine, checksums->items[c]);
				break;
			}
	for (size_t i = ids.n; mine.n && i-- > 0;) {
		int all = 1;
		for (size_t c = 0; all && c < mine.n; c++)
			all = sy_strv_contains(&sums[i], mine.items[c]);
		if (all) {
			keeps_add(k, channel, ids.items[i],
				  sy_xasprintf("worker root %.12s was built from it", digest));
			break;
		}
	}
	for (size_t i = 0; i < ids.n; i++)
		sy_strv_release(&sums[i]);
	free(sums);
	sy_strv_release(&mine);
	sy_strv_release(&ids);
	free(repos);
}

/* Adds the snapshots the rpm roots of cache were built from to k. */
static void keep_worker_sources(const char *state, const char *cache, struct keeps *k)
{
	struct builder_worker_entry *roots = NULL;
	size_t n = 0;

	if (builder_worker_list(cache, &roots, &n, NULL))
		return;
	for (size_t r = 0; r < n; r++) {
		char *dir = sy_xasprintf("%s/%s", cache, roots[r].digest);
		char *path = sy_xasprintf("%s/manifest", dir);
		struct builder_worker_manifest m;
		struct sy_strv nevras = SY_STRV_INIT, sums = SY_STRV_INIT;
		if (builder_worker_manifest_read(path, &m, NULL) == 0) {
			if (m.kind == BUILDER_WORKER_RPM &&
			    builder_rpmroot_read_packages(dir, &nevras, &sums, NULL) == 1)
				for (size_t i = 0; i < m.repos.n; i++)
					if (!strncmp(m.repos.items[i], "channel:", 8))
						keep_root_source(state, roots[r].digest,
								 m.repos.items[i] + 8, &sums, k);
			builder_worker_manifest_release(&m);
		}
		sy_strv_release(&nevras);
		sy_strv_release(&sums);
		free(path);
		free(dir);
	}
	builder_worker_entries_free(roots, n);
}

/* Adds the snapshots that releases of an older shipyard link to (their
 * release.json names the snapshot's path; their repo is a link to it)
 * to k: new releases are copies and keep nothing. */
static void keep_linked_by_releases(const char *state, struct keeps *k)
{
	struct sy_strv repos = SY_STRV_INIT, names = SY_STRV_INIT;
	char *dir = state_repos_dir(state), *real = realpath(dir, NULL);
	size_t n = real ? strlen(real) : 0;

	state_release_list(state, &repos, &names);
	for (size_t i = 0; real && i < names.n; i++) {
		struct state_release rel;
		if (state_release_read(state, repos.items[i], names.items[i], &rel, NULL) != 1)
			continue;
		/* "<repos>/<channel>/snapshots/<id>" */
		const char *s = rel.snapshot, *rest = s && !strncmp(s, real, n) && s[n] == '/'
							      ? s + n + 1
							      : NULL;
		const char *mid = rest ? strstr(rest, "/snapshots/") : NULL;
		if (mid && mid > rest && !strchr(mid + 11, '/') && mid[11]) {
			char *channel = sy_xstrndup(rest, (size_t)(mid - rest));
			if (!strchr(channel, '/'))
				keeps_add(k, channel, mid + 11,
					  sy_xasprintf("release %s/%s links to it", rel.repo, rel.name));
			free(channel);
		}
		state_release_release(&rel);
	}
	sy_strv_release(&repos);
	sy_strv_release(&names);
	free(real);
	free(dir);
}

/* The channels of the state directory: the directories of <state>/repos. */
static void list_channels(const char *state, struct sy_strv *channels)
{
	char *repos = state_repos_dir(state);
	struct sy_strv names = SY_STRV_INIT;

	sy_list_dir(repos, &names);
	for (size_t i = 0; i < names.n; i++) {
		char *dir = state_channel_dir(state, names.items[i]);
		if (sy_is_dir(dir))
			sy_strv_push(channels, names.items[i]);
		free(dir);
	}
	sy_strv_release(&names);
	free(repos);
}

static int collect_snapshots(const struct pipeline_gc_request *req, const struct keeps *k,
			     struct pipeline_gc_report *rep, struct sy_error *err)
{
	struct sy_strv channels = SY_STRV_INIT;
	int rc = 0;

	list_channels(req->state, &channels);
	for (size_t c = 0; c < channels.n; c++) {
		const char *channel = channels.items[c];
		struct repo_publish_keep *mine = sy_xcalloc(k->n + 1, sizeof(*mine));
		struct repo_publish_gc_result res = { SY_STRV_INIT, SY_STRV_INIT };
		struct sy_error e = { { 0 } };
		size_t n = 0;
		for (size_t i = 0; i < k->n; i++)
			if (!strcmp(k->channels.items[i], channel))
				mine[n++] = k->items[i];
		int got = repo_publish_gc_channel(req->state, channel, &req->limits->snapshots, mine, n,
						  req->wait, &res, &e);
		if (got == -2)
			sy_strv_pushf(&rep->skipped, "channel %s: a publication is running", channel);
		else if (got < 0 && rc == 0)
			rc = sy_error_set(err, "%s", e.msg);
		for (size_t i = 0; i < res.removed.n; i++)
			sy_strv_pushf(&rep->removed, "snapshot %s/%s", channel, res.removed.items[i]);
		for (size_t i = 0; i < res.kept.n; i++)
			sy_strv_pushf(&rep->kept, "snapshot %s/%s", channel, res.kept.items[i]);
		repo_publish_gc_result_release(&res);
		free(mine);
	}
	sy_strv_release(&channels);
	return rc;
}

/* Moves the unkept of things (paths[i], named names[i]) to the trash,
 * reporting each as "<kind> <label>". */
static int collect(const char *state, const char *kind, const char *prefix,
		   struct state_retention_item *items, const struct sy_strv *paths,
		   const struct state_retention_limit *limit, struct pipeline_gc_report *rep,
		   struct sy_error *err)
{
	size_t n = paths->n;
	unsigned char *remove = sy_xcalloc(n + 1, 1), *alone = sy_xcalloc(n + 1, 1);
	struct state_retention_item *bare = sy_xcalloc(n + 1, sizeof(*bare));
	time_t now = time(NULL);
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		bare[i] = items[i];
		bare[i].kept_by = NULL;
	}
	state_retention_select(items, n, limit, now, remove);
	state_retention_select(bare, n, limit, now, alone);
	for (size_t i = 0; i < n; i++) {
		if (!remove[i]) {
			if (alone[i])
				sy_strv_pushf(&rep->kept, "%s %s%s: %s", kind, prefix, items[i].name,
					      items[i].kept_by);
			continue;
		}
		struct sy_error e = { { 0 } };
		int moved = state_trash_move(state, paths->items[i], &e);
		if (moved == 1)
			sy_strv_pushf(&rep->removed, "%s %s%s", kind, prefix, items[i].name);
		else if (moved == 0 && sy_exists(paths->items[i]))
			sy_strv_pushf(&rep->kept, "%s %s%s: held by a running pipeline or release",
				      kind, prefix, items[i].name);
		else if (moved < 0 && rc == 0)
			rc = sy_error_set(err, "%s", e.msg);
	}
	free(bare);
	free(alone);
	free(remove);
	return rc;
}

static int collect_images(const struct pipeline_gc_request *req, struct pipeline_gc_report *rep,
			  struct sy_error *err)
{
	struct sy_strv configs = SY_STRV_INIT;
	int rc = 0;

	imager_list_configs(req->state, &configs);
	for (size_t c = 0; c < configs.n; c++) {
		const char *config = configs.items[c];
		char *latest = imager_latest_id(req->state, config);
		char *prefix = sy_xasprintf("%s/", config);
		struct sy_strv ids = SY_STRV_INIT, paths = SY_STRV_INIT;
		imager_list_builds(req->state, config, &ids);
		struct state_retention_item *items = sy_xcalloc(ids.n + 1, sizeof(*items));
		for (size_t i = 0; i < ids.n; i++) {
			sy_strv_push_owned(&paths, imager_build_dir(req->state, config, ids.items[i]));
			items[i] = (struct state_retention_item){
				ids.items[i], state_retention_time(ids.items[i], paths.items[i]),
				latest && !strcmp(latest, ids.items[i]) ? "the config's latest build"
									: NULL,
			};
		}
		if (collect(req->state, "image", prefix, items, &paths, &req->limits->images, rep,
			    err) && rc == 0)
			rc = -1;
		free(items);
		sy_strv_release(&paths);
		sy_strv_release(&ids);
		free(prefix);
		free(latest);
	}
	sy_strv_release(&configs);
	return rc;
}

static int collect_pipelines(const struct pipeline_gc_request *req,
			     struct pipeline_gc_report *rep, struct sy_error *err)
{
	char *root = state_pipelines_dir(req->state);
	struct sy_strv names = SY_STRV_INIT, paths = SY_STRV_INIT;
	struct state_retention_item *items;
	int rc;

	sy_list_dir(root, &names);
	items = sy_xcalloc(names.n + 1, sizeof(*items));
	for (size_t i = 0; i < names.n; i++) {
		char *dir = state_pipeline_dir(req->state, names.items[i]);
		if (!sy_is_dir(dir)) {
			free(dir);
			continue;
		}
		size_t k = paths.n;
		sy_strv_push_owned(&paths, dir);
		/* Run ids are numbers or run-<time>-<pid>: the directory's
		 * time says when the run last wrote there. */
		items[k] = (struct state_retention_item){ names.items[i],
							  state_retention_time("", paths.items[k]),
							  NULL };
	}
	rc = collect(req->state, "pipeline", "", items, &paths, &req->limits->pipelines, rep, err);
	free(items);
	sy_strv_release(&paths);
	sy_strv_release(&names);
	free(root);
	return rc;
}

/* Removes the signed copies nothing links to any more, with every
 * channel's lock held: a publication signs and links copies under its
 * channel's lock. Run after the trash is emptied, which drops the links
 * of the snapshots just collected. */
static int collect_signed(const struct pipeline_gc_request *req, struct pipeline_gc_report *rep,
			  struct sy_error *err)
{
	struct sy_strv channels = SY_STRV_INIT, removed = SY_STRV_INIT;
	int *locks, rc = 0;
	size_t n = 0;

	list_channels(req->state, &channels);
	locks = sy_xcalloc(channels.n + 1, sizeof(*locks));
	for (; n < channels.n; n++) {
		locks[n] = repo_publish_lock_channel(req->state, channels.items[n], req->wait, err);
		if (locks[n] < 0)
			break;
	}
	if (n < channels.n && locks[n] == -2)
		sy_strv_pushf(&rep->skipped, "signed copies: a publication of %s is running",
			      channels.items[n]);
	else if (n < channels.n)
		rc = -1;
	else
		rc = repo_signed_collect(req->state, &removed, err);
	for (size_t i = 0; i < removed.n; i++)
		sy_strv_pushf(&rep->removed, "signed %s", removed.items[i]);
	for (size_t i = 0; i < n; i++)
		close(locks[i]);
	free(locks);
	sy_strv_release(&removed);
	sy_strv_release(&channels);
	return rc;
}

/* Removes the kv store's values no plan used for limits->cache_days
 * (state/kv.h): one report line for all. */
static int collect_kv(const struct pipeline_gc_request *req, struct pipeline_gc_report *rep,
		      struct sy_error *err)
{
	struct state_kv_collected c;
	char *db = state_db_path(req->state);
	int rc = state_kv_collect(db, req->limits->cache_days, time(NULL), &c, err);

	if (c.rows || c.files)
		sy_strv_pushf(&rep->removed, "cache values unused for %u days: %zu rows, %zu "
			      "files (%.1f MB)", req->limits->cache_days, c.rows, c.files,
			      (double)c.bytes / 1e6);
	free(db);
	return rc;
}

int pipeline_gc_run(const struct pipeline_gc_request *req, struct pipeline_gc_report *rep,
		    struct sy_error *err)
{
	struct keeps k = { SY_STRV_INIT, NULL, 0 };
	struct sy_error e = { { 0 } };
	int lock = state_gc_lock(req->state, req->wait, err), rc = 0;

	if (lock < 0)
		return lock;
	state_trash_empty(req->state, NULL);
	char *own = state_worker_dir(req->state);
	keep_worker_sources(req->state, own, &k);
	free(own);
	for (size_t i = 0; req->worker_caches && req->worker_caches[i]; i++)
		keep_worker_sources(req->state, req->worker_caches[i], &k);
	keep_linked_by_releases(req->state, &k);
	if (collect_snapshots(req, &k, rep, &e) && rc == 0)
		rc = sy_error_set(err, "%s", e.msg);
	if (collect_images(req, rep, &e) && rc == 0)
		rc = sy_error_set(err, "%s", e.msg);
	if (collect_pipelines(req, rep, &e) && rc == 0)
		rc = sy_error_set(err, "%s", e.msg);
	if (state_trash_empty(req->state, &e) && rc == 0)
		rc = sy_error_set(err, "%s", e.msg);
	if (collect_signed(req, rep, &e) && rc == 0)
		rc = sy_error_set(err, "%s", e.msg);
	if (collect_kv(req, rep, &e) && rc == 0)
		rc = sy_error_set(err, "%s", e.msg);
	keeps_release(&k);
	close(lock);
	return rc;
}

void pipeline_gc_report_release(struct pipeline_gc_report *rep)
{
	sy_strv_release(&rep->removed);
	sy_strv_release(&rep->kept);
	sy_strv_release(&rep->skipped);
}
