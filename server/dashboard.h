/* The dashboard and JSON API of `shipyard serve`: HTML pages (one shared
 * inline stylesheet, no external assets, every text from the store or from
 * files escaped) and the same data as JSON (jansson), /metrics and /healthz.
 * Read-only (the API's write endpoints are the service's, server/api.c,
 * routed before these): it reads the store, the run directory of each
 * pipeline (<state>/pipelines/<id>/: pipeline.log, plan.json, build-summary.json,
 * job logs; state/layout.h), the channels (repo-publish/publish.h) and the
 * image builds (imager/images.h), each through the module that writes it.
 *
 * Routes (GET or HEAD; other methods get 405):
 *   /                                   pipelines, newest first
 *   /pipelines/<id>                     one pipeline: fields, plan, jobs
 *   /pipelines/<id>/log                 pipeline log, text/plain;
 *                                       ?offset=N: the bytes from offset N
 *   /pipelines/<id>/log.html            the pipeline log, followed live
 *   /pipelines/<id>/jobs/<name>/log     a job log (?offset=N as above)
 *   /pipelines/<id>/jobs/<name>/log.html  a job log, followed live
 *   /repositories                       channels, snapshots, dnf .repo snippets
 *   /images                             image builds and releases (made or
 *                                       skipped, with the reason)
 *   /images/<config>/<id>/<file>        an image artifact
 *   /api/pipelines, /api/pipelines/<id>, /api/repositories, /api/images
 *                                       the same as JSON; /api/pipelines
 *                                       takes ?limit=&cursor=&state=&branch=
 *                                       &repo= (as / does), refusing unknown
 *                                       parameters and values with 400
 *   /api/openapi.json                   the OpenAPI 3.1 description of the
 *                                       API (server/openapi.json)
 *   /metrics                            Prometheus text (server/metrics.h)
 * (/releases/ and /api/releases are server/releases.h's, routed before.)
 *   /healthz                            200 "ok"
 * Files are served only from under a pipeline's run directory (and, for a
 * job log an older release recorded, the old logs directory) and
 * <state>/images, after resolving symbolic links (a link pointing out of
 * them is refused with 404). */
#ifndef SERVER_DASHBOARD_H
#define SERVER_DASHBOARD_H

#include <stddef.h>
#include <stdio.h>

#include "server/html.h" /* the HTML of the pages, server_html_escape */
#include "server/http.h"
#include "server/metrics.h"
#include "server/serveconf.h"
#include "server/store.h"

/* What the dashboard reads. Nothing is owned: the caller keeps every member
 * alive while requests may arrive. */
struct server_dashboard {
	struct server_store *store;       /* pipelines and jobs */
	const struct server_conf *conf;   /* conf->url is the base of the dnf
					    * baseurl; NULL: links relative to "" */
	const char *state_dir;             /* the service's state directory */
	struct server_metrics *metrics;   /* rendered at /metrics; NULL: 404 */
	size_t (*queue_length)(void *arg); /* pipelines waiting to run; NULL: 0 */
	void *queue_arg;                   /* passed to queue_length */
};

/* Maximum bytes answered to one ?offset=N log request (the page asks again
 * for the rest). */
#define SERVER_DASHBOARD_LOG_CHUNK (1024 * 1024)

/* Most line times answered to one ?times=N log request (the page asks
 * again from the byte after the last). */
#define SERVER_DASHBOARD_LOG_TIMES 20000

/* Answers method on path (decoded, without the query string) with query the
 * decoded query "k=v&k2=v2" or ""/NULL. Returns 1 when path is the
 * dashboard's (resp filled: a body, or file_path for a log or artifact the
 * server streams), 0 when it is not (resp untouched: /hooks/, /repos/ and
 * unknown top-level paths are the server's). Unknown pipeline ids, jobs
 * and files give 404, a job name with "..", a leading '/' or control
 * characters 400, a state database error 500 with its message. Safe to
 * call from several threads at once. */
int server_dashboard_route(const struct server_dashboard *d, const char *method, const char *path,
			    const char *query, struct server_http_response *resp);

#endif
