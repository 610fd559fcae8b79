/* The dependency graph of a distribution: every binary package the specs
 * produce, with its Provides and Requires, loaded into a libsolv pool
 * (DISTTYPE_RPM); each spec's BuildRequires resolved to the best provider
 * (this distribution first, highest EVR; then the worker root's toolchain),
 * versioned and rich dependencies honoured. Edges run from a spec to the specs
 * whose packages it BuildRequires, as the Azure Linux toolkit's grapher draws
 * BUILD(spec) -> RUN(dep). */
#ifndef PLANNER_GRAPH_H
#define PLANNER_GRAPH_H

#include <stddef.h>

#include "planner/spec.h"
#include "common/error.h"
#include "common/strv.h"

/* A binary package of the distribution: specs[spec].packages[package]. */
struct planner_pkgref {
	size_t spec;    /* index of the spec */
	size_t package; /* index of the package within the spec */
};

/* One Requires of a spec's package: specs[.].packages[package].requires
 * .items[require]. */
struct planner_reqref {
	size_t package;
	size_t require;
};

/* What the graph knows about one spec. */
struct planner_graph_node {
	size_t *build_deps;       /* indices of the specs whose packages this spec
				   * BuildRequires, sorted, unique, self excluded */
	size_t *build_dep_brs;    /* parallel to build_deps: the first BuildRequires
				   * that made the edge, as an index into the spec's
				   * buildrequires (planner_graph_build_reason) */
	size_t nbuild_deps;
	size_t *run_deps;         /* indices of the specs whose packages this spec's
				   * packages Require, sorted, unique, self excluded */
	struct planner_reqref *run_dep_reqs; /* parallel to run_deps: the Requires
				   * that made the edge (planner_graph_run_reason) */
	size_t nrun_deps;
	struct planner_pkgref *install; /* packages to install into its build root:
				   * BuildRequires providers of this distribution
				   * plus their Requires closure within it */
	size_t ninstall;
	size_t *root_specs;       /* the distinct specs of install, self excluded:
				   * whose packages its build root holds */
	size_t nroot_specs;
	struct sy_strv unresolved; /* BuildRequires nothing provides, formatted; the
				    * caller may append a note after " (" */
	struct sy_strv toolchain;  /* BuildRequires the worker root's toolchain offers */
};

/* The graph; create with planner_graph_build, free with planner_graph_release. */
struct planner_graph {
	const struct planner_spec *specs; /* borrowed; must outlive the graph */
	size_t nspecs;
	struct planner_graph_node *nodes; /* nspecs entries; specs with an error
					   * have empty nodes */
	struct planner_graph_pool *pool;  /* libsolv state, private; made on
					   * demand for a graph from nodes */
};

/* Loads the packages of specs (those without error and not excluded) for
 * target arch, and the toolchain capabilities (unversioned, satisfy any
 * version), then resolves every BuildRequires. A capability both a spec and
 * the toolchain offer goes to the spec, unless toolchain_first: a worker
 * root made of the distribution's own packages (builder/rpmroot.h) holds
 * them already, as the toolkit's worker chroot does, and its digest (in
 * every key) stands for them. When learn_repo_dir names a
 * published repository (a directory with repodata/), the Provides its
 * packages carry (sonames, pkgconfig(...), files: generated when they were
 * built) are added to the spec packages of the same name and arch, so that
 * BuildRequires on them resolve as the Azure Linux toolkit's implicit provides
 * do. Never fails on unresolved dependencies: they are listed in the nodes.
 * Returns 0, or -1 with err set when learn_repo_dir cannot be read. Release
 * with planner_graph_release. */
int planner_graph_build(const struct planner_spec *specs, size_t nspecs,
			const struct sy_strv *toolchain, int toolchain_first, const char *arch,
			const char *learn_repo_dir, struct planner_graph *graph,
			struct sy_error *err);

/* Builds graph over specs as planner_graph_build does with the same
 * arguments (the same nodes, to the byte), deriving it from base: a graph
 * over another commit's specs (the base of a plan) made with the same
 * toolchain, toolchain_first and arch, base's specs still alive. Specs are
 * paired by path; the node of a spec that parsed alike in both is copied
 * from base (spec indices renumbered) when every dependency on its way (its
 * BuildRequires, its packages' Requires, the Requires of each package of
 * its build root) picks the same package in both; only a dependency that a
 * package of a changed, added or removed spec offers is looked at again.
 * The other nodes are resolved. Returns 1 when graph was made (release with
 * planner_graph_release); 0 when base does not fit and graph is untouched
 * (a learned repository, which base's nodes cannot be checked against;
 * more than an eighth of the specs changed, as after a macro change; specs
 * not sorted by path): build it with planner_graph_build; -1 with err as
 * planner_graph_build. */
int planner_graph_derive(const struct planner_graph *base, const struct planner_spec *specs,
			 size_t nspecs, const struct sy_strv *toolchain, int toolchain_first,
			 const char *arch, const char *learn_repo_dir, struct planner_graph *graph,
			 struct sy_error *err);

/* Starts graph over specs for nodes resolved earlier from the same specs and
 * arguments (planner/graphcache.h keeps them): returns graph->nodes, nspecs
 * empty entries (heap arrays and strvs, owned by the graph) for the caller to
 * fill. The libsolv pool is made, from the same arguments, only when a call
 * needs it (planner_graph_resolve_late, planner_graph_unresolved_requires),
 * which a plan never does. Release with planner_graph_release. */
struct planner_graph_node *planner_graph_from_nodes(const struct planner_spec *specs, size_t nspecs,
						    const struct sy_strv *toolchain,
						    int toolchain_first, const char *arch,
						    const char *learn_repo_dir,
						    struct planner_graph *graph);

/* planner_graph_from_nodes for a caller that fills the nodes' arrays with
 * planner_graph_node_array: bytes is how much they take at most (beyond
 * it, they are allocated one by one). The arrays are then one allocation,
 * which a graph derived from this one (planner_graph_derive) shares
 * instead of copying them. The caller must not free or grow them; release
 * the graph with planner_graph_release. */
struct planner_graph_node *planner_graph_from_nodes_sized(const struct planner_spec *specs,
							  size_t nspecs,
							  const struct sy_strv *toolchain,
							  int toolchain_first, const char *arch,
							  const char *learn_repo_dir, size_t bytes,
							  struct planner_graph *graph);

/* An array of n + 1 zeroed entries of size bytes (size a multiple of 8 or
 * a divisor of it), for a node of graph, owned by graph: from the
 * allocation of planner_graph_from_nodes_sized when it has room, else
 * calloc'ed. Never fails. */
void *planner_graph_node_array(struct planner_graph *graph, size_t n, size_t size);

/* Why spec's k-th build edge (nodes[spec].build_deps[k]) exists: the
 * BuildRequires that made it, formatted ("zlib-devel >= 1.2"). Formatted on
 * demand because a distribution has tens of thousands of edges and a plan
 * names a few. Returns a malloc'ed string; the caller frees it. */
char *planner_graph_build_reason(const struct planner_graph *graph, size_t spec, size_t k);

/* Why spec's k-th runtime edge (nodes[spec].run_deps[k]) exists: "curl
 * requires libssh2". Returns a malloc'ed string; the caller frees it. */
char *planner_graph_run_reason(const struct planner_graph *graph, size_t spec, size_t k);

/* Appends to out the Requires of spec's packages that nothing offers: no
 * package of this distribution (learned Provides included) and not the
 * worker root's toolchain, each once, formatted as planner_dep_format does
 * ("libfoo.so.1()(64bit)", "bar >= 2"). Such a package cannot be installed
 * into a build root or an image, as the Azure Linux toolkit's unresolved
 * RUN nodes block what needs them. Resolved on demand: only analyses ask.
 * Not thread-safe with other calls on the same graph. */
void planner_graph_unresolved_requires(const struct planner_graph *graph, size_t spec,
				       struct sy_strv *out);

/* Resolves the BuildRequires of spec that the graph left unresolved against
 * the headers of built RPM files (rpm_files, NULL-terminated host paths), as
 * the Azure Linux toolkit injects implicit provides mid-build: a provide that
 * only exists once its package is built (a soname, pkgconfig(...), a file).
 * For each such dependency the best provider and its Requires closure among
 * rpm_files (libsolv solver) are appended to install_paths. Returns 0 when
 * every one resolved, or -1 with err listing what is still unresolved. */
int planner_graph_resolve_late(const struct planner_graph *graph, size_t spec,
			       const char *const *rpm_files, struct sy_strv *install_paths,
			       struct sy_error *err);

/* Frees the graph (not the specs). */
void planner_graph_release(struct planner_graph *graph);

/* Finds the strongly connected components with more than one member (or a
 * self edge) among the build edges restricted to the specs with in_set[i] != 0
 * (in_set NULL: all specs), Tarjan's algorithm. Each cycle is appended to
 * cycles as a string "a -> b -> a" of spec names, and cycle_member[i] is set
 * to the 1-based number of its cycle for its members (cycle_member has nspecs
 * entries, zeroed by the caller). Returns the number of cycles found. */
size_t planner_graph_cycles(const struct planner_graph *graph, const unsigned char *in_set,
			    size_t *cycle_member, struct sy_strv *cycles);

#endif
