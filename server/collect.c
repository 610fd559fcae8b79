/* The service's collection thread: every retention.interval seconds it
 * applies the [retention] limits to the state directory (pipeline/gc.h),
 * without waiting for a `shipyard gc` that runs or a channel being
 * published (those are left to the next round). */
#include "server/serve-private.h"

#include <stdlib.h>
#include <time.h>

#include "common/log.h"
#include "pipeline/gc.h"

/* One collection; what it did goes to the log. */
static void collect_once(struct serve *s)
{
	const char *const caches[] = { s->worker_cache, NULL };
	const struct pipeline_gc_request req = {
		.state = s->conf.state_dir, .limits = &s->conf.retention,
		.worker_caches = s->worker_cache ? caches : NULL, .wait = 0,
	};
	struct pipeline_gc_report rep = PIPELINE_GC_REPORT_INIT;
	struct sy_error err = { { 0 } };
	int rc = pipeline_gc_run(&req, &rep, &err);

	if (rc == -2) {
		sy_log_info("collection: another collection runs; next in %u s",
			    s->conf.gc_interval_s);
		return;
	}
	for (size_t i = 0; i < rep.removed.n; i++)
		sy_log_info("collection: removed %s", rep.removed.items[i]);
	for (size_t i = 0; i < rep.kept.n; i++)
		sy_log_debug("collection: kept %s", rep.kept.items[i]);
	for (size_t i = 0; i < rep.skipped.n; i++)
		sy_log_debug("collection: skipped %s", rep.skipped.items[i]);
	if (rc)
		sy_log_error("collection: %s", err.msg);
	pipeline_gc_report_release(&rep);
}

void *serve_collect_main(void *arg)
{
	struct serve *s = arg;
	struct timespec next;

	clock_gettime(CLOCK_REALTIME, &next);
	next.tv_sec += s->conf.gc_interval_s;
	for (;;) {
		struct timespec now;
		pthread_mutex_lock(&s->lock);
		/* s->wake is broadcast for other reasons too: wait out the time. */
		while (!s->stopping) {
			clock_gettime(CLOCK_REALTIME, &now);
			if (now.tv_sec >= next.tv_sec)
				break;
			pthread_cond_timedwait(&s->wake, &s->lock, &next);
		}
		int stopping = s->stopping;
		pthread_mutex_unlock(&s->lock);
		if (stopping)
			break;
		collect_once(s);
		clock_gettime(CLOCK_REALTIME, &next);
		next.tv_sec += s->conf.gc_interval_s;
	}
	return NULL;
}
