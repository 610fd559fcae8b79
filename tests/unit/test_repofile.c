/* The channel's .repo file (repo-publish/repofile.h) and its route
 * (server/repofile.c): the checks follow whether the current snapshot is
 * signed, URLs carry the channel percent-encoded and the base URL the
 * client reached the service by; the service configuration's signing key
 * (publish.signkey, repo.<name>.signkey) is inherited, overridden and
 * refused when others may read it. */
#include "testutil.h"

#include <strings.h>
#include <sys/stat.h>

#include "repo-publish/repofile.h"
#include "repo-publish/sign.h"
#include "server/serve-private.h"

/* A state directory with channel "main" published (current -> a snapshot),
 * signed when signed is 1. Returns the snapshot's path. */
static char *publish_fake(const char *state, const char *channel, int signed_)
{
	char *snap = sy_xasprintf("%s/repos/%s/snapshots/20260101T000000Z", state, channel);
	char *cur = sy_xasprintf("%s/repos/%s/current", state, channel);

	test_write_file(snap, "repodata/repomd.xml", "<repomd/>\n");
	if (signed_) {
		test_write_file(snap, "repodata/repomd.xml.asc", "signature\n");
		test_write_file(snap, REPO_SIGN_KEY_FILE, "key\n");
	}
	assert_int_equal(symlink("snapshots/20260101T000000Z", cur), 0);
	free(cur);
	return snap;
}

static void test_repo_file_of_an_unsigned_channel_turns_the_checks_off(void **state)
{
	char *dir = test_tmpdir(), *snap = publish_fake(dir, "main", 0);
	char *text = repo_publish_repo_file("http://ci:8080", "main", snap);

	(void)state;
	assert_string_equal(text, "[shipyard-main]\nname=shipyard main\n"
				  "baseurl=http://ci:8080/repos/main/current/\nenabled=1\n"
				  "gpgcheck=0\nrepo_gpgcheck=0\n");
	free(text);
	free(snap);
	sy_rm_rf(dir, NULL);
	free(dir);
}

static void test_repo_file_of_a_signed_channel_checks_packages_and_metadata(void **state)
{
	char *dir = test_tmpdir(), *snap = publish_fake(dir, "main", 1);
	char *text = repo_publish_repo_file("http://ci:8080", "main", snap);

	(void)state;
	assert_string_equal(text, "[shipyard-main]\nname=shipyard main\n"
				  "baseurl=http://ci:8080/repos/main/current/\nenabled=1\n"
				  "gpgcheck=1\nrepo_gpgcheck=1\n"
				  "gpgkey=http://ci:8080/repos/main/current/RPM-GPG-KEY-shipyard\n");
	free(text);
	free(snap);
	sy_rm_rf(dir, NULL);
	free(dir);
}

/* A branch "release/3.0" is the channel "release%2F3.0": its URLs must say
 * %25 for the '%', or the server decodes them to another path. */
static void test_repo_file_percent_encodes_the_channel(void **state)
{
	char *text = repo_publish_repo_file("http://ci", "release%2F3.0", NULL);
	char *url = repo_publish_channel_url("http://ci", "release%2F3.0");

	(void)state;
	assert_non_null(strstr(text, "[shipyard-release-2F3.0]\n"));
	assert_non_null(strstr(text, "baseurl=http://ci/repos/release%252F3.0/current/\n"));
	assert_string_equal(url, "http://ci/repos/release%252F3.0");
	free(url);
	free(text);
}

/* Headers of a request, for serve_on_repo_file. */
static const char *host_header;

static const char *header_of(void *arg, const char *name)
{
	(void)arg;
	return !strcasecmp(name, "Host") ? host_header : NULL;
}

static void test_serve_answers_repo_files_at_the_host_asked(void **state)
{
	char *dir = test_tmpdir(), *snap;
	struct serve s = { .conf = { .state_dir = dir, .url = "http://127.0.0.1:8080",
				     .url_is_default = 1 } };
	struct server_http_response r = { 0 };

	(void)state;
	snap = publish_fake(dir, "main", 1);
	host_header = "ci.example:8080";
	assert_int_equal(serve_on_repo_file(&s, "GET", "/repos/main.repo", header_of, NULL, &r), 1);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "baseurl=http://ci.example:8080/repos/main/current/\n"));
	assert_non_null(strstr(r.body, "repo_gpgcheck=1\n"));
	server_http_response_release(&r);
	/* A Host that could break the file is not taken. */
	host_header = "evil\n[x]";
	assert_int_equal(serve_on_repo_file(&s, "GET", "/repos/main.repo", header_of, NULL, &r), 1);
	assert_non_null(strstr(r.body, "baseurl=http://127.0.0.1:8080/repos/main/current/\n"));
	server_http_response_release(&r);
	/* A configured serve.url wins over the Host. */
	host_header = "ci.example:8080";
	s.conf.url = "https://shipyard.example";
	s.conf.url_is_default = 0;
	assert_int_equal(serve_on_repo_file(&s, "GET", "/repos/main.repo", header_of, NULL, &r), 1);
	assert_non_null(strstr(r.body, "baseurl=https://shipyard.example/repos/main/current/\n"));
	server_http_response_release(&r);
	assert_int_equal(serve_on_repo_file(&s, "GET", "/repos/other.repo", header_of, NULL, &r), 1);
	assert_int_equal(r.status, 404);
	server_http_response_release(&r);
	assert_int_equal(serve_on_repo_file(&s, "POST", "/repos/main.repo", header_of, NULL, &r), 1);
	assert_int_equal(r.status, 405);
	server_http_response_release(&r);
	/* The repositories' own files are not this route's. */
	assert_int_equal(serve_on_repo_file(&s, "GET", "/repos/main/current/repodata/repomd.xml",
					    header_of, NULL, &r), 0);
	assert_int_equal(serve_on_repo_file(&s, "GET", "/repos/.repo", header_of, NULL, &r), 0);
	free(snap);
	sy_rm_rf(dir, NULL);
	free(dir);
}

static void test_serveconf_signkey_is_inherited_overridden_and_kept_private(void **state)
{
	char *dir = test_tmpdir(), *path = sy_xasprintf("%s/serve.conf", dir);
	char *key = sy_xasprintf("%s/key.asc", dir), *own = sy_xasprintf("%s/own.asc", dir);
	struct server_conf conf;
	struct sy_error err = { { 0 } };

	(void)state;
	test_write_file(dir, "key.asc", "k\n");
	test_write_file(dir, "own.asc", "o\n");
	assert_int_equal(chmod(key, 0600), 0);
	assert_int_equal(chmod(own, 0400), 0);
	test_write_file(dir, "serve.conf",
			"[publish]\n\tsignkey = key.asc\n"
			"[repo \"a\"]\n\tremote = file:///srv/a.git\n"
			"[repo \"b\"]\n\tremote = file:///srv/b.git\n\tsignkey = own.asc\n");
	assert_ok(server_conf_read(path, &conf, &err), &err);
	assert_string_equal(conf.sign_key, key);
	assert_string_equal(server_conf_repo(&conf, "a")->sign_key, key);
	assert_string_equal(server_conf_repo(&conf, "b")->sign_key, own);
	server_conf_release(&conf);
	assert_int_equal(chmod(key, 0644), 0);
	assert_int_equal(server_conf_read(path, &conf, &err), -1);
	assert_non_null(strstr(err.msg, "publish.signkey"));
	assert_non_null(strstr(err.msg, "mode 0644"));
	free(own);
	free(key);
	free(path);
	sy_rm_rf(dir, NULL);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_repo_file_of_an_unsigned_channel_turns_the_checks_off),
		cmocka_unit_test(test_repo_file_of_a_signed_channel_checks_packages_and_metadata),
		cmocka_unit_test(test_repo_file_percent_encodes_the_channel),
		cmocka_unit_test(test_serve_answers_repo_files_at_the_host_asked),
		cmocka_unit_test(test_serveconf_signkey_is_inherited_overridden_and_kept_private),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
