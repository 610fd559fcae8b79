/* Webhook deliveries from a forge: checking that a delivery comes from the
 * forge (shared secret), and reading the event it carries into a
 * forge-independent struct forge_event. Header and payload shapes are those
 * documented by each forge: GitHub ("GitHub docs: webhook
 * events and payloads", "validating webhook deliveries"), Gitea and Forgejo
 * (GitHub-like payloads; services/webhook/deliver.go for the headers) and
 * GitLab ("GitLab webhooks": X-Gitlab-Token, X-Gitlab-Event, push and merge
 * request events). Headers are read through a callback, so that the code does
 * not depend on the HTTP server. Nothing here prints or keeps state. */
#ifndef FORGE_WEBHOOK_H
#define FORGE_WEBHOOK_H

#include <stddef.h>

#include "common/error.h"
#include "forge/forge.h" /* enum forge_kind: Gitea also covers Forgejo */

/* Returns the value of the request header called name (matched without regard
 * to case, as HTTP requires), or NULL when the request has none. The string is
 * borrowed: it must stay valid while the forge_webhook_* call runs. arg is
 * the caller's context (for libmicrohttpd, the MHD_Connection). */
typedef const char *(*forge_header_fn)(void *arg, const char *name);

/* What a delivery asks shipyard to do. */
enum forge_event_kind {
	FORGE_EVENT_PING,	      /* hook created or tested: answer, do nothing */
	FORGE_EVENT_PUSH,	      /* commits pushed to a branch */
	FORGE_EVENT_PR_OPENED,      /* pull/merge request opened */
	FORGE_EVENT_PR_REOPENED,    /* pull/merge request reopened */
	FORGE_EVENT_PR_SYNCHRONIZE, /* new commits on a pull/merge request's head */
	FORGE_EVENT_PR_CLOSED,      /* pull/merge request closed or merged */
	FORGE_EVENT_COMMENT,        /* a comment created on a pull/merge request:
				     * comment_* and pr_number are set */
	FORGE_EVENT_IGNORED,	      /* a known event that needs no pipeline;
				       * ignored_reason says why */
};

/* Length of the longest commit id kept: 40 hex digits for SHA-1 repositories,
 * 64 for SHA-256 ones. */
#define FORGE_SHA_MAX 64

/* One parsed delivery. Every char * is owned by the struct (freed by
 * forge_event_release) and NULL when the payload does not carry it; commit
 * ids are lowercase hex, "" when absent. */
struct forge_event {
	enum forge_kind forge; /* which forge sent it */
	enum forge_event_kind kind;  /* what to do */
	char *delivery_id;    /* redelivery key: X-GitHub-Delivery, X-Gitea-Delivery,
			       * X-Forgejo-Delivery, X-Gitlab-Event-UUID or Idempotency-Key;
			       * "body-sha256:<hex>" of the raw body when none is sent */
	char *event_name;     /* the event header as sent ("push", "Merge Request Hook") */
	char *action;         /* pull/merge request action as sent ("opened", "update") */
	char *ignored_reason; /* kind IGNORED only: one line ("branch deletion", "tag push",
			       * "pull_request action 'labeled'") */
	char *repo_full_name; /* "owner/name" (GitHub, Gitea) or GitLab path_with_namespace;
			       * NULL for an organization's ping */
	long long project_id; /* repository.id / GitLab project.id; 0 when absent */
	char *clone_url;      /* repository.clone_url / GitLab project.git_http_url */
	char *ref;            /* "refs/heads/<branch>": the pushed ref, or for a pull
			       * request its base (target) branch */
	char *branch;         /* branch name of ref ("main") */
	char before[FORGE_SHA_MAX + 1]; /* push: previous tip (all zeros when created);
					   * synchronize: previous head when the forge says
					   * (GitHub before, GitLab oldrev); "" otherwise */
	char after[FORGE_SHA_MAX + 1];  /* push: new tip; synchronize (GitHub synchronize,
					   * GitLab update): new head; "" otherwise */
	/* Pull requests (GitHub, Gitea) and merge requests (GitLab). */
	long long pr_number;  /* number / GitLab iid; 0 for other events */
	char head_sha[FORGE_SHA_MAX + 1]; /* commit to build and to post statuses to */
	char *head_ref;       /* source branch name ("feature") */
	char *head_clone_url; /* repository of the source branch (a fork's URL, or
			       * the same as clone_url); NULL when the fork is gone */
	char *base_ref;       /* target branch name ("main") */
	char base_sha[FORGE_SHA_MAX + 1]; /* target branch tip the forge compared with */
	int merged;           /* 1 when a closed pull request was merged, else 0 */
	/* Comments on a pull request (kind COMMENT). */
	long long comment_id; /* comment.id / GitLab object_attributes.id */
	char *comment_body;   /* comment.body / GitLab object_attributes.note */
	char *comment_user;   /* comment.user.login / GitLab user.username */
	long long comment_user_id; /* comment.user.id / GitLab user.id */
	char *author_association; /* GitHub comment.author_association ("OWNER",
			       * "MEMBER", "COLLABORATOR", "CONTRIBUTOR", "NONE"...);
			       * NULL for the other forges */
};

#define FORGE_EVENT_INIT { .kind = FORGE_EVENT_IGNORED }

/* Checks that a delivery was sent by the forge that knows secret:
 * - GitHub, Gitea and Forgejo: header "X-Hub-Signature-256: sha256=<hex>" must
 *   equal HMAC-SHA256(secret, body) over the raw body bytes ("GitHub docs:
 *   validating webhook deliveries"). For Gitea/Forgejo, when that header is
 *   absent, "X-Gitea-Signature" (then "X-Forgejo-Signature"): the same HMAC in
 *   hex without prefix (gitea services/webhook/deliver.go).
 * - GitLab: header "X-Gitlab-Token" must equal secret ("GitLab webhooks:
 *   X-Gitlab-Token"; a plain shared token, no HMAC).
 * Comparisons take constant time (CRYPTO_memcmp over fixed-size digests, so
 * the length of the secret does not leak either). secret is a NUL-terminated
 * string, as read from the secret file. Returns 0 when the delivery is
 * authentic, or -1 with err set to one line: "no webhook secret configured",
 * "missing X-Hub-Signature-256", "malformed X-Hub-Signature-256",
 * "missing X-Gitlab-Token", "signature mismatch" or "token mismatch". */
int forge_webhook_verify(enum forge_kind kind, forge_header_fn header, void *arg,
			   const void *body, size_t len, const char *secret,
			   struct sy_error *err);

/* The JSON text of a delivery whose body is form-encoded: GitHub and Gitea
 * send "Content-Type: application/x-www-form-urlencoded" with the JSON in the
 * "payload" field when a hook is configured that way ("GitHub docs: webhook
 * delivery headers", content type). The signature covers the raw body, so
 * verify before decoding. For such a body, sets *json to the decoded payload
 * (NUL-terminated, *json_len bytes; caller frees) and returns 0; for any other
 * content type sets *json to NULL (the body is the JSON) and returns 0.
 * Returns -1 with err set ("malformed form body: no 'payload' field", or a
 * bad %-escape) when a form body carries no payload. */
int forge_webhook_json(forge_header_fn header, void *arg, const char *body, size_t len,
			 char **json, size_t *json_len, struct sy_error *err);

/* Reads the delivery (headers and the JSON body of len bytes, parsed with
 * jansson; a form-encoded body is decoded first, see forge_webhook_json)
 * into *ev, which must be FORGE_EVENT_INIT or released. The event
 * comes from X-GitHub-Event; for Gitea X-Gitea-Event, X-Forgejo-Event or
 * X-GitHub-Event; for GitLab X-Gitlab-Event. Rules:
 * - "ping": PING (repository fields filled when the payload has them).
 * - "push" / "Push Hook": PUSH; IGNORED "branch deletion" when deleted is true
 *   or after is all zeros; IGNORED "tag push" for a ref outside refs/heads/.
 *   "Tag Push Hook" (GitLab): IGNORED "tag push".
 * - "pull_request": action opened, reopened, synchronize (Gitea's
 *   "synchronized" too) and closed (merged from pull_request.merged) map to the
 *   PR_* kinds; any other action is IGNORED.
 * - "issue_comment" (Gitea also "pull_request_comment"): action "created"
 *   on an issue that is a pull request (issue.pull_request present and
 *   not null, or Gitea's is_pull true) maps to COMMENT with comment.id,
 *   comment.body, comment.user.login and .id, comment.author_association
 *   (GitHub) and issue.number; any other action, or a plain issue, is
 *   IGNORED.
 * - "Note Hook" (GitLab): object_attributes.noteable_type "MergeRequest"
 *   maps to COMMENT with object_attributes.id and .note, user.username and
 *   .id, merge_request.iid; other notes (commits, issues) are IGNORED.
 * - "Merge Request Hook": object_attributes.action open, reopen, close and
 *   merge map to OPENED, REOPENED, CLOSED and CLOSED with merged = 1; update
 *   maps to SYNCHRONIZE when it carries oldrev (GitLab sends oldrev only when
 *   the source branch got new commits) and is IGNORED otherwise (title, label,
 *   approval edits); any other action is IGNORED.
 * On success returns 0 and *ev is filled (release it with
 * forge_event_release). Returns -1 with err set, and *ev left empty, for a
 * missing event header ("missing X-GitHub-Event header"), an event that is
 * none of the above ("unknown event 'issues'"), a body that is not JSON
 * ("malformed JSON: line 3: ..."), not an object, or that lacks a field the
 * event needs or has it in the wrong type ("push: missing or invalid 'after'"). */
int forge_webhook_parse(enum forge_kind kind, forge_header_fn header, void *arg,
			  const char *body, size_t len, struct forge_event *ev,
			  struct sy_error *err);

/* Frees the strings of ev and resets it to FORGE_EVENT_INIT; ev itself is
 * not freed. Safe on an initialised or already released event. */
void forge_event_release(struct forge_event *ev);

/* Returns the kind's name for logs and the API: "ping", "push", "pr-opened",
 * "pr-reopened", "pr-synchronize", "pr-closed" or "ignored" (static string). */
const char *forge_event_kind_name(enum forge_event_kind kind);

#endif
