/* Running pipelines: queueing (and stopping what a newer pipeline
 * supersedes), the runner threads that run each pipeline as a child
 * `shipyard run` (server/runner.h), the statuses its contexts get on the
 * forge through the durable outbox (forge/outbox.h) and its thread, the jobs
 * it reports into the store, and the record of a scheduled pipeline's
 * release when its run could not say why it made none. */
#define _GNU_SOURCE
#include "server/serve-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "server/dashboard-private.h"
#include "server/prcomment.h"
#include "server/runner.h"
#include "state/layout.h"
#include "state/release.h"

/* ---- statuses ---- */

static const struct forge *lookup_forge(void *arg, const char *name)
{
	struct serve *s = arg;
	long i = serve_repo_index(s, name);

	return i >= 0 && s->forges[i].project ? &s->forges[i] : NULL;
}

static void on_reject(void *arg, const struct forge_outbox_entry *e, long http_status,
		      const char *message)
{
	(void)arg;
	sy_log_warn("status rejected: repo=%s sha=%.12s context=%s http=%ld message=\"%s\"",
		    e->forge_name, e->request.sha, e->request.context, http_status, message);
}

void serve_post_status(struct serve *s, const struct server_store_pipeline *p,
		       const char *context, enum forge_state state, const char *description)
{
	serve_post_status_link(s, p, context, state, description, NULL);
}

void serve_post_status_link(struct serve *s, const struct server_store_pipeline *p,
			    const char *context, enum forge_state state, const char *description,
			    const char *job)
{
	long i = serve_repo_index(s, p->repo);
	char *log = job ? dashboard_job_log_url(p->id, job) : NULL;
	char *url = log ? sy_xasprintf("%s%s.html", s->conf.url, log)
			: sy_xasprintf("%s/pipelines/%ld", s->conf.url, p->id);
	struct forge_status_request r = { .sha = p->head, .context = context, .state = state,
					    .description = description, .target_url = url };
	struct sy_error err = { { 0 } };

	sy_log_info("status: pipeline=%ld repo=%s sha=%.12s context=%s state=%s", p->id, p->repo,
		    p->head, context, forge_state_name(state));
	if (i >= 0 && s->forges[i].project &&
	    forge_outbox_enqueue(s->outbox, p->repo, &r, NULL, &err) == 0)
		serve_wake_all(s);
	else if (err.msg[0])
		sy_log_error("status outbox: %s", err.msg);
	free(url);
	free(log);
}

void serve_close_statuses(struct serve *s, const char *repo, const char *sha,
			  enum forge_state state, const char *description)
{
	long i = serve_repo_index(s, repo);
	struct sy_error err = { { 0 } };
	int n;

	if (i < 0 || !s->forges[i].project || !*sha)
		return;
	n = forge_outbox_close_open(s->outbox, repo, sha, state, description, NULL, &err);
	if (n < 0)
		sy_log_error("status outbox: %s", err.msg);
	else if (n > 0) {
		sy_log_info("status: repo=%s sha=%.12s: %d open contexts %s: %s", repo, sha, n,
			    forge_state_name(state), description);
		serve_wake_all(s);
	}
}

void serve_reopen_statuses(struct serve *s, const char *repo, const char *sha)
{
	long i = serve_repo_index(s, repo);
	struct sy_error err = { { 0 } };

	if (i < 0 || !s->forges[i].project || !*sha)
		return;
	if (forge_outbox_reopen_commit(s->outbox, repo, sha, &err))
		sy_log_error("status outbox: %s", err.msg);
}

/* The .repo URL of p's channel when it was published, else NULL. */
static char *repo_file_url(struct serve *s, const struct server_store_pipeline *p)
{
	struct state_published rec;
	char *url = NULL;

	if (state_published_read(s->conf.state_dir, p->channel, &rec, NULL) > 0 && rec.commit)
		url = sy_xasprintf("%s/repos/%s.repo", s->conf.url, p->channel);
	state_published_release(&rec);
	return url;
}

void serve_post_pr_comment(struct serve *s, long id, const json_t *images)
{
	struct server_store_pipeline p;
	struct sy_error err = { { 0 } };
	json_t *detail = NULL;
	char *url = NULL, *text;
	long i;

	if (server_store_get(s->store, id, &p, &err) != 1) {
		if (err.msg[0])
			sy_log_error("pull request comment: %s", err.msg);
		return;
	}
	i = serve_repo_index(s, p.repo);
	if (!p.pr || i < 0 || !s->forges[i].project)
		goto out;
	detail = dashboard_pipeline_detail_json(&s->dashboard, &p, &err);
	if (!detail) {
		sy_log_error("pull request comment: pipeline %ld: %s", id, err.msg);
		goto out;
	}
	url = repo_file_url(s, &p);
	text = server_pr_comment(detail, images, s->conf.url, url);
	if (forge_outbox_enqueue_comment(s->outbox, p.repo, p.pr, text, &err) < 0)
		sy_log_error("status outbox: %s", err.msg);
	else {
		sy_log_info("comment: pipeline=%ld repo=%s pr=%ld queued", id, p.repo, p.pr);
		serve_wake_all(s);
	}
	free(text);
out:
	free(url);
	json_decref(detail);
	server_store_pipeline_release(&p);
}

/* Stops the running pipelines among what p superseded and ends the
 * statuses all of them left open. Takes s->lock. */
static void stop_superseded(struct serve *s, const struct server_store_pipeline *p,
			    const struct server_store_superseded *old, size_t n)
{
	char why[128];

	if (*p->head)
		snprintf(why, sizeof(why), "superseded by %.12s", p->head);
	else
		snprintf(why, sizeof(why), "pull request closed");
	pthread_mutex_lock(&s->lock);
	for (size_t k = 0; k < n; k++)
		for (int j = 0; old[k].running && j < s->nslots; j++)
			if (s->slots[j].id == old[k].id) {
				s->slots[j].superseded = 1;
				snprintf(s->slots[j].superseded_by, sizeof(s->slots[j].superseded_by),
					 "%s", p->head);
				server_runner_stop(s->slots[j].pid);
			}
	pthread_mutex_unlock(&s->lock);
	/* Statuses of the same commit are the new pipeline's to end. */
	for (size_t k = 0; k < n; k++)
		if (strcmp(old[k].head, p->head))
			serve_close_statuses(s, p->repo, old[k].head, FORGE_CANCELLED, why);
}

int serve_queue_pipeline(struct serve *s, const struct server_store_event *ev,
			 struct server_store_pipeline *p, struct sy_error *err)
{
	struct server_store_superseded *old = NULL;
	size_t nold = 0;
	int rc = server_store_queue(s->store, ev, p, &old, &nold, NULL, err);

	if (rc != 1)
		return rc;
	stop_superseded(s, p, old, nold);
	free(old);
	if (!server_pipeline_state_is_final(p->state)) {
		serve_post_status(s, p, "shipyard/plan", FORGE_PENDING, "queued");
		serve_wake_all(s);
	}
	return 1;
}

void serve_close_orphaned_statuses(struct serve *s)
{
	struct sy_strv repos = SY_STRV_INIT, shas = SY_STRV_INIT;
	struct sy_error err = { { 0 } };

	if (forge_outbox_open_commits(s->outbox, &repos, &shas, &err))
		sy_log_error("status outbox: %s", err.msg);
	for (size_t i = 0; i < repos.n; i++) {
		int active = server_store_active(s->store, repos.items[i], shas.items[i], &err);
		if (active < 0)
			sy_log_error("%s", err.msg);
		else if (!active)
			serve_close_statuses(s, repos.items[i], shas.items[i], FORGE_ERROR,
					     "pipeline ended without a result for this context");
	}
	sy_strv_release(&repos);
	sy_strv_release(&shas);
}

/* ---- runner threads ---- */

/* A final status held back while the service stops its pipelines. */
struct held_status {
	char *context, *description;
	enum forge_state state;
};

/* What a runner learns from its child while it runs. */
struct run_state {
	struct serve *s;
	struct slot *slot;
	const struct server_store_pipeline *p;
	struct sy_strv contexts;      /* contexts that got a status */
	struct sy_strv finals;        /* those whose last status was final */
	struct held_status *held;     /* finals that came after the stop */
	size_t nheld;
	char *first_failed;           /* the first job that failed, or NULL: the
				       * failed shipyard/build status links to
				       * its log */
	json_t *images;               /* [{"config", "state", "description"}] of
				       * the shipyard/image/<config> statuses, for
				       * the pull request comment */
};

/* Keeps the latest status of an image context for the comment. */
static void note_image(struct run_state *rs, const char *context, enum forge_state st,
		       const char *description)
{
	static const char prefix[] = "shipyard/image/";
	const char *config = context + sizeof(prefix) - 1;
	size_t i;
	json_t *im = NULL;

	if (strncmp(context, prefix, sizeof(prefix) - 1))
		return;
	json_array_foreach(rs->images, i, im)
		if (!strcmp(json_string_value(json_object_get(im, "config")), config))
			break;
	if (i == json_array_size(rs->images)) {
		im = json_object();
		json_object_set_new(im, "config", json_string(config));
		json_array_append_new(rs->images, im);
	}
	json_object_set_new(im, "state", json_string(forge_state_name(st)));
	json_object_set_new(im, "description", json_string(description ? description : ""));
}

/* 1 once the service stops this pipeline for its shutdown (not because a
 * newer one superseded it). */
static int stopped_for_shutdown(struct run_state *rs)
{
	pthread_mutex_lock(&rs->s->lock);
	int stopped = rs->s->stop_children && !rs->slot->superseded;
	pthread_mutex_unlock(&rs->s->lock);
	return stopped;
}

/* 1 once a newer pipeline superseded this one, or a person cancelled it
 * (its child was told to stop). */
static int stopped_as_superseded(struct run_state *rs)
{
	pthread_mutex_lock(&rs->s->lock);
	int superseded = rs->slot->superseded || rs->slot->cancelled;
	pthread_mutex_unlock(&rs->s->lock);
	return superseded;
}

static void on_status(void *arg, const char *context, enum forge_state st,
		      const char *description)
{
	struct run_state *rs = arg;

	/* The pipeline says "pending" when work on a context starts: for the
	 * forge that is running (GitLab shows it; GitHub and Gitea say pending). */
	if (st == FORGE_PENDING)
		st = FORGE_RUNNING;
	if (!sy_strv_contains(&rs->contexts, context))
		sy_strv_push(&rs->contexts, context);
	note_image(rs, context, st, description);
	/* A pipeline stopped because a newer one superseded it says "error ...
	 * cancelled" for the contexts it opened after the newer one closed the
	 * open ones: not a result. run_one ends them "superseded by <sha>" (or
	 * leaves them to a newer pipeline of the same commit). */
	if ((st == FORGE_ERROR || st == FORGE_CANCELLED) && stopped_as_superseded(rs))
		return;
	if (forge_state_is_final(st) && !sy_strv_contains(&rs->finals, context))
		sy_strv_push(&rs->finals, context);
	/* A pipeline stopped for the shutdown says "cancelled": that is not a
	 * result, it runs again at the next start. Its finals wait for how
	 * it ended (run_one). */
	if (forge_state_is_final(st) && stopped_for_shutdown(rs)) {
		rs->held = sy_xrealloc(rs->held, (rs->nheld + 1) * sizeof(*rs->held));
		rs->held[rs->nheld++] = (struct held_status){ sy_xstrdup(context),
							      sy_xstrdup(description), st };
		return;
	}
	serve_post_status_link(rs->s, rs->p, context, st, description,
			       st == FORGE_FAILURE && !strcmp(context, "shipyard/build")
				       ? rs->first_failed : NULL);
}

/* Posts (post = 1) or drops the held finals, and frees them. */
static void release_held(struct run_state *rs, int post)
{
	for (size_t i = 0; i < rs->nheld; i++) {
		if (post)
			serve_post_status(rs->s, rs->p, rs->held[i].context, rs->held[i].state,
					  rs->held[i].description);
		free(rs->held[i].context);
		free(rs->held[i].description);
	}
	free(rs->held);
	rs->held = NULL;
	rs->nheld = 0;
}

static void on_job(void *arg, const char *name, enum builder_job_state state, const char *reason,
		   const char *log, double seconds)
{
	struct run_state *rs = arg;
	struct server_store_job job = { (char *)name, state, (char *)reason, (char *)log, seconds };

	server_store_set_job(rs->s->store, rs->p->id, &job, NULL);
	/* Image jobs ("image/<config>") are reported too: they are no builds. */
	int is_build = strncmp(name, "image/", 6) != 0;
	if (is_build && state == BUILDER_JOB_FAILED && !rs->first_failed)
		rs->first_failed = sy_xstrdup(name);
	if (is_build && (state == BUILDER_JOB_BUILT || state == BUILDER_JOB_FAILED))
		server_metrics_build(rs->s->metrics, builder_job_state_name(state), seconds);
}

/* The cascade guard held the plan: recorded at once, so that the pipeline
 * can be approved as soon as it ends (server_store_approve). */
static void on_held(void *arg, const char *description)
{
	struct run_state *rs = arg;
	struct sy_error err = { { 0 } };

	sy_log_info("pipeline %ld: approval needed: %s", rs->p->id, description);
	if (server_store_set_held(rs->s->store, rs->p->id, description, &err))
		sy_log_error("%s", err.msg);
}

void serve_release_ended(struct serve *s, const struct server_store_pipeline *p,
			 const char *superseded_by, const char *error)
{
	struct sy_error err = { { 0 } };
	char created[32], *why;
	time_t now = time(NULL);
	struct tm tm;

	if (state_release_exists(s->conf.state_dir, p->repo, p->release))
		return;
	if (superseded_by)
		why = *superseded_by ? sy_xasprintf("superseded by %.12s", superseded_by)
				     : sy_xstrdup("the pull request was closed");
	else if (error)
		why = sy_xasprintf("the pipeline could not run: %s", error);
	else
		why = sy_xstrdup("the pipeline ended without making the release");
	gmtime_r(&now, &tm);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	char *pipeline = sy_xasprintf("%ld", p->id);
	const struct state_release rel = {
		.repo = p->repo, .name = p->release, .state = STATE_RELEASE_SKIPPED, .reason = why,
		.created = created, .commit = p->head && *p->head ? p->head : NULL, .channel = p->channel,
		.pipeline = pipeline,
	};
	if (state_release_record_skipped(s->conf.state_dir, &rel, &err) < 0)
		sy_log_error("release %s/%s: %s", p->repo, p->release, err.msg);
	else
		sy_log_info("release %s/%s: skipped: %s", p->repo, p->release, why);
	free(pipeline);
	free(why);
}

/* Gives every context that never got a final status one. */
static void close_contexts(struct run_state *rs, enum forge_state st, const char *why)
{
	for (size_t k = 0; k < rs->contexts.n; k++)
		if (!sy_strv_contains(&rs->finals, rs->contexts.items[k]))
			serve_post_status(rs->s, rs->p, rs->contexts.items[k], st, why);
}

static void run_one(struct serve *s, struct slot *slot, struct server_store_pipeline *p)
{
	long ri = serve_repo_index(s, p->repo);
	struct run_state rs = { s, slot, p, SY_STRV_INIT, SY_STRV_INIT, NULL, 0, NULL, json_array() };
	struct server_runner_sink sink = { on_status, on_job, on_held, &rs };
	struct sy_error err = { { 0 } };
	enum server_pipeline_state state;
	int rc;

	sy_log_info("pipeline %ld: repo=%s trigger=%s ref=%s head=%.12s attempt=%d%s", p->id,
		    p->repo, p->trigger, p->ref, p->head, p->attempts,
		    p->approves ? " approve" : "");
	if (ri < 0) {
		server_store_finish(s->store, p->id, SERVER_PIPELINE_ERROR,
				    "repository no longer configured", NULL);
		return;
	}
	sy_strv_push(&rs.contexts, "shipyard/plan");
	struct server_runner_request req = {
		.pipeline = p, .repo = &s->conf.repos[ri], .config = s->conf.path,
		.state_dir = s->conf.state_dir,
		.self = s->self, .worker_cache = s->worker_cache,
		.worker_manifest = s->worker_manifest, .child = &slot->pid,
	};
	double started = sy_now_s();
	rc = server_runner_run(&req, &sink, &err);
	pthread_mutex_lock(&s->lock);
	int superseded = slot->superseded, stopped = s->stop_children;
	int cancelled = slot->cancelled && !superseded && rc != 0;
	char by[sizeof(slot->superseded_by)], cancelled_by[sizeof(slot->cancelled_by) + 16];
	memcpy(by, slot->superseded_by, sizeof(by));
	snprintf(cancelled_by, sizeof(cancelled_by), "cancelled by %s", slot->cancelled_by);
	pthread_mutex_unlock(&s->lock);
	int interrupted = stopped && !superseded && !cancelled && rc != 0 && rc != 1;
	release_held(&rs, !interrupted);
	if (interrupted) {
		/* Shutdown: checkpoint. Queued again, it resumes at the next
		 * start; its finished builds are reused by build key. Its
		 * contexts stay open: the next run ends them. */
		server_store_finish(s->store, p->id, SERVER_PIPELINE_QUEUED, "interrupted by shutdown",
				    NULL);
		sy_log_info("pipeline %ld: interrupted by shutdown, queued again", p->id);
		goto out;
	}
	if (superseded) {
		state = SERVER_PIPELINE_SUPERSEDED;
		/* A newer pipeline of the same commit ends these contexts. */
		if (strcmp(by, p->head)) {
			char why[64];
			snprintf(why, sizeof(why), *by ? "superseded by %.12s" : "pull request closed",
				 by);
			close_contexts(&rs, FORGE_CANCELLED, why);
		}
	} else if (cancelled) {
		/* The child's "cancelled" errors were held back: the statuses
		 * say who stopped it (GitHub and Gitea show error, GitLab
		 * canceled). */
		state = SERVER_PIPELINE_CANCELLED;
		close_contexts(&rs, FORGE_CANCELLED, cancelled_by);
	} else if (rc < 0) {
		state = SERVER_PIPELINE_ERROR;
		sy_log_error("pipeline %ld: %s", p->id, err.msg);
		close_contexts(&rs, FORGE_ERROR, err.msg);
	} else {
		state = rc == 0 ? SERVER_PIPELINE_SUCCESS
			: rc == 1 ? SERVER_PIPELINE_FAILURE
				  : SERVER_PIPELINE_ERROR;
		close_contexts(&rs, rc == 1 ? FORGE_FAILURE : FORGE_ERROR,
			       "pipeline ended without a result for this context");
	}
	if (p->release)
		serve_release_ended(s, p, superseded ? by : NULL, rc < 0 ? err.msg : NULL);
	server_store_finish(s->store, p->id, state,
			    cancelled ? cancelled_by : rc < 0 ? err.msg : NULL, NULL);
	server_metrics_pipeline(s->metrics, server_pipeline_state_name(state), sy_now_s() - started);
	/* A failed build is the distribution's, not the service's: a warning;
	 * a pipeline that could not run is an error. */
	enum sy_log_level level = SY_LOG_INFO;
	if (state == SERVER_PIPELINE_ERROR)
		level = SY_LOG_ERR;
	else if (state == SERVER_PIPELINE_FAILURE)
		level = SY_LOG_WARNING;
	sy_log_at(level, "pipeline %ld: %s", p->id, server_pipeline_state_name(state));
	if (!superseded)
		serve_post_pr_comment(s, p->id, rs.images);
out:
	sy_strv_release(&rs.contexts);
	sy_strv_release(&rs.finals);
	free(rs.first_failed);
	json_decref(rs.images);
}

void *serve_runner_main(void *arg)
{
	struct serve_runner_arg *ra = arg;
	struct serve *s = ra->s;

	for (;;) {
		struct server_store_pipeline p;
		pthread_mutex_lock(&s->lock);
		int stopping = s->stopping;
		pthread_mutex_unlock(&s->lock);
		if (stopping)
			break;
		int got = server_store_claim(s->store, &p, NULL);
		if (got == 1) {
			pthread_mutex_lock(&s->lock);
			ra->slot->id = p.id;
			ra->slot->superseded = 0;
			ra->slot->superseded_by[0] = '\0';
			ra->slot->cancelled = 0;
			ra->slot->cancelled_by[0] = '\0';
			pthread_mutex_unlock(&s->lock);
			run_one(s, ra->slot, &p);
			pthread_mutex_lock(&s->lock);
			ra->slot->id = 0;
			pthread_mutex_unlock(&s->lock);
			server_store_pipeline_release(&p);
			continue;
		}
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_mutex_lock(&s->lock);
		if (!s->stopping)
			pthread_cond_timedwait(&s->wake, &s->lock, &until);
		pthread_mutex_unlock(&s->lock);
	}
	return NULL;
}

/* ---- the outbox thread ---- */

/* What a drain sent, by forge kind, into the metrics; and the backlog. */
static void count_sent(struct serve *s, const struct forge_outbox_drain_stats *st)
{
	struct sy_error err = { { 0 } };
	int rejected = st->rejected;
	long pending;

	for (int k = 0; k < FORGE_OUTBOX_NKINDS; k++) {
		const char *kind = forge_kind_name((enum forge_kind)k);
		server_metrics_status_sent(s->metrics, kind, "accepted", st->by_kind[k].accepted);
		server_metrics_status_sent(s->metrics, kind, "retried", st->by_kind[k].retried);
		server_metrics_status_sent(s->metrics, kind, "rejected", st->by_kind[k].rejected);
		rejected -= st->by_kind[k].rejected;
	}
	/* Entries of a repository that has no forge (any more). */
	server_metrics_status_sent(s->metrics, "none", "rejected", rejected);
	pending = forge_outbox_pending_count(s->outbox, &err);
	if (pending < 0)
		sy_log_error("status outbox: %s", err.msg);
	else
		server_metrics_outbox_pending(s->metrics, pending);
}

void *serve_outbox_main(void *arg)
{
	struct serve *s = arg;

	for (;;) {
		struct sy_error err = { { 0 } };
		struct forge_outbox_drain_stats stats = { 0 };
		if (forge_outbox_drain(s->outbox, time(NULL), lookup_forge, on_reject, s, &stats,
					 &err))
			sy_log_error("status outbox: %s", err.msg);
		count_sent(s, &stats);
		long due = forge_outbox_next_due(s->outbox, time(NULL), NULL);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1; /* new entries wake it; retries are due in >= 1 s */
		(void)due;
		pthread_mutex_lock(&s->lock);
		int stopping = s->outbox_stop;
		if (!stopping)
			pthread_cond_timedwait(&s->wake, &s->lock, &until);
		pthread_mutex_unlock(&s->lock);
		if (stopping)
			break;
	}
	return NULL;
}
