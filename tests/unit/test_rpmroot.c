/* builder/rpmroot: worker roots made of a distribution's own packages. The
 * packages are built here with the host rpmbuild and published with
 * repo-publish into a channel of a test state directory. Needs root (the
 * install runs in a sandbox). */
#include "testutil.h"

#include <sys/stat.h>

#include "builder/rebuild.h"
#include "builder/rpmroot.h"
#include "builder/worker.h"
#include "builder/workercache.h"
#include "repo-publish/publish.h"

/* tool requires base; base's %post marks that it ran inside the root. The
 * macro "flavour" changes tool's content, not its NEVRA; %dist (empty on
 * the host) its Release, as a rebuild counter does (builder/rebuild.h). */
static const char test_spec[] =
	"Name: tool\nVersion: 1.0\nRelease: 1%{?dist}\nSummary: tool\nLicense: MIT\n"
	"BuildArch: noarch\nAutoReqProv: no\nRequires: base\n"
	"%description\ntool\n"
	"%package -n base\nSummary: base\n%description -n base\nbase\n"
	"%install\nmkdir -p %{buildroot}/usr/bin %{buildroot}/etc\n"
	"echo '%{flavour}' > %{buildroot}/usr/bin/tool\n"
	"echo base > %{buildroot}/etc/base-release\n"
	"%post -n base -p <lua>\nlocal f = io.open(\"/post-ran\", \"w\")\n"
	"if f then f:write(\"ran\\n\") f:close() end\n"
	"%files\n/usr/bin/tool\n%files -n base\n/etc/base-release\n";

struct fixture {
	char *tmp;   /* test directory */
	char *state; /* state directory: channels "toolchain" and "changed" */
};

/* Builds the spec with flavour into tmp/<flavour> and publishes it as
 * channel; a non-empty dist is appended to Release, and recorded as a
 * rebuild counter's suffix when counted. */
static void publish_as(const struct fixture *f, const char *flavour, const char *channel,
		      const char *dist, int counted)
{
	struct sy_error err = { { 0 } };
	char *spec = sy_xasprintf("%s/tool.spec", f->tmp);
	char *top = sy_xasprintf("%s/%s-%s", f->tmp, flavour, channel);
	char *defines = sy_xasprintf("--define 'dist %s' --define 'disturl %s%s'", *dist ? dist : "%{nil}",
				     counted ? BUILDER_REBUILD_DISTURL : "", counted ? dist : "x");
	char *cmd = sy_xasprintf("rpmbuild -bb --quiet --define '_topdir %s' --define "
				 "'flavour %s' --define '_build_id_links none' %s %s >/dev/null 2>&1",
				 top, flavour, defines, spec);
	char *rpms[3] = {
		sy_xasprintf("%s/RPMS/noarch/tool-1.0-1%s.noarch.rpm", top, dist),
		sy_xasprintf("%s/RPMS/noarch/base-1.0-1%s.noarch.rpm", top, dist), NULL,
	};
	char *repos = sy_xasprintf("%s/repos", f->state), *snap = NULL;

	if (sy_write_file(spec, test_spec, strlen(test_spec), 0644, &err))
		fail_msg("%s", err.msg);
	test_sh(cmd);
	if (repo_publish_snapshot(repos, channel, (const char *const *)rpms, &snap, &err))
		fail_msg("%s", err.msg);
	free(snap);
	free(repos);
	free(rpms[0]);
	free(rpms[1]);
	free(cmd);
	free(defines);
	free(top);
	free(spec);
}

static void publish(const struct fixture *f, const char *flavour, const char *channel)
{
	publish_as(f, flavour, channel, "", 0);
}

static int setup(void **state)
{
	struct fixture *f = sy_xcalloc(1, sizeof(*f));

	f->tmp = test_tmpdir();
	f->state = sy_xasprintf("%s/state", f->tmp);
	publish(f, "plain", "toolchain");
	publish(f, "spicy", "changed");
	/* The same spec built again a second later: other build time, other
	 * file checksums, the same output. */
	sleep(1);
	publish(f, "plain", "rebuilt");
	/* Rebuilt with a rebuild counter, same output; and with the same
	 * Release change made in the spec (no counter recorded). */
	publish_as(f, "plain", "counted", ".2", 1);
	publish_as(f, "plain", "bumped", ".2", 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };

	sy_rm_rf(f->tmp, &err);
	free(f->state);
	free(f->tmp);
	free(f);
	return 0;
}

static char *manifest(const struct fixture *f, const char *name, const char *text)
{
	char *path = sy_xasprintf("%s/%s", f->tmp, name);

	test_write_file(f->tmp, name, text);
	return path;
}

/* Reads and resolves path; returns the resolve's status. */
static int resolve(const struct fixture *f, const char *path, struct builder_worker_manifest *m,
		   struct sy_error *err)
{
	if (builder_worker_manifest_read(path, m, err))
		return -1;
	const struct builder_worker_sources src = { repo_publish_channel_dir, (void *)f->state,
						    NULL };

	return builder_worker_resolve(m, path, "x86_64", &src, err);
}

static void test_rpmroot_manifest_refuses_debootstrap_keys_and_typos(void **state)
{
	struct fixture *f = *state;
	struct builder_worker_manifest m;
	struct sy_error err = { { 0 } };
	char *a = manifest(f, "a.conf", "[worker]\n\tkind = rpm\n\trepo = channel:toolchain\n"
			   "\tpackage = tool\n\tsuite = bookworm\n");
	char *b = manifest(f, "b.conf", "[worker]\n\tkind = rpm\n\trepo = channel:toolchain\n"
			   "\tpackage = tool\n\tpackge = base\n");
	char *c = manifest(f, "c.conf", "[worker]\n\tkind = rpm\n\tpackage = tool\n");
	char *d = manifest(f, "d.conf", "[worker]\n\tkind = rpm\n\trepo = channel:toolchain\n"
			   "\tpackage = tool\n[toolchain]\n\tprovides = gcc\n");

	assert_int_equal(builder_worker_manifest_read(a, &m, &err), -1);
	assert_non_null(strstr(err.msg, "worker.suite: not supported with kind = rpm"));
	assert_int_equal(builder_worker_manifest_read(b, &m, &err), -1);
	assert_non_null(strstr(err.msg, "worker.packge: unknown key"));
	assert_int_equal(builder_worker_manifest_read(c, &m, &err), -1);
	assert_non_null(strstr(err.msg, "worker.repo missing"));
	assert_int_equal(builder_worker_manifest_read(d, &m, &err), -1);
	assert_non_null(strstr(err.msg, "toolchain.provides: not supported with kind = rpm"));
	free(a);
	free(b);
	free(c);
	free(d);
}

static void test_rpmroot_resolve_gives_closure_and_stable_digest(void **state)
{
	struct fixture *f = *state;
	struct builder_worker_manifest m, again, changed;
	struct sy_error err = { { 0 } };
	char *a = manifest(f, "a.conf", "[worker]\n\tkind = rpm\n\trepo = channel:toolchain\n"
			   "\tpackage = tool\n");
	char *b = manifest(f, "b.conf", "[worker]\n\tkind = rpm\n\trepo = channel:changed\n"
			   "\tpackage = tool\n");
	char *c = manifest(f, "c.conf", "[worker]\n\tkind = rpm\n\trepo = channel:rebuilt\n"
			   "\tpackage = tool\n");

	assert_ok(resolve(f, a, &m, &err), &err);
	assert_int_equal(m.closure.n, 2);
	assert_string_equal(m.closure.pkgs[0].nevra, "base-1.0-1.noarch");
	assert_string_equal(m.closure.pkgs[1].nevra, "tool-1.0-1.noarch");
	assert_non_null(strstr(m.closure.pkgs[1].checksum, "sha256:"));
	assert_true(sy_strv_contains(&m.toolchain, "base"));
	assert_int_equal(strlen(m.digest), SY_SHA256_HEX_LEN);
	assert_ok(resolve(f, a, &again, &err), &err);
	assert_string_equal(m.digest, again.digest);
	/* Same NEVRAs, other content: another root. */
	assert_ok(resolve(f, b, &changed, &err), &err);
	assert_string_not_equal(m.digest, changed.digest);
	builder_worker_manifest_release(&changed);
	/* Rebuilt with the same output (other file checksums): the same root. */
	assert_ok(resolve(f, c, &changed, &err), &err);
	assert_string_not_equal(m.closure.pkgs[1].checksum, changed.closure.pkgs[1].checksum);
	assert_string_equal(m.digest, changed.digest);
	builder_worker_manifest_release(&m);
	builder_worker_manifest_release(&again);
	builder_worker_manifest_release(&changed);
	free(a);
	free(b);
	free(c);
}

/* A toolchain package rebuilt with another key gets a counter in its
 * Release; with the same output it keeps the root, so that nothing built
 * in the root is built again. The same Release stated by the spec is a
 * new root. */
static void test_rpmroot_rebuild_counter_alone_keeps_the_root(void **state)
{
	struct fixture *f = *state;
	struct builder_worker_manifest m, counted, bumped;
	struct sy_error err = { { 0 } };
	char *a = manifest(f, "a.conf", "[worker]\n\tkind = rpm\n\trepo = channel:toolchain\n"
			   "\tpackage = tool\n");
	char *b = manifest(f, "b.conf", "[worker]\n\tkind = rpm\n\trepo = channel:counted\n"
			   "\tpackage = tool\n");
	char *c = manifest(f, "c.conf", "[worker]\n\tkind = rpm\n\trepo = channel:bumped\n"
			   "\tpackage = tool\n");

	assert_ok(resolve(f, a, &m, &err), &err);
	assert_ok(resolve(f, b, &counted, &err), &err);
	assert_ok(resolve(f, c, &bumped, &err), &err);
	assert_string_equal(counted.closure.pkgs[1].nevra, "tool-1.0-1.2.noarch");
	assert_string_equal(bumped.closure.pkgs[1].nevra, "tool-1.0-1.2.noarch");
	assert_string_equal(m.digest, counted.digest);
	assert_string_not_equal(m.digest, bumped.digest);
	builder_worker_manifest_release(&m);
	builder_worker_manifest_release(&counted);
	builder_worker_manifest_release(&bumped);
	free(a);
	free(b);
	free(c);
}

static void test_rpmroot_resolve_names_what_is_missing(void **state)
{
	struct fixture *f = *state;
	struct builder_worker_manifest m;
	struct sy_error err = { { 0 } };
	char *none = manifest(f, "none.conf", "[worker]\n\tkind = rpm\n"
			      "\trepo = channel:nosuch\n\tpackage = tool\n");
	char *url = manifest(f, "url.conf", "[worker]\n\tkind = rpm\n"
			     "\trepo = ftp://example.invalid/repo\n\tpackage = tool\n");
	char *absent = manifest(f, "absent.conf", "[worker]\n\tkind = rpm\n"
				"\trepo = channel:toolchain\n\tpackage = gcc\n");
	char *pinned = manifest(f, "pinned.conf", "[worker]\n\tkind = rpm\n"
				"\trepo = channel:toolchain\n\tpacklist = list_%s.txt\n");

	assert_int_equal(resolve(f, none, &m, &err), -1);
	assert_non_null(strstr(err.msg, "channel:nosuch: the channel has not been published"));
	builder_worker_manifest_release(&m);
	assert_int_equal(resolve(f, url, &m, &err), -1);
	assert_non_null(strstr(err.msg, "not supported"));
	builder_worker_manifest_release(&m);
	assert_int_equal(resolve(f, absent, &m, &err), -1);
	assert_non_null(strstr(err.msg, "no package provides gcc"));
	builder_worker_manifest_release(&m);
	assert_int_equal(builder_worker_manifest_read(pinned, &m, &err), -1);
	free(none);
	free(url);
	free(absent);
	free(pinned);
}

static void test_rpmroot_package_list_pins_exact_builds(void **state)
{
	struct fixture *f = *state;
	struct builder_worker_manifest m;
	struct sy_error err = { { 0 } };
	char *conf = manifest(f, "list.conf", "[worker]\n\tkind = rpm\n"
			      "\trepo = channel:toolchain\n\tpackagelist = list_%s.txt\n");
	char *wrong = manifest(f, "wrong.conf", "[worker]\n\tkind = rpm\n"
			       "\trepo = channel:toolchain\n\tpackagelist = wrong.txt\n");

	test_write_file(f->tmp, "list_x86_64.txt", "# toolchain\ntool-1.0-1.noarch.rpm\n");
	test_write_file(f->tmp, "wrong.txt", "tool-1.0-2.noarch.rpm\n");
	assert_ok(resolve(f, conf, &m, &err), &err);
	assert_int_equal(m.closure.n, 2);
	builder_worker_manifest_release(&m);
	assert_int_equal(resolve(f, wrong, &m, &err), -1);
	assert_non_null(strstr(err.msg, "wrong.txt lists tool-1.0-2.noarch.rpm; the "
					"repositories have tool-1.0-1.noarch"));
	builder_worker_manifest_release(&m);
	free(conf);
	free(wrong);
}

static void test_rpmroot_root_has_packages_build_user_and_ran_scriptlets(void **state)
{
	struct fixture *f = *state;
	struct builder_worker_manifest m;
	struct sy_strv problems = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	char *conf = manifest(f, "root.conf", "[worker]\n\tkind = rpm\n"
			      "\trepo = channel:toolchain\n\tpackage = tool\n");
	char *cache = sy_xasprintf("%s/cache", f->tmp), *root = NULL, *again = NULL;
	struct stat st;

	assert_ok(resolve(f, conf, &m, &err), &err);
	assert_ok(builder_worker_ensure(cache, &m, NULL, -1, &root, &err), &err);
	char *tool = sy_xasprintf("%s/usr/bin/tool", root);
	char *post = sy_xasprintf("%s/post-ran", root);
	char *build = sy_xasprintf("%s/build", root);
	assert_true(sy_exists(tool));
	assert_true(sy_exists(post));
	assert_int_equal(stat(build, &st), 0);
	assert_int_equal(st.st_uid, BUILDER_WORKER_BUILD_UID);
	/* Every package is in the rpmdb; rpmbuild is not (no package has it). */
	assert_ok(builder_worker_check(cache, &m, &problems, &err), &err);
	assert_int_equal(problems.n, 2);
	assert_non_null(strstr(problems.items[0], "/usr/bin/rpmbuild missing"));
	assert_non_null(strstr(problems.items[1], "/usr/bin/rpm missing"));
	/* Cached: the second call finds it. */
	assert_ok(builder_worker_ensure(cache, &m, NULL, -1, &again, &err), &err);
	assert_string_equal(root, again);
	sy_strv_release(&problems);
	builder_worker_manifest_release(&m);
	free(tool);
	free(post);
	free(build);
	free(again);
	free(root);
	free(cache);
	free(conf);
}

static void test_rpmroot_change_names_packages_that_moved(void **state)
{
	struct sy_strv before = SY_STRV_INIT;
	struct sandbox_solv_pkg pkgs[4] = {
		{ .nevra = "bash-5.2-1.azl3.1.x86_64" },
		{ .nevra = "gcc-13.2-1.azl3.x86_64" },
		{ .nevra = "perl-4:5.38-2.azl3.x86_64" },
		{ .nevra = "zlib-1.3.1-2.azl3.x86_64" },
	};
	struct builder_worker_manifest after = { 0 };
	char *text;

	(void)state;
	after.closure = (struct sandbox_solv_closure){ pkgs, 4 };
	/* bash was rebuilt with another key: a counter, the same release. */
	sy_strv_push(&after.closure_plain, "bash-5.2-1.azl3.x86_64");
	sy_strv_push(&after.closure_plain, "gcc-13.2-1.azl3.x86_64");
	sy_strv_push(&after.closure_plain, "perl-4:5.38-2.azl3.x86_64");
	sy_strv_push(&after.closure_plain, "zlib-1.3.1-2.azl3.x86_64");
	sy_strv_push(&before, "bash-5.2-1.azl3.x86_64");
	sy_strv_push(&before, "perl-4:5.38-2.azl3.x86_64");
	sy_strv_push(&before, "sed-4.9-1.azl3.x86_64");
	sy_strv_push(&before, "zlib-1.3.1-1.azl3.x86_64");
	text = builder_rpmroot_describe_change(&before, &after);
	assert_string_equal(text,
			    "gcc added, zlib 1.3.1-1.azl3 -> 1.3.1-2.azl3, sed removed, 1 rebuilt");
	free(text);
	after.closure.n = 0;
	sy_strv_release(&before);
	text = builder_rpmroot_describe_change(&before, &after);
	assert_string_equal(text, "same versions, other builds");
	free(text);
	sy_strv_release(&after.closure_plain);
}

/* A server's repomd.xml naming a file outside the repository is refused
 * before anything is fetched. */
static void test_rpmroot_repomd_location_may_not_leave_the_repository(void **state)
{
	struct fixture *f = *state;
	struct sy_strv files = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	char *path = sy_xasprintf("%s/evil/repodata/repomd.xml", f->tmp);

	test_write_file(f->tmp, "evil/repodata/repomd.xml",
			"<?xml version=\"1.0\"?>\n<repomd xmlns=\"http://linux.duke.edu/metadata/repo\">"
			"<data type=\"primary\"><location href=\"repodata/../../x/primary.xml\"/>"
			"</data></repomd>\n");
	assert_int_equal(sandbox_solv_repomd_files(path, &files, &err), -1);
	assert_non_null(strstr(err.msg, "primary location \"repodata/../../x/primary.xml\" "
					"leaves the repository"));
	assert_int_equal(files.n, 0);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rpmroot_manifest_refuses_debootstrap_keys_and_typos),
		cmocka_unit_test(test_rpmroot_resolve_gives_closure_and_stable_digest),
		cmocka_unit_test(test_rpmroot_rebuild_counter_alone_keeps_the_root),
		cmocka_unit_test(test_rpmroot_resolve_names_what_is_missing),
		cmocka_unit_test(test_rpmroot_package_list_pins_exact_builds),
		cmocka_unit_test(test_rpmroot_root_has_packages_build_user_and_ran_scriptlets),
		cmocka_unit_test(test_rpmroot_change_names_packages_that_moved),
		cmocka_unit_test(test_rpmroot_repomd_location_may_not_leave_the_repository),
	};

	if (geteuid() != 0) {
		printf("test_rpmroot: skipped, needs root\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
