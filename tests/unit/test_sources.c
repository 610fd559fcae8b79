/* Source verification against <spec>.signatures.json. */
#include "testutil.h"

#include <sys/stat.h>

#include "builder/sources.h"
#include "common/hash.h"

/* A spec directory with two sources and a patch; the signatures file names
 * the two sources with their real digests. */
struct fixture {
	char *dir;
	char *sig;
};

static void write_text(const char *dir, const char *name, const char *text)
{
	struct sy_error err = { { 0 } };
	char *path = sy_xasprintf("%s/%s", dir, name);

	assert_ok(sy_write_file(path, text, strlen(text), 0644, &err), &err);
	free(path);
}

static int setup(void **state)
{
	struct fixture *f = sy_xcalloc(1, sizeof(*f));
	char tar[SY_SHA256_HEX_LEN + 1], conf[SY_SHA256_HEX_LEN + 1];
	char *json;

	f->dir = test_tmpdir();
	f->sig = sy_xasprintf("%s/zlib.signatures.json", f->dir);
	write_text(f->dir, "zlib-1.3.tar.xz", "tarball content\n");
	write_text(f->dir, "zlib.conf", "conf\n");
	write_text(f->dir, "fix-build.patch", "--- a\n+++ b\n");
	sy_sha256_buf("tarball content\n", 16, tar);
	sy_sha256_buf("conf\n", 5, conf);
	json = sy_xasprintf("{\n \"Signatures\": {\n  \"zlib-1.3.tar.xz\": \"%s\",\n"
			    "  \"zlib.conf\": \"%s\"\n }\n}\n", tar, conf);
	write_text(f->dir, "zlib.signatures.json", json);
	free(json);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };

	sy_rm_rf(f->dir, &err);
	free(f->dir);
	free(f->sig);
	free(f);
	return 0;
}

static void sources_of(struct sy_strv *v, const char *a, const char *b)
{
	sy_strv_push(v, a);
	if (b)
		sy_strv_push(v, b);
}

static void test_sources_verify_accepts_matching_files(void **state)
{
	struct fixture *f = *state;
	struct sy_strv src = SY_STRV_INIT;
	struct sy_error err = { { 0 } };

	sources_of(&src, "zlib-1.3.tar.xz", "zlib.conf");
	assert_ok(builder_sources_verify(f->dir, f->sig, &src, &err), &err);
	sy_strv_release(&src);
}

static void test_sources_verify_uses_basename_of_source_urls(void **state)
{
	struct fixture *f = *state;
	struct sy_strv src = SY_STRV_INIT;
	struct sy_error err = { { 0 } };

	sources_of(&src, "https://example.org/releases/zlib-1.3.tar.xz", NULL);
	assert_ok(builder_sources_verify(f->dir, f->sig, &src, &err), &err);
	sy_strv_release(&src);
}

static void test_sources_verify_rejects_sha256_mismatch(void **state)
{
	struct fixture *f = *state;
	struct sy_strv src = SY_STRV_INIT;
	struct sy_error err = { { 0 } };

	write_text(f->dir, "zlib-1.3.tar.xz", "tampered tarball\n");
	sources_of(&src, "zlib.conf", "zlib-1.3.tar.xz");
	assert_int_equal(builder_sources_verify(f->dir, f->sig, &src, &err), -1);
	assert_non_null(strstr(err.msg, f->sig));
	assert_non_null(strstr(err.msg, "zlib-1.3.tar.xz: SHA-256 mismatch: expected "));
	sy_strv_release(&src);
}

static void test_sources_verify_rejects_source_without_signature(void **state)
{
	struct fixture *f = *state;
	struct sy_strv src = SY_STRV_INIT;
	struct sy_error err = { { 0 } };

	write_text(f->dir, "extra.tar.gz", "extra\n");
	sources_of(&src, "zlib-1.3.tar.xz", "extra.tar.gz");
	assert_int_equal(builder_sources_verify(f->dir, f->sig, &src, &err), -1);
	assert_non_null(strstr(err.msg, "extra.tar.gz: no signature"));
	sy_strv_release(&src);
}

static void test_sources_verify_rejects_missing_source_file(void **state)
{
	struct fixture *f = *state;
	struct sy_strv src = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	char *path = sy_xasprintf("%s/zlib.conf", f->dir);

	unlink(path);
	sources_of(&src, "zlib-1.3.tar.xz", "zlib.conf");
	assert_int_equal(builder_sources_verify(f->dir, f->sig, &src, &err), -1);
	assert_non_null(strstr(err.msg, "zlib.conf: missing source"));
	free(path);
	sy_strv_release(&src);
}

static void test_sources_verify_missing_signatures_file_counts_as_empty(void **state)
{
	struct fixture *f = *state;
	struct sy_strv src = SY_STRV_INIT;
	struct sy_error err = { { 0 } };

	unlink(f->sig);
	sources_of(&src, "zlib.conf", NULL);
	assert_int_equal(builder_sources_verify(f->dir, f->sig, &src, &err), -1);
	assert_non_null(strstr(err.msg, "zlib.conf: no signature"));
	sy_strv_release(&src);
}

static void test_sources_verify_does_not_need_patches_signed(void **state)
{
	struct fixture *f = *state;
	struct sy_strv src = SY_STRV_INIT;
	struct sy_error err = { { 0 } };

	/* Callers pass Source files only; the unsigned patch beside them in the
	 * spec directory does not matter. */
	sources_of(&src, "zlib-1.3.tar.xz", "zlib.conf");
	assert_true(sy_exists(f->dir));
	assert_ok(builder_sources_verify(f->dir, f->sig, &src, &err), &err);
	sy_strv_release(&src);
}

static void test_sources_verify_rejects_malformed_signatures_file(void **state)
{
	struct fixture *f = *state;
	struct sy_strv src = SY_STRV_INIT;
	struct sy_error err = { { 0 } };

	write_text(f->dir, "zlib.signatures.json", "{\"Signatures\": {\"zlib.conf\": ");
	sources_of(&src, "zlib.conf", NULL);
	assert_int_equal(builder_sources_verify(f->dir, f->sig, &src, &err), -1);
	assert_non_null(strstr(err.msg, f->sig));
	sy_strv_release(&src);
}

static void test_sources_verify_rejects_symlinked_source(void **state)
{
	struct fixture *f = *state;
	struct sy_strv src = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	char *outside = sy_xasprintf("%s/outside", f->dir);
	char *conf = sy_xasprintf("%s/zlib.conf", f->dir);

	/* The link's target has the signed content: only following the link
	 * would make it pass. */
	write_text(f->dir, "outside", "conf\n");
	unlink(conf);
	assert_int_equal(symlink(outside, conf), 0);
	sources_of(&src, "zlib.conf", NULL);
	assert_int_equal(builder_sources_verify(f->dir, f->sig, &src, &err), -1);
	assert_non_null(strstr(err.msg, "zlib.conf: not a regular file"));
	free(outside);
	free(conf);
	sy_strv_release(&src);
}

static void test_sources_verify_rejects_fifo_source_without_blocking(void **state)
{
	struct fixture *f = *state;
	struct sy_strv src = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	char *conf = sy_xasprintf("%s/zlib.conf", f->dir);

	unlink(conf);
	assert_int_equal(mkfifo(conf, 0644), 0);
	sources_of(&src, "zlib.conf", NULL);
	assert_int_equal(builder_sources_verify(f->dir, f->sig, &src, &err), -1);
	assert_non_null(strstr(err.msg, "zlib.conf: not a regular file"));
	free(conf);
	sy_strv_release(&src);
}

static void test_sources_verify_rejects_symlinked_signatures_file(void **state)
{
	struct fixture *f = *state;
	struct sy_strv src = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	char *real = sy_xasprintf("%s/real.json", f->dir);

	assert_int_equal(rename(f->sig, real), 0);
	assert_int_equal(symlink(real, f->sig), 0);
	sources_of(&src, "zlib.conf", NULL);
	assert_int_equal(builder_sources_verify(f->dir, f->sig, &src, &err), -1);
	assert_non_null(strstr(err.msg, "not a regular file"));
	assert_non_null(strstr(err.msg, f->sig));
	free(real);
	sy_strv_release(&src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sources_verify_accepts_matching_files, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sources_verify_uses_basename_of_source_urls,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_sources_verify_rejects_sha256_mismatch, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sources_verify_rejects_source_without_signature,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_sources_verify_rejects_missing_source_file,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_sources_verify_missing_signatures_file_counts_as_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sources_verify_does_not_need_patches_signed,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_sources_verify_rejects_malformed_signatures_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sources_verify_rejects_symlinked_source, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_sources_verify_rejects_fifo_source_without_blocking, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_sources_verify_rejects_symlinked_signatures_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
