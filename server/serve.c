/* The service: one process, threads for HTTP (libmicrohttpd's), for running
 * pipelines, for the status outbox and for timers (polling, schedules). This
 * file starts them and stops them; what each does is in hooks.c,
 * pipelines.c and timers.c (server/serve-private.h). */
#define _GNU_SOURCE
#include "server/serve.h"
#include "server/serve-private.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/log.h"
#include "server/apitokens.h"
#include "server/releases.h"
#include "server/runner.h"
#include "state/layout.h"

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	(void)sig;
	got_signal = 1;
}

void serve_wake_all(struct serve *s)
{
	pthread_mutex_lock(&s->lock);
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

long serve_repo_index(const struct serve *s, const char *name)
{
	for (size_t i = 0; i < s->conf.nrepos; i++)
		if (!strcmp(s->conf.repos[i].name, name))
			return (long)i;
	return -1;
}

void serve_reply_json(struct server_http_response *r, int status, json_t *doc)
{
	char *text = json_dumps(doc, JSON_COMPACT);

	server_http_text(r, status, "application/json", text ? text : "{}");
	free(text);
	json_decref(doc);
}

void serve_reply_error(struct server_http_response *r, int status, const char *msg)
{
	serve_reply_json(r, status, json_pack("{s:s}", "error", msg));
}

/* ---- start and stop ---- */

static int route(void *arg, const char *method, const char *path, const char *query,
		 forge_header_fn header, void *header_arg, const char *body, size_t len,
		 struct server_http_response *r)
{
	struct serve *s = arg;

	return serve_on_api(s, method, path, header, header_arg, body, len, r) ||
	       serve_on_repo_file(s, method, path, header, header_arg, r) ||
	       server_releases_route(s->conf.state_dir, method, path, r) ||
	       server_dashboard_route(&s->dashboard, method, path, query, r);
}

/* A token file that does not parse stops the start, as one open to others
 * does (server_conf_read); the service reads it again for every request. */
static int check_api_tokens(const struct serve *s, struct sy_error *err)
{
	struct server_api_tokens tokens = SERVER_API_TOKENS_INIT;

	if (!s->conf.api_tokens_file) {
		sy_log_info("API writes disabled: no serve.apitokens");
		return 0;
	}
	if (server_api_tokens_load(s->conf.api_tokens_file, &tokens, err))
		return -1;
	sy_log_info("API writes enabled for %zu tokens of %s", tokens.n, s->conf.api_tokens_file);
	server_api_tokens_release(&tokens);
	return 0;
}

static size_t queue_length(void *arg)
{
	struct serve *s = arg;
	long counts[SERVER_PIPELINE_NSTATES], events;

	server_store_counts(s->store, counts, &events, NULL);
	return (size_t)counts[SERVER_PIPELINE_QUEUED];
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

	if (server_conf_read(conf_path, &s->conf, err) || serve_check_schedules(&s->conf, err) ||
	    check_api_tokens(s, err) || sy_mkdir_p(s->conf.state_dir, 0755, err) ||
	    load_forges(s, err))
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
	serve_close_orphaned_statuses(s);
	serve_timers_init(s);
	s->metrics = server_metrics_new(s->conf.state_dir);
	s->dashboard = (struct server_dashboard){ s->store, &s->conf, s->conf.state_dir, s->metrics,
						   queue_length, s };
	char *repos = state_repos_dir(s->conf.state_dir);
	sy_mkdir_p(repos, 0755, NULL);
	struct server_httpd_hooks hooks = { serve_on_webhook, route, s, repos, s->conf.max_body };
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
		 int have_outbox, pthread_t *collector)
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
	if (collector)
		pthread_join(*collector, NULL);
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
	serve_timers_release(s);
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
	struct serve_runner_arg args[MAX_RUNNERS];
	pthread_t runners[MAX_RUNNERS], outbox, collector;
	struct sigaction sa = { .sa_handler = on_signal };
	int nrunners = 0, have_outbox = 0, have_collector = 0, rc;

	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.wake, NULL);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = start(&s, conf_path, err);
	if (rc == 0) {
		s.nslots = s.conf.pipelines;
		for (int j = 0; j < s.nslots; j++) {
			args[j] = (struct serve_runner_arg){ &s, &s.slots[j] };
			if (pthread_create(&runners[nrunners], NULL, serve_runner_main, &args[j]) == 0)
				nrunners++;
		}
		have_outbox = pthread_create(&outbox, NULL, serve_outbox_main, &s) == 0;
		if (s.conf.gc_interval_s)
			have_collector = pthread_create(&collector, NULL, serve_collect_main, &s) == 0;
		while (!got_signal) {
			serve_timers_tick(&s);
			usleep(200 * 1000);
		}
		sy_log_info("shutdown: no new connections; waiting for running pipelines");
		stop(&s, runners, nrunners, outbox, have_outbox, have_collector ? &collector : NULL);
		sy_log_info("shutdown complete");
	}
	release(&s);
	return rc;
}
