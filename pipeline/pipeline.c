/* The stages of a pipeline, in order: open the repository and resolve what
 * to run, plan, build, publish, images. Each stage lives in its own file
 * (planstage.c, buildstage.c) or stage directory (repo-publish/channel.h,
 * imager/stage.h); this file only says which runs when. */
#include "pipeline/pipeline.h"
#include "pipeline/pipeline-private.h"

#include <stdlib.h>
#include <string.h>

#include "builder/toolchain.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/util.h"
#include "imager/stage.h"
#include "repo-publish/channel.h"
#include "repo-publish/publish.h"
#include "repo-publish/retention.h"
#include "repo-publish/s3.h"
#include "state/layout.h"

void pipeline_timing(const char *what, const char *commit, double since)
{
	if (getenv("SHIPYARD_TIMING"))
		sy_log_info("timing: %s %.12s: %.1f ms", what, commit, (sy_now_s() - since) * 1e3);
}

/* The commit the channel the run reads was last published from (caller
 * frees), or NULL. */
static char *published_commit(const struct pipeline *p)
{
	struct state_published rec;
	struct sy_error err = { { 0 } };
	char *commit = NULL;

	if (state_published_read(p->state, p->read_channel, &rec, &err) < 0)
		sy_log_warn("%s", err.msg);
	commit = rec.commit;
	rec.commit = NULL;
	state_published_release(&rec);
	return commit;
}

/* Picks the base commit: none when a goal is named; --from (or its merge
 * base with the head); else for a build the commit the channel read was last
 * published from; else the head's first parent. */
static int resolve_base(struct pipeline *p, struct sy_error *err)
{
	const struct pipeline_options *o = p->opts;
	int stages = p->stages;
	char *last;

	if (pipeline_has_goal(o)) {
		p->has_base = 0;
	} else if (o->from) {
		int rc = o->merge_base ? gitwatch_merge_base(p->repo, o->from, p->head.oid, p->base.oid, err)
				       : gitwatch_resolve(p->repo, o->from, p->base.oid, err);
		if (rc)
			return sy_error_prefix(err, "--from");
		p->has_base = 1;
	} else if ((stages & PIPELINE_BUILD) && (last = published_commit(p))) {
		p->has_base = gitwatch_resolve(p->repo, last, p->base.oid, NULL) == 0;
		if (!p->has_base)
			sy_log_warn("last published commit %.12s is not in %s: planning from nothing",
				    last, o->repo_path);
		free(last);
	} else if (!(stages & PIPELINE_BUILD)) {
		p->has_base = gitwatch_first_parent(p->repo, p->head.oid, p->base.oid, NULL) == 0;
	}
	return 0;
}

/* The repository channel of a branch: its name, with "/" spelled "%2F" so
 * that "release/3.0" is one directory. */
static char *channel_of(const char *branch)
{
	char *out = sy_xcalloc(strlen(branch) * 3 + 1, 1), *q = out;

	for (const char *c = branch; *c; c++)
		q += *c == '/' ? sprintf(q, "%%2F") : sprintf(q, "%c", *c);
	return out;
}

/* Picks the channel: --channel; else --to when it is a branch; else HEAD's
 * branch when --to is on it (a past commit of that branch). A run of any
 * other commit (a pull request head) must say where it publishes. */
static int choose_channel(struct pipeline *p, struct sy_error *err)
{
	const struct pipeline_options *o = p->opts;
	int publishes = p->stages & PIPELINE_PUBLISH;
	char *branch = NULL;

	if (o->base_channel)
		p->base_channel = channel_of(o->base_channel);
	if (o->channel) {
		p->channel = channel_of(o->channel);
		return 0;
	}
	if (o->to && gitwatch_is_branch(p->repo, o->to))
		branch = sy_xstrdup(o->to);
	else
		branch = gitwatch_head_branch(p->repo);
	if (o->to && publishes && strcmp(branch, o->to) &&
	    gitwatch_is_ancestor(p->repo, o->to, branch, NULL) != 1) {
		sy_error_set(err, "--to %s is not on branch %s: give --channel to say which "
			     "repository it publishes to", o->to, branch);
		free(branch);
		return -1;
	}
	p->channel = channel_of(branch);
	free(branch);
	return 0;
}

/* The run's own directory under <state>/pipelines. */
static int choose_run_dir(struct pipeline *p, struct sy_error *err)
{
	const char *id = p->opts->run_id;

	if (id && !state_pipeline_id_valid(id))
		return sy_error_set(err, "pipeline id '%s': not a name of [A-Za-z0-9._-]", id);
	p->run_id = id ? sy_xstrdup(id) : state_pipeline_id_new();
	p->run_dir = state_pipeline_dir(p->state, p->run_id);
	p->logs_dir = state_pipeline_logs_dir(p->state, p->run_id);
	/* Held while the run lasts: a collection leaves a running
	 * pipeline's reports and logs alone (pipeline/gc.h). */
	if (sy_mkdir_p(p->run_dir, 0755, err) || state_hold_dir(p->run_dir, &p->holds, err) < 0)
		return -1;
	return 0;
}

/* What every commit of this run is read with. */
static void fill_settings(struct pipeline *p)
{
	const struct pipeline_options *o = p->opts;

	p->settings = (struct planner_commit_settings){
		.repo = p->repo, .state = p->state, .arch = o->arch, .jobs = o->jobs,
		.config_from = p->config_oid[0] ? p->config_oid : NULL,
		.spec_trees = o->spec_trees, .imageconfigs = o->imageconfigs,
		.rebuild_policy = o->rebuild_policy, .source_urls = o->source_urls,
		.toolchain = &p->toolchain,
		.toolchain_first = p->worker.kind == BUILDER_WORKER_RPM,
		.worker_rpms = p->worker_rpms.n ? (const char *const *)p->worker_rpms.items : NULL,
		.worker_digest = p->worker.digest, .learn_repo = p->published_dir,
		.progress = { pipeline_read_progress, p },
	};
}

/* Picks the channel the run reads and lists its current snapshot: the
 * channel itself, else (never published yet) the base channel's, so that a
 * pull request's first run learns the provides its base learnt and takes the
 * base's packages where its base would. */
static int read_published(struct pipeline *p, struct sy_error *err)
{
	/* The snapshot read is held until the run ends: its RPMs are linked
	 * into build roots and the next snapshot long after it was current. */
	p->read_channel = p->channel;
	if (repo_publish_hold_current(p->state, p->channel, &p->published_dir, &p->holds, err) < 0)
		return -1;
	if (!p->published_dir && p->base_channel && strcmp(p->base_channel, p->channel)) {
		if (repo_publish_hold_current(p->state, p->base_channel, &p->published_dir, &p->holds,
					      err) < 0)
			return -1;
		if (p->published_dir) {
			p->read_channel = p->base_channel;
			sy_log_info("channel %s is not published yet: resolving against %s",
				    p->channel, p->base_channel);
		}
	}
	return repo_publish_list_snapshot(p->published_dir, &p->published, err);
}

/* The current snapshot of a channel:NAME repository of the worker
 * manifest (builder_channel_dir_fn, arg the pipeline), held until the run
 * ends: the worker root's RPMs are read from it. */
static char *held_channel_dir(void *arg, const char *channel)
{
	struct pipeline *p = arg;
	struct sy_error err = { { 0 } };
	char *dir = NULL;

	if (!state_pipeline_id_valid(channel))
		return NULL;
	if (repo_publish_hold_current(p->state, channel, &dir, &p->holds, &err) < 0)
		sy_log_warn("%s", err.msg);
	return dir;
}

/* Reads the worker manifest; an rpm root's packages are resolved now, as
 * its digest (in every build key) and its capabilities (what the graph
 * resolves BuildRequires against) come from them. */
static int read_worker(struct pipeline *p, struct sy_error *err)
{
	const char *path = p->opts->worker_manifest;

	char *cache = p->opts->worker_cache ? sy_xstrdup(p->opts->worker_cache)
					    : state_worker_dir(p->state);
	char *downloads = sy_xasprintf("%s/repos", cache);
	const struct builder_worker_sources src = { held_channel_dir, p, downloads };
	int rc = builder_worker_manifest_read(path, &p->worker, err) ||
		 builder_worker_resolve(&p->worker, path, p->opts->arch, &src, err);

	free(downloads);
	free(cache);
	if (rc)
		return -1;
	if (p->worker.kind == BUILDER_WORKER_RPM) {
		for (size_t i = 0; i < p->worker.toolchain.n; i++)
			sy_strv_push(&p->toolchain, p->worker.toolchain.items[i]);
		for (size_t i = 0; i < p->worker.closure.n; i++)
			sy_strv_push(&p->worker_rpms, p->worker.closure.pkgs[i].path);
		return 0;
	}
	return builder_toolchain_read(path, &p->toolchain, err);
}

static int open_run(struct pipeline *p, struct sy_error *err)
{
	const struct pipeline_options *o = p->opts;

	if (gitwatch_repo_open(o->repo_path, &p->repo, err) ||
	    gitwatch_resolve(p->repo, o->to ? o->to : "HEAD", p->head.oid, err) ||
	    choose_channel(p, err) || choose_run_dir(p, err))
		return -1;
	if (o->settings_from && gitwatch_resolve(p->repo, o->settings_from, p->config_oid, err))
		return sy_error_prefix(err, "--settings-from");
	if (read_published(p, err))
		return -1;
	if (o->worker_manifest && read_worker(p, err))
		return -1;
	fill_settings(p);
	return resolve_base(p, err);
}

/* Refuses a --specs name of a publication that names no spec of the head. */
static int check_only_specs(const struct pipeline *p, const char *const *only,
			    struct sy_error *err)
{
	for (size_t i = 0; only && only[i]; i++)
		if (planner_commit_find_spec(&p->head, only[i]) < 0)
			return sy_error_set(err, "--specs %s: no spec of that name at %.12s", only[i],
					    p->head.oid);
	return 0;
}

static int publish_stage(struct pipeline *p, struct sy_error *err)
{
	struct sy_strv worker_packages = SY_STRV_INIT;
	struct repo_publish_request req = {
		.state = p->state, .channel = p->channel, .commit = &p->head,
		.plan = p->results ? &p->plan : NULL, .results = p->results,
		.worker_root = p->worker.digest[0] ? p->worker.digest : NULL,
		.worker_packages = &worker_packages,
		.worker_rpms = p->worker_rpms.n ? &p->worker_rpms : NULL,
		.only_specs = p->stages == PIPELINE_PUBLISH ? p->opts->specs : NULL,
		.base_channel = p->base_channel, .sign_key = p->opts->sign_key,
	};
	struct repo_publish_result res;
	int rc;

	if (check_only_specs(p, req.only_specs, err))
		return -1;
	for (size_t i = 0; i < p->worker.closure.n; i++)
		sy_strv_push(&worker_packages, p->worker.closure.pkgs[i].nevra);
	rc = repo_publish_commit(&req, &res, err);
	sy_strv_release(&worker_packages);
	if (rc)
		return -1;
	if (res.held)
		sy_log_warn("holding back %zu built specs whose dependency group has failures",
			    res.held);
	if (res.stats.warning.msg[0])
		sy_log_warn("%s", res.stats.warning.msg);
	if (res.snapshot)
		sy_log_info("published %s: %s (%zu packages: %zu read, %zu kept their entries)",
			    p->channel, res.snapshot, res.packages, res.stats.read,
			    res.stats.reused);
	else
		sy_log_info("repository %s unchanged (%zu packages)", p->channel, res.packages);
	rc = pipeline_alias_learned_keys(p, res.snapshot, err);
	repo_publish_result_release(&res);
	return rc;
}

/* An image config's progress as its shipyard/image/<config> status. */
static void image_status(void *arg, const char *config, enum imager_outcome outcome,
			 const char *text)
{
	struct pipeline *p = arg;
	char *context = sy_xasprintf("shipyard/image/%s", config);
	enum forge_state state = outcome == IMAGER_WORKING ? FORGE_PENDING
				 : outcome == IMAGER_FAILED ? FORGE_FAILURE
							    : FORGE_SUCCESS;

	const struct pipeline_image_job *job;
	struct sy_error err = { { 0 } };

	pipeline_status_report(p->opts->reporter, context, state, "%s", text);
	pipeline_release_note_image(p, config, outcome);
	job = pipeline_image_report_note(&p->image_jobs, p->run_dir, p->state, p->logs_dir, config,
					 outcome, text, &err);
	if (err.msg[0])
		sy_log_warn("image report: %s", err.msg);
	pipeline_event_image_job(p, job);
	free(context);
}

/* Returns 0, 1 when some image failed, -1 with err. Nothing is composed
 * while the channel has no published repository. */
static int image_stage(struct pipeline *p, struct sy_error *err)
{
	char *repo_dir = NULL;

	if (repo_publish_hold_current(p->state, p->channel, &repo_dir, &p->holds, err) < 0)
		return -1;
	struct imager_stage s = {
		.repo = p->repo, .commit = p->head.oid, .configs_dir = p->head.distro.imageconfigs_dir,
		.only = p->opts->image_configs, .force = p->opts->force, .repo_dir = repo_dir,
		.state = p->state, .log_dir = p->logs_dir, .arch = p->opts->arch ? p->opts->arch : "x86_64",
		.max_disk_mib = p->head.distro.image_max_disk_mib,
		.boot_test = p->head.distro.image_boot_test,
		.boot_timeout_s = p->head.distro.image_boot_timeout_s,
		.report = image_status, .report_arg = p,
	};
	int rc = 0;

	if (repo_dir)
		rc = imager_stage_run(&s, err);
	else if (p->opts->image_configs)
		rc = sy_error_set(err, "channel %s has no published repository", p->channel);
	free(repo_dir);
	return rc;
}

/* The head alone, for runs without the plan stage: everything for a
 * publication, the settings for images. */
static int read_head(struct pipeline *p, int stages, struct sy_error *err)
{
	if (stages & PIPELINE_PUBLISH)
		return pipeline_read_head(p, err);
	return planner_commit_read_distro(&p->settings, p->head.oid, &p->head, err);
}

/* Uploads the channel's current snapshot to opts->s3's bucket, after the
 * publication (repo-publish/s3.h): what this run published or, unchanged,
 * what a failed upload of an earlier run left behind. */
static int upload_stage(struct pipeline *p, struct sy_error *err)
{
	struct repo_s3_report rep;
	int rc = repo_s3_publish_channel(p->opts->s3, p->state, p->channel, &rep, err);

	if (rc == 0 && rep.snapshot)
		sy_log_info("uploaded %s to %s: %zu of %zu objects (%llu bytes), %zu retried, "
			    "%zu stale left", p->channel, rep.url, rep.uploaded, rep.objects,
			    (unsigned long long)rep.bytes, rep.retries, rep.stale);
	repo_s3_report_release(&rep);
	return rc;
}

static int run_stages(struct pipeline *p, struct sy_error *err)
{
	int stages = p->stages, failed = 0;

	if (stages & PIPELINE_PLAN) {
		if (pipeline_plan_stage(p, err))
			return -1;
		if (pipeline_plan_held(p))
			return 1;
		failed = pipeline_plan_failed(p);
	} else if (read_head(p, stages, err)) {
		return -1;
	}
	if (stages & PIPELINE_BUILD) {
		size_t bad = pipeline_build_stage(p, err);
		if (bad == (size_t)-1)
			return -1;
		failed |= bad != 0;
		if (p->opts->cancel && *p->opts->cancel)
			return sy_error_set(err, "pipeline cancelled: nothing published");
	}
	if ((stages & PIPELINE_PUBLISH) && publish_stage(p, err))
		return -1;
	if ((stages & PIPELINE_PUBLISH) && p->opts->s3 && upload_stage(p, err))
		return -1;
	if (stages & PIPELINE_IMAGES) {
		int images = image_stage(p, err);
		if (images < 0)
			return -1;
		failed |= images;
	}
	return failed ? 1 : 0;
}

static void pipeline_release(struct pipeline *p)
{
	for (size_t e = 0; p->results && e < p->plan.n; e++)
		builder_job_result_release(&p->results[e]);
	free(p->results);
	free(p->worker_root);
	free(p->worker_tarball);
	builder_worker_manifest_release(&p->worker);
	sy_strv_release(&p->worker_rpms);
	sy_strv_release(&p->image_configs);
	sy_strv_release(&p->image_builds);
	sy_strv_release(&p->failed_images);
	state_holds_release(&p->holds);
	sy_strv_release(&p->images);
	sy_strv_release(&p->global);
	sy_strv_release(&p->published);
	sy_strv_release(&p->toolchain);
	free(p->published_dir);
	free(p->channel);
	free(p->base_channel);
	free(p->run_id);
	pipeline_image_report_release(&p->image_jobs);
	free(p->run_dir);
	free(p->logs_dir);
	gitwatch_repo_free(p->repo);
#ifndef __SANITIZE_ADDRESS__
	if (p->opts->exiting)
		return;
#endif
	planner_plan_release(&p->plan);
	planner_cascade_release(&p->cascade);
	planner_target_set_release(&p->target);
	planner_commit_release(&p->head);
	planner_commit_release(&p->base);
	gitwatch_changeset_release(&p->changes);
}

int pipeline_run(const struct pipeline_options *opts, struct sy_error *err)
{
	struct pipeline p;
	int rc;

	memset(&p, 0, sizeof(p));
	p.opts = opts;
	p.stages = opts->stages ? opts->stages : PIPELINE_ALL;
	p.state = opts->state_dir;
	p.started = time(NULL);
	if (sy_mkdir_p(opts->state_dir, 0755, err))
		return -1;
	double t0 = sy_now_s();
	rc = open_run(&p, err);
	pipeline_timing("open", "", t0);
	if (rc == 0)
		rc = run_stages(&p, err);
	if (opts->release && p.run_id)
		pipeline_release_stage(&p, rc, err);
	t0 = sy_now_s();
	pipeline_release(&p);
	pipeline_timing("release", "", t0);
	return rc;
}
