/* Tests of planner/index.c: spec index through the SQLite spec cache, version
 * macros (two passes), several spec trees, arch exclusion. */
#include "testutil.h"

#include <sqlite3.h>
#include <time.h>

#include "planner/index.h"
#include "planner/indexrecord.h"
#include "state/kv.h"
#include "gitwatch/repo.h"

/* A throw-away git repository of small specs. */
struct fixture {
	char *tmp;      /* temporary directory: repo/, work/, state.db */
	char *repodir;  /* the repository's work tree */
	char *workdir;  /* where macro contexts are materialised */
	char *db;       /* spec cache */
	struct gitwatch_repo *repo;
	char head[GITWATCH_OID_HEX + 1];
};

static void write_repo_file(struct fixture *f, const char *path, const char *text)
{
	test_write_file(f->repodir, path, text);
}

/* Writes SPECS/<name>/<name>.spec with version, release and extra lines. */
static void write_spec(struct fixture *f, const char *tree, const char *name, const char *version,
		       const char *release, const char *extra)
{
	char *path = sy_xasprintf("%s/%s/%s.spec", tree, name, name);
	char *text = sy_xasprintf("Name: %s\nVersion: %s\nRelease: %s\nSummary: %s\n"
				  "License: MIT\n%s\n%%description\n%s\n\n%%files\n",
				  name, version, release, name, extra, name);

	write_repo_file(f, path, text);
	free(text);
	free(path);
}

static void commit(struct fixture *f)
{
	struct sy_error err = { { 0 } };

	test_git_commit_all(f->repodir);
	gitwatch_repo_free(f->repo);
	f->repo = NULL;
	assert_ok(gitwatch_repo_open(f->repodir, &f->repo, &err), &err);
	assert_ok(gitwatch_resolve(f->repo, "HEAD", f->head, &err), &err);
}

static int setup(void **state)
{
	struct fixture *f = sy_xcalloc(1, sizeof(*f));
	char *cmd;

	f->tmp = test_tmpdir();
	f->repodir = sy_xasprintf("%s/repo", f->tmp);
	f->workdir = sy_xasprintf("%s/work", f->tmp);
	f->db = sy_xasprintf("%s/state/state.db", f->tmp);
	cmd = sy_xasprintf("mkdir -p %s && cd %s && git init -q", f->repodir, f->repodir);
	test_sh(cmd);
	free(cmd);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	gitwatch_repo_free(f->repo);
	sy_rm_rf(f->tmp, NULL);
	free(f->tmp);
	free(f->repodir);
	free(f->workdir);
	free(f->db);
	free(f);
	return 0;
}

static void load_arch(struct fixture *f, const char *arch, const char *db,
		      struct planner_index *index)
{
	static const char *const trees[] = { "SPECS", "SPECS-EXTENDED", "SPECS-SIGNED", NULL };
	struct planner_macro_settings s = { 0 };
	struct sy_error err = { { 0 } };

	s.spec_trees = trees;
	s.target_arch = arch;
	assert_ok(planner_index_load(f->repo, f->head, &s, f->workdir, db, 2, index, &err), &err);
}

static void load(struct fixture *f, struct planner_index *index)
{
	load_arch(f, NULL, f->db, index);
}

static const struct planner_spec *spec_named(const struct planner_index *index, const char *name)
{
	long i = planner_index_find(index, name);

	if (i < 0)
		fail_msg("spec %s not in the index", name);
	return &index->specs[i];
}

static const struct planner_spec *spec_at(const struct planner_index *index, const char *path)
{
	for (size_t i = 0; i < index->nspecs; i++)
		if (strcmp(index->specs[i].path, path) == 0)
			return &index->specs[i];
	fail_msg("%s not in the index", path);
	return NULL;
}

/* The formatted Requires of spec's main package, "a >= 1.0-1" etc., joined by ", ". */
static char *requires_of(const struct planner_spec *spec)
{
	char *out = sy_xstrdup("");

	assert_true(spec->npackages >= 1);
	for (size_t i = 0; i < spec->packages[0].requires.n; i++) {
		char *d = planner_dep_format(&spec->packages[0].requires.items[i]);
		char *next = sy_xasprintf("%s%s%s", out, *out ? ", " : "", d);

		free(d);
		free(out);
		out = next;
	}
	return out;
}

/* A uses nothing; B takes its version and a Requires from A's version macros;
 * C is unrelated to B; E names C's release macro. */
static void write_version_repo(struct fixture *f, const char *a_version, const char *c_version)
{
	write_spec(f, "SPECS", "a", a_version, "3%{?dist}", "Epoch: 2");
	write_spec(f, "SPECS", "b", "%{azl_a_version}", "1%{?dist}",
		   "Requires: a >= %{azl_a_epoch}:%{azl_a_version}-%{?azl_a_release}");
	write_spec(f, "SPECS", "c", c_version, "1%{?dist}", "");
	write_spec(f, "SPECS", "e", "1", "1%{?dist}", "Requires: c-rel = %{azl_c_release}");
	commit(f);
}

static void test_index_version_macro_user_follows_only_its_macros(void **state)
{
	struct fixture *f = *state;
	struct planner_index ix;
	char *req;

	write_version_repo(f, "1.0", "5.0");
	load(f, &ix);
	assert_int_equal(ix.nspecs, 4);
	assert_null(spec_named(&ix, "b")->error);
	assert_string_equal(spec_named(&ix, "b")->version, "1.0");
	req = requires_of(spec_named(&ix, "b"));
	assert_string_equal(req, "a >= 2:1.0-3");
	free(req);
	assert_int_equal(spec_named(&ix, "b")->version_refs.n, 3);
	assert_int_equal(spec_named(&ix, "a")->version_refs.n, 0);
	assert_int_equal(ix.versioned, 2); /* b and e */
	assert_int_equal(ix.parsed, 4 + 2);
	assert_int_equal(ix.cache_hits, 0);
	assert_string_not_equal(ix.spec_contexts[planner_index_find(&ix, "b")], ix.macros.digest);
	assert_string_equal(ix.spec_contexts[planner_index_find(&ix, "a")], ix.macros.digest);
	planner_index_release(&ix);

	load(f, &ix); /* nothing changed: everything from the cache */
	assert_int_equal(ix.parsed, 0);
	assert_int_equal(ix.cache_hits, 6);
	assert_string_equal(spec_named(&ix, "b")->version, "1.0");
	planner_index_release(&ix);

	/* C's version bumped: only C is read; E names C's release, not its
	 * version, and B names neither. */
	write_version_repo(f, "1.0", "5.1");
	load(f, &ix);
	assert_int_equal(ix.parsed, 1);
	assert_int_equal(ix.cache_hits, 5);
	assert_string_equal(spec_named(&ix, "b")->version, "1.0");
	planner_index_release(&ix);

	write_version_repo(f, "2.0", "5.1"); /* A bumped: A and B read */
	load(f, &ix);
	assert_int_equal(ix.parsed, 1 + 1);
	assert_string_equal(spec_named(&ix, "b")->version, "2.0");
	req = requires_of(spec_named(&ix, "b"));
	assert_string_equal(req, "a >= 2:2.0-3");
	free(req);
	req = requires_of(spec_named(&ix, "e"));
	assert_string_equal(req, "c-rel = 1");
	free(req);
	planner_index_release(&ix);
}

static void test_index_computed_version_macro_name_follows_every_version(void **state)
{
	struct fixture *f = *state;
	struct planner_index ix;
	char *req;

	write_spec(f, "SPECS", "a", "1.0", "1", "");
	write_spec(f, "SPECS", "c", "5", "1", "");
	write_spec(f, "SPECS", "dyn", "1", "1",
		   "%global other a\nRequires: a = %{expand:%%{azl_%{other}_version}}");
	commit(f);
	load(f, &ix);
	assert_int_equal(spec_named(&ix, "dyn")->version_refs.n, 1);
	assert_string_equal(spec_named(&ix, "dyn")->version_refs.items[0], "*");
	req = requires_of(spec_named(&ix, "dyn"));
	assert_string_equal(req, "a = 1.0");
	free(req);
	planner_index_release(&ix);
	write_spec(f, "SPECS", "c", "6", "1", "");
	commit(f);
	load(f, &ix); /* any version change reads it again */
	assert_int_equal(ix.parsed, 2);
	planner_index_release(&ix);
}

static void test_index_writes_version_macros_file(void **state)
{
	struct fixture *f = *state;
	struct planner_index ix;
	struct sy_error err = { { 0 } };
	char *text;
	size_t len;

	write_spec(f, "SPECS", "kernel-headers", "6.6.1", "2%{?dist}", "Epoch: 1");
	write_spec(f, "SPECS-EXTENDED", "zz", "3", "4%{?dist}.1", "");
	commit(f);
	load(f, &ix);
	const char *last = ix.macros.macro_files.items[ix.macros.macro_files.n - 1];
	assert_string_equal(strrchr(last, '/'), "/macros.versions");
	assert_ok(sy_read_file(last, &text, &len, &err), &err);
	assert_string_equal(text, "%azl_kernel_headers_epoch 1\n"
				  "%azl_kernel_headers_release 2\n"
				  "%azl_kernel_headers_version 6.6.1\n"
				  "%azl_zz_release 4.azl3.1\n"
				  "%azl_zz_version 3\n");
	free(text);
	planner_index_release(&ix);
}

static void test_index_caches_parse_errors(void **state)
{
	struct fixture *f = *state;
	struct planner_index ix;
	char *first;

	write_spec(f, "SPECS", "good", "1", "1", "");
	write_repo_file(f, "SPECS/bad/bad.spec", "Name: bad\nNme: typo\n");
	commit(f);
	load(f, &ix);
	assert_int_equal(ix.parsed, 2);
	assert_non_null(spec_at(&ix, "SPECS/bad/bad.spec")->error);
	first = sy_xstrdup(spec_at(&ix, "SPECS/bad/bad.spec")->error);
	assert_non_null(strstr(first, "SPECS/bad/bad.spec"));
	planner_index_release(&ix);
	load(f, &ix);
	assert_int_equal(ix.parsed, 0);
	assert_int_equal(ix.cache_hits, 2);
	assert_string_equal(spec_at(&ix, "SPECS/bad/bad.spec")->error, first);
	planner_index_release(&ix);
	free(first);
}

static void test_index_without_cache_parses_every_time(void **state)
{
	struct fixture *f = *state;
	struct planner_index ix;

	write_spec(f, "SPECS", "one", "1", "1", "");
	commit(f);
	for (int i = 0; i < 2; i++) {
		load_arch(f, NULL, NULL, &ix);
		assert_int_equal(ix.parsed, 1);
		assert_int_equal(ix.cache_hits, 0);
		planner_index_release(&ix);
	}
	assert_false(sy_exists(f->db));
}

static void test_index_reads_several_spec_trees_sorted(void **state)
{
	struct fixture *f = *state;
	struct planner_index ix;

	write_spec(f, "SPECS", "zlib", "1", "1", "");
	write_spec(f, "SPECS-EXTENDED", "ext", "1", "1", "");
	write_repo_file(f, "SPECS/zlib/nested/deep.spec", "Name: deep\n");
	write_repo_file(f, "SPECS/top.spec", "Name: top\n");
	write_repo_file(f, "OTHER/x/x.spec", "Name: x\n");
	commit(f);
	load(f, &ix); /* SPECS-SIGNED does not exist */
	assert_int_equal(ix.nspecs, 2);
	assert_string_equal(ix.specs[0].path, "SPECS-EXTENDED/ext/ext.spec");
	assert_string_equal(ix.specs[1].path, "SPECS/zlib/zlib.spec");
	assert_int_equal(strlen(ix.spec_inputs[0]), SY_SHA256_HEX_LEN);
	planner_index_release(&ix);
}

static void test_index_excludes_specs_by_target_arch(void **state)
{
	struct fixture *f = *state;
	struct planner_index ix;

	write_spec(f, "SPECS", "armonly", "1", "1", "ExclusiveArch: aarch64");
	write_spec(f, "SPECS", "nox86", "1", "1", "ExcludeArch: s390x x86_64");
	write_spec(f, "SPECS", "noarchonly", "1", "1", "BuildArch: noarch\nExclusiveArch: noarch");
	write_spec(f, "SPECS", "both", "1", "1", "ExclusiveArch: x86_64 aarch64");
	write_spec(f, "SPECS", "any", "1", "1", "");
	commit(f);
	load(f, &ix);
	assert_string_equal(spec_named(&ix, "armonly")->excluded,
			    "ExclusiveArch: aarch64 does not include x86_64");
	assert_string_equal(spec_named(&ix, "nox86")->excluded,
			    "ExcludeArch: s390x x86_64 includes x86_64");
	assert_int_equal(spec_named(&ix, "armonly")->npackages, 1); /* data kept */
	assert_null(spec_named(&ix, "noarchonly")->excluded);
	assert_null(spec_named(&ix, "both")->excluded);
	assert_null(spec_named(&ix, "any")->excluded);
	planner_index_release(&ix);

	load_arch(f, "aarch64", f->db, &ix);
	assert_int_equal(ix.parsed, 5); /* the arch is part of the key */
	assert_string_equal(ix.macros.target_arch, "aarch64");
	assert_null(spec_named(&ix, "armonly")->excluded);
	assert_null(spec_named(&ix, "nox86")->excluded);
	assert_string_equal(spec_named(&ix, "any")->packages[0].arch, "aarch64");
	planner_index_release(&ix);
}

#define MANIFEST "toolkit/resources/manifests/package/pkggen_core_x86_64.txt"

static void test_index_worker_root_macro_change_rereads_every_spec(void **state)
{
	struct fixture *f = *state;
	struct planner_index ix;

	write_spec(f, "SPECS", "user", "%{shipped_version}", "1", "");
	write_repo_file(f, "SPECS/tool/macros.tool", "%shipped_version 7\n");
	write_spec(f, "SPECS", "tool", "1", "1", "");
	write_repo_file(f, MANIFEST, "# the worker root\ntool-1-1.x86_64.rpm\n");
	commit(f);
	load(f, &ix);
	assert_string_equal(spec_named(&ix, "user")->version, "7");
	planner_index_release(&ix);
	write_repo_file(f, "SPECS/tool/macros.tool", "%shipped_version 8\n");
	commit(f);
	load(f, &ix);
	assert_int_equal(ix.parsed, 3); /* tool for the context, then both */
	assert_string_equal(spec_named(&ix, "user")->version, "8");
	planner_index_release(&ix);
}

static void test_index_macro_files_of_other_packages_stay_out(void **state)
{
	struct fixture *f = *state;
	struct planner_index ix;

	write_spec(f, "SPECS", "user", "1%{?qt_version}", "1", "");
	write_repo_file(f, "SPECS/qt/macros.qt", "%qt_version @@VERSION@@\n");
	write_spec(f, "SPECS", "qt", "5", "1", "");
	write_repo_file(f, MANIFEST, "tool-1-1.x86_64.rpm\n");
	commit(f);
	load(f, &ix);
	assert_string_equal(spec_named(&ix, "user")->version, "1");
	planner_index_release(&ix);
	write_repo_file(f, "SPECS/qt/macros.qt", "%qt_version 6\n");
	commit(f);
	load(f, &ix);
	assert_int_equal(ix.parsed, 1); /* qt's directory changed: qt alone */
	planner_index_release(&ix);
}

static void test_index_worker_root_macros_are_installed_form(void **state)
{
	struct fixture *f = *state;
	struct planner_index ix;

	write_spec(f, "SPECS", "user", "%{cmake_version}", "%{cmake_major}", "");
	write_repo_file(f, "SPECS/cmake/macros.cmake",
			"%cmake_version @@CMAKE_VERSION@@\n%cmake_major @@CMAKE_MAJOR_VERSION@@\n");
	write_spec(f, "SPECS", "cmake", "3.30.3", "1", "");
	write_repo_file(f, MANIFEST, "cmake-3.30.3-1.x86_64.rpm\n");
	commit(f);
	load(f, &ix);
	assert_string_equal(spec_named(&ix, "user")->version, "3.30.3");
	assert_string_equal(spec_named(&ix, "user")->release, "3");
	planner_index_release(&ix);
}

/* rpms/tool-1-1.noarch.rpm under dir, installing macros.tool with text. */
static void build_macro_rpm(const char *dir, const char *text)
{
	char *spec = sy_xasprintf(
		"Name: tool\nVersion: 1\nRelease: 1\nSummary: s\nLicense: MIT\nBuildArch: noarch\n"
		"%%description\nd\n%%install\nmkdir -p %%{buildroot}/usr/lib/rpm/macros.d\n"
		"echo '%s' > %%{buildroot}/usr/lib/rpm/macros.d/macros.tool\n"
		"%%files\n/usr/lib/rpm/macros.d/macros.tool\n", text);
	char *cmd;

	test_write_file(dir, "tool.spec", spec);
	cmd = sy_xasprintf("rpmbuild -bb --quiet --define '_topdir %s/top' "
			   "--define '_build_id_links none' %s/tool.spec >/dev/null 2>&1 && "
			   "mkdir -p %s/rpms && cp %s/top/RPMS/noarch/*.rpm %s/rpms/",
			   dir, dir, dir, dir, dir);
	test_sh(cmd);
	free(cmd);
	free(spec);
}

static void test_index_worker_root_macros_come_from_built_rpms(void **state)
{
	static const char *const trees[] = { "SPECS", NULL };
	struct fixture *f = *state;
	struct planner_macro_settings s = { 0 };
	struct planner_index ix;
	struct sy_error err = { { 0 } };
	char *built = sy_xasprintf("%s/built", f->tmp), *rpms = sy_xasprintf("%s/rpms", built);

	write_spec(f, "SPECS", "user", "1%{?tool_version}", "1", "");
	write_repo_file(f, "SPECS/tool/macros.tool", "%tool_version 7\n");
	write_spec(f, "SPECS", "tool", "1", "1", "BuildArch: noarch");
	write_repo_file(f, MANIFEST, "tool-1-1.noarch.rpm\n");
	commit(f);
	build_macro_rpm(built, "%tool_version 9");
	s.spec_trees = trees;
	s.installed_rpms = rpms;
	assert_ok(planner_index_load(f->repo, f->head, &s, f->workdir, NULL, 2, &ix, &err), &err);
	assert_string_equal(spec_named(&ix, "user")->version, "19");
	planner_index_release(&ix);
	s.installed_rpms = NULL;
	assert_ok(planner_index_load(f->repo, f->head, &s, f->workdir, NULL, 2, &ix, &err), &err);
	assert_string_equal(spec_named(&ix, "user")->version, "17");
	planner_index_release(&ix);
	free(built);
	free(rpms);
}

static void test_index_spec_includes_files_of_its_directory(void **state)
{
	struct fixture *f = *state;
	struct planner_index ix;

	write_repo_file(f, "SPECS/perl/perl.spec",
			"Name: perl\nSource7: gendep.macros\n%include %{SOURCE7}\n"
			"Version: %{gen_version}\nRelease: 1\nSummary: s\nLicense: MIT\n"
			"%description\nd\n%files\n");
	write_repo_file(f, "SPECS/perl/gendep.macros", "%global gen_version 5.38\n");
	commit(f);
	load(f, &ix);
	assert_null(spec_named(&ix, "perl")->error);
	assert_string_equal(spec_named(&ix, "perl")->version, "5.38");
	planner_index_release(&ix);
	write_repo_file(f, "SPECS/perl/gendep.macros", "%global gen_version 5.40\n");
	commit(f);
	load(f, &ix);
	assert_int_equal(ix.parsed, 1);
	assert_string_equal(spec_named(&ix, "perl")->version, "5.40");
	planner_index_release(&ix);
}

static void test_index_parse_time_rpm_query_sees_the_worker_manifest(void **state)
{
	struct fixture *f = *state;
	struct planner_index ix;

	if (geteuid() != 0)
		skip(); /* the manifest rpmdb is bound into the spec sandbox, made as root */
	write_spec(f, "SPECS", "kmod", "%(rpm -q --qf '%%{VERSION}' kernel-headers)", "1", "");
	write_repo_file(f, MANIFEST, "kernel-headers-6.6.1-2.azl3.noarch.rpm\n");
	commit(f);
	load(f, &ix);
	assert_null(spec_named(&ix, "kmod")->error);
	assert_string_equal(spec_named(&ix, "kmod")->version, "6.6.1");
	planner_index_release(&ix);
}

static void test_index_worker_manifest_path_is_a_setting(void **state)
{
	static const char *const trees[] = { "SPECS", NULL };
	struct fixture *f = *state;
	struct planner_macro_settings s = { 0 };
	struct planner_index ix;
	struct sy_error err = { { 0 } };

	write_spec(f, "SPECS", "user", "1%{?tool_version}", "1", "");
	write_repo_file(f, "SPECS/tool/macros.tool", "%tool_version 7\n");
	write_spec(f, "SPECS", "tool", "1", "1", "");
	write_repo_file(f, "worker/aarch64.txt", "tool-1-1.aarch64.rpm\n");
	commit(f);
	s.spec_trees = trees;
	s.target_arch = "aarch64";
	s.worker_manifest = "worker/%s.txt";
	assert_ok(planner_index_load(f->repo, f->head, &s, f->workdir, NULL, 2, &ix, &err), &err);
	assert_string_equal(ix.macros.manifest_path, "worker/aarch64.txt");
	assert_string_equal(spec_named(&ix, "user")->version, "17");
	planner_index_release(&ix);
	s.worker_manifest = "";
	assert_ok(planner_index_load(f->repo, f->head, &s, f->workdir, NULL, 2, &ix, &err), &err);
	assert_null(ix.macros.manifest_path);
	assert_string_equal(spec_named(&ix, "user")->version, "1");
	planner_index_release(&ix);
}

static void test_index_refuses_a_manifest_line_that_is_no_rpm_name(void **state)
{
	struct fixture *f = *state;
	struct planner_index ix;
	struct sy_error err = { { 0 } };

	write_spec(f, "SPECS", "a", "1", "1", "");
	write_repo_file(f, MANIFEST, "ok-1-1.x86_64.rpm\n%{lua: os.exit()}-1-1.x86_64.rpm\n");
	commit(f);
	struct planner_macro_settings s = { 0 };

	assert_int_equal(planner_index_load(f->repo, f->head, &s, f->workdir, NULL, 2, &ix, &err),
			 -1);
	assert_non_null(strstr(err.msg, "pkggen_core_x86_64.txt:2: "));
	assert_non_null(strstr(err.msg, "not an RPM file name"));
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Empties the spec cache of f's state.db: what is read after comes from the
 * index record, or from librpm. */
static void empty_spec_cache(struct fixture *f)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DELETE FROM spec_cache", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void write_record_specs(struct fixture *f)
{
	write_spec(f, "SPECS", "good", "1", "1", "Requires: other >= 2");
	write_spec(f, "SPECS-EXTENDED", "other", "2", "3", "");
	write_repo_file(f, "SPECS/bad/bad.spec", "Name: bad\nNme: typo\n");
	commit(f);
}

static void test_index_record_serves_a_warm_load_whole(void **state)
{
	struct fixture *f = *state;
	struct planner_index cold, warm;
	char *req, *cmd;

	write_record_specs(f);
	load(f, &cold);
	assert_int_equal(cold.parsed, 3);
	empty_spec_cache(f);
	load(f, &warm); /* the record alone: the spec cache has nothing */
	assert_int_equal(warm.parsed, 0);
	assert_int_equal(warm.cache_hits, 3);
	assert_int_equal(warm.nspecs, cold.nspecs);
	assert_int_equal(warm.files.n, cold.files.n);
	assert_string_equal(warm.macros.digest, cold.macros.digest);
	assert_int_equal(warm.macros.macro_files.n, cold.macros.macro_files.n);
	for (size_t i = 0; i < warm.nspecs; i++) {
		assert_string_equal(warm.specs[i].path, cold.specs[i].path);
		assert_string_equal(warm.spec_inputs[i], cold.spec_inputs[i]);
		assert_string_equal(warm.spec_contexts[i], cold.spec_contexts[i]);
	}
	for (size_t i = 0; i < warm.files.n; i++) {
		assert_string_equal(warm.files.items[i].path, cold.files.items[i].path);
		assert_string_equal(warm.files.items[i].oid, cold.files.items[i].oid);
		assert_int_equal(warm.files.items[i].mode, cold.files.items[i].mode);
	}
	assert_string_equal(spec_at(&warm, "SPECS/bad/bad.spec")->error,
			    spec_at(&cold, "SPECS/bad/bad.spec")->error);
	req = requires_of(spec_named(&warm, "good"));
	assert_string_equal(req, "other >= 2");
	free(req);
	assert_string_equal(spec_named(&warm, "other")->release, "3");
	planner_index_release(&warm);
	planner_index_release(&cold);

	/* The macro context's files are gone (a cleaned tmp/): the record is
	 * not used, the context is made again and the specs read again. */
	cmd = sy_xasprintf("rm -rf %s/macros-*", f->workdir);
	test_sh(cmd);
	free(cmd);
	load(f, &warm);
	assert_int_equal(warm.parsed, 3);
	assert_true(sy_exists(warm.macros.dir));
	planner_index_release(&warm);
}

static void test_index_record_that_does_not_decode_is_a_miss(void **state)
{
	struct fixture *f = *state;
	struct planner_index ix;
	sqlite3 *db;

	write_record_specs(f);
	load(f, &ix);
	planner_index_release(&ix);
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "UPDATE kv SET value = substr(value, 1, 100)"
				      " WHERE ns = 'index-v1'",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_changes(db), 1);
	sqlite3_close(db);
	load(f, &ix); /* through the spec cache, and the record written again */
	assert_int_equal(ix.parsed, 0);
	assert_int_equal(ix.cache_hits, 3);
	assert_string_equal(spec_named(&ix, "other")->version, "2");
	planner_index_release(&ix);
	empty_spec_cache(f);
	load(f, &ix);
	assert_int_equal(ix.parsed, 0);
	planner_index_release(&ix);
}

static void test_index_record_shares_the_specs_of_the_other_commit(void **state)
{
	struct fixture *f = *state;
	static const char *const trees[] = { "SPECS", "SPECS-EXTENDED", "SPECS-SIGNED", NULL };
	struct planner_macro_settings s = { .spec_trees = trees };
	struct sy_error err = { { 0 } };
	struct planner_index base, head;
	char base_oid[GITWATCH_OID_HEX + 1];

	write_record_specs(f);
	memcpy(base_oid, f->head, sizeof(base_oid));
	load(f, &base);
	planner_index_release(&base);
	write_spec(f, "SPECS-EXTENDED", "other", "2", "4", "");
	commit(f);
	load(f, &head);
	assert_ok(planner_index_load_reusing(f->repo, base_oid, &s, f->workdir, f->db, 2, &head,
					     &base, &err),
		  &err);
	/* good and bad read alike at both commits: shared; other decoded. */
	assert_int_equal(base.parsed, 0);
	assert_int_equal(base.reused, 2);
	assert_int_equal(base.cache_hits, 1);
	assert_ptr_equal(spec_named(&base, "good")->name, spec_named(&head, "good")->name);
	assert_string_equal(spec_named(&base, "other")->release, "3");
	assert_string_equal(spec_named(&head, "other")->release, "4");
	planner_index_release(&head); /* either order */
	assert_string_equal(spec_named(&base, "other")->version, "2");
	planner_index_release(&base);
}

static void test_index_azl_sample_warm_load_parses_nothing(void **state)
{
	struct fixture *f = *state;
	struct planner_index cold, warm;
	const char *shared = test_shared_dir();
	double t0, t1, t2;
	char *cmd;

	if (!shared)
		skip(); /* ../shared (the Azure Linux sample) is absent */
	cmd = sy_xasprintf("cp -r %s/azl-sample/SPECS %s/", shared, f->repodir);
	test_sh(cmd);
	free(cmd);
	commit(f);
	t0 = now_s();
	load(f, &cold);
	t1 = now_s();
	load(f, &warm);
	t2 = now_s();
	print_message("azl-sample: %zu specs, cold %.3f s (%zu parsed), warm %.3f s (%zu hits)\n",
		      cold.nspecs, t1 - t0, cold.parsed, t2 - t1, warm.cache_hits);
	assert_int_equal(cold.parsed, cold.nspecs);
	assert_int_equal(warm.parsed, 0);
	assert_int_equal(warm.cache_hits, cold.nspecs);
	for (size_t i = 0; i < cold.nspecs; i++) {
		char *a = planner_spec_to_json(&cold.specs[i]);
		char *b = planner_spec_to_json(&warm.specs[i]);

		assert_string_equal(a, b);
		free(a);
		free(b);
	}
	planner_index_release(&cold);
	planner_index_release(&warm);
}

/* The stored index record of commit in the database db (read with the
 * settings of load_arch), *len bytes; NULL when there is none. */
static char *record_of(struct fixture *f, const char *db, const char *commit, size_t *len)
{
	static const char *const trees[] = { "SPECS", "SPECS-EXTENDED", "SPECS-SIGNED", NULL };
	struct planner_macro_settings s = { .spec_trees = trees };
	struct sy_error err = { { 0 } };
	char key[SY_SHA256_HEX_LEN + 1], *data = NULL;

	planner_indexrecord_key(commit, &s, f->workdir, key);
	assert_int_equal(state_kv_get(db, "index-v1", key, &data, len, &err), 1);
	return data;
}

/* Asserts that derived (a load reusing another commit's index) equals full
 * (a load from nothing): listing, inputs, contexts, specs and the record
 * each stored. */
static void assert_same_index(struct fixture *f, const struct planner_index *derived,
			      const char *derived_db, const struct planner_index *full,
			      const char *full_db)
{
	char *a, *b;
	size_t alen, blen;

	assert_int_equal(derived->files.n, full->files.n);
	for (size_t i = 0; i < full->files.n; i++) {
		assert_string_equal(derived->files.items[i].path, full->files.items[i].path);
		assert_string_equal(derived->files.items[i].oid, full->files.items[i].oid);
		assert_int_equal(derived->files.items[i].mode, full->files.items[i].mode);
	}
	assert_int_equal(derived->nspecs, full->nspecs);
	for (size_t i = 0; i < full->nspecs; i++) {
		assert_string_equal(derived->spec_inputs[i], full->spec_inputs[i]);
		assert_string_equal(derived->spec_contexts[i], full->spec_contexts[i]);
		a = planner_spec_to_json(&derived->specs[i]);
		b = planner_spec_to_json(&full->specs[i]);
		assert_string_equal(a, b);
		free(a);
		free(b);
	}
	a = record_of(f, derived_db, derived->commit, &alen);
	b = record_of(f, full_db, full->commit, &blen);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	free(a);
	free(b);
}

/* Loads the head commit reusing base (read from its record, as a warm plan
 * does) and from nothing in another database, and compares the two. */
static void check_derived_load(struct fixture *f, const char *base_commit, const char *db)
{
	static const char *const trees[] = { "SPECS", "SPECS-EXTENDED", "SPECS-SIGNED", NULL };
	struct planner_macro_settings s = { .spec_trees = trees };
	struct sy_error err = { { 0 } };
	struct planner_index base, derived, full;
	char *full_db = sy_xasprintf("%s/full.db", f->tmp);

	assert_ok(planner_index_load(f->repo, base_commit, &s, f->workdir, db, 2, &base, &err),
		  &err);
	assert_ok(planner_index_load_reusing(f->repo, f->head, &s, f->workdir, db, 2, &base,
					     &derived, &err),
		  &err);
	assert_true(derived.reused > 0);
	/* The specs shared with the base (decoded from its record) are stored
	 * from the bytes of that record. */
	size_t kept = 0;
	for (size_t i = 0; i < derived.nspecs; i++)
		kept += derived.spec_bytes[i] != NULL;
	assert_true(kept > 0);
	assert_ok(planner_index_load(f->repo, f->head, &s, f->workdir, full_db, 2, &full, &err),
		  &err);
	assert_int_equal(full.reused, 0);
	assert_same_index(f, &derived, db, &full, full_db);
	planner_index_release(&derived);
	planner_index_release(&base);
	planner_index_release(&full);
	unlink(full_db);
	free(full_db);
}

static void test_index_derived_from_base_equals_full_load(void **state)
{
	struct fixture *f = *state;
	char base[GITWATCH_OID_HEX + 1];
	struct planner_index ix;

	write_version_repo(f, "1.0", "5.0");
	write_record_specs(f);
	write_repo_file(f, "SPECS/good/good.patch", "one\n");
	write_repo_file(f, "SPECS/good-ng/good-ng.spec", "Name: good-ng\nVersion: 1\n"
			"Release: 1\nSummary: s\nLicense: MIT\n%description\nd\n%files\n");
	commit(f);
	load(f, &ix); /* the base's record */
	planner_index_release(&ix);

	static const char *const steps[] = { "bump", "added", "removed", "beside", "version" };
	for (size_t k = 0; k < sizeof(steps) / sizeof(*steps); k++) {
		memcpy(base, f->head, sizeof(base));
		if (!strcmp(steps[k], "bump")) {
			write_spec(f, "SPECS-EXTENDED", "other", "2", "4", "");
		} else if (!strcmp(steps[k], "added")) {
			write_spec(f, "SPECS", "new", "1", "1", "Requires: good");
		} else if (!strcmp(steps[k], "removed")) {
			char *cmd = sy_xasprintf("rm -r %s/SPECS/c", f->repodir);

			test_sh(cmd);
			free(cmd);
		} else if (!strcmp(steps[k], "beside")) {
			write_repo_file(f, "SPECS/good/good.patch", "two\n");
		} else {
			write_spec(f, "SPECS", "a", "1.1", "3%{?dist}", "Epoch: 2");
		}
		commit(f);
		print_message("%s\n", steps[k]);
		check_derived_load(f, base, f->db);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_index_version_macro_user_follows_only_its_macros,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_index_computed_version_macro_name_follows_every_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_writes_version_macros_file, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_index_caches_parse_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_without_cache_parses_every_time, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_index_reads_several_spec_trees_sorted, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_index_excludes_specs_by_target_arch, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_index_worker_root_macro_change_rereads_every_spec,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_macro_files_of_other_packages_stay_out,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_worker_root_macros_are_installed_form,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_worker_root_macros_come_from_built_rpms,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_spec_includes_files_of_its_directory,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_index_parse_time_rpm_query_sees_the_worker_manifest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_worker_manifest_path_is_a_setting, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_index_refuses_a_manifest_line_that_is_no_rpm_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_record_serves_a_warm_load_whole, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_index_record_that_does_not_decode_is_a_miss,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_index_record_shares_the_specs_of_the_other_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_derived_from_base_equals_full_load, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_index_azl_sample_warm_load_parses_nothing, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
