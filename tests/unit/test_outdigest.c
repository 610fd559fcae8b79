/* builder/outdigest: a rebuild whose Release got a rebuild counter
 * (builder/rebuild.h) has the output digest of the build before it when
 * nothing else changed, the subpackages' exact Requires on each other
 * included; a Release changed without the counter's mark, or other content,
 * is another digest. Packages are built here with the host rpmbuild. */
#include "testutil.h"

#include "builder/outdigest.h"
#include "builder/rebuild.h"

/* foo-devel requires exactly its foo, as specs write it; the macro
 * "content" is what foo installs. */
static const char test_spec[] =
	"Name: foo\nVersion: 1.0\nRelease: 1%{?dist}\nSummary: foo\nLicense: MIT\n"
	"BuildArch: noarch\n"
	"%description\nfoo\n"
	"%package devel\nSummary: foo-devel\nRequires: foo = %{version}-%{release}\n"
	"%description devel\nfoo-devel\n"
	"%install\nmkdir -p %{buildroot}/usr/share/foo\n"
	"echo '%{content}' > %{buildroot}/usr/share/foo/data\n"
	"echo devel > %{buildroot}/usr/share/foo/devel\n"
	"%files\n/usr/share/foo/data\n%files devel\n/usr/share/foo/devel\n";

struct fixture {
	char *tmp;
};

static int setup(void **state)
{
	struct fixture *f = sy_xcalloc(1, sizeof(*f));

	f->tmp = test_tmpdir();
	test_write_file(f->tmp, "foo.spec", test_spec);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sy_rm_rf(f->tmp, NULL);
	free(f->tmp);
	free(f);
	return 0;
}

/* Builds foo with content, its Release ending in suffix (counted: marked as
 * a rebuild counter's, as builds get it), and returns the output digest of
 * its two packages in out. */
static void digest_of(const struct fixture *f, const char *content, const char *suffix,
		      int counted, char out[SY_SHA256_HEX_LEN + 1])
{
	static int n;
	struct sy_error err = { { 0 } };
	char *top = sy_xasprintf("%s/build-%d", f->tmp, n++);
	char *cmd = sy_xasprintf("rpmbuild -bb --quiet --define '_topdir %s' --define 'content %s' "
				 "--define 'dist %s' %s%s%s %s/foo.spec >/dev/null 2>&1",
				 top, content, *suffix ? suffix : "%{nil}",
				 counted ? "--define 'disturl " BUILDER_REBUILD_DISTURL : "",
				 counted ? suffix : "", counted ? "'" : "", f->tmp);
	char *rpms[] = {
		sy_xasprintf("%s/RPMS/noarch/foo-1.0-1%s.noarch.rpm", top, suffix),
		sy_xasprintf("%s/RPMS/noarch/foo-devel-1.0-1%s.noarch.rpm", top, suffix),
	};

	test_sh(cmd);
	assert_ok(builder_output_digest((const char *const *)rpms, 2, out, &err), &err);
	free(rpms[0]);
	free(rpms[1]);
	free(cmd);
	free(top);
}

static void test_outdigest_rebuild_counter_alone_is_no_change(void **state)
{
	struct fixture *f = *state;
	char first[SY_SHA256_HEX_LEN + 1], counted[SY_SHA256_HEX_LEN + 1];
	char again[SY_SHA256_HEX_LEN + 1];

	digest_of(f, "same", "", 0, first);
	digest_of(f, "same", ".1", 1, counted);
	digest_of(f, "same", ".12", 1, again);
	assert_string_equal(first, counted);
	assert_string_equal(first, again);
}

static void test_outdigest_release_change_without_counter_mark_counts(void **state)
{
	struct fixture *f = *state;
	char first[SY_SHA256_HEX_LEN + 1], bumped[SY_SHA256_HEX_LEN + 1];

	digest_of(f, "same", "", 0, first);
	digest_of(f, "same", ".1", 0, bumped);
	assert_string_not_equal(first, bumped);
}

static void test_outdigest_counted_rebuild_with_other_content_counts(void **state)
{
	struct fixture *f = *state;
	char first[SY_SHA256_HEX_LEN + 1], other[SY_SHA256_HEX_LEN + 1];

	digest_of(f, "same", "", 0, first);
	digest_of(f, "other", ".1", 1, other);
	assert_string_not_equal(first, other);
}

static void test_outdigest_package_names_its_rebuild_suffix(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	char out[SY_SHA256_HEX_LEN + 1], *suffix = (char *)"x";
	char *cmd = sy_xasprintf("rpmbuild -bb --quiet --define '_topdir %s/one' --define "
				 "'content c' --define 'dist .4' --define 'disturl "
				 BUILDER_REBUILD_DISTURL ".4' %s/foo.spec >/dev/null 2>&1",
				 f->tmp, f->tmp);
	char *rpm = sy_xasprintf("%s/one/RPMS/noarch/foo-1.0-1.4.noarch.rpm", f->tmp);

	test_sh(cmd);
	assert_ok(builder_output_digest_package(rpm, out, &suffix, &err), &err);
	assert_string_equal(suffix, ".4");
	free(suffix);
	free(rpm);
	free(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_outdigest_rebuild_counter_alone_is_no_change,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_outdigest_release_change_without_counter_mark_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_outdigest_counted_rebuild_with_other_content_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outdigest_package_names_its_rebuild_suffix,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
