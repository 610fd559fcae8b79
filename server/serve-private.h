/* Shared between the files of the service only: serve.c (start, stop, the
 * main loop), hooks.c (webhooks to pipelines), api.c (the API's write
 * endpoints), pipelines.c (queueing, runner threads, statuses, releases,
 * the outbox thread), timers.c (polls and schedules) and collect.c (the
 * collection thread). The rest of
 * shipyard uses server/serve.h.
 *
 * Threads: libmicrohttpd's (webhooks, dashboard), one runner per slot, the
 * outbox thread, the collection thread, and the main thread (timers). The SQLite store is the only
 * shared state that matters; what the threads share besides is guarded by
 * serve.lock, as each member says. */
#ifndef SERVER_SERVE_PRIVATE_H
#define SERVER_SERVE_PRIVATE_H

#include <pthread.h>
#include <stddef.h>

#include <jansson.h>
#include <sys/types.h>
#include <time.h>

#include "common/error.h"
#include "common/strv.h"
#include "forge/forge.h"
#include "forge/outbox.h"
#include "forge/webhook.h"
#include "server/cron.h"
#include "server/dashboard.h"
#include "server/http.h"
#include "server/httpd.h"
#include "server/metrics.h"
#include "server/serveconf.h"
#include "server/store.h"

/* Runner slots; serve.pipelines is at most this (server/serveconf.h). */
#define MAX_RUNNERS SERVER_MAX_PIPELINES

/* A pipeline being run by a runner thread (guarded by serve.lock). */
struct slot {
	long id;          /* 0 when idle */
	pid_t pid;        /* its child */
	int superseded;   /* a newer push replaced it: stop it */
	char superseded_by[65]; /* the head of the pipeline that replaced it,
			  * "" when none (a closed pull request) */
	int cancelled;    /* a person cancelled it (the API): stop it */
	char cancelled_by[128]; /* who: "api:alice" */
};

/* Per-repository timer state (the main thread's alone). */
struct repo_timer {
	time_t next_poll;
	time_t *next_fire;            /* per schedule */
	struct server_cron *crons;   /* per schedule */
};

/* The service. conf, store, outbox, forges, metrics and dashboard are set
 * by start and read-only afterwards; the flags and slots are guarded by
 * lock; timers and the seen_* lists belong to the main thread. */
struct serve {
	struct server_conf conf;
	struct server_store *store;
	struct forge_outbox *outbox;
	struct forge *forges; /* per repo; project NULL when none configured */
	struct server_httpd *server;
	struct server_metrics *metrics;
	struct server_dashboard dashboard;
	struct repo_timer *timers;
	const char *self, *worker_manifest, *worker_cache;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stopping;                  /* no new pipelines are started */
	int outbox_stop;               /* the runners are gone: last drain */
	struct sy_strv seen_refs;      /* polling: "<repo>/<branch>" ... */
	struct sy_strv seen_heads;     /* ... and the head last queued */
	int stop_children;             /* stop the running pipelines now */
	struct slot slots[MAX_RUNNERS];
	int nslots;
};

/* 1 when a push to branch builds a pipeline: rc lists it, or lists none. */
static inline int serve_branch_watched(const struct server_repo_conf *rc, const char *branch)
{
	return !rc->branches.n || sy_strv_contains(&rc->branches, branch);
}

/* ---- serve.c ---- */

/* Wakes the runner and outbox threads (a pipeline was queued, a status
 * enqueued, or they must stop). Takes s->lock. */
void serve_wake_all(struct serve *s);

/* Returns the index of the configured repository named name in
 * s->conf.repos, or -1. */
long serve_repo_index(const struct serve *s, const char *name);

/* Answers r with status and the JSON document doc (released), compact. */
void serve_reply_json(struct server_http_response *r, int status, json_t *doc);

/* Answers r with status and {"error": msg}. */
void serve_reply_error(struct server_http_response *r, int status, const char *msg);

/* ---- hooks.c ---- */

/* The webhook entry point of the HTTP server (server/httpd.h, arg the
 * struct serve): verifies, stores and acts on one delivery to
 * /hooks/<forge>, answers r, and times it for /metrics. */
void serve_on_webhook(void *arg, const char *forge, forge_header_fn header, void *header_arg,
		      const char *query, const char *body, size_t len,
		      struct server_http_response *r);

/* ---- api.c ---- */

/* The API's write endpoints, ahead of the dashboard's routes (server/api.c
 * lists them): POST /api/pipelines/<id>/approve, /retry and /cancel, and
 * POST /api/pipelines (a manual trigger, JSON body). Returns 1 when path is
 * one of them (r answered: 405 for another method, 403 without
 * serve.apitokens, 401 without a valid bearer token, 400 for a malformed
 * body, 404 for an unknown pipeline or repository, 409 for a pipeline in
 * the wrong state, 202 with the pipeline queued or being stopped); also 1
 * for a read of /api/ refused for want of a token when serve.apiread is
 * "token". 0 when it is not (the dashboard answers). body (len bytes, may
 * be NULL) is the request's. */
int serve_on_api(struct serve *s, const char *method, const char *path, forge_header_fn header,
		 void *header_arg, const char *body, size_t len, struct server_http_response *r);

/* What serve_retry and serve_rebuild answer: the HTTP status, and why in
 * a line when it is not 202. */
struct serve_control {
	int status;        /* 202 queued, 404, 409, 500 */
	char why[256];     /* for the other statuses */
	long pipeline;     /* 202: the pipeline queued */
};

/* Queues pipeline id again (trigger "retry", same repository, ref,
 * channel, base, head, release and pull request; requested_by by) when it
 * ended in failure, error or cancelled and no newer pipeline of its ref
 * exists. Its builds that succeeded are reused by build key, so only the
 * failed and blocked jobs build again. The commit's statuses are reopened
 * (forge_outbox_reopen_commit). Fills *out. */
void serve_retry(struct serve *s, long id, const char *by, struct serve_control *out);

/* Queues a pipeline of pipeline id's commits that rebuilds spec and what
 * needs it (trigger "rebuild", --rebuild) when id has ended and no newer
 * pipeline of its ref exists. Fills *out. */
void serve_rebuild(struct serve *s, long id, const char *spec, const char *by,
		   struct serve_control *out);

/* ---- repofile.c ---- */

/* GET /repos/<channel>.repo, ahead of the repositories' files: returns 1
 * when path is one (r answered: the channel's .repo file
 * (repo-publish/repofile.h) with serve.url as its base URL when configured,
 * else http://<the request's Host>; 404 for a channel never published, 405
 * for a method other than GET and HEAD), 0 when it is not. */
int serve_on_repo_file(struct serve *s, const char *method, const char *path,
		       forge_header_fn header, void *header_arg, struct server_http_response *r);

/* ---- pipelines.c ---- */

/* Queues a status of pipeline p in the outbox for the forge of its
 * repository (only logged when it has none). */
void serve_post_status(struct serve *s, const struct server_store_pipeline *p,
		       const char *context, enum forge_state state, const char *description);

/* As serve_post_status, but the status links to the log page of job
 * (/pipelines/<id>/jobs/<job>/log.html) instead of the pipeline's page;
 * job NULL links to the pipeline. For a failure: the forge's "Details"
 * leads to what failed. */
void serve_post_status_link(struct serve *s, const struct server_store_pipeline *p,
			    const char *context, enum forge_state state, const char *description,
			    const char *job);

/* Queues the pull request comment of pipeline id (server/prcomment.h) in
 * the outbox, when it is a pull request's and its repository has a forge:
 * the comment is created on the first pipeline of the pull request and
 * edited on each later one. images are the pipeline's image statuses
 * ([{"config", "state", "description"}], may be NULL). Logs what fails. */
void serve_post_pr_comment(struct serve *s, long id, const json_t *images);

/* Queues the final status state with description for every context of
 * repository repo's commit sha whose statuses did not end
 * (forge_outbox_close_open), when repo has a forge. */
void serve_close_statuses(struct serve *s, const char *repo, const char *sha,
			  enum forge_state state, const char *description);

/* Lets a new run of repository repo's commit sha report its statuses to
 * the forge again (forge_outbox_reopen_commit), when repo has a forge: the
 * approval of a held plan builds a commit whose shipyard/plan ended. */
void serve_reopen_statuses(struct serve *s, const char *repo, const char *sha);

/* Queues p (server_store_queue: in one transaction with storing the event
 * ev that asks for it, NULL for a poll or a schedule), stops the running
 * pipelines it supersedes, ends the statuses those left open ("superseded
 * by <sha>", unless they were for p's own commit, which p reports), posts
 * p's pending status and wakes the runners; a p recorded as ended (a closed
 * pull request) is only stored. Returns 1 (p->id set), 0 when ev is a
 * redelivery (nothing done), -1 with err. */
int serve_queue_pipeline(struct serve *s, const struct server_store_event *ev,
			 struct server_store_pipeline *p, struct sy_error *err);

/* At start: ends the statuses that no pipeline can end any more (their
 * pipeline ended or was superseded while the service was down): every open
 * context of a commit that no queued or running pipeline of its repository
 * builds gets an error. */
void serve_close_orphaned_statuses(struct serve *s);

/* Records the release of scheduled pipeline p as skipped when its run left
 * no record (a run records its release, made or skipped, itself:
 * pipeline/release.c): superseded_by is the head of the pipeline that
 * superseded it ("" for a closed pull request) or NULL, error why the run
 * could not run or NULL. Logs what it recorded. */
void serve_release_ended(struct serve *s, const struct server_store_pipeline *p,
			 const char *superseded_by, const char *error);

/* What a runner thread runs with. */
struct serve_runner_arg {
	struct serve *s;
	struct slot *slot; /* its own slot of s->slots */
};

/* A runner thread (arg a struct serve_runner_arg): claims queued pipelines
 * and runs them one at a time until s->stopping. */
void *serve_runner_main(void *arg);

/* The outbox thread (arg the struct serve): sends due statuses until
 * s->outbox_stop, then drains once more. */
void *serve_outbox_main(void *arg);

/* ---- collect.c ---- */

/* The collection thread (arg the struct serve): every
 * s->conf.gc_interval_s seconds, the first one interval after the start,
 * applies s->conf.retention to the state directory (pipeline_gc_run,
 * without waiting for another collection or a publication) and logs what
 * it removed and kept; returns once s->stopping. Started only when the
 * interval is not 0. */
void *serve_collect_main(void *arg);

/* ---- timers.c ---- */

/* Checks every repository's schedules; -1 with err naming the first that
 * is not a cron expression, else 0. */
int serve_check_schedules(const struct server_conf *conf, struct sy_error *err);

/* Sets up s->timers: polls due now, schedules at their next time. */
void serve_timers_init(struct serve *s);

/* Runs the polls and schedules that are due (main thread). */
void serve_timers_tick(struct serve *s);

/* Frees s->timers. */
void serve_timers_release(struct serve *s);

#endif
