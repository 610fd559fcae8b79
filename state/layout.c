#include "state/layout.h"
#include "state/record-private.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/strv.h"

char *state_db_path(const char *state)
{
	return sy_xasprintf("%s/state.db", state);
}

char *state_tmp_dir(const char *state)
{
	return sy_xasprintf("%s/tmp", state);
}

char *state_kv_file(const char *state, const char *name)
{
	return sy_xasprintf("%s/tmp/kv/%s", state, name);
}

char *state_worker_dir(const char *state)
{
	return sy_xasprintf("%s/worker", state);
}

char *state_builds_dir(const char *state)
{
	return sy_xasprintf("%s/builds", state);
}

char *state_build_dir(const char *state, const char *name)
{
	return sy_xasprintf("%s/builds/%s", state, name);
}

char *state_sources_dir(const char *state)
{
	return sy_xasprintf("%s/sources", state);
}

char *state_artifacts_dir(const char *state)
{
	return sy_xasprintf("%s/artifacts", state);
}

char *state_artifact_dir(const char *state, const char *key)
{
	return sy_xasprintf("%s/artifacts/%s", state, key);
}

char *state_signed_dir(const char *state, const char *fingerprint)
{
	return sy_xasprintf("%s/signed/%s", state, fingerprint);
}

char *state_repos_dir(const char *state)
{
	return sy_xasprintf("%s/repos", state);
}

char *state_channel_dir(const char *state, const char *channel)
{
	return sy_xasprintf("%s/repos/%s", state, channel);
}

char *state_channel_lock_path(const char *state, const char *channel)
{
	return sy_xasprintf("%s/repos/%s.lock", state, channel);
}

char *state_images_dir(const char *state)
{
	return sy_xasprintf("%s/images", state);
}

char *state_image_dir(const char *state, const char *config)
{
	return sy_xasprintf("%s/images/%s", state, config);
}

char *state_releases_dir(const char *state)
{
	return sy_xasprintf("%s/releases", state);
}

char *state_release_dir(const char *state, const char *repo, const char *name)
{
	return sy_xasprintf("%s/releases/%s/%s", state, repo, name);
}

char *state_release_tmp_dir(const char *state, const char *repo, const char *name)
{
	return sy_xasprintf("%s/releases/%s/.%s.tmp-%ld", state, repo, name, (long)getpid());
}

char *state_mirror_dir(const char *state, const char *repo)
{
	return sy_xasprintf("%s/git/%s.git", state, repo);
}

char *state_pipelines_dir(const char *state)
{
	return sy_xasprintf("%s/pipelines", state);
}

char *state_pipeline_dir(const char *state, const char *id)
{
	return sy_xasprintf("%s/pipelines/%s", state, id);
}

char *state_pipeline_file(const char *state, const char *id, const char *name)
{
	return sy_xasprintf("%s/pipelines/%s/%s", state, id, name);
}

char *state_pipeline_logs_dir(const char *state, const char *id)
{
	return sy_xasprintf("%s/pipelines/%s/logs", state, id);
}

char *state_pipeline_job_log(const char *state, const char *id, const char *job)
{
	return sy_xasprintf("%s/pipelines/%s/logs/%s.log", state, id, job);
}

char *state_legacy_logs_dir(const char *state)
{
	return sy_xasprintf("%s/logs", state);
}

char *state_trash_dir(const char *state)
{
	return sy_xasprintf("%s/trash", state);
}

char *state_gc_lock_path(const char *state)
{
	return sy_xasprintf("%s/gc.lock", state);
}

int state_pipeline_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > 64 || id[0] == '.')
		return 0;
	return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

char *state_pipeline_id_new(void)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	return sy_xasprintf("run-%s-%ld", stamp, (long)getpid());
}

int state_record_write_json(const char *dir, const char *path, json_t *doc,
			    struct sy_error *err)
{
	char *text = json_dumps(doc, JSON_INDENT(2));
	int rc;

	if (!text)
		return sy_error_set(err, "%s: cannot encode JSON", path);
	rc = sy_mkdir_p(dir, 0755, err) || sy_write_file_atomic(path, text, strlen(text), 0644, err)
		     ? -1
		     : 0;
	free(text);
	return rc;
}

int state_record_read_json(const char *path, json_t **doc, struct sy_error *err)
{
	json_error_t jerr;

	*doc = NULL;
	if (!sy_exists(path))
		return 0;
	*doc = json_load_file(path, 0, &jerr);
	if (!json_is_object(*doc)) {
		json_decref(*doc);
		*doc = NULL;
		return sy_error_set(err, "%s: %s", path, jerr.text[0] ? jerr.text : "not an object");
	}
	return 1;
}

char *state_record_string(json_t *doc, const char *key)
{
	const char *s = json_string_value(json_object_get(doc, key));

	return s ? sy_xstrdup(s) : NULL;
}

int state_published_read(const char *state, const char *channel, struct state_published *rec,
			 struct sy_error *err)
{
	char *path = sy_xasprintf("%s/repos/%s/published.json", state, channel);
	json_t *doc;
	int rc = state_record_read_json(path, &doc, err);

	memset(rec, 0, sizeof(*rec));
	if (rc == 1) {
		json_t *pkgs = json_object_get(doc, "worker_packages"), *v;
		size_t i;

		rec->commit = state_record_string(doc, "commit");
		rec->snapshot = state_record_string(doc, "snapshot");
		rec->worker_root = state_record_string(doc, "worker_root");
		json_array_foreach(pkgs, i, v)
			if (json_is_string(v))
				sy_strv_push(&rec->worker_packages, json_string_value(v));
		if (!rec->commit) {
			rc = sy_error_set(err, "%s: no \"commit\"", path);
			state_published_release(rec);
		}
	}
	json_decref(doc);
	free(path);
	return rc;
}

int state_published_time(const char *state, const char *channel, double *when,
			 struct sy_error *err)
{
	char *path = sy_xasprintf("%s/repos/%s/published.json", state, channel);
	struct stat st;
	int rc = 1;

	if (stat(path, &st) == 0)
		*when = (double)st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9;
	else if (errno == ENOENT || errno == ENOTDIR)
		rc = 0;
	else
		rc = sy_error_set(err, "%s: %s", path, strerror(errno));
	free(path);
	return rc;
}

int state_published_write(const char *state, const char *channel,
			  const struct state_published *rec, struct sy_error *err)
{
	char *dir = state_channel_dir(state, channel);
	char *path = sy_xasprintf("%s/published.json", dir);
	json_t *pkgs = json_array();
	int rc;

	for (size_t i = 0; i < rec->worker_packages.n; i++)
		json_array_append_new(pkgs, json_string(rec->worker_packages.items[i]));
	json_t *doc = json_pack("{s:s, s:s?, s:s?, s:o}", "commit", rec->commit, "snapshot",
				rec->snapshot, "worker_root", rec->worker_root,
				"worker_packages", pkgs);
	rc = state_record_write_json(dir, path, doc, err);

	json_decref(doc);
	free(path);
	free(dir);
	return rc;
}

void state_published_release(struct state_published *rec)
{
	free(rec->commit);
	free(rec->snapshot);
	free(rec->worker_root);
	sy_strv_release(&rec->worker_packages);
	memset(rec, 0, sizeof(*rec));
}
