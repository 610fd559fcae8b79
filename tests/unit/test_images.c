/* imager/images: the builds of an image config in the state directory, as
 * the image stage leaves them (builds, one being composed, the latest link)
 * and as the dashboard reads them. */
#include "testutil.h"

#include <sys/stat.h>

#include "imager/images.h"

static void test_images_paths_of_a_build(void **state)
{
	(void)state;
	char *dir = imager_build_dir("/s", "core", "20240101T000000Z");
	char *tmp = imager_build_tmp_dir("/s", "core", "20240101T000000Z");
	char *file = imager_build_file("/s", "core", "latest", "closure.sha256");

	assert_string_equal(dir, "/s/images/core/20240101T000000Z");
	assert_string_equal(tmp, "/s/images/core/20240101T000000Z.tmp");
	assert_string_equal(file, "/s/images/core/latest/closure.sha256");
	free(dir);
	free(tmp);
	free(file);
}

static void test_images_builds_newest_first_without_latest_and_unfinished(void **state)
{
	(void)state;
	char *tmp = test_tmpdir();
	struct sy_strv configs = SY_STRV_INIT, ids = SY_STRV_INIT;
	struct sy_error err = { { 0 } };

	test_write_file(tmp, "images/core/20240101T000000Z/core.tar.gz", "a");
	test_write_file(tmp, "images/core/20240102T000000Z/core.tar.gz", "b");
	test_write_file(tmp, "images/core/20240103T000000Z.tmp/core.tar.gz", "half");
	test_write_file(tmp, "images/core/notes.txt", "not a build");
	test_write_file(tmp, "images/stray.txt", "not a config");
	test_write_file(tmp, "images/base/20240101T000000Z/base.tar.gz", "c");

	assert_null(imager_latest_id(tmp, "core"));
	assert_ok(imager_latest_switch(tmp, "core", "20240101T000000Z", &err), &err);
	char *latest = imager_latest_id(tmp, "core");
	assert_string_equal(latest, "20240101T000000Z");
	free(latest);

	imager_list_configs(tmp, &configs);
	assert_int_equal(configs.n, 2);
	assert_string_equal(configs.items[0], "base");
	assert_string_equal(configs.items[1], "core");
	imager_list_builds(tmp, "core", &ids);
	assert_int_equal(ids.n, 2);
	assert_string_equal(ids.items[0], "20240102T000000Z");
	assert_string_equal(ids.items[1], "20240101T000000Z");

	sy_strv_release(&configs);
	sy_strv_release(&ids);
	imager_list_configs("/nonexistent", &configs);
	imager_list_builds(tmp, "never", &ids);
	assert_int_equal(configs.n + ids.n, 0);
	sy_rm_rf(tmp, NULL);
	free(tmp);
}

static void test_images_build_read_gives_manifest_and_regular_files(void **state)
{
	(void)state;
	char *tmp = test_tmpdir();
	struct imager_build b;

	test_write_file(tmp, "images/core/1/core.tar.gz", "tarball");
	test_write_file(tmp, "images/core/1/manifest.json",
			"{\"arch\": \"x86_64\", \"packages\": [\"a-1-1.x86_64\", \"b-1-1.noarch\"]}");
	char *link = sy_xasprintf("%s/images/core/1/passwd", tmp);
	assert_int_equal(symlink("/etc/passwd", link), 0);
	free(link);

	imager_build_read(tmp, "core", "1", &b);
	assert_string_equal(b.arch, "x86_64");
	assert_int_equal(b.packages, 2);
	assert_int_equal(b.nfiles, 2);
	assert_string_equal(b.files[0].name, "core.tar.gz");
	assert_int_equal(b.files[0].bytes, 7);
	assert_string_equal(b.files[1].name, "manifest.json");
	imager_build_release(&b);

	/* No manifest: arch and package count unknown. */
	imager_build_read(tmp, "core", "2", &b);
	assert_null(b.arch);
	assert_int_equal(b.packages, -1);
	assert_int_equal(b.nfiles, 0);
	imager_build_release(&b);
	sy_rm_rf(tmp, NULL);
	free(tmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_images_paths_of_a_build),
		cmocka_unit_test(test_images_builds_newest_first_without_latest_and_unfinished),
		cmocka_unit_test(test_images_build_read_gives_manifest_and_regular_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
