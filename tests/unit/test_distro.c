/* A distribution's shipyard.conf read from a file (planner/distro.h), the
 * parse planner_distro_load runs on the file of a commit. */
#include "testutil.h"

#include "planner/distro.h"

static void test_distro_read_file_keeps_defaults_the_file_does_not_set(void **state)
{
	char *dir = test_tmpdir(), *path = sy_xasprintf("%s/shipyard.conf", dir);
	struct planner_distro d;
	struct planner_policy policy;
	struct sy_error err = { { 0 } };

	(void)state;
	test_write_file(dir, "shipyard.conf",
			"[distro]\n\tdisttag = .t1\n\tspectree = SPECS\n"
			"[spec \"curl\"]\n\trebuildpolicy = local\n");
	assert_ok(planner_distro_read_file(path, &d, &err), &err);
	assert_string_equal(d.dist_tag, ".t1");
	assert_int_equal(d.spec_trees.n, 1);
	assert_int_equal(d.defines.n, 2); /* azl 3, with_check 0 */
	assert_string_equal(d.imageconfigs_dir, "toolkit/imageconfigs");
	assert_null(d.config_blob);
	assert_int_equal(d.policy.layers, -1);
	assert_int_equal(planner_distro_spec_policy(&d, "curl", &policy), 1);
	assert_int_equal(policy.layers, 0);
	assert_int_equal(d.max_rebuild, 0);
	planner_distro_release(&d);
	sy_rm_rf(dir, NULL);
	free(path);
	free(dir);
}

/* Found by tests/fuzz/fuzz_distroconf: a key with no "= value" (a NULL value
 * in libgit2) crashed the reader in strdup (define, spectree) or strcmp
 * (a spec's rebuildpolicy). A repository's shipyard.conf is the
 * repository's content, read by every plan. */
static void test_distro_read_file_refuses_an_item_without_value(void **state)
{
	static const char *const texts[] = {
		"[distro]\n\tdefine\n",
		"[distro]\n\tspectree = SPECS\n\tspectree\n",
		"[spec \"curl\"]\n\trebuildpolicy\n",
	};
	static const char *const items[] = { "distro.define", "distro.spectree",
					      "spec.curl.rebuildpolicy" };
	char *dir = test_tmpdir(), *path = sy_xasprintf("%s/shipyard.conf", dir);
	struct planner_distro d;
	struct sy_error err = { { 0 } };

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		char *want = sy_xasprintf("shipyard.conf: %s: no value", items[i]);

		test_write_file(dir, "shipyard.conf", texts[i]);
		assert_int_equal(planner_distro_read_file(path, &d, &err), -1);
		assert_string_equal(err.msg, want);
		planner_distro_release(&d);
		free(want);
	}
	sy_rm_rf(dir, NULL);
	free(path);
	free(dir);
}

/* Found while fuzzing: libgit2 follows [include] and [includeIf], so a
 * pull request's shipyard.conf could make the planner read a host file as
 * root (here one that would set the dist tag). */
static void test_distro_read_file_refuses_include_sections(void **state)
{
	static const char *const texts[] = {
		"[distro]\n\tdefine = a 1\n[include]\n\tpath = %s/host.conf\n",
		"[includeIf \"gitdir:/\"]\n\tpath = %s/host.conf\n",
		"  [ INCLUDE ]  path = %s/host.conf\n",
		"\xef\xbb\xbf[include]\n\tpath = %s/host.conf\n",
	};
	char *dir = test_tmpdir(), *path = sy_xasprintf("%s/shipyard.conf", dir);
	struct planner_distro d;
	struct sy_error err = { { 0 } };

	(void)state;
	test_write_file(dir, "host.conf", "[distro]\n\tdisttag = .stolen\n");
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		char *text = sy_xasprintf(texts[i], dir);

		test_write_file(dir, "shipyard.conf", text);
		assert_int_equal(planner_distro_read_file(path, &d, &err), -1);
		assert_non_null(strstr(err.msg, "include sections are not supported"));
		assert_string_equal(d.dist_tag, ".azl3");
		planner_distro_release(&d);
		free(text);
	}
	sy_rm_rf(dir, NULL);
	free(path);
	free(dir);
}

/* plan.maxrebuild, the cascade guard's limit: a count (git's k suffix
 * included); anything else is refused with the item named, never read as
 * "no limit". */
static void test_distro_read_file_reads_the_worker_manifest(void **state)
{
	char *dir = test_tmpdir(), *path = sy_xasprintf("%s/shipyard.conf", dir);
	struct planner_distro d;
	struct planner_macro_settings s;
	struct sy_error err = { { 0 } };

	(void)state;
	test_write_file(dir, "shipyard.conf", "[distro]\n\tworkermanifest = worker/%s.txt\n");
	assert_ok(planner_distro_read_file(path, &d, &err), &err);
	planner_distro_macro_settings(&d, "x86_64", &s);
	assert_string_equal(s.worker_manifest, "worker/%s.txt");
	planner_distro_release(&d);
	test_write_file(dir, "shipyard.conf", "[distro]\n\tdisttag = .x1\n");
	assert_ok(planner_distro_read_file(path, &d, &err), &err);
	planner_distro_macro_settings(&d, "x86_64", &s);
	assert_null(s.worker_manifest);
	planner_distro_release(&d);
	sy_rm_rf(dir, NULL);
	free(dir);
	free(path);
}

/* image.maxdisksize: bytes with git's suffixes, kept in MiB; absent, 0
 * (imager/disk.h's default); less than a MiB or not a number, refused. */
static void test_distro_read_file_reads_the_image_disk_limit(void **state)
{
	char *dir = test_tmpdir(), *path = sy_xasprintf("%s/shipyard.conf", dir);
	struct planner_distro d;
	struct sy_error err = { { 0 } };

	(void)state;
	test_write_file(dir, "shipyard.conf", "[image]\n\tmaxdisksize = 8g\n");
	assert_ok(planner_distro_read_file(path, &d, &err), &err);
	assert_int_equal(d.image_max_disk_mib, 8192);
	planner_distro_release(&d);
	test_write_file(dir, "shipyard.conf", "[plan]\n\tmaxrebuild = 2\n");
	assert_ok(planner_distro_read_file(path, &d, &err), &err);
	assert_int_equal(d.image_max_disk_mib, 0);
	planner_distro_release(&d);
	test_write_file(dir, "shipyard.conf", "[image]\n\tmaxdisksize = 512k\n");
	assert_int_equal(planner_distro_read_file(path, &d, &err), -1);
	assert_string_equal(err.msg, "shipyard.conf: image.maxdisksize: 524288 bytes is less "
				     "than 1 MiB");
	planner_distro_release(&d);
	test_write_file(dir, "shipyard.conf", "[image]\n\tmaxdisksize = big\n");
	assert_int_equal(planner_distro_read_file(path, &d, &err), -1);
	assert_string_equal(err.msg, "shipyard.conf: image.maxdisksize: 'big' is not a number >= 0");
	planner_distro_release(&d);
	sy_rm_rf(dir, NULL);
	free(dir);
	free(path);
}

/* image.boottest, a git boolean (off by default), and image.boottimeout,
 * seconds within 1..86400. */
static void test_distro_read_file_reads_the_boot_test_settings(void **state)
{
	char *dir = test_tmpdir(), *path = sy_xasprintf("%s/shipyard.conf", dir);
	struct planner_distro d;
	struct sy_error err = { { 0 } };

	(void)state;
	test_write_file(dir, "shipyard.conf", "[plan]\n\tmaxrebuild = 2\n");
	assert_ok(planner_distro_read_file(path, &d, &err), &err);
	assert_int_equal(d.image_boot_test, 0);
	assert_int_equal(d.image_boot_timeout_s, 0);
	planner_distro_release(&d);
	test_write_file(dir, "shipyard.conf", "[image]\n\tboottest = yes\n\tboottimeout = 240\n");
	assert_ok(planner_distro_read_file(path, &d, &err), &err);
	assert_int_equal(d.image_boot_test, 1);
	assert_int_equal(d.image_boot_timeout_s, 240);
	planner_distro_release(&d);
	test_write_file(dir, "shipyard.conf", "[image]\n\tboottest = maybe\n");
	assert_int_equal(planner_distro_read_file(path, &d, &err), -1);
	assert_string_equal(err.msg, "shipyard.conf: image.boottest: 'maybe' is not a boolean");
	planner_distro_release(&d);
	test_write_file(dir, "shipyard.conf", "[image]\n\tboottimeout = 0\n");
	assert_int_equal(planner_distro_read_file(path, &d, &err), -1);
	assert_string_equal(err.msg, "shipyard.conf: image.boottimeout: 0 s is not within 1..86400");
	planner_distro_release(&d);
	sy_rm_rf(dir, NULL);
	free(dir);
	free(path);
}

static void test_distro_read_file_reads_the_cascade_limit(void **state)
{
	static const char *const bad[] = { "-1", "many", "3x", "" };
	char *dir = test_tmpdir(), *path = sy_xasprintf("%s/shipyard.conf", dir);
	struct planner_distro d;
	struct sy_error err = { { 0 } };

	(void)state;
	test_write_file(dir, "shipyard.conf", "[plan]\n\tmaxrebuild = 25\n");
	assert_ok(planner_distro_read_file(path, &d, &err), &err);
	assert_int_equal(d.max_rebuild, 25);
	planner_distro_release(&d);
	test_write_file(dir, "shipyard.conf", "[plan]\n\tmaxrebuild = 2k\n");
	assert_ok(planner_distro_read_file(path, &d, &err), &err);
	assert_int_equal(d.max_rebuild, 2048);
	planner_distro_release(&d);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *text = sy_xasprintf("[plan]\n\tmaxrebuild = %s\n", bad[i]);
		char *want = sy_xasprintf("shipyard.conf: plan.maxrebuild: '%s' is not a number >= 0",
					  bad[i]);
		test_write_file(dir, "shipyard.conf", text);
		assert_int_equal(planner_distro_read_file(path, &d, &err), -1);
		assert_string_equal(err.msg, want);
		planner_distro_release(&d);
		free(want);
		free(text);
	}
	test_write_file(dir, "shipyard.conf", "[plan]\n\tmaxrebuild\n");
	assert_int_equal(planner_distro_read_file(path, &d, &err), -1);
	assert_string_equal(err.msg, "shipyard.conf: plan.maxrebuild: no value");
	planner_distro_release(&d);
	sy_rm_rf(dir, NULL);
	free(path);
	free(dir);
}

/* publish.sqlite turns the sqlite repodata on: off by default (dnf and
 * tdnf read the XML), a git boolean when set, anything else refused. */
static void test_distro_read_file_reads_the_sqlite_switch(void **state)
{
	char *dir = test_tmpdir(), *path = sy_xasprintf("%s/shipyard.conf", dir);
	struct planner_distro d;
	struct sy_error err = { { 0 } };

	(void)state;
	test_write_file(dir, "shipyard.conf", "[plan]\n\tmaxrebuild = 25\n");
	assert_ok(planner_distro_read_file(path, &d, &err), &err);
	assert_int_equal(d.publish_sqlite, 0);
	planner_distro_release(&d);
	test_write_file(dir, "shipyard.conf", "[publish]\n\tsqlite = yes\n");
	assert_ok(planner_distro_read_file(path, &d, &err), &err);
	assert_int_equal(d.publish_sqlite, 1);
	planner_distro_release(&d);
	test_write_file(dir, "shipyard.conf", "[publish]\n\tsqlite = off\n");
	assert_ok(planner_distro_read_file(path, &d, &err), &err);
	assert_int_equal(d.publish_sqlite, 0);
	planner_distro_release(&d);
	test_write_file(dir, "shipyard.conf", "[publish]\n\tsqlite = maybe\n");
	assert_int_equal(planner_distro_read_file(path, &d, &err), -1);
	assert_string_equal(err.msg, "shipyard.conf: publish.sqlite: 'maybe' is not a boolean");
	planner_distro_release(&d);
	sy_rm_rf(dir, NULL);
	free(path);
	free(dir);
}

/* sources.url is repeatable, tried in order; each value is checked when the
 * file is read, so a bad one fails the plan naming the file, the key and
 * the value instead of every build that needs a download. */
static void test_distro_read_file_reads_source_urls_in_order(void **state)
{
	char *dir = test_tmpdir(), *path = sy_xasprintf("%s/shipyard.conf", dir);
	struct planner_distro d;
	struct sy_error err = { { 0 } };

	(void)state;
	test_write_file(dir, "shipyard.conf",
			"[sources]\n\turl = file:///srv/mirror\n"
			"\turl = https://src.example/%{name}/%{file}/sha256/%{sha256}/%{file}\n");
	assert_ok(planner_distro_read_file(path, &d, &err), &err);
	assert_int_equal(d.source_urls.n, 2);
	assert_string_equal(d.source_urls.items[0], "file:///srv/mirror/%{file}");
	assert_string_equal(d.source_urls.items[1],
			    "https://src.example/%{name}/%{file}/sha256/%{sha256}/%{file}");
	planner_distro_release(&d);
	test_write_file(dir, "shipyard.conf",
			"[sources]\n\turl = https://ok.example\n\turl = https://h/%{hash}\n");
	assert_int_equal(planner_distro_read_file(path, &d, &err), -1);
	assert_string_equal(err.msg, "shipyard.conf: sources.url: 'https://h/%{hash}': unknown "
				     "placeholder %{hash} (known: %{name}, %{file}, %{sha256})");
	planner_distro_release(&d);
	test_write_file(dir, "shipyard.conf", "[sources]\n\turl = ftp://h/sources\n");
	assert_int_equal(planner_distro_read_file(path, &d, &err), -1);
	assert_string_equal(err.msg, "shipyard.conf: sources.url: 'ftp://h/sources': not an "
				     "http, https or file URL");
	planner_distro_release(&d);
	test_write_file(dir, "shipyard.conf", "[sources]\n\turl\n");
	assert_int_equal(planner_distro_read_file(path, &d, &err), -1);
	assert_string_equal(err.msg, "shipyard.conf: sources.url: no value");
	planner_distro_release(&d);
	sy_rm_rf(dir, NULL);
	free(path);
	free(dir);
}

static void test_distro_read_file_reads_the_rebuild_suffix(void **state)
{
	static const struct {
		const char *text;  /* the [publish] section */
		const char *form;  /* what is read, or NULL: refused */
		const char *error; /* then the message */
	} cases[] = {
		{ "", ".%{counter}", NULL },
		{ "[publish]\n\trebuildsuffix = _rb%{counter}\n", "_rb%{counter}", NULL },
		{ "[publish]\n\trebuildsuffix = \"\"\n", "", NULL },
		{ "[publish]\n\trebuildsuffix\n", NULL,
		  "shipyard.conf: publish.rebuildsuffix: no value" },
		{ "[publish]\n\trebuildsuffix = .rb\n", NULL,
		  "shipyard.conf: publish.rebuildsuffix: '.rb': names %{counter} not exactly once" },
		{ "[publish]\n\trebuildsuffix = .%{counter}.%{counter}\n", NULL,
		  "shipyard.conf: publish.rebuildsuffix: '.%{counter}.%{counter}': names "
		  "%{counter} not exactly once" },
		{ "[publish]\n\trebuildsuffix = ~%{counter}\n", NULL,
		  "shipyard.conf: publish.rebuildsuffix: '~%{counter}': does not start with '.', "
		  "'_' or '+'" },
		{ "[publish]\n\trebuildsuffix = %{counter}\n", NULL,
		  "shipyard.conf: publish.rebuildsuffix: '%{counter}': does not start with '.', "
		  "'_' or '+'" },
		{ "[publish]\n\trebuildsuffix = .%{counter}-x\n", NULL,
		  "shipyard.conf: publish.rebuildsuffix: '.%{counter}-x': '-' is not one of "
		  "[A-Za-z0-9._+]" },
		{ "[publish]\n\trebuildsuffix = .%{count}\n", NULL,
		  "shipyard.conf: publish.rebuildsuffix: '.%{count}': names %{counter} not exactly "
		  "once" },
	};
	char *dir = test_tmpdir(), *path = sy_xasprintf("%s/shipyard.conf", dir);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct planner_distro d;
		struct sy_error err = { { 0 } };

		test_write_file(dir, "shipyard.conf", cases[i].text);
		if (cases[i].form) {
			assert_ok(planner_distro_read_file(path, &d, &err), &err);
			assert_string_equal(d.rebuild_suffix, cases[i].form);
		} else {
			assert_int_equal(planner_distro_read_file(path, &d, &err), -1);
			assert_string_equal(err.msg, cases[i].error);
		}
		planner_distro_release(&d);
	}
	sy_rm_rf(dir, NULL);
	free(path);
	free(dir);
}

static void test_distro_rebuild_suffix_of_counter(void **state)
{
	static const struct {
		const char *form;
		unsigned counter;
		const char *suffix;
	} cases[] = {
		{ ".%{counter}", 0, "" },     { ".%{counter}", 1, ".1" },
		{ ".%{counter}", 12, ".12" }, { "_rb%{counter}x", 3, "_rb3x" },
		{ "", 5, "" },                { NULL, 5, "" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = planner_rebuild_suffix(cases[i].form, cases[i].counter);
		assert_string_equal(s, cases[i].suffix);
		free(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_distro_read_file_keeps_defaults_the_file_does_not_set),
		cmocka_unit_test(test_distro_read_file_refuses_an_item_without_value),
		cmocka_unit_test(test_distro_read_file_refuses_include_sections),
		cmocka_unit_test(test_distro_read_file_reads_the_worker_manifest),
		cmocka_unit_test(test_distro_read_file_reads_the_cascade_limit),
		cmocka_unit_test(test_distro_read_file_reads_the_sqlite_switch),
		cmocka_unit_test(test_distro_read_file_reads_the_image_disk_limit),
		cmocka_unit_test(test_distro_read_file_reads_the_boot_test_settings),
		cmocka_unit_test(test_distro_read_file_reads_source_urls_in_order),
		cmocka_unit_test(test_distro_read_file_reads_the_rebuild_suffix),
		cmocka_unit_test(test_distro_rebuild_suffix_of_counter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
