/* imager/imageconfig: Azure Linux imagegen configs and package lists. */
#include "testutil.h"

#include "imager/imageconfig.h"

/* Reads repository path `path` under the directory arg. */
static int read_under(void *arg, const char *path, char **data, struct sy_error *err)
{
	char *full = sy_xasprintf("%s/%s", (const char *)arg, path);
	int rc = sy_read_file(full, data, NULL, err);

	free(full);
	return rc;
}

/* Parses the config at repository path `path` under base. */
static int parse_at(const char *base, const char *path, struct imager_config *cfg,
		    struct sy_error *err)
{
	char *full = sy_xasprintf("%s/%s", base, path);
	char *json = NULL;
	int rc = sy_read_file(full, &json, NULL, err);

	if (rc == 0)
		rc = imager_config_parse(path, json, read_under, (void *)base, cfg, err);
	free(json);
	free(full);
	return rc;
}

/* Writes a file under the test directory, creating its parent directories. */
static void put(const char *dir, const char *path, const char *content)
{
	struct sy_error err = { { 0 } };
	char *full = sy_xasprintf("%s/%s", dir, path);
	char *parent = sy_xstrdup(full);

	*strrchr(parent, '/') = '\0';
	if (sy_mkdir_p(parent, 0755, &err) ||
	    sy_write_file(full, content, strlen(content), 0644, &err))
		fail_msg("%s", err.msg);
	free(parent);
	free(full);
}

static void test_imageconfig_parses_all_sample_configs(void **state)
{
	const char *shared = test_shared_dir();
	static const char *const names[] = { "core-container", "core-efi", "core-legacy",
					     "minimal-os" };
	(void)state;

	if (!shared)
		skip();
	char *base = sy_xasprintf("%s/azl-sample", shared);
	for (size_t i = 0; i < 4; i++) {
		struct imager_config cfg;
		struct sy_error err = { { 0 } };
		char *path = sy_xasprintf("toolkit/imageconfigs/%s.json", names[i]);

		assert_ok(parse_at(base, path, &cfg, &err), &err);
		assert_string_equal(cfg.name, names[i]);
		assert_string_equal(cfg.path, path);
		assert_true(cfg.packages.n > 0);
		assert_int_equal(cfg.nartifacts, 1);
		imager_config_release(&cfg);
		free(path);
	}
	free(base);
}

static void test_imageconfig_core_container_has_rootfs_artifact(void **state)
{
	const char *shared = test_shared_dir();
	struct imager_config cfg;
	struct sy_error err = { { 0 } };
	(void)state;

	if (!shared)
		skip();
	char *base = sy_xasprintf("%s/azl-sample", shared);
	assert_ok(parse_at(base, "toolkit/imageconfigs/core-container.json", &cfg, &err), &err);
	assert_int_equal(cfg.package_lists.n, 1);
	assert_string_equal(cfg.package_lists.items[0],
			    "toolkit/imageconfigs/packagelists/core-packages-container.json");
	assert_int_equal(cfg.packages.n, 1);
	assert_string_equal(cfg.packages.items[0], "core-packages-container");
	assert_string_equal(cfg.artifacts[0].name, "core");
	assert_string_equal(cfg.artifacts[0].type, "");
	assert_string_equal(cfg.artifacts[0].compression, "tar.gz");
	assert_int_equal(cfg.post_install_scripts.n, 1);
	assert_string_equal(cfg.post_install_scripts.items[0],
			    "toolkit/imageconfigs/postinstallscripts/core-container/cleanup.sh");
	imager_config_release(&cfg);
	free(base);
}

static void test_imageconfig_core_efi_merges_lists_without_duplicates(void **state)
{
	const char *shared = test_shared_dir();
	struct imager_config cfg;
	struct sy_error err = { { 0 } };
	(void)state;

	if (!shared)
		skip();
	char *base = sy_xasprintf("%s/azl-sample", shared);
	assert_ok(parse_at(base, "toolkit/imageconfigs/core-efi.json", &cfg, &err), &err);
	assert_int_equal(cfg.package_lists.n, 4);
	/* hyperv-packages.json comes first; dracut-hyperv is also in virt-guest. */
	assert_string_equal(cfg.packages.items[0], "dracut-hyperv");
	assert_string_equal(cfg.packages.items[1], "hyperv-daemons");
	assert_string_equal(cfg.packages.items[2], "shim");
	size_t hyperv = 0;
	for (size_t i = 0; i < cfg.packages.n; i++)
		hyperv += !strcmp(cfg.packages.items[i], "dracut-hyperv");
	assert_int_equal(hyperv, 1);
	assert_true(sy_strv_contains(&cfg.packages, "dracut-xen"));
	assert_string_equal(cfg.artifacts[0].type, "vhdx");
	assert_string_equal(cfg.artifacts[0].compression, "");
	imager_config_release(&cfg);
	free(base);
}

static void test_imageconfig_packages_follow_lists_in_order(void **state)
{
	char *dir = test_tmpdir();
	struct imager_config cfg;
	struct sy_error err = { { 0 } };
	(void)state;

	put(dir, "cfg/lists/a.json", "{\"packages\": [\"zlib\", \"bash\"]}");
	put(dir, "cfg/img.json",
	    "{\"Disks\": [{\"Artifacts\": [{\"Name\": \"img\", \"Compression\": \"tar.xz\"}]}],"
	    " \"SystemConfigs\": [{\"Name\": \"S\", \"PackageLists\": [\"./lists/../lists/a.json\"],"
	    " \"Packages\": [\"curl=8.0-1\", \"bash\"]}]}");
	assert_ok(parse_at(dir, "cfg/img.json", &cfg, &err), &err);
	assert_string_equal(cfg.name, "img");
	assert_string_equal(cfg.package_lists.items[0], "cfg/lists/a.json");
	assert_int_equal(cfg.packages.n, 3);
	assert_string_equal(cfg.packages.items[0], "zlib");
	assert_string_equal(cfg.packages.items[1], "bash");
	assert_string_equal(cfg.packages.items[2], "curl=8.0-1");
	assert_string_equal(cfg.artifacts[0].compression, "tar.xz");
	imager_config_release(&cfg);
	sy_rm_rf(dir, &err);
	free(dir);
}

/* Parses json as "cfg/bad.json" under a fresh directory and returns the error. */
static void expect_error(const char *json, const char *want)
{
	char *dir = test_tmpdir();
	struct imager_config cfg;
	struct sy_error err = { { 0 } };

	put(dir, "cfg/lists/empty.json", "{\"packages\": []}");
	assert_int_equal(imager_config_parse("cfg/bad.json", json, read_under, dir, &cfg, &err),
			 -1);
	if (!strstr(err.msg, want))
		fail_msg("error \"%s\" does not contain \"%s\"", err.msg, want);
	sy_rm_rf(dir, &err);
	free(dir);
}

static void test_imageconfig_rejects_config_without_packages(void **state)
{
	(void)state;
	expect_error("{\"SystemConfigs\": [{\"Name\": \"S\"}]}",
		     "cfg/bad.json: SystemConfigs[0]: no PackageLists or Packages");
	expect_error("{\"SystemConfigs\": [{\"Name\": \"S\", \"PackageLists\": "
		     "[\"lists/empty.json\"]}]}", "cfg/bad.json: SystemConfigs[0]");
}

static void test_imageconfig_rejects_missing_system_config_and_name(void **state)
{
	(void)state;
	expect_error("{\"Disks\": []}", "cfg/bad.json: SystemConfigs");
	expect_error("{\"SystemConfigs\": [{\"Packages\": [\"bash\"]}]}",
		     "cfg/bad.json: SystemConfigs[0]: Name");
}

static void test_imageconfig_rejects_unknown_compression(void **state)
{
	(void)state;
	expect_error("{\"Disks\": [{\"Artifacts\": [{\"Name\": \"x\", \"Compression\": \"zip\"}]}],"
		     " \"SystemConfigs\": [{\"Name\": \"S\", \"Packages\": [\"bash\"]}]}",
		     "Disks[0].Artifacts[0]: unknown Compression \"zip\"");
}

static void test_imageconfig_rejects_bad_package_lists(void **state)
{
	(void)state;
	expect_error("{\"SystemConfigs\": [{\"Name\": \"S\", \"PackageLists\": "
		     "[\"lists/missing.json\"]}]}", "cfg/lists/missing.json");
	expect_error("{\"SystemConfigs\": [{\"Name\": \"S\", \"PackageLists\": "
		     "[\"../../etc/passwd\"]}]}", "outside the repository");
	expect_error("{\"SystemConfigs\": [{\"Name\": \"S\", \"Packages\": [1]}]}",
		     "Packages[0]");
	expect_error("{\"SystemConfigs\": [", "cfg/bad.json:1:");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_imageconfig_parses_all_sample_configs),
		cmocka_unit_test(test_imageconfig_core_container_has_rootfs_artifact),
		cmocka_unit_test(test_imageconfig_core_efi_merges_lists_without_duplicates),
		cmocka_unit_test(test_imageconfig_packages_follow_lists_in_order),
		cmocka_unit_test(test_imageconfig_rejects_config_without_packages),
		cmocka_unit_test(test_imageconfig_rejects_missing_system_config_and_name),
		cmocka_unit_test(test_imageconfig_rejects_unknown_compression),
		cmocka_unit_test(test_imageconfig_rejects_bad_package_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
