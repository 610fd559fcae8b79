/* Tests of planner/spec.h: specs read in forked children with librpm. */
#define _GNU_SOURCE
#include "testutil.h"

#include <glob.h>
#include <signal.h>
#include <time.h>

#include "common/util.h"
#include "planner/macros.h"
#include "planner/spec.h"
#include "gitwatch/repo.h"
#include "sandbox/cgroup.h"

/* The Azure Linux sample as a git repository with its macro context. */
struct sample {
	char *tmp;                    /* temporary directory holding repo/ and work/ */
	struct planner_macro_ctx ctx; /* context from SPECS/azurelinux-rpm-macros */
	int loaded;                   /* 1 when ../shared was there */
};

static struct sample sample;

/* A context without distribution macros, for hand-written specs. */
static void plain_ctx(struct planner_macro_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	sy_strv_push(&ctx->defines, "dist .azl3");
	sy_strv_push(&ctx->defines, "with_check 0");
	ctx->target_arch = sy_xstrdup("x86_64");
}

static int setup_sample(void **state)
{
	static const char *const defines[] = { "azl 3", "with_check 0", NULL };
	struct planner_macro_settings settings = { 0 };
	struct gitwatch_repo *repo = NULL;
	struct sy_error err = { { 0 } };
	char oid[GITWATCH_OID_HEX + 1];
	const char *shared = test_shared_dir();
	char *cmd, *repodir, *workdir;

	(void)state;
	if (!shared)
		return 0;
	sample.tmp = test_tmpdir();
	repodir = sy_xasprintf("%s/repo", sample.tmp);
	workdir = sy_xasprintf("%s/work", sample.tmp);
	cmd = sy_xasprintf("mkdir -p %s && cp -r %s/azl-sample/SPECS %s/ && cd %s && git init -q && "
			   "git add -A && git -c user.name=t -c user.email=t@t commit -qm sample",
			   repodir, shared, repodir, repodir);
	test_sh(cmd);
	settings.defines = defines;
	if (gitwatch_repo_open(repodir, &repo, &err) != 0 ||
	    gitwatch_resolve(repo, "HEAD", oid, &err) != 0 ||
	    planner_macro_ctx_load(repo, oid, &settings, NULL, workdir, &sample.ctx, &err) != 0) {
		fprintf(stderr, "sample setup: %s\n", err.msg);
		gitwatch_repo_free(repo);
		return -1;
	}
	gitwatch_repo_free(repo);
	sample.loaded = 1;
	free(cmd);
	free(repodir);
	free(workdir);
	return 0;
}

static int teardown_sample(void **state)
{
	(void)state;
	planner_macro_ctx_release(&sample.ctx);
	if (sample.tmp)
		sy_rm_rf(sample.tmp, NULL);
	free(sample.tmp);
	return 0;
}

static void require_sample(void)
{
	if (!sample.loaded)
		skip(); /* ../shared (the Azure Linux sample) is absent */
}

/* Reads the sample specs matching pattern (relative to azl-sample/). */
static size_t read_sample_specs(const char *pattern, struct planner_spec **out, char ***contents,
				struct planner_spec_input **inputs)
{
	char *full = sy_xasprintf("%s/azl-sample/%s", test_shared_dir(), pattern);
	size_t prefix = strlen(test_shared_dir()) + strlen("/azl-sample/");
	struct sy_error err = { { 0 } };
	glob_t g;

	assert_int_equal(glob(full, 0, NULL, &g), 0);
	*inputs = sy_xcalloc(g.gl_pathc, sizeof(**inputs));
	*contents = sy_xcalloc(g.gl_pathc, sizeof(**contents));
	*out = sy_xcalloc(g.gl_pathc, sizeof(**out));
	for (size_t i = 0; i < g.gl_pathc; i++) {
		assert_ok(sy_read_file(g.gl_pathv[i], &(*contents)[i], &(*inputs)[i].len, &err), &err);
		(*inputs)[i].content = (*contents)[i];
		(*inputs)[i].path = sy_xstrdup(g.gl_pathv[i] + prefix);
	}
	assert_ok(planner_specs_read(*inputs, g.gl_pathc, &sample.ctx, 0, *out, &err), &err);
	size_t n = g.gl_pathc;
	globfree(&g);
	free(full);
	return n;
}

static void free_specs(struct planner_spec *specs, char **contents,
		       struct planner_spec_input *inputs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		planner_spec_release(&specs[i]);
		free(contents[i]);
		free((char *)inputs[i].path);
	}
	free(specs);
	free(contents);
	free(inputs);
}

/* Parses one hand-written spec with a plain context. */
static void read_one(const char *path, const char *text, struct planner_spec *out)
{
	struct planner_spec_input in = { path, text, strlen(text) };
	struct planner_macro_ctx ctx;
	struct sy_error err = { { 0 } };

	plain_ctx(&ctx);
	memset(out, 0, sizeof(*out));
	assert_ok(planner_specs_read(&in, 1, &ctx, 1, out, &err), &err);
	planner_macro_ctx_release(&ctx);
}

static const struct planner_package *find_pkg(const struct planner_spec *s, const char *name)
{
	for (size_t i = 0; i < s->npackages; i++)
		if (strcmp(s->packages[i].name, name) == 0)
			return &s->packages[i];
	fail_msg("package %s not found in %s", name, s->path);
	return NULL;
}

/* The dependencies formatted and joined with ", ". */
static char *deps_str(const struct planner_deps *deps)
{
	struct sy_strv parts = SY_STRV_INIT;
	size_t len = 1;
	char *s;

	for (size_t i = 0; i < deps->n; i++) {
		sy_strv_push_owned(&parts, planner_dep_format(&deps->items[i]));
		len += strlen(parts.items[i]) + 2;
	}
	s = sy_xcalloc(1, len);
	for (size_t i = 0; i < parts.n; i++) {
		if (i)
			strcat(s, ", ");
		strcat(s, parts.items[i]);
	}
	sy_strv_release(&parts);
	return s;
}

static void assert_deps(const struct planner_deps *deps, const char *expected)
{
	char *s = deps_str(deps);

	assert_string_equal(s, expected);
	free(s);
}

static void test_specs_read_parses_every_sample_spec(void **state)
{
	struct planner_spec *specs;
	struct planner_spec_input *inputs;
	char **contents;
	size_t n, failed = 0;

	(void)state;
	require_sample();
	n = read_sample_specs("SPECS/*/*.spec", &specs, &contents, &inputs);
	assert_int_equal(n, 43);
	for (size_t i = 0; i < n; i++) {
		if (specs[i].error) {
			fprintf(stderr, "%s\n", specs[i].error);
			failed++;
			continue;
		}
		assert_string_equal(specs[i].path, inputs[i].path);
		assert_non_null(specs[i].name);
		assert_non_null(specs[i].version);
		assert_non_null(strstr(specs[i].release, ".azl3"));
	}
	assert_int_equal(failed, 0);
	free_specs(specs, contents, inputs, n);
}

static void test_specs_read_zlib_matches_rpmspec(void **state)
{
	struct planner_spec *specs;
	struct planner_spec_input *inputs;
	const struct planner_package *lib, *devel;
	char **contents;
	size_t n;

	(void)state;
	require_sample();
	n = read_sample_specs("SPECS/zlib/zlib.spec", &specs, &contents, &inputs);
	assert_int_equal(n, 1);
	assert_null(specs[0].error);
	assert_string_equal(specs[0].path, "SPECS/zlib/zlib.spec");
	assert_string_equal(specs[0].name, "zlib");
	assert_null(specs[0].epoch);
	assert_string_equal(specs[0].version, "1.3.2");
	assert_string_equal(specs[0].release, "1.azl3");
	/* rpmspec --builtrpms with the distribution's macros also lists the
	 * debuginfo package the macros add; the reference output (a host rpmspec
	 * without those macros) shows the other two exactly as here. */
	assert_int_equal(specs[0].npackages, 3);
	assert_string_equal(find_pkg(&specs[0], "zlib-debuginfo")->arch, "x86_64");
	lib = find_pkg(&specs[0], "zlib");
	devel = find_pkg(&specs[0], "zlib-devel");
	assert_string_equal(lib->evr, "1.3.2-1.azl3");
	assert_string_equal(lib->arch, "x86_64");
	assert_deps(&lib->provides, "zlib = 1.3.2-1.azl3, zlib(x86-64) = 1.3.2-1.azl3");
	assert_deps(&lib->requires, "/sbin/ldconfig");
	assert_string_equal(devel->arch, "x86_64");
	assert_deps(&devel->provides, "zlib-devel = 1.3.2-1.azl3, zlib-devel(x86-64) = 1.3.2-1.azl3, "
				      "zlib-static = 1.3.2-1.azl3");
	assert_deps(&devel->requires, "zlib = 1.3.2");
	assert_int_equal(specs[0].buildrequires.n, 0);
	assert_int_equal(specs[0].sources.n, 1);
	assert_string_equal(specs[0].sources.items[0], "zlib-1.3.2.tar.xz");
	assert_int_equal(specs[0].patches.n, 0);
	assert_int_equal(specs[0].exclusive_arch.n, 0);
	char *srpm = planner_spec_srpm_name(&specs[0]);
	assert_string_equal(srpm, "zlib-1.3.2-1.azl3.src.rpm");
	free(srpm);
	free_specs(specs, contents, inputs, n);
}

static void test_specs_read_golang_specs_parse_independently(void **state)
{
	static const char *const versions[] = { "1.23.12", "1.24.13", "1.25.9", "1.26.2" };
	struct planner_spec *specs;
	struct planner_spec_input *inputs;
	char **contents;
	size_t n;

	(void)state;
	require_sample();
	n = read_sample_specs("SPECS/golang/*.spec", &specs, &contents, &inputs);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++) {
		assert_null(specs[i].error);
		assert_string_equal(specs[i].name, "golang");
		assert_string_equal(specs[i].version, versions[i]);
		assert_true(specs[i].npackages > 0);
	}
	free_specs(specs, contents, inputs, n);
}

static void test_specs_read_uses_distribution_lua_modules(void **state)
{
	static const char text[] =
		"Name: lua-user\nVersion: 1\n"
		"Release: %{lua: local azl = require \"azl.common\"; print(type(azl))}%{?dist}\n"
		"Summary: s\nLicense: MIT\n%description\nd\n%files\n";
	struct planner_spec_input in = { "SPECS/lua-user/lua-user.spec", text, sizeof(text) - 1 };
	struct planner_spec out = { 0 };
	struct sy_error err = { { 0 } };

	(void)state;
	require_sample();
	assert_ok(planner_specs_read(&in, 1, &sample.ctx, 1, &out, &err), &err);
	assert_null(out.error);
	assert_string_equal(out.release, "table.azl3");
	planner_spec_release(&out);
}

static void test_specs_read_reports_malformed_spec_with_file_and_line(void **state)
{
	struct planner_spec s;

	(void)state;
	read_one("SPECS/x/x.spec",
		 "Summary: s\nName: x\nVersion: 1\nRelease: 1\nNme: x\nLicense: MIT\n"
		 "%description\nd\n%files\n", &s);
	assert_non_null(s.error);
	assert_string_equal(s.error, "SPECS/x/x.spec: line 5: Unknown tag: Nme: x");
	assert_null(s.name);
	assert_int_equal(s.npackages, 0);
	planner_spec_release(&s);
}

static void test_specs_read_error_does_not_show_temporary_path(void **state)
{
	struct planner_spec s;

	(void)state;
	read_one("SPECS/y/y.spec", "Name: y\nVersion: 1\nRelease: 1\n%include nothere.inc\n", &s);
	assert_non_null(s.error);
	assert_true(strncmp(s.error, "SPECS/y/y.spec: ", 16) == 0);
	assert_null(strstr(s.error, "shipyard-spec-"));
	assert_null(strchr(s.error, '\n'));
	planner_spec_release(&s);
}

static void test_specs_read_spec_cannot_change_next_spec_macros(void **state)
{
	static const char first[] =
		"%global leak %(echo fromfirst)\n"
		"%{lua: rpm.define(\"leak2 fromfirst\")}\n"
		"Name: first\nVersion: 1\nRelease: 1%{leak}\nSummary: s\nLicense: MIT\n"
		"%description\nd\n%files\n";
	static const char second[] =
		"Name: second\nVersion: 1\nRelease: 1%{?leak}%{?leak2}%{?dist}\nSummary: s\n"
		"License: MIT\n%description\nd\n%files\n";
	struct planner_spec_input in[2] = {
		{ "SPECS/first/first.spec", first, sizeof(first) - 1 },
		{ "SPECS/second/second.spec", second, sizeof(second) - 1 },
	};
	struct planner_spec out[2] = { 0 };
	struct planner_macro_ctx ctx;
	struct sy_error err = { { 0 } };

	(void)state;
	plain_ctx(&ctx);
	assert_ok(planner_specs_read(in, 2, &ctx, 1, out, &err), &err);
	assert_null(out[0].error);
	assert_string_equal(out[0].release, "1fromfirst");
	assert_null(out[1].error);
	assert_string_equal(out[1].release, "1.azl3");
	planner_spec_release(&out[0]);
	planner_spec_release(&out[1]);
	planner_macro_ctx_release(&ctx);
}

/* One reader reads both specs (jobs 1): what the first leaves in /tmp, in
 * its directory or running must not reach the second, whose result is
 * cached as its own. */
static void test_specs_read_spec_leaves_nothing_for_the_next_one(void **state)
{
	static const char first[] =
		"%global x %(echo left > /tmp/left; echo mine > ./mine; "
		"setsid sh -c 'sleep 1; echo late > /tmp/late' >/dev/null 2>&1 & echo ok)\n"
		"Name: first\nVersion: 1\nRelease: 1%{x}\nSummary: s\nLicense: MIT\n"
		"%description\nd\n%files\n";
	static const char second[] =
		"Name: second\nVersion: 1\nSummary: s\nLicense: MIT\n"
		"Release: 1%(sleep 2; cat /tmp/left /tmp/late ./mine 2>/dev/null | tr -d '\\n')\n"
		"%description\nd\n%files\n";
	struct planner_spec_input in[2] = {
		{ "SPECS/first/first.spec", first, sizeof(first) - 1, NULL, NULL, 0 },
		{ "SPECS/second/second.spec", second, sizeof(second) - 1, NULL, NULL, 0 },
	};
	struct planner_spec out[2] = { 0 };
	struct planner_macro_ctx ctx;
	struct sy_error err = { { 0 } };

	(void)state;
	if (geteuid() != 0)
		skip(); /* unprivileged readers have no sandbox to clean */
	plain_ctx(&ctx);
	assert_ok(planner_specs_read(in, 2, &ctx, 1, out, &err), &err);
	assert_null(out[0].error);
	assert_string_equal(out[0].release, "1ok");
	assert_null(out[1].error);
	assert_string_equal(out[1].release, "1");
	planner_spec_release(&out[0]);
	planner_spec_release(&out[1]);
	planner_macro_ctx_release(&ctx);
}

static void test_specs_read_noarch_subpackage_and_builtrpms_only(void **state)
{
	struct planner_spec s;

	(void)state;
	read_one("SPECS/m/m.spec",
		 "Name: m\nVersion: 2.0\nRelease: 3%{?dist}\nEpoch: 1\nSummary: s\nLicense: MIT\n"
		 "%description\nd\n"
		 "%package doc\nSummary: docs\nBuildArch: noarch\n%description doc\nd\n"
		 "%package -n python3-m\nSummary: py\nRequires(post): /bin/sh\n"
		 "Requires: (m-data or m-extra)\nRequires: rpmlib(Foo) <= 1\n"
		 "%description -n python3-m\nd\n"
		 "%package unused\nSummary: no files\n%description unused\nd\n"
		 "%package empty\nSummary: empty files\n%description empty\nd\n"
		 "%files\n/usr/bin/m\n%files doc\n/usr/share/doc/m\n"
		 "%files -n python3-m\n/usr/lib/python3/m\n%files empty\n", &s);
	assert_null(s.error);
	assert_string_equal(s.epoch, "1");
	assert_int_equal(s.npackages, 4);
	assert_string_equal(find_pkg(&s, "m")->arch, "x86_64");
	assert_string_equal(find_pkg(&s, "m")->evr, "1:2.0-3.azl3");
	assert_string_equal(find_pkg(&s, "m-doc")->arch, "noarch");
	assert_string_equal(find_pkg(&s, "m-empty")->arch, "x86_64");
	/* librpm keeps dependencies sorted by name */
	assert_deps(&find_pkg(&s, "python3-m")->requires, "(m-data or m-extra), /bin/sh");
	assert_int_equal(find_pkg(&s, "python3-m")->requires.items[0].flags, 0);
	assert_null(find_pkg(&s, "python3-m")->requires.items[0].evr);
	for (size_t i = 0; i < s.npackages; i++)
		assert_string_not_equal(s.packages[i].name, "m-unused");
	planner_spec_release(&s);
}

static void test_specs_read_buildrequires_keep_versions(void **state)
{
	struct planner_spec s;
	char *srpm;

	(void)state;
	read_one("SPECS/b/b.spec",
		 "Name: b\nVersion: 1\nRelease: 1%{?dist}\nSummary: s\nLicense: MIT\n"
		 "BuildRequires: gcc\nBuildRequires: zlib-devel >= 1.2.11\n"
		 "BuildRequires: openssl-devel < 3:4.0-1\nBuildRequires: (cmake or meson)\n"
		 "%if %{with_check}\nBuildRequires: check-only\n%endif\n"
		 "%description\nd\n%files\n", &s);
	assert_null(s.error);
	assert_deps(&s.buildrequires,
		    "(cmake or meson), gcc, openssl-devel < 3:4.0-1, zlib-devel >= 1.2.11");
	assert_int_equal(s.buildrequires.items[3].flags, PLANNER_DEP_GREATER | PLANNER_DEP_EQUAL);
	assert_string_equal(s.buildrequires.items[3].evr, "1.2.11");
	assert_int_equal(s.buildrequires.items[2].flags, PLANNER_DEP_LESS);
	assert_string_equal(s.buildrequires.items[2].evr, "3:4.0-1");
	assert_int_equal(s.buildrequires.items[1].flags, 0);
	assert_null(s.buildrequires.items[1].evr);
	srpm = planner_spec_srpm_name(&s);
	assert_string_equal(srpm, "b-1-1.azl3.src.rpm");
	free(srpm);
	planner_spec_release(&s);
}

static void test_specs_read_lists_sources_patches_and_arches(void **state)
{
	struct planner_spec s;

	(void)state;
	read_one("SPECS/p/p.spec",
		 "Name: p\nVersion: 1.5\nRelease: 1\nSummary: s\nLicense: MIT\n"
		 "Source0: https://example.org/%{name}-%{version}.tar.gz\n"
		 "Source1: p.conf\nSource10: extra/p.service\n"
		 "Patch0: fix-build.patch\nPatch1: CVE-2024-1.patch\n"
		 "ExclusiveArch: x86_64 aarch64\nExcludeArch: ppc64le\n"
		 "%description\nd\n%files\n", &s);
	assert_null(s.error);
	assert_int_equal(s.sources.n, 3);
	assert_string_equal(s.sources.items[0], "p-1.5.tar.gz");
	assert_string_equal(s.sources.items[1], "p.conf");
	assert_string_equal(s.sources.items[2], "p.service");
	assert_int_equal(s.patches.n, 2);
	assert_string_equal(s.patches.items[0], "fix-build.patch");
	assert_string_equal(s.patches.items[1], "CVE-2024-1.patch");
	assert_int_equal(s.exclusive_arch.n, 2);
	assert_string_equal(s.exclusive_arch.items[0], "x86_64");
	assert_string_equal(s.exclusive_arch.items[1], "aarch64");
	assert_int_equal(s.exclude_arch.n, 1);
	assert_string_equal(s.exclude_arch.items[0], "ppc64le");
	planner_spec_release(&s);
}

static void test_specs_read_exclusive_arch_mismatch_still_parses(void **state)
{
	struct planner_spec s;

	(void)state;
	read_one("SPECS/a/a.spec",
		 "Name: a\nVersion: 1\nRelease: 1\nSummary: s\nLicense: MIT\nExclusiveArch: s390x\n"
		 "%description\nd\n%files\n", &s);
	assert_null(s.error);
	assert_int_equal(s.exclusive_arch.n, 1);
	assert_string_equal(s.exclusive_arch.items[0], "s390x");
	planner_spec_release(&s);
}

static void test_specs_read_crashing_child_gives_error(void **state)
{
	static const char crash[] = "Name: c\nVersion: %(kill -KILL $PPID; sleep 5)\n";
	static const char fine[] = "Name: f\nVersion: 1\nRelease: 1\nSummary: s\nLicense: MIT\n"
				   "%description\nd\n%files\n";
	struct planner_spec_input in[2] = {
		{ "SPECS/c/c.spec", crash, sizeof(crash) - 1 },
		{ "SPECS/f/f.spec", fine, sizeof(fine) - 1 },
	};
	struct planner_spec out[2] = { 0 };
	struct planner_macro_ctx ctx;
	struct sy_error err = { { 0 } };

	(void)state;
	plain_ctx(&ctx);
	assert_ok(planner_specs_read(in, 2, &ctx, 2, out, &err), &err);
	assert_non_null(out[0].error);
	assert_non_null(strstr(out[0].error, "SPECS/c/c.spec: spec reader killed by signal 9"));
	/* The spec killed its own parser: its failure, cached like any other
	 * (where the sandbox runs it; without root nothing tells them apart). */
	if (geteuid() == 0)
		assert_false(out[0].error_transient);
	assert_null(out[1].error);
	assert_string_equal(out[1].name, "f");
	planner_spec_release(&out[0]);
	planner_spec_release(&out[1]);
	planner_macro_ctx_release(&ctx);
}

static void test_specs_read_many_specs_with_few_jobs(void **state)
{
	enum { N = 12 };
	struct planner_spec_input in[N] = { { 0 } };
	struct planner_spec out[N];
	char *texts[N];
	struct planner_macro_ctx ctx;
	struct sy_error err = { { 0 } };

	(void)state;
	plain_ctx(&ctx);
	memset(out, 0, sizeof(out));
	for (int i = 0; i < N; i++) {
		texts[i] = sy_xasprintf("Name: n%d\nVersion: %d\nRelease: 1\nSummary: s\n"
					"License: MIT\n%%description\nd\n%%files\n", i, i);
		in[i].path = "SPECS/n/n.spec";
		in[i].content = texts[i];
		in[i].len = strlen(texts[i]);
	}
	assert_ok(planner_specs_read(in, N, &ctx, 3, out, &err), &err);
	for (int i = 0; i < N; i++) {
		char name[16];

		snprintf(name, sizeof(name), "n%d", i);
		assert_null(out[i].error);
		assert_string_equal(out[i].name, name);
		planner_spec_release(&out[i]);
		free(texts[i]);
	}
	planner_macro_ctx_release(&ctx);
}

/* A name no other test run uses: "<prefix>-<pid>-<counter>". */
static char *unique_name(const char *prefix)
{
	static int counter;

	return sy_xasprintf("%s-%ld-%d", prefix, (long)getpid(), ++counter);
}

struct told {
	size_t calls, done, total;
};

static void count_progress(void *arg, size_t done, size_t total)
{
	struct told *t = arg;

	assert_true(done <= total);
	assert_true(done >= t->done);
	t->calls++;
	t->done = done;
	t->total = total;
}

static void test_specs_read_tells_progress_up_to_the_last_spec(void **state)
{
	enum { N = 5 };
	struct planner_spec_input in[N] = { { 0 } };
	struct planner_spec out[N];
	char *texts[N];
	struct planner_macro_ctx ctx;
	struct sy_error err = { { 0 } };
	struct told t = { 0 };
	struct planner_read_progress progress = { count_progress, &t };

	(void)state;
	plain_ctx(&ctx);
	memset(out, 0, sizeof(out));
	for (int i = 0; i < N; i++) {
		texts[i] = sy_xasprintf("Name: p%d\nVersion: 1\nRelease: 1\nSummary: s\n"
					"License: MIT\n%%description\nd\n%%files\n", i);
		in[i] = (struct planner_spec_input){ "SPECS/p/p.spec", texts[i], strlen(texts[i]),
						     NULL, NULL, 0 };
	}
	assert_ok(planner_specs_read_with(in, N, &ctx, 2, &progress, out, &err), &err);
	assert_true(t.calls >= 1);
	assert_int_equal(t.done, N);
	assert_int_equal(t.total, N);
	for (int i = 0; i < N; i++) {
		planner_spec_release(&out[i]);
		free(texts[i]);
	}
	planner_macro_ctx_release(&ctx);
}

static void test_specs_read_shell_cannot_write_host_files(void **state)
{
	char *probe = unique_name("/tmp/shipyard-probe");
	char *usr_probe = unique_name("/usr/shipyard-probe");
	char *text = sy_xasprintf("%%global probe %%(id -u > %s; touch %s; echo x)\n"
				  "Name: w\nVersion: 1\nRelease: 1%%{probe}\nSummary: s\n"
				  "License: MIT\n%%description\nd\n%%files\n", probe, usr_probe);
	static const char fine[] = "Name: f\nVersion: 1\nRelease: 1\nSummary: s\nLicense: MIT\n"
				   "%description\nd\n%files\n";
	struct planner_spec_input in[2] = {
		{ "SPECS/w/w.spec", text, strlen(text) },
		{ "SPECS/f/f.spec", fine, sizeof(fine) - 1 },
	};
	struct planner_spec out[2] = { 0 };
	struct planner_macro_ctx ctx;
	struct sy_error err = { { 0 } };
	int host_written, usr_written;

	(void)state;
	plain_ctx(&ctx);
	assert_ok(planner_specs_read(in, 2, &ctx, 2, out, &err), &err);
	host_written = sy_exists(probe);
	usr_written = sy_exists(usr_probe);
	unlink(probe);
	unlink(usr_probe);
	assert_false(host_written);
	assert_false(usr_written);
	/* The shell wrote into the child's own /tmp; the spec still parses. */
	assert_null(out[0].error);
	assert_string_equal(out[0].release, "1x");
	assert_null(out[1].error);
	assert_string_equal(out[1].name, "f");
	planner_spec_release(&out[0]);
	planner_spec_release(&out[1]);
	planner_macro_ctx_release(&ctx);
	free(text);
	free(probe);
	free(usr_probe);
}

static void test_specs_read_shell_runs_unprivileged_without_host_environment(void **state)
{
	struct planner_spec s;

	(void)state;
	setenv("SHIPYARD_TEST_SECRET", "leaked", 1);
	read_one("SPECS/u/u.spec",
		 "Name: u\nVersion: %(id -u)\nRelease: 1%(echo $SHIPYARD_TEST_SECRET)x\n"
		 "Summary: s\nLicense: MIT\n%description\nd\n%files\n", &s);
	unsetenv("SHIPYARD_TEST_SECRET");
	assert_null(s.error);
	/* A uid of the reader's own, which no account of the host has. */
	assert_true(strtoul(s.version, NULL, 10) >= 0x70000000ul);
	assert_string_equal(s.release, "1x");
	planner_spec_release(&s);
}

static void test_specs_read_shell_cannot_see_host_temporary_files(void **state)
{
	struct sy_error err = { { 0 } };
	char *dir = test_tmpdir();
	char *secret = sy_xasprintf("%s/secret", dir);
	char *text = sy_xasprintf("Name: h\nVersion: 1\nRelease: 1%%(cat %s 2>/dev/null || "
				  "echo hidden)\nSummary: s\nLicense: MIT\n%%description\nd\n"
				  "%%files\n", secret);
	struct planner_spec s;

	(void)state;
	assert_ok(sy_write_file(secret, "visible", 7, 0644, &err), &err);
	read_one("SPECS/h/h.spec", text, &s);
	assert_null(s.error);
	assert_string_equal(s.release, "1hidden");
	planner_spec_release(&s);
	sy_rm_rf(dir, NULL);
	free(dir);
	free(secret);
	free(text);
}

static void test_specs_read_lua_cannot_write_etc(void **state)
{
	char *probe = unique_name("/etc/shipyard-probe");
	char *text = sy_xasprintf(
		"Name: l\nVersion: 1\n"
		"Release: %%{lua: local f = io.open(\"%s\", \"w\"); "
		"if f then f:write(\"x\"); f:close(); print(\"written\") else print(\"denied\") end}\n"
		"Summary: s\nLicense: MIT\n%%description\nd\n%%files\n", probe);
	struct planner_spec s;
	int written;

	(void)state;
	read_one("SPECS/l/l.spec", text, &s);
	written = sy_exists(probe);
	unlink(probe);
	assert_false(written);
	assert_null(s.error);
	assert_string_equal(s.release, "denied");
	planner_spec_release(&s);
	free(text);
	free(probe);
}

/* A file the host keeps in /etc readable by everyone (a forge token left at
 * 0644) is not there for %() or Lua at parse time: the sandbox's /etc is its
 * own, with passwd and group naming nobody. */
static void test_specs_read_cannot_read_host_etc_files(void **state)
{
	struct sy_error err = { { 0 } };
	char *secret = unique_name("/etc/shipyard-test-token");
	char *text = sy_xasprintf(
		"Name: e\nVersion: %%(cat %s 2>/dev/null || echo hidden)\n"
		"Release: %%{lua: local f = io.open(\"%s\") print(f and f:read(\"a\") or \"unread\")}"
		".%%(id -un).%%(id -gn).%%(awk 'BEGIN { print \"awk\" }')\n"
		"Summary: s\nLicense: MIT\n%%description\nd\n%%files\n", secret, secret);
	struct planner_spec s;

	(void)state;
	assert_ok(sy_write_file(secret, "token42", 7, 0644, &err), &err);
	read_one("SPECS/e/e.spec", text, &s);
	unlink(secret);
	assert_null(s.error);
	assert_string_equal(s.version, "hidden");
	assert_string_equal(s.release, "unread.nobody.nogroup.awk");
	planner_spec_release(&s);
	free(text);
	free(secret);
}

/* 1 when spec readers get a cgroup here (else the rlimits of the
 * fallback, sandbox/cgroup.h). */
static int readers_have_cgroup(void)
{
	const struct sandbox_limits limits = { 1024ULL << 20, 256, 100 };
	struct sandbox_cgroup cg;
	int yes;

	sandbox_cgroup_create(&cg, NULL, "spec", &limits);
	yes = cg.dir != NULL;
	sandbox_cgroup_release(&cg);
	return yes;
}

/* A fork bomb in %() at parse time (bounded: 10 levels of two, 1024
 * leaves that each live ten seconds, about 3000 processes at once; long
 * enough that a slow, loaded machine still forks past the limit before the
 * first leaves end) is
 * contained at the reader's task limit (256) and the parse ends well
 * before the reader's 60 s deadline: with a cgroup the reader is stopped
 * as soon as a fork is refused and the spec fails for good with the limit;
 * under the fallback's RLIMIT_NPROC the forks fail and fewer leaves than
 * 1024 ran. */
static void test_specs_read_fork_bomb_stops_at_process_limit(void **state)
{
	static const char text[] =
		"%global leaves %(bomb() { if [ $1 -gt 0 ]; then bomb $(($1 - 1)) & "
		"bomb $(($1 - 1)) & wait; else sleep 10; echo x >> /tmp/leaves; fi; }; "
		"bomb 10 2>/dev/null; n=0; while read l; do n=$(($n + 1)); done < /tmp/leaves; "
		"echo $n)\n"
		"Name: b\nVersion: 1\nRelease: %{leaves}\nSummary: s\nLicense: MIT\n"
		"%description\nd\n%files\n";
	struct planner_spec s;
	time_t t0 = time(NULL);

	(void)state;
	if (geteuid() != 0)
		skip(); /* no limits without the sandbox */
	read_one("SPECS/b/b.spec", text, &s);
	assert_true(time(NULL) - t0 < 30);
	if (readers_have_cgroup()) {
		assert_non_null(s.error);
		assert_string_equal(s.error, "SPECS/b/b.spec: spec reader killed: process limit (256)");
		assert_false(s.error_transient);
	} else {
		assert_null(s.error);
		assert_true(atoi(s.release) > 0);
		assert_true(atoi(s.release) < 1024);
	}
	planner_spec_release(&s);
}

/* A spec holding its readers' task limit does not starve a spec read at
 * the same time: without a cgroup, RLIMIT_NPROC counts the tasks of a uid,
 * so each reader has its own. */
static void test_specs_read_fork_bomb_does_not_starve_other_spec(void **state)
{
	static const char bomb[] =
		"%global held %(sleep 6 & (for i in $(seq 400); do sleep 6 & done) 2>/dev/null; "
		"wait; echo 1)\n"
		"Name: b\nVersion: 1\nRelease: %{held}\nSummary: s\nLicense: MIT\n"
		"%description\nd\n%files\n";
	static const char other[] =
		"%global forks %(sleep 3; n=0; for i in 1 2 3 4 5 6 7 8; do "
		"(sleep 0.1 & sleep 0.1 & wait) 2>/dev/null && n=$(($n + 1)); done; echo $n)\n"
		"Name: o\nVersion: 1\nRelease: %{forks}\nSummary: s\nLicense: MIT\n"
		"%description\nd\n%files\n";
	struct planner_spec_input in[2] = {
		{ "SPECS/b/b.spec", bomb, sizeof(bomb) - 1 },
		{ "SPECS/o/o.spec", other, sizeof(other) - 1 },
	};
	struct planner_spec out[2] = { 0 };
	struct planner_macro_ctx ctx;
	struct sy_error err = { { 0 } };

	(void)state;
	if (geteuid() != 0)
		skip(); /* no limits without the sandbox */
	plain_ctx(&ctx);
	assert_ok(planner_specs_read(in, 2, &ctx, 2, out, &err), &err);
	assert_null(out[1].error);
	assert_string_equal(out[1].release, "8");
	planner_spec_release(&out[0]);
	planner_spec_release(&out[1]);
	planner_macro_ctx_release(&ctx);
}

/* The id of a running process whose command line contains marker, or 0. */
static pid_t process_with_marker(const char *marker)
{
	pid_t found = 0;
	glob_t g;

	if (glob("/proc/[0-9]*/cmdline", 0, NULL, &g) != 0)
		return 0;
	for (size_t i = 0; i < g.gl_pathc && !found; i++) {
		char buf[4096];
		FILE *f = fopen(g.gl_pathv[i], "r");
		size_t len;

		if (!f)
			continue;
		len = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		if (memmem(buf, len, marker, strlen(marker)))
			found = (pid_t)atol(g.gl_pathv[i] + strlen("/proc/"));
	}
	globfree(&g);
	return found;
}

static void test_specs_read_leaves_no_background_process(void **state)
{
	char *marker = sy_xasprintf("999.%ld%ld", (long)getpid(), (long)time(NULL));
	char *text = sy_xasprintf("%%global bg %%(sleep %s >/dev/null 2>&1 &)\n"
				  "Name: bg\nVersion: 1\nRelease: 1\nSummary: s\nLicense: MIT\n"
				  "%%description\nd\n%%files\n", marker);
	struct planner_spec s;
	pid_t left;

	(void)state;
	read_one("SPECS/bg/bg.spec", text, &s);
	left = process_with_marker(marker);
	if (left > 0)
		kill(left, SIGKILL);
	assert_int_equal(left, 0);
	assert_null(s.error);
	planner_spec_release(&s);
	free(text);
	free(marker);
}

static void test_specs_read_fails_spec_when_sandbox_cannot_be_built(void **state)
{
	static const char text[] = "Name: s\nVersion: 1\nRelease: 1\nSummary: s\nLicense: MIT\n"
				   "%description\nd\n%files\n";
	struct planner_spec_input in = { "SPECS/s/s.spec", text, sizeof(text) - 1 };
	struct planner_spec out = { 0 };
	struct planner_macro_ctx ctx;
	struct sy_error err = { { 0 } };

	(void)state;
	plain_ctx(&ctx);
	/* The context directory cannot be bound into the sandbox: the spec must
	 * fail rather than be parsed without it. */
	ctx.dir = sy_xstrdup("/nonexistent/shipyard-macros");
	assert_ok(planner_specs_read(&in, 1, &ctx, 1, &out, &err), &err);
	assert_non_null(out.error);
	assert_string_equal(out.error, "SPECS/s/s.spec: spec reader sandbox: bind "
				       "/nonexistent/shipyard-macros: No such file or directory");
	assert_true(out.error_transient);
	assert_null(out.name);
	planner_spec_release(&out);
	planner_macro_ctx_release(&ctx);
}

/* Parses one hand-written spec with ctx. */
static void read_one_with(const struct planner_macro_ctx *ctx, const char *text,
			  struct planner_spec *out)
{
	struct planner_spec_input in = { "SPECS/n/n.spec", text, strlen(text) };
	struct sy_error err = { { 0 } };

	memset(out, 0, sizeof(*out));
	assert_ok(planner_specs_read(&in, 1, ctx, 1, out, &err), &err);
	assert_null(out->error);
}

/* %_smp_build_ncpus, expanded without a shell, is what its shell prints:
 * the CPUs getconf counts, %_smp_ncpus_max when fewer, and the shell's own
 * answer where the environment has RPM_BUILD_NCPUS or %_smp_ncpus_max is
 * more than digits. With rpm's platform
 * macros (the plain context) and with the distribution's. */
static void test_specs_read_smp_build_ncpus_prints_what_the_shell_does(void **state)
{
	static const char *const texts[][2] = {
		{ "", "%(getconf _NPROCESSORS_ONLN)" },
		{ "%define _smp_ncpus_max 1\n", "1" },
		{ "%{lua: posix.setenv(\"RPM_BUILD_NCPUS\", \"7\")}\n", "7" },
		{ "%define _smp_ncpus_max %{nil}1\n", "1" },
	};
	struct planner_macro_ctx plain;

	(void)state;
	plain_ctx(&plain);
	for (int c = 0; c < 2; c++) {
		const struct planner_macro_ctx *ctx = c ? &sample.ctx : &plain;

		if (c && !sample.loaded)
			break;
		for (size_t i = 0; i < LEN(texts); i++) {
			char *text = sy_xasprintf("%sName: n\nVersion: %s\nRelease: %%{_smp_build_ncpus}\n"
						  "Summary: s\nLicense: MIT\n%%description\nd\n%%files\n",
						  texts[i][0], texts[i][1]);
			struct planner_spec s;

			read_one_with(ctx, text, &s);
			assert_string_equal(s.release, s.version);
			planner_spec_release(&s);
			free(text);
		}
	}
	planner_macro_ctx_release(&plain);
}

/* ... and starts no process: the spec's pids, given in order in the
 * sandbox's pid namespace, follow each other around it. */
static void test_specs_read_smp_build_ncpus_runs_no_process(void **state)
{
	static const char text[] = "Name: n\nVersion: %(echo $$)\n%global n %{_smp_build_ncpus}\n"
				   "Release: %(echo $$)\nSummary: s\nLicense: MIT\n"
				   "%description\nd\n%files\n";
	struct planner_spec s;

	(void)state;
	if (geteuid() != 0)
		skip(); /* no pid namespace without the sandbox */
	require_sample();
	read_one_with(&sample.ctx, text, &s);
	assert_int_equal(atoi(s.release), atoi(s.version) + 1);
	planner_spec_release(&s);
}

/* Readers started ahead read what planner_specs_read reads, once. */
static void test_readers_started_ahead_read_like_specs_read(void **state)
{
	static const char text[] = "Name: a\nVersion: %(echo 1)\nRelease: 2%{?dist}\nSummary: s\n"
				   "License: MIT\n%description\nd\n%files\n";
	struct planner_spec_input in = { "SPECS/a/a.spec", text, strlen(text) };
	struct planner_macro_ctx ctx;
	struct sy_error err = { { 0 } };
	struct planner_readers *rd;
	struct planner_spec ahead, plain, again;
	char *a, *b;

	(void)state;
	plain_ctx(&ctx);
	memset(&ahead, 0, sizeof(ahead));
	memset(&again, 0, sizeof(again));
	rd = planner_readers_start(&ctx, 1, 1, &err);
	assert_non_null(rd);
	assert_ok(planner_readers_read(rd, &in, 1, NULL, &ahead, &err), &err);
	assert_int_equal(planner_readers_read(rd, &in, 1, NULL, &again, &err), -1);
	planner_readers_free(rd);
	read_one("SPECS/a/a.spec", text, &plain);
	assert_null(ahead.error);
	assert_string_equal(ahead.release, "2.azl3");
	a = planner_spec_to_json(&ahead);
	b = planner_spec_to_json(&plain);
	assert_string_equal(a, b);
	free(a);
	free(b);
	planner_spec_release(&ahead);
	planner_spec_release(&again);
	planner_spec_release(&plain);
	/* Started and never given a spec: they end all the same. */
	rd = planner_readers_start(&ctx, 2, 3, &err);
	assert_non_null(rd);
	planner_readers_free(rd);
	planner_macro_ctx_release(&ctx);
}

static void test_dep_format_writes_operators(void **state)
{
	struct planner_dep any = { "zlib", 0, NULL };
	struct planner_dep ge = { "zlib", PLANNER_DEP_GREATER | PLANNER_DEP_EQUAL, "1.2" };
	struct planner_dep lt = { "zlib", PLANNER_DEP_LESS, "2" };
	char *s;

	(void)state;
	s = planner_dep_format(&any);
	assert_string_equal(s, "zlib");
	free(s);
	s = planner_dep_format(&ge);
	assert_string_equal(s, "zlib >= 1.2");
	free(s);
	s = planner_dep_format(&lt);
	assert_string_equal(s, "zlib < 2");
	free(s);
}

static void test_spec_json_round_trip_keeps_every_field(void **state)
{
	struct planner_spec s, back;
	struct sy_error err = { { 0 } };
	char *json, *again;

	(void)state;
	read_one("SPECS/m/m.spec",
		 "Name: m\nVersion: 2.0\nRelease: 3%{?dist}\nEpoch: 1\nSummary: s\nLicense: MIT\n"
		 "Source0: m.tar.gz\nPatch0: fix.patch\nExclusiveArch: x86_64\nExcludeArch: s390x\n"
		 "BuildRequires: zlib-devel >= 1.2\nProvides: m-extra = 5\n"
		 "%description\nd\n%package doc\nSummary: docs\nBuildArch: noarch\n"
		 "Requires: m = %{version}\n%description doc\nd\n%files\n%files doc\n", &s);
	assert_null(s.error);
	sy_strv_push(&s.version_refs, "azl_x_version");
	json = planner_spec_to_json(&s);
	memset(&back, 0, sizeof(back));
	assert_ok(planner_spec_from_json(json, strlen(json), &back, &err), &err);
	again = planner_spec_to_json(&back);
	assert_string_equal(json, again);
	assert_string_equal(back.epoch, "1");
	assert_string_equal(back.release, "3.azl3");
	assert_int_equal(back.npackages, 2);
	assert_string_equal(find_pkg(&back, "m-doc")->arch, "noarch");
	assert_deps(&back.buildrequires, "zlib-devel >= 1.2");
	assert_string_equal(back.sources.items[0], "m.tar.gz");
	assert_string_equal(back.patches.items[0], "fix.patch");
	assert_string_equal(back.exclude_arch.items[0], "s390x");
	assert_string_equal(back.version_refs.items[0], "azl_x_version");
	assert_null(back.path);
	free(json);
	free(again);
	planner_spec_release(&s);
	planner_spec_release(&back);
}

static void test_spec_json_round_trip_keeps_parse_error(void **state)
{
	struct planner_spec s = { 0 }, back = { 0 };
	struct sy_error err = { { 0 } };
	char *json;

	(void)state;
	s.error = sy_xstrdup("SPECS/x/x.spec: line 2: Unknown tag: Nme: x");
	sy_strv_push(&s.version_refs, "*");
	json = planner_spec_to_json(&s);
	assert_ok(planner_spec_from_json(json, strlen(json), &back, &err), &err);
	assert_string_equal(back.error, s.error);
	assert_null(back.name);
	assert_int_equal(back.version_refs.n, 1);
	assert_string_equal(back.version_refs.items[0], "*");
	free(json);
	planner_spec_release(&s);
	planner_spec_release(&back);
}

static void test_spec_from_json_rejects_garbage(void **state)
{
	struct planner_spec out = { 0 };
	struct sy_error err = { { 0 } };

	(void)state;
	assert_int_equal(planner_spec_from_json("[1]", 3, &out, &err), -1);
	assert_non_null(strstr(err.msg, "spec JSON"));
	assert_int_equal(planner_spec_from_json("{\"name\": ", 9, &out, &err), -1);
	planner_spec_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_specs_read_parses_every_sample_spec),
		cmocka_unit_test(test_specs_read_zlib_matches_rpmspec),
		cmocka_unit_test(test_specs_read_golang_specs_parse_independently),
		cmocka_unit_test(test_specs_read_uses_distribution_lua_modules),
		cmocka_unit_test(test_specs_read_reports_malformed_spec_with_file_and_line),
		cmocka_unit_test(test_specs_read_error_does_not_show_temporary_path),
		cmocka_unit_test(test_specs_read_spec_cannot_change_next_spec_macros),
		cmocka_unit_test(test_specs_read_spec_leaves_nothing_for_the_next_one),
		cmocka_unit_test(test_specs_read_noarch_subpackage_and_builtrpms_only),
		cmocka_unit_test(test_specs_read_buildrequires_keep_versions),
		cmocka_unit_test(test_specs_read_lists_sources_patches_and_arches),
		cmocka_unit_test(test_specs_read_exclusive_arch_mismatch_still_parses),
		cmocka_unit_test(test_specs_read_crashing_child_gives_error),
		cmocka_unit_test(test_specs_read_many_specs_with_few_jobs),
		cmocka_unit_test(test_specs_read_tells_progress_up_to_the_last_spec),
		cmocka_unit_test(test_specs_read_shell_cannot_write_host_files),
		cmocka_unit_test(test_specs_read_shell_runs_unprivileged_without_host_environment),
		cmocka_unit_test(test_specs_read_shell_cannot_see_host_temporary_files),
		cmocka_unit_test(test_specs_read_lua_cannot_write_etc),
		cmocka_unit_test(test_specs_read_cannot_read_host_etc_files),
		cmocka_unit_test(test_specs_read_fork_bomb_stops_at_process_limit),
		cmocka_unit_test(test_specs_read_fork_bomb_does_not_starve_other_spec),
		cmocka_unit_test(test_specs_read_leaves_no_background_process),
		cmocka_unit_test(test_specs_read_fails_spec_when_sandbox_cannot_be_built),
		cmocka_unit_test(test_specs_read_smp_build_ncpus_prints_what_the_shell_does),
		cmocka_unit_test(test_specs_read_smp_build_ncpus_runs_no_process),
		cmocka_unit_test(test_readers_started_ahead_read_like_specs_read),
		cmocka_unit_test(test_dep_format_writes_operators),
		cmocka_unit_test(test_spec_json_round_trip_keeps_every_field),
		cmocka_unit_test(test_spec_json_round_trip_keeps_parse_error),
		cmocka_unit_test(test_spec_from_json_rejects_garbage),
	};

	return cmocka_run_group_tests(tests, setup_sample, teardown_sample);
}
