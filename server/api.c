/* The write endpoints of the JSON API (the dashboard's, server/dashboard.h,
 * only read):
 *
 *   POST /api/pipelines/<id>/approve   build the plan the cascade guard
 *                                      held in pipeline <id>
 *
 * Each needs "Authorization: Bearer <token>" with a token of the file
 * serve.apitokens names (server/apitokens.h); without that setting they
 * answer 403, without a valid token 401. Answers are JSON: the result, or
 * {"error": one line}. */
#define _GNU_SOURCE
#include "server/serve-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/log.h"
#include "server/apitokens.h"

#define REALM "Bearer realm=\"shipyard\""

/* Parses "/api/pipelines/<id>/approve" into *id; 1 when path is that. */
static int approve_path(const char *path, long *id)
{
	static const char prefix[] = "/api/pipelines/";
	const char *digits = path + sizeof(prefix) - 1;
	char *end;

	if (strncmp(path, prefix, sizeof(prefix) - 1) || *digits < '0' || *digits > '9')
		return 0;
	errno = 0;
	*id = strtol(digits, &end, 10);
	return !errno && *id > 0 && !strcmp(end, "/approve");
}

/* Who the request is from: the name of its token, copied into name.
 * Returns 0, or -1 with r answered (403 writes disabled, 500 token file
 * unreadable, 401 no or wrong token). */
static int authenticate(struct serve *s, forge_header_fn header, void *header_arg,
			char name[SERVER_API_TOKEN_NAME_MAX + 1], struct server_http_response *r)
{
	struct server_api_tokens tokens = SERVER_API_TOKENS_INIT;
	const struct server_api_token *who = NULL;
	struct sy_error err = { { 0 } };
	const char *bearer;
	size_t len = 0;

	if (!s->conf.api_tokens_file) {
		serve_reply_error(r, 403, "API writes are disabled: no serve.apitokens");
		return -1;
	}
	if (server_api_tokens_load(s->conf.api_tokens_file, &tokens, &err)) {
		sy_log_error("api: %s", err.msg);
		serve_reply_error(r, 500, "cannot read serve.apitokens");
		return -1;
	}
	bearer = server_api_bearer(header(header_arg, "Authorization"), &len);
	if (bearer)
		who = server_api_tokens_check(&tokens, bearer, len);
	if (who)
		memcpy(name, who->name, sizeof(who->name));
	server_api_tokens_release(&tokens);
	if (!who) {
		sy_log_warn("api: refused: %s", bearer ? "unknown token" : "no bearer token");
		serve_reply_error(r, 401, bearer ? "unknown token"
						 : "needs Authorization: Bearer <token>");
		r->authenticate = REALM;
		return -1;
	}
	return 0;
}

/* POST /api/pipelines/<id>/approve, from the token named by. */
static void approve(struct serve *s, long id, const char *by, struct server_http_response *r)
{
	struct server_store_pipeline p;
	struct sy_error err = { { 0 } };
	char why[SERVER_API_TOKEN_NAME_MAX + 32];
	int rc = server_store_approve(s->store, id, by, &p, &err);

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
		sy_log_info("api: approval of pipeline %ld by %s refused: %s", id, by, err.msg);
		serve_reply_error(r, 409, err.msg);
		return;
	}
	sy_log_info("api: pipeline %ld approved by %s: pipeline %ld queued", id, by, p.id);
	/* The held run ended shipyard/plan in failure; the new run's statuses
	 * of the same commit must reach the forge. */
	serve_reopen_statuses(s, p.repo, p.head);
	snprintf(why, sizeof(why), "approved by %s: queued", by);
	serve_post_status(s, &p, "shipyard/plan", FORGE_PENDING, why);
	serve_wake_all(s);
	char *url = sy_xasprintf("%s/pipelines/%ld", s->conf.url, p.id);
	serve_reply_json(r, 202, json_pack("{s:I, s:s, s:I, s:s}", "pipeline", (json_int_t)p.id,
					   "url", url, "approves", (json_int_t)id, "approved_by",
					   by));
	free(url);
	server_store_pipeline_release(&p);
}

int serve_on_api(struct serve *s, const char *method, const char *path, forge_header_fn header,
		 void *header_arg, struct server_http_response *r)
{
	char name[SERVER_API_TOKEN_NAME_MAX + 1];
	long id;

	if (!path || !approve_path(path, &id))
		return 0;
	if (strcmp(method, "POST"))
		serve_reply_error(r, 405, "POST only");
	else if (authenticate(s, header, header_arg, name, r) == 0)
		approve(s, id, name, r);
	return 1;
}
