/* state/retention: the rule that picks what to remove (keeps the newest N,
 * removes by age, never what a reference keeps), holds that keep a
 * directory out of the trash, the trash itself and the collection lock. */
#include "testutil.h"

#include <sys/stat.h>
#include <unistd.h>

#include "state/layout.h"
#include "state/retention.h"

#define DAY (24 * 60 * 60)

/* Runs the rule on items and returns the names it removes, joined by ' '. */
static char *removed(const struct state_retention_item *items, size_t n,
		     struct state_retention_limit limit, time_t now)
{
	unsigned char *remove = sy_xcalloc(n + 1, 1);
	struct sy_strv names = SY_STRV_INIT;
	size_t count = state_retention_select(items, n, &limit, now, remove);

	for (size_t i = 0; i < n; i++)
		if (remove[i])
			sy_strv_push(&names, items[i].name);
	assert_int_equal(count, names.n);
	char *joined = sy_strv_join(&names, " ");
	sy_strv_release(&names);
	free(remove);
	return joined;
}

static void test_retention_keeps_the_newest_n(void **state)
{
	(void)state;
	/* Given in no particular order. */
	const struct state_retention_item items[] = {
		{ "c", 300, NULL }, { "a", 100, NULL }, { "e", 500, NULL },
		{ "b", 200, NULL }, { "d", 400, NULL },
	};
	char *got = removed(items, 5, (struct state_retention_limit){ 2, 0 }, 1000);

	assert_string_equal(got, "c a b");
	free(got);
}

static void test_retention_never_removes_a_referenced_item(void **state)
{
	(void)state;
	const struct state_retention_item items[] = {
		{ "a", 100, "held by a running pipeline" }, { "b", 200, NULL },
		{ "c", 300, NULL }, { "d", 400, "the channel's current snapshot" },
	};
	char *got = removed(items, 4, (struct state_retention_limit){ 1, 0 }, 1000);

	/* keep 1 keeps d; a is the oldest, but referenced. */
	assert_string_equal(got, "b c");
	free(got);
}

static void test_retention_referenced_items_count_towards_keep(void **state)
{
	(void)state;
	const struct state_retention_item items[] = {
		{ "a", 100, NULL }, { "b", 200, NULL }, { "c", 300, "current" },
	};
	char *got = removed(items, 3, (struct state_retention_limit){ 2, 0 }, 1000);

	/* The newest two are c (referenced) and b: keep 2 is not 2 more. */
	assert_string_equal(got, "a");
	free(got);
}

static void test_retention_removes_what_is_older_than_the_age_limit(void **state)
{
	(void)state;
	time_t now = 100 * DAY;
	const struct state_retention_item items[] = {
		{ "old", now - 8 * DAY, NULL }, { "kept-old", now - 9 * DAY, "a release" },
		{ "week", now - 7 * DAY + 1, NULL }, { "new", now - 60, NULL },
	};
	char *got = removed(items, 4, (struct state_retention_limit){ 0, 7 }, now);

	assert_string_equal(got, "old");
	free(got);
	/* Count and age together: either limit removes. */
	got = removed(items, 4, (struct state_retention_limit){ 1, 7 }, now);
	assert_string_equal(got, "old week");
	free(got);
}

static void test_retention_without_limits_keeps_everything(void **state)
{
	(void)state;
	const struct state_retention_item items[] = { { "a", 1, NULL }, { "b", 2, NULL } };
	char *got = removed(items, 2, (struct state_retention_limit){ 0, 0 }, 100 * DAY);

	assert_string_equal(got, "");
	free(got);
}

static void test_retention_orders_ids_of_one_second_by_their_counter(void **state)
{
	(void)state;
	/* Snapshots taken in the same second: "...Z", "...Z.1", ..., "...Z.10". */
	const struct state_retention_item items[] = {
		{ "20260101T000000Z.10", 5, NULL }, { "20260101T000000Z.9", 5, NULL },
		{ "20260101T000000Z", 5, NULL }, { "20260101T000000Z.2", 5, NULL },
	};
	char *got = removed(items, 4, (struct state_retention_limit){ 2, 0 }, 10);

	assert_string_equal(got, "20260101T000000Z 20260101T000000Z.2");
	free(got);
}

static void test_retention_time_comes_from_the_id_else_the_directory(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	struct stat st;

	assert_int_equal(state_retention_time("19700102T000000Z", "/nonexistent"), DAY);
	assert_int_equal(state_retention_time("19700102T000000Z.3", "/nonexistent"), DAY);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(state_retention_time("42", dir), st.st_mtime);
	assert_int_equal(state_retention_time("42", "/nonexistent"), 0);
	sy_rm_rf(dir, NULL);
	free(dir);
}

static void test_hold_keeps_a_directory_out_of_the_trash(void **state)
{
	(void)state;
	char *s = test_tmpdir(), *dir = sy_xasprintf("%s/snap", s);
	char *trash = state_trash_dir(s);
	struct state_holds holds = STATE_HOLDS_INIT;
	struct sy_strv in_trash = SY_STRV_INIT;
	struct sy_error err = { { 0 } };

	test_write_file(dir, "repodata/repomd.xml", "<repomd/>");
	assert_int_equal(state_hold_dir(dir, &holds, &err), 1);
	assert_int_equal(state_trash_move(s, dir, &err), 0);
	assert_true(sy_exists(dir));
	state_holds_release(&holds);
	assert_int_equal(state_trash_move(s, dir, &err), 1);
	assert_false(sy_exists(dir));
	sy_list_dir(trash, &in_trash);
	assert_int_equal(in_trash.n, 1);
	assert_int_equal(state_trash_empty(s, &err), 0);
	sy_strv_release(&in_trash);
	sy_list_dir(trash, &in_trash);
	assert_int_equal(in_trash.n, 0);
	/* Gone already: nothing to move. */
	assert_int_equal(state_trash_move(s, dir, &err), 0);
	sy_strv_release(&in_trash);
	sy_rm_rf(s, NULL);
	free(trash);
	free(dir);
	free(s);
}

static void test_hold_of_a_directory_moved_away_fails(void **state)
{
	(void)state;
	char *s = test_tmpdir(), *dir = sy_xasprintf("%s/snap", s);
	struct state_holds holds = STATE_HOLDS_INIT;
	struct sy_error err = { { 0 } };

	test_write_file(dir, "file", "x");
	assert_int_equal(state_trash_move(s, dir, &err), 1);
	assert_int_equal(state_hold_dir(dir, &holds, &err), 0);
	/* Another directory made under the same name is not the one moved. */
	test_write_file(dir, "file", "y");
	assert_int_equal(state_hold_dir(dir, &holds, &err), 1);
	assert_int_equal(holds.n, 1);
	state_holds_release(&holds);
	sy_rm_rf(s, NULL);
	free(dir);
	free(s);
}

static void test_trash_empty_removes_what_a_crashed_collection_left(void **state)
{
	(void)state;
	char *s = test_tmpdir(), *trash = state_trash_dir(s);
	struct sy_strv left = SY_STRV_INIT;
	struct sy_error err = { { 0 } };

	test_write_file(trash, "1-2-3-snap/RPMS/noarch/a.rpm", "half deleted");
	assert_int_equal(state_trash_empty(s, &err), 0);
	sy_list_dir(trash, &left);
	assert_int_equal(left.n, 0);
	sy_strv_release(&left);
	sy_rm_rf(s, NULL);
	free(trash);
	free(s);
}

static void test_gc_lock_lets_one_collection_run_at_a_time(void **state)
{
	(void)state;
	char *s = test_tmpdir();
	struct sy_error err = { { 0 } };
	int first = state_gc_lock(s, 0, &err);

	assert_true(first >= 0);
	assert_int_equal(state_gc_lock(s, 0, &err), -2);
	close(first);
	int again = state_gc_lock(s, 0, &err);
	assert_true(again >= 0);
	close(again);
	sy_rm_rf(s, NULL);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retention_keeps_the_newest_n),
		cmocka_unit_test(test_retention_never_removes_a_referenced_item),
		cmocka_unit_test(test_retention_referenced_items_count_towards_keep),
		cmocka_unit_test(test_retention_removes_what_is_older_than_the_age_limit),
		cmocka_unit_test(test_retention_without_limits_keeps_everything),
		cmocka_unit_test(test_retention_orders_ids_of_one_second_by_their_counter),
		cmocka_unit_test(test_retention_time_comes_from_the_id_else_the_directory),
		cmocka_unit_test(test_hold_keeps_a_directory_out_of_the_trash),
		cmocka_unit_test(test_hold_of_a_directory_moved_away_fails),
		cmocka_unit_test(test_trash_empty_removes_what_a_crashed_collection_left),
		cmocka_unit_test(test_gc_lock_lets_one_collection_run_at_a_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
