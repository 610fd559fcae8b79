#include "server/metrics.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strv.h"
#include "state/layout.h"

/* Upper bounds of the histogram buckets (seconds); +Inf follows. */
static const double webhook_bounds[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
					 0.05,   0.1,   0.25,   0.5,   1 };
static const double build_bounds[] = { 1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200 };
static const double pipeline_bounds[] = { 1,    10,   30,    60,    300,   600,
					  1800, 3600, 7200, 14400, 28800 };
#define MAX_BOUNDS 12
#define NBOUNDS(a) (sizeof(a) / sizeof(*(a)))

/* One label set of a family: a counter or a histogram. */
struct series {
	char *label[2];                       /* label values (second may be NULL) */
	double count;                         /* counter value, or observations */
	double sum;                           /* histogram: sum of observations */
	unsigned long buckets[MAX_BOUNDS + 1]; /* histogram: per bucket, not cumulative */
};

/* A metric family: its label sets in the order first seen. */
struct family {
	struct series *items;
	size_t n, alloc;
};

struct server_metrics {
	pthread_mutex_t lock;
	struct family webhook_seconds; /* forge */
	struct family webhooks;        /* forge, status */
	struct family build_seconds;   /* state */
	struct family pipeline_seconds; /* state */
	struct family statuses;        /* forge, outcome */
	long outbox_pending;           /* -1: not known yet */
	char *state_dir;               /* or NULL */
};

struct server_metrics *server_metrics_new(const char *state_dir)
{
	struct server_metrics *m = sy_xcalloc(1, sizeof(*m));

	pthread_mutex_init(&m->lock, NULL);
	m->outbox_pending = -1;
	m->state_dir = state_dir ? sy_xstrdup(state_dir) : NULL;
	return m;
}

static void family_release(struct family *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->items[i].label[0]);
		free(f->items[i].label[1]);
	}
	free(f->items);
}

void server_metrics_free(struct server_metrics *m)
{
	if (!m)
		return;
	family_release(&m->webhook_seconds);
	family_release(&m->webhooks);
	family_release(&m->build_seconds);
	family_release(&m->pipeline_seconds);
	family_release(&m->statuses);
	free(m->state_dir);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static int same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* The series of f labelled (a, b), added when new; past
 * SERVER_METRICS_MAX_SERIES, new label sets fold into one more series
 * labelled "other" (both labels when the family has two). */
static struct series *series_of(struct family *f, const char *a, const char *b)
{
	if (!a)
		a = "";
	for (size_t i = 0; i < f->n; i++)
		if (same(f->items[i].label[0], a) && same(f->items[i].label[1], b))
			return &f->items[i];
	if (f->n >= SERVER_METRICS_MAX_SERIES) {
		const char *other_b = b ? "other" : NULL;
		if (!same(a, "other") || !same(b, other_b))
			return series_of(f, "other", other_b); /* found, or added once */
	}
	if (f->n == f->alloc) {
		f->alloc = f->alloc ? 2 * f->alloc : 8;
		f->items = sy_xrealloc(f->items, f->alloc * sizeof(*f->items));
	}
	struct series *s = &f->items[f->n++];
	memset(s, 0, sizeof(*s));
	s->label[0] = sy_xstrdup(a);
	s->label[1] = b ? sy_xstrdup(b) : NULL;
	return s;
}

/* Adds one observation to the histogram series s with bounds[nbounds]. */
static void observe(struct series *s, const double *bounds, size_t nbounds, double v)
{
	size_t k = 0;

	while (k < nbounds && v > bounds[k])
		k++;
	s->buckets[k]++;
	s->count += 1;
	s->sum += v;
}

void server_metrics_webhook(struct server_metrics *m, const char *forge, int http_status,
			     double seconds)
{
	char status[16];

	snprintf(status, sizeof(status), "%d", http_status);
	pthread_mutex_lock(&m->lock);
	observe(series_of(&m->webhook_seconds, forge, NULL), webhook_bounds,
		NBOUNDS(webhook_bounds), seconds);
	series_of(&m->webhooks, forge, status)->count += 1;
	pthread_mutex_unlock(&m->lock);
}

void server_metrics_build(struct server_metrics *m, const char *state, double seconds)
{
	pthread_mutex_lock(&m->lock);
	observe(series_of(&m->build_seconds, state, NULL), build_bounds,
		NBOUNDS(build_bounds), seconds);
	pthread_mutex_unlock(&m->lock);
}

void server_metrics_pipeline(struct server_metrics *m, const char *state, double seconds)
{
	pthread_mutex_lock(&m->lock);
	observe(series_of(&m->pipeline_seconds, state, NULL), pipeline_bounds,
		NBOUNDS(pipeline_bounds), seconds);
	pthread_mutex_unlock(&m->lock);
}

void server_metrics_status_sent(struct server_metrics *m, const char *forge,
				 const char *outcome, int n)
{
	if (n <= 0)
		return;
	pthread_mutex_lock(&m->lock);
	series_of(&m->statuses, forge, outcome ? outcome : "")->count += n;
	pthread_mutex_unlock(&m->lock);
}

void server_metrics_outbox_pending(struct server_metrics *m, long n)
{
	pthread_mutex_lock(&m->lock);
	m->outbox_pending = n;
	pthread_mutex_unlock(&m->lock);
}

/* A label value escaped for the text format: backslash, quote, newline. */
static void put_label_value(FILE *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(out, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", out);
		else
			fputc(*v, out);
	}
}

/* {name="value",...} for the labels of s (names[i] for label[i]), plus an
 * optional le="..." last. Nothing when there are no labels at all. */
static void put_labels(FILE *out, const char *const names[2], const struct series *s,
		       const char *le)
{
	int first = 1;

	for (int i = 0; i < 2; i++) {
		if (!names[i] || !s || !s->label[i])
			continue;
		fprintf(out, "%s%s=\"", first ? "{" : ",", names[i]);
		put_label_value(out, s->label[i]);
		fputc('"', out);
		first = 0;
	}
	if (le) {
		fprintf(out, "%sle=\"%s\"", first ? "{" : ",", le);
		first = 0;
	}
	if (!first)
		fputc('}', out);
}

static void put_header(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void put_counters(FILE *out, const char *name, const char *help, const char *const names[2],
			 const struct family *f)
{
	put_header(out, name, "counter", help);
	for (size_t i = 0; i < f->n; i++) {
		fputs(name, out);
		put_labels(out, names, &f->items[i], NULL);
		fprintf(out, " %.17g\n", f->items[i].count);
	}
}

static void put_histograms(FILE *out, const char *name, const char *help, const char *label,
			   const struct family *f, const double *bounds, size_t nbounds)
{
	const char *const names[2] = { label, NULL };

	put_header(out, name, "histogram", help);
	for (size_t i = 0; i < f->n; i++) {
		const struct series *s = &f->items[i];
		unsigned long cumulative = 0;
		char le[32];
		for (size_t k = 0; k <= nbounds; k++) {
			cumulative += s->buckets[k];
			if (k < nbounds)
				snprintf(le, sizeof(le), "%g", bounds[k]);
			else
				snprintf(le, sizeof(le), "+Inf");
			fprintf(out, "%s_bucket", name);
			put_labels(out, names, s, le);
			fprintf(out, " %lu\n", cumulative);
		}
		fprintf(out, "%s_sum", name);
		put_labels(out, names, s, NULL);
		fprintf(out, " %.17g\n%s_count", s->sum, name);
		put_labels(out, names, s, NULL);
		fprintf(out, " %lu\n", cumulative);
	}
}

/* Pipelines by state, events stored, queue length. */
static int put_store(FILE *out, struct server_store *store, size_t queue_length,
		     struct sy_error *err)
{
	long counts[SERVER_PIPELINE_NSTATES], events;

	if (server_store_counts(store, counts, &events, err))
		return -1;
	put_header(out, "shipyard_pipelines", "gauge", "Pipelines in the state database by state.");
	for (int k = 0; k < SERVER_PIPELINE_NSTATES; k++)
		fprintf(out, "shipyard_pipelines{state=\"%s\"} %ld\n",
			server_pipeline_state_name((enum server_pipeline_state)k), counts[k]);
	put_header(out, "shipyard_events_total", "counter",
		   "Events (webhook deliveries, poll results, schedules) stored.");
	fprintf(out, "shipyard_events_total %ld\n", events);
	put_header(out, "shipyard_queue_length", "gauge",
		   "Pipelines queued, waiting for a free runner.");
	fprintf(out, "shipyard_queue_length %zu\n", queue_length);
	return 0;
}

/* Jobs by state: every state, 0 when none. */
static int put_jobs(FILE *out, struct server_store *store, struct sy_error *err)
{
	const char *const label_names[2] = { "state", NULL };
	long counts[BUILDER_JOB_NSTATES];

	if (server_store_job_counts(store, counts, err))
		return -1;
	put_header(out, "shipyard_jobs", "gauge", "Jobs of all stored pipelines by state.");
	for (int k = 0; k < BUILDER_JOB_NSTATES; k++) {
		struct series label = {
			.label = { (char *)builder_job_state_name((enum builder_job_state)k), NULL },
		};
		fputs("shipyard_jobs", out);
		put_labels(out, label_names, &label, NULL);
		fprintf(out, " %ld\n", counts[k]);
	}
	return 0;
}

/* Each channel's last successful publication: the channels are the
 * directories of <state>/repos (state/layout.h), in name order. */
static int put_published(FILE *out, const char *state_dir, struct sy_error *err)
{
	const char *const names[2] = { "channel", NULL };
	char *repos = state_repos_dir(state_dir);
	struct dirent **ents = NULL;
	int n = scandir(repos, &ents, NULL, alphasort), rc = 0;

	put_header(out, "shipyard_publish_last_success_timestamp_seconds", "gauge",
		   "Unix time a channel's repository was last published successfully.");
	for (int i = 0; i < n; i++) {
		double when;
		if (rc == 0 && ents[i]->d_name[0] != '.' &&
		    (rc = state_published_time(state_dir, ents[i]->d_name, &when, err)) == 1) {
			struct series label = { .label = { ents[i]->d_name, NULL } };
			fputs("shipyard_publish_last_success_timestamp_seconds", out);
			put_labels(out, names, &label, NULL);
			fprintf(out, " %.3f\n", when);
		}
		rc = rc < 0 ? rc : 0;
		free(ents[i]);
	}
	free(ents);
	free(repos);
	return rc;
}

int server_metrics_render(const struct server_metrics *m, struct server_store *store,
			   size_t queue_length, char **text, struct sy_error *err)
{
	static const char *const webhook_labels[2] = { "forge", "status" };
	static const char *const status_labels[2] = { "forge", "outcome" };
	struct server_metrics *mm = (struct server_metrics *)m; /* the mutex only */
	size_t len = 0;
	FILE *out = open_memstream(text, &len);
	int rc;

	if (!out)
		return sy_error_set(err, "metrics: cannot allocate the text");
	rc = put_store(out, store, queue_length, err);
	if (rc == 0)
		rc = put_jobs(out, store, err);
	if (rc == 0 && m->state_dir)
		rc = put_published(out, m->state_dir, err);
	pthread_mutex_lock(&mm->lock);
	put_histograms(out, "shipyard_webhook_duration_seconds",
		       "Seconds from a webhook request's arrival to its reply.", "forge",
		       &m->webhook_seconds, webhook_bounds,
		       NBOUNDS(webhook_bounds));
	put_counters(out, "shipyard_webhooks_total", "Webhook requests by forge and HTTP status.",
		     webhook_labels, &m->webhooks);
	put_histograms(out, "shipyard_build_duration_seconds",
		       "Seconds one spec's build ran, by the final state of its job.", "state",
		       &m->build_seconds, build_bounds, NBOUNDS(build_bounds));
	put_histograms(out, "shipyard_pipeline_duration_seconds",
		       "Seconds a pipeline ran, from its start to its end, by its final state.",
		       "state", &m->pipeline_seconds, pipeline_bounds, NBOUNDS(pipeline_bounds));
	put_counters(out, "shipyard_statuses_sent_total",
		     "Commit status send attempts by forge kind and outcome.", status_labels,
		     &m->statuses);
	if (m->outbox_pending >= 0) {
		put_header(out, "shipyard_outbox_pending_statuses", "gauge",
			   "Commit statuses queued in the outbox, not yet accepted or given up.");
		fprintf(out, "shipyard_outbox_pending_statuses %ld\n", m->outbox_pending);
	}
	pthread_mutex_unlock(&mm->lock);
	fclose(out);
	if (rc) {
		free(*text);
		*text = NULL;
	}
	return rc;
}
