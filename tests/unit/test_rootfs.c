/* Build roots without overlayfs: the worker tarball written once and
 * extracted faithfully (modes, owners, symlinks, hard links), the overlay
 * probe, and the root mode names. */
#include "testutil.h"

#include <sys/stat.h>

#include "builder/rootfs.h"

/* A small "worker root": a file with an odd mode and owner, a hard link, a
 * symlink that points out of the tree, an empty directory. */
static void make_tree(const char *root)
{
	char *cmd = sy_xasprintf("mkdir -p %s && cd %s && mkdir -p usr/bin etc empty && "
				 "printf 'hello\\n' > usr/bin/tool && chmod 4751 usr/bin/tool && "
				 "ln usr/bin/tool usr/bin/tool-link && ln -s /etc/passwd etc/link && "
				 "printf 'conf\\n' > etc/conf && chown 1001:1001 etc/conf",
				 root, root);
	test_sh(cmd);
	free(cmd);
}

static void test_tarball_round_trip_keeps_modes_owners_and_links(void **state)
{
	struct sy_error err = { { 0 } };
	char *dir = test_tmpdir(), *root = sy_xasprintf("%s/worker/root", dir);
	char *tar = NULL, *dest = sy_xasprintf("%s/extracted", dir), *path;
	struct stat a, b;

	(void)state;
	if (geteuid() != 0) {
		print_message("skipped: needs root (owners are restored)\n");
		sy_rm_rf(dir, NULL);
		free(dir), free(root), free(dest);
		skip();
	}
	make_tree(root);
	assert_ok(builder_rootfs_tarball_ensure(root, &tar, &err), &err);
	path = sy_xasprintf("%s/worker/root.tar.gz", dir);
	assert_string_equal(tar, path);
	free(path);
	assert_ok(builder_rootfs_extract(tar, dest, &err), &err);

	path = sy_xasprintf("%s/usr/bin/tool", dest);
	assert_int_equal(stat(path, &a), 0);
	assert_int_equal(a.st_mode & 07777, 04751);
	free(path);
	path = sy_xasprintf("%s/usr/bin/tool-link", dest);
	assert_int_equal(stat(path, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino); /* still one file */
	free(path);
	path = sy_xasprintf("%s/etc/conf", dest);
	assert_int_equal(stat(path, &a), 0);
	assert_int_equal(a.st_uid, 1001);
	free(path);
	path = sy_xasprintf("%s/etc/link", dest);
	char target[64] = { 0 };
	assert_int_equal(readlink(path, target, sizeof(target) - 1), 11);
	assert_string_equal(target, "/etc/passwd");
	free(path);
	path = sy_xasprintf("%s/empty", dest);
	assert_int_equal(lstat(path, &a), 0);
	assert_true(S_ISDIR(a.st_mode));
	free(path);

	/* Written once: a second call keeps the file. */
	path = sy_xasprintf("%s/worker/root.tar.gz", dir);
	assert_int_equal(stat(path, &a), 0);
	free(tar);
	tar = NULL;
	assert_ok(builder_rootfs_tarball_ensure(root, &tar, &err), &err);
	assert_int_equal(stat(path, &b), 0);
	assert_int_equal(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
	assert_int_equal(a.st_ino, b.st_ino);
	free(path);

	free(tar);
	sy_rm_rf(dir, NULL);
	free(dir);
	free(root);
	free(dest);
}

static void test_extract_reports_missing_or_broken_tarball(void **state)
{
	struct sy_error err = { { 0 } };
	char *dir = test_tmpdir(), *tar = sy_xasprintf("%s/root.tar", dir);
	char *dest = sy_xasprintf("%s/out", dir);

	(void)state;
	assert_int_equal(builder_rootfs_extract(tar, dest, &err), -1);
	assert_non_null(strstr(err.msg, tar));
	test_write_file(dir, "root.tar", "this is not a tar archive, not at all, no\n");
	assert_int_equal(builder_rootfs_extract(tar, dest, &err), -1);
	assert_non_null(strstr(err.msg, "root.tar"));
	sy_rm_rf(dir, NULL);
	free(dir);
	free(tar);
	free(dest);
}

static void test_overlay_probe_leaves_nothing_behind(void **state)
{
	struct sy_error err = { { 0 } };
	char *dir = test_tmpdir(), *probe = sy_xasprintf("%s/probe", dir);
	int ok;

	(void)state;
	if (geteuid() != 0) {
		print_message("skipped: needs root (mounts)\n");
		sy_rm_rf(dir, NULL);
		free(dir);
		free(probe);
		skip();
	}
	ok = builder_rootfs_overlay_supported(probe, &err);
	/* /tmp is a plain filesystem on the machines that run the tests. */
	assert_int_equal(ok, 1);
	char *cmd = sy_xasprintf("test -z \"$(ls -A %s)\"", dir);
	test_sh(cmd);
	free(cmd);
	free(probe);
	sy_rm_rf(dir, NULL);
	free(dir);
}

static void test_root_mode_names(void **state)
{
	struct sy_error err = { { 0 } };
	enum builder_root_mode m;

	(void)state;
	assert_ok(builder_root_mode_parse("auto", &m, &err), &err);
	assert_int_equal(m, BUILDER_ROOT_AUTO);
	assert_ok(builder_root_mode_parse("overlay", &m, &err), &err);
	assert_int_equal(m, BUILDER_ROOT_OVERLAY);
	assert_ok(builder_root_mode_parse("extract", &m, &err), &err);
	assert_int_equal(m, BUILDER_ROOT_EXTRACT);
	assert_int_equal(builder_root_mode_parse("tarball", &m, &err), -1);
	assert_string_equal(err.msg, "unknown root mode 'tarball' (auto, overlay or extract)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tarball_round_trip_keeps_modes_owners_and_links),
		cmocka_unit_test(test_extract_reports_missing_or_broken_tarball),
		cmocka_unit_test(test_overlay_probe_leaves_nothing_behind),
		cmocka_unit_test(test_root_mode_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
