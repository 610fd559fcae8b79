/* gitwatch: revisions, files at a commit, changesets, materialising. */
#include "testutil.h"

#include <git2.h>
#include <sys/stat.h>

#include "gitwatch/changeset.h"
#include "gitwatch/repo.h"
#include "gitwatch/tlscerts.h"

static char *repo_dir;

#define GIT "git -c user.name=t -c user.email=t@example.invalid -c init.defaultBranch=main "

static int setup(void **state)
{
	(void)state;
	repo_dir = test_tmpdir();
	char *cmd = sy_xasprintf(
		"cd %s && " GIT "init -q . && mkdir -p SPECS/zlib SPECS/curl toolkit/imageconfigs docs && "
		"echo 'Name: zlib' > SPECS/zlib/zlib.spec && echo src > SPECS/zlib/zlib.tar && "
		"echo 'Name: curl' > SPECS/curl/curl.spec && echo '{}' > toolkit/imageconfigs/c.json && "
		"echo readme > docs/README && " GIT "add -A && " GIT "commit -q -m one && "
		"echo 'Release: 2' >> SPECS/zlib/zlib.spec && echo more > docs/README && "
		"git mv SPECS/curl/curl.spec SPECS/curl/curl-new.spec && " GIT "commit -q -am two && "
		"git rm -q SPECS/zlib/zlib.tar && " GIT "commit -q -m three", repo_dir);
	test_sh(cmd);
	free(cmd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sy_rm_rf(repo_dir, NULL);
	free(repo_dir);
	return 0;
}

static void test_changeset_lists_spec_changes_within_prefixes(void **state)
{
	struct gitwatch_repo *repo;
	struct gitwatch_changeset cs;
	struct sy_error err = { { 0 } };
	const char *prefixes[] = { "SPECS", "toolkit/imageconfigs", NULL };

	(void)state;
	assert_ok(gitwatch_repo_open(repo_dir, &repo, &err), &err);
	assert_ok(gitwatch_changeset_compute(repo, "HEAD~2", "HEAD~1", prefixes, &cs, &err), &err);
	assert_int_equal(cs.n, 2);
	assert_int_equal(cs.changes[0].kind, GITWATCH_RENAMED);
	assert_string_equal(cs.changes[0].old_path, "SPECS/curl/curl.spec");
	assert_string_equal(cs.changes[0].new_path, "SPECS/curl/curl-new.spec");
	assert_int_equal(cs.changes[1].kind, GITWATCH_MODIFIED);
	assert_string_equal(cs.changes[1].new_path, "SPECS/zlib/zlib.spec");
	gitwatch_changeset_release(&cs);

	assert_ok(gitwatch_changeset_compute(repo, "HEAD~1", "HEAD", prefixes, &cs, &err), &err);
	assert_int_equal(cs.n, 1);
	assert_int_equal(cs.changes[0].kind, GITWATCH_DELETED);
	assert_string_equal(cs.changes[0].old_path, "SPECS/zlib/zlib.tar");
	assert_null(cs.changes[0].new_path);
	gitwatch_changeset_release(&cs);
	gitwatch_repo_free(repo);
}

static void test_changeset_from_empty_tree_adds_everything(void **state)
{
	struct gitwatch_repo *repo;
	struct gitwatch_changeset cs;
	struct sy_error err = { { 0 } };

	(void)state;
	assert_ok(gitwatch_repo_open(repo_dir, &repo, &err), &err);
	assert_ok(gitwatch_changeset_compute(repo, NULL, "HEAD~2", NULL, &cs, &err), &err);
	assert_int_equal(cs.n, 5);
	for (size_t i = 0; i < cs.n; i++)
		assert_int_equal(cs.changes[i].kind, GITWATCH_ADDED);
	assert_string_equal(cs.from, "");
	gitwatch_changeset_release(&cs);
	gitwatch_repo_free(repo);
}

static void test_read_and_list_files_at_a_commit(void **state)
{
	struct gitwatch_repo *repo;
	struct gitwatch_entries files;
	struct sy_error err = { { 0 } };
	char *data, oid[41];
	size_t len;

	(void)state;
	assert_ok(gitwatch_repo_open(repo_dir, &repo, &err), &err);
	assert_ok(gitwatch_read_file(repo, "HEAD~2", "SPECS/zlib/zlib.spec", &data, &len, &err), &err);
	assert_string_equal(data, "Name: zlib\n");
	assert_int_equal(len, 11);
	free(data);
	assert_int_equal(gitwatch_read_file(repo, "HEAD", "SPECS/zlib/zlib.tar", &data, &len, &err), -1);
	assert_non_null(strstr(err.msg, "SPECS/zlib/zlib.tar"));
	assert_ok(gitwatch_list_files(repo, "HEAD~2", "SPECS", &files, &err), &err);
	assert_int_equal(files.n, 3);
	assert_string_equal(files.items[0].path, "SPECS/curl/curl.spec");
	gitwatch_entries_release(&files);
	assert_ok(gitwatch_list_files(repo, "HEAD", "NOPE", &files, &err), &err);
	assert_int_equal(files.n, 0);
	assert_int_equal(gitwatch_file_oid(repo, "HEAD", "docs/README", oid, &err), 0);
	assert_int_equal(gitwatch_file_oid(repo, "HEAD", "docs/missing", oid, &err), 1);
	assert_int_equal(gitwatch_resolve(repo, "no-such-branch", oid, &err), -1);
	assert_non_null(strstr(err.msg, "no-such-branch"));
	char *branch = gitwatch_head_branch(repo);
	assert_string_equal(branch, "main");
	free(branch);
	gitwatch_repo_free(repo);
}

static void test_materialize_writes_a_spec_directory(void **state)
{
	struct gitwatch_repo *repo;
	struct sy_error err = { { 0 } };
	char *dest = test_tmpdir(), *out = sy_xasprintf("%s/zlib", dest), *data, *path;
	char t1[41], t2[41];

	(void)state;
	assert_ok(gitwatch_repo_open(repo_dir, &repo, &err), &err);
	assert_ok(gitwatch_materialize(repo, "HEAD~1", "SPECS/zlib", out, &err), &err);
	path = sy_xasprintf("%s/zlib.tar", out);
	assert_ok(sy_read_file(path, &data, NULL, &err), &err);
	assert_string_equal(data, "src\n");
	free(data);
	free(path);
	assert_ok(gitwatch_tree_id(repo, "HEAD~1", "SPECS/zlib", t1, &err), &err);
	assert_ok(gitwatch_tree_id(repo, "HEAD", "SPECS/zlib", t2, &err), &err);
	assert_string_not_equal(t1, t2);
	gitwatch_repo_free(repo);
	assert_int_equal(gitwatch_repo_open("/nonexistent", &repo, &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent"));
	sy_rm_rf(dest, NULL);
	free(out);
	free(dest);
}

static void test_unsafe_tree_entry_names_are_refused(void **state)
{
	struct gitwatch_repo *repo;
	struct gitwatch_entries files;
	struct sy_error err = { { 0 } };
	char *dir = test_tmpdir(), *dest = sy_xasprintf("%s/out", dir);
	char *cmd = sy_xasprintf(
		"cd %s && " GIT "init -q . && blob=$(echo evil | git hash-object -w --stdin) && "
		"sub=$(perl -e 'print \"100644 ..\\0\" . pack(\"H*\", $ARGV[0])' $blob | "
		"git hash-object -t tree -w --literally --stdin) && "
		"top=$(perl -e 'print \"40000 SPECS\\0\" . pack(\"H*\", $ARGV[0])' $sub | "
		"git hash-object -t tree -w --literally --stdin) && "
		"c=$(" GIT "commit-tree -m evil $top) && git update-ref refs/heads/main $c", dir);

	(void)state;
	test_sh(cmd);
	assert_ok(gitwatch_repo_open(dir, &repo, &err), &err);
	assert_int_equal(gitwatch_list_files(repo, "main", "SPECS", &files, &err), -1);
	assert_non_null(strstr(err.msg, "unsafe tree entry name '..'"));
	assert_int_equal(gitwatch_materialize(repo, "main", "SPECS", dest, &err), -1);
	assert_false(sy_exists(dest) && sy_exists("evil"));
	gitwatch_repo_free(repo);
	sy_rm_rf(dir, NULL);
	free(cmd);
	free(dest);
	free(dir);
}

static void assert_same_entries(const struct gitwatch_entries *a, const struct gitwatch_entries *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		assert_string_equal(a->items[i].path, b->items[i].path);
		assert_string_equal(a->items[i].oid, b->items[i].oid);
		assert_int_equal(a->items[i].mode, b->items[i].mode);
	}
}

/* Lists SPECS at to from its listing at from and the tree diff, and
 * asserts it is the listing made by walking the tree. */
static void assert_since_is_walked(struct gitwatch_repo *repo, const char *from, const char *to)
{
	struct gitwatch_entries before, walked, added, since;
	struct sy_strv removed = SY_STRV_INIT;
	struct sy_error err = { { 0 } };

	assert_ok(gitwatch_list_files(repo, from, "SPECS", &before, &err), &err);
	assert_ok(gitwatch_list_files(repo, to, "SPECS", &walked, &err), &err);
	assert_ok(gitwatch_diff_files(repo, from, to, "SPECS", &added, &removed, &err), &err);
	assert_ok(gitwatch_entries_patch(&before, &added, &removed, &since, &err), &err);
	assert_same_entries(&walked, &since);
	gitwatch_entries_release(&since);
	gitwatch_entries_release(&added);
	sy_strv_release(&removed);
	gitwatch_entries_release(&walked);
	gitwatch_entries_release(&before);
}

/* A listing patched from another commit's by the tree diff is the walked
 * one, both ways, across a change, a removal, a rename, a new directory, a
 * mode change, a file made a link and a file made a directory. */
static void test_listing_since_another_commit_is_the_walked_listing(void **state)
{
	struct gitwatch_repo *repo;
	struct sy_error err = { { 0 } };
	char *dir = test_tmpdir();
	char *cmd = sy_xasprintf(
		"cd %s && " GIT "init -q . && mkdir -p SPECS/a SPECS/b SPECS/c && "
		"echo a > SPECS/a/a.spec && echo p > SPECS/a/p.patch && echo b > SPECS/b/b.spec && "
		"echo c > SPECS/c/c.spec && echo x > SPECS/c/x && echo y > SPECS/b/y && "
		GIT "add -A && " GIT "commit -q -m one && "
		"echo a2 > SPECS/a/a.spec && git rm -q SPECS/c/c.spec && "
		"git mv SPECS/a/p.patch SPECS/a/q.patch && mkdir SPECS/d && echo d > SPECS/d/d.spec && "
		"chmod +x SPECS/b/b.spec && rm SPECS/c/x && ln -s ../a/a.spec SPECS/c/x && "
		"rm SPECS/b/y && mkdir SPECS/b/y && echo z > SPECS/b/y/z && "
		GIT "add -A && " GIT "commit -q -m two", dir);

	(void)state;
	test_sh(cmd);
	assert_ok(gitwatch_repo_open(dir, &repo, &err), &err);
	assert_since_is_walked(repo, "HEAD~1", "HEAD");
	assert_since_is_walked(repo, "HEAD", "HEAD~1");
	assert_since_is_walked(repo, "HEAD", "HEAD");
	gitwatch_repo_free(repo);
	sy_rm_rf(dir, NULL);
	free(cmd);
	free(dir);
}

/* An unsafe name the tree diff brings in is refused as a walk refuses it,
 * and so is a path the patch would list twice. */
static void test_listing_since_refuses_unsafe_names(void **state)
{
	struct gitwatch_repo *repo;
	struct gitwatch_entries added, out;
	struct sy_strv removed = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	char *dir = test_tmpdir();
	char *cmd = sy_xasprintf(
		"cd %s && " GIT "init -q . && mkdir SPECS && echo ok > SPECS/ok && " GIT "add -A && "
		GIT "commit -q -m clean && git branch clean && "
		"blob=$(echo evil | git hash-object -w --stdin) && "
		"sub=$(perl -e 'print \"100644 ..\\0\" . pack(\"H*\", $ARGV[0])' $blob | "
		"git hash-object -t tree -w --literally --stdin) && "
		"top=$(perl -e 'print \"40000 SPECS\\0\" . pack(\"H*\", $ARGV[0])' $sub | "
		"git hash-object -t tree -w --literally --stdin) && "
		"c=$(" GIT "commit-tree -m evil $top) && git update-ref refs/heads/evil $c", dir);

	(void)state;
	test_sh(cmd);
	assert_ok(gitwatch_repo_open(dir, &repo, &err), &err);
	assert_int_equal(gitwatch_diff_files(repo, "clean", "evil", "SPECS", &added, &removed, &err),
			 -1);
	assert_non_null(strstr(err.msg, "unsafe tree entry name '..'"));
	/* A file the listing has already, added again. */
	assert_ok(gitwatch_list_files(repo, "clean", "SPECS", &added, &err), &err);
	assert_int_equal(gitwatch_entries_patch(&added, &added, &removed, &out, &err), -1);
	assert_non_null(strstr(err.msg, "is listed twice"));
	gitwatch_entries_release(&added);
	gitwatch_repo_free(repo);
	sy_rm_rf(dir, NULL);
	free(cmd);
	free(dir);
}

/* Makes a repository at dir whose main holds SPECS, a tree with the
 * raw entries given as perl string expressions over $l (the link's blob id),
 * $f (a file's) and $s (a subtree holding x); the link points at target. */
static void crafted_repo(const char *dir, const char *target, const char *entries)
{
	char *cmd = sy_xasprintf(
		"cd %s && " GIT "init -q . && l=$(printf %%s '%s' | git hash-object -w --stdin) && "
		"f=$(echo pwned | git hash-object -w --stdin) && "
		"s=$(perl -e 'print \"100644 x\\0\" . pack(\"H*\", $ARGV[0])' $f | "
		"git hash-object -t tree -w --literally --stdin) && "
		"evil=$(perl -e '($l, $f, $s) = map { pack(\"H*\", $_) } @ARGV; print %s' $l $f $s | "
		"git hash-object -t tree -w --literally --stdin) && "
		"top=$(perl -e 'print \"40000 SPECS\\0\" . pack(\"H*\", $ARGV[0])' $evil | "
		"git hash-object -t tree -w --literally --stdin) && "
		"c=$(" GIT "commit-tree -m evil $top) && git update-ref refs/heads/main $c",
		dir, target, entries);

	test_sh(cmd);
	free(cmd);
}

/* A tree holding one name twice: written out, the second entry would go
 * through the first (a link to a host file or directory). Refused, and
 * nothing is written outside the destination. */
static void test_tree_with_a_name_twice_is_refused_and_writes_nothing_outside(void **state)
{
	static const char *const variants[] = {
		/* f: a link to the host file, then f: a file */
		"\"120000 f\\0$l\" . \"100644 f\\0$f\"",
		/* d: a link to the host directory, then d: a directory holding x */
		"\"120000 d\\0$l\" . \"40000 d\\0$s\"",
	};
	struct sy_error err = { { 0 } };
	char *data = NULL;

	(void)state;
	for (size_t v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
		char *dir = test_tmpdir(), *repodir = sy_xasprintf("%s/repo", dir);
		char *host = sy_xasprintf("%s/host", dir), *target = sy_xasprintf("%s/file", host);
		char *dest = sy_xasprintf("%s/out", dir), *x = sy_xasprintf("%s/x", host);
		struct gitwatch_repo *repo;
		struct gitwatch_entries files;

		test_write_file(host, "file", "host data\n");
		crafted_repo(dir, v == 0 ? target : host, variants[v]);
		free(repodir);
		assert_ok(gitwatch_repo_open(dir, &repo, &err), &err);
		assert_int_equal(gitwatch_list_files(repo, "main", "SPECS", &files, &err), -1);
		assert_non_null(strstr(err.msg, "is listed twice"));
		assert_int_equal(gitwatch_materialize(repo, "main", "SPECS", dest, &err), -1);
		assert_ok(sy_read_file(target, &data, NULL, &err), &err);
		assert_string_equal(data, "host data\n");
		assert_false(sy_exists(x));
		free(data);
		gitwatch_repo_free(repo);
		sy_rm_rf(dir, NULL);
		free(x);
		free(dest);
		free(target);
		free(host);
		free(dir);
	}
}

/* libgit2 starts without reading the system CA bundle (Debian's libgit2
 * location); it is read on demand, and forgotten when libgit2 frees it. */
static void test_ca_certificates_wait_until_a_tls_session_needs_them(void **state)
{
	struct stat st;

	(void)state;
	if (stat("/etc/ssl/certs/ca-certificates.crt", &st))
		skip();
	assert_false(gitwatch_tls_certs_deferred());
	git_libgit2_init();
	assert_true(gitwatch_tls_certs_deferred());
	assert_int_equal(gitwatch_tls_certs_load(), 0);
	assert_false(gitwatch_tls_certs_deferred());
	git_libgit2_shutdown();
	git_libgit2_init();
	assert_true(gitwatch_tls_certs_deferred());
	git_libgit2_shutdown();
	assert_false(gitwatch_tls_certs_deferred());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_changeset_lists_spec_changes_within_prefixes),
		cmocka_unit_test(test_changeset_from_empty_tree_adds_everything),
		cmocka_unit_test(test_read_and_list_files_at_a_commit),
		cmocka_unit_test(test_materialize_writes_a_spec_directory),
		cmocka_unit_test(test_unsafe_tree_entry_names_are_refused),
		cmocka_unit_test(test_listing_since_another_commit_is_the_walked_listing),
		cmocka_unit_test(test_listing_since_refuses_unsafe_names),
		cmocka_unit_test(test_tree_with_a_name_twice_is_refused_and_writes_nothing_outside),
		cmocka_unit_test(test_ca_certificates_wait_until_a_tls_session_needs_them),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
