/* The service's metrics in Prometheus text: families with HELP and TYPE,
 * cumulative histogram buckets ending in +Inf equal to _count, counters by
 * label set, the store's pipelines, events and jobs, escaped label values,
 * a bounded number of label sets, and recording from several threads. */
#include "testutil.h"

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "server/metrics.h"
#include "server/store.h"
#include "state/layout.h"

#define HEAD "0123456789abcdef0123456789abcdef01234567"

/* A state directory with a store holding one queued pipeline, one event and
 * two jobs. */
struct fixture {
	char *dir;
	struct server_store *store;
	struct server_metrics *m;
};

static int setup(void **state)
{
	struct fixture *f = sy_xcalloc(1, sizeof(*f));
	struct sy_error err = { { 0 } };
	struct server_store_event ev = { "d-1", "distro", "push", "main", HEAD };
	struct server_store_pipeline p = { .repo = "distro", .trigger = "push", .ref = "main",
					    .channel = "main", .head = HEAD };
	struct server_store_job built = { "zlib", BUILDER_JOB_BUILT, NULL, NULL, 3 };
	struct server_store_job failed = { "bash", BUILDER_JOB_FAILED, "exit 1", NULL, 2 };
	struct server_store_superseded *old = NULL;
	long event;
	size_t nold = 0;

	f->dir = test_tmpdir();
	char *db = sy_xasprintf("%s/state.db", f->dir);
	assert_ok(server_store_open(db, &f->store, &err), &err);
	free(db);
	assert_int_equal(server_store_queue(f->store, &ev, &p, &old, &nold, &event, &err), 1);
	free(old);
	assert_ok(server_store_set_job(f->store, p.id, &built, &err), &err);
	assert_ok(server_store_set_job(f->store, p.id, &failed, &err), &err);
	f->m = server_metrics_new(f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	server_metrics_free(f->m);
	server_store_close(f->store);
	sy_rm_rf(f->dir, NULL);
	free(f->dir);
	free(f);
	return 0;
}

static char *render(struct fixture *f, size_t queue)
{
	struct sy_error err = { { 0 } };
	char *text = NULL;

	assert_ok(server_metrics_render(f->m, f->store, queue, &text, &err), &err);
	assert_non_null(text);
	return text;
}

/* Asserts that text has line as one whole line. */
static void assert_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return;
	fail_msg("line '%s' not in:\n%s", line, text);
}

/* The value on the line starting with "<prefix> ". */
static double value_of(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *p = text; (p = strstr(p, prefix)); p++)
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	fail_msg("no '%s' in:\n%s", prefix, text);
	return -1;
}

/* Checks every _bucket line of name{label} is cumulative and that the
 * +Inf bucket equals _count; returns how many buckets there were. */
static int check_cumulative(const char *text, const char *name, const char *label)
{
	char *prefix = sy_xasprintf("%s_bucket{%s,le=\"", name, label);
	char *count = sy_xasprintf("%s_count{%s}", name, label);
	double last = 0, inf = -1;
	int n = 0;

	for (const char *p = text; (p = strstr(p, prefix)); p++) {
		const char *close = strstr(p, "} ");
		double v = strtod(close + 2, NULL);
		assert_true(v >= last);
		last = v;
		n++;
		if (!strncmp(p + strlen(prefix), "+Inf\"", 5))
			inf = v;
	}
	assert_true(n > 1);
	assert_true(inf == last);
	assert_true(inf == value_of(text, count));
	free(prefix);
	free(count);
	return n;
}

static void test_metrics_render_store_families(void **state)
{
	struct fixture *f = *state;
	char *text = render(f, 3);

	assert_line(text, "# HELP shipyard_pipelines Pipelines in the state database by state.");
	assert_line(text, "# TYPE shipyard_pipelines gauge");
	assert_line(text, "shipyard_pipelines{state=\"queued\"} 1");
	assert_line(text, "shipyard_pipelines{state=\"running\"} 0");
	assert_line(text, "shipyard_pipelines{state=\"superseded\"} 0");
	assert_line(text, "# TYPE shipyard_events_total counter");
	assert_line(text, "shipyard_events_total 1");
	assert_line(text, "# TYPE shipyard_queue_length gauge");
	assert_line(text, "shipyard_queue_length 3");
	assert_line(text, "# TYPE shipyard_jobs gauge");
	assert_line(text, "shipyard_jobs{state=\"built\"} 1");
	assert_line(text, "shipyard_jobs{state=\"failed\"} 1");
	assert_line(text, "shipyard_jobs{state=\"blocked\"} 0");
	assert_line(text, "# TYPE shipyard_webhook_duration_seconds histogram");
	assert_line(text, "# TYPE shipyard_build_duration_seconds histogram");
	/* Nothing recorded: no samples of the recorded families. */
	assert_null(strstr(text, "shipyard_webhook_duration_seconds_bucket"));
	free(text);
}

static void test_metrics_webhook_histogram_is_cumulative(void **state)
{
	struct fixture *f = *state;

	server_metrics_webhook(f->m, "github", 202, 0.0003);
	server_metrics_webhook(f->m, "github", 202, 0.003);
	server_metrics_webhook(f->m, "github", 401, 2.5);
	server_metrics_webhook(f->m, "gitlab", 202, 0.001);
	char *text = render(f, 0);

	assert_line(text, "shipyard_webhook_duration_seconds_bucket{forge=\"github\",le=\"0.0005\"} 1");
	assert_line(text, "shipyard_webhook_duration_seconds_bucket{forge=\"github\",le=\"0.001\"} 1");
	assert_line(text, "shipyard_webhook_duration_seconds_bucket{forge=\"github\",le=\"0.005\"} 2");
	assert_line(text, "shipyard_webhook_duration_seconds_bucket{forge=\"github\",le=\"1\"} 2");
	assert_line(text, "shipyard_webhook_duration_seconds_bucket{forge=\"github\",le=\"+Inf\"} 3");
	assert_line(text, "shipyard_webhook_duration_seconds_count{forge=\"github\"} 3");
	/* A value equal to a bound falls in that bucket (le: less or equal). */
	assert_line(text, "shipyard_webhook_duration_seconds_bucket{forge=\"gitlab\",le=\"0.001\"} 1");
	assert_line(text, "shipyard_webhook_duration_seconds_bucket{forge=\"gitlab\",le=\"0.0005\"} 0");
	double sum = value_of(text, "shipyard_webhook_duration_seconds_sum{forge=\"github\"}");
	assert_true(sum > 2.5032 && sum < 2.5034);
	assert_int_equal(check_cumulative(text, "shipyard_webhook_duration_seconds", "forge=\"github\""),
			 12);
	check_cumulative(text, "shipyard_webhook_duration_seconds", "forge=\"gitlab\"");
	assert_line(text, "# TYPE shipyard_webhooks_total counter");
	assert_line(text, "shipyard_webhooks_total{forge=\"github\",status=\"202\"} 2");
	assert_line(text, "shipyard_webhooks_total{forge=\"github\",status=\"401\"} 1");
	assert_line(text, "shipyard_webhooks_total{forge=\"gitlab\",status=\"202\"} 1");
	free(text);
}

static void test_metrics_build_durations_by_state(void **state)
{
	struct fixture *f = *state;

	server_metrics_build(f->m, "success", 45);
	server_metrics_build(f->m, "success", 4000);
	server_metrics_build(f->m, "failure", 0.5);
	server_metrics_status_sent(f->m, "github", "accepted", 2);
	server_metrics_status_sent(f->m, "gitea", "retried", 1);
	server_metrics_status_sent(f->m, "gitlab", "rejected", 0);
	char *text = render(f, 0);

	assert_line(text, "shipyard_build_duration_seconds_bucket{state=\"success\",le=\"30\"} 0");
	assert_line(text, "shipyard_build_duration_seconds_bucket{state=\"success\",le=\"60\"} 1");
	assert_line(text, "shipyard_build_duration_seconds_bucket{state=\"success\",le=\"3600\"} 1");
	assert_line(text, "shipyard_build_duration_seconds_bucket{state=\"success\",le=\"7200\"} 2");
	assert_line(text, "shipyard_build_duration_seconds_bucket{state=\"failure\",le=\"1\"} 1");
	assert_line(text, "shipyard_build_duration_seconds_sum{state=\"success\"} 4045");
	check_cumulative(text, "shipyard_build_duration_seconds", "state=\"success\"");
	check_cumulative(text, "shipyard_build_duration_seconds", "state=\"failure\"");
	assert_line(text, "# TYPE shipyard_statuses_sent_total counter");
	assert_line(text, "shipyard_statuses_sent_total{forge=\"github\",outcome=\"accepted\"} 2");
	assert_line(text, "shipyard_statuses_sent_total{forge=\"gitea\",outcome=\"retried\"} 1");
	assert_null(strstr(text, "gitlab")); /* nothing sent: no series */
	assert_line(text, "# HELP shipyard_build_duration_seconds Seconds one spec's build ran, by "
			  "the final state of its job.");
	free(text);
}

static void test_metrics_pipeline_durations_and_outbox_backlog(void **state)
{
	struct fixture *f = *state;
	char *text = render(f, 0);

	assert_null(strstr(text, "shipyard_outbox_pending_statuses")); /* not known yet */
	free(text);
	server_metrics_pipeline(f->m, "success", 90);
	server_metrics_pipeline(f->m, "failure", 20000);
	server_metrics_outbox_pending(f->m, 7);
	text = render(f, 0);
	assert_line(text, "# TYPE shipyard_pipeline_duration_seconds histogram");
	assert_line(text, "shipyard_pipeline_duration_seconds_bucket{state=\"success\",le=\"60\"} 0");
	assert_line(text, "shipyard_pipeline_duration_seconds_bucket{state=\"success\",le=\"300\"} 1");
	assert_line(text, "shipyard_pipeline_duration_seconds_bucket{state=\"failure\",le=\"14400\"} 0");
	assert_line(text, "shipyard_pipeline_duration_seconds_bucket{state=\"failure\",le=\"28800\"} 1");
	check_cumulative(text, "shipyard_pipeline_duration_seconds", "state=\"success\"");
	assert_line(text, "# TYPE shipyard_outbox_pending_statuses gauge");
	assert_line(text, "shipyard_outbox_pending_statuses 7");
	free(text);
}

/* published.json's time is the channel's last successful publication; a
 * channel directory without one was never published. */
static void test_metrics_last_publish_time_per_channel(void **state)
{
	struct fixture *f = *state;
	struct state_published rec = { .commit = HEAD };
	struct sy_error err = { { 0 } };
	char *path, *line;
	double when;

	assert_ok(state_published_write(f->dir, "main", &rec, &err), &err);
	assert_ok(state_published_write(f->dir, "pr-7", &rec, &err), &err);
	test_write_file(f->dir, "repos/never/.keep", "");
	path = sy_xasprintf("%s/repos/main/published.json", f->dir);
	struct timespec times[2] = { { 1700000000, 250000000 }, { 1700000000, 250000000 } };
	assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
	char *text = render(f, 0);
	assert_line(text, "# TYPE shipyard_publish_last_success_timestamp_seconds gauge");
	assert_line(text, "shipyard_publish_last_success_timestamp_seconds{channel=\"main\"} "
			  "1700000000.250");
	assert_int_equal(state_published_time(f->dir, "pr-7", &when, &err), 1);
	line = sy_xasprintf("shipyard_publish_last_success_timestamp_seconds{channel=\"pr-7\"} %.3f",
			    when);
	assert_line(text, line);
	assert_null(strstr(text, "never"));
	assert_int_equal(state_published_time(f->dir, "never", &when, &err), 0);
	free(line);
	free(path);
	free(text);
}

static void test_metrics_label_values_are_escaped(void **state)
{
	struct fixture *f = *state;

	server_metrics_webhook(f->m, "a\"b\\c\nd", 404, 0.001);
	char *text = render(f, 0);

	assert_line(text, "shipyard_webhooks_total{forge=\"a\\\"b\\\\c\\nd\",status=\"404\"} 1");
	free(text);
}

static void test_metrics_label_sets_are_bounded(void **state)
{
	struct fixture *f = *state;
	size_t lines = 0;

	for (int i = 0; i < 3 * SERVER_METRICS_MAX_SERIES; i++) {
		char forge[32];
		snprintf(forge, sizeof(forge), "forge%d", i);
		server_metrics_webhook(f->m, forge, 404, 0.001);
	}
	char *text = render(f, 0);
	for (const char *p = text; (p = strstr(p, "\nshipyard_webhooks_total{")); p++)
		lines++;
	assert_int_equal(lines, SERVER_METRICS_MAX_SERIES + 1);
	assert_line(text, "shipyard_webhooks_total{forge=\"other\",status=\"other\"} 128");
	assert_line(text, "shipyard_webhook_duration_seconds_count{forge=\"other\"} 128");
	free(text);
}

static void *record_many(void *arg)
{
	struct server_metrics *m = arg;

	for (int i = 0; i < 2000; i++) {
		server_metrics_webhook(m, i % 2 ? "github" : "gitea", 202, 0.002);
		server_metrics_build(m, "success", 10);
	}
	return NULL;
}

static void test_metrics_recording_from_threads_loses_nothing(void **state)
{
	struct fixture *f = *state;
	pthread_t t[4];

	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, record_many, f->m), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	char *text = render(f, 0);
	assert_line(text, "shipyard_webhooks_total{forge=\"github\",status=\"202\"} 4000");
	assert_line(text, "shipyard_webhooks_total{forge=\"gitea\",status=\"202\"} 4000");
	assert_line(text, "shipyard_build_duration_seconds_count{state=\"success\"} 8000");
	free(text);
}

static void test_metrics_every_job_state_is_rendered_and_unknown_names_left_out(void **state)
{
	struct fixture *f = *state;
	char *path = sy_xasprintf("%s/state.db", f->dir);
	sqlite3 *db;

	/* A name that is no job state can only come from outside shipyard. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO jobs (pipeline, name, state, seq)"
					  " VALUES (1, 'zsh', 'paused', 9)", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	char *text = render(f, 0);
	for (int k = 0; k < BUILDER_JOB_NSTATES; k++) {
		char *line = sy_xasprintf("shipyard_jobs{state=\"%s\"} %d",
					  builder_job_state_name((enum builder_job_state)k),
					  k == BUILDER_JOB_BUILT || k == BUILDER_JOB_FAILED);
		assert_line(text, line);
		free(line);
	}
	assert_null(strstr(text, "paused"));
	free(text);
	free(path);
}

static void test_metrics_render_fails_when_jobs_cannot_be_counted(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	char *text = NULL, *path = sy_xasprintf("%s/state.db", f->dir);
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE jobs", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(server_metrics_render(f->m, f->store, 0, &text, &err), -1);
	assert_null(text);
	assert_non_null(strstr(err.msg, "counting jobs"));
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_metrics_render_store_families, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_webhook_histogram_is_cumulative, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_metrics_build_durations_by_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_pipeline_durations_and_outbox_backlog,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_last_publish_time_per_channel, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_metrics_label_values_are_escaped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_label_sets_are_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_recording_from_threads_loses_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_every_job_state_is_rendered_and_unknown_names_left_out,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_render_fails_when_jobs_cannot_be_counted,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
