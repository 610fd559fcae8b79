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
#include "forge/comment.h"
#include "state/layout.h"

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

/* Whether the delivery's signature verifies with repository i's secret.
 * Returns 0, or -1 with err set (unreadable secret file, bad signature). */
static int verified_by(const struct serve *s, size_t i, enum forge_kind kind,
		       forge_header_fn header, void *header_arg, const char *body, size_t len,
		       struct sy_error *err)
{
	char *secret = server_read_secret(s->conf.repos[i].secret_file, err);
	int rc = secret ? forge_webhook_verify(kind, header, header_arg, body, len, secret, err)
			: -1;

	if (secret) {
		memset(secret, 0, strlen(secret));
		free(secret);
	}
	return rc;
}

/* The repository named by the signed payload (repository.full_name, GitLab's
 * project.path_with_namespace) among the first n of idx, or -1. */
static long by_project(const struct serve *s, const long *idx, size_t n,
		       forge_header_fn header, void *header_arg, const char *body, size_t len)
{
	char *form_json = NULL;
	size_t form_len = 0;
	long found = -1;

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
	for (size_t k = 0; full && k < n && found < 0; k++)
		if (s->conf.repos[idx[k]].project && !strcmp(s->conf.repos[idx[k]].project, full))
			found = idx[k];
	json_decref(doc);
	return found;
}

/* The repository a delivery is for, its signature verified before anything
 * of the body is read: ?repo=NAME (which must take this forge's deliveries),
 * else the one repository taking them whose secret verifies it, else among
 * several such (a shared secret) the one whose project the payload names.
 * Returns its index, or -1 with *status 404 (no repository) or 401 (no
 * secret verifies the signature) and err set. */
static long pick_repo(const struct serve *s, enum forge_kind kind, const char *query,
		      forge_header_fn header, void *header_arg, const char *body, size_t len,
		      int *status, struct sy_error *err)
{
	char name[256];
	const char *want = server_http_query_get(query, "repo", name, sizeof(name));
	long *verified = sy_xcalloc(s->conf.nrepos + 1, sizeof(*verified));
	size_t candidates = 0, nverified = 0;
	long found = -1;

	for (size_t i = 0; i < s->conf.nrepos; i++) {
		if ((want && strcmp(s->conf.repos[i].name, want)) || !accepts(s, i, kind))
			continue;
		candidates++;
		if (verified_by(s, i, kind, header, header_arg, body, len, err) == 0)
			verified[nverified++] = (long)i;
	}
	if (nverified == 1)
		found = verified[0];
	else if (nverified > 1)
		found = by_project(s, verified, nverified, header, header_arg, body, len);
	*status = candidates && !nverified ? 401 : 404;
	if (found < 0 && *status == 404)
		sy_error_set(err, "no repository configured for this delivery");
	else if (found < 0 && candidates > 1)
		sy_error_set(err, "the signature verifies with no configured repository's secret");
	free(verified);
	return found;
}

/* The pipeline ev asks of repository rc, filled into p (its strings
 * point into ev and into ref and channel, each at least 320 bytes): a push
 * to a watched branch, a pull request opened or updated, or a closed one
 * (recorded as a cancelled pipeline that supersedes what runs for it).
 * Returns 0, or 1 when ev asks for nothing (a push to a branch not
 * watched). */
static int pipeline_of(const struct server_repo_conf *rc, const struct forge_event *ev,
		       struct server_store_pipeline *p, char *ref, char *channel)
{
	p->repo = rc->name;
	if (ev->kind == FORGE_EVENT_PUSH) {
		if (!ev->branch || !serve_branch_watched(rc, ev->branch))
			return 1;
		p->trigger = "push";
		snprintf(channel, 320, "%s%s", rc->channel_prefix, ev->branch);
		p->ref = ev->branch;
		p->channel = channel;
		p->head = (char *)ev->after;
		return 0;
	}
	snprintf(ref, 320, "pr/%lld", ev->pr_number);
	snprintf(channel, 320, "%spr-%lld", rc->channel_prefix, ev->pr_number);
	p->trigger = "pull_request";
	p->ref = ref;
	p->channel = channel;
	p->pr = (long)ev->pr_number;
	if (ev->kind == FORGE_EVENT_PR_CLOSED) {
		p->head = "";
		p->state = SERVER_PIPELINE_CANCELLED;
		p->summary = "pull request closed";
	} else {
		p->head = (char *)ev->head_sha;
		p->base = ev->base_ref;
	}
	return 0;
}

/* Stores the event and the pipeline it asks for in one transaction and
 * answers: 202 with the pipeline, 200 for a redelivery or an event that
 * asks for nothing, 500 when the store fails. A closed pull request's
 * channel is removed. */
static void act_on_event(struct serve *s, long ri, const struct forge_event *ev,
			 const struct server_store_event *se, struct server_http_response *r)
{
	const struct server_repo_conf *rc = &s->conf.repos[ri];
	struct server_store_pipeline p = { 0 };
	char ref[320], channel[320];
	struct sy_error err = { { 0 } };
	int asks = ev->kind != FORGE_EVENT_IGNORED && pipeline_of(rc, ev, &p, ref, channel) == 0;
	int rc_ = asks ? serve_queue_pipeline(s, se, &p, &err)
		       : server_store_add_event(s->store, se, NULL, &err);

	sy_log_info("event: delivery=%s forge=%s repo=%s kind=%s ref=%s sha=%.12s%s",
		    ev->delivery_id, forge_kind_name(ev->forge), se->repo, se->kind,
		    ev->branch ? ev->branch : "-", se->sha, rc_ == 0 ? " duplicate" : "");
	if (rc_ < 0) {
		sy_log_error("%s", err.msg);
		serve_reply_error(r, 500, "cannot store the event");
	} else if (rc_ == 0) {
		serve_reply_json(r, 200, json_pack("{s:s}", "duplicate", ev->delivery_id));
	} else if (ev->kind == FORGE_EVENT_IGNORED) {
		serve_reply_json(r, 200, json_pack("{s:s}", "ignored",
					     ev->ignored_reason ? ev->ignored_reason : "ignored"));
	} else if (!asks) {
		serve_reply_json(r, 200, json_pack("{s:s}", "ignored", "branch not watched"));
	} else if (ev->kind == FORGE_EVENT_PR_CLOSED) {
		char *dir = state_channel_dir(s->conf.state_dir, channel);
		sy_rm_rf(dir, NULL);
		sy_log_info("pull request closed: repo=%s pr=%lld: removed %s", rc->name,
			    ev->pr_number, dir);
		free(dir);
		serve_reply_json(r, 202, json_pack("{s:I}", "closed", (json_int_t)ev->pr_number));
	} else {
		char *url = sy_xasprintf("%s/pipelines/%ld", s->conf.url, p.id);
		serve_reply_json(r, 202, json_pack("{s:I, s:s}", "pipeline", (json_int_t)p.id, "url",
					     url));
		free(url);
	}
}

/* ---- comment commands ---- */

/* A command of a pull request comment. */
struct command {
	enum { CMD_NONE, CMD_RETRY, CMD_REBUILD, CMD_UNKNOWN } kind;
	char arg[128]; /* rebuild: the spec; unknown: the word */
};

/* The first line of body that starts with "/shipyard" (after blanks),
 * parsed: "/shipyard retry", "/shipyard rebuild <spec>". */
static void parse_command(const char *body, struct command *c)
{
	static const char word[] = "/shipyard";
	char verb[32] = "", extra[8] = "";
	int n;

	c->kind = CMD_NONE;
	c->arg[0] = '\0';
	for (const char *line = body; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		while (*line == ' ' || *line == '\t')
			line++;
		if (strncmp(line, word, sizeof(word) - 1) ||
		    (line[sizeof(word) - 1] != ' ' && line[sizeof(word) - 1] != '\t'))
			continue;
		const char *end = strchr(line, '\n');
		char *text = sy_xstrndup(line, end ? (size_t)(end - line) : strlen(line));
		n = sscanf(text + sizeof(word) - 1, "%31s %127s %7s", verb, c->arg, extra);
		free(text);
		if (n == 1 && !strcmp(verb, "retry"))
			c->kind = CMD_RETRY;
		else if (n == 2 && !strcmp(verb, "rebuild") &&
			 strspn(c->arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					"0123456789._+-") == strlen(c->arg) && c->arg[0] != '-' &&
			 c->arg[0] != '.')
			c->kind = CMD_REBUILD;
		else {
			/* Echoed in the reply: only a plain word is. */
			c->kind = CMD_UNKNOWN;
			snprintf(c->arg, sizeof(c->arg), "%s",
				 n > 0 && strspn(verb, "abcdefghijklmnopqrstuvwxyz0123456789-") ==
						  strlen(verb) ? verb : "...");
		}
		return;
	}
}

/* Whether the commenter of ev may run commands: GitHub's
 * author_association OWNER, MEMBER or COLLABORATOR; for Gitea and GitLab
 * the forge's permission API (forge/comment.h). Returns 1, 0, or -1 with
 * err when the forge could not say. */
static int may_write(const struct serve *s, long ri, const struct forge_event *ev,
		     struct sy_error *err)
{
	const char *a = ev->author_association;
	int can = 0;

	if (ev->forge == FORGE_GITHUB)
		return a && (!strcmp(a, "OWNER") || !strcmp(a, "MEMBER") ||
			     !strcmp(a, "COLLABORATOR"));
	if (forge_permission_get(&s->forges[ri], ev->comment_user, ev->comment_user_id, &can, err))
		return -1;
	return can;
}

/* Queues the answer to the command comment: a +1 reaction when done, else
 * -1 and a reply saying why. */
static void answer_comment(struct serve *s, long ri, const struct forge_event *ev, int ok,
			   const char *why)
{
	struct sy_error err = { { 0 } };
	char *reply = ok ? NULL : sy_xasprintf("@%s: %s", ev->comment_user, why);

	if (forge_outbox_enqueue_answer(s->outbox, s->conf.repos[ri].name, ev->pr_number,
					ev->comment_id, ok, reply, &err) < 0)
		sy_log_error("status outbox: %s", err.msg);
	else
		serve_wake_all(s);
	free(reply);
}

/* Runs the command c of comment ev from by on the latest pipeline of its
 * pull request; fills *out. */
static void run_command(struct serve *s, long ri, const struct forge_event *ev,
			const struct command *c, const char *by, struct serve_control *out)
{
	char ref[64];
	struct server_store_pipeline key = { .repo = s->conf.repos[ri].name, .ref = ref };
	struct sy_error err = { { 0 } };
	long latest = 0;

	snprintf(ref, sizeof(ref), "pr/%lld", ev->pr_number);
	memset(out, 0, sizeof(*out));
	if (server_store_newer(s->store, &key, &latest, &err)) {
		out->status = 500;
		snprintf(out->why, sizeof(out->why), "%.250s", err.msg);
	} else if (!latest) {
		out->status = 404;
		snprintf(out->why, sizeof(out->why), "this pull request has no pipeline yet");
	} else if (c->kind == CMD_RETRY) {
		serve_retry(s, latest, by, out);
	} else {
		serve_rebuild(s, latest, c->arg, by, out);
	}
}

/* A comment on a pull request: a command from someone with write access
 * queues a pipeline; anyone else is answered politely. */
static void act_on_comment(struct serve *s, long ri, const struct forge_event *ev,
			   const struct server_store_event *se, struct server_http_response *r)
{
	struct command c;
	struct serve_control out = { 0 };
	struct sy_error err = { { 0 } };
	char by[160], why[300];
	int rc, can;

	parse_command(ev->comment_body, &c);
	rc = server_store_add_event(s->store, se, NULL, &err);
	if (rc <= 0 || c.kind == CMD_NONE) {
		if (rc < 0)
			sy_log_error("%s", err.msg);
		serve_reply_json(r, rc < 0 ? 500 : 200,
				 rc < 0 ? json_pack("{s:s}", "error", "cannot store the event")
				 : rc == 0 ? json_pack("{s:s}", "duplicate", ev->delivery_id)
					   : json_pack("{s:s}", "ignored", "no /shipyard command"));
		return;
	}
	snprintf(by, sizeof(by), "%s:%.100s", forge_kind_name(ev->forge), ev->comment_user);
	if (!s->forges[ri].project) {
		sy_log_warn("command from %s on pr %lld of %s: no forge configured to answer or "
			    "check permissions", by, ev->pr_number, s->conf.repos[ri].name);
		serve_reply_json(r, 200, json_pack("{s:s}", "refused", "no forge configured"));
		return;
	}
	can = may_write(s, ri, ev, &err);
	if (can <= 0) {
		snprintf(why, sizeof(why), can < 0 ? "sorry, shipyard could not check your "
			 "permissions on this repository; please try again later."
			 : "sorry, only people with write access to this repository can run "
			   "/shipyard commands.");
		sy_log_info("command from %s on pr %lld of %s refused: %s", by, ev->pr_number,
			    s->conf.repos[ri].name, can < 0 ? err.msg : "no write access");
		answer_comment(s, ri, ev, 0, why);
		serve_reply_json(r, 200, json_pack("{s:s}", "refused", can < 0 ? "permission unknown"
									: "no write access"));
		return;
	}
	if (c.kind == CMD_UNKNOWN) {
		snprintf(why, sizeof(why), "unknown command `/shipyard %s`; try `/shipyard retry` "
			 "or `/shipyard rebuild <spec>`.", c.arg);
		answer_comment(s, ri, ev, 0, why);
		serve_reply_json(r, 200, json_pack("{s:s}", "refused", "unknown command"));
		return;
	}
	run_command(s, ri, ev, &c, by, &out);
	sy_log_info("command from %s on pr %lld of %s: %s%s%s: %d %s", by, ev->pr_number,
		    s->conf.repos[ri].name, c.kind == CMD_RETRY ? "retry" : "rebuild ",
		    c.kind == CMD_RETRY ? "" : c.arg, "", out.status,
		    out.status == 202 ? "queued" : out.why);
	if (out.status == 202) {
		answer_comment(s, ri, ev, 1, NULL);
		serve_reply_json(r, 202, json_pack("{s:I}", "pipeline", (json_int_t)out.pipeline));
	} else {
		snprintf(why, sizeof(why), "cannot do that: %s.",
			 out.status == 500 ? "the service failed to queue it" : out.why);
		answer_comment(s, ri, ev, 0, why);
		serve_reply_json(r, 200, json_pack("{s:s}", "refused", why));
	}
}

static void handle_webhook(struct serve *s, const char *forge, forge_header_fn header,
			   void *header_arg, const char *query, const char *body, size_t len,
			   struct server_http_response *r)
{
	enum forge_kind kind;
	struct forge_event ev = FORGE_EVENT_INIT;
	struct sy_error err = { { 0 } };
	int status;
	long ri;

	if (!strcmp(forge, "forgejo"))
		forge = "gitea";
	if (forge_kind_parse(forge, &kind, NULL)) {
		serve_reply_error(r, 404, "unknown forge");
		return;
	}
	ri = pick_repo(s, kind, query, header, header_arg, body, len, &status, &err);
	if (ri < 0) {
		sy_log_warn("webhook refused: forge=%s: %s", forge, err.msg);
		serve_reply_error(r, status, err.msg);
		return;
	}
	if (forge_webhook_parse(kind, header, header_arg, body, len, &ev, &err)) {
		sy_log_warn("webhook refused: forge=%s repo=%s: %s", forge, s->conf.repos[ri].name,
			    err.msg);
		serve_reply_error(r, 400, err.msg);
		goto out;
	}
	if (ev.kind == FORGE_EVENT_PING) {
		serve_reply_json(r, 200, json_pack("{s:s}", "pong", s->conf.repos[ri].name));
		goto out;
	}
	struct server_store_event se = {
		.delivery = ev.delivery_id, .repo = s->conf.repos[ri].name,
		.kind = forge_event_kind_name(ev.kind), .ref = ev.branch,
		.sha = ev.kind == FORGE_EVENT_PUSH ? ev.after : ev.head_sha,
	};
	if (ev.kind == FORGE_EVENT_COMMENT)
		act_on_comment(s, ri, &ev, &se, r);
	else
		act_on_event(s, ri, &ev, &se, r);
out:
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
