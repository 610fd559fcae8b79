/* planner/commit: one commit read (settings, index, graph, keys), the base of
 * a plan read without its graph when its keys are cached, specs shared with
 * the other end of a plan, and the caller's overrides of shipyard.conf. */
#include "testutil.h"

#include "gitwatch/repo.h"
#include "planner/commit.h"

struct fixture {
	char *tmp;      /* repo/ and state/ */
	char *repodir;
	char *state;
	struct gitwatch_repo *repo;
	char first[GITWATCH_OID_HEX + 1], second[GITWATCH_OID_HEX + 1];
};

static void write_spec(struct fixture *f, const char *name, const char *release,
		       const char *extra)
{
	char *path = sy_xasprintf("SPECS/%s/%s.spec", name, name);
	char *text = sy_xasprintf("Name: %s\nVersion: 1.0\nRelease: %s\nSummary: %s\n"
				  "License: MIT\nBuildArch: noarch\n%s\n%%description\n%s\n\n"
				  "%%files\n",
				  name, release, name, extra, name);

	test_write_file(f->repodir, path, text);
	free(text);
	free(path);
}

static void commit(struct fixture *f, char oid[GITWATCH_OID_HEX + 1])
{
	struct sy_error err = { { 0 } };

	test_git_commit_all(f->repodir);
	gitwatch_repo_free(f->repo);
	f->repo = NULL;
	assert_ok(gitwatch_repo_open(f->repodir, &f->repo, &err), &err);
	assert_ok(gitwatch_resolve(f->repo, "HEAD", oid, &err), &err);
}

/* Two commits: zlib and curl (BuildRequires zlib); then zlib's release bumped. */
static int setup(void **state)
{
	struct fixture *f = sy_xcalloc(1, sizeof(*f));
	char *cmd;

	f->tmp = test_tmpdir();
	f->repodir = sy_xasprintf("%s/repo", f->tmp);
	f->state = sy_xasprintf("%s/state", f->tmp);
	cmd = sy_xasprintf("mkdir -p %s && cd %s && git init -q", f->repodir, f->repodir);
	test_sh(cmd);
	free(cmd);
	test_write_file(f->repodir, "shipyard.conf", "[distro]\n\tdisttag = .t1\n");
	write_spec(f, "zlib", "1%{?dist}", "");
	write_spec(f, "curl", "1%{?dist}", "BuildRequires: zlib");
	commit(f, f->first);
	write_spec(f, "zlib", "2%{?dist}", "");
	commit(f, f->second);
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
	free(f->state);
	free(f);
	return 0;
}

static struct planner_commit_settings settings(struct fixture *f)
{
	return (struct planner_commit_settings){ .repo = f->repo, .state = f->state, .jobs = 2 };
}

static void test_commit_load_reads_settings_index_graph_and_keys(void **state)
{
	struct fixture *f = *state;
	struct planner_commit_settings s = settings(f);
	struct planner_commit c = { 0 };
	struct sy_error err = { { 0 } };

	assert_ok(planner_commit_load(&s, f->second, &c, &err), &err);
	assert_string_equal(c.oid, f->second);
	assert_string_equal(c.distro.dist_tag, ".t1");
	assert_int_equal(c.index.nspecs, 2);
	assert_true(c.has_graph && c.has_keys);
	assert_int_equal(c.keys.n, 2);
	long curl = planner_commit_find_spec(&c, "curl"), zlib = planner_commit_find_spec(&c, "zlib");
	assert_true(curl >= 0 && zlib >= 0);
	assert_int_equal(planner_commit_find_spec(&c, "nope"), -1);
	assert_string_equal(c.index.specs[zlib].release, "2.t1");
	/* curl's build root holds zlib: an edge of the graph. */
	assert_int_equal(c.graph.nodes[curl].nbuild_deps, 1);
	assert_int_equal(c.graph.nodes[curl].build_deps[0], (size_t)zlib);
	planner_commit_release(&c);
}

static void test_commit_base_with_cached_keys_builds_no_graph(void **state)
{
	struct fixture *f = *state;
	struct planner_commit_settings s = settings(f);
	struct planner_commit head = { 0 }, base = { 0 }, again = { 0 };
	struct sy_error err = { { 0 } };

	/* First read: the base's keys are computed (graph needed), then cached. */
	assert_ok(planner_commit_load(&s, f->second, &head, &err), &err);
	assert_ok(planner_commit_read(&s, f->first, &head, &base, &err), &err);
	assert_ok(planner_commit_keys(&s, &base, &head.distro, 0, &err), &err);
	assert_true(base.has_keys);
	assert_true(base.has_graph);
	/* Read again: the keys come from the cache, no graph is built. */
	assert_ok(planner_commit_read(&s, f->first, &head, &again, &err), &err);
	assert_ok(planner_commit_keys(&s, &again, &head.distro, 0, &err), &err);
	assert_true(again.has_keys);
	assert_false(again.has_graph);
	for (size_t i = 0; i < base.keys.n; i++)
		assert_string_equal(again.keys.keys[i], base.keys.keys[i]);
	/* curl, unchanged, is shared with the head, not read again. */
	long curl = planner_commit_find_spec(&again, "curl");
	assert_true(curl >= 0 && again.index.borrowed[curl]);
	/* zlib's release changed: its key and curl's (its build root) differ. */
	long hz = planner_commit_find_spec(&head, "zlib"), bz = planner_commit_find_spec(&base, "zlib");
	long hc = planner_commit_find_spec(&head, "curl");
	assert_string_not_equal(head.keys.keys[hz], base.keys.keys[bz]);
	assert_string_not_equal(head.keys.keys[hc], base.keys.keys[curl]);
	planner_commit_release(&again);
	planner_commit_release(&base);
	planner_commit_release(&head);
}

/* Keys computed unstored are not in the key cache until stored: the same
 * commit read again computes them again (unstored too), and after
 * planner_commit_keys_store takes the same keys from the cache. */
static void test_commit_keys_left_unstored_are_cached_once_stored(void **state)
{
	struct fixture *f = *state;
	struct planner_commit_settings s = settings(f);
	struct planner_commit head = { 0 }, missed = { 0 }, hit = { 0 };
	struct sy_error err = { { 0 } };

	assert_ok(planner_commit_read(&s, f->second, NULL, &head, &err), &err);
	assert_ok(planner_commit_keys_unstored(&s, &head, &head.distro, NULL, &err), &err);
	assert_true(head.has_keys && head.keys_unstored);
	assert_ok(planner_commit_read(&s, f->second, &head, &missed, &err), &err);
	assert_ok(planner_commit_keys_unstored(&s, &missed, &head.distro, NULL, &err), &err);
	assert_true(missed.keys_unstored); /* a miss: computed */
	assert_ok(planner_commit_keys_store(&s, &head, &err), &err);
	assert_false(head.keys_unstored);
	assert_ok(planner_commit_read(&s, f->second, &head, &hit, &err), &err);
	assert_ok(planner_commit_keys_unstored(&s, &hit, &head.distro, NULL, &err), &err);
	assert_true(hit.has_keys && !hit.keys_unstored); /* a hit */
	for (size_t i = 0; i < head.keys.n; i++)
		assert_string_equal(hit.keys.keys[i], head.keys.keys[i]);
	planner_commit_release(&hit);
	planner_commit_release(&missed);
	planner_commit_release(&head);
}

/* Reads commit head in a state of its own (no cache shared with another
 * reading): after base (its graph and keys computed first, the head's
 * own inputs, graph and keys then derived from them, in the plan stage's
 * order) when base is set, else alone. */
static void read_pair(struct fixture *f, const char *tag, const char *base_oid, const char *head_oid,
		      struct planner_commit *base, struct planner_commit *head)
{
	struct planner_commit_settings s = settings(f);
	struct sy_error err = { { 0 } };
	char *dir = sy_xasprintf("%s/state-%s", f->tmp, tag);

	s.state = dir;
	if (base_oid) {
		assert_ok(planner_commit_read(&s, base_oid, NULL, base, &err), &err);
		assert_ok(planner_commit_graph(&s, base, &err), &err);
		assert_ok(planner_commit_read(&s, head_oid, base, head, &err), &err);
		assert_ok(planner_commit_keys(&s, base, &head->distro, 1, &err), &err);
		/* As the plan stage: the head's own inputs before its graph. */
		assert_ok(planner_commit_keys_begin(&s, head, &head->distro, base, &err), &err);
		assert_true(head->keys_begun && !head->has_keys && !head->has_graph);
		assert_ok(planner_commit_graph_build(&s, head, base, &err), &err);
		assert_ok(planner_commit_keys_from(&s, head, &head->distro, base, &err), &err);
	} else {
		assert_ok(planner_commit_load(&s, head_oid, head, &err), &err);
	}
	free(dir);
}

/* Asserts that head's graph and keys derived from base's are those
 * computed from scratch. */
static void assert_derived_is_computed(struct fixture *f, const char *base_oid,
				       const char *head_oid)
{
	static int round;
	struct planner_commit base = { 0 }, head = { 0 }, alone = { 0 };
	char tag[32];

	snprintf(tag, sizeof(tag), "derived%d", round);
	read_pair(f, tag, base_oid, head_oid, &base, &head);
	snprintf(tag, sizeof(tag), "alone%d", round++);
	read_pair(f, tag, NULL, head_oid, NULL, &alone);
	assert_int_equal(head.index.nspecs, alone.index.nspecs);
	assert_int_equal(head.index.files.n, alone.index.files.n);
	for (size_t i = 0; i < alone.index.files.n; i++) {
		assert_string_equal(head.index.files.items[i].path, alone.index.files.items[i].path);
		assert_string_equal(head.index.files.items[i].oid, alone.index.files.items[i].oid);
		assert_int_equal(head.index.files.items[i].mode, alone.index.files.items[i].mode);
	}
	for (size_t i = 0; i < alone.index.nspecs; i++)
		assert_string_equal(head.index.spec_inputs[i], alone.index.spec_inputs[i]);
	assert_string_equal(head.keys.global, alone.keys.global);
	for (size_t i = 0; i < alone.index.nspecs; i++) {
		const struct planner_graph_node *x = &head.graph.nodes[i], *y = &alone.graph.nodes[i];
		assert_string_equal(head.keys.inputs[i].digest, alone.keys.inputs[i].digest);
		assert_string_equal(head.keys.keys[i], alone.keys.keys[i]);
		assert_int_equal(head.keys.inputs[i].files.n, alone.keys.inputs[i].files.n);
		for (size_t k = 0; k < alone.keys.inputs[i].files.n; k++)
			assert_string_equal(head.keys.inputs[i].files.items[k],
					    alone.keys.inputs[i].files.items[k]);
		assert_int_equal(x->nbuild_deps, y->nbuild_deps);
		for (size_t k = 0; k < y->nbuild_deps; k++)
			assert_int_equal(x->build_deps[k], y->build_deps[k]);
		assert_int_equal(x->nroot_specs, y->nroot_specs);
		for (size_t k = 0; k < y->nroot_specs; k++)
			assert_int_equal(x->root_specs[k], y->root_specs[k]);
		assert_int_equal(x->unresolved.n, y->unresolved.n);
	}
	planner_commit_release(&alone);
	planner_commit_release(&head);
	planner_commit_release(&base);
}

/* A new commit's listing, inputs, graph and keys, derived from its base's,
 * are those computed from scratch: after a spec changed (zlib's release), a
 * spec added, a spec removed, a file beside a spec that no spec names, one
 * in a directory below a spec's, and a change of the macro context (the
 * dist tag), which every key holds. */
static void test_commit_derived_graph_and_keys_equal_the_full_computation(void **state)
{
	struct fixture *f = *state;
	char added[GITWATCH_OID_HEX + 1], removed[GITWATCH_OID_HEX + 1];
	char file[GITWATCH_OID_HEX + 1], macro[GITWATCH_OID_HEX + 1], deeper[GITWATCH_OID_HEX + 1];
	char *cmd;

	assert_derived_is_computed(f, f->first, f->second);
	write_spec(f, "bzip2", "1%{?dist}", "BuildRequires: zlib");
	commit(f, added);
	assert_derived_is_computed(f, f->second, added);
	cmd = sy_xasprintf("rm -r %s/SPECS/curl", f->repodir);
	test_sh(cmd);
	free(cmd);
	commit(f, removed);
	assert_derived_is_computed(f, added, removed);
	test_write_file(f->repodir, "SPECS/zlib/README", "zlib\n");
	commit(f, file);
	assert_derived_is_computed(f, removed, file);
	test_write_file(f->repodir, "SPECS/zlib/docs/NEWS", "news\n"); /* below its directory */
	commit(f, deeper);
	assert_derived_is_computed(f, file, deeper);
	test_write_file(f->repodir, "shipyard.conf", "[distro]\n\tdisttag = .t2\n");
	commit(f, macro);
	assert_derived_is_computed(f, deeper, macro);
}

static void test_commit_refuses_an_unknown_arch(void **state)
{
	struct fixture *f = *state;
	struct planner_commit_settings s = settings(f);
	struct planner_commit c = { 0 };
	struct sy_error err = { { 0 } };

	s.arch = "sparc";
	assert_int_equal(planner_commit_read(&s, f->second, NULL, &c, &err), -1);
	assert_string_equal(err.msg, "arch 'sparc': unknown (known: x86_64, aarch64)");
	planner_commit_release(&c);
}

static void test_commit_overrides_replace_the_repository_settings(void **state)
{
	struct fixture *f = *state;
	struct planner_commit_settings s = settings(f);
	static const char *const trees[] = { "ELSEWHERE", NULL };
	struct planner_commit c = { 0 };
	struct sy_error err = { { 0 } };

	s.spec_trees = trees;
	s.imageconfigs = "images";
	s.rebuild_policy = "local";
	/* A spec tree that does not exist is an error, not 0 specs. */
	assert_int_equal(planner_commit_read(&s, f->second, NULL, &c, &err), -1);
	assert_non_null(strstr(err.msg, "no spec tree: none of ELSEWHERE holds a file"));
	assert_string_equal(c.distro.imageconfigs_dir, "images");
	assert_int_equal(c.distro.policy.layers, 0);
	planner_commit_release(&c);
	s.rebuild_policy = "sideways";
	assert_int_equal(planner_commit_read_distro(&s, f->second, &c, &err), -1);
	assert_non_null(strstr(err.msg, "rebuild policy"));
	planner_commit_release(&c);
}

/* An operator's source servers are asked before the repository's own: a
 * local mirror first, the distribution's server when it lacks a file. */
static void test_commit_source_urls_go_before_the_repository_ones(void **state)
{
	struct fixture *f = *state;
	struct planner_commit_settings s = settings(f);
	static const char *const mirrors[] = { "file:///srv/mirror",
					       "https://m/%{sha256}", NULL };
	static const char *const bad[] = { "https://%{name}/x", NULL };
	struct planner_commit c = { 0 };
	struct sy_error err = { { 0 } };
	char third[GITWATCH_OID_HEX + 1];

	test_write_file(f->repodir, "shipyard.conf", "[sources]\n\turl = https://distro/sources\n");
	commit(f, third);
	s = settings(f);
	s.source_urls = mirrors;
	assert_ok(planner_commit_read_distro(&s, third, &c, &err), &err);
	assert_int_equal(c.distro.source_urls.n, 3);
	assert_string_equal(c.distro.source_urls.items[0], "file:///srv/mirror/%{file}");
	assert_string_equal(c.distro.source_urls.items[1], "https://m/%{sha256}");
	assert_string_equal(c.distro.source_urls.items[2], "https://distro/sources/%{file}");
	planner_commit_release(&c);
	s.source_urls = bad;
	assert_int_equal(planner_commit_read_distro(&s, third, &c, &err), -1);
	assert_non_null(strstr(err.msg, "source URL: 'https://%{name}/x'"));
	planner_commit_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit_load_reads_settings_index_graph_and_keys,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_base_with_cached_keys_builds_no_graph,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_derived_graph_and_keys_equal_the_full_computation,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_keys_left_unstored_are_cached_once_stored,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_refuses_an_unknown_arch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_overrides_replace_the_repository_settings,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_source_urls_go_before_the_repository_ones,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
