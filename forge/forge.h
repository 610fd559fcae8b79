/* Commit statuses sent to a forge over HTTPS with libcurl: one POST per status.
 * GitHub (POST {api}/repos/{owner}/{repo}/statuses/{sha}, REST API 2022-11-28),
 * Gitea and Forgejo (POST {api}/api/v1/repos/{owner}/{repo}/statuses/{sha},
 * CreateStatusOption) and GitLab (POST {api}/projects/{id}/statuses/{sha},
 * "Set the pipeline status of a commit"). Internal states map to each forge's
 * names (forge_state_wire_name): GitHub and Gitea know pending, success,
 * failure and error; GitLab pending, running, success, failed and canceled.
 * The token is sent in a
 * header only; it never appears in an error message. Callers normally go
 * through the durable outbox (forge/outbox.h) instead of calling
 * forge_send directly. */
#ifndef FORGE_FORGE_H
#define FORGE_FORGE_H

#include "common/error.h"

/* Which forge API a repository's statuses go to. */
enum forge_kind {
	FORGE_GITHUB, /* GitHub and GitHub Enterprise */
	FORGE_GITEA,  /* Gitea and Forgejo (same API) */
	FORGE_GITLAB, /* GitLab API v4 */
};

/* One forge endpoint with its credentials. Fields are owned by the struct and
 * freed by forge_release. */
struct forge {
	enum forge_kind kind; /* which API */
	char *api_url; /* API base: "https://api.github.com", the Gitea/Forgejo instance
			* root ("https://codeberg.org"), or GitLab's API root
			* ("https://gitlab.com/api/v4"); a trailing '/' is ignored */
	char *project; /* "owner/repo"; on GitLab a numeric id or a "group/project" path */
	char *token;   /* secret token (see forge_load_token); NULL sends none */
};

#define FORGE_INIT { FORGE_GITHUB, NULL, NULL, NULL }

/* The internal state of a status, mapped per forge (C.6): GitHub and Gitea send
 * running as pending and cancelled as error; GitLab has its own names
 * (running, failed, canceled). */
enum forge_state {
	FORGE_PENDING,	 /* queued, not started */
	FORGE_RUNNING,	 /* started */
	FORGE_SUCCESS,	 /* final: succeeded */
	FORGE_FAILURE,	 /* final: a package or image failed */
	FORGE_ERROR,	 /* final: infrastructure error */
	FORGE_CANCELLED, /* final: cancelled or superseded */
};

/* One status to send. All strings are borrowed from the caller. */
struct forge_status_request {
	const char *sha;	 /* full commit id, hexadecimal */
	const char *context;	 /* "shipyard/plan", "shipyard/build", "shipyard/image/<config>" */
	enum forge_state state; /* internal state */
	const char *description; /* free text; cut to 140 characters (UTF-8 safe) when sent;
				  * NULL sends none */
	const char *target_url;	 /* dashboard page of the pipeline; NULL sends none */
};

/* How a forge answered, as far as retrying is concerned. */
enum forge_result {
	FORGE_ACCEPTED, /* 2xx: the status is recorded by the forge */
	FORGE_RETRY,	/* network error, 5xx, 408, 429, 403 with rate-limit headers */
	FORGE_REJECTED, /* any other answer (422, 401, 404...) or a request that
				 * cannot be built: sending it again will not help */
};

/* What forge_send learned from one attempt. */
struct forge_response {
	enum forge_result result; /* classification of the answer */
	long http_status;   /* HTTP status code, 0 when no answer was received */
	long retry_after;   /* seconds the forge asked us to wait (Retry-After, or
			     * x-ratelimit-reset minus now when x-ratelimit-remaining is 0);
			     * -1 when it did not say */
	char message[512];  /* the forge's "message" (and first "errors" message) for 4xx,
			     * the network error otherwise; empty when accepted */
};

/* Returns the forge kind named by name: "github", "gitea", "forgejo" (same as
 * gitea) or "gitlab". Returns 0, or -1 with err set for another name. */
int forge_kind_parse(const char *name, enum forge_kind *kind,
			     struct sy_error *err);

/* Returns "github", "gitea" or "gitlab" (static string). */
const char *forge_kind_name(enum forge_kind kind);

/* Reads the token from the file at path into *token (malloc'ed; caller frees,
 * preferably with forge_release). Surrounding whitespace and the
 * trailing newline are removed. Returns 0, or -1 with err set (naming the file,
 * never its content) when it cannot be read or is empty. */
int forge_load_token(const char *path, char **token, struct sy_error *err);

/* Frees the fields of f (the token is wiped first) and resets it to
 * FORGE_INIT. f itself is not freed. */
void forge_release(struct forge *f);

/* Returns the internal state's name: "pending", "running", "success",
 * "failure", "error" or "cancelled" (static string). */
const char *forge_state_name(enum forge_state state);

/* Parses a name returned by forge_state_name. Returns 0, or -1 with err
 * set for an unknown name. */
int forge_state_parse(const char *name, enum forge_state *state,
			      struct sy_error *err);

/* Returns 1 for the final states (success, failure, error, cancelled), else 0. */
int forge_state_is_final(enum forge_state state);

/* Returns the state name the forge of that kind expects (C.6): GitHub and
 * Gitea pending/success/failure/error; GitLab pending/running/success/failed/
 * canceled (static string). */
const char *forge_state_wire_name(enum forge_kind kind,
					  enum forge_state state);

/* Copies at most max characters (code points, not bytes) of s into a new
 * string (caller frees); a cut never splits a UTF-8 sequence. Used for the
 * 140-character description limit (GitHub answers 422 "description is too
 * long (maximum is 140 characters)" beyond it). */
char *forge_truncate_utf8(const char *s, size_t max);

/* Builds the URL and JSON body of the status request r for forge f (both
 * malloc'ed; caller frees). The token is not part of either. Returns 0, or -1
 * with err set when the project or sha is malformed. */
int forge_build_request(const struct forge *f,
				const struct forge_status_request *r, char **url, char **body,
				struct sy_error *err);

/* Sends the status r to forge f: one HTTP POST (10 s connect timeout, 30 s in
 * all, no redirects followed). Fills *out in every case. Returns 0 when the
 * forge accepted the status (out->result ACCEPTED), or -1 with err set to a
 * one-line message (forge, project, context, HTTP status and the forge's
 * message; never the token) and out->result RETRY or REJECTED. Safe to call
 * from several threads at once (one curl handle per call). */
int forge_send(const struct forge *f, const struct forge_status_request *r,
		       struct forge_response *out, struct sy_error *err);

#endif
