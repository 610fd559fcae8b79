/* Tests of planner/macros.c: the macro context read from git, materialised,
 * and applied to librpm in a forked child. */
#include "testutil.h"

#include <rpm/rpmmacro.h>

#include "planner/macros.h"
#include "common/child.h"
#include "gitwatch/repo.h"

/* A throw-away git repository with a small macros package. */
struct fixture {
	char *tmp;      /* temporary directory: repo/ and work/ */
	char *repodir;  /* the repository's work tree */
	char *workdir;  /* where contexts are materialised */
	struct gitwatch_repo *repo;
	char head[GITWATCH_OID_HEX + 1];
};

static void write_repo_file(struct fixture *f, const char *path, const char *text)
{
	test_write_file(f->repodir, path, text);
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
	cmd = sy_xasprintf("mkdir -p %s && cd %s && git init -q", f->repodir, f->repodir);
	test_sh(cmd);
	free(cmd);
	write_repo_file(f, "SPECS/distro-rpm-macros/macros",
			"%distro_base base-from-macros\n%order_check first\n");
	write_repo_file(f, "SPECS/distro-rpm-macros/macros.zz", "%order_check last\n");
	write_repo_file(f, "SPECS/distro-rpm-macros/macros.aa", "%from_aa aa\n");
	write_repo_file(f, "SPECS/distro-rpm-macros/rpmrc",
			"include: /usr/lib/rpm/rpmrc\n\noptflags: x86_64 -O2 -distro-flag\n");
	write_repo_file(f, "SPECS/distro-rpm-macros/common.lua",
			"local M = {}\nfunction M.hello() return 'hi' end\nreturn M\n");
	write_repo_file(f, "SPECS/distro-rpm-macros/forge.lua", "return { kind = 'forge' }\n");
	write_repo_file(f, "SPECS/distro-rpm-macros/distro-rpm-macros.spec", "Name: x\n");
	write_repo_file(f, "SPECS/distro-rpm-macros/distro-rpm-macros.signatures.json", "{}\n");
	write_repo_file(f, "SPECS/aaa/aaa.spec", "Name: aaa\n");
	commit(f);
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
	free(f);
	return 0;
}

static void load(struct fixture *f, const struct planner_macro_settings *s,
		 struct planner_macro_ctx *ctx)
{
	struct sy_error err = { { 0 } };

	assert_ok(planner_macro_ctx_load(f->repo, f->head, s, NULL, f->workdir, ctx, &err), &err);
}

static const char *base(const char *path)
{
	return strrchr(path, '/') + 1;
}

static void test_macro_ctx_load_finds_macros_dir_and_orders_files(void **state)
{
	struct fixture *f = *state;
	struct planner_macro_settings s = { 0 };
	struct planner_macro_ctx ctx;
	char *p;

	load(f, &s, &ctx);
	assert_int_equal(ctx.macro_files.n, 4);
	assert_string_equal(base(ctx.macro_files.items[0]), "macros");
	assert_string_equal(base(ctx.macro_files.items[1]), "macros.aa");
	assert_string_equal(base(ctx.macro_files.items[2]), "macros.zz");
	assert_string_equal(base(ctx.macro_files.items[3]), "macros.dist");
	for (size_t i = 0; i < ctx.macro_files.n; i++) {
		assert_true(ctx.macro_files.items[i][0] == '/');
		assert_true(sy_exists(ctx.macro_files.items[i]));
	}
	assert_non_null(ctx.rpmrc);
	assert_true(sy_exists(ctx.rpmrc));
	assert_non_null(ctx.lua_dir);
	p = sy_xasprintf("%s/azl/common.lua", ctx.lua_dir);
	assert_true(sy_exists(p));
	free(p);
	p = sy_xasprintf("%s/azl/srpm/forge.lua", ctx.lua_dir);
	assert_true(sy_exists(p));
	free(p);
	p = sy_xasprintf("%s/distro-rpm-macros.spec", ctx.dir);
	assert_false(sy_exists(p));
	free(p);
	assert_int_equal(ctx.defines.n, 1);
	assert_string_equal(ctx.defines.items[0], "dist .azl3");
	assert_string_equal(ctx.target_arch, "x86_64");
	assert_non_null(strstr(ctx.dir, ctx.digest));
	assert_int_equal(strlen(ctx.digest), SY_SHA256_HEX_LEN);
	planner_macro_ctx_release(&ctx);
}

static void test_macro_ctx_load_without_macros_dir_is_empty(void **state)
{
	static const char *const trees[] = { "NOSUCH", NULL };
	struct fixture *f = *state;
	struct planner_macro_settings s = { 0 };
	struct planner_macro_ctx ctx;

	s.spec_trees = trees;
	load(f, &s, &ctx);
	assert_int_equal(ctx.macro_files.n, 1); /* the generated macros.dist */
	assert_string_equal(base(ctx.macro_files.items[0]), "macros.dist");
	assert_null(ctx.rpmrc);
	assert_null(ctx.lua_dir);
	assert_true(sy_exists(ctx.dir));
	planner_macro_ctx_release(&ctx);
}

static void test_macro_ctx_digest_follows_content_defines_and_arch(void **state)
{
	static const char *const defines[] = { "azl 3", "with_check 0", NULL };
	struct fixture *f = *state;
	struct planner_macro_settings s = { 0 };
	struct planner_macro_ctx a, again, with_defines, arm, dist, changed;

	load(f, &s, &a);
	load(f, &s, &again);
	assert_string_equal(a.digest, again.digest);
	assert_string_equal(a.dir, again.dir);
	s.defines = defines;
	load(f, &s, &with_defines);
	assert_string_not_equal(a.digest, with_defines.digest);
	assert_int_equal(with_defines.defines.n, 3);
	assert_string_equal(with_defines.defines.items[1], "azl 3");
	s.defines = NULL;
	s.target_arch = "aarch64";
	load(f, &s, &arm);
	assert_string_not_equal(a.digest, arm.digest);
	s.target_arch = NULL;
	s.dist_tag = ".fc40";
	load(f, &s, &dist);
	assert_string_not_equal(a.digest, dist.digest);
	assert_string_equal(dist.defines.items[0], "dist .fc40");
	s.dist_tag = NULL;
	write_repo_file(f, "SPECS/distro-rpm-macros/macros.aa", "%from_aa changed\n");
	commit(f);
	load(f, &s, &changed);
	assert_string_not_equal(a.digest, changed.digest);
	planner_macro_ctx_release(&a);
	planner_macro_ctx_release(&again);
	planner_macro_ctx_release(&with_defines);
	planner_macro_ctx_release(&arm);
	planner_macro_ctx_release(&dist);
	planner_macro_ctx_release(&changed);
}

static void test_macro_ctx_rpmbuild_args_lists_defines(void **state)
{
	static const char *const defines[] = { "with_check 1", NULL };
	struct fixture *f = *state;
	struct planner_macro_settings s = { 0 };
	struct planner_macro_ctx ctx;
	struct sy_strv argv = SY_STRV_INIT;

	s.defines = defines;
	load(f, &s, &ctx);
	planner_macro_ctx_rpmbuild_args(&ctx, &argv);
	assert_int_equal(argv.n, 4);
	assert_string_equal(argv.items[0], "--define");
	assert_string_equal(argv.items[1], "dist .azl3");
	assert_string_equal(argv.items[2], "--define");
	assert_string_equal(argv.items[3], "with_check 1");
	sy_strv_release(&argv);
	planner_macro_ctx_release(&ctx);
}

/* What the child applies and prints. */
struct apply_probe {
	const struct planner_macro_ctx *ctx;
	const char *expr; /* expanded and printed to stdout */
};

static int apply_child(void *arg)
{
	struct apply_probe *p = arg;
	struct sy_error err = { { 0 } };
	char *out;

	if (planner_macro_ctx_apply(p->ctx, &err) != 0) {
		printf("apply failed: %s", err.msg);
		fflush(stdout);
		return 1;
	}
	out = rpmExpand(p->expr, NULL);
	printf("%s", out);
	fflush(stdout);
	return 0;
}

/* Runs apply_child on probe in a forked child, its output captured. */
static void run_apply_child(struct apply_probe *probe, struct sy_child *child)
{
	struct sy_error err = { { 0 } };

	*child = (struct sy_child)SY_CHILD_INIT;
	child->child_fn = apply_child;
	child->child_arg = probe;
	child->capture = 1;
	child->log_fd = SY_CHILD_DEVNULL;
	child->timeout_s = 30;
	assert_ok(sy_child_run(child, &err), &err);
}

/* Applies ctx in a forked child and returns expr expanded there. */
static char *expand_in_child(const struct planner_macro_ctx *ctx, const char *expr)
{
	struct apply_probe probe = { ctx, expr };
	struct sy_child child;

	run_apply_child(&probe, &child);
	if (child.status != 0)
		fail_msg("child failed (%d): %s", child.status, child.out ? child.out : "");
	return child.out;
}

static void test_macro_ctx_apply_loads_files_defines_and_lua(void **state)
{
	static const char *const defines[] = { "azl 3", NULL };
	struct fixture *f = *state;
	struct planner_macro_settings s = { 0 };
	struct planner_macro_ctx ctx;
	char *out;

	s.defines = defines;
	load(f, &s, &ctx);
	out = expand_in_child(&ctx, "%{dist}|%{azl}|%{distro_base}|%{from_aa}|%{order_check}|"
				    "%{_target_cpu}|%{_arch}|%{optflags}|"
				    "%{lua: print(require('azl.common').hello())}|"
				    "%{lua: print(require('azl.srpm.forge').kind)}");
	assert_string_equal(out, ".azl3|3|base-from-macros|aa|last|x86_64|x86_64|-O2 -distro-flag|"
				 "hi|forge");
	free(out);
	planner_macro_ctx_release(&ctx);
}

static void test_macro_ctx_apply_sets_target_arch(void **state)
{
	struct fixture *f = *state;
	struct planner_macro_settings s = { 0 };
	struct planner_macro_ctx ctx;
	char *out;

	s.target_arch = "aarch64";
	load(f, &s, &ctx);
	out = expand_in_child(&ctx, "%{_target_cpu} %{_arch} %{_lib}");
	assert_string_equal(out, "aarch64 aarch64 lib64");
	free(out);
	planner_macro_ctx_release(&ctx);
}

static void test_macro_ctx_loads_installed_files_not_every_shipped_one(void **state)
{
	struct fixture *f = *state;
	struct planner_macro_settings s = { 0 };
	struct planner_macro_file one = { (char *)"SPECS/aaa/macros.aaa",
					  (char *)"%from_installed aaa\n", 20 };
	struct planner_macro_files installed = { &one, 1 };
	struct planner_macro_ctx a, b, none;
	struct sy_error err = { { 0 } };
	char *out;

	write_repo_file(f, "SPECS/aaa/macros.aaa", "%from_shipped aaa\n");
	write_repo_file(f, "SPECS/bbb/macros.bbb", "%from_other bbb\n");
	commit(f);
	load(f, &s, &none);
	assert_int_equal(none.macro_files.n, 4);
	out = expand_in_child(&none, "%{?from_shipped}|%{?from_other}");
	assert_string_equal(out, "|");
	free(out);
	assert_ok(planner_macro_ctx_load(f->repo, f->head, &s, &installed, f->workdir, &a, &err),
		  &err);
	assert_int_equal(a.macro_files.n, 5);
	assert_string_equal(base(a.macro_files.items[3]), "SPECS.aaa.macros.aaa");
	assert_string_equal(base(a.macro_files.items[4]), "macros.dist");
	out = expand_in_child(&a, "%{?from_installed}|%{?from_shipped}|%{?from_other}");
	assert_string_equal(out, "aaa||");
	free(out);
	one.data = (char *)"%from_installed changed\n";
	one.len = strlen(one.data);
	assert_ok(planner_macro_ctx_load(f->repo, f->head, &s, &installed, f->workdir, &b, &err),
		  &err);
	assert_string_not_equal(a.digest, b.digest);
	assert_string_not_equal(a.digest, none.digest);
	planner_macro_ctx_release(&a);
	planner_macro_ctx_release(&b);
	planner_macro_ctx_release(&none);
}

static void test_macro_ctx_generates_macros_dist_from_defines(void **state)
{
	static const char *const defines[] = { "azl 3", "with_check 0", NULL };
	struct fixture *f = *state;
	struct planner_macro_settings s = { 0 };
	struct planner_macro_ctx ctx;
	struct sy_error err = { { 0 } };
	char *text;
	size_t len;

	s.defines = defines;
	s.dist_tag = ".azl4";
	load(f, &s, &ctx);
	assert_ok(sy_read_file(ctx.macro_files.items[ctx.macro_files.n - 1], &text, &len, &err),
		  &err);
	assert_string_equal(text, "%dist .azl4\n%azl 3\n%with_check 0\n");
	assert_string_equal(ctx.dist_tag, ".azl4");
	assert_string_equal(ctx.version_prefix, "azl");
	free(text);
	planner_macro_ctx_release(&ctx);
}

static void test_macro_ctx_digest_follows_version_prefix(void **state)
{
	struct fixture *f = *state;
	struct planner_macro_settings s = { 0 };
	struct planner_macro_ctx a, b;

	load(f, &s, &a);
	s.version_prefix = "fc";
	load(f, &s, &b);
	assert_string_equal(b.version_prefix, "fc");
	assert_string_not_equal(a.digest, b.digest);
	planner_macro_ctx_release(&a);
	planner_macro_ctx_release(&b);
}

static void test_macro_ctx_apply_rejects_missing_macro_file(void **state)
{
	struct planner_macro_ctx ctx;
	struct apply_probe probe = { &ctx, "%{dist}" };
	struct sy_child child;

	(void)state;
	memset(&ctx, 0, sizeof(ctx));
	sy_strv_push(&ctx.macro_files, "/nonexistent/shipyard/macros");
	ctx.target_arch = sy_xstrdup("x86_64");
	run_apply_child(&probe, &child);
	assert_int_equal(child.status, 1);
	assert_non_null(strstr(child.out, "/nonexistent/shipyard/macros: cannot load macro file"));
	free(child.out);
	planner_macro_ctx_release(&ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_macro_ctx_load_finds_macros_dir_and_orders_files,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_macro_ctx_load_without_macros_dir_is_empty,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_macro_ctx_digest_follows_content_defines_and_arch,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_macro_ctx_rpmbuild_args_lists_defines, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_macro_ctx_apply_loads_files_defines_and_lua,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_macro_ctx_apply_sets_target_arch, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_macro_ctx_loads_installed_files_not_every_shipped_one,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_macro_ctx_generates_macros_dist_from_defines,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_macro_ctx_digest_follows_version_prefix, setup,
						teardown),
		cmocka_unit_test(test_macro_ctx_apply_rejects_missing_macro_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
