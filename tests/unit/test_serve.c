/* The service's own pieces: cron expressions, the serve configuration, and
 * the SQLite store (dedupe, supersede, claim, recovery after a crash). */
#include "testutil.h"

#include <time.h>

#include "server/cron.h"
#include "server/serveconf.h"
#include "server/store.h"

static time_t utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
			 .tm_min = mi };

	return timegm(&tm);
}

static void test_cron_nightly_fires_next_day_at_three(void **state)
{
	struct server_cron c;
	struct sy_error err = { { 0 } };

	(void)state;
	assert_ok(server_cron_parse("0 3 * * *", &c, &err), &err);
	assert_true(server_cron_next(&c, utc(2026, 11, 22, 3, 0)) == utc(2026, 11, 23, 3, 0));
	assert_true(server_cron_next(&c, utc(2026, 11, 22, 2, 59)) == utc(2026, 11, 22, 3, 0));
}

static void test_cron_steps_lists_ranges_and_weekdays(void **state)
{
	struct server_cron c;
	struct sy_error err = { { 0 } };

	(void)state;
	assert_ok(server_cron_parse("*/15 8-9 * * 1-5", &c, &err), &err);
	/* 2026-11-21 is a Saturday: next is Monday 08:00. */
	assert_true(server_cron_next(&c, utc(2026, 11, 21, 10, 0)) == utc(2026, 11, 23, 8, 0));
	assert_true(server_cron_next(&c, utc(2026, 11, 23, 8, 0)) == utc(2026, 11, 23, 8, 15));
	assert_ok(server_cron_parse("30 1 1,15 * 7", &c, &err), &err);
	/* Day of month 1/15 OR Sunday (cron's rule when both are set). */
	assert_true(server_cron_next(&c, utc(2026, 11, 16, 0, 0)) == utc(2026, 11, 22, 1, 30));
	assert_ok(server_cron_parse("@daily", &c, &err), &err);
	assert_true(server_cron_next(&c, utc(2026, 11, 22, 0, 0)) == utc(2026, 11, 23, 0, 0));
}

static void test_cron_refuses_out_of_range_and_short_expressions(void **state)
{
	struct server_cron c;
	struct sy_error err = { { 0 } };

	(void)state;
	assert_int_equal(server_cron_parse("0 25 * * *", &c, &err), -1);
	assert_non_null(strstr(err.msg, "hour"));
	assert_int_equal(server_cron_parse("0 3 * *", &c, &err), -1);
	assert_non_null(strstr(err.msg, "five fields"));
	assert_int_equal(server_cron_parse("x 3 * * *", &c, &err), -1);
}

/* Found by tests/fuzz/fuzz_cron: a field of commas only was accepted and
 * never matched; a step near LONG_MAX overflowed the loop over the range. */
static void test_cron_refuses_empty_lists_and_steps_beyond_the_field(void **state)
{
	struct server_cron c;
	struct sy_error err = { { 0 } };

	(void)state;
	assert_int_equal(server_cron_parse("15 , 5,11 * 5", &c, &err), -1);
	assert_non_null(strstr(err.msg, "bad hour field ','"));
	assert_int_equal(server_cron_parse("1-5/9223372036854775807 * * * *", &c, &err), -1);
	assert_non_null(strstr(err.msg, "bad minute field"));
	assert_int_equal(server_cron_parse("* * */32 * *", &c, &err), -1);
	assert_ok(server_cron_parse("*/59 */23 */31 */12 */7", &c, &err), &err);
	assert_true(c.minutes == (1ULL | 1ULL << 59));
}

static void test_serveconf_reads_repos_and_resolves_relative_paths(void **state)
{
	char *dir = test_tmpdir(), *path = sy_xasprintf("%s/serve.conf", dir);
	struct server_conf conf;
	struct sy_error err = { { 0 } };

	(void)state;
	test_write_file(dir, "serve.conf",
			"[serve]\n\tlisten = 127.0.0.1:9999\n\tstate = st\n"
			"[repo \"mini\"]\n\tremote = file:///srv/mini.git\n\tbranch = main\n"
			"\tbranch = next\n\tforge = github\n\tapi = http://127.0.0.1:1\n"
			"\tproject = o/mini\n\ttokenfile = token\n\tsecretfile = /etc/secret\n"
			"\tschedule = 0 3 * * *\n\tpoll = 60\n");
	assert_ok(server_conf_read(path, &conf, &err), &err);
	assert_int_equal(conf.listen_port, 9999);
	assert_int_equal(conf.nrepos, 1);
	assert_string_equal(conf.repos[0].remote, "file:///srv/mini.git");
	assert_int_equal(conf.repos[0].branches.n, 2);
	assert_true(strstr(conf.state_dir, "/st") != NULL && conf.state_dir[0] == '/');
	assert_true(strstr(conf.repos[0].token_file, "/token") != NULL);
	assert_string_equal(conf.repos[0].secret_file, "/etc/secret");
	assert_int_equal(conf.repos[0].poll_s, 60);
	assert_string_equal(conf.url, "http://127.0.0.1:9999");
	server_conf_release(&conf);
	sy_rm_rf(dir, NULL);
	free(path);
	free(dir);
}

static void test_serveconf_names_missing_remote_and_bad_forge(void **state)
{
	char *dir = test_tmpdir(), *path = sy_xasprintf("%s/serve.conf", dir);
	struct server_conf conf;
	struct sy_error err = { { 0 } };

	(void)state;
	test_write_file(dir, "serve.conf", "[repo \"a\"]\n\tremote = x\n\tforge = svn\n");
	assert_int_equal(server_conf_read(path, &conf, &err), -1);
	assert_non_null(strstr(err.msg, "repo.a.forge 'svn'"));
	assert_non_null(strstr(err.msg, "serve.conf"));
	sy_rm_rf(dir, NULL);
	free(path);
	free(dir);
}

/* Found by tests/fuzz/fuzz_serveconf: "branch" with no "= value" (a NULL
 * value in libgit2) crashed the reader in strdup. */
static void test_serveconf_refuses_a_list_item_without_value(void **state)
{
	static const char *const items[] = { "branch", "schedule", "spectree" };
	char *dir = test_tmpdir(), *path = sy_xasprintf("%s/serve.conf", dir);
	struct server_conf conf;
	struct sy_error err = { { 0 } };

	(void)state;
	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
		char *text = sy_xasprintf("[repo \"a\"]\n\tremote = x\n\t%s\n", items[i]);
		char *want = sy_xasprintf("repo.a.%s: no value", items[i]);

		test_write_file(dir, "serve.conf", text);
		assert_int_equal(server_conf_read(path, &conf, &err), -1);
		assert_non_null(strstr(err.msg, want));
		free(want);
		free(text);
	}
	sy_rm_rf(dir, NULL);
	free(path);
	free(dir);
}

static struct server_store *open_store(const char *dir)
{
	char *path = sy_xasprintf("%s/state.db", dir);
	struct server_store *st = NULL;
	struct sy_error err = { { 0 } };

	assert_ok(server_store_open(path, &st, &err), &err);
	free(path);
	return st;
}

static long queue(struct server_store *st, const char *ref, const char *head, long **running,
		  size_t *n)
{
	struct server_store_pipeline p = { .repo = "mini", .trigger = "push", .ref = (char *)ref,
					    .channel = (char *)ref, .head = (char *)head };
	struct sy_error err = { { 0 } };

	assert_ok(server_store_queue(st, &p, 0, running, n, &err), &err);
	return p.id;
}

static void test_store_deduplicates_redelivered_events(void **state)
{
	char *dir = test_tmpdir();
	struct server_store *st = open_store(dir);
	struct server_store_event ev = { "delivery-1", "mini", "push", "main", "abc" };
	struct sy_error err = { { 0 } };
	long id = 0, counts[7], events;

	(void)state;
	assert_int_equal(server_store_add_event(st, &ev, &id, &err), 1);
	assert_true(id > 0);
	assert_int_equal(server_store_add_event(st, &ev, &id, &err), 0);
	assert_ok(server_store_counts(st, counts, &events, &err), &err);
	assert_int_equal(events, 1);
	server_store_close(st);
	sy_rm_rf(dir, NULL);
	free(dir);
}

static void test_store_new_push_supersedes_queued_and_running_pipeline(void **state)
{
	char *dir = test_tmpdir();
	struct server_store *st = open_store(dir);
	struct server_store_pipeline got;
	struct sy_error err = { { 0 } };
	long *running;
	size_t n;

	(void)state;
	long a = queue(st, "main", "aaa", &running, &n);
	free(running);
	assert_int_equal(server_store_claim(st, &got, &err), 1);
	assert_int_equal(got.id, a);
	server_store_pipeline_release(&got);
	long other = queue(st, "next", "ccc", &running, &n);
	free(running);
	long b = queue(st, "main", "bbb", &running, &n);
	/* a was running: its id comes back to be stopped. */
	assert_int_equal(n, 1);
	assert_int_equal(running[0], a);
	free(running);
	assert_int_equal(server_store_get(st, a, &got, &err), 1);
	assert_int_equal(got.state, SERVER_PIPELINE_SUPERSEDED);
	server_store_pipeline_release(&got);
	/* Finishing a superseded pipeline keeps it superseded. */
	assert_ok(server_store_finish(st, a, SERVER_PIPELINE_SUCCESS, NULL, &err), &err);
	assert_int_equal(server_store_get(st, a, &got, &err), 1);
	assert_int_equal(got.state, SERVER_PIPELINE_SUPERSEDED);
	server_store_pipeline_release(&got);
	/* Other refs are not touched; claims go oldest first. */
	assert_int_equal(server_store_claim(st, &got, &err), 1);
	assert_int_equal(got.id, other);
	server_store_pipeline_release(&got);
	assert_int_equal(server_store_claim(st, &got, &err), 1);
	assert_int_equal(got.id, b);
	server_store_pipeline_release(&got);
	assert_int_equal(server_store_claim(st, &got, &err), 0);
	server_store_close(st);
	sy_rm_rf(dir, NULL);
	free(dir);
}

static void test_store_recovery_queues_running_pipelines_again(void **state)
{
	char *dir = test_tmpdir();
	struct server_store *st = open_store(dir);
	struct server_store_pipeline got;
	struct server_store_job job = { "hello", BUILDER_JOB_BUILT, NULL, "/x.log", 1.5 };
	struct sy_error err = { { 0 } };
	long *running;
	size_t n;

	(void)state;
	long a = queue(st, "main", "aaa", &running, &n);
	free(running);
	assert_int_equal(server_store_claim(st, &got, &err), 1);
	server_store_pipeline_release(&got);
	assert_ok(server_store_set_job(st, a, &job, &err), &err);
	/* The process dies here; a new one opens the same database. */
	server_store_close(st);
	st = open_store(dir);
	assert_int_equal(server_store_recover(st, &err), 1);
	assert_int_equal(server_store_claim(st, &got, &err), 1);
	assert_int_equal(got.id, a);
	assert_int_equal(got.attempts, 2);
	server_store_pipeline_release(&got);
	struct server_store_job *jobs;
	assert_ok(server_store_jobs(st, a, &jobs, &n, &err), &err);
	assert_int_equal(n, 1);
	assert_int_equal(jobs[0].state, BUILDER_JOB_BUILT);
	server_store_job_release(&jobs[0]);
	free(jobs);
	server_store_close(st);
	sy_rm_rf(dir, NULL);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cron_nightly_fires_next_day_at_three),
		cmocka_unit_test(test_cron_steps_lists_ranges_and_weekdays),
		cmocka_unit_test(test_cron_refuses_out_of_range_and_short_expressions),
		cmocka_unit_test(test_cron_refuses_empty_lists_and_steps_beyond_the_field),
		cmocka_unit_test(test_serveconf_reads_repos_and_resolves_relative_paths),
		cmocka_unit_test(test_serveconf_names_missing_remote_and_bad_forge),
		cmocka_unit_test(test_serveconf_refuses_a_list_item_without_value),
		cmocka_unit_test(test_store_deduplicates_redelivered_events),
		cmocka_unit_test(test_store_new_push_supersedes_queued_and_running_pipeline),
		cmocka_unit_test(test_store_recovery_queues_running_pipelines_again),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
