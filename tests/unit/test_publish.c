/* repo-publish: snapshots with createrepo_c metadata, read back with dnf, and
 * the atomic "current" switch. The RPMs are built here with the host rpmbuild
 * from a generated spec. */
#include "testutil.h"

#include <limits.h>
#include <sys/stat.h>

#include "repo-publish/publish.h"

/* Test packages: greet requires libgreet; the source package is greet-1.0-1. */
static const char test_spec[] =
	"Name: greet\nVersion: 1.0\nRelease: 1\nSummary: greeting\nLicense: MIT\n"
	"BuildArch: noarch\nRequires: libgreet >= 1.0\n"
	"%description\ngreeting\n"
	"%package -n libgreet\nSummary: greeting library\n"
	"%description -n libgreet\nlibrary\n"
	"%install\nmkdir -p %{buildroot}/usr/share/greet %{buildroot}/usr/lib\n"
	"echo hello > %{buildroot}/usr/share/greet/hello.txt\n"
	"echo lib > %{buildroot}/usr/lib/libgreet.txt\n"
	"%files\n/usr/share/greet\n"
	"%files -n libgreet\n/usr/lib/libgreet.txt\n";

struct fixture {
	char *tmp;      /* test directory */
	char *repos;    /* tmp/repos */
	char *greet;    /* binary RPM paths */
	char *libgreet;
	char *srpm;
};

static int setup(void **state)
{
	struct fixture *f = sy_xcalloc(1, sizeof(*f));
	struct sy_error err = { { 0 } };

	f->tmp = test_tmpdir();
	f->repos = sy_xasprintf("%s/repos", f->tmp);
	char *spec = sy_xasprintf("%s/greet.spec", f->tmp);
	if (sy_write_file(spec, test_spec, strlen(test_spec), 0644, &err))
		fail_msg("%s", err.msg);
	char *cmd = sy_xasprintf("rpmbuild -ba --quiet --define '_topdir %s/rpmbuild' "
				 "--define '_build_id_links none' %s >/dev/null 2>&1",
				 f->tmp, spec);
	test_sh(cmd);
	free(cmd);
	free(spec);
	f->greet = sy_xasprintf("%s/rpmbuild/RPMS/noarch/greet-1.0-1.noarch.rpm", f->tmp);
	f->libgreet = sy_xasprintf("%s/rpmbuild/RPMS/noarch/libgreet-1.0-1.noarch.rpm", f->tmp);
	f->srpm = sy_xasprintf("%s/rpmbuild/SRPMS/greet-1.0-1.src.rpm", f->tmp);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };

	sy_rm_rf(f->tmp, &err);
	free(f->tmp);
	free(f->repos);
	free(f->greet);
	free(f->libgreet);
	free(f->srpm);
	free(f);
	return 0;
}

/* Runs dnf repoquery against dir and returns the sorted package names. */
static char *dnf_names(const struct fixture *f, const char *dir)
{
	char *out = sy_xasprintf("%s/dnf.out", f->tmp);
	char *cmd = sy_xasprintf(
		"dnf -q --repofrompath=t,file://%s --repo=t --setopt=reposdir=/dev/null "
		"--installroot=%s/dnfroot --releasever=1 repoquery -a --qf '%%{name}' "
		"2>/dev/null | sort > %s", dir, f->tmp, out);
	struct sy_error err = { { 0 } };
	char *data = NULL;

	test_sh(cmd);
	if (sy_read_file(out, &data, NULL, &err))
		fail_msg("%s", err.msg);
	free(cmd);
	free(out);
	return data;
}

static char *read_link(const char *path)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);

	if (n < 0)
		fail_msg("%s: not a symlink", path);
	buf[n] = '\0';
	return sy_xstrdup(buf);
}

static size_t count_entries(const char *dir)
{
	char *cmd = sy_xasprintf("ls -A %s | wc -l", dir);
	FILE *p = popen(cmd, "r");
	unsigned long n = 0;

	assert_non_null(p);
	assert_int_equal(fscanf(p, "%lu", &n), 1);
	pclose(p);
	free(cmd);
	return n;
}

static void test_publish_snapshot_is_readable_by_dnf(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	const char *rpms[] = { f->greet, f->libgreet, f->srpm, NULL };
	char *snap = NULL;

	assert_ok(repo_publish_snapshot(f->repos, "stable", rpms, &snap, &err), &err);
	assert_non_null(snap);
	assert_int_equal(snap[0], '/');

	char *names = dnf_names(f, snap);
	assert_string_equal(names, "greet\nlibgreet\n");
	free(names);

	char *srpms = sy_xasprintf("%s/SRPMS", snap);
	names = dnf_names(f, srpms);
	assert_string_equal(names, "greet\n");
	free(names);
	free(srpms);

	char *cur = repo_publish_current_path(f->repos, "stable");
	assert_non_null(cur);
	assert_string_equal(cur, snap);
	free(cur);
	free(snap);
}

static void test_publish_list_current_gives_sorted_binary_rpms(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	const char *rpms[] = { f->libgreet, f->srpm, f->greet, NULL };
	struct sy_strv list = SY_STRV_INIT;
	char *snap = NULL;

	assert_ok(repo_publish_snapshot(f->repos, "stable", rpms, &snap, &err), &err);
	assert_ok(repo_publish_list_current(f->repos, "stable", &list, &err), &err);
	assert_int_equal(list.n, 2);
	char *want0 = sy_xasprintf("%s/RPMS/noarch/greet-1.0-1.noarch.rpm", snap);
	char *want1 = sy_xasprintf("%s/RPMS/noarch/libgreet-1.0-1.noarch.rpm", snap);
	assert_string_equal(list.items[0], want0);
	assert_string_equal(list.items[1], want1);
	free(want0);
	free(want1);
	free(snap);
	sy_strv_release(&list);
}

static void test_publish_list_snapshot_lists_an_old_snapshot_after_current_moved(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	const char *all[] = { f->greet, f->libgreet, NULL };
	const char *one[] = { f->libgreet, NULL };
	struct sy_strv list = SY_STRV_INIT;
	char *first = NULL;

	assert_ok(repo_publish_snapshot(f->repos, "stable", all, &first, &err), &err);
	assert_ok(repo_publish_snapshot(f->repos, "stable", one, NULL, &err), &err);
	assert_ok(repo_publish_list_snapshot(first, &list, &err), &err);
	assert_int_equal(list.n, 2);
	char *want = sy_xasprintf("%s/RPMS/noarch/greet-1.0-1.noarch.rpm", first);
	assert_string_equal(list.items[0], want);
	free(want);
	sy_strv_release(&list);
	/* No snapshot: nothing, and no error. */
	assert_ok(repo_publish_list_snapshot(NULL, &list, &err), &err);
	assert_int_equal(list.n, 0);
	free(first);
}

static void test_publish_unpublished_channel_lists_nothing(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	struct sy_strv list = SY_STRV_INIT;

	assert_null(repo_publish_current_path(f->repos, "never"));
	assert_null(repo_publish_current_id(f->repos, "never"));
	assert_ok(repo_publish_list_current(f->repos, "never", &list, &err), &err);
	assert_int_equal(list.n, 0);
	repo_publish_list_snapshots(f->repos, "never", &list);
	assert_int_equal(list.n, 0);
}

static void test_publish_second_snapshot_replaces_current(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	const char *all[] = { f->greet, f->libgreet, NULL };
	const char *one[] = { f->libgreet, NULL };
	char *first = NULL, *second = NULL;

	assert_ok(repo_publish_snapshot(f->repos, "stable", all, &first, &err), &err);
	assert_ok(repo_publish_snapshot(f->repos, "stable", one, &second, &err), &err);
	assert_string_not_equal(first, second);

	char *link = sy_xasprintf("%s/stable/current", f->repos);
	char *target = read_link(link);
	char *want = sy_xasprintf("snapshots/%s", strrchr(second, '/') + 1);
	assert_string_equal(target, want);

	/* The ids name both snapshots, oldest first; current is the second. */
	struct sy_strv ids = SY_STRV_INIT;
	char *current = repo_publish_current_id(f->repos, "stable");
	repo_publish_list_snapshots(f->repos, "stable", &ids);
	assert_int_equal(ids.n, 2);
	assert_string_equal(ids.items[0], strrchr(first, '/') + 1);
	assert_string_equal(ids.items[1], strrchr(second, '/') + 1);
	assert_string_equal(current, ids.items[1]);
	free(current);
	sy_strv_release(&ids);

	char *names = dnf_names(f, link);
	assert_string_equal(names, "libgreet\n");
	free(names);
	/* The old snapshot is untouched. */
	names = dnf_names(f, first);
	assert_string_equal(names, "greet\nlibgreet\n");
	free(names);

	free(link);
	free(target);
	free(want);
	free(first);
	free(second);
}

static void test_publish_failure_keeps_previous_current(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	const char *good[] = { f->greet, f->libgreet, NULL };
	char *missing = sy_xasprintf("%s/no-such-1.0-1.noarch.rpm", f->tmp);
	const char *bad[] = { f->greet, missing, NULL };
	/* Same file twice: fails while the snapshot is being filled. */
	const char *dup[] = { f->greet, f->greet, NULL };
	char *snap = NULL, *other = NULL;

	assert_ok(repo_publish_snapshot(f->repos, "stable", good, &snap, &err), &err);

	assert_int_equal(repo_publish_snapshot(f->repos, "stable", bad, &other, &err), -1);
	assert_null(other);
	assert_non_null(strstr(err.msg, missing));

	err.msg[0] = '\0';
	assert_int_equal(repo_publish_snapshot(f->repos, "stable", dup, &other, &err), -1);
	assert_null(other);
	assert_non_null(strstr(err.msg, "greet-1.0-1.noarch.rpm"));

	char *cur = repo_publish_current_path(f->repos, "stable");
	assert_string_equal(cur, snap);
	char *snaps = sy_xasprintf("%s/stable/snapshots", f->repos);
	assert_int_equal(count_entries(snaps), 1);
	char *names = dnf_names(f, cur);
	assert_string_equal(names, "greet\nlibgreet\n");

	free(names);
	free(snaps);
	free(cur);
	free(snap);
	free(missing);
}

static void test_publish_rejects_bad_channel_name(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	const char *rpms[] = { f->greet, NULL };

	assert_int_equal(repo_publish_snapshot(f->repos, "../x", rpms, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "../x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_publish_snapshot_is_readable_by_dnf, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_publish_list_current_gives_sorted_binary_rpms,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_publish_list_snapshot_lists_an_old_snapshot_after_current_moved, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_publish_unpublished_channel_lists_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_publish_second_snapshot_replaces_current,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_publish_failure_keeps_previous_current, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_publish_rejects_bad_channel_name, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
