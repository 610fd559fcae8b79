/* imager/compose: package closure with libsolv against published repodata,
 * install with librpm, rootfs tarball with libarchive. The RPMs are built here
 * with the host rpmbuild from a generated spec and published with
 * repo-publish. Needs root (librpm installs into a root directory). */
#include "testutil.h"

#include <fcntl.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>

#include "sandbox/rpminstall.h"
#include "imager/compose.h"
#include "repo-publish/publish.h"

/* greet requires libgreet; broken requires a capability nobody provides;
 * filesystem is what the imager installs first (it owns /proc, where the
 * install sandbox mounts proc, with a mode neither proc nor the sandbox
 * gives it, but not /dev). */
static const char test_spec[] =
	"Name: greet\nVersion: 1.0\nRelease: 1\nSummary: greeting\nLicense: MIT\n"
	"BuildArch: noarch\nAutoReq: no\nRequires: libgreet >= 1.0\n"
	"%description\ngreeting\n"
	"%package -n libgreet\nSummary: library\n%description -n libgreet\nlibrary\n"
	"%package -n filesystem\nSummary: dirs\n%description -n filesystem\ndirs\n"
	"%package -n broken\nSummary: broken\nRequires: libmissing.so.9\n"
	"%description -n broken\nbroken\n"
	"%install\nmkdir -p %{buildroot}/usr/share/greet %{buildroot}/usr/lib "
	"%{buildroot}/usr/bin %{buildroot}/etc\n"
	"echo hello > %{buildroot}/usr/share/greet/hello.txt\n"
	"ln -s hello.txt %{buildroot}/usr/share/greet/hi.txt\n"
	"printf '#!/bin/sh\\necho hi\\n' > %{buildroot}/usr/bin/greet\n"
	"chmod 755 %{buildroot}/usr/bin/greet\n"
	"echo lib > %{buildroot}/usr/lib/libgreet.txt\n"
	"echo fs > %{buildroot}/etc/fs-release\nmkdir -p %{buildroot}/proc\n"
	"echo broken > %{buildroot}/usr/share/broken.txt\n"
	"%files\n/usr/share/greet\n/usr/bin/greet\n"
	"%files -n libgreet\n/usr/lib/libgreet.txt\n"
	"%files -n filesystem\n/etc/fs-release\n%dir %attr(0550,root,root) /proc\n"
	"%files -n broken\n/usr/share/broken.txt\n";

/* A static program a package ships and runs from its %post: it marks that
 * it ran (inside whatever root it sees), then tries the classic chroot
 * escape (chroot into a subdirectory while the working directory stays
 * outside it, climb with "..", chroot there) and writes ESCAPE_TARGET, a
 * path of the host. */
static const char escape_c[] =
	"#include <fcntl.h>\n#include <sys/stat.h>\n#include <unistd.h>\n"
	"int main(void)\n{\n"
	"\tint fd = open(\"/escape-ran\", O_WRONLY | O_CREAT | O_TRUNC, 0644);\n"
	"\tif (fd >= 0)\n\t\tclose(fd);\n"
	"\tmkdir(\"/escape-dir\", 0755);\n"
	"\tif (chroot(\"/escape-dir\") == 0)\n"
	"\t\tfor (int i = 0; i < 64; i++)\n\t\t\tif (chdir(\"..\") < 0)\n\t\t\t\tbreak;\n"
	"\tif (chroot(\".\") < 0)\n\t\treturn 0;\n"
	"\tfd = open(ESCAPE_TARGET, O_WRONLY | O_CREAT | O_TRUNC, 0644);\n"
	"\tif (fd >= 0 && write(fd, \"escaped\\n\", 8) == 8)\n\t\tclose(fd);\n"
	"\treturn 0;\n}\n";

/* The package "escape": its %post is a Lua scriptlet (run inside rpm's own
 * process) that marks the root, prints to the log, writes the host path
 * %{target}.lua directly and runs the escape program. The package
 * "failpre" has a %pre that fails. */
static const char escape_spec[] =
	"Name: escape\nVersion: 1.0\nRelease: 1\nSummary: escape\nLicense: MIT\n"
	"BuildArch: noarch\nAutoReqProv: no\n"
	"%description\ntries to leave the image root\n"
	"%install\nmkdir -p %{buildroot}/usr/libexec\n"
	"install -m 755 %{escape_bin} %{buildroot}/usr/libexec/sy-escape\n"
	"%files\n/usr/libexec/sy-escape\n"
	"%post -p <lua>\n"
	"local f = io.open(\"/lua-ran\", \"w\")\n"
	"if f then f:write(\"ran\\n\") f:close() end\n"
	"print(\"escape-scriptlet-output\")\n"
	"local h = io.open(\"%{target}.lua\", \"w\")\n"
	"if h then h:write(\"escaped\\n\") h:close() end\n"
	"pcall(rpm.execute, \"/usr/libexec/sy-escape\")\n"
	"%package -n failpre\nSummary: failpre\n%description -n failpre\nfailpre\n"
	"%pre -n failpre -p <lua>\nerror(\"failpre refuses\")\n"
	"%files -n failpre\n";

/* A fixed key and epoch: what the image stage derives from a config. */
static const struct imager_inputs test_inputs = {
	.key = "6f1e0c2bd0a1c9f0e2c1b7a4f3d2e1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4",
	.epoch = 1700000000,
};

struct fixture {
	char *tmp;    /* test directory */
	char *repo;   /* published snapshot */
	char *target; /* host file the escape package must not create */
};

/* Builds the escape package for target into tmp's rpmbuild tree. */
static void build_escape(const char *tmp, const char *target)
{
	struct sy_error err = { { 0 } };
	char *src = sy_xasprintf("%s/escape.c", tmp);
	char *spec = sy_xasprintf("%s/escape.spec", tmp);

	if (sy_write_file(src, escape_c, strlen(escape_c), 0644, &err) ||
	    sy_write_file(spec, escape_spec, strlen(escape_spec), 0644, &err))
		fail_msg("%s", err.msg);
	char *cmd = sy_xasprintf("cc -static -O1 -DESCAPE_TARGET='\"%s\"' -o %s/sy-escape %s && "
				 "rpmbuild -bb --quiet --define '_topdir %s/rpmbuild' "
				 "--define '_build_id_links none' --define 'escape_bin %s/sy-escape' "
				 "--define 'target %s' --define '__os_install_post %%{nil}' "
				 "--define '_binaries_in_noarch_packages_terminate_build 0' "
				 "%s >/dev/null 2>&1", target, tmp, src, tmp, tmp, target, spec);
	test_sh(cmd);
	free(cmd);
	free(spec);
	free(src);
}

static int setup(void **state)
{
	struct fixture *f = sy_xcalloc(1, sizeof(*f));
	struct sy_error err = { { 0 } };
	static const char *const names[] = { "greet", "libgreet", "filesystem", "broken",
					     "escape", "failpre" };
	char *rpms[7] = { NULL };

	f->tmp = test_tmpdir();
	char *spec = sy_xasprintf("%s/greet.spec", f->tmp);
	if (sy_write_file(spec, test_spec, strlen(test_spec), 0644, &err))
		fail_msg("%s", err.msg);
	char *cmd = sy_xasprintf("rpmbuild -bb --quiet --define '_topdir %s/rpmbuild' "
				 "--define '_build_id_links none' %s >/dev/null 2>&1",
				 f->tmp, spec);
	test_sh(cmd);
	f->target = sy_xasprintf("%s/escaped", f->tmp);
	build_escape(f->tmp, f->target);
	for (int i = 0; i < 6; i++)
		rpms[i] = sy_xasprintf("%s/rpmbuild/RPMS/noarch/%s-1.0-1.noarch.rpm", f->tmp,
				       names[i]);
	char *repos = sy_xasprintf("%s/repos", f->tmp);
	if (repo_publish_snapshot(repos, "test", (const char *const *)rpms, &f->repo, &err))
		fail_msg("%s", err.msg);
	for (int i = 0; i < 6; i++)
		free(rpms[i]);
	free(repos);
	free(cmd);
	free(spec);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };

	sy_rm_rf(f->tmp, &err);
	free(f->tmp);
	free(f->repo);
	free(f->target);
	free(f);
	return 0;
}

/* A config named "test" with the given packages and one artifact. */
static void make_config(struct imager_config *cfg, const char *const *packages, const char *type,
			const char *compression)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->name = sy_xstrdup("test");
	cfg->path = sy_xstrdup("toolkit/imageconfigs/test.json");
	for (size_t i = 0; packages[i]; i++)
		sy_strv_push(&cfg->packages, packages[i]);
	/* Disks[0] owns the artifacts; the composing view borrows them. */
	cfg->disks = sy_xcalloc(1, sizeof(*cfg->disks));
	cfg->ndisks = 1;
	cfg->disks[0].artifacts = sy_xcalloc(1, sizeof(*cfg->artifacts));
	cfg->disks[0].nartifacts = 1;
	cfg->artifacts = cfg->disks[0].artifacts;
	cfg->artifacts[0].name = sy_xstrdup("core");
	cfg->artifacts[0].type = sy_xstrdup(type);
	cfg->artifacts[0].compression = sy_xstrdup(compression);
	cfg->nartifacts = 1;
}

static void test_compose_closure_follows_requires(void **state)
{
	struct fixture *f = *state;
	struct imager_config cfg;
	struct sy_strv nevras = SY_STRV_INIT, paths = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	static const char *const pkgs[] = { "greet", NULL };

	make_config(&cfg, pkgs, "", "tar.gz");
	assert_ok(imager_closure(&cfg, f->repo, "x86_64", &nevras, &paths, &err), &err);
	assert_int_equal(nevras.n, 3);
	assert_string_equal(nevras.items[0], "filesystem-1.0-1.noarch");
	assert_string_equal(nevras.items[1], "greet-1.0-1.noarch");
	assert_string_equal(nevras.items[2], "libgreet-1.0-1.noarch");
	assert_int_equal(paths.n, 3);
	char *want = sy_xasprintf("%s/RPMS/noarch/libgreet-1.0-1.noarch.rpm", f->repo);
	assert_string_equal(paths.items[2], want);
	assert_true(sy_exists(paths.items[0]));
	free(want);
	sy_strv_release(&nevras);
	sy_strv_release(&paths);
	imager_config_release(&cfg);
}

static void test_compose_closure_accepts_versioned_spec(void **state)
{
	struct fixture *f = *state;
	struct imager_config cfg;
	struct sy_strv nevras = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	static const char *const ok[] = { "libgreet>=1.0", NULL };
	static const char *const too_new[] = { "libgreet=2.0-1", NULL };

	make_config(&cfg, ok, "", "tar.gz");
	assert_ok(imager_closure(&cfg, f->repo, "x86_64", &nevras, NULL, &err), &err);
	assert_int_equal(nevras.n, 2);
	assert_string_equal(nevras.items[1], "libgreet-1.0-1.noarch");
	sy_strv_release(&nevras);
	imager_config_release(&cfg);

	make_config(&cfg, too_new, "", "tar.gz");
	assert_int_equal(imager_closure(&cfg, f->repo, "x86_64", &nevras, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "libgreet=2.0-1"));
	assert_int_equal(nevras.n, 0);
	imager_config_release(&cfg);
}

static void test_compose_closure_names_unresolvable_package(void **state)
{
	struct fixture *f = *state;
	struct imager_config cfg;
	struct sy_strv nevras = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	static const char *const broken[] = { "greet", "broken", NULL };
	static const char *const unknown[] = { "greet", "no-such-package", NULL };

	make_config(&cfg, broken, "", "tar.gz");
	assert_int_equal(imager_closure(&cfg, f->repo, "x86_64", &nevras, NULL, &err), -1);
	if (!strstr(err.msg, "image test: ") || !strstr(err.msg, "libmissing.so.9") ||
	    !strstr(err.msg, "broken-1.0-1.noarch"))
		fail_msg("unexpected error: %s", err.msg);
	imager_config_release(&cfg);

	make_config(&cfg, unknown, "", "tar.gz");
	assert_int_equal(imager_closure(&cfg, f->repo, "x86_64", &nevras, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "no-such-package"));
	assert_int_equal(nevras.n, 0);
	imager_config_release(&cfg);
}

/* Reads the tarball with libarchive: entry names, one per line, as
 * "<name>" or "<name> -> <symlink target>", into a strv. */
static void list_tarball(const char *path, struct sy_strv *names)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;

	archive_read_support_filter_all(a);
	archive_read_support_format_all(a);
	assert_int_equal(archive_read_open_filename(a, path, 65536), ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		if (archive_entry_symlink(e))
			sy_strv_pushf(names, "%s -> %s", archive_entry_pathname(e),
				      archive_entry_symlink(e));
		else
			sy_strv_pushf(names, "%s %o", archive_entry_pathname(e),
				      (unsigned)archive_entry_perm(e));
	}
	archive_read_free(a);
}

/* Fails with the whole listing when want is not in names. */
static void assert_listed(const struct sy_strv *names, const char *want)
{
	if (sy_strv_contains(names, want))
		return;
	for (size_t i = 0; i < names->n; i++)
		print_message("  %s\n", names->items[i]);
	fail_msg("\"%s\" is not in the tarball", want);
}

/* Fails when an entry of names starts with prefix. */
static void assert_not_listed(const struct sy_strv *names, const char *prefix)
{
	for (size_t i = 0; i < names->n; i++)
		if (!strncmp(names->items[i], prefix, strlen(prefix)))
			fail_msg("\"%s\" is in the tarball", names->items[i]);
}

static void test_compose_writes_rootfs_tarball_with_rpmdb(void **state)
{
	struct fixture *f = *state;
	struct imager_config cfg;
	struct sy_strv artifacts = SY_STRV_INIT, names = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	static const char *const pkgs[] = { "greet", NULL };
	char *work = sy_xasprintf("%s/work-ok", f->tmp);
	char *out = sy_xasprintf("%s/out-ok", f->tmp);

	make_config(&cfg, pkgs, "", "tar.gz");
	assert_ok(imager_compose(&cfg, f->repo, "x86_64", work, out, -1, &test_inputs,
				 &artifacts, &err), &err);
	assert_int_equal(artifacts.n, 1);
	char *tarball = sy_xasprintf("%s/core.tar.gz", out);
	assert_string_equal(artifacts.items[0], tarball);

	list_tarball(tarball, &names);
	assert_listed(&names, "./ 755");
	assert_listed(&names, "./usr/share/greet/hello.txt 644");
	assert_listed(&names, "./usr/share/greet/hi.txt -> hello.txt");
	assert_listed(&names, "./usr/bin/greet 755");
	assert_listed(&names, "./usr/lib/libgreet.txt 644");
	assert_listed(&names, "./etc/fs-release 644");
	assert_listed(&names, "./var/lib/rpm/ 755");
	assert_listed(&names, "./var/lib/rpm/rpmdb.sqlite 644");
	assert_false(sy_strv_contains(&names, "./usr/share/broken.txt 644"));
	/* Of the install sandbox's mount points, only what a package owns stays,
	 * with the package's mode. */
	assert_listed(&names, "./proc/ 550");
	assert_not_listed(&names, "./dev");
	assert_not_listed(&names, "./.shipyard");

	/* The rpmdb in the tarball knows the packages. */
	char *cmd = sy_xasprintf("mkdir %s/x && tar xzf %s -C %s/x && "
				 "rpm --root %s/x --dbpath /var/lib/rpm -q greet libgreet filesystem "
				 ">/dev/null", f->tmp, tarball, f->tmp, f->tmp);
	test_sh(cmd);
	free(cmd);

	/* The manifest lists the closure; the rootfs is gone. */
	char *manifest = sy_xasprintf("%s/manifest.json", out);
	json_error_t jerr;
	json_t *m = json_load_file(manifest, 0, &jerr);
	assert_non_null(m);
	json_t *list = json_object_get(m, "packages");
	assert_int_equal(json_array_size(list), 3);
	assert_string_equal(json_string_value(json_array_get(list, 1)), "greet-1.0-1.noarch");
	json_decref(m);
	char *rootfs = sy_xasprintf("%s/rootfs", work);
	assert_false(sy_exists(rootfs));

	free(rootfs);
	free(manifest);
	free(tarball);
	free(work);
	free(out);
	sy_strv_release(&names);
	sy_strv_release(&artifacts);
	imager_config_release(&cfg);
}

static void test_compose_scriptlets_run_in_image_root_without_host_access(void **state)
{
	struct fixture *f = *state;
	struct imager_config cfg;
	struct sy_strv artifacts = SY_STRV_INIT, names = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	static const char *const pkgs[] = { "escape", NULL };
	char *work = sy_xasprintf("%s/work-escape", f->tmp);
	char *out = sy_xasprintf("%s/out-escape", f->tmp);
	char *logpath = sy_xasprintf("%s/escape.log", f->tmp);
	char *lua_target = sy_xasprintf("%s.lua", f->target);
	char *log = NULL;
	int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	make_config(&cfg, pkgs, "", "");
	assert_ok(imager_compose(&cfg, f->repo, "x86_64", work, out, fd, &test_inputs,
				 &artifacts, &err), &err);
	close(fd);
	/* Neither the Lua scriptlet nor the program it ran reached the host. */
	assert_false(sy_exists(f->target));
	assert_false(sy_exists(lua_target));
	/* Both ran, inside the image root. */
	list_tarball(artifacts.items[0], &names);
	assert_listed(&names, "./lua-ran 644");
	assert_listed(&names, "./escape-ran 644");
	/* The scriptlet's output is in the log. */
	assert_ok(sy_read_file(logpath, &log, NULL, &err), &err);
	if (!strstr(log, "escape-scriptlet-output"))
		fail_msg("scriptlet output missing from the log:\n%s", log);

	free(log);
	free(lua_target);
	free(logpath);
	free(work);
	free(out);
	sy_strv_release(&names);
	sy_strv_release(&artifacts);
	imager_config_release(&cfg);
}

static void test_compose_reports_failing_scriptlet(void **state)
{
	struct fixture *f = *state;
	struct imager_config cfg;
	struct sy_strv artifacts = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	static const char *const pkgs[] = { "failpre", NULL };
	char *work = sy_xasprintf("%s/work-failpre", f->tmp);
	char *out = sy_xasprintf("%s/out-failpre", f->tmp);
	char *rootfs = sy_xasprintf("%s/rootfs", work);

	make_config(&cfg, pkgs, "", "tar.gz");
	assert_int_equal(imager_compose(&cfg, f->repo, "x86_64", work, out, -1, &test_inputs,
				 &artifacts, &err),
			 -1);
	/* The reason comes back from the install child. */
	if (!strstr(err.msg, "image test: ") ||
	    !strstr(err.msg, "failpre-1.0-1.noarch: install failed"))
		fail_msg("unexpected error: %s", err.msg);
	assert_int_equal(artifacts.n, 0);
	assert_false(sy_exists(rootfs));
	imager_config_release(&cfg);
	free(rootfs);
	free(work);
	free(out);
}

static void test_compose_unresolvable_config_writes_nothing(void **state)
{
	struct fixture *f = *state;
	struct imager_config cfg;
	struct sy_strv artifacts = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	static const char *const pkgs[] = { "broken", NULL };
	char *work = sy_xasprintf("%s/work-broken", f->tmp);
	char *out = sy_xasprintf("%s/out-broken", f->tmp);

	make_config(&cfg, pkgs, "", "tar.gz");
	assert_int_equal(imager_compose(&cfg, f->repo, "x86_64", work, out, -1, &test_inputs,
				 &artifacts, &err),
			 -1);
	assert_non_null(strstr(err.msg, "broken"));
	assert_int_equal(artifacts.n, 0);
	assert_false(sy_exists(out));
	imager_config_release(&cfg);
	free(work);
	free(out);
}

static void test_compose_rejects_disk_image_artifacts_without_partitions(void **state)
{
	struct fixture *f = *state;
	struct imager_config cfg;
	struct sy_strv artifacts = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	static const char *const pkgs[] = { "greet", NULL };
	char *work = sy_xasprintf("%s/work-vhdx", f->tmp);
	char *out = sy_xasprintf("%s/out-vhdx", f->tmp);

	make_config(&cfg, pkgs, "vhdx", "");
	assert_int_equal(imager_compose(&cfg, f->repo, "x86_64", work, out, -1, &test_inputs,
				 &artifacts, &err),
			 -1);
	assert_non_null(strstr(err.msg, "Disks[0].Artifacts[0]"));
	assert_non_null(strstr(err.msg, "vhdx"));
	assert_false(sy_exists(out));
	imager_config_release(&cfg);
	free(work);
	free(out);
}

static void test_rpm_install_reports_missing_requires(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	char *root = sy_xasprintf("%s/root-deps", f->tmp);
	char *greet = sy_xasprintf("%s/RPMS/noarch/greet-1.0-1.noarch.rpm", f->repo);
	const char *rpms[] = { greet, NULL };

	assert_ok(sy_mkdir_p(root, 0755, &err), &err);
	assert_int_equal(sandbox_rpm_install(root, rpms, 0, -1, &err), -1);
	if (!strstr(err.msg, "greet-1.0-1.noarch.rpm: ") || !strstr(err.msg, "libgreet >= 1.0"))
		fail_msg("unexpected error: %s", err.msg);
	/* Without the check the package goes in, and the rpmdb records it. */
	assert_ok(sandbox_rpm_install(root, rpms, SANDBOX_RPMINSTALL_NODEPS, -1, &err), &err);
	char *cmd = sy_xasprintf("rpm --root %s --dbpath /var/lib/rpm -q greet >/dev/null", root);
	test_sh(cmd);
	free(cmd);
	free(greet);
	free(root);
}

static void test_rpm_install_rejects_file_that_is_not_an_rpm(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	char *root = sy_xasprintf("%s/root-bad", f->tmp);
	char *bad = sy_xasprintf("%s/bad.rpm", f->tmp);
	const char *rpms[] = { bad, NULL };

	assert_ok(sy_mkdir_p(root, 0755, &err), &err);
	assert_ok(sy_write_file(bad, "not an rpm", 10, 0644, &err), &err);
	assert_int_equal(sandbox_rpm_install(root, rpms, 0, -1, &err), -1);
	assert_non_null(strstr(err.msg, "cannot read header of"));
	assert_non_null(strstr(err.msg, bad));
	free(bad);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compose_closure_follows_requires),
		cmocka_unit_test(test_compose_closure_accepts_versioned_spec),
		cmocka_unit_test(test_compose_closure_names_unresolvable_package),
		cmocka_unit_test(test_compose_writes_rootfs_tarball_with_rpmdb),
		cmocka_unit_test(test_compose_scriptlets_run_in_image_root_without_host_access),
		cmocka_unit_test(test_compose_reports_failing_scriptlet),
		cmocka_unit_test(test_compose_unresolvable_config_writes_nothing),
		cmocka_unit_test(test_compose_rejects_disk_image_artifacts_without_partitions),
		cmocka_unit_test(test_rpm_install_reports_missing_requires),
		cmocka_unit_test(test_rpm_install_rejects_file_that_is_not_an_rpm),
	};

	if (geteuid() != 0) {
		printf("SKIP librpm installs into a root directory only as root\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
