#include "pipeline/imagestep.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/hash.h"
#include "common/strv.h"
#include "imager/compose.h"
#include "imager/imageconfig.h"
#include "repo-publish/publish.h"

struct read_arg {
	struct gitwatch_repo *repo;
	const char *commit;
};

static int read_from_git(void *arg, const char *path, char **data, struct sy_error *err)
{
	struct read_arg *r = arg;

	return gitwatch_read_file(r->repo, r->commit, path, data, NULL, err);
}

/* Lists the image configs of commit: the *.json files directly in dir. */
static int list_configs(struct gitwatch_repo *repo, const char *commit, const char *dir,
			struct sy_strv *paths, struct sy_error *err)
{
	struct gitwatch_entries files;
	size_t prefix = strlen(dir) + 1;

	if (gitwatch_list_files(repo, commit, dir, &files, err))
		return -1;
	for (size_t i = 0; i < files.n; i++) {
		const char *path = files.items[i].path, *rest = path + prefix;
		size_t len = strlen(rest);
		if (!strchr(rest, '/') && len > 5 && !strcmp(rest + len - 5, ".json"))
			sy_strv_push(paths, path);
	}
	gitwatch_entries_release(&files);
	return 0;
}

/* Digest of what an image is made from: its config text and its closure. */
static void closure_digest(const char *json, const struct sy_strv *nevras,
			   char hex[SY_SHA256_HEX_LEN + 1])
{
	struct sy_sha256 *h = sy_sha256_new();

	sy_sha256_update_str(h, json);
	for (size_t i = 0; i < nevras->n; i++)
		sy_sha256_update_str(h, nevras->items[i]);
	sy_sha256_final(h, hex);
}

static int unchanged(const char *image_dir, const char *digest)
{
	char *path = sy_xasprintf("%s/latest/closure.sha256", image_dir), *old = NULL;
	int same = sy_read_file(path, &old, NULL, NULL) == 0 && !strncmp(old, digest, SY_SHA256_HEX_LEN);

	free(old);
	free(path);
	return same;
}

static int switch_latest(const char *image_dir, const char *id, struct sy_error *err)
{
	char *link = sy_xasprintf("%s/latest", image_dir);
	char *tmp = sy_xasprintf("%s/.latest.tmp", image_dir);
	int rc = 0;

	unlink(tmp);
	if (symlink(id, tmp) < 0 || rename(tmp, link) < 0)
		rc = sy_error_set(err, "%s: cannot switch: %s", link, strerror(errno));
	free(link);
	free(tmp);
	return rc;
}

/* Composes cfg into <image_dir>/<id>/ and points latest at it. */
static int compose(const struct pipeline_image_step *s, const struct imager_config *cfg,
		   const char *repo_dir, const char *image_dir, const char *digest,
		   struct sy_strv *artifacts, struct sy_error *err)
{
	char id[32];
	time_t now = time(NULL);
	strftime(id, sizeof(id), "%Y%m%dT%H%M%SZ", gmtime(&now));
	char *out = sy_xasprintf("%s/%s", image_dir, id), *tmp = sy_xasprintf("%s.tmp", out);
	char *work = sy_xasprintf("%s/builds/image-%s", s->state_dir, cfg->name);
	char *logpath = sy_xasprintf("%s/logs/image-%s.log", s->state_dir, cfg->name);
	char *sum = sy_xasprintf("%s/closure.sha256", tmp);
	int rc = -1, fd;

	sy_rm_rf(tmp, NULL);
	sy_rm_rf(work, NULL);
	sy_mkdir_p(image_dir, 0755, NULL);
	fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (imager_compose(cfg, repo_dir, s->arch, work, tmp, fd, artifacts, err) == 0 &&
	    sy_write_file_atomic(sum, digest, strlen(digest), 0644, err) == 0) {
		sy_rm_rf(out, NULL);
		if (rename(tmp, out) < 0)
			sy_error_set(err, "%s: %s", out, strerror(errno));
		else
			rc = switch_latest(image_dir, id, err);
	}
	if (fd >= 0)
		close(fd);
	if (rc)
		sy_rm_rf(tmp, NULL);
	sy_rm_rf(work, NULL);
	free(sum);
	free(logpath);
	free(work);
	free(tmp);
	free(out);
	return rc;
}

static int image_one(const struct pipeline_image_step *s, const char *path, const char *repo_dir)
{
	struct read_arg ra = { s->repo, s->commit };
	struct imager_config cfg;
	struct sy_strv nevras = SY_STRV_INIT, artifacts = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	char *json = NULL, digest[SY_SHA256_HEX_LEN + 1];
	char *context = NULL, *image_dir = NULL;
	int rc = 1;

	memset(&cfg, 0, sizeof(cfg));
	if (gitwatch_read_file(s->repo, s->commit, path, &json, NULL, &err) ||
	    imager_config_parse(path, json, read_from_git, &ra, &cfg, &err)) {
		const char *base = strrchr(path, '/');
		context = sy_xasprintf("shipyard/image/%.*s", (int)strlen(base + 1) - 5, base + 1);
		pipeline_status_report(s->reporter, context, PIPELINE_STATUS_PENDING, "reading config");
		pipeline_status_report(s->reporter, context, PIPELINE_STATUS_FAILURE, "%s", err.msg);
		goto out;
	}
	context = sy_xasprintf("shipyard/image/%s", cfg.name);
	image_dir = sy_xasprintf("%s/images/%s", s->state_dir, cfg.name);
	pipeline_status_report(s->reporter, context, PIPELINE_STATUS_PENDING, "resolving packages");
	if (imager_closure(&cfg, repo_dir, s->arch, &nevras, NULL, &err)) {
		pipeline_status_report(s->reporter, context, PIPELINE_STATUS_FAILURE, "%s", err.msg);
		goto out;
	}
	closure_digest(json, &nevras, digest);
	if (unchanged(image_dir, digest)) {
		pipeline_status_report(s->reporter, context, PIPELINE_STATUS_SUCCESS,
				      "unchanged (%zu packages)", nevras.n);
		rc = 0;
	} else if (compose(s, &cfg, repo_dir, image_dir, digest, &artifacts, &err)) {
		pipeline_status_report(s->reporter, context, PIPELINE_STATUS_FAILURE, "%s", err.msg);
	} else {
		const char *a = artifacts.n ? strrchr(artifacts.items[0], '/') : NULL;
		pipeline_status_report(s->reporter, context, PIPELINE_STATUS_SUCCESS,
				      "composed %s (%zu packages)", a ? a + 1 : cfg.name, nevras.n);
		rc = 0;
	}
out:
	imager_config_release(&cfg);
	sy_strv_release(&nevras);
	sy_strv_release(&artifacts);
	free(image_dir);
	free(context);
	free(json);
	return rc;
}

int pipeline_image_step_run(const struct pipeline_image_step *s, struct sy_error *err)
{
	struct sy_strv configs = SY_STRV_INIT;
	char *repo_dir = repo_publish_current_path(s->repos_dir, s->channel);
	int failed = 0;

	if (!repo_dir)
		return 0;
	if (list_configs(s->repo, s->commit, s->configs_dir, &configs, err)) {
		free(repo_dir);
		return -1;
	}
	for (size_t i = 0; i < configs.n; i++)
		failed |= image_one(s, configs.items[i], repo_dir);
	sy_strv_release(&configs);
	free(repo_dir);
	return failed;
}

/* Marks spec and every spec its packages Require, transitively. */
static void mark_runtime(const struct planner_graph *g, size_t spec, unsigned char *seen)
{
	if (seen[spec])
		return;
	seen[spec] = 1;
	for (size_t k = 0; k < g->nodes[spec].nrun_deps; k++)
		mark_runtime(g, g->nodes[spec].run_deps[k], seen);
}

static int config_changed(const struct pipeline_image_affected *a, const struct imager_config *cfg)
{
	for (size_t c = 0; a->changes && c < a->changes->n; c++) {
		const struct gitwatch_change *ch = &a->changes->changes[c];
		const char *path = ch->new_path ? ch->new_path : ch->old_path;
		if (!strcmp(path, cfg->path) || sy_strv_contains(&cfg->package_lists, path))
			return 1;
	}
	return 0;
}

/* Returns 1 when a package cfg lists, or its runtime closure, is rebuilt. */
static int uses_rebuilt(const struct pipeline_image_affected *a, const struct imager_config *cfg)
{
	size_t n = a->index->nspecs;
	unsigned char *seen = sy_xcalloc(n + 1, 1);
	int hit = 0;

	for (size_t p = 0; p < cfg->packages.n; p++) {
		char *name = sy_xstrdup(cfg->packages.items[p]);
		name[strcspn(name, " <>=")] = '\0';
		for (size_t i = 0; i < n; i++)
			for (size_t k = 0; k < a->index->specs[i].npackages; k++)
				if (!strcmp(a->index->specs[i].packages[k].name, name))
					mark_runtime(a->graph, i, seen);
		free(name);
	}
	for (size_t e = 0; !hit && e < a->plan->n; e++)
		hit = seen[a->plan->entries[e].spec];
	free(seen);
	return hit;
}

int pipeline_images_affected(const struct pipeline_image_affected *a, struct sy_strv *out,
			    struct sy_error *err)
{
	struct read_arg ra = { a->repo, a->commit };
	struct sy_strv configs = SY_STRV_INIT;

	if (list_configs(a->repo, a->commit, a->configs_dir, &configs, err))
		return -1;
	for (size_t i = 0; i < configs.n; i++) {
		const char *path = configs.items[i];
		struct imager_config cfg;
		struct sy_error perr = { { 0 } };
		char *json = NULL;
		memset(&cfg, 0, sizeof(cfg));
		if (gitwatch_read_file(a->repo, a->commit, path, &json, NULL, &perr) ||
		    imager_config_parse(path, json, read_from_git, &ra, &cfg, &perr) ||
		    config_changed(a, &cfg) || uses_rebuilt(a, &cfg))
			sy_strv_push(out, path);
		imager_config_release(&cfg);
		free(json);
	}
	sy_strv_release(&configs);
	return 0;
}
