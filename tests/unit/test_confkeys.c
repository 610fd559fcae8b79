/* The known-keys check of configuration files (common/confkeys.h) and its
 * use by the readers of shipyard.conf, shipyard-serve.conf and worker
 * manifests: an unknown key or section is an error naming file, line and
 * the nearest known key. */
#include "testutil.h"

#include <sys/stat.h>

#include "builder/worker.h"
#include "common/confkeys.h"
#include "common/fs.h"
#include "common/util.h"
#include "planner/distro.h"
#include "server/serveconf.h"

static const struct sy_conf_key keys[] = {
	{ "serve.listen", 0, "127.0.0.1:8080", "address" },
	{ "serve.state", 0, NULL, "state" },
	{ "repo.*.remote", 0, NULL, "clone URL" },
	{ "repo.*.branch", SY_CONF_MULTI, NULL, "branch" },
	{ "publish.s3.bucket", 0, NULL, "bucket" },
};

static int check(const char *text, struct sy_error *err)
{
	return sy_conf_check("t.conf", text, strlen(text), keys, LEN(keys), err, NULL);
}

static void test_confkeys_accepts_known_keys_in_any_case_and_layout(void **state)
{
	struct sy_error err = { { 0 } };

	(void)state;
	assert_ok(check("# comment\n[serve]\n\tlisten = 1:2 ; x\n\tSTATE = \"a;b\"\n"
			"[repo \"Mini\"] remote = x\n\tbranch\n\tbranch = a \\\n  brnch = b\n"
			"[publish \"s3\"]\n\tbucket = b\n", &err), &err);
	assert_non_null(sy_conf_key_find(keys, LEN(keys), "repo.Mini.branch"));
	assert_null(sy_conf_key_find(keys, LEN(keys), "repo.branch"));
	assert_null(sy_conf_key_find(keys, LEN(keys), "publish.s4.bucket"));
}

static void test_confkeys_names_file_line_key_and_nearest_known_one(void **state)
{
	struct sy_error err = { { 0 } };

	(void)state;
	assert_int_equal(check("[serve]\n\tlisten = x\n[repo \"mini\"]\n\tremote = y\n"
			       "\tbrnch = main\n", &err), -1);
	assert_string_equal(err.msg, "t.conf:5: repo.mini.brnch: unknown key "
			    "(did you mean repo.mini.branch?)");
	assert_int_equal(check("[serve]\n\tlistne = x\n", &err), -1);
	assert_string_equal(err.msg, "t.conf:2: serve.listne: unknown key "
			    "(did you mean serve.listen?)");
	/* Nothing near: no suggestion, unless the key belongs to another section. */
	assert_int_equal(check("[serve]\n\tcolour = blue\n", &err), -1);
	assert_string_equal(err.msg, "t.conf:2: serve.colour: unknown key");
	assert_int_equal(check("[serve]\n\tbranch = main\n", &err), -1);
	assert_string_equal(err.msg, "t.conf:2: serve.branch: unknown key "
			    "(did you mean repo.<name>.branch?)");
}

static void test_confkeys_refuses_unknown_sections_even_empty_ones(void **state)
{
	struct sy_error err = { { 0 } };

	(void)state;
	assert_int_equal(check("[serve]\n[sevre]\n", &err), -1);
	assert_string_equal(err.msg, "t.conf:2: [sevre]: unknown section (did you mean [serve]?)");
	assert_int_equal(check("[repos \"mini\"]\n\tremote = x\n", &err), -1);
	assert_string_equal(err.msg, "t.conf:1: [repos \"mini\"]: unknown section "
			    "(did you mean [repo \"mini\"]?)");
	/* A section that takes a name, without one, and the other way round. */
	assert_int_equal(check("[repo]\n\tremote = x\n", &err), -1);
	assert_string_equal(err.msg, "t.conf:1: [repo]: unknown section "
			    "(did you mean [repo \"<name>\"]?)");
	assert_int_equal(check("[serve \"x\"]\n", &err), -1);
	assert_string_equal(err.msg, "t.conf:1: [serve \"x\"]: unknown section "
			    "(did you mean [serve]?)");
	assert_int_equal(check("[publish \"s4\"]\n", &err), -1);
	assert_string_equal(err.msg, "t.conf:1: [publish \"s4\"]: unknown section "
			    "(did you mean [publish \"s3\"]?)");
}

static void test_confkeys_counts_lines_across_continued_values(void **state)
{
	struct sy_error err = { { 0 } };
	struct sy_strv all = SY_STRV_INIT;
	const char *text = "[serve]\n\tlisten = a\\\nb\n\tstat = x\n\tbogus = \"q\\\"#\" # c\n";

	(void)state;
	assert_int_equal(sy_conf_check("t.conf", text, strlen(text), keys, LEN(keys), &err, &all),
			 -1);
	assert_int_equal(all.n, 2);
	assert_string_equal(all.items[0], "t.conf:4: serve.stat: unknown key "
			    "(did you mean serve.state?)");
	assert_non_null(strstr(all.items[1], "t.conf:5: serve.bogus: unknown key"));
	assert_string_equal(err.msg, all.items[0]);
	sy_strv_release(&all);
}

static void test_confkeys_edit_distance_counts_single_byte_edits(void **state)
{
	(void)state;
	assert_int_equal(sy_edit_distance("branch", "brnch"), 1);
	assert_int_equal(sy_edit_distance("kitten", "sitting"), 3);
	assert_int_equal(sy_edit_distance("", "abc"), 3);
	assert_int_equal(sy_edit_distance("MAIN", "main"), 0);
}

static void test_confkeys_lists_subsections_in_order(void **state)
{
	struct sy_strv subs = SY_STRV_INIT;
	const char *text = "[repo \"b\"]\nremote=1\n[serve]\n[repo \"a\"]\n[repo \"b\"]\n";

	(void)state;
	sy_conf_subsections(text, strlen(text), "repo", &subs);
	assert_int_equal(subs.n, 2);
	assert_string_equal(subs.items[0], "b");
	assert_string_equal(subs.items[1], "a");
	sy_strv_release(&subs);
}

static void test_distro_conf_refuses_misspelt_key_with_its_line(void **state)
{
	char *dir = test_tmpdir(), *path = sy_xasprintf("%s/shipyard.conf", dir);
	struct planner_distro d;
	struct sy_error err = { { 0 } };

	(void)state;
	test_write_file(dir, "shipyard.conf", "[distro]\n\tdisttag = .t1\n\tspectre = SPECS\n");
	assert_int_equal(planner_distro_read_file(path, &d, &err), -1);
	assert_string_equal(err.msg, "shipyard.conf:3: distro.spectre: unknown key "
			    "(did you mean distro.spectree?)");
	planner_distro_release(&d);
	test_write_file(dir, "shipyard.conf", "[distor]\n\tdisttag = .t1\n");
	assert_int_equal(planner_distro_read_file(path, &d, &err), -1);
	assert_string_equal(err.msg, "shipyard.conf:1: [distor]: unknown section "
			    "(did you mean [distro]?)");
	planner_distro_release(&d);
	sy_rm_rf(dir, NULL);
	free(path);
	free(dir);
}

static void test_serve_conf_refuses_misspelt_branch(void **state)
{
	char *dir = test_tmpdir(), *path = sy_xasprintf("%s/serve.conf", dir);
	struct server_conf conf;
	struct sy_error err = { { 0 } };

	(void)state;
	test_write_file(dir, "serve.conf", "[serve]\n\tlisten = 127.0.0.1:0\n"
			"[repo \"mini\"]\n\tremote = /srv/mini.git\n\tbrnch = main\n");
	assert_int_equal(server_conf_read(path, &conf, &err), -1);
	assert_non_null(strstr(err.msg, "serve.conf:5: repo.mini.brnch: unknown key "
				"(did you mean repo.mini.branch?)"));
	sy_rm_rf(dir, NULL);
	free(path);
	free(dir);
}

static void test_serve_conf_refuses_unknown_arch_and_bad_schedule(void **state)
{
	char *dir = test_tmpdir(), *path = sy_xasprintf("%s/serve.conf", dir);
	struct server_conf conf;
	struct sy_error err = { { 0 } };

	(void)state;
	test_write_file(dir, "serve.conf", "[repo \"mini\"]\n\tremote = /srv/mini.git\n"
			"\tarch = sparc\n");
	assert_int_equal(server_conf_read(path, &conf, &err), -1);
	assert_non_null(strstr(err.msg, "repo.mini.arch: arch 'sparc': unknown (known: x86_64, "
				"aarch64)"));
	test_write_file(dir, "serve.conf", "[repo \"mini\"]\n\tremote = /srv/mini.git\n"
			"\tschedule = 0 3 * * FUN\n");
	assert_int_equal(server_conf_read(path, &conf, &err), -1);
	assert_non_null(strstr(err.msg, "repo.mini.schedule: cron '0 3 * * FUN': bad day of week"));
	test_write_file(dir, "serve.conf", "[repo \"mini\"]\n\tremote = /srv/mini.git\n"
			"\tschedule = 0 3 * * MON-FRI\n\tschedule = @weekly\n");
	assert_ok(server_conf_read(path, &conf, &err), &err);
	server_conf_release(&conf);
	sy_rm_rf(dir, NULL);
	free(path);
	free(dir);
}

static void test_serve_conf_reads_git_credentials_and_needs_host_key_with_ssh(void **state)
{
	char *dir = test_tmpdir(), *path = sy_xasprintf("%s/serve.conf", dir);
	char *key = sy_xasprintf("%s/key", dir);
	struct server_conf conf;
	struct gitwatch_credentials creds = { 0 };
	struct sy_error err = { { 0 } };

	(void)state;
	test_write_file(dir, "key", "k\n");
	assert_int_equal(chmod(key, 0600), 0);
	test_write_file(dir, "serve.conf", "[repo \"mini\"]\n\tremote = ssh://git@h/m.git\n"
			"\tsshkey = key\n");
	assert_int_equal(server_conf_read(path, &conf, &err), -1);
	assert_non_null(strstr(err.msg, "repo.mini.sshkey: needs sshhostkey"));
	test_write_file(dir, "serve.conf", "[repo \"mini\"]\n\tremote = https://h/m.git\n"
			"\tgittokenfile = key\n\tgituser = bot\n");
	assert_ok(server_conf_read(path, &conf, &err), &err);
	server_repo_credentials(&conf.repos[0], &creds);
	assert_string_equal(creds.token_file, key);
	assert_string_equal(creds.user, "bot");
	assert_null(creds.ssh_key);
	server_conf_release(&conf);
	/* A token file others may read is refused, as the forge token is. */
	assert_int_equal(chmod(key, 0644), 0);
	assert_int_equal(server_conf_read(path, &conf, &err), -1);
	assert_non_null(strstr(err.msg, "repo.mini.gittokenfile"));
	sy_rm_rf(dir, NULL);
	free(key);
	free(path);
	free(dir);
}

static void test_worker_manifest_names_line_of_unknown_key(void **state)
{
	char *dir = test_tmpdir(), *path = sy_xasprintf("%s/worker.conf", dir);
	struct builder_worker_manifest m;
	struct sy_error err = { { 0 } };

	(void)state;
	test_write_file(dir, "worker.conf", "[worker]\n\tsuite = bookworm\n\tpakage = rpm\n");
	assert_int_equal(builder_worker_manifest_read(path, &m, &err), -1);
	assert_non_null(strstr(err.msg, "worker.conf:3: worker.pakage: unknown key "
				"(did you mean worker.package?)"));
	sy_rm_rf(dir, NULL);
	free(path);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_confkeys_accepts_known_keys_in_any_case_and_layout),
		cmocka_unit_test(test_confkeys_names_file_line_key_and_nearest_known_one),
		cmocka_unit_test(test_confkeys_refuses_unknown_sections_even_empty_ones),
		cmocka_unit_test(test_confkeys_counts_lines_across_continued_values),
		cmocka_unit_test(test_confkeys_edit_distance_counts_single_byte_edits),
		cmocka_unit_test(test_confkeys_lists_subsections_in_order),
		cmocka_unit_test(test_distro_conf_refuses_misspelt_key_with_its_line),
		cmocka_unit_test(test_serve_conf_refuses_misspelt_branch),
		cmocka_unit_test(test_serve_conf_refuses_unknown_arch_and_bad_schedule),
		cmocka_unit_test(test_serve_conf_reads_git_credentials_and_needs_host_key_with_ssh),
		cmocka_unit_test(test_worker_manifest_names_line_of_unknown_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
