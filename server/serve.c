/* The service: one process, threads for HTTP (libmicrohttpd's), for running
 * pipelines, for the status outbox and for timers (polling, schedules). The
 * SQLite store is the only shared state that matters; what the threads share
 * besides is guarded by serve.lock. */
#define _GNU_SOURCE
#include "server/serve.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/log.h"
#include "common/strv.h"
#include "gitwatch/mirror.h"
#include "gitwatch/repo.h"
#include "server/cron.h"
#include "server/dashboard.h"
#include "forge/forge.h"
#include "server/metrics.h"
#include "forge/outbox.h"
#include "server/runner.h"
#include "server/httpd.h"
#include "server/serveconf.h"
#include "repo-publish/publish.h"
#include "server/store.h"
#include "state/layout.h"
#include "forge/webhook.h"

#define MAX_RUNNERS 16

/* A pipeline being run by a runner thread. */
struct slot {
	long id;          /* 0 when idle */
	pid_t pid;        /* its child */
	int superseded;   /* a newer push replaced it: stop it */
};

/* Per-repository timer state. */
struct repo_timer {
	time_t next_poll;
	time_t *next_fire;            /* per schedule */
	struct server_cron *crons;   /* per schedule */
};

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

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	(void)sig;
	got_signal = 1;
}

static void wake_all(struct serve *s)
{
	pthread_mutex_lock(&s->lock);
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

static long repo_index(const struct serve *s, const char *name)
{
	for (size_t i = 0; i < s->conf.nrepos; i++)
		if (!strcmp(s->conf.repos[i].name, name))
			return (long)i;
	return -1;
}

/* ------------------------------------------------------------------------ */
/* Statuses.                                                                 */

static const struct forge *lookup_forge(void *arg, const char *name)
{
	struct serve *s = arg;
	long i = repo_index(s, name);

	return i >= 0 && s->forges[i].project ? &s->forges[i] : NULL;
}

static void on_reject(void *arg, const struct forge_outbox_entry *e, long http_status,
		      const char *message)
{
	(void)arg;
	sy_log_warn("status rejected: repo=%s sha=%.12s context=%s http=%ld message=\"%s\"",
		    e->forge_name, e->request.sha, e->request.context, http_status, message);
}

/* Queues a status of pipeline p for the forge of its repository. */
static void post_status(struct serve *s, const struct server_store_pipeline *p,
			const char *context, enum forge_state state,
			const char *description)
{
	long i = repo_index(s, p->repo);
	char *url = sy_xasprintf("%s/pipelines/%ld", s->conf.url, p->id);
	struct forge_status_request r = { .sha = p->head, .context = context, .state = state,
					    .description = description, .target_url = url };
	struct sy_error err = { { 0 } };

	sy_log_info("status: pipeline=%ld repo=%s sha=%.12s context=%s state=%s", p->id, p->repo,
		    p->head, context, forge_state_name(state));
	if (i >= 0 && s->forges[i].project &&
	    forge_outbox_enqueue(s->outbox, p->repo, &r, NULL, &err) == 0)
		wake_all(s);
	else if (err.msg[0])
		sy_log_error("status outbox: %s", err.msg);
	free(url);
}

/* ------------------------------------------------------------------------ */
/* Webhooks.                                                                 */

static void reply_json(struct server_http_response *r, int status, json_t *doc)
{
	char *text = json_dumps(doc, JSON_COMPACT);

	server_http_text(r, status, "application/json", text ? text : "{}");
	free(text);
	json_decref(doc);
}

static void reply_error(struct server_http_response *r, int status, const char *msg)
{
	reply_json(r, status, json_pack("{s:s}", "error", msg));
}

/* Whether repository i may receive deliveries of kind: it has a webhook
 * secret and no other forge configured. */
static int accepts(const struct serve *s, size_t i, enum forge_kind kind)
{
	const struct server_repo_conf *rc = &s->conf.repos[i];
	enum forge_kind k;

	if (!rc->secret_file)
		return 0;
	return !rc->forge || (forge_kind_parse(rc->forge, &k, NULL) == 0 && k == kind);
}

/* The repository a delivery is for: ?repo=NAME, else the only one that
 * accepts this forge's deliveries, else the one whose project names the
 * payload's repository. Returns its index or -1. */
static long pick_repo(const struct serve *s, enum forge_kind kind, const char *query,
		      forge_header_fn header, void *header_arg, const char *body, size_t len)
{
	const char *q = strstr(query, "repo=");
	long found = -1, candidates = 0;

	if (q) {
		char *name = sy_xstrndup(q + 5, strcspn(q + 5, "&"));
		long i = repo_index(s, name);
		free(name);
		return i;
	}
	for (size_t i = 0; i < s->conf.nrepos; i++)
		if (accepts(s, i, kind)) {
			candidates++;
			found = (long)i;
		}
	/* One repository for this forge: no need to read the payload. */
	if (candidates <= 1)
		return found;
	char *form_json = NULL;
	size_t form_len = 0;
	if (forge_webhook_json(header, header_arg, body, len, &form_json, &form_len, NULL))
		return -1;
	json_t *doc = form_json ? json_loadb(form_json, form_len, 0, NULL)
				: json_loadb(body, len, 0, NULL);
	free(form_json);
	const char *full = json_string_value(json_object_get(json_object_get(doc, "repository"),
							     "full_name"));
	if (!full)
		full = json_string_value(json_object_get(json_object_get(doc, "project"),
							 "path_with_namespace"));
	found = -1;
	for (size_t i = 0; full && i < s->conf.nrepos && found < 0; i++)
		if (accepts(s, i, kind) && s->conf.repos[i].project &&
		    !strcmp(s->conf.repos[i].project, full))
			found = (long)i;
	json_decref(doc);
	return found;
}

static int branch_watched(const struct server_repo_conf *rc, const char *branch)
{
	return !rc->branches.n || sy_strv_contains(&rc->branches, branch);
}

/* Stops the running pipelines a queue call superseded. */
static void stop_superseded(struct serve *s, const long *ids, size_t n)
{
	pthread_mutex_lock(&s->lock);
	for (size_t k = 0; k < n; k++)
		for (int j = 0; j < s->nslots; j++)
			if (s->slots[j].id == ids[k]) {
				s->slots[j].superseded = 1;
				server_runner_stop(s->slots[j].pid);
			}
	pthread_mutex_unlock(&s->lock);
}

/* Queues p; returns its id or 0 (err set). */
static long queue_pipeline(struct serve *s, struct server_store_pipeline *p, long event,
			   struct sy_error *err)
{
	long *running = NULL;
	size_t nrunning = 0;

	if (server_store_queue(s->store, p, event, &running, &nrunning, err))
		return 0;
	stop_superseded(s, running, nrunning);
	free(running);
	post_status(s, p, "shipyard/plan", FORGE_PENDING, "queued");
	wake_all(s);
	return p->id;
}

/* Removes the repository a closed pull request published to. */
static void close_pull_request(struct serve *s, const struct server_repo_conf *rc,
			       long long number)
{
	const char *repo = rc->name;
	char *channel = sy_xasprintf("%spr-%lld", rc->channel_prefix, number);
	char *dir = state_channel_dir(s->conf.state_dir, channel);
	struct server_store_pipeline p = { .repo = (char *)repo, .trigger = "pull_request",
					    .channel = "", .head = "" };
	char ref[64];
	long *running = NULL;
	size_t nrunning = 0;

	snprintf(ref, sizeof(ref), "pr/%lld", number);
	p.ref = ref;
	/* Marks what runs for it superseded without queueing anything new. */
	if (server_store_queue(s->store, &p, 0, &running, &nrunning, NULL) == 0) {
		stop_superseded(s, running, nrunning);
		server_store_finish(s->store, p.id, "cancelled", "pull request closed", NULL);
	}
	free(running);
	sy_rm_rf(dir, NULL);
	sy_log_info("pull request closed: repo=%s pr=%lld: removed %s", repo, number, dir);
	free(dir);
	free(channel);
}

/* Turns a verified, parsed and stored event into a pipeline. */
static void act_on_event(struct serve *s, long ri, const struct forge_event *ev, long event,
			 struct server_http_response *r)
{
	const struct server_repo_conf *rc = &s->conf.repos[ri];
	struct server_store_pipeline p = { .repo = rc->name };
	char ref[64], channel[320];
	struct sy_error err = { { 0 } };
	long id = 0;

	if (ev->kind == FORGE_EVENT_PUSH) {
		if (!ev->branch || !branch_watched(rc, ev->branch)) {
			reply_json(r, 200, json_pack("{s:s}", "ignored", "branch not watched"));
			return;
		}
		p.trigger = "push";
		snprintf(channel, sizeof(channel), "%s%s", rc->channel_prefix, ev->branch);
		p.ref = ev->branch;
		p.channel = channel;
		p.head = (char *)ev->after;
	} else if (ev->kind == FORGE_EVENT_PR_CLOSED) {
		close_pull_request(s, rc, ev->pr_number);
		reply_json(r, 202, json_pack("{s:I}", "closed", (json_int_t)ev->pr_number));
		return;
	} else {
		snprintf(ref, sizeof(ref), "pr/%lld", ev->pr_number);
		snprintf(channel, sizeof(channel), "%spr-%lld", rc->channel_prefix, ev->pr_number);
		p.trigger = "pull_request";
		p.ref = ref;
		p.channel = channel;
		p.head = (char *)ev->head_sha;
		p.base = ev->base_ref;
		p.pr = (long)ev->pr_number;
	}
	id = queue_pipeline(s, &p, event, &err);
	if (!id) {
		sy_log_error("%s", err.msg);
		reply_error(r, 500, "cannot queue the pipeline");
		return;
	}
	char *url = sy_xasprintf("%s/pipelines/%ld", s->conf.url, id);
	reply_json(r, 202, json_pack("{s:I, s:s}", "pipeline", (json_int_t)id, "url", url));
	free(url);
}

static void handle_webhook(struct serve *s, const char *forge, forge_header_fn header,
			   void *header_arg, const char *query, const char *body, size_t len,
			   struct server_http_response *r);

/* Webhook entry point: handled, then timed for /metrics. */
static void on_webhook(void *arg, const char *forge, forge_header_fn header, void *header_arg,
		       const char *query, const char *body, size_t len,
		       struct server_http_response *r)
{
	struct serve *s = arg;
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	handle_webhook(s, forge, header, header_arg, query, body, len, r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	server_metrics_webhook(s->metrics, forge, r->status,
				(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
}

static void handle_webhook(struct serve *s, const char *forge, forge_header_fn header,
			   void *header_arg, const char *query, const char *body, size_t len,
			   struct server_http_response *r)
{
	enum forge_kind kind;
	struct forge_event ev = FORGE_EVENT_INIT;
	struct sy_error err = { { 0 } };
	char *secret = NULL;
	long ri, event = 0;

	if (!strcmp(forge, "forgejo"))
		forge = "gitea";
	if (forge_kind_parse(forge, &kind, NULL)) {
		reply_error(r, 404, "unknown forge");
		return;
	}
	ri = pick_repo(s, kind, query, header, header_arg, body, len);
	if (ri < 0 || !s->conf.repos[ri].secret_file) {
		reply_error(r, 404, "no repository configured for this delivery");
		return;
	}
	secret = server_read_secret(s->conf.repos[ri].secret_file, &err);
	if (!secret || forge_webhook_verify(kind, header, header_arg, body, len, secret, &err)) {
		sy_log_warn("webhook refused: forge=%s repo=%s: %s", forge, s->conf.repos[ri].name,
			    err.msg);
		reply_error(r, 401, err.msg);
		goto out;
	}
	if (forge_webhook_parse(kind, header, header_arg, body, len, &ev, &err)) {
		sy_log_warn("webhook refused: forge=%s repo=%s: %s", forge, s->conf.repos[ri].name,
			    err.msg);
		reply_error(r, 400, err.msg);
		goto out;
	}
	if (ev.kind == FORGE_EVENT_PING) {
		reply_json(r, 200, json_pack("{s:s}", "pong", s->conf.repos[ri].name));
		goto out;
	}
	struct server_store_event se = {
		.delivery = ev.delivery_id, .repo = s->conf.repos[ri].name,
		.kind = forge_event_kind_name(ev.kind), .ref = ev.branch,
		.sha = ev.kind == FORGE_EVENT_PUSH ? ev.after : ev.head_sha,
	};
	int stored = server_store_add_event(s->store, &se, &event, &err);
	sy_log_info("event: delivery=%s forge=%s repo=%s kind=%s ref=%s sha=%.12s%s", ev.delivery_id,
		    forge, se.repo, se.kind, ev.branch ? ev.branch : "-", se.sha,
		    stored == 0 ? " duplicate" : "");
	if (stored < 0)
		reply_error(r, 500, "cannot store the event");
	else if (stored == 0)
		reply_json(r, 200, json_pack("{s:s}", "duplicate", ev.delivery_id));
	else if (ev.kind == FORGE_EVENT_IGNORED)
		reply_json(r, 200, json_pack("{s:s}", "ignored",
					     ev.ignored_reason ? ev.ignored_reason : "ignored"));
	else
		act_on_event(s, ri, &ev, event, r);
out:
	if (secret) {
		memset(secret, 0, strlen(secret));
		free(secret);
	}
	forge_event_release(&ev);
}

static int route(void *arg, const char *method, const char *path, const char *query,
		 struct server_http_response *r)
{
	struct serve *s = arg;

	return server_dashboard_route(&s->dashboard, method, path, query, r);
}

static size_t queue_length(void *arg)
{
	struct serve *s = arg;
	long counts[7] = { 0 }, events;

	server_store_counts(s->store, counts, &events, NULL);
	return (size_t)counts[0];
}

/* ------------------------------------------------------------------------ */
/* Running pipelines.                                                        */

/* What a runner learns from its child while it runs. */
struct run_state {
	struct serve *s;
	const struct server_store_pipeline *p;
	struct sy_strv contexts;      /* contexts that got a status */
	struct sy_strv finals;        /* those whose last status was final */
};

static enum forge_state state_of(const char *name)
{
	enum forge_state st = FORGE_ERROR;

	forge_state_parse(name, &st, NULL);
	return st;
}

static void on_status(void *arg, const char *context, const char *state, const char *description)
{
	struct run_state *rs = arg;
	enum forge_state st = state_of(state);

	/* The pipeline says "pending" when work on a context starts: for the
	 * forge that is running (GitLab shows it; GitHub and Gitea say pending). */
	if (st == FORGE_PENDING)
		st = FORGE_RUNNING;
	if (!sy_strv_contains(&rs->contexts, context))
		sy_strv_push(&rs->contexts, context);
	if (forge_state_is_final(st) && !sy_strv_contains(&rs->finals, context))
		sy_strv_push(&rs->finals, context);
	post_status(rs->s, rs->p, context, st, description);
}

static void on_job(void *arg, const char *name, const char *state, const char *reason,
		   const char *log, double seconds)
{
	struct run_state *rs = arg;
	struct server_store_job job = { (char *)name, (char *)state, (char *)reason, (char *)log,
					 seconds };

	server_store_set_job(rs->s->store, rs->p->id, &job, NULL);
	if (!strcmp(state, "built") || !strcmp(state, "failed"))
		server_metrics_build(rs->s->metrics, state, seconds);
}

/* A dated release of a scheduled pipeline: <state>/releases/<repo>/<name>/
 * with release.json naming the commit and the repository snapshot, the
 * snapshot linked as repo/, and the images directory named. */
static void make_release(struct serve *s, const struct server_store_pipeline *p)
{
	char *repos = state_repos_dir(s->conf.state_dir);
	char *snapshot = repo_publish_current_path(repos, p->channel);
	char *dir = state_release_dir(s->conf.state_dir, p->repo, p->release);
	char *link = sy_xasprintf("%s/repo", dir), *images = state_images_dir(s->conf.state_dir);
	struct state_release rel = { p->repo, p->release, p->head, snapshot, images };
	struct sy_error err = { { 0 } };

	if (!snapshot || sy_mkdir_p(dir, 0755, &err)) {
		sy_log_error("release %s: no published repository for %s", p->release, p->channel);
	} else {
		unlink(link);
		if (symlink(snapshot, link) < 0)
			sy_log_error("release %s: %s", link, strerror(errno));
		if (state_release_write(s->conf.state_dir, &rel, &err))
			sy_log_error("%s", err.msg);
		else
			sy_log_info("release: repo=%s release=%s commit=%.12s snapshot=%s", p->repo,
				    p->release, p->head, snapshot);
	}
	free(images);
	free(link);
	free(dir);
	free(snapshot);
	free(repos);
}

/* Gives every context that never got a final status one. */
static void close_contexts(struct run_state *rs, enum forge_state st, const char *why)
{
	for (size_t k = 0; k < rs->contexts.n; k++)
		if (!sy_strv_contains(&rs->finals, rs->contexts.items[k]))
			post_status(rs->s, rs->p, rs->contexts.items[k], st, why);
}

static void run_one(struct serve *s, struct slot *slot, struct server_store_pipeline *p)
{
	long ri = repo_index(s, p->repo);
	struct run_state rs = { s, p, SY_STRV_INIT, SY_STRV_INIT };
	struct server_runner_sink sink = { on_status, on_job, &rs };
	struct sy_error err = { { 0 } };
	const char *state;
	int rc;

	sy_log_info("pipeline %ld: repo=%s trigger=%s ref=%s head=%.12s attempt=%d", p->id, p->repo,
		    p->trigger, p->ref, p->head, p->attempts);
	if (ri < 0) {
		server_store_finish(s->store, p->id, "error", "repository no longer configured", NULL);
		return;
	}
	sy_strv_push(&rs.contexts, "shipyard/plan");
	struct server_runner_request req = {
		.pipeline = p, .repo = &s->conf.repos[ri], .config = s->conf.path,
		.state_dir = s->conf.state_dir,
		.self = s->self, .worker_cache = s->worker_cache,
		.worker_manifest = s->worker_manifest, .child = &slot->pid,
	};
	rc = server_runner_run(&req, &sink, &err);
	pthread_mutex_lock(&s->lock);
	int superseded = slot->superseded, stopped = s->stop_children;
	pthread_mutex_unlock(&s->lock);
	if (stopped && !superseded && rc != 0 && rc != 1) {
		/* Shutdown: checkpoint. Queued again, it resumes at the next
		 * start; its finished builds are reused by build key. */
		server_store_finish(s->store, p->id, "queued", "interrupted by shutdown", NULL);
		sy_log_info("pipeline %ld: interrupted by shutdown, queued again", p->id);
		goto out;
	}
	if (superseded) {
		state = "superseded";
		close_contexts(&rs, FORGE_CANCELLED, "superseded by a newer pipeline");
	} else if (rc < 0) {
		state = "error";
		sy_log_error("pipeline %ld: %s", p->id, err.msg);
		close_contexts(&rs, FORGE_ERROR, err.msg);
	} else {
		state = rc == 0 ? "success" : rc == 1 ? "failure" : "error";
		close_contexts(&rs, rc == 1 ? FORGE_FAILURE : FORGE_ERROR,
			       "pipeline ended without a result for this context");
	}
	if (rc == 0 && p->release)
		make_release(s, p);
	server_store_finish(s->store, p->id, state, rc < 0 ? err.msg : NULL, NULL);
	sy_log_info("pipeline %ld: %s", p->id, state);
out:
	sy_strv_release(&rs.contexts);
	sy_strv_release(&rs.finals);
}

struct runner_arg {
	struct serve *s;
	struct slot *slot;
};

static void *runner_main(void *arg)
{
	struct runner_arg *ra = arg;
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

/* ------------------------------------------------------------------------ */
/* The outbox and the timers.                                                */

static void *outbox_main(void *arg)
{
	struct serve *s = arg;

	for (;;) {
		struct sy_error err = { { 0 } };
		struct forge_outbox_drain_stats stats = { 0 };
		if (forge_outbox_drain(s->outbox, time(NULL), lookup_forge, on_reject, s, &stats,
					 &err))
			sy_log_error("status outbox: %s", err.msg);
		for (int k = 0; k < stats.accepted; k++)
			server_metrics_status_sent(s->metrics, "forge", "accepted");
		for (int k = 0; k < stats.retried; k++)
			server_metrics_status_sent(s->metrics, "forge", "retried");
		for (int k = 0; k < stats.rejected; k++)
			server_metrics_status_sent(s->metrics, "forge", "rejected");
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

/* The commit a channel was last published from, or NULL. */
static char *published_commit(const struct serve *s, const char *channel)
{
	struct state_published rec;
	struct sy_error err = { { 0 } };
	char *commit;

	if (state_published_read(s->conf.state_dir, channel, &rec, &err) < 0)
		sy_log_warn("%s", err.msg);
	commit = rec.commit;
	rec.commit = NULL;
	state_published_release(&rec);
	return commit;
}

/* Queues a pipeline for a branch head found by polling or a schedule. */
static void queue_branch(struct serve *s, const struct server_repo_conf *rc, const char *branch,
			 const char *head, const char *trigger, const char *release)
{
	char ref[300], channel[320];
	struct sy_error err = { { 0 } };

	snprintf(ref, sizeof(ref), "%s%s", release ? "schedule/" : "", branch);
	snprintf(channel, sizeof(channel), "%s%s", rc->channel_prefix, branch);
	struct server_store_pipeline p = { .repo = rc->name, .trigger = (char *)trigger,
					    .ref = ref, .channel = channel, .head = (char *)head,
					    .release = (char *)release };
	long id = queue_pipeline(s, &p, 0, &err);
	if (id)
		sy_log_info("%s: repo=%s branch=%s head=%.12s pipeline=%ld%s%s", trigger, rc->name,
			    branch, head, id, release ? " release=" : "", release ? release : "");
	else
		sy_log_error("%s", err.msg);
}

/* Fetches the mirror; calls fn for every watched branch with its head. */
static int each_branch(struct serve *s, const struct server_repo_conf *rc,
		       void (*fn)(struct serve *, const struct server_repo_conf *, const char *,
				  const char *, void *),
		       void *arg)
{
	char *mirror = state_mirror_dir(s->conf.state_dir, rc->name);
	struct sy_strv names = SY_STRV_INIT, heads = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	int rc_ = gitwatch_mirror_update(rc->remote, mirror, NULL, &err) ||
			  gitwatch_mirror_branches(mirror, &names, &heads, &err)
		  ? -1
		  : 0;

	if (rc_)
		sy_log_warn("poll: repo=%s: %s", rc->name, err.msg);
	for (size_t i = 0; rc_ == 0 && i < names.n; i++)
		if (branch_watched(rc, names.items[i]))
			fn(s, rc, names.items[i], heads.items[i], arg);
	sy_strv_release(&names);
	sy_strv_release(&heads);
	free(mirror);
	return rc_;
}

static void poll_branch(struct serve *s, const struct server_repo_conf *rc, const char *branch,
			const char *head, void *arg)
{
	char *key = sy_xasprintf("%s/%s", rc->name, branch);
	size_t k;

	(void)arg;
	for (k = 0; k < s->seen_refs.n && strcmp(s->seen_refs.items[k], key); k++)
		;
	if (k == s->seen_refs.n) {
		char *channel = sy_xasprintf("%s%s", rc->channel_prefix, branch);
		char *published = published_commit(s, channel);
		free(channel);
		sy_strv_push(&s->seen_refs, key);
		sy_strv_push(&s->seen_heads, published ? published : "");
		free(published);
	}
	if (strcmp(s->seen_heads.items[k], head)) {
		free(s->seen_heads.items[k]);
		s->seen_heads.items[k] = sy_xstrdup(head);
		queue_branch(s, rc, branch, head, "poll", NULL);
	}
	free(key);
}

static void release_branch(struct serve *s, const struct server_repo_conf *rc, const char *branch,
			   const char *head, void *arg)
{
	char name[128];

	snprintf(name, sizeof(name), "%s-%s", branch, (const char *)arg);
	queue_branch(s, rc, branch, head, "schedule", name);
}

static void timers_init(struct serve *s)
{
	time_t now = time(NULL);

	s->timers = sy_xcalloc(s->conf.nrepos + 1, sizeof(*s->timers));
	for (size_t i = 0; i < s->conf.nrepos; i++) {
		const struct server_repo_conf *rc = &s->conf.repos[i];
		struct repo_timer *t = &s->timers[i];
		t->next_poll = rc->poll_s ? now : 0;
		t->crons = sy_xcalloc(rc->schedules.n + 1, sizeof(*t->crons));
		t->next_fire = sy_xcalloc(rc->schedules.n + 1, sizeof(time_t));
		for (size_t k = 0; k < rc->schedules.n; k++) {
			/* Checked when the configuration was read. */
			server_cron_parse(rc->schedules.items[k], &t->crons[k], NULL);
			t->next_fire[k] = server_cron_next(&t->crons[k], now);
		}
	}
}

/* One tick of the timers: due polls and schedules. */
static void timers_tick(struct serve *s)
{
	time_t now = time(NULL);

	for (size_t i = 0; i < s->conf.nrepos; i++) {
		const struct server_repo_conf *rc = &s->conf.repos[i];
		struct repo_timer *t = &s->timers[i];
		if (rc->poll_s && now >= t->next_poll) {
			t->next_poll = now + rc->poll_s;
			each_branch(s, rc, poll_branch, NULL);
		}
		for (size_t k = 0; k < rc->schedules.n; k++) {
			if (t->next_fire[k] == (time_t)-1 || now < t->next_fire[k])
				continue;
			char stamp[32];
			struct tm tm;
			gmtime_r(&t->next_fire[k], &tm);
			strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M", &tm);
			t->next_fire[k] = server_cron_next(&t->crons[k], now);
			each_branch(s, rc, release_branch, stamp);
		}
	}
}

static void timers_release(struct serve *s)
{
	for (size_t i = 0; s->timers && i < s->conf.nrepos; i++) {
		free(s->timers[i].crons);
		free(s->timers[i].next_fire);
	}
	free(s->timers);
}

/* ------------------------------------------------------------------------ */
/* Start and stop.                                                           */

static int check_schedules(const struct server_conf *conf, struct sy_error *err)
{
	for (size_t i = 0; i < conf->nrepos; i++)
		for (size_t k = 0; k < conf->repos[i].schedules.n; k++) {
			struct server_cron c;
			if (server_cron_parse(conf->repos[i].schedules.items[k], &c, err))
				return sy_error_prefix(err, "%s: repo.%s.schedule", conf->path,
						       conf->repos[i].name);
		}
	return 0;
}

static int load_forges(struct serve *s, struct sy_error *err)
{
	s->forges = sy_xcalloc(s->conf.nrepos + 1, sizeof(*s->forges));
	for (size_t i = 0; i < s->conf.nrepos; i++) {
		const struct server_repo_conf *rc = &s->conf.repos[i];
		struct forge *f = &s->forges[i];
		if (!rc->forge)
			continue;
		if (forge_kind_parse(!strcmp(rc->forge, "forgejo") ? "gitea" : rc->forge,
					     &f->kind, err) ||
		    forge_load_token(rc->token_file, &f->token, err))
			return sy_error_prefix(err, "repo.%s", rc->name);
		f->api_url = sy_xstrdup(rc->api);
		f->project = sy_xstrdup(rc->project);
	}
	return 0;
}

static int start(struct serve *s, const char *conf_path, struct sy_error *err)
{
	char *db;

	if (server_conf_read(conf_path, &s->conf, err) || check_schedules(&s->conf, err) ||
	    sy_mkdir_p(s->conf.state_dir, 0755, err) || load_forges(s, err))
		return -1;
	db = state_db_path(s->conf.state_dir);
	int rc = server_store_open(db, &s->store, err);
	if (rc == 0 && !(s->outbox = forge_outbox_open(db, err)))
		rc = -1;
	free(db);
	if (rc)
		return -1;
	int recovered = server_store_recover(s->store, err);
	if (recovered < 0)
		return -1;
	if (recovered)
		sy_log_info("%d interrupted pipelines queued again", recovered);
	timers_init(s);
	s->metrics = server_metrics_new();
	s->dashboard = (struct server_dashboard){ s->store, &s->conf, s->conf.state_dir, s->metrics,
						   queue_length, s };
	char *repos = state_repos_dir(s->conf.state_dir);
	sy_mkdir_p(repos, 0755, NULL);
	struct server_httpd_hooks hooks = { on_webhook, route, s, repos, s->conf.max_body };
	rc = server_httpd_start(s->conf.listen_host, s->conf.listen_port, &hooks, &s->server, err);
	free(repos);
	if (rc == 0 && s->conf.url_is_default) {
		/* Port 0 was a free port: the links name the real one. */
		free(s->conf.url);
		s->conf.url = sy_xasprintf("http://%s:%u", s->conf.listen_host,
					   server_httpd_port(s->server));
	}
	if (rc == 0)
		sy_log_info("serving on %s:%u (state %s, %zu repositories)", s->conf.listen_host,
			    server_httpd_port(s->server), s->conf.state_dir, s->conf.nrepos);
	return rc;
}

/* Waits up to timeout_s for the running pipelines, then stops them. */
static void drain_runners(struct serve *s, unsigned timeout_s)
{
	time_t deadline = time(NULL) + timeout_s;

	for (;;) {
		int busy = 0;
		pthread_mutex_lock(&s->lock);
		for (int j = 0; j < s->nslots; j++)
			busy |= s->slots[j].id != 0;
		if (busy && time(NULL) >= deadline && !s->stop_children) {
			s->stop_children = 1;
			for (int j = 0; j < s->nslots; j++)
				server_runner_stop(s->slots[j].pid);
			sy_log_info("shutdown: stopping the running pipelines");
		}
		pthread_mutex_unlock(&s->lock);
		if (!busy)
			return;
		usleep(100 * 1000);
	}
}

static void stop(struct serve *s, pthread_t *runners, int nrunners, pthread_t outbox,
		 int have_outbox)
{
	server_httpd_stop(s->server);
	s->server = NULL;
	pthread_mutex_lock(&s->lock);
	s->stopping = 1;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
	drain_runners(s, s->conf.shutdown_timeout_s);
	for (int j = 0; j < nrunners; j++)
		pthread_join(runners[j], NULL);
	pthread_mutex_lock(&s->lock);
	s->outbox_stop = 1;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
	if (have_outbox)
		pthread_join(outbox, NULL);
}

static void release(struct serve *s)
{
	server_httpd_stop(s->server);
	forge_outbox_close(s->outbox);
	server_metrics_free(s->metrics);
	server_store_close(s->store);
	for (size_t i = 0; s->forges && i < s->conf.nrepos; i++)
		forge_release(&s->forges[i]);
	free(s->forges);
	timers_release(s);
	sy_strv_release(&s->seen_refs);
	sy_strv_release(&s->seen_heads);
	server_conf_release(&s->conf);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->wake);
}

int server_serve(const char *conf_path, const char *self, const char *worker_manifest,
		  const char *worker_cache, struct sy_error *err)
{
	struct serve s = { .self = self, .worker_manifest = worker_manifest,
			   .worker_cache = worker_cache };
	struct runner_arg args[MAX_RUNNERS];
	pthread_t runners[MAX_RUNNERS], outbox;
	struct sigaction sa = { .sa_handler = on_signal };
	int nrunners = 0, have_outbox = 0, rc;

	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.wake, NULL);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = start(&s, conf_path, err);
	if (rc == 0) {
		s.nslots = s.conf.pipelines < MAX_RUNNERS ? s.conf.pipelines : MAX_RUNNERS;
		for (int j = 0; j < s.nslots; j++) {
			args[j] = (struct runner_arg){ &s, &s.slots[j] };
			if (pthread_create(&runners[nrunners], NULL, runner_main, &args[j]) == 0)
				nrunners++;
		}
		have_outbox = pthread_create(&outbox, NULL, outbox_main, &s) == 0;
		while (!got_signal) {
			timers_tick(&s);
			usleep(200 * 1000);
		}
		sy_log_info("shutdown: no new connections; waiting for running pipelines");
		stop(&s, runners, nrunners, outbox, have_outbox);
		sy_log_info("shutdown complete");
	}
	release(&s);
	return rc;
}
