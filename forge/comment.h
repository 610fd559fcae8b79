/* Pull request comments, reactions and permissions through the forges' REST
 * APIs (libcurl, the token and headers of forge/forge.h):
 *  - a comment on a pull request, created once and edited afterwards:
 *    GitHub "Create an issue comment" (POST /repos/{owner}/{repo}/issues/
 *    {number}/comments) and "Update an issue comment" (PATCH /repos/{owner}/
 *    {repo}/issues/comments/{id}); Gitea/Forgejo the same paths under
 *    /api/v1 (CreateIssueCommentOption, EditIssueCommentOption); GitLab
 *    "Create new merge request note" (POST /projects/{id}/merge_requests/
 *    {iid}/notes) and "Modify existing merge request note" (PUT .../notes/
 *    {note_id}); the body is {"body": Markdown};
 *  - a reaction to a comment: GitHub "Create reaction for an issue comment"
 *    (POST /repos/{owner}/{repo}/issues/comments/{id}/reactions,
 *    {"content": "+1"|"-1"}), Gitea the same under /api/v1
 *    (EditReactionOption), GitLab "Award a new emoji on a note" (POST
 *    /projects/{id}/merge_requests/{iid}/notes/{note_id}/award_emoji,
 *    {"name": "thumbsup"|"thumbsdown"});
 *  - whether a user may write to the repository: Gitea "Get repository
 *    permissions for a user" (GET /api/v1/repos/{owner}/{repo}/collaborators/
 *    {user}/permission: "permission" write, admin or owner), GitLab "Get a
 *    member of a project, including inherited" (GET /projects/{id}/members/
 *    all/{user_id}: access_level 30 Developer or more). GitHub needs no call:
 *    the webhook carries author_association. */
#ifndef FORGE_COMMENT_H
#define FORGE_COMMENT_H

#include "common/error.h"
#include "forge/forge.h"

/* Longest comment body sent, in bytes: GitHub refuses bodies over 65536
 * characters; a longer one is cut at a line end with a note. */
#define FORGE_COMMENT_MAX 60000

/* Creates (*comment_id 0) or edits (*comment_id the forge's id) the comment
 * on pull request pr (GitLab: merge request iid) of forge f with the
 * Markdown body (cut to FORGE_COMMENT_MAX bytes). A comment that is gone
 * (edit answered 404: someone deleted it) is created again. On success
 * *comment_id is the comment's id (read from the answer's "id"). Fills *out
 * as forge_send does; returns 0 when the forge accepted it, else -1 with
 * err set to one line (forge, project, pull request, HTTP status, the
 * forge's message; never the token). */
int forge_comment_put(const struct forge *f, long long pr, long long *comment_id,
		      const char *body, struct forge_response *out, struct sy_error *err);

/* Reacts to comment comment_id of pull request pr: approve 1 gives +1
 * (GitLab thumbsup), 0 gives -1 (thumbsdown). Same returns as
 * forge_comment_put. */
int forge_reaction_put(const struct forge *f, long long pr, long long comment_id, int approve,
		       struct forge_response *out, struct sy_error *err);

/* Asks forge f whether user (Gitea login) or user_id (GitLab user id) may
 * write to the repository. Sets *can_write to 1 (Gitea permission write,
 * admin or owner; GitLab access_level >= 30) or 0 (anything less, or not a
 * member: 404). Returns 0, or -1 with err set when the forge could not
 * say (network, 5xx, 401...) or for GitHub (no call: use the payload's
 * author_association). */
int forge_permission_get(const struct forge *f, const char *user, long long user_id,
			 int *can_write, struct sy_error *err);

/* Builds the URL, method and JSON body of forge_comment_put's request (for
 * tests and forge_comment_put itself): all malloc'ed, caller frees.
 * Returns 0, or -1 with err set for a malformed project. */
int forge_comment_request(const struct forge *f, long long pr, long long comment_id,
			  const char *body, char **method, char **url, char **json,
			  struct sy_error *err);

#endif
