/* The service's in-process metrics, rendered in the Prometheus text
 * exposition format (version 0.0.4, https://prometheus.io/docs/instrumenting/
 * exposition_formats/) for GET /metrics: webhook-to-reply latency and
 * webhook counts by forge and HTTP status, build durations by final state,
 * statuses sent by forge and outcome, and, read at render time, pipelines
 * and jobs by state, events stored and the queue length. Every function is
 * safe to call from any thread (one mutex per struct server_metrics). */
#ifndef SERVER_METRICS_H
#define SERVER_METRICS_H

#include <stddef.h>

#include "common/error.h"
#include "server/store.h"

struct server_metrics;

/* At most this many label sets per metric family; further ones are counted
 * under the label value "other" (a forge name comes from the request path,
 * so it must not grow the set without bound). */
#define SERVER_METRICS_MAX_SERIES 64

/* Makes an empty set of metrics. Free with server_metrics_free. */
struct server_metrics *server_metrics_new(void);

/* Frees m (NULL allowed). */
void server_metrics_free(struct server_metrics *m);

/* Records one webhook delivery: forge ("github", "gitea", "gitlab", or what
 * the request path named), the HTTP status answered and the seconds from
 * the request's arrival to the reply. Feeds the histogram
 * shipyard_webhook_duration_seconds{forge} (buckets 0.0005 s .. 1 s) and the
 * counter shipyard_webhooks_total{forge,status}. */
void server_metrics_webhook(struct server_metrics *m, const char *forge, int http_status,
			     double seconds);

/* Records a finished pipeline: its final state ("success", "failure", ...)
 * and its duration in seconds (started to finished). Feeds the histogram
 * shipyard_build_duration_seconds{state} (buckets 1 s .. 2 h). */
void server_metrics_build(struct server_metrics *m, const char *state, double seconds);

/* Records one attempt to send a commit status: forge and outcome
 * ("accepted", "retry", "rejected", ...). Feeds the counter
 * shipyard_statuses_sent_total{forge,outcome}. */
void server_metrics_status_sent(struct server_metrics *m, const char *forge,
				 const char *outcome);

/* Renders every metric as Prometheus text into *text (malloc'ed, caller
 * frees): the recorded families above, plus shipyard_pipelines{state} and
 * shipyard_events_total from server_store_counts(store), shipyard_jobs{state}
 * from server_store_job_counts(store) and shipyard_queue_length =
 * queue_length. Label values are escaped as the format requires (\\, \",
 * \n). Returns 0, or -1 with err when the store cannot be read (*text is
 * then NULL). */
int server_metrics_render(const struct server_metrics *m, struct server_store *store,
			   size_t queue_length, char **text, struct sy_error *err);

#endif
