/* The dependency graph (libsolv), the rebuild set, the cascade guard,
 * maintainer targeting and graph analytics, on specs made by hand. */
#include "testutil.h"

#include "planner/graph.h"
#include "planner/graphcache.h"
#include "planner/plan.h"
#include "planner/buildkey.h"
#include "planner/analyze.h"
#include "planner/cascade.h"
#include "planner/target.h"

/* A tiny distribution: zlib (zlib, zlib-devel), openssl BuildRequires
 * zlib-devel >= 1.3, curl BuildRequires openssl-devel and zlib-devel, hello
 * BuildRequires gcc (toolchain) and nothing else, old BuildRequires
 * zlib-devel < 1.0 (unresolvable), loop-a and loop-b BuildRequire each
 * other. */
struct fixture {
	struct planner_spec specs[7];
	struct sy_strv toolchain;
};

static struct planner_dep dep(const char *name, int flags, const char *evr)
{
	return (struct planner_dep){ sy_xstrdup(name), flags, evr ? sy_xstrdup(evr) : NULL };
}

static void add_package(struct planner_spec *s, const char *name, const char *evr,
			const char *requires_)
{
	s->packages = sy_xrealloc(s->packages, (s->npackages + 1) * sizeof(*s->packages));
	struct planner_package *p = &s->packages[s->npackages++];
	memset(p, 0, sizeof(*p));
	p->name = sy_xstrdup(name);
	p->evr = sy_xstrdup(evr);
	p->arch = sy_xstrdup("x86_64");
	p->provides.items = sy_xcalloc(1, sizeof(struct planner_dep));
	p->provides.items[0] = dep(name, PLANNER_DEP_EQUAL, evr);
	p->provides.n = 1;
	if (requires_) {
		p->requires.items = sy_xcalloc(1, sizeof(struct planner_dep));
		p->requires.items[0] = dep(requires_, 0, NULL);
		p->requires.n = 1;
	}
}

static void add_br(struct planner_spec *s, const char *name, int flags, const char *evr)
{
	s->buildrequires.items = sy_xrealloc(s->buildrequires.items,
					     (s->buildrequires.n + 1) * sizeof(struct planner_dep));
	s->buildrequires.items[s->buildrequires.n++] = dep(name, flags, evr);
}

static void init_spec(struct planner_spec *s, const char *name, const char *version)
{
	static int counter;

	memset(s, 0, sizeof(*s));
	s->name = sy_xstrdup(name);
	/* Index order is path order: number the directories. */
	s->path = sy_xasprintf("SPECS/%d-%s/%s.spec", counter++ % 7, name, name);
	s->version = sy_xstrdup(version);
	s->release = sy_xstrdup("1");
}

static int setup(void **state)
{
	struct fixture *f = sy_xcalloc(1, sizeof(*f));
	struct planner_spec *s = f->specs;

	init_spec(&s[0], "zlib", "1.3.2");
	add_package(&s[0], "zlib", "1.3.2-1", NULL);
	add_package(&s[0], "zlib-devel", "1.3.2-1", "zlib");
	init_spec(&s[1], "openssl", "3.3");
	add_package(&s[1], "openssl-libs", "3.3-1", NULL);
	add_package(&s[1], "openssl-devel", "3.3-1", "openssl-libs");
	add_br(&s[1], "zlib-devel", PLANNER_DEP_GREATER | PLANNER_DEP_EQUAL, "1.3");
	init_spec(&s[2], "curl", "8.0");
	add_package(&s[2], "curl", "8.0-1", "openssl-libs");
	add_br(&s[2], "openssl-devel", 0, NULL);
	add_br(&s[2], "gcc", 0, NULL);
	init_spec(&s[3], "hello", "1.0");
	add_package(&s[3], "hello", "1.0-1", NULL);
	add_br(&s[3], "gcc", PLANNER_DEP_GREATER, "4");
	init_spec(&s[4], "old", "0.1");
	add_package(&s[4], "old", "0.1-1", NULL);
	add_br(&s[4], "zlib-devel", PLANNER_DEP_LESS, "1.0");
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
		planner_spec_release(&f->specs[i]);
	sy_strv_release(&f->toolchain);
	free(f);
	return 0;
}

/* With a worker root made of the distribution's packages, what the root
 * provides is taken from it, not built: openssl's zlib-devel is the root's. */
static void test_graph_rpm_root_capabilities_win_over_specs(void **state)
{
	struct fixture *f = *state;
	struct sy_strv root = SY_STRV_INIT;
	struct planner_graph g;
	struct sy_error err = { { 0 } };

	sy_strv_push(&root, "zlib-devel");
	assert_ok(planner_graph_build(f->specs, 7, &root, 0, "x86_64", NULL, &g, &err), &err);
	assert_int_equal(g.nodes[1].nbuild_deps, 1);
	planner_graph_release(&g);
	assert_ok(planner_graph_build(f->specs, 7, &root, 1, "x86_64", NULL, &g, &err), &err);
	assert_int_equal(g.nodes[1].nbuild_deps, 0);
	assert_int_equal(g.nodes[1].ninstall, 0);
	assert_true(sy_strv_contains(&g.nodes[1].toolchain, "zlib-devel >= 1.3"));
	planner_graph_release(&g);
	sy_strv_release(&root);
}

static void test_graph_resolves_versioned_buildrequires_and_install_closure(void **state)
{
	struct fixture *f = *state;
	struct planner_graph g;
	struct sy_error err = { { 0 } };

	assert_ok(planner_graph_build(f->specs, 7, &f->toolchain, 0, "x86_64", NULL, &g, &err), &err);
	/* openssl -> zlib through zlib-devel >= 1.3; install zlib-devel and zlib. */
	assert_int_equal(g.nodes[1].nbuild_deps, 1);
	assert_int_equal(g.nodes[1].build_deps[0], 0);
	char *why = planner_graph_build_reason(&g, 1, 0);
	assert_string_equal(why, "zlib-devel >= 1.3");
	free(why);
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
	planner_graph_release(&g);
}

/* A spec whose BuildRequires nothing offers, even among the packages built
 * by the end of a run, fails naming every one of them, in its order. */
static void test_graph_resolve_late_names_every_unresolvable_buildrequires(void **state)
{
	struct fixture *f = *state;
	struct planner_graph g;
	struct sy_strv install = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	const char *const none[] = { NULL };

	add_br(&f->specs[4], "no-such-devel", 0, NULL);
	add_br(&f->specs[4], "gcc", 0, NULL);
	add_br(&f->specs[4], "libnothing-devel", PLANNER_DEP_GREATER | PLANNER_DEP_EQUAL, "2");
	assert_ok(planner_graph_build(f->specs, 7, &f->toolchain, 0, "x86_64", NULL, &g, &err), &err);
	assert_int_equal(planner_graph_resolve_late(&g, 4, none, &install, &err), -1);
	assert_string_equal(err.msg, "unresolvable BuildRequires: zlib-devel < 1.0, "
				     "no-such-devel, libnothing-devel >= 2");
	assert_int_equal(install.n, 0);
	planner_graph_release(&g);
}

static void test_graph_finds_build_cycles(void **state)
{
	struct fixture *f = *state;
	struct planner_graph g;
	struct sy_error err = { { 0 } };
	struct sy_strv cycles = SY_STRV_INIT;
	size_t member[7] = { 0 };

	assert_ok(planner_graph_build(f->specs, 7, &f->toolchain, 0, "x86_64", NULL, &g, &err), &err);
	assert_int_equal(planner_graph_cycles(&g, NULL, member, &cycles), 1);
	assert_non_null(strstr(cycles.items[0], "loop-a"));
	assert_non_null(strstr(cycles.items[0], "loop-b"));
	assert_int_equal(member[5], 1);
	assert_int_equal(member[6], 1);
	assert_int_equal(member[0] + member[1] + member[2], 0);
	sy_strv_release(&cycles);
	planner_graph_release(&g);
}

/* Asserts that two graphs over the same specs have the same nodes. */
static void assert_same_nodes(const struct planner_graph *a, const struct planner_graph *b)
{
	assert_int_equal(a->nspecs, b->nspecs);
	for (size_t i = 0; i < a->nspecs; i++) {
		const struct planner_graph_node *x = &a->nodes[i], *y = &b->nodes[i];
		assert_int_equal(x->nbuild_deps, y->nbuild_deps);
		for (size_t k = 0; k < x->nbuild_deps; k++) {
			assert_int_equal(x->build_deps[k], y->build_deps[k]);
			assert_int_equal(x->build_dep_brs[k], y->build_dep_brs[k]);
		}
		assert_int_equal(x->nrun_deps, y->nrun_deps);
		for (size_t k = 0; k < x->nrun_deps; k++) {
			assert_int_equal(x->run_deps[k], y->run_deps[k]);
			assert_int_equal(x->run_dep_reqs[k].package, y->run_dep_reqs[k].package);
			assert_int_equal(x->run_dep_reqs[k].require, y->run_dep_reqs[k].require);
		}
		assert_int_equal(x->ninstall, y->ninstall);
		for (size_t k = 0; k < x->ninstall; k++) {
			assert_int_equal(x->install[k].spec, y->install[k].spec);
			assert_int_equal(x->install[k].package, y->install[k].package);
		}
		assert_int_equal(x->nroot_specs, y->nroot_specs);
		for (size_t k = 0; k < x->nroot_specs; k++)
			assert_int_equal(x->root_specs[k], y->root_specs[k]);
		assert_int_equal(x->unresolved.n, y->unresolved.n);
		for (size_t k = 0; k < x->unresolved.n; k++)
			assert_string_equal(x->unresolved.items[k], y->unresolved.items[k]);
		assert_int_equal(x->toolchain.n, y->toolchain.n);
		for (size_t k = 0; k < x->toolchain.n; k++)
			assert_string_equal(x->toolchain.items[k], y->toolchain.items[k]);
	}
}

/* Reads graph back through the graph cache's form into out: node arrays
 * in one allocation, which graphs derived from out share. */
static void read_back(struct fixture *f, const struct planner_graph *graph, int first,
		      struct planner_graph *out)
{
	struct sy_error err = { { 0 } };
	size_t len;
	unsigned char *data = planner_graphcache_encode(graph, &len);

	assert_ok(planner_graphcache_decode(data, len, graph->specs, graph->nspecs, &f->toolchain,
					    first, "x86_64", NULL, out, &err), &err);
	free(data);
}

/* Derives the graph of head (n specs) from the fixture's and asserts it is
 * the graph built from scratch, with the toolchain first and last; and
 * from the fixture's read back from the graph cache (whose node arrays a
 * derived graph shares), released first and last. */
static void assert_derived_is_built(struct fixture *f, struct planner_spec *head, size_t n)
{
	struct sy_error err = { { 0 } };

	for (int first = 0; first < 2; first++) {
		struct planner_graph base, full, derived, cached, shared, twice;
		assert_ok(planner_graph_build(f->specs, 7, &f->toolchain, first, "x86_64", NULL,
					      &base, &err), &err);
		assert_ok(planner_graph_build(head, n, &f->toolchain, first, "x86_64", NULL, &full,
					      &err), &err);
		assert_int_equal(planner_graph_derive(&base, head, n, &f->toolchain, first, "x86_64",
						      NULL, &derived, &err), 1);
		assert_same_nodes(&full, &derived);
		read_back(f, &base, first, &cached);
		assert_int_equal(planner_graph_derive(&cached, head, n, &f->toolchain, first,
						      "x86_64", NULL, &shared, &err), 1);
		if (first)
			planner_graph_release(&cached); /* what shared holds outlives it */
		assert_same_nodes(&full, &shared);
		/* derived again from a graph that shares: the base's head */
		assert_int_equal(planner_graph_derive(&shared, f->specs, 7, &f->toolchain, first,
						      "x86_64", NULL, &twice, &err), 1);
		planner_graph_release(&shared);
		assert_same_nodes(&base, &twice);
		planner_graph_release(&twice);
		if (!first)
			planner_graph_release(&cached);
		planner_graph_release(&derived);
		planner_graph_release(&full);
		planner_graph_release(&base);
	}
}

/* The fixture's specs with spec at replaced by with (NULL: removed), or
 * with inserted before at (insert set): shallow copies, as an index shares
 * the specs of the commit it was read after. Returns the count. */
static size_t head_of(const struct fixture *f, struct planner_spec *out, size_t at,
		      const struct planner_spec *with, int insert)
{
	size_t n = 0;

	for (size_t i = 0; i < 7; i++) {
		if (i == at && with)
			out[n++] = *with;
		if (i != at || insert)
			out[n++] = f->specs[i];
	}
	return n;
}

/* zlib as the fixture has it, but at version-release evr, its -devel
 * requiring devel_requires (NULL: nothing), under name at path. */
static void make_zlib(struct planner_spec *s, const char *path, const char *evr,
		      const char *devel_requires)
{
	memset(s, 0, sizeof(*s)); /* not init_spec: its numbering stays the fixture's */
	s->name = sy_xstrdup("zlib");
	s->version = sy_xstrdup("1");
	s->release = sy_xstrdup("1");
	s->path = sy_xstrdup(path);
	add_package(s, "zlib", evr, NULL);
	add_package(s, "zlib-devel", evr, devel_requires);
}

/* A spec changed, added or removed: the derived graph is the graph built
 * from scratch, whether the change moves no provider (a Release bump),
 * moves one (a lower version that openssl's zlib-devel >= 1.3 no longer
 * takes and old's < 1.0 does; a higher provider added; an equal one loaded
 * first; the provider removed) or changes a build root's closure (a
 * Requires dropped). */
static void test_graph_derived_from_another_commit_is_the_built_graph(void **state)
{
	struct fixture *f = *state;
	struct planner_spec head[8], changed;
	const char *zlib = f->specs[0].path;

	make_zlib(&changed, zlib, "1.3.2-2", "zlib"); /* Release bump */
	assert_derived_is_built(f, head, head_of(f, head, 0, &changed, 0));
	planner_spec_release(&changed);
	make_zlib(&changed, zlib, "0.9-1", "zlib"); /* downgrade */
	assert_derived_is_built(f, head, head_of(f, head, 0, &changed, 0));
	planner_spec_release(&changed);
	make_zlib(&changed, zlib, "1.3.2-1", NULL); /* Requires dropped */
	assert_derived_is_built(f, head, head_of(f, head, 0, &changed, 0));
	planner_spec_release(&changed);
	/* zlib-ng offers zlib-devel 2.0: openssl and curl build with it */
	make_zlib(&changed, "SPECS/0a-zlib-ng/zlib-ng.spec", "2.0-1", NULL);
	assert_derived_is_built(f, head, head_of(f, head, 1, &changed, 1));
	planner_spec_release(&changed);
	/* the same EVR, loaded first: it wins the tie */
	make_zlib(&changed, "SPECS/0-a-compat/compat.spec", "1.3.2-1", NULL);
	assert_derived_is_built(f, head, head_of(f, head, 0, &changed, 1));
	planner_spec_release(&changed);
	/* openssl removed: curl's openssl-devel is unresolved */
	assert_derived_is_built(f, head, head_of(f, head, 1, NULL, 0));
	/* nothing changed at all */
	assert_derived_is_built(f, head, head_of(f, head, 7, NULL, 0));
}

/* A graph is not derived, and is left alone, when a learned repository
 * adds provides the base's nodes cannot be checked against, or when more
 * than an eighth of the specs changed (a macro context change re-reads
 * every spec): then it is built from scratch. */
static void test_graph_not_derived_after_many_changes_or_with_learned_provides(void **state)
{
	struct fixture *f = *state;
	struct sy_error err = { { 0 } };
	struct planner_spec head[8], changed[2];
	struct planner_graph base, derived = { 0 };
	size_t n = head_of(f, head, 7, NULL, 0);

	assert_ok(planner_graph_build(f->specs, 7, &f->toolchain, 0, "x86_64", NULL, &base, &err),
		  &err);
	assert_int_equal(planner_graph_derive(&base, head, n, &f->toolchain, 0, "x86_64",
					      "/nonexistent/repo", &derived, &err), 0);
	assert_null(derived.nodes);
	make_zlib(&changed[0], f->specs[0].path, "1.3.2-2", "zlib");
	make_zlib(&changed[1], f->specs[3].path, "1.1-1", NULL); /* hello's path */
	head[0] = changed[0];
	head[3] = changed[1];
	assert_int_equal(planner_graph_derive(&base, head, n, &f->toolchain, 0, "x86_64", NULL,
					      &derived, &err), 0);
	assert_null(derived.nodes);
	planner_spec_release(&changed[0]);
	planner_spec_release(&changed[1]);
	planner_graph_release(&base);
}

/* A graph read back from its record has the built graph's nodes, and what
 * needs libsolv afterwards (late resolution, unresolved Requires) makes the
 * pool from the same arguments and answers as the built graph does. */
static void test_graphcache_record_gives_back_the_built_graph(void **state)
{
	struct fixture *f = *state;
	struct planner_graph g, h;
	struct sy_error err = { { 0 } }, err2 = { { 0 } };
	struct sy_strv install = SY_STRV_INIT, u1 = SY_STRV_INIT, u2 = SY_STRV_INIT;
	const char *const none[] = { NULL };
	unsigned char *data;
	size_t len;

	add_br(&f->specs[4], "no-such-devel", 0, NULL);
	f->specs[3].packages[0].requires.items = sy_xcalloc(1, sizeof(struct planner_dep));
	f->specs[3].packages[0].requires.items[0] = dep("libmissing.so.1()(64bit)", 0, NULL);
	f->specs[3].packages[0].requires.n = 1;
	assert_ok(planner_graph_build(f->specs, 7, &f->toolchain, 0, "x86_64", NULL, &g, &err), &err);
	data = planner_graphcache_encode(&g, &len);
	assert_ok(planner_graphcache_decode(data, len, f->specs, 7, &f->toolchain, 0, "x86_64", NULL,
					    &h, &err),
		  &err);
	assert_same_nodes(&g, &h);
	assert_int_equal(h.nodes[2].nbuild_deps, 1); /* curl -> openssl survived */
	assert_int_equal(planner_graph_resolve_late(&g, 4, none, &install, &err), -1);
	assert_int_equal(planner_graph_resolve_late(&h, 4, none, &install, &err2), -1);
	assert_string_equal(err.msg, err2.msg);
	planner_graph_unresolved_requires(&g, 3, &u1);
	planner_graph_unresolved_requires(&h, 3, &u2);
	assert_int_equal(u2.n, 1);
	assert_string_equal(u1.items[0], u2.items[0]);
	sy_strv_release(&u1);
	sy_strv_release(&u2);
	free(data);
	planner_graph_release(&h);
	planner_graph_release(&g);
}

/* A record that does not fit the specs it is read for (fewer specs, a
 * truncated or extended record) is refused, not read out of bounds. */
static void test_graphcache_refuses_a_record_that_does_not_fit_the_specs(void **state)
{
	struct fixture *f = *state;
	struct planner_graph g, h;
	struct sy_error err = { { 0 } };
	unsigned char *data, *longer;
	size_t len;

	assert_ok(planner_graph_build(f->specs, 7, &f->toolchain, 0, "x86_64", NULL, &g, &err), &err);
	data = planner_graphcache_encode(&g, &len);
	assert_int_equal(planner_graphcache_decode(data, len, f->specs, 6, &f->toolchain, 0,
						   "x86_64", NULL, &h, &err),
			 -1);
	assert_string_equal(err.msg, "graph record: does not fit the specs");
	for (size_t cut = 0; cut < len; cut++)
		assert_int_equal(planner_graphcache_decode(data, cut, f->specs, 7, &f->toolchain, 0,
							   "x86_64", NULL, &h, &err),
				 -1);
	longer = sy_xcalloc(len + 1, 1);
	memcpy(longer, data, len);
	assert_int_equal(planner_graphcache_decode(longer, len + 1, f->specs, 7, &f->toolchain, 0,
						   "x86_64", NULL, &h, &err),
			 -1);
	/* openssl's record says its edge came from BuildRequires #0; with no
	 * BuildRequires left, that index points nowhere. */
	size_t saved = f->specs[1].buildrequires.n;
	f->specs[1].buildrequires.n = 0;
	assert_int_equal(planner_graphcache_decode(data, len, f->specs, 7, &f->toolchain, 0,
						   "x86_64", NULL, &h, &err),
			 -1);
	f->specs[1].buildrequires.n = saved;
	free(longer);
	free(data);
	planner_graph_release(&g);
}

/* The cache key changes with whatever changes the graph: the toolchain, its
 * precedence, the arch, the learned repository, a spec's inputs, context or
 * parse error; and is the same for the same inputs. */
static void test_graphcache_context_covers_every_input_of_the_graph(void **state)
{
	struct fixture *f = *state;
	char *inputs[7], *contexts[7];
	struct planner_index index = { .specs = f->specs, .nspecs = 7, .spec_inputs = inputs,
				       .spec_contexts = contexts };
	char base[SY_SHA256_HEX_LEN + 1], again[SY_SHA256_HEX_LEN + 1], other[SY_SHA256_HEX_LEN + 1];
	struct sy_strv more = SY_STRV_INIT;

	for (size_t i = 0; i < 7; i++) {
		inputs[i] = sy_xasprintf("in%zu", i);
		contexts[i] = sy_xstrdup("ctx");
	}
	planner_graphcache_context(&index, &f->toolchain, 0, "x86_64", NULL, base);
	planner_graphcache_context(&index, &f->toolchain, 0, "x86_64", NULL, again);
	assert_string_equal(base, again);
	sy_strv_push(&more, "gcc");
	sy_strv_push(&more, "make");
	planner_graphcache_context(&index, &more, 0, "x86_64", NULL, other);
	assert_string_not_equal(base, other);
	planner_graphcache_context(&index, &f->toolchain, 1, "x86_64", NULL, other);
	assert_string_not_equal(base, other);
	planner_graphcache_context(&index, &f->toolchain, 0, "aarch64", NULL, other);
	assert_string_not_equal(base, other);
	planner_graphcache_context(&index, &f->toolchain, 0, "x86_64", "/repos/main/snapshots/1", other);
	assert_string_not_equal(base, other);
	free(inputs[2]);
	inputs[2] = sy_xstrdup("changed");
	planner_graphcache_context(&index, &f->toolchain, 0, "x86_64", NULL, other);
	assert_string_not_equal(base, other);
	free(contexts[5]);
	contexts[5] = sy_xstrdup("versions");
	planner_graphcache_context(&index, &f->toolchain, 0, "x86_64", NULL, again);
	assert_string_not_equal(other, again);
	f->specs[0].error = sy_xstrdup("sandbox could not be set up");
	planner_graphcache_context(&index, &f->toolchain, 0, "x86_64", NULL, other);
	assert_string_not_equal(other, again);
	for (size_t i = 0; i < 7; i++) {
		free(inputs[i]);
		free(contexts[i]);
	}
	sy_strv_release(&more);
}

/* Keys made by hand: own digest "o<i><own>" and key "k<i><key>" per spec. */
static void fake_keys(struct planner_keys *k, size_t n, const char *own, const char *key)
{
	memset(k, 0, sizeof(*k));
	k->n = n;
	k->inputs = sy_xcalloc(n, sizeof(*k->inputs));
	k->keys = sy_xcalloc(n, sizeof(*k->keys));
	strcpy(k->global, "g");
	for (size_t i = 0; i < n; i++) {
		snprintf(k->inputs[i].digest, sizeof(k->inputs[i].digest), "o%zu%c", i, own[i]);
		snprintf(k->keys[i], sizeof(k->keys[i]), "k%zu%c", i, key[i]);
		strcpy(k->inputs[i].metadata, "m");
	}
}

static struct planner_index fake_index(struct planner_spec *specs, size_t n)
{
	struct planner_index idx;

	memset(&idx, 0, sizeof(idx));
	idx.specs = specs;
	idx.nspecs = n;
	return idx;
}

static int no_artifact_for_hello(void *arg, const char *key)
{
	(void)arg;
	return strcmp(key, "k3a") != 0;
}

static int never_built(void *arg, const struct planner_spec *spec)
{
	(void)arg;
	(void)spec;
	return 0;
}

static int loop_b_built(void *arg, const struct planner_spec *spec)
{
	(void)arg;
	return !strcmp(spec->name, "loop-b");
}

static void test_plan_key_change_rebuilds_dependents_with_reason_chains(void **state)
{
	struct fixture *f = *state;
	struct planner_graph g;
	struct planner_plan plan;
	struct planner_keys base_keys, head_keys;
	struct sy_error err = { { 0 } };

	assert_ok(planner_graph_build(f->specs, 4, &f->toolchain, 0, "x86_64", NULL, &g, &err), &err);
	struct planner_index base = fake_index(f->specs, 4), head = fake_index(f->specs, 4);
	/* zlib's own inputs changed; openssl and curl changed keys through it. */
	fake_keys(&base_keys, 4, "aaaa", "aaaa");
	fake_keys(&head_keys, 4, "baaa", "bbba");
	struct planner_plan_input in = { &base, &base_keys, &head, &g, &head_keys, NULL, never_built, NULL };
	assert_ok(planner_plan_compute(&in, &plan, &err), &err);
	assert_int_equal(plan.n, 3);
	assert_int_equal(plan.entries[0].spec, 0);
	assert_int_equal(plan.entries[0].why, PLANNER_PLAN_CHANGED);
	assert_string_equal(plan.entries[1].reason, "BuildRequires zlib-devel >= 1.3, from zlib: inputs changed");
	assert_int_equal(plan.entries[2].spec, 2);
	assert_string_equal(plan.entries[2].reason,
			    "BuildRequires openssl-devel, from openssl: BuildRequires zlib-devel >= 1.3, "
			    "from zlib: inputs changed");
	assert_int_equal(plan.nchanged, 1);
	assert_int_equal(plan.changed[0].spec, 0);
	planner_plan_release(&plan);

	/* --missing: hello (key k3a) has no artifact. */
	in.has_artifact = no_artifact_for_hello;
	assert_ok(planner_plan_compute(&in, &plan, &err), &err);
	assert_int_equal(plan.n, 4);
	for (size_t e = 0; e < plan.n; e++)
		if (plan.entries[e].spec == 3) {
			assert_int_equal(plan.entries[e].why, PLANNER_PLAN_MISSING);
			assert_string_equal(plan.entries[e].reason, "no artifact for its build key");
		}
	planner_plan_release(&plan);
	planner_keys_release(&base_keys);
	planner_keys_release(&head_keys);
	planner_graph_release(&g);
}

static void test_plan_reports_new_and_removed_specs(void **state)
{
	struct fixture *f = *state;
	struct planner_graph g;
	struct planner_plan plan;
	struct planner_keys base_keys, head_keys;
	struct sy_error err = { { 0 } };

	/* Base: zlib, openssl, curl, hello. Head: zlib, openssl, curl, old
	 * (hello removed, "old" new). Paths differ, so lookups by path see it. */
	struct planner_spec head_specs[4] = { f->specs[0], f->specs[1], f->specs[2], f->specs[4] };
	assert_ok(planner_graph_build(head_specs, 4, &f->toolchain, 0, "x86_64", NULL, &g, &err), &err);
	struct planner_index base = fake_index(f->specs, 4), head = fake_index(head_specs, 4);
	fake_keys(&base_keys, 4, "aaaa", "aaaa");
	fake_keys(&head_keys, 4, "aaaa", "aaaa");
	struct planner_plan_input in = { &base, &base_keys, &head, &g, &head_keys, NULL, never_built, NULL };
	assert_ok(planner_plan_compute(&in, &plan, &err), &err);
	int saw_hello = 0;
	for (size_t r = 0; r < plan.nremoved; r++)
		if (!strcmp(plan.removed[r].spec, "hello")) {
			saw_hello = 1;
			assert_int_equal(plan.removed[r].packages.n, 1);
			assert_string_equal(plan.removed[r].packages.items[0], "hello");
		}
	assert_true(saw_hello);
	int saw_old = 0;
	for (size_t e = 0; e < plan.n; e++)
		if (plan.entries[e].spec == 3) {
			saw_old = 1;
			assert_string_equal(plan.entries[e].reason, "new spec");
		}
	assert_true(saw_old);
	planner_plan_release(&plan);
	planner_keys_release(&base_keys);
	planner_keys_release(&head_keys);
	planner_graph_release(&g);
}

static void test_plan_orders_dependencies_first_and_breaks_cycles_with_built_packages(void **state)
{
	struct fixture *f = *state;
	struct planner_graph g;
	struct planner_plan plan;
	struct sy_error err = { { 0 } };

	assert_ok(planner_graph_build(f->specs, 7, &f->toolchain, 0, "x86_64", NULL, &g, &err), &err);
	struct planner_index head = fake_index(f->specs, 7);
	struct planner_keys keys;
	fake_keys(&keys, 7, "aaaaaaa", "aaaaaaa");
	/* No base: every spec is new, in dependency order. */
	struct planner_plan_input in = { NULL, NULL, &head, &g, &keys, NULL, never_built, NULL };
	assert_ok(planner_plan_compute(&in, &plan, &err), &err);
	assert_int_equal(plan.n, 7);
	size_t pos[7];
	for (size_t e = 0; e < plan.n; e++)
		pos[plan.entries[e].spec] = e;
	assert_true(pos[0] < pos[1]);
	assert_true(pos[1] < pos[2]);
	assert_int_equal(plan.ncycles, 1);
	assert_null(plan.cycles[0].broken_at);
	assert_true(plan.entries[pos[5]].in_cycle && plan.entries[pos[6]].in_cycle);
	assert_false(plan.entries[pos[0]].in_cycle);
	planner_plan_release(&plan);

	/* loop-b has built packages: the cycle is broken there, loop-a first. */
	in.has_built = loop_b_built;
	assert_ok(planner_plan_compute(&in, &plan, &err), &err);
	assert_int_equal(plan.ncycles, 1);
	assert_string_equal(plan.cycles[0].broken_at, "loop-b");
	for (size_t e = 0; e < plan.n; e++)
		pos[plan.entries[e].spec] = e;
	assert_false(plan.entries[pos[5]].in_cycle || plan.entries[pos[6]].in_cycle);
	assert_true(pos[5] < pos[6]);
	planner_plan_release(&plan);
	planner_keys_release(&keys);
	planner_graph_release(&g);
}

/* The fixture's first four specs (zlib, openssl, curl, hello) at a base
 * and a head commit: base keys "aaaa", head keys as fake_keys makes them,
 * and a plan input over them (no artifacts, nothing built). */
struct scene {
	struct planner_graph g;
	struct planner_index base, head;
	struct planner_keys base_keys, keys;
	struct planner_plan_input in;
	struct planner_plan plan;
	struct planner_cascade cascade;
	struct planner_target_set set;
};

static void scene_open(struct fixture *f, struct scene *s, const char *own, const char *key)
{
	struct sy_error err = { { 0 } };

	memset(s, 0, sizeof(*s));
	assert_ok(planner_graph_build(f->specs, 4, &f->toolchain, 0, "x86_64", NULL, &s->g, &err), &err);
	s->base = fake_index(f->specs, 4);
	s->head = fake_index(f->specs, 4);
	fake_keys(&s->base_keys, 4, "aaaa", "aaaa");
	fake_keys(&s->keys, 4, own, key);
	s->in = (struct planner_plan_input){ &s->base, &s->base_keys, &s->head, &s->g, &s->keys, NULL,
					     never_built, NULL };
}

/* Computes s->plan from s->in (released first when computed before). */
static void scene_plan(struct scene *s)
{
	struct sy_error err = { { 0 } };

	planner_plan_release(&s->plan);
	assert_ok(planner_plan_compute(&s->in, &s->plan, &err), &err);
}

/* Resolves t into s->set and makes it the plan's target. */
static void scene_target(struct scene *s, const struct planner_target *t)
{
	struct sy_error err = { { 0 } };

	planner_target_set_release(&s->set);
	assert_ok(planner_target_resolve(&s->head, t, &s->set, &err), &err);
	s->in.target = &s->set;
}

/* Judges s->plan against limit (the verdict released first). */
static void scene_guard(struct scene *s, size_t limit, planner_artifact_fn has_artifact)
{
	planner_cascade_release(&s->cascade);
	planner_cascade_check(&s->in, &s->plan, limit, has_artifact, NULL, &s->cascade);
}

static void scene_close(struct scene *s)
{
	planner_cascade_release(&s->cascade);
	planner_target_set_release(&s->set);
	planner_plan_release(&s->plan);
	planner_keys_release(&s->base_keys);
	planner_keys_release(&s->keys);
	planner_graph_release(&s->g);
}

static int artifact_of_curl(void *arg, const char *key)
{
	(void)arg;
	return !strcmp(key, "k2b");
}

/* zlib changed: it pulls itself, openssl and curl into the set. A limit
 * of 2 asks for approval naming zlib with 3; a limit of 3, or curl's
 * artifact already built, does not. */
static void test_cascade_guard_names_the_changed_spec_and_what_it_pulls_in(void **state)
{
	struct scene s;

	scene_open(*state, &s, "baaa", "bbba");
	strcpy(s.keys.inputs[0].metadata, "n");
	scene_plan(&s);
	assert_int_equal(s.plan.n, 3);
	scene_guard(&s, 2, NULL);
	assert_int_equal(s.cascade.to_build, 3);
	assert_true(s.cascade.needs_approval);
	assert_int_equal(s.cascade.ncauses, 1);
	assert_int_equal(s.cascade.causes[0].kind, PLANNER_CASCADE_SPEC);
	assert_int_equal(s.cascade.causes[0].spec, 0);
	assert_int_equal(s.cascade.causes[0].count, 3);
	scene_guard(&s, 3, NULL);
	assert_false(s.cascade.needs_approval);
	assert_int_equal(s.cascade.ncauses, 0);
	scene_guard(&s, 2, artifact_of_curl);
	assert_int_equal(s.cascade.to_build, 2);
	assert_false(s.cascade.needs_approval);
	scene_guard(&s, 0, NULL);
	assert_false(s.cascade.needs_approval);

	/* hello without an artifact: a cause of its own. */
	s.in.has_artifact = no_artifact_for_hello;
	scene_plan(&s);
	scene_guard(&s, 1, NULL);
	assert_int_equal(s.cascade.ncauses, 2);
	assert_int_equal(s.cascade.causes[0].kind, PLANNER_CASCADE_SPEC);
	assert_int_equal(s.cascade.causes[0].count, 3);
	assert_int_equal(s.cascade.causes[1].kind, PLANNER_CASCADE_MISSING);
	assert_int_equal(s.cascade.causes[1].count, 1);
	scene_close(&s);
}

/* The macro context changed: every spec's key, one cause for all of them;
 * openssl, whose parsed metadata changed too, is a cause of its own for
 * itself and curl. A spec changed by the macro context alone is none. */
static void test_cascade_guard_counts_a_global_change_once(void **state)
{
	struct scene s;

	scene_open(*state, &s, "bbbb", "bbbb");
	strcpy(s.keys.global, "h");
	strcpy(s.keys.inputs[1].metadata, "n");
	scene_plan(&s);
	assert_int_equal(s.plan.n, 4);
	scene_guard(&s, 3, NULL);
	assert_true(s.cascade.needs_approval);
	assert_int_equal(s.cascade.ncauses, 2);
	assert_int_equal(s.cascade.causes[0].kind, PLANNER_CASCADE_GLOBAL);
	assert_int_equal(s.cascade.causes[0].count, 4);
	assert_int_equal(s.cascade.causes[1].kind, PLANNER_CASCADE_SPEC);
	assert_int_equal(s.cascade.causes[1].spec, 1);
	assert_int_equal(s.cascade.causes[1].count, 2);
	scene_close(&s);
}

static int artifact_of_zlib(void *arg, const char *key)
{
	(void)arg;
	return !strcmp(key, "k0a");
}

static int openssl_built(void *arg, const struct planner_spec *spec)
{
	(void)arg;
	return !strcmp(spec->name, "openssl");
}

/* The entry of spec in plan, or NULL. */
static const struct planner_plan_entry *entry_of(const struct planner_plan *plan, size_t spec)
{
	for (size_t e = 0; e < plan->n; e++)
		if (plan->entries[e].spec == spec)
			return &plan->entries[e];
	return NULL;
}

/* --specs curl: curl, and openssl, which curl needs and which has no
 * artifact; zlib, needed too, has one and is not built again. */
static void test_target_plan_builds_the_goal_and_what_it_needs_without_an_artifact(void **state)
{
	static const char *const curl[] = { "curl", NULL }, *const devel[] = { "zlib-devel", NULL };
	struct scene s;

	scene_open(*state, &s, "aaaa", "aaaa");
	s.in.has_artifact = artifact_of_zlib;
	scene_target(&s, &(struct planner_target){ .specs = curl });
	assert_true(s.set.has_goal);
	scene_plan(&s);
	assert_int_equal(s.plan.n, 2);
	assert_int_equal(s.plan.entries[0].spec, 1);
	assert_int_equal(s.plan.entries[0].why, PLANNER_PLAN_MISSING);
	assert_string_equal(s.plan.entries[0].reason,
			    "no artifact for its build key, needed by curl (BuildRequires openssl-devel)");
	assert_int_equal(s.plan.entries[1].spec, 2);
	assert_int_equal(s.plan.entries[1].why, PLANNER_PLAN_REQUESTED);
	assert_string_equal(s.plan.entries[1].reason, "requested");
	assert_false(s.plan.entries[1].forced);
	assert_int_equal(s.plan.nchanged + s.plan.nignored, 0);

	/* --packages zlib-devel --force: zlib, built again though it has an
	 * artifact. */
	scene_target(&s, &(struct planner_target){ .packages = devel, .force = 1 });
	scene_plan(&s);
	assert_int_equal(s.plan.n, 1);
	assert_true(s.plan.entries[0].forced);
	assert_string_equal(s.plan.entries[0].reason, "requested, rebuilt even if built");
	scene_close(&s);
}

/* --specs curl --ignore openssl: openssl is not built, nor zlib, which
 * only openssl's build needs; curl needs openssl's packages and is blocked
 * while none exist, builds with the published ones once they do. Without a
 * goal, ignoring takes openssl out of the rebuild set the same way. */
static void test_target_ignored_spec_blocks_what_needs_it_until_it_was_built(void **state)
{
	static const char *const curl[] = { "curl", NULL }, *const openssl[] = { "openssl", NULL };
	struct scene s;

	scene_open(*state, &s, "baaa", "bbba");
	s.in.base = NULL;
	s.in.base_keys = NULL;
	s.in.has_artifact = artifact_of_zlib;
	scene_target(&s, &(struct planner_target){ .specs = curl, .ignore = openssl });
	scene_plan(&s);
	assert_int_equal(s.plan.n, 1);
	assert_true(s.plan.entries[0].blocked);
	assert_int_equal(s.plan.entries[0].blocker, 1);
	assert_false(s.plan.entries[0].stale_root);
	assert_int_equal(s.plan.nignored, 1);
	assert_int_equal(s.plan.ignored[0].spec, 1);
	assert_int_equal(s.plan.ignored[0].packages, PLANNER_PACKAGES_NONE);
	assert_int_equal(s.plan.ignored[0].dependents.n, 1);
	assert_string_equal(s.plan.ignored[0].dependents.items[0], "curl");

	/* Published: curl builds with them, apart from builds of its key. */
	s.in.has_built = openssl_built;
	scene_plan(&s);
	assert_false(s.plan.entries[0].blocked);
	assert_true(s.plan.entries[0].stale_root);
	assert_int_equal(s.plan.ignored[0].packages, PLANNER_PACKAGES_PUBLISHED);

	/* No goal: zlib changed; openssl is left out of the set, curl kept. */
	scene_target(&s, &(struct planner_target){ .ignore = openssl });
	assert_false(s.set.has_goal);
	s.in.base = &s.base;
	s.in.base_keys = &s.base_keys;
	s.in.has_artifact = NULL;
	s.in.has_built = never_built;
	scene_plan(&s);
	assert_int_equal(s.plan.n, 2);
	assert_non_null(entry_of(&s.plan, 0));
	assert_null(entry_of(&s.plan, 1));
	assert_true(entry_of(&s.plan, 2)->blocked);
	scene_close(&s);
}

/* Names in the build and rebuild lists must exist; the ignore list only
 * warns; a spec both to rebuild and to ignore is refused (the toolkit's
 * rules). A rebuild or ignore name is a spec id, else a package name. */
static void test_target_resolve_refuses_unknown_names_and_conflicts(void **state)
{
	struct fixture *f = *state;
	struct planner_index head = fake_index(f->specs, 4);
	struct planner_target_set set;
	struct sy_error err = { { 0 } };
	static const char *const specs[] = { "curl", "nope", "neither", NULL };
	static const char *const pkgs[] = { "zlib-devel", "ghost", NULL };
	static const char *const rebuild[] = { "openssl-devel", "phantom", NULL };
	static const char *const both[] = { "openssl-libs", NULL };
	static const char *const ignore[] = { "openssl", "nothing", NULL };
	static const char *const image[] = { "hello = 1.0-1", "external-pkg", NULL };

	struct planner_target t1 = { .specs = specs };
	assert_int_equal(planner_target_resolve(&head, &t1, &set, &err), -1);
	assert_string_equal(err.msg, "unknown specs: nope, neither");
	planner_target_set_release(&set);
	struct planner_target t2 = { .packages = pkgs };
	assert_int_equal(planner_target_resolve(&head, &t2, &set, &err), -1);
	assert_string_equal(err.msg, "unknown package: ghost");
	planner_target_set_release(&set);
	struct planner_target t3 = { .rebuild = rebuild };
	assert_int_equal(planner_target_resolve(&head, &t3, &set, &err), -1);
	assert_string_equal(err.msg, "unknown spec or package to rebuild: phantom");
	planner_target_set_release(&set);
	struct planner_target t4 = { .rebuild = both, .ignore = ignore };
	assert_int_equal(planner_target_resolve(&head, &t4, &set, &err), -1);
	assert_string_equal(err.msg, "openssl: both to rebuild and ignored");
	planner_target_set_release(&set);

	struct planner_target t5 = { .image_packages = image, .ignore = ignore };
	assert_ok(planner_target_resolve(&head, &t5, &set, &err), &err);
	assert_true(set.has_goal);
	assert_true(set.goal[3]);
	assert_int_equal(set.goal[0] + set.goal[1] + set.goal[2], 0);
	assert_true(set.ignored[1]);
	assert_int_equal(set.unknown_ignored.n, 1);
	assert_string_equal(set.unknown_ignored.items[0], "nothing");
	planner_target_set_release(&set);
}

/* graphanalytics: the fixture (old asks for zlib-devel < 1.0, loop-a and
 * loop-b need each other) and four more specs: broken does not parse,
 * needs-old BuildRequires old, lib-r's package Requires ghost-cap, which
 * nothing offers, and uses-lib-r BuildRequires lib-r. */
static void test_analyze_reports_capabilities_stuck_specs_blockers_and_cycles(void **state)
{
	struct fixture *f = *state;
	struct planner_spec specs[11];
	struct planner_graph g;
	struct planner_analysis a;
	struct sy_error err = { { 0 } };

	memcpy(specs, f->specs, 7 * sizeof(specs[0]));
	init_spec(&specs[7], "broken", "1");
	specs[7].error = sy_xstrdup("SPECS/broken/broken.spec: line 1: bad");
	init_spec(&specs[8], "needs-old", "1");
	add_package(&specs[8], "needs-old", "1-1", NULL);
	add_br(&specs[8], "old", 0, NULL);
	init_spec(&specs[9], "lib-r", "1");
	add_package(&specs[9], "lib-r", "1-1", "ghost-cap");
	init_spec(&specs[10], "uses-lib-r", "1");
	add_package(&specs[10], "uses-lib-r", "1-1", NULL);
	add_br(&specs[10], "lib-r", 0, NULL);
	assert_ok(planner_graph_build(specs, 11, &f->toolchain, 0, "x86_64", NULL, &g, &err), &err);
	struct planner_index index = fake_index(specs, 11);
	assert_ok(planner_analyze(&index, &g, &a, &err), &err);

	assert_int_equal(a.nspecs, 11);
	assert_int_equal(a.buildable, 7);
	assert_int_equal(a.nunresolved, 2);
	assert_string_equal(a.unresolved[0].capability, "zlib-devel < 1.0");
	assert_int_equal(a.unresolved[0].blocked, 2);
	assert_string_equal(a.unresolved[0].build_referrers.items[0], "old");
	assert_string_equal(a.unresolved[1].capability, "ghost-cap");
	assert_int_equal(a.unresolved[1].blocked, 1);
	assert_int_equal(a.unresolved[1].build_referrers.n, 0);
	assert_string_equal(a.unresolved[1].runtime_referrers.items[0], "lib-r");

	static const char *const stuck[] = { "broken", "needs-old", "old", "uses-lib-r" };
	static const char *const causes[] = { "broken (does not parse)", "zlib-devel < 1.0",
					      "zlib-devel < 1.0", "ghost-cap" };
	assert_int_equal(a.nstuck, 4);
	for (size_t k = 0; k < 4; k++) {
		assert_string_equal(specs[a.stuck[k].spec].name, stuck[k]);
		assert_int_equal(a.stuck[k].causes.n, 1);
		assert_string_equal(a.stuck[k].causes.items[0], causes[k]);
	}

	/* zlib is needed by openssl's build, and through it by curl's. */
	static const char *const blockers[] = { "zlib", "lib-r", "loop-a", "loop-b", "old", "openssl" };
	static const size_t blocks[] = { 2, 1, 1, 1, 1, 1 };
	assert_int_equal(a.nblockers, 6);
	for (size_t k = 0; k < 6; k++) {
		assert_string_equal(specs[a.blockers[k].spec].name, blockers[k]);
		assert_int_equal(a.blockers[k].blocks, blocks[k]);
	}
	assert_int_equal(a.cycles.n, 1);
	assert_non_null(strstr(a.cycles.items[0], "loop-a"));
	planner_analysis_release(&a);
	planner_graph_release(&g);
	for (size_t i = 7; i < 11; i++)
		planner_spec_release(&specs[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_graph_rpm_root_capabilities_win_over_specs, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_graph_resolves_versioned_buildrequires_and_install_closure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_graph_resolve_late_names_every_unresolvable_buildrequires, setup, teardown),
		cmocka_unit_test_setup_teardown(test_graph_finds_build_cycles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_graphcache_record_gives_back_the_built_graph, setup, teardown),
		cmocka_unit_test_setup_teardown(test_graph_derived_from_another_commit_is_the_built_graph, setup, teardown),
		cmocka_unit_test_setup_teardown(test_graph_not_derived_after_many_changes_or_with_learned_provides, setup, teardown),
		cmocka_unit_test_setup_teardown(test_graphcache_refuses_a_record_that_does_not_fit_the_specs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_graphcache_context_covers_every_input_of_the_graph, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_key_change_rebuilds_dependents_with_reason_chains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_reports_new_and_removed_specs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_orders_dependencies_first_and_breaks_cycles_with_built_packages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cascade_guard_names_the_changed_spec_and_what_it_pulls_in, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cascade_guard_counts_a_global_change_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_target_plan_builds_the_goal_and_what_it_needs_without_an_artifact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_target_ignored_spec_blocks_what_needs_it_until_it_was_built, setup, teardown),
		cmocka_unit_test_setup_teardown(test_target_resolve_refuses_unknown_names_and_conflicts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_analyze_reports_capabilities_stuck_specs_blockers_and_cycles, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
