/* Shared between the files of the dashboard only: dashboard.c (routes,
 * file and log serving), dashboard_api.c (the JSON documents of the API)
 * and dashboard_pages.c (the same documents as HTML pages). The rest of
 * shipyard uses server/dashboard.h.
 *
 * Every page is made from the document its /api/ twin answers, so that the
 * pages show nothing the API does not. Every json_t * returned is a new
 * reference the caller releases (json_decref); every char * is newly
 * allocated and freed by the caller. */
#ifndef SERVER_DASHBOARD_PRIVATE_H
#define SERVER_DASHBOARD_PRIVATE_H

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "common/error.h"
#include "server/dashboard.h"
#include "server/store.h"

/* The string member key of o, or NULL (o NULL or not an object too). */
static inline const char *jget(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* 1 when a pipeline or job whose state is named name (as the JSON
 * documents give it) has not ended: queued or running. */
static inline int dashboard_state_active(const char *name)
{
	enum server_pipeline_state p;
	enum builder_job_state j;

	if (!name)
		return 0;
	if (server_pipeline_state_parse(name, &p) == 0)
		return !server_pipeline_state_is_final(p);
	return builder_job_state_parse(name, &j) == 0 && j >= BUILDER_JOB_NFINAL;
}

/* ---- dashboard.c: files ---- */

/* Returns the resolved path of path when it is a regular file strictly
 * under root once every symbolic link of both is resolved; NULL otherwise
 * (missing, a directory, or a link leading out of root). */
char *dashboard_resolve_under(const char *root, const char *path);

/* Returns 1 when name is a relative path of plain components: no "", "."
 * or ".." component, no leading '/', no backslash or control character;
 * else 0. */
int dashboard_name_is_safe(const char *name);

/* The content type an artifact named name is served with: by its suffix
 * (".tar.gz" application/gzip, ".iso" application/x-iso9660-image, ".json"
 * application/json, ...), application/octet-stream for the rest (raw,
 * vhd, vhdx disks). Static string. */
const char *dashboard_content_type(const char *name);

/* A pipelines list as ?limit=N&cursor=C&state=S&branch=B&repo=R asks for
 * it. Strings owned (dashboard_list_query_release). */
struct dashboard_list_query {
	struct server_store_filter filter; /* for the store: max = limit,
					    * before = the cursor's id */
	char *state, *branch, *repo;       /* the filters given, or NULL */
};

/* Parses query (decoded "k=v&..." or NULL) into q: limit 1 to 1000
 * (default 100), cursor as dashboard_cursor_encode made it, state a
 * pipeline state name, branch a ref some pipeline has, repo a configured
 * repository (any when d->conf is NULL); an empty value is no filter.
 * Returns 0, or -1 with err saying which parameter is wrong and why (an
 * unknown parameter too): the caller answers 400, or 500 when *internal is
 * set (the store could not be read). */
int dashboard_list_query_parse(const struct server_dashboard *d, const char *query,
			       struct dashboard_list_query *q, int *internal,
			       struct sy_error *err);

/* Frees what q holds. */
void dashboard_list_query_release(struct dashboard_list_query *q);

/* The opaque cursor of a page that follows pipeline id: newly allocated. */
char *dashboard_cursor_encode(long id);

/* server/openapi.json (OpenAPI 3.1: every /api/ route, its parameters and
 * answers), NUL-terminated, built in (server/openapi.c). */
extern const char dashboard_openapi_json[];

/* ---- dashboard_api.c: the JSON documents ---- */

/* t (seconds since the epoch) as an RFC 3339 UTC time with milliseconds,
 * "2026-12-07T14:55:13.042Z"; JSON null when t <= 0. */
json_t *dashboard_time_json(double t);

/* <state>/pipelines/<id>, the run directory of pipeline id
 * (state/layout.h). */
char *dashboard_run_dir(const struct server_dashboard *d, long id);

/* <state>/pipelines/<id>/<name>: a report of the run ("pipeline.log",
 * "plan.json", "build-summary.json"). */
char *dashboard_run_file(const struct server_dashboard *d, long id, const char *name);

/* The fields of p with its duration (so far, while running), "approval"
 * (the cascade guard's hold on its plan: null, or {"state": "needed" |
 * "approved", "reason", "approve": endpoint | "approved_by",
 * "approved_at", "pipeline"}), "approves" (the held pipeline it approves,
 * or null) and its "url" and "log" links. */
json_t *dashboard_pipeline_json(const struct server_store_pipeline *p);

/* {"queue_length", "pipelines": [...], "next": link or null, "filters":
 * {"state", "branch", "repo"}}: the pipelines q selects, newest first,
 * those running with their "progress"; next is path with the query of the
 * page that follows. NULL with err when the store cannot be read. */
json_t *dashboard_pipelines_json(const struct server_dashboard *d,
				 const struct dashboard_list_query *q, const char *path,
				 struct sy_error *err);

/* One pipeline with its plan (plan.json of its run, or null), the curl
 * command that approves it in "approval"."command" while approval is
 * needed (with serve.url, and $SHIPYARD_TOKEN for the token), "progress",
 * "jobs" (each with "log" and "log_live" links when its log exists,
 * "kind" "build" or "image", "started", "finished", "nevras" and
 * "artifacts" from build-summary.json or images.json of its run; image
 * jobs also "config", "build" and per artifact its "url" and
 * "content_type") and "jobs_source". NULL with err when the store cannot be read. */
json_t *dashboard_pipeline_detail_json(const struct server_dashboard *d,
				       const struct server_store_pipeline *p,
				       struct sy_error *err);

/* The jobs of p as an array of {"name", "state", "reason", "seconds",
 * "file"}: from the store, else from build-summary.json of its run.
 * *source is "store", "build-summary" or NULL (no job). NULL with err when
 * the store cannot be read. */
json_t *dashboard_load_jobs(const struct server_dashboard *d, const struct server_store_pipeline *p,
			    const char **source, struct sy_error *err);

/* The log file of the job named name of p (job: its element of
 * dashboard_load_jobs, or NULL): the file it recorded, else
 * <run>/logs/<name>.log, resolved under the run directory of p; or, for a
 * job an older release recorded, its file resolved under
 * state_legacy_logs_dir. *root is set to the directory it was resolved
 * under (caller frees). NULL (and *root NULL) when none is there. */
char *dashboard_job_log_file(const struct server_dashboard *d,
			     const struct server_store_pipeline *p, const json_t *job,
			     const char *name, char **root);

/* "/pipelines/<id>/jobs/<name percent-encoded>/log". */
char *dashboard_job_log_url(long id, const char *name);

/* {"repositories": [channels], "sources": [configured repositories]}. */
json_t *dashboard_repositories_json(const struct server_dashboard *d);

/* {"images": [configs with their builds], "releases": [...]}. */
json_t *dashboard_images_json(const struct server_dashboard *d);

/* ---- dashboard_pages.c: the documents as HTML ---- */

/* The list of dashboard_pipelines_json with its filters (the repositories
 * of conf, may be NULL); reloads itself while a pipeline is queued or
 * running. */
void dashboard_page_pipelines(FILE *out, const json_t *doc, const struct server_conf *conf);

/* One pipeline of dashboard_pipeline_detail_json: its fields (commit,
 * published snapshot), jobs failed first with their artifacts, the forge
 * statuses, the build timeline and dependency graph (server/svg.h), and
 * the plan; reloads itself while it runs. */
void dashboard_page_pipeline(FILE *out, const json_t *p);

/* A page that follows the log at src (a URL; ?offset=N gives what follows
 * byte N) of pipeline p (dashboard_pipeline_json) live, line by line: each
 * line a div id="L<n>" with its number linking to #L<n>, the time it was
 * written since the job started (absolute on hover; from src?times=N, or
 * when it reached the page for a log without times), and class "err" when
 * it says "error:"; what names the
 * log in the title ("pipeline log", "job zlib"). */
void dashboard_page_follow(FILE *out, const json_t *p, const char *what, const char *src);

/* The channels and watched repositories of dashboard_repositories_json. */
void dashboard_page_repositories(FILE *out, const json_t *doc);

/* The image builds and releases of dashboard_images_json. */
void dashboard_page_images(FILE *out, const json_t *doc);

/* ---- dashboard_controls.c: buttons posting to server/api.c ---- */

/* The buttons of pipeline p (dashboard_pipeline_json): Cancel while it is
 * queued or running, Retry failed jobs once it ended in failure, error or
 * cancelled; each a form with an API token field. */
void dashboard_controls_pipeline(FILE *out, const json_t *p);

/* The form of a manual trigger (repository, branch or commit, token). */
void dashboard_controls_trigger(FILE *out);

#endif
