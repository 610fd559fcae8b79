/* The service's in-process metrics, rendered in the Prometheus text
 * exposition format (version 0.0.4, https://prometheus.io/docs/instrumenting/
 * exposition_formats/) for GET /metrics, named as Prometheus' naming
 * practices ask (https://prometheus.io/docs/practices/naming/: base units in
 * the name, _seconds, _total for counters, _timestamp_seconds): webhook-to-
 * reply latency and webhook counts by forge and HTTP status, spec build and
 * pipeline durations by final state, statuses sent by forge kind and
 * outcome, the status outbox's backlog, and, read at render time,
 * pipelines and jobs by state, events stored, the queue length and each
 * channel's last successful publication. Every function is safe to call
 * from any thread (one mutex per struct server_metrics). */
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

/* Makes an empty set of metrics; state_dir (copied; may be NULL) is the
 * service's state directory, whose channels' published.json times
 * server_metrics_render reports. Free with server_metrics_free. */
struct server_metrics *server_metrics_new(const char *state_dir);

/* Frees m (NULL allowed). */
void server_metrics_free(struct server_metrics *m);

/* Records one webhook delivery: forge ("github", "gitea", "gitlab", or what
 * the request path named), the HTTP status answered and the seconds from
 * the request's arrival to the reply. Feeds the histogram
 * shipyard_webhook_duration_seconds{forge} (buckets 0.0005 s .. 1 s) and the
 * counter shipyard_webhooks_total{forge,status}. */
void server_metrics_webhook(struct server_metrics *m, const char *forge, int http_status,
			     double seconds);

/* Records one spec's finished build: its job's final state ("built",
 * "failed"; builder_job_state_name) and the seconds it ran. Feeds the
 * histogram shipyard_build_duration_seconds{state} (buckets 1 s .. 2 h). */
void server_metrics_build(struct server_metrics *m, const char *state, double seconds);

/* Records a finished pipeline: its final state ("success", "failure",
 * "error", "superseded"; server_pipeline_state_name) and the seconds from
 * its start to its end. Feeds the histogram
 * shipyard_pipeline_duration_seconds{state} (buckets 1 s .. 8 h). */
void server_metrics_pipeline(struct server_metrics *m, const char *state, double seconds);

/* Records n attempts to send a commit status: the kind of forge they went
 * to ("github", "gitea", "gitlab"; forge_kind_name, or "none" for a
 * repository without a forge) and their outcome ("accepted", "retried",
 * "rejected"). Feeds the counter shipyard_statuses_sent_total{forge,outcome}. */
void server_metrics_status_sent(struct server_metrics *m, const char *forge,
				 const char *outcome, int n);

/* Sets the number of statuses waiting in the outbox (forge/outbox.h,
 * forge_outbox_pending_count): the gauge shipyard_outbox_pending_statuses. */
void server_metrics_outbox_pending(struct server_metrics *m, long n);

/* Renders every metric as Prometheus text into *text (malloc'ed, caller
 * frees): the recorded families above, plus shipyard_pipelines{state} and
 * shipyard_events_total from server_store_counts(store), shipyard_jobs{state}
 * from server_store_job_counts(store), shipyard_queue_length =
 * queue_length, and shipyard_publish_last_success_timestamp_seconds{channel}:
 * when each channel of the state directory was last published
 * (state_published_time). Label values are escaped as the format requires (\\, \",
 * \n). Returns 0, or -1 with err when the store cannot be read (*text is
 * then NULL). */
int server_metrics_render(const struct server_metrics *m, struct server_store *store,
			   size_t queue_length, char **text, struct sy_error *err);

#endif
