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

/* builder_sources_hydrate for spec "zlib" with the source cache cache (NULL:
 * none), the sources.url values urls (NULL-terminated) and mode. */
static int hydrate_with(struct fixture *f, const struct sy_strv *v, const char *cache,
			const char *const *urls, enum planner_signature_mode mode,
			struct sy_error *err)
{
	struct sy_strv templates = SY_STRV_INIT;
	char *template;
	int rc;

	for (; urls && *urls; urls++) {
		assert_ok(planner_source_url_parse(*urls, &template, err), err);
		sy_strv_push_owned(&templates, template);
	}
	const struct builder_sources_origin origin = {
		.spec_name = "zlib", .cache_dir = cache, .urls = &templates,
		.signatures = mode, .log_fd = -1,
	};
	rc = builder_sources_hydrate(f->dir, f->sig, v, &origin, err);
	sy_strv_release(&templates);
	return rc;
}

/* The same with one sources.url value (or none), signatures enforced. */
static int hydrate(struct fixture *f, const struct sy_strv *v, const char *cache,
		   const char *url, struct sy_error *err)
{
	const char *const urls[] = { url, NULL };

	return hydrate_with(f, v, cache, urls, PLANNER_SIGNATURES_ENFORCE, err);
}

/* A "server" directory reached with a file:// URL, and a cache directory. */
static char *make_dir(const char *parent, const char *name)
{
	struct sy_error err = { { 0 } };
	char *dir = sy_xasprintf("%s/%s", parent, name);

	assert_ok(sy_mkdir_p(dir, 0755, &err), &err);
	return dir;
}

static void test_sources_hydrate_downloads_missing_source_into_cache_and_dir(void **state)
{
	struct fixture *f = *state;
	struct sy_strv v = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	char *server = make_dir(f->dir, "server"), *cache = sy_xasprintf("%s/cache", f->dir);
	char *url = sy_xasprintf("file://%s", server), *got, *path;

	char sha[SY_SHA256_HEX_LEN + 1];

	write_text(server, "extra-2.0.tar.gz", "from the server\n");
	sy_sha256_buf("from the server\n", 16, sha);
	sources_of(&v, "https://example.invalid/extra-2.0.tar.gz", "zlib-1.3.tar.xz");
	assert_ok(hydrate(f, &v, cache, url, &err), &err);
	path = sy_xasprintf("%s/extra-2.0.tar.gz", f->dir);
	assert_ok(sy_read_file(path, &got, NULL, &err), &err);
	assert_string_equal(got, "from the server\n");
	free(got);
	free(path);
	/* The cache holds it under its SHA-256. */
	path = sy_xasprintf("%s/%s", cache, sha);
	assert_true(sy_exists(path));
	free(path);
	/* The present source was left as it was. */
	path = sy_xasprintf("%s/zlib-1.3.tar.xz", f->dir);
	assert_ok(sy_read_file(path, &got, NULL, &err), &err);
	assert_string_equal(got, "tarball content\n");
	free(got);
	free(path);
	sy_strv_release(&v);
	free(url);
	free(cache);
	free(server);
}

/* A Source named "..%2Fsecret" asks a file:// source server for the file
 * beside its directory once libcurl decodes %2F: the name is escaped in the
 * URL, so only a file literally named so could be fetched; the host file is
 * not read, and nothing lands in the cache. What the cache holds is for
 * shipyard only. */
static void test_sources_hydrate_escaped_name_cannot_leave_the_source_server(void **state)
{
	struct fixture *f = *state;
	struct sy_strv v = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	char *server = make_dir(f->dir, "server"), *cache = sy_xasprintf("%s/cache", f->dir);
	char *url = sy_xasprintf("file://%s", server), *path;
	struct sy_strv cached = SY_STRV_INIT;
	struct stat st;

	write_text(f->dir, "secret", "host secret\n");
	sources_of(&v, "https://example.invalid/..%2Fsecret", NULL);
	assert_int_equal(hydrate(f, &v, cache, url, &err), -1);
	assert_non_null(strstr(err.msg, "..%2Fsecret: missing source"));
	path = sy_xasprintf("%s/..%%2Fsecret", f->dir);
	assert_false(sy_exists(path));
	free(path);
	sy_list_dir(cache, &cached);
	assert_int_equal(cached.n, 0);
	/* A name with a control character is no file name. */
	sy_strv_release(&v);
	sources_of(&v, "evil\nshipyard: fake log line", NULL);
	assert_int_equal(hydrate(f, &v, cache, url, &err), -1);
	assert_non_null(strstr(err.msg, "not a file name"));
	/* A legitimate download: cache directory and file private. */
	sy_strv_release(&v);
	write_text(server, "a+b 1.0.tar", "plus\n");
	sources_of(&v, "a+b 1.0.tar", NULL);
	assert_ok(hydrate(f, &v, cache, url, &err), &err);
	assert_int_equal(stat(cache, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	sy_list_dir(cache, &cached);
	assert_int_equal(cached.n, 1);
	path = sy_xasprintf("%s/%s", cache, cached.items[0]);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	free(path);
	sy_strv_release(&cached);
	sy_strv_release(&v);
	free(url);
	free(cache);
	free(server);
}

static void test_sources_hydrate_takes_signed_source_from_cache_by_sha256(void **state)
{
	struct fixture *f = *state;
	struct sy_strv v = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	char *cache = make_dir(f->dir, "cache"), *path = sy_xasprintf("%s/zlib-1.3.tar.xz", f->dir);
	char sha[SY_SHA256_HEX_LEN + 1];

	/* The tarball is not in the spec directory; the cache has it under the
	 * digest the signatures file names. */
	assert_int_equal(unlink(path), 0);
	sy_sha256_buf("tarball content\n", 16, sha);
	write_text(cache, sha, "tarball content\n");
	sources_of(&v, "zlib-1.3.tar.xz", NULL);
	assert_ok(hydrate(f, &v, cache, NULL, &err), &err);
	assert_ok(builder_sources_verify(f->dir, f->sig, &v, &err), &err);
	sy_strv_release(&v);
	free(path);
	free(cache);
}

static void test_sources_hydrate_names_source_missing_everywhere(void **state)
{
	struct fixture *f = *state;
	struct sy_strv v = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	char *server = make_dir(f->dir, "server"), *cache = sy_xasprintf("%s/cache", f->dir);
	char *url = sy_xasprintf("file://%s", server), *part;

	sources_of(&v, "nowhere-1.0.tar.gz", NULL);
	assert_int_equal(hydrate(f, &v, cache, url, &err), -1);
	assert_non_null(strstr(err.msg, "nowhere-1.0.tar.gz: missing source"));
	assert_non_null(strstr(err.msg, "nowhere-1.0.tar.gz"));
	/* Nothing half-written is left in the cache. */
	part = sy_xasprintf("test -z \"$(ls -A '%s' 2>/dev/null)\"", cache);
	test_sh(part);
	free(part);
	sy_strv_release(&v);
	free(url);
	free(cache);
	free(server);
}

/* dir/name exists and holds want. */
static void assert_text(const char *dir, const char *name, const char *want)
{
	struct sy_error err = { { 0 } };
	char *path = sy_xasprintf("%s/%s", dir, name), *text;

	assert_ok(sy_read_file(path, &text, NULL, &err), &err);
	assert_string_equal(text, want);
	free(text);
	free(path);
}

/* The cache directory holds exactly the file sha, or nothing (sha NULL). */
static void assert_cache_holds(const char *cache, const char *sha)
{
	struct sy_strv cached = SY_STRV_INIT;

	sy_list_dir(cache, &cached);
	assert_int_equal(cached.n, sha ? 1 : 0);
	if (sha)
		assert_string_equal(cached.items[0], sha);
	sy_strv_release(&cached);
}

/* Removes the fixture's tarball from the spec directory: the signatures
 * file still names it with the SHA-256 of "tarball content\n" (returned). */
static void drop_tarball(struct fixture *f, char sha[SY_SHA256_HEX_LEN + 1])
{
	char *path = sy_xasprintf("%s/zlib-1.3.tar.xz", f->dir);

	assert_int_equal(unlink(path), 0);
	free(path);
	sy_sha256_buf("tarball content\n", 16, sha);
}

static void test_sources_hydrate_fetches_from_fedora_lookaside_by_signed_sha256(void **state)
{
	struct fixture *f = *state;
	struct sy_strv v = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	char sha[SY_SHA256_HEX_LEN + 1], *tree, *url;
	char *cache = sy_xasprintf("%s/cache", f->dir);

	drop_tarball(f, sha);
	tree = sy_xasprintf("%s/lookaside/zlib/zlib-1.3.tar.xz/sha256/%s", f->dir, sha);
	assert_ok(sy_mkdir_p(tree, 0755, &err), &err);
	write_text(tree, "zlib-1.3.tar.xz", "tarball content\n");
	url = sy_xasprintf("file://%s/lookaside/%%{name}/%%{file}/sha256/%%{sha256}/%%{file}",
			   f->dir);
	sources_of(&v, "zlib-1.3.tar.xz", NULL);
	assert_ok(hydrate(f, &v, cache, url, &err), &err);
	assert_text(f->dir, "zlib-1.3.tar.xz", "tarball content\n");
	assert_ok(builder_sources_verify(f->dir, f->sig, &v, &err), &err);
	assert_cache_holds(cache, sha);
	sy_strv_release(&v);
	free(url);
	free(tree);
	free(cache);
}

/* Three servers: the first lacks the file, the second holds other content
 * under its name (a stale or tampered mirror), the third the signed
 * content. The third's is taken; the second's is kept nowhere. */
static void test_sources_hydrate_tries_source_urls_in_order_until_signed_content(void **state)
{
	struct fixture *f = *state;
	struct sy_strv v = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	char sha[SY_SHA256_HEX_LEN + 1];
	char *empty = make_dir(f->dir, "empty"), *bad = make_dir(f->dir, "bad");
	char *good = make_dir(f->dir, "good"), *cache = sy_xasprintf("%s/cache", f->dir);
	char *u1 = sy_xasprintf("file://%s", empty), *u2 = sy_xasprintf("file://%s", bad);
	char *u3 = sy_xasprintf("file://%s/%%{file}", good);
	const char *const urls[] = { u1, u2, u3, NULL };

	drop_tarball(f, sha);
	write_text(bad, "zlib-1.3.tar.xz", "tampered\n");
	write_text(good, "zlib-1.3.tar.xz", "tarball content\n");
	sources_of(&v, "zlib-1.3.tar.xz", NULL);
	assert_ok(hydrate_with(f, &v, cache, urls, PLANNER_SIGNATURES_ENFORCE, &err), &err);
	assert_text(f->dir, "zlib-1.3.tar.xz", "tarball content\n");
	assert_cache_holds(cache, sha);
	/* An unsigned source: nothing to check, the first server that has it
	 * wins. */
	write_text(bad, "extra.tar", "from bad\n");
	write_text(good, "extra.tar", "from good\n");
	sy_strv_release(&v);
	sources_of(&v, "extra.tar", NULL);
	assert_ok(hydrate_with(f, &v, cache, urls, PLANNER_SIGNATURES_ENFORCE, &err), &err);
	assert_text(f->dir, "extra.tar", "from bad\n");
	sy_strv_release(&v);
	free(u1);
	free(u2);
	free(u3);
	free(cache);
	free(good);
	free(bad);
	free(empty);
}

/* Every server fails: the error is one line naming the source and why each
 * failed, and nothing is left in the spec directory or the cache. Without
 * enforcement the mismatching content is taken (the toolkit's skip and
 * update): builder_sources_check decides. */
static void test_sources_hydrate_names_why_each_source_url_failed(void **state)
{
	struct fixture *f = *state;
	struct sy_strv v = SY_STRV_INIT, left = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	char sha[SY_SHA256_HEX_LEN + 1], bad_sha[SY_SHA256_HEX_LEN + 1], *want;
	char *empty = make_dir(f->dir, "empty"), *bad = make_dir(f->dir, "bad");
	char *cache = sy_xasprintf("%s/cache", f->dir);
	char *u1 = sy_xasprintf("file://%s", empty), *u2 = sy_xasprintf("file://%s", bad);
	const char *const urls[] = { u1, u2, NULL };

	drop_tarball(f, sha);
	write_text(bad, "zlib-1.3.tar.xz", "tampered\n");
	sy_sha256_buf("tampered\n", 9, bad_sha);
	sources_of(&v, "zlib-1.3.tar.xz", NULL);
	assert_int_equal(hydrate_with(f, &v, cache, urls, PLANNER_SIGNATURES_ENFORCE, &err), -1);
	assert_null(strchr(err.msg, '\n'));
	want = sy_xasprintf("zlib-1.3.tar.xz: missing source: not in the spec directory, the "
			    "source cache or at a source URL: %s/zlib-1.3.tar.xz: ", u1);
	assert_true(!strncmp(err.msg, want, strlen(want)));
	free(want);
	want = sy_xasprintf("; %s/zlib-1.3.tar.xz: SHA-256 mismatch: expected %s, got %s", u2, sha,
			    bad_sha);
	assert_non_null(strstr(err.msg, want));
	free(want);
	assert_cache_holds(cache, NULL);
	sy_list_dir(f->dir, &left);
	for (size_t i = 0; i < left.n; i++)
		assert_null(strstr(left.items[i], "download"));
	assert_false(sy_strv_contains(&left, "zlib-1.3.tar.xz"));
	sy_strv_release(&left);
	assert_ok(hydrate_with(f, &v, cache, urls, PLANNER_SIGNATURES_SKIP, &err), &err);
	assert_text(f->dir, "zlib-1.3.tar.xz", "tampered\n");
	sy_strv_release(&v);
	free(u1);
	free(u2);
	free(cache);
	free(bad);
	free(empty);
}

/* A template naming %{sha256} cannot name a source the signatures file does
 * not sign: it is passed over, saying so, for the next URL. */
static void test_sources_hydrate_passes_over_sha256_url_for_unsigned_source(void **state)
{
	struct fixture *f = *state;
	struct sy_strv v = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	char *flat = make_dir(f->dir, "flat");
	char *u1 = sy_xasprintf("file://%s/%%{name}/%%{file}/sha256/%%{sha256}/%%{file}", f->dir);
	char *u2 = sy_xasprintf("file://%s", flat);
	const char *const both[] = { u1, u2, NULL }, *const one[] = { u1, NULL };

	write_text(flat, "extra.tar", "flat\n");
	sources_of(&v, "extra.tar", NULL);
	assert_int_equal(hydrate_with(f, &v, NULL, one, PLANNER_SIGNATURES_ENFORCE, &err), -1);
	assert_non_null(strstr(err.msg, "%{sha256}: no SHA-256 in the signatures file"));
	assert_ok(hydrate_with(f, &v, NULL, both, PLANNER_SIGNATURES_ENFORCE, &err), &err);
	assert_text(f->dir, "extra.tar", "flat\n");
	sy_strv_release(&v);
	free(u1);
	free(u2);
	free(flat);
}

static void test_sources_check_skip_ignores_mismatch(void **state)
{
	struct fixture *f = *state;
	struct sy_strv v = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	int updated = -1;

	write_text(f->dir, "zlib-1.3.tar.xz", "changed\n");
	sources_of(&v, "zlib-1.3.tar.xz", NULL);
	assert_ok(builder_sources_check(f->dir, f->sig, &v, PLANNER_SIGNATURES_SKIP, &updated, &err),
		  &err);
	assert_int_equal(updated, 0);
	assert_int_equal(builder_sources_check(f->dir, f->sig, &v, PLANNER_SIGNATURES_ENFORCE,
					       &updated, &err),
			 -1);
	assert_non_null(strstr(err.msg, "SHA-256 mismatch"));
	sy_strv_release(&v);
}

static void test_sources_check_update_rewrites_exactly_the_sources_used(void **state)
{
	struct fixture *f = *state;
	struct sy_strv v = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	char want[SY_SHA256_HEX_LEN + 1], *text, *expected;
	int updated = 0;

	/* zlib.conf is no longer a source (its entry must go), the tarball
	 * changed (its entry must change). */
	write_text(f->dir, "zlib-1.3.tar.xz", "changed\n");
	sy_sha256_buf("changed\n", 8, want);
	sources_of(&v, "zlib-1.3.tar.xz", NULL);
	assert_ok(builder_sources_check(f->dir, f->sig, &v, PLANNER_SIGNATURES_UPDATE, &updated,
					&err),
		  &err);
	assert_int_equal(updated, 1);
	assert_ok(sy_read_file(f->sig, &text, NULL, &err), &err);
	expected = sy_xasprintf("\"zlib-1.3.tar.xz\": \"%s\"", want);
	assert_non_null(strstr(text, expected));
	assert_null(strstr(text, "zlib.conf"));
	free(text);
	free(expected);
	/* Now it matches: enforce passes, and a second update changes nothing. */
	assert_ok(builder_sources_verify(f->dir, f->sig, &v, &err), &err);
	assert_ok(builder_sources_check(f->dir, f->sig, &v, PLANNER_SIGNATURES_UPDATE, &updated,
					&err),
		  &err);
	assert_int_equal(updated, 0);
	sy_strv_release(&v);
}

static void test_signature_mode_parse_refuses_unknown_mode(void **state)
{
	enum planner_signature_mode m = PLANNER_SIGNATURES_ENFORCE;
	struct sy_error err = { { 0 } };

	(void)state;
	assert_ok(planner_signature_mode_parse("update", &m, &err), &err);
	assert_int_equal(m, PLANNER_SIGNATURES_UPDATE);
	assert_int_equal(planner_signature_mode_parse("loose", &m, &err), -1);
	assert_non_null(strstr(err.msg, "'loose'"));
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
		cmocka_unit_test_setup_teardown(
			test_sources_hydrate_downloads_missing_source_into_cache_and_dir, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_sources_hydrate_escaped_name_cannot_leave_the_source_server, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_sources_hydrate_takes_signed_source_from_cache_by_sha256,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_sources_hydrate_names_source_missing_everywhere,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_sources_hydrate_fetches_from_fedora_lookaside_by_signed_sha256, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_sources_hydrate_tries_source_urls_in_order_until_signed_content, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_sources_hydrate_names_why_each_source_url_failed,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_sources_hydrate_passes_over_sha256_url_for_unsigned_source, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_sources_check_skip_ignores_mismatch, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_sources_check_update_rewrites_exactly_the_sources_used, setup, teardown),
		cmocka_unit_test(test_signature_mode_parse_refuses_unknown_mode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
