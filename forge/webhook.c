/* Webhook deliveries: shared-secret checks (OpenSSL libcrypto) and payloads
 * (jansson). webhook.h says which headers and payload fields of each forge
 * are read. */
#include "forge/webhook.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <git2.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/hash.h"
#include "common/strv.h"

#define HMAC_SHA256_LEN 32

/* Decodes exactly 2 * n hex digits of hex into out. Returns 0, or -1 when hex
 * has another length or a non-hex character. */
static int hex_decode(const char *hex, unsigned char *out, size_t n)
{
	if (strlen(hex) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char pair[3] = { hex[2 * i], hex[2 * i + 1], '\0' };

		if (!isxdigit((unsigned char)pair[0]) || !isxdigit((unsigned char)pair[1]))
			return -1;
		out[i] = (unsigned char)strtoul(pair, NULL, 16);
	}
	return 0;
}

/* Checks a hex HMAC-SHA256 of body against secret in constant time. */
static int verify_hmac_hex(const char *header_name, const char *hex, const void *body,
			   size_t len, const char *secret, struct sy_error *err)
{
	unsigned char want[HMAC_SHA256_LEN], got[EVP_MAX_MD_SIZE];
	unsigned int got_len = 0;

	if (hex_decode(hex, want, sizeof(want)) != 0)
		return sy_error_set(err, "malformed %s", header_name);
	if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), body, len, got, &got_len) ||
	    got_len != HMAC_SHA256_LEN)
		return sy_error_set(err, "cannot compute HMAC-SHA256 of the body");
	if (CRYPTO_memcmp(want, got, HMAC_SHA256_LEN) != 0)
		return sy_error_set(err, "signature mismatch");
	return 0;
}

/* GitHub, Gitea and Forgejo: X-Hub-Signature-256 ("GitHub docs: validating
 * webhook deliveries"); Gitea and Forgejo also sign in X-Gitea-Signature and
 * X-Forgejo-Signature (hex without prefix, gitea deliver.go). */
static int verify_signature(enum forge_kind kind, forge_header_fn header, void *arg,
			    const void *body, size_t len, const char *secret,
			    struct sy_error *err)
{
	static const char prefix[] = "sha256=";
	const char *sig = header(arg, "X-Hub-Signature-256");

	if (sig) {
		if (strncmp(sig, prefix, sizeof(prefix) - 1) != 0)
			return sy_error_set(err, "malformed X-Hub-Signature-256");
		return verify_hmac_hex("X-Hub-Signature-256", sig + sizeof(prefix) - 1, body, len,
				       secret, err);
	}
	if (kind == FORGE_GITEA) {
		static const char *const names[] = { "X-Gitea-Signature", "X-Forgejo-Signature" };

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			sig = header(arg, names[i]);
			if (sig)
				return verify_hmac_hex(names[i], sig, body, len, secret, err);
		}
	}
	return sy_error_set(err, "missing X-Hub-Signature-256");
}

/* GitLab: X-Gitlab-Token is the secret itself ("GitLab webhooks:
 * X-Gitlab-Token"). Both sides are hashed first so that the comparison takes
 * the same time whatever the lengths. */
static int verify_token(forge_header_fn header, void *arg, const char *secret,
			struct sy_error *err)
{
	unsigned char want[EVP_MAX_MD_SIZE], got[EVP_MAX_MD_SIZE];
	unsigned int want_len = 0, got_len = 0;
	const char *token = header(arg, "X-Gitlab-Token");

	if (!token)
		return sy_error_set(err, "missing X-Gitlab-Token");
	if (!EVP_Digest(secret, strlen(secret), want, &want_len, EVP_sha256(), NULL) ||
	    !EVP_Digest(token, strlen(token), got, &got_len, EVP_sha256(), NULL))
		return sy_error_set(err, "cannot compute SHA-256 of the token");
	if (CRYPTO_memcmp(want, got, want_len) != 0)
		return sy_error_set(err, "token mismatch");
	return 0;
}

int forge_webhook_verify(enum forge_kind kind, forge_header_fn header, void *arg,
			   const void *body, size_t len, const char *secret,
			   struct sy_error *err)
{
	if (!secret || !*secret)
		return sy_error_set(err, "no webhook secret configured");
	if (kind == FORGE_GITLAB)
		return verify_token(header, arg, secret, err);
	return verify_signature(kind, header, arg, body, len, secret, err);
}

/* ---- payloads ---- */

/* Reads fields of one payload. The first required field that is missing or
 * of the wrong type sets err; later calls then do nothing. When strict is 0
 * (an ignored event), nothing is required. */
struct reader {
	json_t *root;	  /* the payload object */
	const char *what; /* payload name for messages: "push", "pull_request" */
	int strict;	  /* 1: required fields must be present */
	int failed;	  /* 1 once err is set */
	struct sy_error *err;
};

/* Returns the value at a dotted path ("pull_request.head.sha") under r->root,
 * or NULL when a step is missing or not an object. */
static json_t *at(const struct reader *r, const char *path)
{
	json_t *v = r->root;

	while (v && json_is_object(v)) {
		const char *dot = strchr(path, '.');

		if (!dot)
			return json_object_get(v, path);
		v = json_object_getn(v, path, (size_t)(dot - path));
		path = dot + 1;
	}
	return NULL;
}

static void missing(struct reader *r, const char *path)
{
	if (r->strict && !r->failed) {
		sy_error_set(r->err, "%s: missing or invalid '%s'", r->what, path);
		r->failed = 1;
	}
}

/* Copies the string at path into *dst (replacing nothing already set). */
static void take_str(struct reader *r, const char *path, char **dst, int required)
{
	json_t *v = at(r, path);

	if (json_is_string(v) && !*dst)
		*dst = sy_xstrdup(json_string_value(v));
	else if (!json_is_string(v) && required)
		missing(r, path);
}

/* Copies the commit id (40 or 64 hex digits, stored lowercase) at path. */
static void take_sha(struct reader *r, const char *path, char dst[FORGE_SHA_MAX + 1],
		     int required)
{
	json_t *v = at(r, path);
	const char *s = json_string_value(v);
	size_t n = s ? strlen(s) : 0;

	if (!s || strspn(s, "0123456789abcdefABCDEF") != n || (n != 40 && n != FORGE_SHA_MAX)) {
		if (required)
			missing(r, path);
		return;
	}
	for (size_t i = 0; i < n; i++)
		dst[i] = (char)tolower((unsigned char)s[i]);
	dst[n] = '\0';
}

static void take_int(struct reader *r, const char *path, long long *dst, int required)
{
	json_t *v = at(r, path);

	if (json_is_integer(v))
		*dst = json_integer_value(v);
	else if (required)
		missing(r, path);
}

static int is_zero_sha(const char *sha)
{
	return *sha && strspn(sha, "0") == strlen(sha);
}

static void set_ignored(struct forge_event *ev, char *reason)
{
	ev->kind = FORGE_EVENT_IGNORED;
	free(ev->ignored_reason);
	ev->ignored_reason = reason;
}

/* Sets ref and branch from a branch name. */
static void set_branch(struct forge_event *ev, const char *branch)
{
	if (!branch)
		return;
	ev->branch = sy_xstrdup(branch);
	ev->ref = sy_xasprintf("refs/heads/%s", branch);
}

/* Sets branch from ref; a ref outside refs/heads/ makes the push IGNORED. */
static void push_ref(struct forge_event *ev)
{
	static const char heads[] = "refs/heads/";

	if (!ev->ref)
		return;
	if (strncmp(ev->ref, heads, sizeof(heads) - 1) == 0)
		ev->branch = sy_xstrdup(ev->ref + sizeof(heads) - 1);
	else if (strncmp(ev->ref, "refs/tags/", 10) == 0)
		set_ignored(ev, sy_xstrdup("tag push"));
	else
		set_ignored(ev, sy_xasprintf("push to '%s' outside refs/heads/", ev->ref));
}

/* GitHub-like "repository" object (GitHub, Gitea, Forgejo). */
static void github_repository(struct reader *r, struct forge_event *ev)
{
	take_str(r, "repository.full_name", &ev->repo_full_name, 1);
	take_int(r, "repository.id", &ev->project_id, 0);
	take_str(r, "repository.clone_url", &ev->clone_url, 0);
}

/* GitHub docs "webhook events and payloads: push"; Gitea's push payload has
 * the same fields (no "deleted": an all-zero after says it). */
static void github_push(struct reader *r, struct forge_event *ev)
{
	ev->kind = FORGE_EVENT_PUSH;
	github_repository(r, ev);
	take_str(r, "ref", &ev->ref, 1);
	take_sha(r, "before", ev->before, 1);
	take_sha(r, "after", ev->after, 1);
	push_ref(ev);
	if (ev->kind == FORGE_EVENT_PUSH &&
	    (json_is_true(at(r, "deleted")) || is_zero_sha(ev->after)))
		set_ignored(ev, sy_xstrdup("branch deletion"));
}

static enum forge_event_kind github_pr_kind(const char *action)
{
	if (!strcmp(action, "opened"))
		return FORGE_EVENT_PR_OPENED;
	if (!strcmp(action, "reopened"))
		return FORGE_EVENT_PR_REOPENED;
	if (!strcmp(action, "synchronize") || !strcmp(action, "synchronized"))
		return FORGE_EVENT_PR_SYNCHRONIZE;
	if (!strcmp(action, "closed"))
		return FORGE_EVENT_PR_CLOSED;
	return FORGE_EVENT_IGNORED;
}

/* Pull request fields shared by every action (GitHub docs "pull_request";
 * Gitea's PullRequestPayload has the same names). */
static void github_pr_fields(struct reader *r, struct forge_event *ev)
{
	github_repository(r, ev);
	take_int(r, "number", &ev->pr_number, 1);
	take_sha(r, "pull_request.head.sha", ev->head_sha, 1);
	take_str(r, "pull_request.head.ref", &ev->head_ref, 1);
	take_str(r, "pull_request.head.repo.clone_url", &ev->head_clone_url, 0);
	take_str(r, "pull_request.base.ref", &ev->base_ref, 1);
	take_sha(r, "pull_request.base.sha", ev->base_sha, 1);
	take_sha(r, "before", ev->before, 0);
	take_sha(r, "after", ev->after, 0);
	ev->merged = json_is_true(at(r, "pull_request.merged"));
	set_branch(ev, ev->base_ref);
}

static void github_pull_request(struct reader *r, struct forge_event *ev)
{
	take_str(r, "action", &ev->action, 1);
	if (r->failed)
		return;
	ev->kind = github_pr_kind(ev->action);
	if (ev->kind == FORGE_EVENT_IGNORED) {
		set_ignored(ev, sy_xasprintf("pull_request action '%s'", ev->action));
		r->strict = 0;
	}
	github_pr_fields(r, ev);
}

/* GitHub "issue_comment" (Gitea the same, also as "pull_request_comment"):
 * a comment created on a pull request. */
static void github_comment(struct reader *r, struct forge_event *ev)
{
	json_t *pr = at(r, "issue.pull_request");

	take_str(r, "action", &ev->action, 1);
	if (r->failed)
		return;
	if (strcmp(ev->action, "created") ||
	    !((pr && !json_is_null(pr)) || json_is_true(at(r, "is_pull")))) {
		set_ignored(ev, sy_xasprintf("comment action '%s'%s", ev->action,
					     strcmp(ev->action, "created") ? "" : " on an issue"));
		r->strict = 0;
		github_repository(r, ev);
		return;
	}
	ev->kind = FORGE_EVENT_COMMENT;
	github_repository(r, ev);
	take_int(r, "issue.number", &ev->pr_number, 1);
	take_int(r, "comment.id", &ev->comment_id, 1);
	take_str(r, "comment.body", &ev->comment_body, 1);
	take_str(r, "comment.user.login", &ev->comment_user, 1);
	take_int(r, "comment.user.id", &ev->comment_user_id, 0);
	take_str(r, "comment.author_association", &ev->author_association, 0);
}

/* GitLab "project" object of push and merge request events; older GitLab
 * versions put the URL in "repository" only. */
static void gitlab_project(struct reader *r, struct forge_event *ev)
{
	take_str(r, "project.path_with_namespace", &ev->repo_full_name, 1);
	take_int(r, "project.id", &ev->project_id, 1);
	take_str(r, "project.git_http_url", &ev->clone_url, 0);
	take_str(r, "repository.git_http_url", &ev->clone_url, 0);
}

/* GitLab webhooks "Push events": ref, before, after, project. */
static void gitlab_push(struct reader *r, struct forge_event *ev)
{
	ev->kind = FORGE_EVENT_PUSH;
	gitlab_project(r, ev);
	take_str(r, "ref", &ev->ref, 1);
	take_sha(r, "before", ev->before, 1);
	take_sha(r, "after", ev->after, 1);
	push_ref(ev);
	if (ev->kind == FORGE_EVENT_PUSH && is_zero_sha(ev->after))
		set_ignored(ev, sy_xstrdup("branch deletion"));
}

/* GitLab webhooks "Merge request events": object_attributes.action. */
static enum forge_event_kind gitlab_mr_kind(struct reader *r, const char *action)
{
	if (!strcmp(action, "open"))
		return FORGE_EVENT_PR_OPENED;
	if (!strcmp(action, "reopen"))
		return FORGE_EVENT_PR_REOPENED;
	if (!strcmp(action, "close") || !strcmp(action, "merge"))
		return FORGE_EVENT_PR_CLOSED;
	if (!strcmp(action, "update") && json_is_string(at(r, "object_attributes.oldrev")))
		return FORGE_EVENT_PR_SYNCHRONIZE;
	return FORGE_EVENT_IGNORED;
}

/* GitLab webhooks "Comment events" (Note Hook) on a merge request. */
static void gitlab_note(struct reader *r, struct forge_event *ev)
{
	const char *type = json_string_value(at(r, "object_attributes.noteable_type"));

	if (!type || strcmp(type, "MergeRequest")) {
		set_ignored(ev, sy_xasprintf("note on a %s", type ? type : "(unknown)"));
		r->strict = 0;
		gitlab_project(r, ev);
		return;
	}
	ev->kind = FORGE_EVENT_COMMENT;
	gitlab_project(r, ev);
	take_int(r, "object_attributes.id", &ev->comment_id, 1);
	take_str(r, "object_attributes.note", &ev->comment_body, 1);
	take_str(r, "user.username", &ev->comment_user, 1);
	take_int(r, "user.id", &ev->comment_user_id, 1);
	take_int(r, "merge_request.iid", &ev->pr_number, 1);
}

static void gitlab_merge_request(struct reader *r, struct forge_event *ev)
{
	take_str(r, "object_attributes.action", &ev->action, 1);
	if (r->failed)
		return;
	ev->kind = gitlab_mr_kind(r, ev->action);
	if (ev->kind == FORGE_EVENT_IGNORED) {
		set_ignored(ev, !strcmp(ev->action, "update")
					? sy_xstrdup("merge request update without new commits")
					: sy_xasprintf("merge request action '%s'", ev->action));
		r->strict = 0;
	}
	gitlab_project(r, ev);
	take_int(r, "object_attributes.iid", &ev->pr_number, 1);
	take_sha(r, "object_attributes.last_commit.id", ev->head_sha, 1);
	take_str(r, "object_attributes.source_branch", &ev->head_ref, 1);
	take_str(r, "object_attributes.source.git_http_url", &ev->head_clone_url, 0);
	take_str(r, "object_attributes.target_branch", &ev->base_ref, 1);
	take_sha(r, "object_attributes.diff_refs.base_sha", ev->base_sha, 0);
	if (ev->kind == FORGE_EVENT_PR_SYNCHRONIZE) {
		take_sha(r, "object_attributes.oldrev", ev->before, 0);
		memcpy(ev->after, ev->head_sha, sizeof(ev->after));
	}
	ev->merged = !strcmp(ev->action, "merge");
	set_branch(ev, ev->base_ref);
}

/* The event header of each forge, in the order they are looked up. */
static const char *event_header(enum forge_kind kind, forge_header_fn header,
				void *arg, const char **name)
{
	static const char *const github[] = { "X-GitHub-Event", NULL };
	static const char *const gitea[] = { "X-Gitea-Event", "X-Forgejo-Event",
					     "X-GitHub-Event", NULL };
	static const char *const gitlab[] = { "X-Gitlab-Event", NULL };
	const char *const *names = kind == FORGE_GITLAB ? gitlab
				   : kind == FORGE_GITEA ? gitea
								 : github;

	*name = names[0];
	for (; *names; names++) {
		const char *v = header(arg, *names);

		if (v)
			return v;
	}
	return NULL;
}

/* The delivery's redelivery key, or a digest of the body. */
static char *delivery_id(enum forge_kind kind, forge_header_fn header, void *arg,
			 const char *body, size_t len)
{
	static const char *const github[] = { "X-GitHub-Delivery", "Idempotency-Key", NULL };
	static const char *const gitea[] = { "X-Gitea-Delivery", "X-Forgejo-Delivery",
					     "X-GitHub-Delivery", "Idempotency-Key", NULL };
	static const char *const gitlab[] = { "X-Gitlab-Event-UUID", "Idempotency-Key", NULL };
	const char *const *names = kind == FORGE_GITLAB ? gitlab
				   : kind == FORGE_GITEA ? gitea
								 : github;
	char hex[SY_SHA256_HEX_LEN + 1];

	for (; *names; names++) {
		const char *v = header(arg, *names);

		if (v && *v)
			return sy_xstrdup(v);
	}
	sy_sha256_buf(body, len, hex);
	return sy_xasprintf("body-sha256:%s", hex);
}

/* Reads the payload of the event named ev->event_name into ev. Returns 0
 * (r->failed tells whether a required field was missing), or -1 for an
 * unknown event. */
static int read_payload(enum forge_kind kind, struct reader *r,
			struct forge_event *ev)
{
	const char *name = ev->event_name;

	if (kind == FORGE_GITLAB && !strcmp(name, "Push Hook")) {
		gitlab_push(r, ev);
	} else if (kind == FORGE_GITLAB && !strcmp(name, "Merge Request Hook")) {
		gitlab_merge_request(r, ev);
	} else if (kind == FORGE_GITLAB && !strcmp(name, "Tag Push Hook")) {
		r->strict = 0;
		gitlab_push(r, ev);
		set_ignored(ev, sy_xstrdup("tag push"));
	} else if (kind != FORGE_GITLAB && !strcmp(name, "ping")) {
		ev->kind = FORGE_EVENT_PING;
		r->strict = 0;
		github_repository(r, ev);
	} else if (kind != FORGE_GITLAB && !strcmp(name, "push")) {
		github_push(r, ev);
	} else if (kind != FORGE_GITLAB && !strcmp(name, "pull_request")) {
		github_pull_request(r, ev);
	} else if (kind != FORGE_GITLAB && (!strcmp(name, "issue_comment") ||
					    (kind == FORGE_GITEA &&
					     !strcmp(name, "pull_request_comment")))) {
		github_comment(r, ev);
	} else if (kind == FORGE_GITLAB && !strcmp(name, "Note Hook")) {
		gitlab_note(r, ev);
	} else {
		return sy_error_set(r->err, "unknown event '%s'", name);
	}
	return 0;
}

static int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes one application/x-www-form-urlencoded value of len bytes ('+' is a
 * space, %XX a byte) into a new NUL-terminated string; NULL on a broken
 * escape. */
static char *form_unescape(const char *s, size_t len, size_t *out_len)
{
	char *out = sy_xmalloc(len + 1);
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '+') {
			out[n++] = ' ';
		} else if (s[i] != '%') {
			out[n++] = s[i];
		} else if (i + 2 < len && hex_value((unsigned char)s[i + 1]) >= 0 &&
			   hex_value((unsigned char)s[i + 2]) >= 0) {
			out[n++] = (char)(hex_value((unsigned char)s[i + 1]) * 16 +
					  hex_value((unsigned char)s[i + 2]));
			i += 2;
		} else {
			free(out);
			return NULL;
		}
	}
	out[n] = '\0';
	*out_len = n;
	return out;
}

int forge_webhook_json(forge_header_fn header, void *arg, const char *body, size_t len,
			 char **json, size_t *json_len, struct sy_error *err)
{
	const char *type = header(arg, "Content-Type");
	static const char form[] = "application/x-www-form-urlencoded";

	*json = NULL;
	*json_len = 0;
	if (!type || strncasecmp(type, form, sizeof(form) - 1) != 0)
		return 0;
	for (size_t i = 0; i < len;) {
		size_t end = i;
		while (end < len && body[end] != '&')
			end++;
		if (end - i > 8 && !memcmp(body + i, "payload=", 8)) {
			*json = form_unescape(body + i + 8, end - i - 8, json_len);
			return *json ? 0 : sy_error_set(err, "malformed form body: bad %%-escape in 'payload'");
		}
		i = end + 1;
	}
	return sy_error_set(err, "malformed form body: no 'payload' field");
}

/* Whether name is a ref git accepts (git check-ref-format, as libgit2
 * checks it); prefix is prepended, for a branch name. */
static int ref_ok(const char *prefix, const char *name)
{
	char *ref = sy_xasprintf("%s%s", prefix, name);
	int valid = 0;

	if (git_reference_name_is_valid(&valid, ref) != 0)
		valid = 0;
	free(ref);
	return valid;
}

/* Refuses a payload naming a ref git would refuse: a branch becomes a git
 * ref, a channel directory and a log field, so "..", control characters or
 * "refs/heads/../x" must not reach them. */
static int check_refs(const struct forge_event *ev, struct sy_error *err)
{
	if (ev->ref && !ref_ok("", ev->ref))
		return sy_error_set(err, "ref '%s': not a valid git ref name", ev->ref);
	if (ev->head_ref && !ref_ok("refs/heads/", ev->head_ref))
		return sy_error_set(err, "head branch '%s': not a valid git branch name",
				    ev->head_ref);
	if (ev->base_ref && !ref_ok("refs/heads/", ev->base_ref))
		return sy_error_set(err, "base branch '%s': not a valid git branch name",
				    ev->base_ref);
	return 0;
}

int forge_webhook_parse(enum forge_kind kind, forge_header_fn header, void *arg,
			  const char *body, size_t len, struct forge_event *ev,
			  struct sy_error *err)
{
	struct reader r = { .strict = 1, .err = err };
	const char *header_name, *name;
	json_error_t jerr;
	char *decoded;
	size_t decoded_len;
	int rc = -1;

	ev->forge = kind;
	name = event_header(kind, header, arg, &header_name);
	if (!name)
		return sy_error_set(err, "missing %s header", header_name);
	if (forge_webhook_json(header, arg, body, len, &decoded, &decoded_len, err))
		return -1;
	if (decoded)
		r.root = json_loadb(decoded, decoded_len, 0, &jerr);
	else
		r.root = json_loadb(body, len, 0, &jerr);
	free(decoded);
	if (!r.root)
		return sy_error_set(err, "malformed JSON: line %d: %s", jerr.line, jerr.text);
	if (!json_is_object(r.root)) {
		sy_error_set(err, "malformed JSON: the payload is not an object");
		goto out;
	}
	ev->event_name = sy_xstrdup(name);
	r.what = name;
	if (read_payload(kind, &r, ev) != 0 || r.failed || check_refs(ev, err))
		goto out;
	ev->delivery_id = delivery_id(kind, header, arg, body, len);
	rc = 0;
out:
	if (rc != 0)
		forge_event_release(ev);
	json_decref(r.root);
	return rc;
}

void forge_event_release(struct forge_event *ev)
{
	free(ev->delivery_id);
	free(ev->event_name);
	free(ev->action);
	free(ev->ignored_reason);
	free(ev->repo_full_name);
	free(ev->clone_url);
	free(ev->ref);
	free(ev->branch);
	free(ev->head_ref);
	free(ev->head_clone_url);
	free(ev->base_ref);
	free(ev->comment_body);
	free(ev->comment_user);
	free(ev->author_association);
	*ev = (struct forge_event)FORGE_EVENT_INIT;
}

const char *forge_event_kind_name(enum forge_event_kind kind)
{
	switch (kind) {
	case FORGE_EVENT_PING:
		return "ping";
	case FORGE_EVENT_PUSH:
		return "push";
	case FORGE_EVENT_PR_OPENED:
		return "pr-opened";
	case FORGE_EVENT_PR_REOPENED:
		return "pr-reopened";
	case FORGE_EVENT_PR_SYNCHRONIZE:
		return "pr-synchronize";
	case FORGE_EVENT_PR_CLOSED:
		return "pr-closed";
	case FORGE_EVENT_COMMENT:
		return "comment";
	case FORGE_EVENT_IGNORED:
		break;
	}
	return "ignored";
}
