/* repo-publish: snapshots with createrepo_c metadata, read back with dnf, and
 * the atomic "current" switch. The RPMs are built here with the host rpmbuild
 * from a generated spec. */
#include "testutil.h"

#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <sys/stat.h>

#include <createrepo_c/createrepo_c.h>
#include <sqlite3.h>

#include "common/hash.h"
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

/* The one file dir matches pattern in (glob), or a failure. */
static char *glob_one(const char *dir, const char *pattern)
{
	char *full = sy_xasprintf("%s/%s", dir, pattern);
	glob_t g;
	char *found;

	if (glob(full, 0, NULL, &g) || g.gl_pathc != 1)
		fail_msg("%s: not exactly one match", full);
	found = sy_xstrdup(g.gl_pathv[0]);
	globfree(&g);
	free(full);
	return found;
}

/* The open-checksums of primary, filelists and other in dir's repomd.xml,
 * joined: equal for equal package lists. */
static char *open_checksums(const char *dir)
{
	static const char *const types[] = { "primary", "filelists", "other" };
	char *path = sy_xasprintf("%s/repodata/repomd.xml", dir), *text = NULL;
	struct sy_error err = { { 0 } };
	struct sy_strv sums = SY_STRV_INIT;
	char *joined;

	if (sy_read_file(path, &text, NULL, &err))
		fail_msg("%s", err.msg);
	for (size_t t = 0; t < 3; t++) {
		char *tag = sy_xasprintf("<data type=\"%s\">", types[t]);
		const char *p = strstr(text, tag);
		assert_non_null(p);
		p = strstr(p, "<open-checksum type=\"sha256\">");
		assert_non_null(p);
		sy_strv_push_owned(&sums, sy_xstrndup(p + 29, 64));
		free(tag);
	}
	joined = sy_strv_join(&sums, " ");
	sy_strv_release(&sums);
	free(text);
	free(path);
	return joined;
}

/* Loads dir's repodata with libcreaterepo_c, keyed by package name. */
static cr_Metadata *load_metadata(const char *dir)
{
	cr_Metadata *md = cr_metadata_new(CR_HT_KEY_NAME, 0, NULL);
	GError *gerr = NULL;

	if (cr_metadata_locate_and_load_xml(md, dir, &gerr) != CRE_OK)
		fail_msg("%s: %s", dir, gerr ? gerr->message : "cannot load");
	return md;
}

/* The pkgid (SHA-256 of the file) dir's metadata records for name. */
static char *metadata_pkgid(const char *dir, const char *name)
{
	cr_Metadata *md = load_metadata(dir);
	cr_Package *pkg = g_hash_table_lookup(cr_metadata_hashtable(md), name);
	char *pkgid;

	assert_non_null(pkg);
	pkgid = sy_xstrdup(pkg->pkgId);
	cr_metadata_free(md);
	return pkgid;
}

static char *sha256_of(const char *path)
{
	char hex[SY_SHA256_HEX_LEN + 1];
	struct sy_error err = { { 0 } };

	if (sy_sha256_file(path, hex, &err))
		fail_msg("%s", err.msg);
	return sy_xstrdup(hex);
}

/* The snapshot's own files: its binary RPMs and SRPMs, as a pipeline hands
 * them to the next publication. */
static void snapshot_files(const char *snap, struct sy_strv *files)
{
	struct sy_error err = { { 0 } };
	char *srpms = sy_xasprintf("%s/SRPMS", snap);
	struct sy_strv names = SY_STRV_INIT;

	assert_ok(repo_publish_list_snapshot(snap, files, &err), &err);
	sy_list_dir(srpms, &names);
	for (size_t i = 0; i < names.n; i++)
		if (strstr(names.items[i], ".src.rpm"))
			sy_strv_pushf(files, "%s/%s", srpms, names.items[i]);
	sy_strv_release(&names);
	free(srpms);
}

/* Publishes files with opts; returns the snapshot, stats in *stats. */
static char *publish(const struct fixture *f, const struct sy_strv *files,
		     const struct repo_publish_options *opts, struct repo_publish_stats *stats)
{
	struct sy_error err = { { 0 } };
	char *snap = NULL;

	/* A strv's items are NULL-terminated. */
	assert_ok(repo_publish_snapshot_with(f->repos, "stable", (const char *const *)files->items,
					     opts, &snap, stats, &err),
		  &err);
	return snap;
}

/* A package the previous snapshot holds (the same file, hard-linked) keeps
 * its entries, only the new one is read, and the repodata equals a full
 * generation's, in the snapshot and in its SRPMS/. */
static void test_publish_keeps_the_entries_of_packages_the_previous_snapshot_holds(void **state)
{
	struct fixture *f = *state;
	struct repo_publish_options full = { .full = 1 };
	struct repo_publish_stats stats;
	struct sy_strv first = SY_STRV_INIT, files = SY_STRV_INIT;
	char *a, *b, *c;

	sy_strv_push(&first, f->greet);
	sy_strv_push(&first, f->srpm);
	a = publish(f, &first, NULL, &stats);
	assert_int_equal(stats.read, 2);
	assert_int_equal(stats.reused, 0);

	snapshot_files(a, &files);
	sy_strv_push(&files, f->libgreet);
	b = publish(f, &files, NULL, &stats);
	assert_int_equal(stats.reused, 2);
	assert_int_equal(stats.read, 1);
	assert_string_equal(stats.warning.msg, "");
	c = publish(f, &files, &full, &stats);
	assert_int_equal(stats.read, 3);
	assert_int_equal(stats.reused, 0);

	char *inc_sums = open_checksums(b), *full_sums = open_checksums(c);
	assert_string_equal(inc_sums, full_sums);
	free(inc_sums);
	free(full_sums);
	char *b_src = sy_xasprintf("%s/SRPMS", b), *c_src = sy_xasprintf("%s/SRPMS", c);
	inc_sums = open_checksums(b_src);
	full_sums = open_checksums(c_src);
	assert_string_equal(inc_sums, full_sums);
	char *names = dnf_names(f, b);
	assert_string_equal(names, "greet\nlibgreet\n");
	free(names);
	names = dnf_names(f, b_src);
	assert_string_equal(names, "greet\n");

	free(names);
	free(inc_sums);
	free(full_sums);
	free(b_src);
	free(c_src);
	sy_strv_release(&first);
	sy_strv_release(&files);
	free(a);
	free(b);
	free(c);
}

/* A different file under the same name is read again, even with the size
 * and mtime of the one the previous snapshot holds (what createrepo_c
 * --update compares): its pkgid is the new file's checksum. */
static void test_publish_reads_a_changed_file_with_the_same_name_again(void **state)
{
	struct fixture *f = *state;
	struct repo_publish_stats stats;
	struct sy_strv files = SY_STRV_INIT, next = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	struct stat st;
	char *a, *b;

	sy_strv_push(&files, f->greet);
	sy_strv_push(&files, f->libgreet);
	a = publish(f, &files, NULL, &stats);

	/* The same bytes but the last (in the payload, which no header
	 * read looks at), the same size and mtime. */
	char *old = sy_xasprintf("%s/RPMS/noarch/greet-1.0-1.noarch.rpm", a);
	char *dir = sy_xasprintf("%s/changed", f->tmp);
	char *changed = sy_xasprintf("%s/greet-1.0-1.noarch.rpm", dir);
	assert_ok(sy_mkdir_p(dir, 0755, &err), &err);
	assert_ok(sy_copy_file(old, changed, &err), &err);
	int fd = open(changed, O_RDWR);
	unsigned char byte;
	assert_true(fd >= 0);
	assert_int_equal(stat(old, &st), 0);
	assert_int_equal(pread(fd, &byte, 1, st.st_size - 1), 1);
	byte ^= 0xff;
	assert_int_equal(pwrite(fd, &byte, 1, st.st_size - 1), 1);
	struct timespec times[2] = { st.st_atim, st.st_mtim };
	assert_int_equal(futimens(fd, times), 0);
	close(fd);

	sy_strv_push(&next, changed);
	sy_strv_pushf(&next, "%s/RPMS/noarch/libgreet-1.0-1.noarch.rpm", a);
	b = publish(f, &next, NULL, &stats);
	assert_int_equal(stats.reused, 1);
	assert_int_equal(stats.read, 1);
	char *pkgid = metadata_pkgid(b, "greet"), *want = sha256_of(changed),
	     *before = sha256_of(old);
	assert_string_equal(pkgid, want);
	assert_string_not_equal(pkgid, before);

	free(pkgid);
	free(want);
	free(before);
	free(old);
	free(dir);
	free(changed);
	sy_strv_release(&files);
	sy_strv_release(&next);
	free(a);
	free(b);
}

/* A package left out of the set leaves the repodata with its file; the
 * others keep their entries; SRPMS/ goes when no source package is left. */
static void test_publish_drops_the_entries_of_removed_packages(void **state)
{
	struct fixture *f = *state;
	struct repo_publish_stats stats;
	struct sy_strv files = SY_STRV_INIT, next = SY_STRV_INIT;
	char *a, *b;

	sy_strv_push(&files, f->greet);
	sy_strv_push(&files, f->libgreet);
	sy_strv_push(&files, f->srpm);
	a = publish(f, &files, NULL, &stats);
	sy_strv_pushf(&next, "%s/RPMS/noarch/libgreet-1.0-1.noarch.rpm", a);
	b = publish(f, &next, NULL, &stats);
	assert_int_equal(stats.reused, 1);
	assert_int_equal(stats.read, 0);

	cr_Metadata *md = load_metadata(b);
	assert_int_equal(g_hash_table_size(cr_metadata_hashtable(md)), 1);
	assert_non_null(g_hash_table_lookup(cr_metadata_hashtable(md), "libgreet"));
	cr_metadata_free(md);
	char *srpms = sy_xasprintf("%s/SRPMS", b);
	assert_false(sy_exists(srpms));
	char *names = dnf_names(f, b);
	assert_string_equal(names, "libgreet\n");

	free(names);
	free(srpms);
	sy_strv_release(&files);
	sy_strv_release(&next);
	free(a);
	free(b);
}

/* Previous repodata that does not check out (a list cut short, a
 * repomd.xml that is no XML) is not used: a warning says why, every
 * package is read, and the snapshot is whole. */
static void test_publish_reads_everything_when_the_previous_repodata_is_corrupt(void **state)
{
	struct fixture *f = *state;
	struct repo_publish_options full = { .full = 1 };
	struct repo_publish_stats stats;
	struct sy_strv files = SY_STRV_INIT, next = SY_STRV_INIT, again = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	struct stat st;
	char *a, *b, *c, *d;

	sy_strv_push(&files, f->greet);
	sy_strv_push(&files, f->libgreet);
	a = publish(f, &files, NULL, &stats);
	char *primary = glob_one(a, "repodata/*-primary.xml.gz");
	assert_int_equal(stat(primary, &st), 0);
	assert_int_equal(truncate(primary, st.st_size / 2), 0);

	snapshot_files(a, &next);
	sy_strv_push(&next, f->srpm);
	b = publish(f, &next, NULL, &stats);
	assert_int_equal(stats.read, 3);
	assert_int_equal(stats.reused, 0);
	assert_non_null(strstr(stats.warning.msg, "previous repodata not used"));
	assert_non_null(strstr(stats.warning.msg, primary));
	c = publish(f, &next, &full, &stats);
	char *got = open_checksums(b), *want = open_checksums(c);
	assert_string_equal(got, want);
	char *names = dnf_names(f, b);
	assert_string_equal(names, "greet\nlibgreet\n");

	char *repomd = sy_xasprintf("%s/repodata/repomd.xml", c);
	assert_int_equal(unlink(repomd), 0);
	assert_ok(sy_write_file(repomd, "not xml", 7, 0644, &err), &err);
	snapshot_files(c, &again);
	d = publish(f, &again, NULL, &stats);
	assert_int_equal(stats.reused, 0);
	assert_int_equal(stats.read, 3);
	assert_non_null(strstr(stats.warning.msg, repomd));

	free(names);
	free(got);
	free(want);
	free(repomd);
	free(primary);
	sy_strv_release(&files);
	sy_strv_release(&next);
	sy_strv_release(&again);
	free(a);
	free(b);
	free(c);
	free(d);
}

/* Entries are kept only from repodata made the way shipyard makes it now
 * (its repomd.xml's repo tag): a repository without the tag (another
 * tool's, an older libcreaterepo_c's) is read in full, and that is no
 * fault to warn about. */
static void test_publish_reads_everything_when_the_previous_repodata_was_made_otherwise(
	void **state)
{
	struct fixture *f = *state;
	struct repo_publish_stats stats;
	struct sy_strv files = SY_STRV_INIT, next = SY_STRV_INIT;
	char *a, *b;

	sy_strv_push(&files, f->greet);
	sy_strv_push(&files, f->libgreet);
	a = publish(f, &files, NULL, &stats);
	char *cmd = sy_xasprintf("grep -q '<repo>shipyard-entries/' %s/repodata/repomd.xml && "
				 "sed -i '/<tags>/,/<\\/tags>/d' %s/repodata/repomd.xml", a, a);
	test_sh(cmd);
	snapshot_files(a, &next);
	b = publish(f, &next, NULL, &stats);
	assert_int_equal(stats.reused, 0);
	assert_int_equal(stats.read, 2);
	assert_string_equal(stats.warning.msg, "");
	char *names = dnf_names(f, b);
	assert_string_equal(names, "greet\nlibgreet\n");

	free(names);
	free(cmd);
	sy_strv_release(&files);
	sy_strv_release(&next);
	free(a);
	free(b);
}

/* A build writes whatever RPM headers it likes (rpmbuild --target
 * ../../../x writes that arch): such a package is refused instead of being
 * linked outside the snapshot, and the channel stays as it was. */
static void test_publish_refuses_an_arch_that_leads_out_of_the_snapshot(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	const char *good[] = { f->greet, NULL };
	char *snap = NULL, *other = NULL;

	test_write_file(f->tmp, "evil.spec",
			"Name: evil\nVersion: 1\nRelease: 1\nSummary: e\nLicense: MIT\n"
			"%description\ne\n%files\n");
	char *cmd = sy_xasprintf("cd %s && rpmbuild -bb --quiet --define '_topdir %s/evilbuild' "
				 "--define '_rpmdir %s/evil' --define '_rpmfilename evil.rpm' "
				 "--target ../../../x evil.spec >/dev/null 2>&1",
				 f->tmp, f->tmp, f->tmp);
	test_sh(cmd);
	char *evil = sy_xasprintf("%s/evil/evil.rpm", f->tmp);
	const char *bad[] = { f->greet, evil, NULL };

	assert_ok(repo_publish_snapshot(f->repos, "stable", good, &snap, &err), &err);
	assert_int_equal(repo_publish_snapshot(f->repos, "stable", bad, &other, &err), -1);
	assert_non_null(strstr(err.msg, "arch '../../../x'"));
	assert_null(other);
	char *outside = sy_xasprintf("%s/stable/x", f->repos);
	assert_false(sy_exists(outside));
	char *cur = repo_publish_current_path(f->repos, "stable");
	assert_string_equal(cur, snap);

	free(cur);
	free(outside);
	free(evil);
	free(cmd);
	free(snap);
}

/* Rows of a query over the sqlite file db, one "a|b" line each. */
static char *query_rows(const char *db_path, const char *sql)
{
	struct sy_strv rows = SY_STRV_INIT;
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	char *joined;

	assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
	while (sqlite3_step(stmt) == SQLITE_ROW) {
		struct sy_strv cols = SY_STRV_INIT;
		for (int i = 0; i < sqlite3_column_count(stmt); i++) {
			const unsigned char *v = sqlite3_column_text(stmt, i);
			sy_strv_push(&cols, v ? (const char *)v : "");
		}
		sy_strv_push_owned(&rows, sy_strv_join(&cols, "|"));
		sy_strv_release(&cols);
	}
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	joined = sy_strv_join(&rows, "\n");
	sy_strv_release(&rows);
	return joined;
}

/* What dir's sqlite databases hold: packages, files, changelogs, and the
 * checksum of the XML each was made with. */
static char *sqlite_content(const struct fixture *f, const char *dir)
{
	static const char *const queries[] = {
		"primary",
		"SELECT name, pkgId, location_href, size_package FROM packages ORDER BY name",
		"filelists",
		"SELECT p.pkgId, f.dirname, f.filenames FROM filelist f JOIN packages p "
		"USING (pkgKey) ORDER BY 1, 2",
		"other",
		"SELECT p.pkgId, c.author, c.changelog FROM changelog c JOIN packages p "
		"USING (pkgKey) ORDER BY 1, 2",
	};
	struct sy_strv parts = SY_STRV_INIT;
	char *joined;

	for (size_t q = 0; q < 6; q += 2) {
		char *pattern = sy_xasprintf("repodata/*-%s.sqlite.bz2", queries[q]);
		char *bz2 = glob_one(dir, pattern), *db = sy_xasprintf("%s/q.sqlite", f->tmp);
		char *cmd = sy_xasprintf("bzip2 -dc %s > %s", bz2, db);
		test_sh(cmd);
		sy_strv_push_owned(&parts, query_rows(db, queries[q + 1]));
		unlink(db);
		free(cmd);
		free(db);
		free(bz2);
		free(pattern);
	}
	joined = sy_strv_join(&parts, "\n--\n");
	sy_strv_release(&parts);
	return joined;
}

/* With sqlite asked for, each repository also gets primary_db,
 * filelists_db and other_db; kept entries give the same rows as packages
 * read from their files, and each database names its list's checksum. */
static void test_publish_writes_sqlite_databases_when_asked(void **state)
{
	struct fixture *f = *state;
	struct repo_publish_options sqlite = { .sqlite = 1 }, full = { .full = 1, .sqlite = 1 };
	struct repo_publish_stats stats;
	struct sy_strv first = SY_STRV_INIT, files = SY_STRV_INIT;
	char *a, *b, *c;

	sy_strv_push(&first, f->greet);
	sy_strv_push(&first, f->srpm);
	a = publish(f, &first, NULL, &stats);
	snapshot_files(a, &files);
	sy_strv_push(&files, f->libgreet);
	b = publish(f, &files, &sqlite, &stats);
	assert_int_equal(stats.reused, 2);
	c = publish(f, &files, &full, &stats);

	char *got = sqlite_content(f, b), *want = sqlite_content(f, c);
	assert_non_null(strstr(got, "greet|"));
	assert_non_null(strstr(got, "libgreet|"));
	assert_non_null(strstr(got, "/usr/share/greet"));
	assert_string_equal(got, want);
	char *src = sy_xasprintf("%s/SRPMS", b);
	free(got);
	got = sqlite_content(f, src);
	assert_non_null(strstr(got, "greet|"));

	/* primary.sqlite's db_info names primary.xml.gz's checksum. */
	char *db = sy_xasprintf("%s/p.sqlite", f->tmp);
	char *bz2 = glob_one(b, "repodata/*-primary.sqlite.bz2");
	char *xml = glob_one(b, "repodata/*-primary.xml.gz"), *xml_sum = sha256_of(xml);
	char *cmd = sy_xasprintf("bzip2 -dc %s > %s", bz2, db);
	test_sh(cmd);
	char *info = query_rows(db, "SELECT checksum FROM db_info");
	assert_string_equal(info, xml_sum);
	/* Without the setting, no databases. */
	char *plain = glob_one(a, "repodata/repomd.xml"), *text = NULL;
	struct sy_error err = { { 0 } };
	assert_ok(sy_read_file(plain, &text, NULL, &err), &err);
	assert_null(strstr(text, "_db\""));

	free(text);
	free(plain);
	free(info);
	free(cmd);
	free(xml);
	free(xml_sum);
	free(bz2);
	free(db);
	free(src);
	free(got);
	free(want);
	sy_strv_release(&first);
	sy_strv_release(&files);
	free(a);
	free(b);
	free(c);
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
		cmocka_unit_test_setup_teardown(
			test_publish_keeps_the_entries_of_packages_the_previous_snapshot_holds,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_publish_reads_a_changed_file_with_the_same_name_again, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_publish_drops_the_entries_of_removed_packages,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_publish_reads_everything_when_the_previous_repodata_is_corrupt, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_publish_writes_sqlite_databases_when_asked,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_publish_reads_everything_when_the_previous_repodata_was_made_otherwise,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_publish_refuses_an_arch_that_leads_out_of_the_snapshot, setup,
			teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
