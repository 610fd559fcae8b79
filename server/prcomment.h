/* The comment shipyard keeps on a pull request (GitHub and Gitea issue
 * comment, GitLab merge request note; forge/comment.h): one per pull
 * request, edited in place on each pipeline of it. Markdown (GitHub
 * Flavored Markdown, which Gitea and GitLab render alike): the pipeline's
 * state and links, the plan summary (changed specs, rebuild count, cascade
 * size, top reason chains), per-spec results with log links (failures
 * first), the images, and the pull request repository's .repo URL. Every
 * text from the pull request (spec names, reasons) is escaped so that it
 * cannot open Markdown or HTML constructs. */
#ifndef SERVER_PRCOMMENT_H
#define SERVER_PRCOMMENT_H

#include <jansson.h>

/* The first line of every such comment (an HTML comment, invisible), so
 * that a person or a tool can tell shipyard's comment apart. */
#define SERVER_PR_COMMENT_MARK "<!-- shipyard:pull-request-summary -->"

/* Chains of reasons and results listed before "... and N more". */
#define SERVER_PR_COMMENT_TOP_REASONS 5
#define SERVER_PR_COMMENT_MAX_JOBS 50

/* Renders the comment of a pipeline from:
 *  - detail: the pipeline as the dashboard's API gives it
 *    (/api/pipelines/<id>: "id", "state", "head", "pr", "summary", "url",
 *    "log", "plan" (plan.json or null) and "jobs" [{"name", "state",
 *    "reason", "seconds", "log" (URL path or null)}]);
 *  - images: [{"config", "state", "description"}] from the pipeline's
 *    shipyard/image/<config> statuses, or NULL;
 *  - base_url: serve.url, prefixed to the dashboard's paths ("" allowed);
 *  - repo_url: the .repo file of the pull request's channel (absolute
 *    URL), or NULL when nothing was published.
 * Returns the Markdown text (malloc'ed, caller frees). */
char *server_pr_comment(const json_t *detail, const json_t *images, const char *base_url,
			const char *repo_url);

#endif
