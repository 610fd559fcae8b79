/* Uploading a channel's current snapshot: what the bucket already holds,
 * what differs, in which order (repo-publish/s3.h). */
#define _GNU_SOURCE
#include "repo-publish/s3.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/strv.h"
#include "common/util.h"
#include "repo-publish/publish.h"
#include "repo-publish/retention.h"
#include "repo-publish/s3-private.h"
#include "state/kv.h"
#include "state/layout.h"

/* The key/value namespace of the MD5 digests of snapshot files. */
#define MD5_NS "s3-md5"

/* One upload: what it reads and where it counts. */
struct sync {
	const struct repo_s3_config *conf;
	char *db;                   /* state database, for MD5_NS */
	struct s3_client *client;
	struct repo_s3_listing remote;
	struct repo_s3_objects objects;
	struct repo_s3_report *rep;
};

/* Refuses a credentials file inside the state directory: its repositories
 * are served and its files reach builds. */
static int check_credentials_place(const char *credentials, const char *state,
				   struct sy_error *err)
{
	char cred[PATH_MAX], dir[PATH_MAX];
	size_t n;

	if (!realpath(credentials, cred))
		return sy_error_set(err, "publish.s3.credentials '%s': %s", credentials,
				    strerror(errno));
	if (!realpath(state, dir))
		return sy_error_set(err, "%s: %s", state, strerror(errno));
	n = strlen(dir);
	if (!strncmp(cred, dir, n) && (cred[n] == '/' || cred[n] == '\0' || n == 1))
		return sy_error_set(err, "publish.s3.credentials '%s': inside the state directory "
				    "%s; keep it where neither builds nor /repos/ reach", credentials,
				    state);
	return 0;
}

/* The cache key of the file's MD5: device, inode, size and mtime. Not
 * ctime: every snapshot hard-links its packages anew, which sets it. Files
 * under the state directory are written once and never changed in place. */
static char *md5_key(const struct stat *st)
{
	return sy_xasprintf("%lu:%lu:%lld:%lld.%09ld", (unsigned long)st->st_dev,
			    (unsigned long)st->st_ino, (long long)st->st_size,
			    (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
}

/* The remembered MD5 of path into md5, or 0 when none is. */
static int cached_md5(const struct sync *s, const char *path, char md5[33])
{
	struct stat st;
	char *key, *data = NULL;
	size_t len = 0;
	int found;

	if (stat(path, &st) < 0)
		return 0;
	key = md5_key(&st);
	found = state_kv_get(s->db, MD5_NS, key, &data, &len, NULL) == 1 && len == 32;
	if (found)
		memcpy(md5, data, 33);
	free(data);
	free(key);
	return found;
}

static void remember_md5(const struct sync *s, const char *path, const char *md5)
{
	struct stat st;

	if (stat(path, &st) == 0) {
		char *key = md5_key(&st);
		state_kv_put(s->db, MD5_NS, key, md5, 32, NULL);
		free(key);
	}
}

/* Uploads o unless the bucket holds it already. */
static int sync_object(struct sync *s, const struct repo_s3_object *o, struct sy_error *err)
{
	const struct repo_s3_remote *r = repo_s3_listing_find(&s->remote, o->key);
	struct s3_digests d;
	char md5[33];

	if (r && r->size == o->size && cached_md5(s, o->path, md5) && !strcmp(md5, r->etag))
		return 0;
	if (s3_digest_file(o->path, &d, err))
		return -1;
	remember_md5(s, o->path, d.md5);
	if (r && r->size == d.size && !strcmp(d.md5, r->etag))
		return 0;
	if (s3_put_file(s->client, o->path, o->key, &d, err))
		return -1;
	s->rep->uploaded++;
	s->rep->bytes += d.size;
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Counts the listed objects the snapshot does not hold. */
static size_t count_stale(const struct sync *s)
{
	const char **keys = sy_xcalloc(s->objects.n + 1, sizeof(*keys));
	size_t stale = 0;

	for (size_t i = 0; i < s->objects.n; i++)
		keys[i] = s->objects.items[i].key;
	if (s->objects.n)
		qsort(keys, s->objects.n, sizeof(*keys), cmp_key);
	for (size_t i = 0; i < s->remote.n; i++) {
		const char *key = s->remote.items[i].key;
		if (!s->objects.n || !bsearch(&key, keys, s->objects.n, sizeof(*keys), cmp_key))
			stale++;
	}
	free(keys);
	return stale;
}

/* Lists, compares and uploads, the channel locked. */
static int sync_snapshot(struct sync *s, const char *base, struct sy_error *err)
{
	char *prefix = sy_xasprintf("%s/", base);
	int rc = repo_s3_objects_list(s->rep->snapshot, base, &s->objects, err) ||
		 s3_client_open(s->conf, &s->client, err) ||
		 s3_list(s->client, prefix, &s->remote, err);

	free(prefix);
	if (rc)
		return -1;
	s->rep->objects = s->objects.n;
	repo_s3_listing_sort(&s->remote);
	for (size_t i = 0; i < s->objects.n; i++)
		if (sync_object(s, &s->objects.items[i], err))
			return -1;
	s->rep->stale = count_stale(s);
	return 0;
}

int repo_s3_publish_channel(const struct repo_s3_config *conf, const char *state,
			    const char *channel, struct repo_s3_report *rep, struct sy_error *err)
{
	struct sync s = { .conf = conf, .rep = rep };
	char *base = NULL, *repos = NULL;
	int lock = -1, rc = -1;

	memset(rep, 0, sizeof(*rep));
	if (check_credentials_place(conf->credentials, state, err) ||
	    repo_s3_key_base(conf, channel, &base, err))
		goto out;
	rep->url = repo_s3_base_url(conf, base);
	lock = repo_publish_lock_channel(state, channel, 1, err);
	if (lock < 0)
		goto out;
	repos = state_repos_dir(state);
	rep->snapshot = repo_publish_current_path(repos, channel);
	s.db = state_db_path(state);
	rc = rep->snapshot ? sync_snapshot(&s, base, err) : 0;
	if (s.client)
		rep->retries = s3_client_retries(s.client);
out:
	if (rc)
		sy_error_prefix(err, "uploading %s", channel);
	if (lock >= 0)
		close(lock);
	s3_client_close(s.client);
	repo_s3_listing_release(&s.remote);
	repo_s3_objects_release(&s.objects);
	free(s.db);
	free(repos);
	free(base);
	return rc;
}

void repo_s3_report_release(struct repo_s3_report *rep)
{
	free(rep->snapshot);
	free(rep->url);
	memset(rep, 0, sizeof(*rep));
}
