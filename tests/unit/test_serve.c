/* The service's own pieces: cron expressions, the serve configuration, and
 * the SQLite store (dedupe, supersede, claim, recovery after a crash,
 * approving a plan the cascade guard held). */
#include "testutil.h"

#include <sys/stat.h>

#include <time.h>

#include "common/util.h"
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

static void test_cron_reads_month_and_day_names_in_any_case(void **state)
{
	struct server_cron c, n;
	struct sy_error err = { { 0 } };

	(void)state;
	assert_ok(server_cron_parse("0 3 * jan,Jul mon-FRI", &c, &err), &err);
	assert_ok(server_cron_parse("0 3 * 1,7 1-5", &n, &err), &err);
	assert_true(c.months == n.months && c.weekdays == n.weekdays);
	/* SUN ends a range as 7: MON-SUN is every day. */
	assert_ok(server_cron_parse("0 0 * * MON-SUN", &c, &err), &err);
	assert_int_equal(c.weekdays & 0x7f, 0x7f);
	assert_ok(server_cron_parse("0 0 * * SUN", &c, &err), &err);
	assert_int_equal(c.weekdays & 0x7f, 1);
	/* 2026-11-21 is a Saturday: the next Monday 00:00 is the 23rd. */
	assert_ok(server_cron_parse("0 0 * * Mon", &c, &err), &err);
	assert_true(server_cron_next(&c, utc(2026, 11, 21, 10, 0)) == utc(2026, 11, 23, 0, 0));
}

static void test_cron_names_the_field_of_a_bad_name(void **state)
{
	struct server_cron c;
	struct sy_error err = { { 0 } };

	(void)state;
	assert_int_equal(server_cron_parse("0 0 * * FOO", &c, &err), -1);
	assert_non_null(strstr(err.msg, "bad day of week field 'FOO'"));
	assert_int_equal(server_cron_parse("0 0 * JANUARY *", &c, &err), -1);
	assert_non_null(strstr(err.msg, "bad month field"));
	/* Names belong to the month and day of week fields only. */
	assert_int_equal(server_cron_parse("0 MON * * *", &c, &err), -1);
	assert_non_null(strstr(err.msg, "bad hour field"));
	assert_int_equal(server_cron_parse("0 0 * * FRI-MON", &c, &err), -1);
	assert_non_null(strstr(err.msg, "day of week"));
}

static void test_cron_reads_every_nickname_cron_knows_but_reboot(void **state)
{
	static const struct { const char *nick, *expr; } same[] = {
		{ "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" },
		{ "@monthly", "0 0 1 * *" }, { "@weekly", "0 0 * * 0" },
		{ "@daily", "0 0 * * *" }, { "@midnight", "0 0 * * *" },
		{ "@HOURLY", "0 * * * *" },
	};
	struct server_cron a, b;
	struct sy_error err = { { 0 } };

	(void)state;
	for (size_t i = 0; i < LEN(same); i++) {
		assert_ok(server_cron_parse(same[i].nick, &a, &err), &err);
		assert_ok(server_cron_parse(same[i].expr, &b, &err), &err);
		assert_memory_equal(&a, &b, sizeof(a));
	}
	assert_ok(server_cron_parse("@yearly", &a, &err), &err);
	assert_true(server_cron_next(&a, utc(2026, 11, 21, 10, 0)) == utc(2027, 1, 1, 0, 0));
	assert_int_equal(server_cron_parse("@reboot", &a, &err), -1);
	assert_non_null(strstr(err.msg, "not supported"));
}

static void chmod_in(const char *dir, const char *name, mode_t mode)
{
	char *path = sy_xasprintf("%s/%s", dir, name);

	assert_int_equal(chmod(path, mode), 0);
	free(path);
}

static void test_serveconf_reads_repos_and_resolves_relative_paths(void **state)
{
	char *dir = test_tmpdir(), *path = sy_xasprintf("%s/serve.conf", dir);
	char *text = sy_xasprintf(
		"[serve]\n\tlisten = 127.0.0.1:9999\n\tstate = st\n"
		"[repo \"mini\"]\n\tremote = file:///srv/mini.git\n\tbranch = main\n"
		"\tbranch = next\n\tforge = github\n\tapi = http://127.0.0.1:1\n"
		"\tproject = o/mini\n\ttokenfile = token\n\tsecretfile = %s/secret\n"
		"\tschedule = 0 3 * * *\n\tpoll = 60\n", dir);
	char *secret = sy_xasprintf("%s/secret", dir);
	struct server_conf conf;
	struct sy_error err = { { 0 } };

	(void)state;
	test_write_file(dir, "serve.conf", text);
	test_write_file(dir, "token", "t\n");
	test_write_file(dir, "secret", "s\n");
	chmod_in(dir, "token", 0600);
	chmod_in(dir, "secret", 0400);
	assert_ok(server_conf_read(path, &conf, &err), &err);
	assert_int_equal(conf.listen_port, 9999);
	assert_int_equal(conf.nrepos, 1);
	assert_string_equal(conf.repos[0].remote, "file:///srv/mini.git");
	assert_int_equal(conf.repos[0].branches.n, 2);
	assert_true(strstr(conf.state_dir, "/st") != NULL && conf.state_dir[0] == '/');
	assert_true(strstr(conf.repos[0].token_file, "/token") != NULL);
	assert_string_equal(conf.repos[0].secret_file, secret);
	assert_int_equal(conf.repos[0].poll_s, 60);
	assert_string_equal(conf.url, "http://127.0.0.1:9999");
	server_conf_release(&conf);
	sy_rm_rf(dir, NULL);
	free(secret);
	free(text);
	free(path);
	free(dir);
}

/* Reads serve.conf holding text in dir; returns server_conf_read's result,
 * the message in err. */
static int read_conf(const char *dir, const char *text, struct sy_error *err)
{
	char *path = sy_xasprintf("%s/serve.conf", dir);
	struct server_conf conf;
	int rc;

	test_write_file(dir, "serve.conf", text);
	rc = server_conf_read(path, &conf, err);
	if (rc == 0)
		server_conf_release(&conf);
	free(path);
	return rc;
}

static void test_serveconf_names_missing_remote_and_bad_forge(void **state)
{
	char *dir = test_tmpdir();
	struct sy_error err = { { 0 } };

	(void)state;
	assert_int_equal(read_conf(dir, "[repo \"a\"]\n\tremote = x\n\tforge = svn\n", &err), -1);
	assert_non_null(strstr(err.msg, "repo.a.forge 'svn'"));
	assert_non_null(strstr(err.msg, "serve.conf"));
	sy_rm_rf(dir, NULL);
	free(dir);
}

/* Settings that would make the service useless or leak its secrets are
 * refused when it starts, not discovered later. */
static void test_serveconf_refuses_zero_limits_and_open_secret_files(void **state)
{
	char *dir = test_tmpdir();
	struct sy_error err = { { 0 } };

	(void)state;
	assert_int_equal(read_conf(dir, "[serve]\n\tpipelines = 0\n", &err), -1);
	assert_non_null(strstr(err.msg, "serve.pipelines: 0: not between 1 and 16"));
	assert_int_equal(read_conf(dir, "[serve]\n\tpipelines = 17\n", &err), -1);
	assert_int_equal(read_conf(dir, "[serve]\n\tmaxbody = 0\n", &err), -1);
	assert_non_null(strstr(err.msg, "serve.maxbody"));

	static const char repo[] = "[repo \"a\"]\n\tremote = x\n\tsecretfile = secret\n";
	assert_int_equal(read_conf(dir, repo, &err), -1);
	assert_non_null(strstr(err.msg, "repo.a.secretfile"));
	assert_non_null(strstr(err.msg, "No such file"));
	test_write_file(dir, "secret", "s\n");
	chmod_in(dir, "secret", 0644);
	assert_int_equal(read_conf(dir, repo, &err), -1);
	assert_non_null(strstr(err.msg, "group or others may access it (mode 0644)"));
	chmod_in(dir, "secret", 0620);
	assert_int_equal(read_conf(dir, repo, &err), -1);
	chmod_in(dir, "secret", 0600);
	assert_ok(read_conf(dir, repo, &err), &err);
	assert_int_equal(read_conf(dir,
				   "[repo \"a\"]\n\tremote = x\n\tforge = github\n\tapi = y\n"
				   "\tproject = o/a\n\ttokenfile = .\n", &err),
			 -1);
	assert_non_null(strstr(err.msg, "repo.a.tokenfile"));
	assert_non_null(strstr(err.msg, "not a regular file"));
	assert_int_equal(read_conf(dir, "[repo \"../x\"]\n\tremote = x\n", &err), -1);
	assert_non_null(strstr(err.msg, "a name is 1 to 100"));
	sy_rm_rf(dir, NULL);
	free(dir);
}

/* repo.<name>.sourceurl: an operator's source servers, in order, checked
 * as the repository's sources.url is, naming the item and the value. */
static void test_serveconf_reads_source_urls_and_refuses_bad_ones(void **state)
{
	char *dir = test_tmpdir(), *path = sy_xasprintf("%s/serve.conf", dir);
	struct server_conf conf;
	struct sy_error err = { { 0 } };

	(void)state;
	test_write_file(dir, "serve.conf",
			"[repo \"a\"]\n\tremote = x\n\tsourceurl = file:///srv/mirror\n"
			"\tsourceurl = https://h/%{name}/%{file}/sha256/%{sha256}/%{file}\n");
	assert_ok(server_conf_read(path, &conf, &err), &err);
	assert_int_equal(conf.repos[0].source_urls.n, 2);
	assert_string_equal(conf.repos[0].source_urls.items[0], "file:///srv/mirror");
	server_conf_release(&conf);
	assert_int_equal(read_conf(dir, "[repo \"a\"]\n\tremote = x\n\tsourceurl = ftp://h/s\n",
				   &err),
			 -1);
	assert_non_null(strstr(err.msg, "serve.conf"));
	assert_non_null(strstr(err.msg, "repo.a.sourceurl: 'ftp://h/s': not an http, https or "
					"file URL"));
	sy_rm_rf(dir, NULL);
	free(path);
	free(dir);
}

/* Found by tests/fuzz/fuzz_serveconf: "branch" with no "= value" (a NULL
 * value in libgit2) crashed the reader in strdup. */
static void test_serveconf_refuses_a_list_item_without_value(void **state)
{
	static const char *const items[] = { "branch", "schedule", "spectree", "sourceurl" };
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

/* Queues a push pipeline of ref at head; *old gets what it superseded
 * (caller frees). */
static long queue(struct server_store *st, const char *ref, const char *head,
		  struct server_store_superseded **old, size_t *n)
{
	struct server_store_pipeline p = { .repo = "mini", .trigger = "push", .ref = (char *)ref,
					    .channel = (char *)ref, .head = (char *)head };
	struct sy_error err = { { 0 } };

	assert_int_equal(server_store_queue(st, NULL, &p, old, n, NULL, &err), 1);
	return p.id;
}

static void test_store_deduplicates_redelivered_events(void **state)
{
	char *dir = test_tmpdir();
	struct server_store *st = open_store(dir);
	struct server_store_event ev = { "delivery-1", "mini", "push", "main", "abc" };
	struct sy_error err = { { 0 } };
	long id = 0, counts[SERVER_PIPELINE_NSTATES], events;

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
	struct server_store_superseded *running;
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
	/* a was running: it comes back to be stopped, with its head. */
	assert_int_equal(n, 1);
	assert_int_equal(running[0].id, a);
	assert_true(running[0].running);
	assert_string_equal(running[0].head, "aaa");
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

/* child_fn: queues a pipeline for an event with the store-event failpoint
 * armed: the process dies between storing the event and the pipeline. */
static int queue_and_die(void *arg)
{
	struct server_store *st = open_store(arg);
	struct server_store_event ev = { "delivery-9", "mini", "push", "main", "abc" };
	struct server_store_pipeline p = { .repo = "mini", .trigger = "push", .ref = "main",
					    .channel = "main", .head = "abc" };
	struct server_store_superseded *old = NULL;
	size_t n = 0;
	struct sy_error err = { { 0 } };

	setenv("SHIPYARD_FAILPOINT", "store-event", 1);
	server_store_queue(st, &ev, &p, &old, &n, NULL, &err);
	return 3; /* not reached */
}

static void test_store_crash_between_event_and_pipeline_loses_both(void **state)
{
	char *dir = test_tmpdir();
	struct sy_child c = SY_CHILD_INIT;
	struct server_store_event ev = { "delivery-9", "mini", "push", "main", "abc" };
	struct server_store_pipeline p = { .repo = "mini", .trigger = "push", .ref = "main",
					    .channel = "main", .head = "abc" };
	struct server_store_superseded *old = NULL;
	struct sy_error err = { { 0 } };
	long counts[SERVER_PIPELINE_NSTATES], events, event = 0;
	size_t n = 0;

	(void)state;
	c.child_fn = queue_and_die;
	c.child_arg = dir;
	assert_ok(sy_child_run(&c, &err), &err);
	assert_int_equal(c.signal, SIGKILL);
	/* The forge redelivers: it is not a duplicate, and it is queued. */
	struct server_store *st = open_store(dir);
	assert_int_equal(server_store_queue(st, &ev, &p, &old, &n, &event, &err), 1);
	assert_true(event > 0 && p.id > 0);
	free(old);
	assert_ok(server_store_counts(st, counts, &events, &err), &err);
	assert_int_equal(events, 1);
	assert_int_equal(counts[SERVER_PIPELINE_QUEUED], 1);
	/* Once stored, a redelivery queues nothing. */
	assert_int_equal(server_store_queue(st, &ev, &p, &old, &n, &event, &err), 0);
	assert_null(old);
	assert_ok(server_store_counts(st, counts, &events, &err), &err);
	assert_int_equal(counts[SERVER_PIPELINE_QUEUED], 1);
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
	struct server_store_superseded *running;
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

/* Queues, claims and ends a pipeline of ref at head as the cascade guard
 * holds it: failure, with the guard's verdict. */
static long queue_held(struct server_store *st, const char *ref, const char *head)
{
	struct server_store_superseded *old;
	struct server_store_pipeline got;
	struct sy_error err = { { 0 } };
	size_t n;
	long id = queue(st, ref, head, &old, &n);

	free(old);
	assert_int_equal(server_store_claim(st, &got, &err), 1);
	assert_int_equal(got.id, id);
	server_store_pipeline_release(&got);
	assert_ok(server_store_set_held(st, id, "9 specs to build, over plan.maxrebuild 3", &err),
		  &err);
	assert_ok(server_store_finish(st, id, SERVER_PIPELINE_FAILURE, NULL, &err), &err);
	return id;
}

static void test_store_approving_a_held_pipeline_queues_it_with_approve(void **state)
{
	char *dir = test_tmpdir();
	struct server_store *st = open_store(dir);
	struct server_store_pipeline got, approved;
	struct sy_error err = { { 0 } };
	long held = queue_held(st, "main", "aaa");

	(void)state;
	assert_int_equal(server_store_approve(st, held, "alice", &approved, &err), 1);
	assert_true(approved.id > held);
	assert_int_equal(approved.approves, held);
	assert_int_equal(approved.state, SERVER_PIPELINE_QUEUED);
	assert_string_equal(approved.trigger, "approval");
	assert_string_equal(approved.ref, "main");
	assert_string_equal(approved.channel, "main");
	assert_string_equal(approved.head, "aaa");
	assert_null(approved.held);
	/* The held pipeline says who approved it, when, and what it queued. */
	assert_int_equal(server_store_get(st, held, &got, &err), 1);
	assert_int_equal(got.state, SERVER_PIPELINE_FAILURE);
	assert_string_equal(got.held, "9 specs to build, over plan.maxrebuild 3");
	assert_string_equal(got.approved_by, "alice");
	assert_int_equal(got.approved_as, approved.id);
	assert_true(got.approved_at >= approved.created - 1 && got.approved_at > 0);
	server_store_pipeline_release(&got);
	/* The runner claims it as any other; a new attempt is not held. */
	assert_int_equal(server_store_claim(st, &got, &err), 1);
	assert_int_equal(got.id, approved.id);
	assert_int_equal(got.approves, held);
	server_store_pipeline_release(&got);
	server_store_pipeline_release(&approved);
	server_store_close(st);
	sy_rm_rf(dir, NULL);
	free(dir);
}

static void test_store_refuses_to_approve_what_was_not_held_or_is_stale(void **state)
{
	char *dir = test_tmpdir();
	struct server_store *st = open_store(dir);
	struct server_store_pipeline approved, got;
	struct server_store_superseded *old;
	struct sy_error err = { { 0 } };
	size_t n;

	(void)state;
	/* Unknown: 0. */
	assert_int_equal(server_store_approve(st, 42, "alice", &approved, &err), 0);
	/* A pipeline that failed for another reason, or still runs. */
	long plain = queue(st, "main", "aaa", &old, &n);
	free(old);
	assert_int_equal(server_store_approve(st, plain, "alice", &approved, &err),
			 SERVER_STORE_REFUSED);
	assert_string_equal(err.msg, "pipeline 1 is queued, not held for approval");
	assert_int_equal(server_store_claim(st, &got, &err), 1);
	server_store_pipeline_release(&got);
	assert_ok(server_store_finish(st, plain, SERVER_PIPELINE_FAILURE, NULL, &err), &err);
	assert_int_equal(server_store_approve(st, plain, "alice", &approved, &err),
			 SERVER_STORE_REFUSED);
	assert_string_equal(err.msg, "pipeline 1 is failure, not held for approval");
	/* Approved once: a second approval queues nothing. */
	long held = queue_held(st, "main", "bbb");
	assert_int_equal(server_store_approve(st, held, "alice", &approved, &err), 1);
	long again = approved.id;
	server_store_pipeline_release(&approved);
	assert_int_equal(server_store_approve(st, held, "bob", &approved, &err),
			 SERVER_STORE_REFUSED);
	char *want = sy_xasprintf("pipeline %ld was approved by alice already: pipeline %ld", held,
				  again);
	assert_string_equal(err.msg, want);
	free(want);
	/* A later pipeline of the channel (a push, a schedule) planned against
	 * what is published now: the older plan is no longer approvable. */
	assert_int_equal(server_store_claim(st, &got, &err), 1);
	server_store_pipeline_release(&got);
	assert_ok(server_store_finish(st, again, SERVER_PIPELINE_SUCCESS, NULL, &err), &err);
	long stale = queue_held(st, "main", "ccc");
	struct server_store_pipeline later = { .repo = "mini", .trigger = "schedule",
					       .ref = "schedule/main", .channel = "main",
					       .head = "ccc" };
	assert_int_equal(server_store_queue(st, NULL, &later, &old, &n, NULL, &err), 1);
	free(old);
	assert_int_equal(server_store_approve(st, stale, "alice", &approved, &err),
			 SERVER_STORE_REFUSED);
	want = sy_xasprintf("pipeline %ld of channel main followed pipeline %ld", later.id, stale);
	assert_string_equal(err.msg, want);
	free(want);
	assert_int_equal(server_store_get(st, stale, &got, &err), 1);
	assert_int_equal(got.approved_as, 0);
	assert_null(got.approved_by);
	server_store_pipeline_release(&got);
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
		cmocka_unit_test(test_cron_reads_month_and_day_names_in_any_case),
		cmocka_unit_test(test_cron_names_the_field_of_a_bad_name),
		cmocka_unit_test(test_cron_reads_every_nickname_cron_knows_but_reboot),
		cmocka_unit_test(test_serveconf_reads_repos_and_resolves_relative_paths),
		cmocka_unit_test(test_serveconf_names_missing_remote_and_bad_forge),
		cmocka_unit_test(test_serveconf_refuses_zero_limits_and_open_secret_files),
		cmocka_unit_test(test_serveconf_reads_source_urls_and_refuses_bad_ones),
		cmocka_unit_test(test_serveconf_refuses_a_list_item_without_value),
		cmocka_unit_test(test_store_deduplicates_redelivered_events),
		cmocka_unit_test(test_store_new_push_supersedes_queued_and_running_pipeline),
		cmocka_unit_test(test_store_recovery_queues_running_pipelines_again),
		cmocka_unit_test(test_store_crash_between_event_and_pipeline_loses_both),
		cmocka_unit_test(test_store_approving_a_held_pipeline_queues_it_with_approve),
		cmocka_unit_test(test_store_refuses_to_approve_what_was_not_held_or_is_stale),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
