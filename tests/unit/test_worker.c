/* Worker root manifests and the worker root cache. */
#include "testutil.h"

#include <sys/stat.h>
#include <time.h>

#include "builder/worker.h"

static char *write_manifest(const char *dir, const char *name, const char *text)
{
	struct sy_error err = { { 0 } };
	char *path = sy_xasprintf("%s/%s", dir, name);

	assert_ok(sy_write_file(path, text, strlen(text), 0644, &err), &err);
	return path;
}

static void test_worker_manifest_read_gives_fields(void **state)
{
	struct builder_worker_manifest m;
	struct sy_error err = { { 0 } };
	char *dir = test_tmpdir();
	char *path = write_manifest(dir, "w.conf",
				    "[worker]\n\tsuite = bookworm\n\tvariant = minbase\n"
				    "\tpackage = rpm\n\tpackage = build-essential\n"
				    "[toolchain]\n\tprovides = gcc\n");

	(void)state;
	assert_ok(builder_worker_manifest_read(path, &m, &err), &err);
	assert_string_equal(m.suite, "bookworm");
	assert_string_equal(m.variant, "minbase");
	assert_int_equal(m.packages.n, 2);
	assert_true(sy_strv_contains(&m.packages, "rpm"));
	assert_true(sy_strv_contains(&m.packages, "build-essential"));
	assert_int_equal(strlen(m.digest), SY_SHA256_HEX_LEN);
	builder_worker_manifest_release(&m);
	sy_rm_rf(dir, &err);
	free(path);
	free(dir);
}

static void test_worker_manifest_digest_changes_when_package_added(void **state)
{
	struct builder_worker_manifest a, b, c;
	struct sy_error err = { { 0 } };
	char *dir = test_tmpdir();
	char *pa = write_manifest(dir, "a.conf",
				  "[worker]\n\tsuite = bookworm\n\tvariant = minbase\n"
				  "\tpackage = rpm\n");
	char *pb = write_manifest(dir, "b.conf",
				  "[worker]\n\tsuite = bookworm\n\tvariant = minbase\n"
				  "\tpackage = rpm\n\tpackage = pkgconf\n");
	/* Same content as a, other comments and layout. */
	char *pc = write_manifest(dir, "c.conf",
				  "# the worker\n[worker]\nvariant=minbase\nsuite=bookworm\n"
				  "package=rpm\n");

	(void)state;
	assert_ok(builder_worker_manifest_read(pa, &a, &err), &err);
	assert_ok(builder_worker_manifest_read(pb, &b, &err), &err);
	assert_ok(builder_worker_manifest_read(pc, &c, &err), &err);
	assert_string_not_equal(a.digest, b.digest);
	assert_string_equal(a.digest, c.digest);
	builder_worker_manifest_release(&a);
	builder_worker_manifest_release(&b);
	builder_worker_manifest_release(&c);
	sy_rm_rf(dir, &err);
	free(pa);
	free(pb);
	free(pc);
	free(dir);
}

static void test_worker_manifest_read_rejects_missing_suite(void **state)
{
	struct builder_worker_manifest m;
	struct sy_error err = { { 0 } };
	char *dir = test_tmpdir();
	char *path = write_manifest(dir, "w.conf", "[worker]\n\tvariant = minbase\n");

	(void)state;
	assert_int_equal(builder_worker_manifest_read(path, &m, &err), -1);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "worker.suite missing"));
	sy_rm_rf(dir, &err);
	free(path);
	free(dir);
}

static void test_worker_manifest_read_rejects_missing_file(void **state)
{
	struct builder_worker_manifest m;
	struct sy_error err = { { 0 } };

	(void)state;
	assert_int_equal(builder_worker_manifest_read("/nonexistent/worker.conf", &m, &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent/worker.conf"));
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int file_exists_in(const char *root, const char *rel)
{
	char *p = sy_xasprintf("%s/%s", root, rel);
	int ok = sy_exists(p);

	free(p);
	return ok;
}

/* Builds the worker root of config/worker.conf into $SHIPYARD_WORKER_CACHE
 * (about a minute the first time), then asks again. */
static void test_worker_ensure_builds_once_then_reuses(void **state)
{
	struct builder_worker_manifest m;
	struct sy_error err = { { 0 } };
	const char *cache = getenv("SHIPYARD_WORKER_CACHE");
	char *root1 = NULL, *root2 = NULL, *manifest, *want;
	double t0;

	(void)state;
	if (!cache)
		cache = "build/worker-cache";
	assert_ok(builder_worker_manifest_read("config/worker.conf", &m, &err), &err);
	assert_ok(builder_worker_ensure(cache, &m, 2, &root1, &err), &err);
	want = sy_xasprintf("%s/%s/root", cache, m.digest);
	assert_string_equal(root1, want);
	assert_true(file_exists_in(root1, "usr/bin/rpmbuild"));
	assert_true(file_exists_in(root1, "usr/bin/gcc"));
	assert_true(file_exists_in(root1, "build"));
	assert_false(file_exists_in(root1, "proc/self"));
	manifest = sy_xasprintf("%s/%s/manifest", cache, m.digest);
	assert_true(sy_exists(manifest));

	t0 = now_s();
	assert_ok(builder_worker_ensure(cache, &m, 2, &root2, &err), &err);
	assert_true(now_s() - t0 < 1.0);
	assert_string_equal(root1, root2);

	free(manifest);
	free(want);
	free(root1);
	free(root2);
	builder_worker_manifest_release(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_worker_manifest_read_gives_fields),
		cmocka_unit_test(test_worker_manifest_digest_changes_when_package_added),
		cmocka_unit_test(test_worker_manifest_read_rejects_missing_suite),
		cmocka_unit_test(test_worker_manifest_read_rejects_missing_file),
		cmocka_unit_test(test_worker_ensure_builds_once_then_reuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
