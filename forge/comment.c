#define _GNU_SOURCE
#include "forge/comment.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/strv.h"
#include "forge/forge-private.h"

/* GitLab's Developer role: the least that can push (access levels of the
 * members API). */
#define GITLAB_DEVELOPER 30

/* body cut at the last line end before FORGE_COMMENT_MAX bytes, with a note. */
static char *cut_body(const char *body)
{
	size_t n = strlen(body);
	const char *nl;

	if (n <= FORGE_COMMENT_MAX)
		return sy_xstrdup(body);
	n = FORGE_COMMENT_MAX - 64;
	nl = memrchr(body, '\n', n);
	if (nl)
		n = (size_t)(nl - body);
	return sy_xasprintf("%.*s\n\n*(cut: the dashboard has the rest)*\n", (int)n, body);
}

int forge_comment_request(const struct forge *f, long long pr, long long comment_id,
			  const char *body, char **method, char **url, char **json,
			  struct sy_error *err)
{
	char *base = forge_repo_base(f, err), *text;
	json_t *o;

	*method = *url = *json = NULL;
	if (!base)
		return -1;
	if (f->kind == FORGE_GITLAB && comment_id)
		*url = sy_xasprintf("%s/merge_requests/%lld/notes/%lld", base, pr, comment_id);
	else if (f->kind == FORGE_GITLAB)
		*url = sy_xasprintf("%s/merge_requests/%lld/notes", base, pr);
	else if (comment_id)
		*url = sy_xasprintf("%s/issues/comments/%lld", base, comment_id);
	else
		*url = sy_xasprintf("%s/issues/%lld/comments", base, pr);
	*method = sy_xstrdup(!comment_id ? "POST" : f->kind == FORGE_GITLAB ? "PUT" : "PATCH");
	text = cut_body(body);
	o = json_pack("{s:s}", "body", text);
	*json = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	free(text);
	free(base);
	if (!*json) {
		free(*method);
		free(*url);
		*method = *url = NULL;
		return sy_error_set(err, "pull request %lld: comment is not valid UTF-8", pr);
	}
	return 0;
}

/* The "id" of a JSON answer, or 0. */
static long long answer_id(const char *answer)
{
	json_t *doc = answer ? json_loads(answer, 0, NULL) : NULL;
	long long id = (long long)json_integer_value(json_object_get(doc, "id"));

	json_decref(doc);
	return id;
}

static int fail(const struct forge *f, long long pr, const char *what,
		const struct forge_response *out, struct sy_error *err)
{
	if (out->http_status)
		return sy_error_set(err, "%s %s pull request %lld: %s: HTTP %ld%s%s",
				    forge_kind_name(f->kind), f->project, pr, what, out->http_status,
				    out->message[0] ? ": " : "", out->message);
	return sy_error_set(err, "%s %s pull request %lld: %s: %s", forge_kind_name(f->kind),
			    f->project, pr, what, out->message);
}

/* One request of forge_comment_put; 0, or -1 with out filled. */
static int put_once(const struct forge *f, long long pr, long long *comment_id,
		    const char *body, struct forge_response *out, struct sy_error *err)
{
	char *method, *url, *json, *answer = NULL;
	int rc;

	if (forge_comment_request(f, pr, *comment_id, body, &method, &url, &json, err)) {
		out->result = FORGE_REJECTED;
		out->http_status = 0;
		out->retry_after = -1;
		snprintf(out->message, sizeof(out->message), "%.500s", err->msg);
		return -1;
	}
	rc = forge_http(f, method, url, json, out, &answer);
	if (rc == 0 && !*comment_id)
		*comment_id = answer_id(answer);
	free(answer);
	free(method);
	free(url);
	free(json);
	return rc;
}

int forge_comment_put(const struct forge *f, long long pr, long long *comment_id,
		      const char *body, struct forge_response *out, struct sy_error *err)
{
	struct sy_error local;

	if (!err)
		err = &local;
	if (put_once(f, pr, comment_id, body, out, err) == 0)
		return 0;
	if (*comment_id && out->http_status == 404) {
		/* Deleted by someone: a new one takes its place. */
		*comment_id = 0;
		if (put_once(f, pr, comment_id, body, out, err) == 0)
			return 0;
	}
	return fail(f, pr, *comment_id ? "editing the comment" : "commenting", out, err);
}

int forge_reaction_put(const struct forge *f, long long pr, long long comment_id, int approve,
		       struct forge_response *out, struct sy_error *err)
{
	char *base = forge_repo_base(f, err), *url, *json;
	json_t *o;
	int rc;

	if (!base) {
		out->result = FORGE_REJECTED;
		out->http_status = 0;
		snprintf(out->message, sizeof(out->message), "%.500s", err->msg);
		return -1;
	}
	if (f->kind == FORGE_GITLAB) {
		url = sy_xasprintf("%s/merge_requests/%lld/notes/%lld/award_emoji", base, pr,
				   comment_id);
		o = json_pack("{s:s}", "name", approve ? "thumbsup" : "thumbsdown");
	} else {
		url = sy_xasprintf("%s/issues/comments/%lld/reactions", base, comment_id);
		o = json_pack("{s:s}", "content", approve ? "+1" : "-1");
	}
	json = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	rc = forge_http(f, "POST", url, json, out, NULL);
	free(json);
	free(url);
	free(base);
	return rc ? fail(f, pr, "reacting to a comment", out, err) : 0;
}

/* 1 when the permissions answer of forge f says write, else 0. */
static int says_write(const struct forge *f, const char *answer)
{
	json_t *doc = answer ? json_loads(answer, 0, NULL) : NULL;
	const char *perm = json_string_value(json_object_get(doc, "permission"));
	json_int_t level = json_integer_value(json_object_get(doc, "access_level"));
	int yes;

	if (f->kind == FORGE_GITLAB)
		yes = level >= GITLAB_DEVELOPER;
	else
		yes = perm && (!strcmp(perm, "write") || !strcmp(perm, "admin") ||
			       !strcmp(perm, "owner"));
	json_decref(doc);
	return yes;
}

int forge_permission_get(const struct forge *f, const char *user, long long user_id,
			 int *can_write, struct sy_error *err)
{
	struct forge_response out;
	char *base, *url, *answer = NULL;
	int rc;

	*can_write = 0;
	if (f->kind == FORGE_GITHUB)
		return sy_error_set(err, "github: permissions come from author_association");
	if (f->kind == FORGE_GITEA && (!user || !*user || strpbrk(user, "/?#%\\ ")))
		return sy_error_set(err, "gitea: no valid user name to check");
	if (f->kind == FORGE_GITLAB && user_id <= 0)
		return sy_error_set(err, "gitlab: no user id to check");
	base = forge_repo_base(f, err);
	if (!base)
		return -1;
	url = f->kind == FORGE_GITLAB ? sy_xasprintf("%s/members/all/%lld", base, user_id)
				      : sy_xasprintf("%s/collaborators/%s/permission", base, user);
	rc = forge_http(f, "GET", url, NULL, &out, &answer);
	if (rc == 0)
		*can_write = says_write(f, answer);
	else if (out.http_status == 404)
		rc = 0; /* not a member, or no such user */
	else if (out.http_status)
		sy_error_set(err, "%s %s: permission of %s: HTTP %ld %s", forge_kind_name(f->kind),
			     f->project, user ? user : "user", out.http_status, out.message);
	else
		sy_error_set(err, "%s %s: permission of %s: %s", forge_kind_name(f->kind),
			     f->project, user ? user : "user", out.message);
	free(answer);
	free(url);
	free(base);
	return rc;
}
