/* Secrets handed over by systemd (LoadCredential=): "credential:NAME" in the
 * service's configuration is the file NAME of $CREDENTIALS_DIRECTORY,
 * checked as any secret file is; without the variable the error names it. */
#include "testutil.h"

#include <sys/stat.h>

#include "server/serveconf.h"

static const char conf_text[] =
	"[serve]\n\tstate = st\n"
	"[repo \"mini\"]\n\tremote = file:///srv/mini.git\n\tforge = github\n"
	"\tapi = http://127.0.0.1:1\n\tproject = o/mini\n"
	"\ttokenfile = credential:forge-token\n\tsecretfile = credential:webhook-secret\n";

static void write_secret(const char *dir, const char *name, mode_t mode)
{
	char *path = sy_xasprintf("%s/%s", dir, name);

	test_write_file(dir, name, "s3cret\n");
	assert_int_equal(chmod(path, mode), 0);
	free(path);
}

static void test_credential_paths_resolve_to_credentials_directory(void **state)
{
	char *dir = test_tmpdir(), *creds = sy_xasprintf("%s/creds", dir);
	char *conf_path = sy_xasprintf("%s/serve.conf", dir);
	char *token = sy_xasprintf("%s/forge-token", creds);
	char *secret = sy_xasprintf("%s/webhook-secret", creds);
	struct server_conf conf;
	struct sy_error err = { { 0 } };

	(void)state;
	test_write_file(dir, "serve.conf", conf_text);
	write_secret(creds, "forge-token", 0400); /* as systemd leaves them */
	write_secret(creds, "webhook-secret", 0400);
	setenv("CREDENTIALS_DIRECTORY", creds, 1);
	assert_ok(server_conf_read(conf_path, &conf, &err), &err);
	assert_string_equal(conf.repos[0].token_file, token);
	assert_string_equal(conf.repos[0].secret_file, secret);
	server_conf_release(&conf);

	/* Checked as any secret: others may not read it. */
	assert_int_equal(chmod(secret, 0644), 0);
	assert_int_equal(server_conf_read(conf_path, &conf, &err), -1);
	assert_non_null(strstr(err.msg, "repo.mini.secretfile"));
	assert_non_null(strstr(err.msg, "mode 0644"));
	unsetenv("CREDENTIALS_DIRECTORY");
	sy_rm_rf(dir, NULL);
	free(secret);
	free(token);
	free(conf_path);
	free(creds);
	free(dir);
}

static void test_credential_without_credentials_directory_is_named_in_error(void **state)
{
	char *dir = test_tmpdir(), *conf_path = sy_xasprintf("%s/serve.conf", dir);
	struct server_conf conf;
	struct sy_error err = { { 0 } };

	(void)state;
	unsetenv("CREDENTIALS_DIRECTORY");
	test_write_file(dir, "serve.conf", conf_text);
	assert_int_equal(server_conf_read(conf_path, &conf, &err), -1);
	assert_non_null(strstr(err.msg, "$CREDENTIALS_DIRECTORY/"));
	sy_rm_rf(dir, NULL);
	free(conf_path);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_credential_paths_resolve_to_credentials_directory),
		cmocka_unit_test(test_credential_without_credentials_directory_is_named_in_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
