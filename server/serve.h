/* `shipyard serve`: the long-running service. Webhooks are verified,
 * stored and answered at once (202 with the pipeline id); pipelines run one
 * after another (or serve.pipelines at a time) as child `shipyard run`
 * processes on local mirrors; statuses go to the forge through the durable
 * outbox; repositories are polled and schedules fire releases; the
 * dashboard, the JSON API (and, with serve.apitokens, the approval of a
 * plan the cascade guard held), /metrics and the published repositories
 * are served. SIGTERM or SIGINT stops it gracefully: no new connections, the
 * running pipelines get serve.shutdowntimeout seconds (default 30) to end,
 * then they are stopped and queued again for the next start. */
#ifndef SERVER_SERVE_H
#define SERVER_SERVE_H

#include "common/error.h"

/* Runs the service with the configuration at conf_path until SIGTERM or
 * SIGINT. self is the shipyard binary the pipelines run as; worker_manifest
 * and worker_cache may be NULL (defaults of `shipyard run`). Returns 0 after
 * a graceful stop, or -1 with err when it cannot start (configuration,
 * state database, listening socket). */
int server_serve(const char *conf_path, const char *self, const char *worker_manifest,
		  const char *worker_cache, struct sy_error *err);

#endif
