/* The API's writers (server/apitokens.h): the token file is refused when
 * group or others may read it, its lines are parsed strictly with errors
 * that name the line and never a token, a presented token is compared with
 * every configured one in constant time (CRYPTO_memcmp over fixed-size
 * digests, counted here by standing in for OpenSSL's), and the
 * Authorization header's Bearer credential is found. */
#include "testutil.h"

#include <sys/stat.h>

#include "server/apitokens.h"
#include "server/serveconf.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Calls of CRYPTO_memcmp and the lengths they compared. This definition
 * takes the place of libcrypto's for the code linked into this test (the
 * executable's symbol wins over the shared library's), so that the test
 * sees which comparison the check uses. Constant time as OpenSSL's. */
static struct {
	int calls;
	size_t lengths[16];
} memcmp_seen;

int CRYPTO_memcmp(const void *a, const void *b, size_t len)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char diff = 0;

	if (memcmp_seen.calls < (int)NITEMS(memcmp_seen.lengths))
		memcmp_seen.lengths[memcmp_seen.calls] = len;
	memcmp_seen.calls++;
	for (size_t i = 0; i < len; i++)
		diff |= x[i] ^ y[i];
	return diff != 0;
}

#define ALICE "0123456789abcdef0123456789abcdef"
#define BOT "Zz9-release-bot-token-!~"

/* Writes text to dir/name with mode; returns the path (caller frees). */
static char *token_file(const char *dir, const char *name, const char *text, mode_t mode)
{
	char *path = sy_xasprintf("%s/%s", dir, name);

	test_write_file(dir, name, text);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static void test_apitokens_file_open_to_group_or_others_is_refused(void **state)
{
	char *dir = test_tmpdir();
	char *path = token_file(dir, "api-tokens", "alice " ALICE "\n", 0644);
	struct server_api_tokens t = SERVER_API_TOKENS_INIT;
	struct sy_error err = { { 0 } };
	static const mode_t refused[] = { 0644, 0640, 0604, 0660, 0602 };

	(void)state;
	for (size_t i = 0; i < NITEMS(refused); i++) {
		char want[64];
		assert_int_equal(chmod(path, refused[i]), 0);
		assert_int_equal(server_api_tokens_load(path, &t, &err), -1);
		snprintf(want, sizeof(want), "(mode %04o); chmod 600 it", (unsigned)refused[i]);
		assert_non_null(strstr(err.msg, want));
		assert_non_null(strstr(err.msg, "serve.apitokens"));
		assert_int_equal(t.n, 0);
	}
	assert_int_equal(chmod(path, 0600), 0);
	assert_ok(server_api_tokens_load(path, &t, &err), &err);
	assert_int_equal(t.n, 1);
	server_api_tokens_release(&t);
	assert_int_equal(chmod(path, 0400), 0);
	assert_ok(server_api_tokens_load(path, &t, &err), &err);
	server_api_tokens_release(&t);

	/* The service refuses to start with such a file. */
	char *conf = sy_xasprintf("%s/serve.conf", dir);
	struct server_conf c;
	test_write_file(dir, "serve.conf", "[serve]\n\tapitokens = api-tokens\n");
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(server_conf_read(conf, &c, &err), -1);
	assert_non_null(strstr(err.msg, "serve.apitokens"));
	assert_non_null(strstr(err.msg, "group or others may access it (mode 0640)"));
	assert_int_equal(chmod(path, 0600), 0);
	assert_ok(server_conf_read(conf, &c, &err), &err);
	assert_string_equal(c.api_tokens_file, path);
	server_conf_release(&c);
	test_write_file(dir, "serve.conf", "[serve]\n\tapitokens = missing\n");
	assert_int_equal(server_conf_read(conf, &c, &err), -1);
	assert_non_null(strstr(err.msg, "No such file"));
	test_write_file(dir, "serve.conf", "[serve]\n\tlisten = 127.0.0.1:0\n");
	assert_ok(server_conf_read(conf, &c, &err), &err);
	assert_null(c.api_tokens_file);
	server_conf_release(&c);
	free(conf);
	free(path);
	sy_rm_rf(dir, NULL);
	free(dir);
}

static void test_apitokens_lines_are_name_and_token_with_comments(void **state)
{
	char *dir = test_tmpdir();
	char *path = token_file(dir, "tokens",
				"# who  token\n"
				"\n"
				"alice " ALICE "\n"
				"   # indented comment\r\n"
				"\trelease-bot\t\t" BOT "  \r\n"
				"a.b_c@d-e " ALICE "x\n",
				0600);
	struct server_api_tokens t = SERVER_API_TOKENS_INIT;
	struct sy_error err = { { 0 } };

	(void)state;
	assert_ok(server_api_tokens_load(path, &t, &err), &err);
	assert_int_equal(t.n, 3);
	assert_string_equal(t.items[0].name, "alice");
	assert_string_equal(t.items[1].name, "release-bot");
	assert_string_equal(t.items[2].name, "a.b_c@d-e");
	/* Only digests are kept. */
	for (size_t i = 0; i < t.n; i++)
		assert_int_equal(strlen(t.items[i].digest), SY_SHA256_HEX_LEN);
	server_api_tokens_release(&t);
	assert_null(t.items);
	free(path);
	sy_rm_rf(dir, NULL);
	free(dir);
}

static void test_apitokens_bad_lines_name_the_line_never_the_token(void **state)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "alice\n", "tokens:1: alice: no token" },
		{ "\nalice 0123456789abcde\n", "tokens:2: alice: a token is 16 to 512 printable" },
		{ "alice " ALICE " extra\n", "tokens:1: alice: more than a name and a token" },
		{ "al/ice " ALICE "\n", "tokens:1: a name is 1 to 64 letters" },
		{ "alice " ALICE "\nalice " BOT "\n", "tokens:2: alice: named twice" },
		{ "alice " ALICE "\nbob " ALICE "\n", "tokens:2: bob: the same token as alice" },
		{ "alice 0123456789abcdef\x01" "0123\n", "tokens:1: alice: a token is" },
		{ "# nobody\n\n", "tokens: no token" },
		{ "", "tokens: no token" },
	};
	char *dir = test_tmpdir();
	struct server_api_tokens t = SERVER_API_TOKENS_INIT;

	(void)state;
	for (size_t i = 0; i < NITEMS(bad); i++) {
		struct sy_error err = { { 0 } };
		char *path = token_file(dir, "tokens", bad[i].text, 0600);
		assert_int_equal(server_api_tokens_load(path, &t, &err), -1);
		if (!strstr(err.msg, bad[i].want))
			fail_msg("line %zu: '%s' lacks '%s'", i, err.msg, bad[i].want);
		assert_null(strstr(err.msg, ALICE));
		assert_null(strstr(err.msg, BOT));
		assert_null(strstr(err.msg, "0123456789abcde"));
		assert_int_equal(t.n, 0);
		assert_null(t.items);
		free(path);
	}
	sy_rm_rf(dir, NULL);
	free(dir);
}

/* Every configured token is compared, with CRYPTO_memcmp over digests of
 * one fixed size, whether the presented token matches the first entry, the
 * last, none, or is a prefix, a longer or an empty string. */
static void test_apitokens_check_compares_every_token_in_constant_time(void **state)
{
	char *dir = test_tmpdir();
	char *path = token_file(dir, "tokens",
				"alice " ALICE "\nbob " BOT "\ncarol " ALICE "ZZ\n", 0600);
	struct server_api_tokens t = SERVER_API_TOKENS_INIT;
	struct sy_error err = { { 0 } };
	static const struct {
		const char *token, *name;
	} cases[] = {
		{ ALICE, "alice" },
		{ BOT, "bob" },
		{ ALICE "ZZ", "carol" },
		{ "0123456789abcdef0123456789abcdeF", NULL }, /* differs in the last byte */
		{ "0123456789abcdef", NULL },                 /* a prefix */
		{ ALICE "Z", NULL },
		{ "", NULL },
	};

	(void)state;
	assert_ok(server_api_tokens_load(path, &t, &err), &err);
	for (size_t i = 0; i < NITEMS(cases); i++) {
		memset(&memcmp_seen, 0, sizeof(memcmp_seen));
		const struct server_api_token *got =
			server_api_tokens_check(&t, cases[i].token, strlen(cases[i].token));
		if (cases[i].name) {
			assert_non_null(got);
			assert_string_equal(got->name, cases[i].name);
		} else {
			assert_null(got);
		}
		assert_int_equal(memcmp_seen.calls, 3);
		for (int k = 0; k < 3; k++)
			assert_int_equal(memcmp_seen.lengths[k], SY_SHA256_HEX_LEN);
	}
	/* The length given counts, not a NUL: "Bearer <token>" points into a
	 * header. */
	assert_non_null(server_api_tokens_check(&t, ALICE " trailing", strlen(ALICE)));
	server_api_tokens_release(&t);
	free(path);
	sy_rm_rf(dir, NULL);
	free(dir);
}

static void test_apitokens_bearer_credential_of_authorization_header(void **state)
{
	size_t len = 0;
	const char *tok;

	(void)state;
	tok = server_api_bearer("Bearer " ALICE, &len);
	assert_non_null(tok);
	assert_int_equal(len, strlen(ALICE));
	assert_memory_equal(tok, ALICE, len);
	tok = server_api_bearer("bearer\t  abc  ", &len);
	assert_non_null(tok);
	assert_int_equal(len, 3);
	assert_memory_equal(tok, "abc", 3);
	assert_null(server_api_bearer(NULL, &len));
	assert_null(server_api_bearer("", &len));
	assert_null(server_api_bearer("Bearer", &len));
	assert_null(server_api_bearer("Bearer   ", &len));
	assert_null(server_api_bearer("Basic YWxpY2U6eA==", &len));
	assert_null(server_api_bearer("Bearerabc", &len));
	assert_null(server_api_bearer("Bearer a b", &len));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apitokens_file_open_to_group_or_others_is_refused),
		cmocka_unit_test(test_apitokens_lines_are_name_and_token_with_comments),
		cmocka_unit_test(test_apitokens_bad_lines_name_the_line_never_the_token),
		cmocka_unit_test(test_apitokens_check_compares_every_token_in_constant_time),
		cmocka_unit_test(test_apitokens_bearer_credential_of_authorization_header),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
