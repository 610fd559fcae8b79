/* server/releases: /releases/ lists the releases (made and skipped, with
 * the reason), serves their files and directory listings, refuses paths
 * that climb out or name a release being made, and /api/releases gives
 * the list as JSON. */
#include "testutil.h"

#include <jansson.h>

#include "server/releases.h"
#include "state/layout.h"
#include "state/release.h"

static char *setup_state(void)
{
	char *s = test_tmpdir(), *dir = state_release_dir(s, "distro", "main-20261206-0300");
	struct state_release made = {
		.repo = "distro", .name = "main-20261206-0300", .state = STATE_RELEASE_MADE,
		.created = "2026-12-06T03:00:00Z",
		.commit = "0123456789012345678901234567890123456789", .channel = "main",
		.snapshot = "20261206T025900Z", .pipeline = "7",
	};
	struct state_release skipped = {
		.repo = "distro", .name = "main-20261207-0300", .state = STATE_RELEASE_SKIPPED,
		.reason = "build failed: hello", .created = "2026-12-07T03:00:00Z",
		.commit = "0123456789012345678901234567890123456789", .channel = "main",
	};
	struct sy_error err = { { 0 } };

	test_write_file(dir, "repo/repodata/repomd.xml", "<repomd/>");
	assert_ok(state_release_write(dir, &made, &err), &err);
	assert_int_equal(state_release_record_skipped(s, &skipped, &err), 1);
	test_write_file(s, "releases/distro/.main-20261208-0300.tmp-9/release.json", "{}");
	test_write_file(s, "state.db", "secret");
	free(dir);
	return s;
}

/* GETs path; returns the status, the response in *r (caller releases). */
static int get(const char *s, const char *path, struct server_http_response *r)
{
	memset(r, 0, sizeof(*r));
	assert_int_equal(server_releases_route(s, "GET", path, r), 1);
	return r->status;
}

static void test_releases_page_lists_made_and_skipped_with_the_reason(void **state)
{
	(void)state;
	char *s = setup_state();
	struct server_http_response r;

	assert_int_equal(get(s, "/releases/", &r), 200);
	assert_non_null(strstr(r.body, "href=\"/releases/distro/main-20261206-0300/\""));
	assert_non_null(strstr(r.body, "s-made"));
	assert_non_null(strstr(r.body, "s-skipped\">skipped</span> build failed: hello"));
	assert_null(strstr(r.body, "20261208"));
	server_http_response_release(&r);
	assert_int_equal(get(s, "/releases/distro/", &r), 200);
	assert_non_null(strstr(r.body, "main-20261207-0300"));
	server_http_response_release(&r);
	assert_int_equal(get(s, "/releases/other/", &r), 200);
	assert_non_null(strstr(r.body, "No release yet"));
	server_http_response_release(&r);
	sy_rm_rf(s, NULL);
	free(s);
}

static void test_releases_serve_files_and_listings(void **state)
{
	(void)state;
	char *s = setup_state();
	struct server_http_response r;

	assert_int_equal(get(s, "/releases/distro/main-20261206-0300/repo/repodata/repomd.xml", &r),
			 200);
	assert_non_null(r.file_path);
	assert_non_null(strstr(r.file_path, "/releases/distro/main-20261206-0300/repo/repodata/"));
	assert_string_equal(r.content_type, "application/xml");
	server_http_response_release(&r);
	assert_int_equal(get(s, "/releases/distro/main-20261206-0300", &r), 301);
	assert_string_equal(r.location, "/releases/distro/main-20261206-0300/");
	server_http_response_release(&r);
	assert_int_equal(get(s, "/releases/distro/main-20261206-0300/", &r), 200);
	assert_non_null(strstr(r.body, "href=\"repo/\""));
	assert_non_null(strstr(r.body, "href=\"release.json\""));
	assert_non_null(strstr(r.body, "href=\"sbom.spdx.json\""));
	server_http_response_release(&r);
	assert_int_equal(get(s, "/releases/distro/main-20261206-0300/nope", &r), 404);
	server_http_response_release(&r);
	sy_rm_rf(s, NULL);
	free(s);
}

static void test_releases_refuse_paths_that_leave_them(void **state)
{
	(void)state;
	char *s = setup_state();
	struct server_http_response r;
	const char *const refused[] = {
		"/releases/../state.db",
		"/releases/distro/../../state.db",
		"/releases/distro/main-20261206-0300/../../../state.db",
		"/releases/distro//main-20261206-0300/release.json",
		"/releases/distro/./main-20261206-0300/release.json",
		"/releases/distro/.main-20261208-0300.tmp-9/release.json",
		"/releases/distro/old/repo/state.db",
	};
	/* A release of an older shipyard linked its repository: the link
	 * leads out of the releases and is not followed. */
	char *old = sy_xasprintf("%s/releases/distro/old", s);
	assert_int_equal(sy_mkdir_p(old, 0755, NULL), 0);
	char *link = sy_xasprintf("%s/repo", old);
	assert_int_equal(symlink(s, link), 0);

	for (size_t i = 0; i < sizeof(refused) / sizeof(*refused); i++) {
		assert_int_equal(get(s, refused[i], &r), 404);
		assert_null(r.file_path);
		server_http_response_release(&r);
	}
	memset(&r, 0, sizeof(r));
	assert_int_equal(server_releases_route(s, "POST", "/releases/", &r), 1);
	assert_int_equal(r.status, 405);
	server_http_response_release(&r);
	assert_int_equal(server_releases_route(s, "GET", "/repositories", &r), 0);
	free(link);
	free(old);
	sy_rm_rf(s, NULL);
	free(s);
}

static void test_api_releases_gives_state_and_reason(void **state)
{
	(void)state;
	char *s = setup_state();
	struct server_http_response r;

	assert_int_equal(get(s, "/api/releases", &r), 200);
	json_t *doc = json_loadb(r.body, r.len, 0, NULL);
	json_t *list = json_object_get(doc, "releases");
	assert_int_equal(json_array_size(list), 2);
	json_t *newest = json_array_get(list, 0), *made = json_array_get(list, 1);
	assert_string_equal(json_string_value(json_object_get(newest, "state")), "skipped");
	assert_string_equal(json_string_value(json_object_get(newest, "reason")),
			    "build failed: hello");
	assert_true(json_is_null(json_object_get(newest, "sbom")));
	assert_string_equal(json_string_value(json_object_get(made, "state")), "made");
	assert_string_equal(json_string_value(json_object_get(made, "snapshot")),
			    "20261206T025900Z");
	assert_string_equal(json_string_value(json_object_get(made, "url")),
			    "/releases/distro/main-20261206-0300/");
	assert_string_equal(json_string_value(json_object_get(made, "sbom")),
			    "/releases/distro/main-20261206-0300/sbom.spdx.json");
	json_decref(doc);
	server_http_response_release(&r);
	sy_rm_rf(s, NULL);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_releases_page_lists_made_and_skipped_with_the_reason),
		cmocka_unit_test(test_releases_serve_files_and_listings),
		cmocka_unit_test(test_releases_refuse_paths_that_leave_them),
		cmocka_unit_test(test_api_releases_gives_state_and_reason),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
