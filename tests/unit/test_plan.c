/* The dependency graph (libsolv) and the rebuild set, on specs made by hand. */
#include "testutil.h"

#include "builder/graph.h"
#include "builder/plan.h"

/* A tiny distribution: zlib (zlib, zlib-devel), openssl BuildRequires
 * zlib-devel >= 1.3, curl BuildRequires openssl-devel and zlib-devel, hello
 * BuildRequires gcc (toolchain) and nothing else, old BuildRequires
 * zlib-devel < 1.0 (unresolvable), loop-a and loop-b BuildRequire each
 * other. */
struct fixture {
	struct builder_spec specs[7];
	struct sy_strv toolchain;
};

static struct builder_dep dep(const char *name, int flags, const char *evr)
{
	return (struct builder_dep){ sy_xstrdup(name), flags, evr ? sy_xstrdup(evr) : NULL };
}

static void add_package(struct builder_spec *s, const char *name, const char *evr,
			const char *requires_)
{
	s->packages = sy_xrealloc(s->packages, (s->npackages + 1) * sizeof(*s->packages));
	struct builder_package *p = &s->packages[s->npackages++];
	memset(p, 0, sizeof(*p));
	p->name = sy_xstrdup(name);
	p->evr = sy_xstrdup(evr);
	p->arch = sy_xstrdup("x86_64");
	p->provides.items = sy_xcalloc(1, sizeof(struct builder_dep));
	p->provides.items[0] = dep(name, BUILDER_DEP_EQUAL, evr);
	p->provides.n = 1;
	if (requires_) {
		p->requires.items = sy_xcalloc(1, sizeof(struct builder_dep));
		p->requires.items[0] = dep(requires_, 0, NULL);
		p->requires.n = 1;
	}
}

static void add_br(struct builder_spec *s, const char *name, int flags, const char *evr)
{
	s->buildrequires.items = sy_xrealloc(s->buildrequires.items,
					     (s->buildrequires.n + 1) * sizeof(struct builder_dep));
	s->buildrequires.items[s->buildrequires.n++] = dep(name, flags, evr);
}

static void init_spec(struct builder_spec *s, const char *name, const char *version)
{
	memset(s, 0, sizeof(*s));
	s->name = sy_xstrdup(name);
	s->path = sy_xasprintf("SPECS/%s/%s.spec", name, name);
	s->version = sy_xstrdup(version);
	s->release = sy_xstrdup("1");
}

static int setup(void **state)
{
	struct fixture *f = sy_xcalloc(1, sizeof(*f));
	struct builder_spec *s = f->specs;

	init_spec(&s[0], "zlib", "1.3.2");
	add_package(&s[0], "zlib", "1.3.2-1", NULL);
	add_package(&s[0], "zlib-devel", "1.3.2-1", "zlib");
	init_spec(&s[1], "openssl", "3.3");
	add_package(&s[1], "openssl-libs", "3.3-1", NULL);
	add_package(&s[1], "openssl-devel", "3.3-1", "openssl-libs");
	add_br(&s[1], "zlib-devel", BUILDER_DEP_GREATER | BUILDER_DEP_EQUAL, "1.3");
	init_spec(&s[2], "curl", "8.0");
	add_package(&s[2], "curl", "8.0-1", "openssl-libs");
	add_br(&s[2], "openssl-devel", 0, NULL);
	add_br(&s[2], "gcc", 0, NULL);
	init_spec(&s[3], "hello", "1.0");
	add_package(&s[3], "hello", "1.0-1", NULL);
	add_br(&s[3], "gcc", BUILDER_DEP_GREATER, "4");
	init_spec(&s[4], "old", "0.1");
	add_package(&s[4], "old", "0.1-1", NULL);
	add_br(&s[4], "zlib-devel", BUILDER_DEP_LESS, "1.0");
	init_spec(&s[5], "loop-a", "1");
	add_package(&s[5], "loop-a", "1-1", NULL);
	add_br(&s[5], "loop-b", 0, NULL);
	init_spec(&s[6], "loop-b", "1");
	add_package(&s[6], "loop-b", "1-1", NULL);
	add_br(&s[6], "loop-a", 0, NULL);
	sy_strv_push(&f->toolchain, "gcc");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	for (size_t i = 0; i < 7; i++)
		builder_spec_release(&f->specs[i]);
	sy_strv_release(&f->toolchain);
	free(f);
	return 0;
}

static void test_graph_resolves_versioned_buildrequires_and_install_closure(void **state)
{
	struct fixture *f = *state;
	struct builder_graph g;
	struct sy_error err = { { 0 } };

	assert_ok(builder_graph_build(f->specs, 7, &f->toolchain, "x86_64", &g, &err), &err);
	/* openssl -> zlib through zlib-devel >= 1.3; install zlib-devel and zlib. */
	assert_int_equal(g.nodes[1].nbuild_deps, 1);
	assert_int_equal(g.nodes[1].build_deps[0], 0);
	assert_string_equal(g.nodes[1].build_dep_reasons[0], "zlib-devel >= 1.3");
	assert_int_equal(g.nodes[1].ninstall, 2);
	/* curl -> openssl; gcc from the toolchain. */
	assert_int_equal(g.nodes[2].nbuild_deps, 1);
	assert_int_equal(g.nodes[2].build_deps[0], 1);
	assert_int_equal(g.nodes[2].toolchain.n, 1);
	assert_int_equal(g.nodes[2].unresolved.n, 0);
	/* hello: versioned request satisfied by the unversioned toolchain provide. */
	assert_int_equal(g.nodes[3].toolchain.n, 1);
	/* old: zlib-devel < 1.0 is not provided by zlib-devel 1.3.2. */
	assert_int_equal(g.nodes[4].unresolved.n, 1);
	assert_string_equal(g.nodes[4].unresolved.items[0], "zlib-devel < 1.0");
	assert_int_equal(g.nodes[4].nbuild_deps, 0);
	builder_graph_release(&g);
}

static void test_graph_finds_build_cycles(void **state)
{
	struct fixture *f = *state;
	struct builder_graph g;
	struct sy_error err = { { 0 } };
	struct sy_strv cycles = SY_STRV_INIT;
	unsigned char member[7] = { 0 };

	assert_ok(builder_graph_build(f->specs, 7, &f->toolchain, "x86_64", &g, &err), &err);
	assert_int_equal(builder_graph_cycles(&g, NULL, member, &cycles), 1);
	assert_non_null(strstr(cycles.items[0], "loop-a"));
	assert_non_null(strstr(cycles.items[0], "loop-b"));
	assert_int_equal(member[5] + member[6], 2);
	assert_int_equal(member[0] + member[1] + member[2], 0);
	sy_strv_release(&cycles);
	builder_graph_release(&g);
}

static int all_published(void *arg, const struct builder_spec *spec)
{
	(void)arg;
	(void)spec;
	return 1;
}

static int hello_unpublished(void *arg, const struct builder_spec *spec)
{
	(void)arg;
	return strcmp(spec->name, "hello") != 0;
}

static struct gitwatch_changeset one_change(const char *path)
{
	struct gitwatch_changeset cs = { "", "", NULL, 1 };

	cs.changes = sy_xcalloc(1, sizeof(*cs.changes));
	cs.changes[0].kind = GITWATCH_MODIFIED;
	cs.changes[0].old_path = sy_xstrdup(path);
	cs.changes[0].new_path = sy_xstrdup(path);
	return cs;
}

static void test_plan_change_rebuilds_transitive_buildrequires_dependents(void **state)
{
	struct fixture *f = *state;
	struct builder_graph g;
	struct builder_plan plan;
	struct sy_error err = { { 0 } };
	struct gitwatch_changeset cs = one_change("SPECS/zlib/zlib.tar.xz");

	assert_ok(builder_graph_build(f->specs, 7, &f->toolchain, "x86_64", &g, &err), &err);
	struct builder_plan_input in = { f->specs, 7, &g, &cs, all_published, NULL, NULL };
	assert_ok(builder_plan_compute(&in, &plan, &err), &err);
	assert_int_equal(plan.n, 3);
	assert_int_equal(plan.entries[0].spec, 0);
	assert_int_equal(plan.entries[0].why, BUILDER_PLAN_CHANGED);
	assert_string_equal(plan.entries[0].reason, "SPECS/zlib/zlib.spec changed");
	assert_int_equal(plan.entries[1].spec, 1);
	assert_int_equal(plan.entries[1].why, BUILDER_PLAN_DEPENDENCY);
	assert_int_equal(plan.entries[2].spec, 2);
	assert_non_null(strstr(plan.entries[2].reason, "openssl-devel"));
	assert_non_null(strstr(plan.entries[2].reason, "zlib-devel >= 1.3"));
	assert_int_equal(plan.changed_specs.n, 1);
	builder_plan_release(&plan);
	gitwatch_changeset_release(&cs);
	builder_graph_release(&g);
}

static void test_plan_unpublished_spec_is_built_alone(void **state)
{
	struct fixture *f = *state;
	struct builder_graph g;
	struct builder_plan plan;
	struct sy_error err = { { 0 } };

	/* Only the first four specs: no cycle, hello unpublished. */
	assert_ok(builder_graph_build(f->specs, 4, &f->toolchain, "x86_64", &g, &err), &err);
	struct builder_plan_input in = { f->specs, 4, &g, NULL, hello_unpublished, NULL, NULL };
	assert_ok(builder_plan_compute(&in, &plan, &err), &err);
	assert_int_equal(plan.n, 1);
	assert_string_equal(f->specs[plan.entries[0].spec].name, "hello");
	assert_string_equal(plan.entries[0].reason, "packages not in the repository");
	builder_plan_release(&plan);
	builder_graph_release(&g);
}

static void test_plan_orders_dependencies_first_and_marks_cycles(void **state)
{
	struct fixture *f = *state;
	struct builder_graph g;
	struct builder_plan plan;
	struct sy_error err = { { 0 } };

	assert_ok(builder_graph_build(f->specs, 7, &f->toolchain, "x86_64", &g, &err), &err);
	/* Nothing published: everything is built, in dependency order. */
	struct builder_plan_input in = { f->specs, 7, &g, NULL, NULL, NULL, NULL };
	assert_ok(builder_plan_compute(&in, &plan, &err), &err);
	assert_int_equal(plan.n, 7);
	size_t pos[7];
	for (size_t e = 0; e < plan.n; e++)
		pos[plan.entries[e].spec] = e;
	assert_true(pos[0] < pos[1]);
	assert_true(pos[1] < pos[2]);
	assert_int_equal(plan.cycles.n, 1);
	assert_true(plan.entries[pos[5]].in_cycle && plan.entries[pos[6]].in_cycle);
	assert_false(plan.entries[pos[0]].in_cycle);
	builder_plan_release(&plan);
	builder_graph_release(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_graph_resolves_versioned_buildrequires_and_install_closure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_graph_finds_build_cycles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_change_rebuilds_transitive_buildrequires_dependents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_unpublished_spec_is_built_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_orders_dependencies_first_and_marks_cycles, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
