/* Webhooks to pipelines: a delivery is matched to a configured repository,
 * verified with its secret, parsed (forge/webhook.h), stored once by
 * delivery id, and turned into a queued pipeline (a push to a watched
 * branch, a pull request opened or updated) or a removed channel (a pull
 * request closed). */
#define _GNU_SOURCE
#include "server/serve-private.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fs.h"
#include "common/log.h"
#include "common/util.h"
#include "state/layout.h"

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
		long i = serve_repo_index(s, name);
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
		serve_stop_superseded(s, running, nrunning);
		server_store_finish(s->store, p.id, SERVER_PIPELINE_CANCELLED, "pull request closed",
				    NULL);
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
		if (!ev->branch || !serve_branch_watched(rc, ev->branch)) {
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
	id = serve_queue_pipeline(s, &p, event, &err);
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

void serve_on_webhook(void *arg, const char *forge, forge_header_fn header, void *header_arg,
		      const char *query, const char *body, size_t len,
		      struct server_http_response *r)
{
	struct serve *s = arg;
	double t0 = sy_now_s();

	handle_webhook(s, forge, header, header_arg, query, body, len, r);
	server_metrics_webhook(s->metrics, forge, r->status, sy_now_s() - t0);
}
