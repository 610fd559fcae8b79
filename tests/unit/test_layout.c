/* state/layout: every path of the state directory, and the published.json
 * record with its one reader and writer (release.json: test_release.c). */
#include "testutil.h"

#include "state/layout.h"

static void test_layout_paths_are_under_the_state_directory(void **state)
{
	(void)state;
	struct { char *got; const char *want; } cases[] = {
		{ state_db_path("/s"), "/s/state.db" },
		{ state_artifact_dir("/s", "abc"), "/s/artifacts/abc" },
		{ state_channel_dir("/s", "main"), "/s/repos/main" },
		{ state_channel_lock_path("/s", "main"), "/s/repos/main.lock" },
		{ state_image_dir("/s", "core"), "/s/images/core" },
		{ state_release_dir("/s", "distro", "main-20261206-0300"),
		  "/s/releases/distro/main-20261206-0300" },
		{ state_mirror_dir("/s", "distro"), "/s/git/distro.git" },
		{ state_pipeline_file("/s", "42", "plan.json"), "/s/pipelines/42/plan.json" },
		{ state_pipeline_logs_dir("/s", "42"), "/s/pipelines/42/logs" },
		{ state_pipeline_job_log("/s", "42", "zlib"), "/s/pipelines/42/logs/zlib.log" },
		{ state_trash_dir("/s"), "/s/trash" },
		{ state_gc_lock_path("/s"), "/s/gc.lock" },
		{ state_build_dir("/s", "image-core"), "/s/builds/image-core" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_string_equal(cases[i].got, cases[i].want);
		free(cases[i].got);
	}
}

static void test_layout_pipeline_ids_are_single_safe_components(void **state)
{
	(void)state;
	char *id = state_pipeline_id_new();

	assert_true(state_pipeline_id_valid("42"));
	assert_true(state_pipeline_id_valid(id));
	assert_true(!strncmp(id, "run-", 4));
	assert_false(state_pipeline_id_valid(""));
	assert_false(state_pipeline_id_valid(".."));
	assert_false(state_pipeline_id_valid("a/b"));
	assert_false(state_pipeline_id_valid(".hidden"));
	assert_false(state_pipeline_id_valid("x y"));
	free(id);
}

static void test_layout_published_record_round_trips(void **state)
{
	(void)state;
	char *tmp = test_tmpdir();
	struct state_published rec;
	struct sy_error err = { { 0 } };

	assert_int_equal(state_published_read(tmp, "main", &rec, &err), 0);
	assert_null(rec.commit);
	struct state_published w = { .commit = "0123abcd", .snapshot = "/x/snap",
				     .worker_root = "abc" };
	sy_strv_push(&w.worker_packages, "zlib-1.3-1.x86_64");
	assert_int_equal(state_published_write(tmp, "main", &w, &err), 0);
	sy_strv_release(&w.worker_packages);
	assert_int_equal(state_published_read(tmp, "main", &rec, &err), 1);
	assert_string_equal(rec.commit, "0123abcd");
	assert_string_equal(rec.snapshot, "/x/snap");
	assert_string_equal(rec.worker_root, "abc");
	assert_int_equal(rec.worker_packages.n, 1);
	assert_string_equal(rec.worker_packages.items[0], "zlib-1.3-1.x86_64");
	state_published_release(&rec);
	/* A later publication replaces it; a snapshot may be absent. */
	w = (struct state_published){ .commit = "feed" };
	assert_int_equal(state_published_write(tmp, "main", &w, &err), 0);
	assert_int_equal(state_published_read(tmp, "main", &rec, &err), 1);
	assert_string_equal(rec.commit, "feed");
	assert_null(rec.snapshot);
	assert_null(rec.worker_root);
	state_published_release(&rec);
	sy_rm_rf(tmp, NULL);
	free(tmp);
}

static void test_layout_malformed_published_record_is_an_error(void **state)
{
	(void)state;
	char *tmp = test_tmpdir();
	struct state_published rec;
	struct sy_error err = { { 0 } };

	test_write_file(tmp, "repos/main/published.json", "{\"snapshot\": \"/x\"}");
	assert_int_equal(state_published_read(tmp, "main", &rec, &err), -1);
	assert_non_null(strstr(err.msg, "published.json: no \"commit\""));
	test_write_file(tmp, "repos/main/published.json", "not json");
	assert_int_equal(state_published_read(tmp, "main", &rec, &err), -1);
	assert_non_null(strstr(err.msg, "published.json"));
	sy_rm_rf(tmp, NULL);
	free(tmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_paths_are_under_the_state_directory),
		cmocka_unit_test(test_layout_pipeline_ids_are_single_safe_components),
		cmocka_unit_test(test_layout_published_record_round_trips),
		cmocka_unit_test(test_layout_malformed_published_record_is_an_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
