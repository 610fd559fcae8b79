/* imager/imageconfig: Azure Linux imagegen configs and package lists. */
#include "testutil.h"

#include "imager/imageconfig.h"
#include "imager/imagevalidate.h"

/* Reads repository path `path` under the directory arg. */
static int read_under(void *arg, const char *path, char **data, size_t *len,
		      struct sy_error *err)
{
	char *full = sy_xasprintf("%s/%s", (const char *)arg, path);
	int rc = sy_read_file(full, data, len, err);

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
	assert_int_equal(cfg.systems[0].npost_install_scripts, 1);
	assert_string_equal(cfg.systems[0].post_install_scripts[0].path,
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
	/* The kernel (KernelOptions) first, as the toolkit's imager puts it;
	 * then hyperv-packages.json; dracut-hyperv is also in virt-guest. */
	assert_string_equal(cfg.packages.items[0], "kernel");
	assert_string_equal(cfg.packages.items[1], "dracut-hyperv");
	assert_string_equal(cfg.packages.items[2], "hyperv-daemons");
	assert_string_equal(cfg.packages.items[3], "shim");
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
		     "Disks[0].Artifacts[0]: Compression \"zip\" is not one of");
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

/* A config with a system config S holding extra (JSON members) and a disk
 * holding disk (JSON members, may be empty). */
static char *config_with(const char *disk, const char *extra)
{
	return sy_xasprintf("{\"Disks\": [{%s%s\"Artifacts\": [{\"Name\": \"img\", "
			    "\"Compression\": \"tar.gz\"}]}], \"SystemConfigs\": [{\"Name\": \"S\", "
			    "\"Packages\": [\"bash\", \"shadow-utils\"]%s%s}]}",
			    disk, disk[0] ? ", " : "", extra[0] ? ", " : "", extra);
}

static void expect_config_error(const char *disk, const char *extra, const char *want)
{
	char *json = config_with(disk, extra);

	expect_error(json, want);
	free(json);
}

/* The toolkit ignores unknown keys; a typo would then pass silently. */
static void test_imageconfig_rejects_unknown_keys_with_their_json_path(void **state)
{
	(void)state;
	expect_error("{\"Typo\": 1, \"SystemConfigs\": [{\"Name\": \"S\", \"Packages\": [\"a\"]}]}",
		     "cfg/bad.json: Typo: unknown key");
	expect_config_error("", "\"Hostnme\": \"x\"", "cfg/bad.json: SystemConfigs[0].Hostnme: "
						     "unknown key");
	expect_config_error("\"Partitions\": [{\"ID\": \"a\", \"Strat\": 1}]", "",
			    "Disks[0].Partitions[0].Strat: unknown key");
	expect_config_error("", "\"Users\": [{\"Name\": \"u\", \"Shell\": \"/bin/sh\"}]",
			    "SystemConfigs[0].Users[0].Shell: unknown key");
	expect_config_error("", "\"KernelCommandLine\": {\"SElinux\": \"enforcing\"}",
			    "SystemConfigs[0].KernelCommandLine.SElinux: unknown key");
	expect_config_error("", "\"Hostname\": 7", "SystemConfigs[0].Hostname: must be a string");
	expect_config_error("", "\"RemoveRpmDb\": \"yes\"",
			    "SystemConfigs[0].RemoveRpmDb: must be true or false");
	expect_error("{\"SystemConfigs\": [{\"Name\": \"S\", \"Name\": \"T\", \"Packages\": [\"a\"]}]}",
		     "duplicate object key");
}

/* The toolkit's Disk and Partition rules. */
static void test_imageconfig_enforces_the_toolkit_disk_rules(void **state)
{
	(void)state;
	expect_config_error("\"PartitionTableType\": \"gpt\", \"MaxSize\": 100, \"Partitions\": "
			    "[{\"ID\": \"a\", \"Start\": 1, \"End\": 50, \"FsType\": \"ext4\"}, "
			    "{\"ID\": \"b\", \"Start\": 40, \"End\": 0, \"FsType\": \"ext4\"}]", "",
			    "Disks[0].Partitions[1]: overlaps Partitions[0]");
	expect_config_error("\"PartitionTableType\": \"gpt\", \"MaxSize\": 30, \"Partitions\": "
			    "[{\"ID\": \"a\", \"Start\": 1, \"End\": 50, \"FsType\": \"ext4\"}]", "",
			    "Disks[0].MaxSize: 30 MiB is smaller than the partitions (50 MiB)");
	expect_config_error("\"PartitionTableType\": \"gpt\", \"Partitions\": [{\"ID\": \"a\", "
			    "\"Start\": 1, \"FsType\": \"ext4\"}]", "",
			    "Disks[0]: MaxSize is required with Partitions");
	expect_config_error("\"PartitionTableType\": \"dos\"", "",
			    "Disks[0].PartitionTableType: \"dos\" is not gpt or mbr");
	expect_config_error("\"PartitionTableType\": \"gpt\", \"MaxSize\": 9, \"Partitions\": "
			    "[{\"ID\": \"a\", \"Start\": 1, \"Type\": \"esp\", \"TypeUUID\": "
			    "\"c12a7328-f81f-11d2-ba4b-00a0c93ec93b\"}]", "",
			    "Type and TypeUUID are exclusive");
	expect_config_error("\"PartitionTableType\": \"gpt\", \"MaxSize\": 9, \"Partitions\": "
			    "[{\"ID\": \"a\", \"Start\": 1, \"Flags\": [\"bootable\"]}]", "",
			    "Flags: \"bootable\" is not one of");
	expect_config_error("\"PartitionTableType\": \"gpt\", \"MaxSize\": 9, \"Partitions\": "
			    "[{\"ID\": \"a\", \"Start\": 1}, {\"ID\": \"a\", \"Start\": 5}]", "",
			    "Disks[0].Partitions[1].ID: \"a\" is used twice");
	expect_config_error("\"PartitionTableType\": \"gpt\", \"MaxSize\": 9, \"Partitions\": "
			    "[{\"ID\": \"a\", \"Start\": 1}]",
			    "\"KernelOptions\": {\"default\": \"kernel\"}, \"PartitionSettings\": "
			    "[{\"ID\": \"b\", \"MountPoint\": \"/boot/efi\"}]",
			    "SystemConfigs[0].PartitionSettings[0]: ID \"b\" has no matching partition");
	expect_config_error("\"PartitionTableType\": \"gpt\", \"MaxSize\": 9, \"Partitions\": "
			    "[{\"ID\": \"a\", \"Start\": 1}]",
			    "\"PartitionSettings\": [{\"ID\": \"a\", \"MountPoint\": \"/\"}]",
			    "KernelOptions: \"default\" (the kernel package) is required");
	expect_config_error("\"PartitionTableType\": \"mbr\", \"MaxSize\": 9, \"Partitions\": "
			    "[{\"ID\": \"a\", \"Start\": 1}]",
			    "\"KernelOptions\": {\"default\": \"kernel\"}, \"PartitionSettings\": "
			    "[{\"ID\": \"a\", \"MountPoint\": \"/\", \"MountIdentifier\": \"partlabel\"}]",
			    "partlabel needs a gpt disk and a partition Name");
}

/* The toolkit's SystemConfig rules and its imageconfigvalidator's package
 * requirements. */
static void test_imageconfig_enforces_the_toolkit_system_rules(void **state)
{
	(void)state;
	expect_config_error("", "\"Hostname\": \"bad_host\"",
			    "Hostname \"bad_host\" is not a valid host name");
	expect_config_error("", "\"BootType\": \"bios\"", "BootType \"bios\" is not efi, legacy");
	expect_config_error("", "\"Users\": [{\"Name\": \"u\", \"UID\": \"70000\"}]",
			    "SystemConfigs[0].Users[0]: UID 70000 is out of range 0..60000");
	expect_config_error("", "\"Users\": [{\"Name\": \"u\", \"PasswordExpiresDays\": -5}]",
			    "PasswordExpiresDays -5 is out of range");
	expect_config_error("", "\"KernelCommandLine\": {\"ExtraCommandLine\": \"a`b\"}",
			    "ExtraCommandLine must not contain '`'");
	expect_config_error("", "\"KernelCommandLine\": {\"EnableFIPS\": true}",
			    "FIPS needs the package dracut-fips");
	expect_config_error("", "\"KernelCommandLine\": {\"SELinux\": \"enforcing\"}",
			    "SELinux needs the package selinux-policy");
	expect_error("{\"SystemConfigs\": [{\"Name\": \"S\", \"Packages\": [\"bash\"], "
		     "\"Users\": [{\"Name\": \"u\"}]}]}",
		     "Users and Groups need the package shadow-utils");
	expect_error("{\"SystemConfigs\": [{\"Name\": \"S\", \"Packages\": [\"kernel\"]}]}",
		     "the package \"kernel\" belongs in KernelOptions");
	expect_config_error("", "\"AdditionalFiles\": {\"files/a\": \"etc/a\"}",
			    "destination \"etc/a\" is not an absolute path");
	expect_config_error("", "\"AdditionalFiles\": {\"files/a\": {\"Path\": \"/etc/a\", "
			    "\"Permissions\": \"0999\"}}",
			    "AdditionalFiles[\"files/a\"].Permissions: must be permission bits");
	expect_config_error("", "\"PostInstallScripts\": [{\"Path\": \"../../../x.sh\"}]",
			    "SystemConfigs[0].PostInstallScripts[0].Path: \"../../../x.sh\" is "
			    "outside the repository");
	expect_error("{\"SystemConfigs\": [{\"Name\": \"S\", \"IsDefault\": true, \"Packages\": "
		     "[\"a\"]}, {\"Name\": \"T\", \"IsDefault\": true, \"Packages\": [\"a\"]}]}",
		     "SystemConfigs[1]: IsDefault is set on SystemConfigs[0] too");
}

/* What parses but composing does not apply is refused by name, never
 * ignored; what it applies passes, with the kernel package first. */
static void test_imageconfig_support_check_names_the_field_not_applied(void **state)
{
	static const char *const cases[][3] = {
		{ "", "\"Networks\": [{\"Device\": \"eth0\"}]",
		  "SystemConfigs[0].Networks: not supported" },
		{ "", "\"EnableHidepid\": true", "SystemConfigs[0].EnableHidepid: not supported" },
		{ "", "\"OverrideRpmLocales\": \"en_US\"",
		  "SystemConfigs[0].OverrideRpmLocales: not supported" },
		{ "", "\"Encryption\": {\"Enable\": true, \"Password\": \"x\"}",
		  "SystemConfigs[0].Encryption: not supported" },
		{ "\"TargetDisk\": {\"Type\": \"path\", \"Value\": \"/dev/sda\"}", "",
		  "Disks[0].TargetDisk: not supported" },
	};
	char *dir = test_tmpdir();
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct imager_config cfg;
		struct sy_error err = { { 0 } };
		char *json = config_with(cases[i][0], cases[i][1]);

		assert_ok(imager_config_parse("cfg/x.json", json, read_under, dir, &cfg, &err), &err);
		assert_int_equal(imager_config_check_support(&cfg, &err), -1);
		assert_non_null(strstr(err.msg, cases[i][2]));
		imager_config_release(&cfg);
		free(json);
	}
	struct imager_config cfg;
	struct sy_error err = { { 0 } };
	char *json = config_with("", "\"Encryption\": {\"Enable\": false}, \"KernelOptions\": "
				     "{\"_comment\": \"x\", \"default\": \"kernel-lts\"}");
	assert_ok(imager_config_parse("cfg/x.json", json, read_under, dir, &cfg, &err), &err);
	assert_ok(imager_config_check_support(&cfg, &err), &err);
	assert_string_equal(cfg.packages.items[0], "kernel-lts");
	imager_config_release(&cfg);
	free(json);
	sy_rm_rf(dir, &err);
	free(dir);
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
		cmocka_unit_test(test_imageconfig_rejects_unknown_keys_with_their_json_path),
		cmocka_unit_test(test_imageconfig_enforces_the_toolkit_disk_rules),
		cmocka_unit_test(test_imageconfig_enforces_the_toolkit_system_rules),
		cmocka_unit_test(test_imageconfig_support_check_names_the_field_not_applied),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
