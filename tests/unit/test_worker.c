/* Worker root manifests and the worker root cache. */
#include "testutil.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "builder/worker.h"
#include "builder/workercache.h"

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
	assert_int_equal(m.toolchain.n, 1);
	assert_string_equal(m.toolchain.items[0], "gcc");
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

/* Found by tests/fuzz/fuzz_worker_manifest: "package" with no "= value" (a
 * NULL value in libgit2) crashed the reader in strdup. */
static void test_worker_manifest_read_refuses_a_list_item_without_value(void **state)
{
	struct builder_worker_manifest m;
	struct sy_error err = { { 0 } };
	char *dir = test_tmpdir();
	char *pkg = write_manifest(dir, "p.conf",
				   "[worker]\n\tsuite = s\n\tvariant = v\n\tpackage = rpm\n"
				   "\tpackage\n");
	char *cap = write_manifest(dir, "c.conf",
				   "[worker]\n\tsuite = s\n\tvariant = v\n[toolchain]\n\tprovides\n");

	(void)state;
	assert_int_equal(builder_worker_manifest_read(pkg, &m, &err), -1);
	assert_non_null(strstr(err.msg, "worker.package: no value"));
	assert_int_equal(builder_worker_manifest_read(cap, &m, &err), -1);
	assert_non_null(strstr(err.msg, "toolchain.provides: no value"));
	sy_rm_rf(dir, &err);
	free(pkg);
	free(cap);
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
	assert_ok(builder_worker_ensure(cache, &m, NULL, 2, &root1, &err), &err);
	want = sy_xasprintf("%s/%s/root", cache, m.digest);
	assert_string_equal(root1, want);
	assert_true(file_exists_in(root1, "usr/bin/rpmbuild"));
	assert_true(file_exists_in(root1, "usr/bin/gcc"));
	assert_true(file_exists_in(root1, "build"));
	assert_false(file_exists_in(root1, "proc/self"));
	manifest = sy_xasprintf("%s/%s/manifest", cache, m.digest);
	assert_true(sy_exists(manifest));

	t0 = now_s();
	assert_ok(builder_worker_ensure(cache, &m, NULL, 2, &root2, &err), &err);
	assert_true(now_s() - t0 < 1.0);
	assert_string_equal(root1, root2);

	free(manifest);
	free(want);
	free(root1);
	free(root2);
	builder_worker_manifest_release(&m);
}

/* The toolchain list is part of the digest: adding a capability makes a new
 * root; the order of the lines does not. */
static void test_worker_manifest_digest_covers_toolchain(void **state)
{
	struct builder_worker_manifest a, b, c;
	struct sy_error err = { { 0 } };
	char *dir = test_tmpdir();
	char *pa = write_manifest(dir, "a.conf",
				  "[worker]\n\tsuite = bookworm\n\tvariant = minbase\n"
				  "[toolchain]\n\tprovides = gcc\n\tprovides = make\n");
	char *pb = write_manifest(dir, "b.conf",
				  "[worker]\n\tsuite = bookworm\n\tvariant = minbase\n"
				  "[toolchain]\n\tprovides = gcc\n\tprovides = make\n"
				  "\tprovides = glibc-devel\n");
	char *pc = write_manifest(dir, "c.conf",
				  "[toolchain]\n\tprovides = make\n\tprovides = gcc\n"
				  "[worker]\n\tsuite = bookworm\n\tvariant = minbase\n");

	(void)state;
	assert_ok(builder_worker_manifest_read(pa, &a, &err), &err);
	assert_ok(builder_worker_manifest_read(pb, &b, &err), &err);
	assert_ok(builder_worker_manifest_read(pc, &c, &err), &err);
	assert_string_not_equal(a.digest, b.digest);
	assert_string_equal(a.digest, c.digest);
	assert_int_equal(b.toolchain.n, 3);
	assert_string_equal(b.toolchain.items[0], "gcc");
	builder_worker_manifest_release(&a);
	builder_worker_manifest_release(&b);
	builder_worker_manifest_release(&c);
	sy_rm_rf(dir, &err);
	free(pa);
	free(pb);
	free(pc);
	free(dir);
}

/* A capability that cannot be a Provides line is refused. */
static void test_worker_manifest_rejects_macro_in_capability(void **state)
{
	struct builder_worker_manifest m;
	struct sy_error err = { { 0 } };
	char *dir = test_tmpdir();
	char *path = write_manifest(dir, "w.conf",
				    "[worker]\n\tsuite = bookworm\n\tvariant = minbase\n"
				    "[toolchain]\n\tprovides = %(rm -rf /)\n");

	(void)state;
	assert_int_equal(builder_worker_manifest_read(path, &m, &err), -1);
	assert_non_null(strstr(err.msg, "toolchain.provides"));
	sy_rm_rf(dir, &err);
	free(path);
	free(dir);
}

/* Hard links are counted once, symlinks are not followed. */
static void test_worker_disk_usage_counts_hard_links_once(void **state)
{
	struct sy_error err = { { 0 } };
	char *dir = test_tmpdir();
	char *cmd = sy_xasprintf("cd %s && mkdir sub && head -c 1048576 /dev/urandom > sub/a "
				 "&& ln sub/a b && ln -s /usr c", dir);
	unsigned long long bytes = 0;

	(void)state;
	test_sh(cmd);
	assert_ok(builder_worker_disk_usage(dir, &bytes, &err), &err);
	assert_true(bytes >= 1048576);
	assert_true(bytes < 1048576 + 64 * 1024);
	assert_int_equal(builder_worker_disk_usage("/nonexistent", &bytes, &err), -1);
	sy_rm_rf(dir, &err);
	free(cmd);
	free(dir);
}

/* A file under 300 nested directories is counted: the walk has no depth
 * limit below which a build could hide what it wrote. */
static void test_worker_disk_usage_counts_deeply_nested_files(void **state)
{
	struct sy_error err = { { 0 } };
	char *dir = test_tmpdir();
	char *cmd = sy_xasprintf("cd %s && for i in $(seq 1 300); do mkdir d && cd d || exit 1; "
				 "done && head -c 4194304 /dev/urandom > deep", dir);
	unsigned long long bytes = 0;

	(void)state;
	test_sh(cmd);
	assert_ok(builder_worker_disk_usage(dir, &bytes, &err), &err);
	assert_true(bytes >= 4194304);
	sy_rm_rf(dir, &err);
	free(cmd);
	free(dir);
}

static const char *cache_dir(void)
{
	const char *cache = getenv("SHIPYARD_WORKER_CACHE");

	return cache ? cache : "build/worker-cache";
}

/* The built root holds the build user owning /build, and the lock file;
 * the check finds nothing wrong with it. */
static void test_worker_root_has_build_user_and_passes_check(void **state)
{
	struct builder_worker_manifest m;
	struct sy_strv problems = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	char *root = NULL, *passwd, *build, *lock;
	struct passwd *pw;
	struct stat st;
	FILE *f;
	int found = 0;

	(void)state;
	assert_ok(builder_worker_manifest_read("config/worker.conf", &m, &err), &err);
	assert_ok(builder_worker_ensure(cache_dir(), &m, NULL, 2, &root, &err), &err);
	passwd = sy_xasprintf("%s/etc/passwd", root);
	build = sy_xasprintf("%s/build", root);
	lock = sy_xasprintf("%s/%s/lock", cache_dir(), m.digest);
	f = fopen(passwd, "r");
	assert_non_null(f);
	while ((pw = fgetpwent(f)))
		if (!strcmp(pw->pw_name, BUILDER_WORKER_BUILD_USER))
			found = pw->pw_uid == BUILDER_WORKER_BUILD_UID &&
				pw->pw_gid == BUILDER_WORKER_BUILD_GID;
	fclose(f);
	assert_true(found);
	assert_int_equal(lstat(build, &st), 0);
	assert_int_equal(st.st_uid, BUILDER_WORKER_BUILD_UID);
	assert_true(sy_exists(lock));
	assert_ok(builder_worker_check(cache_dir(), &m, &problems, &err), &err);
	if (problems.n)
		fail_msg("unexpected problem: %s", problems.items[0]);
	sy_strv_release(&problems);
	builder_worker_manifest_release(&m);
	free(lock);
	free(build);
	free(passwd);
	free(root);
}

/* The check of a root whose manifest asks for a capability the root's rpmdb
 * lacks (the real root under another manifest's digest, through a symlink)
 * names it; a missing root is one problem. */
static void test_worker_check_reports_missing_capability_and_root(void **state)
{
	struct builder_worker_manifest real, m;
	struct sy_strv problems = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	char *dir = test_tmpdir(), *root = NULL, *abs, *digest_dir, *link, *text, *path;

	(void)state;
	assert_ok(builder_worker_manifest_read("config/worker.conf", &real, &err), &err);
	assert_ok(builder_worker_ensure(cache_dir(), &real, NULL, 2, &root, &err), &err);
	text = sy_xasprintf("[worker]\n\tsuite = bookworm\n\tvariant = minbase\n"
			    "[toolchain]\n\tprovides = gcc\n\tprovides = no-such-capability\n");
	path = write_manifest(dir, "w.conf", text);
	assert_ok(builder_worker_manifest_read(path, &m, &err), &err);

	assert_ok(builder_worker_check(dir, &m, &problems, &err), &err);
	assert_int_equal(problems.n, 1);
	assert_non_null(strstr(problems.items[0], "missing"));
	sy_strv_release(&problems);

	digest_dir = sy_xasprintf("%s/%s", dir, m.digest);
	link = sy_xasprintf("%s/root", digest_dir);
	assert_ok(sy_mkdir_p(digest_dir, 0755, &err), &err);
	abs = realpath(root, NULL);
	assert_non_null(abs);
	assert_int_equal(symlink(abs, link), 0);
	assert_ok(builder_worker_check(dir, &m, &problems, &err), &err);
	assert_int_equal(problems.n, 1);
	assert_non_null(strstr(problems.items[0], "no-such-capability not provided"));
	sy_strv_release(&problems);

	builder_worker_manifest_release(&m);
	builder_worker_manifest_release(&real);
	sy_rm_rf(dir, &err);
	free(abs);
	free(link);
	free(digest_dir);
	free(path);
	free(text);
	free(root);
	free(dir);
}

/* Makes <cache>/<digest>/root with a file of size bytes, a manifest copy
 * and a lock file. */
static void fake_root(const char *cache, char fill, size_t size)
{
	struct sy_error err = { { 0 } };
	char digest[SY_SHA256_HEX_LEN + 1];
	char *dir, *data = sy_xmalloc(size);

	memset(digest, fill, SY_SHA256_HEX_LEN);
	digest[SY_SHA256_HEX_LEN] = '\0';
	memset(data, 'x', size);
	dir = sy_xasprintf("%s/%s", cache, digest);
	test_write_file(dir, "root/usr/bin/tool", "");
	test_write_file(dir, "manifest", "[worker]\n\tsuite = trixie\n\tvariant = minbase\n");
	test_write_file(dir, "lock", "");
	free(dir);
	dir = sy_xasprintf("%s/%s/root/data", cache, digest);
	assert_ok(sy_write_file(dir, data, size, 0644, &err), &err);
	free(dir);
	free(data);
}

/* list shows the roots with suite and size; gc removes the roots other than
 * the kept one and the leftovers of dead builders, and leaves a root whose
 * lock a build holds. */
static void test_worker_list_and_gc_on_fake_cache(void **state)
{
	struct builder_worker_entry *entries;
	struct sy_strv removed = SY_STRV_INIT, skipped = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	char *cache = test_tmpdir();
	char keep[SY_SHA256_HEX_LEN + 1], held[SY_SHA256_HEX_LEN + 1];
	char *held_root, *tmp, *unrelated;
	unsigned long long freed = 0;
	size_t n;
	int fd;

	(void)state;
	fake_root(cache, 'a', 1 << 20);
	fake_root(cache, 'b', 2 << 20);
	fake_root(cache, 'c', 3 << 20);
	memset(keep, 'a', SY_SHA256_HEX_LEN);
	keep[SY_SHA256_HEX_LEN] = '\0';
	memset(held, 'c', SY_SHA256_HEX_LEN);
	held[SY_SHA256_HEX_LEN] = '\0';
	tmp = sy_xasprintf("%s/%s.tmp-99999", cache, keep);
	test_write_file(tmp, "root/half", "x");
	unrelated = sy_xasprintf("%s/notes", cache);
	test_write_file(cache, "notes", "kept");

	assert_ok(builder_worker_list(cache, &entries, &n, &err), &err);
	assert_int_equal(n, 3);
	assert_string_equal(entries[0].digest, keep);
	assert_string_equal(entries[0].suite, "trixie");
	assert_true(entries[1].bytes >= 2 << 20);
	assert_true(entries[2].created > 0);
	builder_worker_entries_free(entries, n);

	held_root = sy_xasprintf("%s/%s/root", cache, held);
	fd = builder_worker_hold(held_root, &err);
	assert_true(fd >= 0);
	assert_ok(builder_worker_gc(cache, keep, &removed, &skipped, &freed, &err), &err);
	assert_int_equal(removed.n, 2); /* b's root and the leftover */
	assert_int_equal(skipped.n, 1);
	assert_string_equal(skipped.items[0], held);
	assert_true(freed >= 2 << 20);
	assert_true(freed < 3 << 20);
	assert_false(sy_exists(tmp));
	assert_true(sy_exists(held_root));
	assert_true(sy_exists(unrelated));
	close(fd);

	assert_ok(builder_worker_list(cache, &entries, &n, &err), &err);
	assert_int_equal(n, 2);
	builder_worker_entries_free(entries, n);
	assert_int_equal(builder_worker_hold("/tmp/not-a-cached-root", &err), -2);

	sy_strv_release(&removed);
	sy_strv_release(&skipped);
	sy_rm_rf(cache, &err);
	free(unrelated);
	free(held_root);
	free(tmp);
	free(cache);
}

static volatile sig_atomic_t cancel_flag;

static void on_alarm(int sig)
{
	(void)sig;
	cancel_flag = 1;
}

/* Whether the process whose pid dir/file holds still runs (a zombie its
 * new parent has not reaped yet does not), given two seconds to end. */
static int pid_alive_in(const char *dir, const char *file)
{
	char *path = sy_xasprintf("%s/%s", dir, file), *text = NULL, *stat = NULL;
	size_t len = 0;
	int alive = 1;

	assert_int_equal(sy_read_file(path, &text, &len, NULL), 0);
	char *proc = sy_xasprintf("/proc/%ld/stat", atol(text));
	for (int i = 0; i < 20 && alive; i++) {
		free(stat);
		stat = NULL;
		alive = sy_read_file(proc, &stat, &len, NULL) == 0 && strrchr(stat, ')') &&
			strrchr(stat, ')')[2] != 'Z';
		if (alive)
			usleep(100 * 1000);
	}
	free(stat);
	free(proc);
	free(text);
	free(path);
	return alive;
}

/* A stop (SIGTERM of `shipyard run`) during debootstrap kills it and what it
 * started at once, not after its minute, and leaves no half-made root. */
static void test_worker_ensure_cancel_kills_debootstrap(void **state)
{
	char *dir = test_tmpdir(), *bin = sy_xasprintf("%s/bin", dir);
	char *cache = sy_xasprintf("%s/cache", dir), *manifest, *root = NULL, *script;
	char *old_path = sy_xstrdup(getenv("PATH"));
	char *path = sy_xasprintf("%s:%s", bin, old_path);
	struct builder_worker_manifest m;
	struct sy_error err = { { 0 } };
	struct sigaction sa = { .sa_handler = on_alarm };
	double t0;

	(void)state;
	/* The fake debootstrap starts a sleeper in its process group. */
	script = sy_xasprintf("#!/bin/sh\necho $$ >%s/debootstrap.pid\nsleep 60 &\n"
			      "echo $! >%s/sleep.pid\nwait\n", dir, dir);
	test_write_file(dir, "bin/debootstrap", script);
	free(script);
	char *fake = sy_xasprintf("%s/debootstrap", bin);
	assert_int_equal(chmod(fake, 0755), 0);
	free(fake);
	manifest = write_manifest(dir, "worker.conf", "[worker]\n\tsuite = bookworm\n\tvariant = minbase\n");
	assert_ok(builder_worker_manifest_read(manifest, &m, &err), &err);
	setenv("PATH", path, 1);
	sigaction(SIGALRM, &sa, NULL);
	cancel_flag = 0;
	alarm(1);
	t0 = now_s();
	assert_int_equal(builder_worker_ensure(cache, &m, &cancel_flag, 2, &root, &err), -1);
	setenv("PATH", old_path, 1);
	assert_true(now_s() - t0 < 10.0);
	assert_non_null(strstr(err.msg, "debootstrap cancelled"));
	assert_false(pid_alive_in(dir, "debootstrap.pid"));
	assert_false(pid_alive_in(dir, "sleep.pid"));
	char *pattern = sy_xasprintf("ls -d %s/*.tmp-* >/dev/null 2>&1", cache);
	assert_int_not_equal(system(pattern), 0);
	free(pattern);
	builder_worker_manifest_release(&m);
	sy_rm_rf(dir, NULL);
	free(manifest);
	free(path);
	free(old_path);
	free(cache);
	free(bin);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_worker_manifest_read_gives_fields),
		cmocka_unit_test(test_worker_manifest_digest_changes_when_package_added),
		cmocka_unit_test(test_worker_manifest_read_rejects_missing_suite),
		cmocka_unit_test(test_worker_manifest_read_refuses_a_list_item_without_value),
		cmocka_unit_test(test_worker_manifest_read_rejects_missing_file),
		cmocka_unit_test(test_worker_ensure_builds_once_then_reuses),
		cmocka_unit_test(test_worker_manifest_digest_covers_toolchain),
		cmocka_unit_test(test_worker_manifest_rejects_macro_in_capability),
		cmocka_unit_test(test_worker_disk_usage_counts_hard_links_once),
		cmocka_unit_test(test_worker_disk_usage_counts_deeply_nested_files),
		cmocka_unit_test(test_worker_root_has_build_user_and_passes_check),
		cmocka_unit_test(test_worker_check_reports_missing_capability_and_root),
		cmocka_unit_test(test_worker_list_and_gc_on_fake_cache),
		cmocka_unit_test(test_worker_ensure_cancel_kills_debootstrap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
