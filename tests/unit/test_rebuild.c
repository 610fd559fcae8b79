/* builder/rebuild: the first key built at an EVR gets no counter, each
 * further key one more than the highest, a key keeps its counter (across
 * connections, as across restarts), another EVR (a Release bump) or another
 * package starts again at 0, and pipelines assigning at once never give two
 * keys one counter nor one key two. A build root finds a package's RPM
 * whatever the counter did to its Release. */
#include "testutil.h"

#include "builder/rebuild.h"
#include "builder/schedule.h"
#include "common/util.h"
#include "state/layout.h"

struct fixture {
	char *dir;
	char *db;
};

static int setup(void **state)
{
	struct fixture *f = sy_xcalloc(1, sizeof(*f));

	f->dir = test_tmpdir();
	f->db = state_db_path(f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sy_rm_rf(f->dir, NULL);
	free(f->dir);
	free(f->db);
	free(f);
	return 0;
}

/* A build key: 64 hex digits made of c. */
static const char *key_of(char c)
{
	static char key[65];

	memset(key, c, 64);
	key[64] = '\0';
	return key;
}

static unsigned counter(const struct fixture *f, const char *name, const char *evr, char key)
{
	struct sy_error err = { { 0 } };
	unsigned n = 99;

	assert_ok(builder_rebuild_counter(f->db, name, evr, key_of(key), &n, &err), &err);
	return n;
}

static void test_rebuild_first_key_of_an_evr_gets_no_counter(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(counter(f, "libbanner", "1.0-1.mdst1", 'a'), 0);
}

static void test_rebuild_each_new_key_gets_one_more_than_the_highest(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(counter(f, "libbanner", "1.0-1.mdst1", 'a'), 0);
	assert_int_equal(counter(f, "libbanner", "1.0-1.mdst1", 'b'), 1);
	assert_int_equal(counter(f, "libbanner", "1.0-1.mdst1", 'c'), 2);
}

static void test_rebuild_same_key_keeps_its_counter(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(counter(f, "libbanner", "1.0-1.mdst1", 'a'), 0);
	assert_int_equal(counter(f, "libbanner", "1.0-1.mdst1", 'b'), 1);
	/* Each call opens the database anew, as a restarted service would. */
	assert_int_equal(counter(f, "libbanner", "1.0-1.mdst1", 'a'), 0);
	assert_int_equal(counter(f, "libbanner", "1.0-1.mdst1", 'b'), 1);
	/* Going back to an earlier key does not take a number. */
	assert_int_equal(counter(f, "libbanner", "1.0-1.mdst1", 'c'), 2);
}

static void test_rebuild_release_bump_starts_again_without_counter(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(counter(f, "libbanner", "1.0-1.mdst1", 'a'), 0);
	assert_int_equal(counter(f, "libbanner", "1.0-1.mdst1", 'b'), 1);
	assert_int_equal(counter(f, "libbanner", "1.0-2.mdst1", 'c'), 0);
	assert_int_equal(counter(f, "libbanner", "1.0-2.mdst1", 'd'), 1);
	assert_int_equal(counter(f, "libbanner", "1:1.0-2.mdst1", 'e'), 0);
	/* Another package at the same EVR counts on its own. */
	assert_int_equal(counter(f, "libgreet", "1.0-1.mdst1", 'f'), 0);
	/* The older EVR's counters go on from where they were. */
	assert_int_equal(counter(f, "libbanner", "1.0-1.mdst1", 'g'), 2);
}

static void test_rebuild_unwritable_database_is_an_error(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	char *path = sy_xasprintf("%s/missing/state.db", f->dir);
	unsigned n = 7;

	assert_int_equal(builder_rebuild_counter(path, "libbanner", "1.0-1", key_of('a'), &n, &err),
			 -1);
	assert_int_equal(n, 0);
	assert_non_null(strstr(err.msg, path));
	free(path);
}

static void test_rebuild_disturl_names_the_suffix(void **state)
{
	(void)state;
	assert_string_equal(builder_rebuild_disturl_suffix("shipyard:rebuild=.2"), ".2");
	assert_null(builder_rebuild_disturl_suffix("shipyard:rebuild="));
	assert_null(builder_rebuild_disturl_suffix("obs://build.opensuse.org/x"));
	assert_null(builder_rebuild_disturl_suffix(NULL));
}

static void test_rebuild_rpm_of_a_package_is_found_whatever_its_release(void **state)
{
	struct planner_package foo = { .name = (char *)"foo", .evr = (char *)"1.0-1.mdst1",
				       .arch = (char *)"x86_64" };
	struct planner_package any = { .name = (char *)"foo", .evr = (char *)"1.0-1.mdst1",
				       .arch = (char *)"noarch" };

	(void)state;
	assert_true(builder_rpm_is_package("/a/b/foo-1.0-1.mdst1.x86_64.rpm", &foo));
	assert_true(builder_rpm_is_package("/a/b/foo-1.0-1.mdst1.2.x86_64.rpm", &foo));
	assert_true(builder_rpm_is_package("foo-0.9-3.mdst1.x86_64.rpm", &foo));
	assert_true(builder_rpm_is_package("foo-1.0-1.mdst1.2.noarch.rpm", &any));
	assert_false(builder_rpm_is_package("foo-1.0-1.mdst1.2.noarch.rpm", &foo));
	assert_false(builder_rpm_is_package("foo-devel-1.0-1.mdst1.x86_64.rpm", &foo));
	assert_false(builder_rpm_is_package("foobar-1.0-1.x86_64.rpm", &foo));
	assert_false(builder_rpm_is_package("foo-1.0.x86_64.rpm", &foo));
	assert_false(builder_rpm_is_package("foo-1.0-.x86_64.rpm", &foo));
	assert_false(builder_rpm_is_package("foo--1.x86_64.rpm", &foo));
	assert_false(builder_rpm_is_package("foo-1.0-1.src.rpm", &foo));
	assert_false(builder_rpm_is_package("foo-1.0-1.x86_64.rpm.part", &foo));
	assert_false(builder_rpm_is_package("foo.x86_64.rpm", &foo));
}

/* What a racing pipeline gets: the gate, the database, its own key. */
struct racer {
	const char *db;
	const char *out; /* where it writes "<own counter> <shared counter>" */
	char key;
	int gate;        /* read end: EOF when every racer may start */
	int gate_write;  /* write end, closed in the racer */
};

static int race(void *arg)
{
	const struct racer *r = arg;
	struct sy_error err = { { 0 } };
	unsigned own, shared;
	char c, text[32];

	close(r->gate_write);
	if (read(r->gate, &c, 1) != 0)
		return 2;
	/* The key every racer builds, then its own: each assignment is
	 * decided in its own transaction while the others are in theirs. */
	if (builder_rebuild_counter(r->db, "libbanner", "1.0-1.mdst1", key_of('s'), &shared, &err) ||
	    builder_rebuild_counter(r->db, "libbanner", "1.0-1.mdst1", key_of(r->key), &own, &err)) {
		fprintf(stderr, "racer %c: %s\n", r->key, err.msg);
		return 1;
	}
	snprintf(text, sizeof(text), "%u %u", own, shared);
	return sy_write_file(r->out, text, strlen(text), 0644, &err) ? 1 : 0;
}

static void test_rebuild_concurrent_pipelines_never_share_a_counter(void **state)
{
	struct fixture *f = *state;
	enum { N = 6 };
	struct sy_child children[N];
	struct racer racers[N];
	struct sy_error err = { { 0 } };
	int gate[2], seen[N + 1] = { 0 };
	unsigned shared = 99;

	/* The file exists with its schema before the race: the race is over
	 * counters, not over creating the tables (test_statedb has that). */
	assert_int_equal(counter(f, "other", "1-1", 'z'), 0);
	assert_int_equal(pipe(gate), 0);
	for (int i = 0; i < N; i++) {
		racers[i] = (struct racer){ f->db, sy_xasprintf("%s/racer-%d", f->dir, i),
					    (char)('a' + i), gate[0], gate[1] };
		children[i] = (struct sy_child)SY_CHILD_INIT;
		children[i].child_fn = race;
		children[i].child_arg = &racers[i];
		assert_ok(sy_child_start(&children[i], &err), &err);
	}
	close(gate[0]);
	close(gate[1]); /* every racer starts now */
	for (int i = 0; i < N; i++) {
		char *text;
		size_t len;
		unsigned own, sh;
		assert_int_equal(sy_child_finish(&children[i]), 0);
		sy_child_release(&children[i]);
		assert_ok(sy_read_file(racers[i].out, &text, &len, &err), &err);
		assert_int_equal(sscanf(text, "%u %u", &own, &sh), 2);
		free(text);
		free((char *)racers[i].out);
		/* One key, one counter, whoever assigned it. */
		if (shared == 99)
			shared = sh;
		assert_int_equal(sh, shared);
		assert_true(own <= N);
		seen[own]++;
	}
	/* N + 1 keys at one EVR: the counters 0..N, each once. */
	seen[shared]++;
	for (int c = 0; c <= N; c++)
		assert_int_equal(seen[c], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rebuild_first_key_of_an_evr_gets_no_counter,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_rebuild_each_new_key_gets_one_more_than_the_highest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rebuild_same_key_keeps_its_counter, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_rebuild_release_bump_starts_again_without_counter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rebuild_unwritable_database_is_an_error, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rebuild_disturl_names_the_suffix, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_rebuild_rpm_of_a_package_is_found_whatever_its_release, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_rebuild_concurrent_pipelines_never_share_a_counter, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
