/* A release: once a run's stages succeeded, its own immutable directory
 *
 *   <state>/releases/<repo>/<name>/
 *     repo/               the channel's current snapshot, every file
 *                         hard-linked (copied across filesystems): RPMS/,
 *                         SRPMS/, repodata/, a repository dnf reads
 *     images/<config>/    the files of the image builds the run came to
 *     sbom.spdx.json      the packages as SPDX 2.3 (state/release.h)
 *     release.json        commit, channel, snapshot id, packages (NEVRAs,
 *                         SHA-256, licenses, source RPMs), image digests
 *
 * made beside its name (.<name>.tmp-<pid>) and renamed into place, so that
 * it appears whole, and never changed afterwards: it shares no directory
 * with the channel, so removing every snapshot of the channel leaves it
 * whole. While it is made, the snapshot and image builds it copies are
 * held (state_hold_dir) against collections.
 *
 * A release that cannot be made is recorded as skipped with the reason
 * (state_release_record_skipped): the build failed, the plan is held, an
 * image failed, or nothing changed since the channel's last release (the
 * same snapshot and the same image builds). */
#define _GNU_SOURCE
#include "pipeline/pipeline-private.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/util.h"
#include "imager/images.h"
#include "planner/buildkey.h"
#include "repo-publish/contents.h"
#include "repo-publish/retention.h"
#include "state/layout.h"
#include "state/release.h"

/* Names a reason lists before "and N more". */
#define REASON_NAMES 5

void pipeline_release_note_image(struct pipeline *p, const char *config,
				 enum imager_outcome outcome)
{
	char *id;

	if (!p->opts->release)
		return;
	if (outcome == IMAGER_FAILED) {
		sy_strv_push(&p->failed_images, config);
		return;
	}
	if (outcome != IMAGER_COMPOSED && outcome != IMAGER_UNCHANGED)
		return;
	/* latest names the build just composed, or the one found unchanged. */
	id = imager_latest_id(p->state, config);
	if (!id)
		return;
	sy_strv_push(&p->image_configs, config);
	sy_strv_push_owned(&p->image_builds, id);
}

/* ---- why a release is skipped ---- */

/* Appends "<what>: a, b, c and N more" to reason when names has any. */
static void add_names(struct sy_strv *reason, const char *what, const struct sy_strv *names)
{
	char *list = NULL;
	size_t len = 0;
	FILE *f;

	if (!names->n)
		return;
	f = open_memstream(&list, &len);
	fprintf(f, "%s: ", what);
	for (size_t i = 0; i < names->n && i < REASON_NAMES; i++)
		fprintf(f, "%s%s", i ? ", " : "", names->items[i]);
	if (names->n > REASON_NAMES)
		fprintf(f, " and %zu more", names->n - REASON_NAMES);
	fclose(f);
	sy_strv_push_owned(reason, list);
}

/* Why a run whose stages returned 1 makes no release. */
static char *failure_reason(const struct pipeline *p)
{
	struct sy_strv reason = SY_STRV_INIT, failed = SY_STRV_INIT, blocked = SY_STRV_INIT;
	char *text;

	if (pipeline_plan_held(p))
		return sy_xstrdup("the plan is held for approval (plan.maxrebuild)");
	for (size_t e = 0; p->results && e < p->plan.n; e++) {
		enum builder_job_state st = p->results[e].state;
		struct sy_strv *to = st == BUILDER_JOB_FAILED ? &failed
				     : st == BUILDER_JOB_BLOCKED ? &blocked
								   : NULL;
		if (to)
			sy_strv_push_owned(to, planner_spec_id(&p->head.index.specs[p->plan.entries[e].spec]));
	}
	add_names(&reason, "build failed", &failed);
	add_names(&reason, "blocked", &blocked);
	add_names(&reason, "image failed", &p->failed_images);
	if (!reason.n)
		sy_strv_push(&reason, pipeline_plan_failed(p)
					      ? "the plan failed: specs that do not parse or "
						"build cycles that cannot be broken"
					      : "the pipeline failed");
	text = sy_strv_join(&reason, "; ");
	sy_strv_release(&reason);
	sy_strv_release(&failed);
	sy_strv_release(&blocked);
	return text;
}

/* The newest release of the repository made from the channel, or 0. */
static int last_made(const struct pipeline *p, struct state_release *prev)
{
	struct sy_strv repos = SY_STRV_INIT, names = SY_STRV_INIT;
	int found = 0;

	state_release_list(p->state, &repos, &names);
	for (size_t i = 0; !found && i < names.n; i++) {
		if (strcmp(repos.items[i], p->opts->release_repo) ||
		    state_release_read(p->state, repos.items[i], names.items[i], prev, NULL) != 1)
			continue;
		found = prev->state == STATE_RELEASE_MADE && prev->channel && prev->snapshot &&
			!strcmp(prev->channel, p->channel);
		if (!found)
			state_release_release(prev);
	}
	sy_strv_release(&repos);
	sy_strv_release(&names);
	return found;
}

/* "nothing changed since release X ..." when the channel's last release
 * holds snapshot and the same image builds, else NULL. */
static char *unchanged_since(const struct pipeline *p, const char *snapshot)
{
	struct state_release prev;
	char *why = NULL;

	if (!last_made(p, &prev))
		return NULL;
	int same = !strcmp(prev.snapshot, snapshot) && prev.nimages == p->image_configs.n;
	for (size_t i = 0; same && i < prev.nimages; i++) {
		same = 0;
		for (size_t k = 0; k < p->image_configs.n; k++)
			same |= !strcmp(prev.images[i].config, p->image_configs.items[k]) &&
				!strcmp(prev.images[i].build, p->image_builds.items[k]);
	}
	if (same)
		why = sy_xasprintf("nothing changed since release %s (snapshot %s of %s, the same "
				   "images)", prev.name, snapshot, p->channel);
	state_release_release(&prev);
	return why;
}

/* ---- making one ---- */

/* Links the file src to dst, or copies it across filesystems. */
static int link_file(const char *src, const char *dst, struct sy_error *err)
{
	if (link(src, dst) == 0)
		return 0;
	if (errno != EXDEV && errno != EPERM && errno != EMLINK)
		return sy_error_set(err, "%s: cannot link to %s: %s", src, dst, strerror(errno));
	return sy_copy_file(src, dst, err);
}

/* Makes dst a tree of the directories and regular files of src, files
 * hard-linked; anything else (a link) is left out. */
static int link_tree(const char *src, const char *dst, struct sy_error *err)
{
	struct sy_strv names = SY_STRV_INIT;
	DIR *d;
	struct dirent *de;
	int rc = sy_mkdir_p(dst, 0755, err);

	if (rc)
		return -1;
	if (!(d = opendir(src)))
		return sy_error_set(err, "%s: %s", src, strerror(errno));
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			sy_strv_push(&names, de->d_name);
	closedir(d);
	for (size_t i = 0; rc == 0 && i < names.n; i++) {
		char *from = sy_xasprintf("%s/%s", src, names.items[i]);
		char *to = sy_xasprintf("%s/%s", dst, names.items[i]);
		struct stat st;
		if (lstat(from, &st) < 0)
			rc = sy_error_set(err, "%s: %s", from, strerror(errno));
		else if (S_ISDIR(st.st_mode))
			rc = link_tree(from, to, err);
		else if (S_ISREG(st.st_mode))
			rc = link_file(from, to, err);
		free(to);
		free(from);
	}
	sy_strv_release(&names);
	return rc ? rc : sy_fsync_dir(dst, err);
}

/* The package list of the snapshot, as the release records it. */
static int add_packages(const char *snapshot, struct state_release *rel, struct sy_error *err)
{
	struct repo_publish_packages pkgs = REPO_PUBLISH_PACKAGES_INIT;

	if (repo_publish_snapshot_packages(snapshot, &pkgs, err))
		return -1;
	/* Taken over: the release frees them. */
	rel->packages = pkgs.items;
	rel->npackages = pkgs.n;
	return 0;
}

/* Links the files of image build <config>/<build> into
 * <dir>/images/<config>/ and records their digests. */
static int add_image(const struct pipeline *p, const char *dir, const char *config,
		     const char *build, struct state_release_image *im, struct sy_error *err)
{
	char *from = imager_build_dir(p->state, config, build);
	char *to = sy_xasprintf("%s/images/%s", dir, config);
	struct imager_build b;
	int rc = link_tree(from, to, err);

	im->config = sy_xstrdup(config);
	im->build = sy_xstrdup(build);
	imager_build_read(p->state, config, build, &b);
	im->files = sy_xcalloc(b.nfiles + 1, sizeof(*im->files));
	for (size_t i = 0; rc == 0 && i < b.nfiles; i++) {
		char hex[SY_SHA256_HEX_LEN + 1];
		char *path = sy_xasprintf("%s/%s", to, b.files[i].name);
		rc = sy_sha256_file(path, hex, err);
		if (rc == 0)
			im->files[im->nfiles++] = (struct state_release_file){
				sy_xstrdup(b.files[i].name), sy_xstrdup(hex), b.files[i].bytes,
			};
		free(path);
	}
	imager_build_release(&b);
	free(to);
	free(from);
	return rc;
}

/* Holds the image builds noted, so that a collection leaves them while
 * they are copied. Returns 0, or -1 with err naming one that is gone. */
static int hold_images(struct pipeline *p, struct sy_error *err)
{
	for (size_t i = 0; i < p->image_configs.n; i++) {
		char *dir = imager_build_dir(p->state, p->image_configs.items[i],
					     p->image_builds.items[i]);
		int rc = state_hold_dir(dir, &p->holds, err);
		if (rc == 0)
			sy_error_set(err, "image build %s/%s is gone", p->image_configs.items[i],
				     p->image_builds.items[i]);
		free(dir);
		if (rc != 1)
			return -1;
	}
	return 0;
}

/* Fills tmp with the release rel of snapshot and the noted images, then
 * renames it to the release's name. */
static int make_release(struct pipeline *p, const char *snapshot, const char *tmp,
			struct state_release *rel, struct sy_error *err)
{
	char *repo = sy_xasprintf("%s/repo", tmp);
	char *dir = state_release_dir(p->state, rel->repo, rel->name);
	int rc = link_tree(snapshot, repo, err) || add_packages(snapshot, rel, err) ? -1 : 0;

	rel->images = sy_xcalloc(p->image_configs.n + 1, sizeof(*rel->images));
	for (size_t i = 0; rc == 0 && i < p->image_configs.n; i++) {
		rc = add_image(p, tmp, p->image_configs.items[i], p->image_builds.items[i],
			       &rel->images[i], err);
		rel->nimages = i + 1;
	}
	if (rc == 0)
		rc = state_release_write(tmp, rel, err);
	if (rc == 0)
		rc = sy_fsync_dir(tmp, err);
	if (rc == 0 && rename(tmp, dir) < 0)
		rc = sy_error_set(err, "%s: %s", dir, strerror(errno));
	if (rc == 0) {
		char *parent = state_releases_dir(p->state);
		char *repo_dir = sy_xasprintf("%s/%s", parent, rel->repo);
		sy_fsync_dir(repo_dir, NULL);
		free(repo_dir);
		free(parent);
	}
	free(dir);
	free(repo);
	return rc;
}

/* Why this run makes no release, or NULL: it makes one of snapshot. */
static char *skip_reason(struct pipeline *p, int outcome, const struct sy_error *stage_err,
			 char **snapshot, struct sy_error *err)
{
	struct state_published pub;
	char *why = NULL;

	*snapshot = NULL;
	if (outcome < 0)
		return sy_xasprintf("the pipeline failed: %s", stage_err->msg);
	if (outcome > 0)
		return failure_reason(p);
	if (repo_publish_hold_current(p->state, p->channel, snapshot, &p->holds, err) < 0)
		return sy_xasprintf("cannot read channel %s: %s", p->channel, err->msg);
	if (!*snapshot)
		return sy_xasprintf("channel %s has no published repository", p->channel);
	if (state_published_read(p->state, p->channel, &pub, err) == 1 &&
	    strcmp(pub.commit, p->head.oid))
		why = sy_xasprintf("channel %s was published from %.12s since", p->channel,
				   pub.commit);
	state_published_release(&pub);
	if (!why && hold_images(p, err))
		why = sy_xstrdup(err->msg);
	if (!why)
		why = unchanged_since(p, sy_base_name(*snapshot));
	return why;
}

void pipeline_release_stage(struct pipeline *p, int outcome, const struct sy_error *stage_err)
{
	const struct pipeline_options *o = p->opts;
	char created[32], *snapshot = NULL, *why;
	time_t now = time(NULL);
	struct tm tm;
	struct sy_error err = { { 0 } };

	if (o->cancel && *o->cancel)
		return;
	if (!state_pipeline_id_valid(o->release) || !o->release_repo ||
	    !state_pipeline_id_valid(o->release_repo)) {
		sy_log_error("release '%s': not a name of [A-Za-z0-9._-]", o->release);
		return;
	}
	if (state_release_exists(p->state, o->release_repo, o->release)) {
		sy_log_error("release %s/%s exists: a release is never made twice", o->release_repo,
			     o->release);
		return;
	}
	gmtime_r(&now, &tm);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	struct state_release rel = {
		.repo = (char *)o->release_repo, .name = (char *)o->release, .created = created,
		.commit = p->head.oid[0] ? p->head.oid : NULL, .channel = p->channel,
		.pipeline = p->run_id,
	};
	why = p->channel ? skip_reason(p, outcome, stage_err, &snapshot, &err)
			 : sy_xstrdup("the pipeline failed before it chose a channel");
	if (!why) {
		char *tmp = state_release_tmp_dir(p->state, rel.repo, rel.name);
		rel.snapshot = (char *)sy_base_name(snapshot);
		sy_rm_rf(tmp, NULL);
		if (make_release(p, snapshot, tmp, &rel, &err) == 0) {
			sy_log_info("release %s/%s: made from snapshot %s of %s (%zu packages, %zu "
				    "images)", rel.repo, rel.name, rel.snapshot, p->channel,
				    rel.npackages, rel.nimages);
		} else {
			why = sy_xasprintf("could not be made: %s", err.msg);
			sy_rm_rf(tmp, NULL);
		}
		free(tmp);
		/* What make_release filled is the release's; the rest borrowed. */
		struct state_release owned = { .packages = rel.packages, .npackages = rel.npackages,
					       .images = rel.images, .nimages = rel.nimages };
		state_release_release(&owned);
		rel.packages = NULL, rel.npackages = 0, rel.images = NULL, rel.nimages = 0;
		rel.snapshot = NULL;
	}
	if (why) {
		rel.state = STATE_RELEASE_SKIPPED;
		rel.reason = why;
		if (state_release_record_skipped(p->state, &rel, &err) < 0)
			sy_log_error("release %s/%s: %s", rel.repo, rel.name, err.msg);
		else
			sy_log_info("release %s/%s: skipped: %s", rel.repo, rel.name, why);
	}
	free(why);
	free(snapshot);
}
