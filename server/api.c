/* The write endpoints of the JSON API (the dashboard's, server/dashboard.h,
 * only read):
 *
 *   POST /api/pipelines/<id>/approve   build the plan the cascade guard
 *                                      held in pipeline <id>
 *   POST /api/pipelines/<id>/retry     run an ended pipeline again: its
 *                                      successful builds are reused, the
 *                                      failed and blocked ones build again
 *   POST /api/pipelines/<id>/cancel    stop a queued or running pipeline
 *   POST /api/pipelines                queue a pipeline: {"repo", "branch"}
 *                                      builds the branch's tip, {"repo",
 *                                      "commit"} (and "branch" to publish to
 *                                      its channel) a given commit
 *
 * Each needs "Authorization: Bearer <token>" with a token of the file
 * serve.apitokens names (server/apitokens.h); without that setting they
 * answer 403, without a valid token 401. The dashboard's buttons post
 * forms (application/x-www-form-urlencoded) carrying the token in a
 * "token" field instead (a browser form cannot set the header; the token
 * in the form is also what keeps another site from posting it): those get
 * a 303 to the pipeline's page. With serve.apiread = token, the reads of
 * /api/ need a token too. Answers are JSON: the result, or {"error": one
 * line}. */
#define _GNU_SOURCE
#include "server/serve-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/log.h"
#include "gitwatch/mirror.h"
#include "server/apitokens.h"
#include "server/runner.h"
#include "state/layout.h"

#define REALM "Bearer realm=\"shipyard\""

/* Parses "/api/pipelines/<id>/<action>" into *id and action (at most 15
 * characters); 1 when path is that. */
static int action_path(const char *path, long *id, char action[16])
{
	static const char prefix[] = "/api/pipelines/";
	const char *digits = path + sizeof(prefix) - 1;
	char *end;

	if (strncmp(path, prefix, sizeof(prefix) - 1) || *digits < '0' || *digits > '9')
		return 0;
	errno = 0;
	*id = strtol(digits, &end, 10);
	if (errno || *id <= 0 || *end != '/' || strlen(end + 1) >= 16)
		return 0;
	strcpy(action, end + 1);
	return !strcmp(action, "approve") || !strcmp(action, "retry") || !strcmp(action, "cancel");
}

/* 1 when the request's body is a form (the dashboard's buttons). */
static int is_form(forge_header_fn header, void *header_arg)
{
	const char *type = header(header_arg, "Content-Type");

	return type && !strncasecmp(type, "application/x-www-form-urlencoded", 33);
}

/* The value of field in a form body, %-decoded (malloc'ed), or NULL. */
static char *form_field(const char *body, size_t len, const char *field)
{
	size_t flen = strlen(field);

	for (size_t i = 0; body && i < len;) {
		size_t end = i;
		while (end < len && body[end] != '&')
			end++;
		if (end - i > flen && !strncmp(body + i, field, flen) && body[i + flen] == '=') {
			char *v = sy_xstrndup(body + i + flen + 1, end - i - flen - 1), *o = v;
			for (char *c = v; *c; c++) {
				unsigned x;
				if (*c == '+')
					*o++ = ' ';
				else if (*c == '%' && sscanf(c + 1, "%2x", &x) == 1 && c[1] && c[2]) {
					*o++ = (char)x;
					c += 2;
				} else
					*o++ = *c;
			}
			*o = '\0';
			return v;
		}
		i = end + 1;
	}
	return NULL;
}

/* Who the request is from: "api:" and the name of its token, copied into
 * name. The token comes from the Authorization header, or for a form from
 * its "token" field. Returns 0, or -1 with r answered (403 writes
 * disabled, 500 token file unreadable, 401 no or wrong token). */
static int authenticate(struct serve *s, forge_header_fn header, void *header_arg,
			const char *body, size_t len, char name[SERVER_API_TOKEN_NAME_MAX + 8],
			struct server_http_response *r)
{
	struct server_api_tokens tokens = SERVER_API_TOKENS_INIT;
	const struct server_api_token *who = NULL;
	struct sy_error err = { { 0 } };
	char *form = NULL;
	const char *bearer;
	size_t blen = 0;

	if (!s->conf.api_tokens_file) {
		serve_reply_error(r, 403, "API writes are disabled: no serve.apitokens");
		return -1;
	}
	if (server_api_tokens_load(s->conf.api_tokens_file, &tokens, &err)) {
		sy_log_error("api: %s", err.msg);
		serve_reply_error(r, 500, "cannot read serve.apitokens");
		return -1;
	}
	bearer = server_api_bearer(header(header_arg, "Authorization"), &blen);
	if (!bearer && is_form(header, header_arg) && (form = form_field(body, len, "token"))) {
		bearer = form;
		blen = strlen(form);
	}
	if (bearer && blen)
		who = server_api_tokens_check(&tokens, bearer, blen);
	if (who)
		snprintf(name, SERVER_API_TOKEN_NAME_MAX + 8, "api:%s", who->name);
	server_api_tokens_release(&tokens);
	if (form) {
		explicit_bzero(form, strlen(form));
		free(form);
	}
	if (!who) {
		sy_log_warn("api: refused: %s", bearer ? "unknown token" : "no bearer token");
		serve_reply_error(r, 401, bearer ? "unknown token"
						 : "needs Authorization: Bearer <token>");
		r->authenticate = REALM;
		return -1;
	}
	return 0;
}

/* Answers 202 with the pipeline queued, or for a form a 303 to its page. */
static void reply_queued(struct serve *s, struct server_http_response *r, int form, long id,
			 json_t *doc)
{
	char *url = sy_xasprintf("%s/pipelines/%ld", s->conf.url, id);

	if (form) {
		json_decref(doc);
		server_http_text(r, 303, "text/plain", "queued\n");
		r->location = sy_xasprintf("/pipelines/%ld", id);
	} else {
		json_object_set_new(doc, "url", json_string(url));
		serve_reply_json(r, 202, doc);
	}
	free(url);
}

/* POST /api/pipelines/<id>/approve, from the token named by. */
static void approve(struct serve *s, long id, const char *by, int form,
		    struct server_http_response *r)
{
	struct server_store_pipeline p;
	struct sy_error err = { { 0 } };
	char why[SERVER_API_TOKEN_NAME_MAX + 32];
	int rc = server_store_approve(s->store, id, by + 4, &p, &err);

	if (rc < 0) {
		sy_log_error("api: approving pipeline %ld: %s", id, err.msg);
		serve_reply_error(r, 500, "cannot store the approval");
		return;
	}
	if (rc == 0) {
		serve_reply_error(r, 404, "no such pipeline");
		return;
	}
	if (rc == SERVER_STORE_REFUSED) {
		sy_log_info("api: approval of pipeline %ld by %s refused: %s", id, by + 4, err.msg);
		serve_reply_error(r, 409, err.msg);
		return;
	}
	sy_log_info("api: pipeline %ld approved by %s: pipeline %ld queued", id, by + 4, p.id);
	/* The held run ended shipyard/plan in failure; the new run's statuses
	 * of the same commit must reach the forge. */
	serve_reopen_statuses(s, p.repo, p.head);
	snprintf(why, sizeof(why), "approved by %s: queued", by + 4);
	serve_post_status(s, &p, "shipyard/plan", FORGE_PENDING, why);
	serve_wake_all(s);
	reply_queued(s, r, form, p.id,
		     json_pack("{s:I, s:I, s:s}", "pipeline", (json_int_t)p.id, "approves",
			       (json_int_t)id, "approved_by", by + 4));
	server_store_pipeline_release(&p);
}

/* Reads pipeline id into *p for a control that needs it ended and the
 * latest of its ref; fills out (404, 409, 500) and returns -1 otherwise. */
static int ended_latest(struct serve *s, long id, struct server_store_pipeline *p,
			struct serve_control *out)
{
	struct sy_error err = { { 0 } };
	long newer = 0;
	int rc = server_store_get(s->store, id, p, &err);

	out->status = 500;
	if (rc < 0 || (rc == 1 && server_store_newer(s->store, p, &newer, &err))) {
		snprintf(out->why, sizeof(out->why), "%.250s", err.msg);
		if (rc == 1)
			server_store_pipeline_release(p);
		return -1;
	}
	out->status = 409;
	if (rc == 0) {
		out->status = 404;
		snprintf(out->why, sizeof(out->why), "no such pipeline");
	} else if (!server_pipeline_state_is_final(p->state))
		snprintf(out->why, sizeof(out->why), "pipeline %ld is %s: it has not ended", id,
			 server_pipeline_state_name(p->state));
	else if (newer)
		snprintf(out->why, sizeof(out->why), "pipeline %ld of %s followed pipeline %ld",
			 newer, p->ref, id);
	else if (!*p->head)
		snprintf(out->why, sizeof(out->why), "pipeline %ld built no commit", id);
	else
		return 0;
	if (rc == 1)
		server_store_pipeline_release(p);
	return -1;
}

/* Queues q (a copy of old's commits) with trigger, as serve_retry says. */
static void queue_again(struct serve *s, const struct server_store_pipeline *old,
			const char *trigger, const char *rebuild, const char *by,
			struct serve_control *out)
{
	struct server_store_pipeline q = {
		.repo = old->repo, .trigger = (char *)trigger, .ref = old->ref,
		.channel = old->channel, .base = old->base, .head = old->head,
		.release = old->release, .pr = old->pr, .rebuild = (char *)rebuild,
		.requested_by = (char *)by,
	};
	struct sy_error err = { { 0 } };

	/* The commit's statuses ended with the old run; the new run's must
	 * reach the forge. */
	serve_reopen_statuses(s, old->repo, old->head);
	if (serve_queue_pipeline(s, NULL, &q, &err) != 1) {
		out->status = 500;
		snprintf(out->why, sizeof(out->why), "%.250s", err.msg);
		return;
	}
	out->status = 202;
	out->pipeline = q.id;
	sy_log_info("api: pipeline %ld: %s by %s%s%s: pipeline %ld queued", old->id, trigger, by,
		    rebuild ? " of " : "", rebuild ? rebuild : "", q.id);
}

void serve_retry(struct serve *s, long id, const char *by, struct serve_control *out)
{
	struct server_store_pipeline p;

	memset(out, 0, sizeof(*out));
	if (ended_latest(s, id, &p, out))
		return;
	if (p.state == SERVER_PIPELINE_SUCCESS || p.state == SERVER_PIPELINE_SUPERSEDED) {
		out->status = 409;
		snprintf(out->why, sizeof(out->why), "pipeline %ld is %s: nothing to retry", id,
			 server_pipeline_state_name(p.state));
	} else {
		queue_again(s, &p, "retry", NULL, by, out);
	}
	server_store_pipeline_release(&p);
}

void serve_rebuild(struct serve *s, long id, const char *spec, const char *by,
		   struct serve_control *out)
{
	struct server_store_pipeline p;

	memset(out, 0, sizeof(*out));
	if (ended_latest(s, id, &p, out))
		return;
	queue_again(s, &p, "rebuild", spec, by, out);
	server_store_pipeline_release(&p);
}

static void reply_control(struct serve *s, struct server_http_response *r, int form, long id,
			  const struct serve_control *c)
{
	if (c->status != 202) {
		if (c->status == 500)
			sy_log_error("api: pipeline %ld: %s", id, c->why);
		serve_reply_error(r, c->status, c->status == 500 ? "cannot queue the pipeline"
								 : c->why);
		return;
	}
	reply_queued(s, r, form, c->pipeline,
		     json_pack("{s:I, s:I}", "pipeline", (json_int_t)c->pipeline, "retries",
			       (json_int_t)id));
}

/* POST /api/pipelines/<id>/cancel. */
static void cancel(struct serve *s, long id, const char *by, int form,
		   struct server_http_response *r)
{
	struct server_store_pipeline p;
	struct sy_error err = { { 0 } };
	char *why = sy_xasprintf("cancelled by %s", by);
	int running = 0, rc = server_store_cancel_queued(s->store, id, why, &err);

	if (rc == 0) {
		pthread_mutex_lock(&s->lock);
		for (int j = 0; j < s->nslots; j++)
			if (s->slots[j].id == id && !s->slots[j].superseded) {
				s->slots[j].cancelled = 1;
				snprintf(s->slots[j].cancelled_by, sizeof(s->slots[j].cancelled_by),
					 "%s", by);
				server_runner_stop(s->slots[j].pid);
				running = 1;
			}
		pthread_mutex_unlock(&s->lock);
	}
	if (rc < 0) {
		sy_log_error("api: cancelling pipeline %ld: %s", id, err.msg);
		serve_reply_error(r, 500, "cannot cancel the pipeline");
	} else if (rc == 0 && !running) {
		int got = server_store_get(s->store, id, &p, NULL);
		char msg[128];
		snprintf(msg, sizeof(msg), "pipeline %ld is %s: not queued or running", id,
			 got == 1 ? server_pipeline_state_name(p.state) : "unknown");
		serve_reply_error(r, got == 1 ? 409 : 404, got == 1 ? msg : "no such pipeline");
		if (got == 1)
			server_store_pipeline_release(&p);
	} else {
		sy_log_info("api: pipeline %ld %s by %s", id, running ? "stopping" : "cancelled", by);
		/* A queued one never opened more than shipyard/plan. */
		if (rc == 1 && server_store_get(s->store, id, &p, NULL) == 1) {
			serve_close_statuses(s, p.repo, p.head, FORGE_CANCELLED, why);
			server_store_pipeline_release(&p);
		}
		if (form) {
			server_http_text(r, 303, "text/plain", "cancelled\n");
			r->location = sy_xasprintf("/pipelines/%ld", id);
		} else {
			serve_reply_json(r, 202, json_pack("{s:I, s:s, s:s}", "pipeline",
							   (json_int_t)id, "state",
							   running ? "stopping" : "cancelled",
							   "cancelled_by", by));
		}
	}
	free(why);
}

/* 1 when name may be a branch of a manual trigger: what a channel name can
 * hold ([A-Za-z0-9._/-], no "..", not starting with '-', '/' or '.'). */
static int branch_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n < 200 && !strstr(name, "..") && !strchr("-/.", name[0]) &&
	       name[n - 1] != '/' &&
	       strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._/-") == n;
}

/* The tip of branch in repository rc's mirror (fetched first), malloc'ed,
 * or NULL with err set. */
static char *branch_head(struct serve *s, const struct server_repo_conf *rc, const char *branch,
			 struct sy_error *err)
{
	char *mirror = state_mirror_dir(s->conf.state_dir, rc->name), *head = NULL;
	struct sy_strv names = SY_STRV_INIT, heads = SY_STRV_INIT;

	if (gitwatch_mirror_update(rc->remote, mirror, NULL, err) == 0 &&
	    gitwatch_mirror_branches(mirror, &names, &heads, err) == 0) {
		for (size_t i = 0; i < names.n && !head; i++)
			if (!strcmp(names.items[i], branch))
				head = sy_xstrdup(heads.items[i]);
		if (!head)
			sy_error_set(err, "repository %s has no branch '%s'", rc->name, branch);
	}
	sy_strv_release(&names);
	sy_strv_release(&heads);
	free(mirror);
	return head;
}

/* The trigger's fields: from a JSON object, or a form's fields. Returns 0,
 * or -1 with why set (every field but repo, branch and commit is refused). */
static int trigger_fields(const char *body, size_t len, int form, char **repo, char **branch,
			  char **commit, char why[128])
{
	json_error_t jerr;
	json_t *doc, *v;
	const char *key;

	*repo = *branch = *commit = NULL;
	if (form) {
		/* A form sends its empty fields too: those are not given. */
		char **fields[] = { repo, branch, commit };
		static const char *const names[] = { "repo", "branch", "commit" };
		for (size_t i = 0; i < 3; i++) {
			*fields[i] = form_field(body, len, names[i]);
			if (*fields[i] && !**fields[i]) {
				free(*fields[i]);
				*fields[i] = NULL;
			}
		}
		return 0;
	}
	doc = json_loadb(body ? body : "", len, 0, &jerr);
	if (!json_is_object(doc)) {
		snprintf(why, 128, "body: expected a JSON object {\"repo\", \"branch\" or \"commit\"}");
		json_decref(doc);
		return -1;
	}
	json_object_foreach(doc, key, v) {
		char **slot = !strcmp(key, "repo") ? repo : !strcmp(key, "branch") ? branch
			    : !strcmp(key, "commit") ? commit : NULL;
		if (!slot || !json_is_string(v)) {
			snprintf(why, 128, "field '%.40s' %s", key,
				 slot ? "must be a string" : "is not supported");
			json_decref(doc);
			return -1;
		}
		*slot = sy_xstrdup(json_string_value(v));
	}
	json_decref(doc);
	return 0;
}

/* Checks the trigger's fields; sets *ri. Returns 0, or -1 with why and
 * *status set. */
static int trigger_check(struct serve *s, const char *repo, const char *branch,
			 const char *commit, long *ri, int *status, char why[128])
{
	size_t n = commit ? strlen(commit) : 0;

	*status = 400;
	if (!branch && !commit)
		snprintf(why, 128, "needs \"branch\" or \"commit\"");
	else if (!repo && s->conf.nrepos != 1)
		snprintf(why, 128, "needs \"repo\": the service builds %zu repositories",
			 s->conf.nrepos);
	else if (branch && !branch_ok(branch))
		snprintf(why, 128, "branch '%.60s' is not a valid branch name", branch);
	else if (commit && ((n != 40 && n != 64) || strspn(commit, "0123456789abcdef") != n))
		snprintf(why, 128, "commit must be a full lowercase hexadecimal commit id");
	else if ((*ri = repo ? serve_repo_index(s, repo) : 0) < 0) {
		*status = 404;
		snprintf(why, 128, "no repository '%.60s'", repo);
	} else
		return 0;
	return -1;
}

/* POST /api/pipelines: a manual trigger. */
static void trigger(struct serve *s, const char *by, int form, const char *body, size_t len,
		    struct server_http_response *r)
{
	char *repo, *branch, *commit, *head = NULL, why[128], ref[320], channel[320];
	struct sy_error err = { { 0 } };
	int status = 400;
	long ri = -1;

	if (trigger_fields(body, len, form, &repo, &branch, &commit, why) ||
	    trigger_check(s, repo, branch, commit, &ri, &status, why)) {
		serve_reply_error(r, status, why);
		goto out;
	}
	const struct server_repo_conf *rc = &s->conf.repos[ri];
	head = commit ? sy_xstrdup(commit) : branch_head(s, rc, branch, &err);
	if (!head) {
		sy_log_warn("api: trigger by %s: %s", by, err.msg);
		serve_reply_error(r, 404, err.msg);
		goto out;
	}
	/* A commit without a branch gets a channel of its own, as a pull
	 * request does: it must not publish over a branch's. */
	snprintf(ref, sizeof(ref), branch ? "%s" : "commit/%.12s", branch ? branch : head);
	snprintf(channel, sizeof(channel), branch ? "%s%s" : "%scommit-%.12s", rc->channel_prefix,
		 branch ? branch : head);
	struct server_store_pipeline p = { .repo = rc->name, .trigger = "manual", .ref = ref,
					   .channel = channel, .head = head,
					   .requested_by = (char *)by };
	if (serve_queue_pipeline(s, NULL, &p, &err) != 1) {
		sy_log_error("api: trigger: %s", err.msg);
		serve_reply_error(r, 500, "cannot queue the pipeline");
		goto out;
	}
	sy_log_info("api: manual pipeline %ld by %s: repo=%s ref=%s head=%.12s", p.id, by, rc->name,
		    ref, head);
	reply_queued(s, r, form, p.id,
		     json_pack("{s:I, s:s, s:s, s:s}", "pipeline", (json_int_t)p.id, "repo",
			       rc->name, "ref", ref, "head", head));
out:
	free(repo);
	free(branch);
	free(commit);
	free(head);
}

int serve_on_api(struct serve *s, const char *method, const char *path, forge_header_fn header,
		 void *header_arg, const char *body, size_t len, struct server_http_response *r)
{
	char name[SERVER_API_TOKEN_NAME_MAX + 8], action[16];
	int form = is_form(header, header_arg);
	struct serve_control c;
	long id = 0;

	if (!path || strncmp(path, "/api/", 5))
		return 0;
	if (!strcmp(path, "/api/pipelines") && !strcmp(method, "POST")) {
		if (authenticate(s, header, header_arg, body, len, name, r) == 0)
			trigger(s, name, form, body, len, r);
		return 1;
	}
	if (!action_path(path, &id, action)) {
		/* Reads: the dashboard's, behind a token when serve.apiread says. */
		return s->conf.api_read_token &&
		       authenticate(s, header, header_arg, NULL, 0, name, r) != 0;
	}
	if (strcmp(method, "POST"))
		serve_reply_error(r, 405, "POST only");
	else if (authenticate(s, header, header_arg, body, len, name, r))
		;
	else if (!strcmp(action, "approve"))
		approve(s, id, name, form, r);
	else if (!strcmp(action, "cancel"))
		cancel(s, id, name, form, r);
	else {
		serve_retry(s, id, name, &c);
		reply_control(s, r, form, id, &c);
	}
	return 1;
}
