/* depsearch over a dependency graph built (libsolv) from specs made by hand,
 * and its printed forms. */
#include "testutil.h"

#include <jansson.h>

#include "planner/depsearch.h"
#include "planner/graph.h"
#include "planner/depsearchprint.h"

/* zlib <- openssl <- libssh2 <- curl by BuildRequires of their -devel
 * packages and by Requires of their libraries (both edge kinds); app only
 * Requires curl (runtime edge); tool only BuildRequires app (build edge);
 * lonely (file lonely-2.spec) needs nothing; loop-a and loop-b BuildRequire
 * each other; broken did not parse. */
enum { ZLIB, OPENSSL, LIBSSH2, CURL, APP, TOOL, LONELY, LOOP_A, LOOP_B, BROKEN, NSPECS };

struct fixture {
	struct planner_spec specs[NSPECS];
	struct planner_graph graph;
};

static struct planner_dep dep(const char *name)
{
	return (struct planner_dep){ sy_xstrdup(name), 0, NULL };
}

static void add_package(struct planner_spec *s, const char *name, const char *requires_)
{
	s->packages = sy_xrealloc(s->packages, (s->npackages + 1) * sizeof(*s->packages));
	struct planner_package *p = &s->packages[s->npackages++];
	memset(p, 0, sizeof(*p));
	p->name = sy_xstrdup(name);
	p->evr = sy_xstrdup("1-1");
	p->arch = sy_xstrdup("x86_64");
	p->provides.items = sy_xcalloc(1, sizeof(struct planner_dep));
	p->provides.items[0] = (struct planner_dep){ sy_xstrdup(name), PLANNER_DEP_EQUAL,
						     sy_xstrdup("1-1") };
	p->provides.n = 1;
	if (requires_) {
		p->requires.items = sy_xcalloc(1, sizeof(struct planner_dep));
		p->requires.items[0] = dep(requires_);
		p->requires.n = 1;
	}
}

static void add_br(struct planner_spec *s, const char *name)
{
	s->buildrequires.items = sy_xrealloc(s->buildrequires.items,
					     (s->buildrequires.n + 1) * sizeof(struct planner_dep));
	s->buildrequires.items[s->buildrequires.n++] = dep(name);
}

static void init_spec(struct planner_spec *s, const char *name, const char *file)
{
	memset(s, 0, sizeof(*s));
	s->name = sy_xstrdup(name);
	s->path = sy_xasprintf("SPECS/%s/%s.spec", name, file ? file : name);
	s->version = sy_xstrdup("1");
	s->release = sy_xstrdup("1");
}

static void make_specs(struct planner_spec *s)
{
	init_spec(&s[ZLIB], "zlib", NULL);
	add_package(&s[ZLIB], "zlib", NULL);
	add_package(&s[ZLIB], "zlib-devel", "zlib");
	init_spec(&s[OPENSSL], "openssl", NULL);
	add_package(&s[OPENSSL], "openssl-libs", "zlib");
	add_package(&s[OPENSSL], "openssl-devel", "openssl-libs");
	add_br(&s[OPENSSL], "zlib-devel");
	init_spec(&s[LIBSSH2], "libssh2", NULL);
	add_package(&s[LIBSSH2], "libssh2", "openssl-libs");
	add_package(&s[LIBSSH2], "libssh2-devel", "libssh2");
	add_br(&s[LIBSSH2], "openssl-devel");
	init_spec(&s[CURL], "curl", NULL);
	add_package(&s[CURL], "curl", "libssh2");
	add_package(&s[CURL], "curl-devel", "curl");
	add_br(&s[CURL], "libssh2-devel");
	init_spec(&s[APP], "app", NULL);
	add_package(&s[APP], "app", "curl");
	init_spec(&s[TOOL], "tool", NULL);
	add_package(&s[TOOL], "tool", NULL);
	add_br(&s[TOOL], "app");
	init_spec(&s[LONELY], "lonely", "lonely-2");
	add_package(&s[LONELY], "lonely", NULL);
	init_spec(&s[LOOP_A], "loop-a", NULL);
	add_package(&s[LOOP_A], "loop-a", NULL);
	add_br(&s[LOOP_A], "loop-b");
	init_spec(&s[LOOP_B], "loop-b", NULL);
	add_package(&s[LOOP_B], "loop-b", NULL);
	add_br(&s[LOOP_B], "loop-a");
	init_spec(&s[BROKEN], "broken", NULL);
	s[BROKEN].error = sy_xstrdup("SPECS/broken/broken.spec: line 1: Unknown tag: Nme: x");
}

static int setup(void **state)
{
	struct fixture *f = sy_xcalloc(1, sizeof(*f));
	struct sy_strv toolchain = SY_STRV_INIT;
	struct sy_error err = { { 0 } };

	make_specs(f->specs);
	if (planner_graph_build(f->specs, NSPECS, &toolchain, 0, "x86_64", NULL, &f->graph, &err))
		fail_msg("%s", err.msg);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	planner_graph_release(&f->graph);
	for (size_t i = 0; i < NSPECS; i++)
		planner_spec_release(&f->specs[i]);
	free(f);
	return 0;
}

/* Runs a search from one spec and returns the found set as a bit mask of
 * spec indices; *r keeps the result (caller releases). */
static unsigned search(struct fixture *f, size_t start, enum planner_depsearch_direction dir,
		       enum planner_depsearch_edges edges, long max_depth,
		       struct planner_depsearch_result *r)
{
	struct planner_depsearch_query q = { &start, 1, dir, edges, max_depth };
	struct sy_error err = { { 0 } };
	unsigned mask = 0;

	assert_ok(planner_depsearch_run(&f->graph, &q, r, &err), &err);
	for (size_t i = 0; i < r->n; i++)
		mask |= 1u << r->hits[i].spec;
	return mask;
}

static unsigned found(struct fixture *f, size_t start, enum planner_depsearch_direction dir,
		      enum planner_depsearch_edges edges, long max_depth)
{
	struct planner_depsearch_result r;
	unsigned mask = search(f, start, dir, edges, max_depth, &r);

	planner_depsearch_result_release(&r);
	return mask;
}

#define BIT(x) (1u << (x))

static void test_depsearch_dependents_follow_both_edge_kinds_transitively(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(found(f, ZLIB, PLANNER_DEPSEARCH_DEPENDENTS, PLANNER_DEPSEARCH_ALL, -1),
			 BIT(ZLIB) | BIT(OPENSSL) | BIT(LIBSSH2) | BIT(CURL) | BIT(APP) | BIT(TOOL));
	/* Nothing needs tool; lonely needs nothing and is needed by nothing. */
	assert_int_equal(found(f, TOOL, PLANNER_DEPSEARCH_DEPENDENTS, PLANNER_DEPSEARCH_ALL, -1),
			 BIT(TOOL));
	assert_int_equal(found(f, LONELY, PLANNER_DEPSEARCH_DEPENDENTS, PLANNER_DEPSEARCH_ALL, -1),
			 BIT(LONELY));
}

static void test_depsearch_records_depth_via_and_reason_of_shortest_path(void **state)
{
	struct fixture *f = *state;
	struct planner_depsearch_result r;

	search(f, ZLIB, PLANNER_DEPSEARCH_DEPENDENTS, PLANNER_DEPSEARCH_ALL, -1, &r);
	const struct planner_depsearch_hit *zlib = &r.hits[r.hit_of[ZLIB]];
	const struct planner_depsearch_hit *openssl = &r.hits[r.hit_of[OPENSSL]];
	const struct planner_depsearch_hit *app = &r.hits[r.hit_of[APP]];
	const struct planner_depsearch_hit *tool = &r.hits[r.hit_of[TOOL]];
	assert_int_equal(r.hit_of[LONELY], -1);
	assert_int_equal(zlib->depth, 0);
	assert_int_equal(zlib->via, -1);
	assert_null(zlib->reason);
	assert_int_equal(zlib->kind, PLANNER_DEPSEARCH_SEARCHED);
	/* openssl both BuildRequires zlib-devel and Requires zlib: the build
	 * edge is the one reported. */
	assert_int_equal(openssl->depth, 1);
	assert_int_equal(openssl->via, ZLIB);
	assert_int_equal(openssl->kind, PLANNER_DEPSEARCH_EDGE_BUILD);
	assert_string_equal(openssl->reason, "BuildRequires zlib-devel");
	assert_int_equal(app->depth, 4);
	assert_int_equal(app->via, CURL);
	assert_int_equal(app->kind, PLANNER_DEPSEARCH_EDGE_RUNTIME);
	assert_string_equal(app->reason, "app requires curl");
	assert_int_equal(tool->depth, 5);
	assert_int_equal(tool->via, APP);
	assert_string_equal(tool->reason, "BuildRequires app");
	/* Breadth-first order: depths never decrease. */
	for (size_t i = 1; i < r.n; i++)
		assert_true(r.hits[i].depth >= r.hits[i - 1].depth);
	planner_depsearch_result_release(&r);
}

static void test_depsearch_build_only_follows_buildrequires_at_every_level(void **state)
{
	struct fixture *f = *state;

	/* app only Requires curl, so neither app nor tool (which BuildRequires
	 * app) is reached. */
	assert_int_equal(found(f, ZLIB, PLANNER_DEPSEARCH_DEPENDENTS, PLANNER_DEPSEARCH_BUILD, -1),
			 BIT(ZLIB) | BIT(OPENSSL) | BIT(LIBSSH2) | BIT(CURL));
	assert_int_equal(found(f, APP, PLANNER_DEPSEARCH_DEPENDENTS, PLANNER_DEPSEARCH_BUILD, -1),
			 BIT(APP) | BIT(TOOL));
}

static void test_depsearch_runtime_only_follows_requires_at_every_level(void **state)
{
	struct fixture *f = *state;

	/* tool only BuildRequires app. */
	assert_int_equal(found(f, ZLIB, PLANNER_DEPSEARCH_DEPENDENTS, PLANNER_DEPSEARCH_RUNTIME, -1),
			 BIT(ZLIB) | BIT(OPENSSL) | BIT(LIBSSH2) | BIT(CURL) | BIT(APP));
	assert_int_equal(found(f, APP, PLANNER_DEPSEARCH_DEPENDENTS, PLANNER_DEPSEARCH_RUNTIME, -1),
			 BIT(APP));
}

static void test_depsearch_max_depth_limits_levels(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(found(f, ZLIB, PLANNER_DEPSEARCH_DEPENDENTS, PLANNER_DEPSEARCH_ALL, 0),
			 BIT(ZLIB));
	assert_int_equal(found(f, ZLIB, PLANNER_DEPSEARCH_DEPENDENTS, PLANNER_DEPSEARCH_ALL, 2),
			 BIT(ZLIB) | BIT(OPENSSL) | BIT(LIBSSH2));
	assert_int_equal(found(f, TOOL, PLANNER_DEPSEARCH_DEPENDENCIES, PLANNER_DEPSEARCH_ALL, 1),
			 BIT(TOOL) | BIT(APP));
}

static void test_depsearch_reverse_lists_what_the_spec_needs(void **state)
{
	struct fixture *f = *state;
	struct planner_depsearch_result r;

	assert_int_equal(search(f, TOOL, PLANNER_DEPSEARCH_DEPENDENCIES, PLANNER_DEPSEARCH_ALL, -1, &r),
			 BIT(TOOL) | BIT(APP) | BIT(CURL) | BIT(LIBSSH2) | BIT(OPENSSL) | BIT(ZLIB));
	/* The reason is the dependent's edge: curl is there because app
	 * requires it. */
	assert_int_equal(r.hits[r.hit_of[CURL]].via, APP);
	assert_string_equal(r.hits[r.hit_of[CURL]].reason, "app requires curl");
	assert_string_equal(r.hits[r.hit_of[APP]].reason, "BuildRequires app");
	planner_depsearch_result_release(&r);
	assert_int_equal(found(f, TOOL, PLANNER_DEPSEARCH_DEPENDENCIES, PLANNER_DEPSEARCH_BUILD, -1),
			 BIT(TOOL) | BIT(APP));
	assert_int_equal(found(f, CURL, PLANNER_DEPSEARCH_DEPENDENCIES, PLANNER_DEPSEARCH_BUILD, -1),
			 BIT(CURL) | BIT(LIBSSH2) | BIT(OPENSSL) | BIT(ZLIB));
	assert_int_equal(found(f, ZLIB, PLANNER_DEPSEARCH_DEPENDENCIES, PLANNER_DEPSEARCH_ALL, -1),
			 BIT(ZLIB));
}

static void test_depsearch_terminates_on_cycles(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(found(f, LOOP_A, PLANNER_DEPSEARCH_DEPENDENTS, PLANNER_DEPSEARCH_ALL, -1),
			 BIT(LOOP_A) | BIT(LOOP_B));
	assert_int_equal(found(f, LOOP_B, PLANNER_DEPSEARCH_DEPENDENCIES, PLANNER_DEPSEARCH_ALL, -1),
			 BIT(LOOP_A) | BIT(LOOP_B));
}

static void test_depsearch_several_searched_specs_all_at_depth_zero(void **state)
{
	struct fixture *f = *state;
	size_t start[] = { LIBSSH2, ZLIB, ZLIB };
	struct planner_depsearch_query q = { start, 3, PLANNER_DEPSEARCH_DEPENDENTS,
					     PLANNER_DEPSEARCH_ALL, 1 };
	struct planner_depsearch_result r;
	struct sy_error err = { { 0 } };

	assert_ok(planner_depsearch_run(&f->graph, &q, &r, &err), &err);
	/* zlib, libssh2 (searched), openssl and curl (one edge away). */
	assert_int_equal(r.n, 4);
	assert_int_equal(r.hits[r.hit_of[LIBSSH2]].depth, 0);
	assert_int_equal(r.hits[r.hit_of[LIBSSH2]].via, -1);
	assert_int_equal(r.hits[r.hit_of[CURL]].depth, 1);
	assert_int_equal(r.hits[r.hit_of[OPENSSL]].depth, 1);
	planner_depsearch_result_release(&r);
}

static void test_depsearch_rejects_out_of_range_start(void **state)
{
	struct fixture *f = *state;
	size_t start = NSPECS;
	struct planner_depsearch_query q = { &start, 1, 0, 0, -1 };
	struct planner_depsearch_result r;
	struct sy_error err = { { 0 } };

	assert_int_equal(planner_depsearch_run(&f->graph, &q, &r, &err), -1);
	assert_non_null(strstr(err.msg, "out of range"));
	planner_depsearch_result_release(&r);
}

static void test_depsearch_resolve_maps_packages_to_their_specs(void **state)
{
	struct fixture *f = *state;
	struct sy_strv names = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	size_t *out = NULL, n = 0;

	sy_strv_push(&names, "libssh2-devel");
	sy_strv_push(&names, "zlib");
	assert_ok(planner_depsearch_resolve(f->specs, NSPECS, &names, 1, &out, &n, &err), &err);
	assert_int_equal(n, 2);
	assert_int_equal(out[0], LIBSSH2);
	assert_int_equal(out[1], ZLIB);
	free(out);
	sy_strv_release(&names);
}

static void test_depsearch_resolve_names_every_unknown_package(void **state)
{
	struct fixture *f = *state;
	struct sy_strv names = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	size_t *out = NULL, n = 0;

	sy_strv_push(&names, "nope");
	sy_strv_push(&names, "curl-devel");
	sy_strv_push(&names, "zzz");
	assert_int_equal(planner_depsearch_resolve(f->specs, NSPECS, &names, 1, &out, &n, &err), -1);
	assert_string_equal(err.msg, "unknown packages: nope, zzz");
	/* A spec name is not a package name. */
	sy_strv_release(&names);
	sy_strv_push(&names, "broken");
	assert_int_equal(planner_depsearch_resolve(f->specs, NSPECS, &names, 1, &out, &n, &err), -1);
	assert_string_equal(err.msg, "unknown package: broken");
	free(out);
	sy_strv_release(&names);
}

static void test_depsearch_resolve_matches_spec_file_basename(void **state)
{
	struct fixture *f = *state;
	struct sy_strv names = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	size_t *out = NULL, n = 0;

	/* lonely.spec is named lonely-2.spec; a spec that does not parse is
	 * still found by name. */
	sy_strv_push(&names, "lonely-2");
	sy_strv_push(&names, "broken");
	assert_ok(planner_depsearch_resolve(f->specs, NSPECS, &names, 0, &out, &n, &err), &err);
	assert_int_equal(n, 2);
	assert_int_equal(out[0], LONELY);
	assert_int_equal(out[1], BROKEN);
	sy_strv_release(&names);
	sy_strv_push(&names, "lonely");
	assert_int_equal(planner_depsearch_resolve(f->specs, NSPECS, &names, 0, &out, &n, &err), -1);
	assert_string_equal(err.msg, "unknown spec: lonely");
	free(out);
	sy_strv_release(&names);
}

/* Prints a search from zlib in the given format into a new string. */
static char *print(struct fixture *f, enum planner_depsearch_format format,
		   enum planner_depsearch_edges edges)
{
	size_t start = ZLIB, len = 0;
	struct planner_depsearch_query q = { &start, 1, PLANNER_DEPSEARCH_DEPENDENTS, edges, -1 };
	struct planner_depsearch_result r;
	struct sy_strv names = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	char *text = NULL;
	FILE *out = open_memstream(&text, &len);

	sy_strv_push(&names, "zlib");
	struct planner_depsearch_view view = { "0123abcd", &names, 0, &q, format };
	assert_ok(planner_depsearch_run(&f->graph, &q, &r, &err), &err);
	assert_int_equal(planner_depsearch_print(out, &f->graph, &r, &view), 0);
	fclose(out);
	planner_depsearch_result_release(&r);
	sy_strv_release(&names);
	return text;
}

static void test_depsearch_list_is_sorted_spec_names_with_searched(void **state)
{
	char *text = print(*state, PLANNER_DEPSEARCH_LIST, PLANNER_DEPSEARCH_ALL);

	assert_string_equal(text, "app\ncurl\nlibssh2\nopenssl\ntool\nzlib\n");
	free(text);
}

static void test_depsearch_tree_indents_with_edge_reasons(void **state)
{
	char *text = print(*state, PLANNER_DEPSEARCH_TREE, PLANNER_DEPSEARCH_ALL);

	assert_string_equal(text, "zlib\n"
				  "  openssl (BuildRequires zlib-devel)\n"
				  "    libssh2 (BuildRequires openssl-devel)\n"
				  "      curl (BuildRequires libssh2-devel)\n"
				  "        app (app requires curl)\n"
				  "          tool (BuildRequires app)\n");
	free(text);
}

static void test_depsearch_json_lists_specs_with_depth_via_reason(void **state)
{
	char *text = print(*state, PLANNER_DEPSEARCH_JSON, PLANNER_DEPSEARCH_BUILD);
	json_error_t jerr;
	json_t *doc = json_loads(text, 0, &jerr);

	assert_non_null(doc);
	json_t *query = json_object_get(doc, "query"), *specs = json_object_get(doc, "specs");
	assert_string_equal(json_string_value(json_object_get(query, "edges")), "build");
	assert_string_equal(json_string_value(json_object_get(query, "direction")), "dependents");
	assert_true(json_is_null(json_object_get(query, "max_depth")));
	assert_string_equal(json_string_value(json_array_get(json_object_get(query, "specs"), 0)),
			    "zlib");
	assert_int_equal(json_array_size(specs), 4);
	/* Sorted by name: curl, libssh2, openssl, zlib. */
	json_t *curl = json_array_get(specs, 0), *zlib = json_array_get(specs, 3);
	assert_string_equal(json_string_value(json_object_get(curl, "spec")), "curl");
	assert_string_equal(json_string_value(json_object_get(curl, "path")), "SPECS/curl/curl.spec");
	assert_int_equal(json_integer_value(json_object_get(curl, "depth")), 3);
	assert_string_equal(json_string_value(json_object_get(curl, "via")), "libssh2");
	assert_string_equal(json_string_value(json_object_get(curl, "reason")),
			    "BuildRequires libssh2-devel");
	assert_true(json_is_null(json_object_get(zlib, "via")));
	assert_true(json_is_null(json_object_get(zlib, "reason")));
	json_decref(doc);
	free(text);
}

static void test_depsearch_dot_draws_followed_edges_between_found_specs(void **state)
{
	char *text = print(*state, PLANNER_DEPSEARCH_DOT, PLANNER_DEPSEARCH_ALL);

	assert_non_null(strstr(text, "digraph \"depsearch\" {\n"));
	assert_non_null(strstr(text, "  \"zlib\" [style=bold];\n"));
	assert_non_null(strstr(text, "  \"openssl\" -> \"zlib\" [label=\"BuildRequires zlib-devel\"];\n"));
	assert_non_null(strstr(text, "  \"openssl\" -> \"zlib\" [label=\"openssl-libs requires zlib\", "
				     "style=dashed];\n"));
	assert_non_null(strstr(text, "  \"tool\" -> \"app\" [label=\"BuildRequires app\"];\n"));
	assert_null(strstr(text, "lonely"));
	assert_int_equal(text[strlen(text) - 2], '}');
	free(text);
	/* Build-only: no runtime edge drawn. */
	text = print(*state, PLANNER_DEPSEARCH_DOT, PLANNER_DEPSEARCH_BUILD);
	assert_null(strstr(text, "dashed"));
	assert_null(strstr(text, "\"app\""));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_depsearch_dependents_follow_both_edge_kinds_transitively, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depsearch_records_depth_via_and_reason_of_shortest_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depsearch_build_only_follows_buildrequires_at_every_level, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depsearch_runtime_only_follows_requires_at_every_level, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depsearch_max_depth_limits_levels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depsearch_reverse_lists_what_the_spec_needs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depsearch_terminates_on_cycles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depsearch_several_searched_specs_all_at_depth_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depsearch_rejects_out_of_range_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depsearch_resolve_maps_packages_to_their_specs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depsearch_resolve_names_every_unknown_package, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depsearch_resolve_matches_spec_file_basename, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depsearch_list_is_sorted_spec_names_with_searched, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depsearch_tree_indents_with_edge_reasons, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depsearch_json_lists_specs_with_depth_via_reason, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depsearch_dot_draws_followed_edges_between_found_specs, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
