/* One commit of a distribution, read: its settings (shipyard.conf), its spec
 * index, its dependency graph and its build keys. The central object of
 * planning, passed first like libsolv's Pool: the plan, depsearch, the
 * scheduler and the publish and image stages take it instead of each reading
 * the commit again. */
#ifndef PLANNER_COMMIT_H
#define PLANNER_COMMIT_H

#include "common/error.h"
#include "common/hash.h"
#include "common/strv.h"
#include "gitwatch/repo.h"
#include "planner/buildkey.h"
#include "planner/distro.h"
#include "planner/graph.h"
#include "planner/index.h"

/* How the commits of one plan are read; the same for every commit of it.
 * Nothing is owned: the caller keeps every member alive while commits are
 * read. Zero-initialise, then set. */
struct planner_commit_settings {
	struct gitwatch_repo *repo;
	const char *state;          /* state directory: tmp/ and state.db (spec
				     * cache, build key cache) */
	const char *arch;           /* target arch; NULL: x86_64 */
	int jobs;                   /* parallel spec readers; <= 0: cores */
	const char *config_from;    /* commit (hex) whose shipyard.conf applies to
				     * every commit read (a pull request: its base
				     * branch's); NULL: each commit's own */
	const char *const *spec_trees; /* spec trees replacing shipyard.conf's
				     * (NULL-terminated), or NULL */
	const char *imageconfigs;   /* image config directory replacing
				     * shipyard.conf's, or NULL */
	const char *rebuild_policy; /* default rebuild policy replacing
				     * shipyard.conf's, or NULL */
	const char *const *source_urls; /* source URLs or templates asked
				     * before shipyard.conf's sources.url (an
				     * operator's mirror; NULL-terminated), or
				     * NULL */
	const struct sy_strv *toolchain; /* capabilities the worker root offers,
				     * or NULL: none */
	int toolchain_first;        /* 1: the worker root's capabilities win over
				     * specs' (a root of the distribution's own
				     * packages; planner_graph_build) */
	const char *worker_digest;  /* digest of the worker manifest, or NULL */
	const char *const *worker_rpms; /* RPM files of a worker root made of the
				     * distribution's packages (NULL-terminated),
				     * answering parse-time rpm queries
				     * (planner_macro_settings), or NULL */
	const char *learn_repo;     /* published snapshot whose packages'
				     * generated Provides the graph learns
				     * (planner_graph_build), or NULL */
	struct planner_read_progress progress; /* how far spec reads are, or
				     * zero: not told */
};

/* One commit, read. Zero-initialise; release with planner_commit_release. */
struct planner_commit {
	char oid[GITWATCH_OID_HEX + 1]; /* the commit */
	struct planner_distro distro;   /* its settings, overrides applied */
	struct planner_index index;     /* its specs */
	struct planner_graph graph;     /* valid when has_graph */
	int has_graph;
	struct planner_keys keys;       /* valid when has_keys; own inputs only
					 * when keys_begun */
	int has_keys;
	int keys_begun;                 /* planner_commit_keys_begin computed the
					 * own inputs, the keys are to finish */
	char keys_context[SY_SHA256_HEX_LEN + 1]; /* their cache context, once
					 * begun */
	int keys_unstored;              /* computed, not in the key cache yet
					 * (planner_commit_keys_unstored) */
	char graph_context[SY_SHA256_HEX_LEN + 1]; /* its graph's cache context
					 * once planner_commit_graph_cached ran,
					 * else "" */
};

/* oid may be c->oid itself (a caller that resolved the revision into c).
 *
 * Reads commit oid's settings alone (shipyard.conf of s->config_from or of
 * oid, with the settings' overrides) into c->distro. Returns 0 or -1 with
 * err. */
int planner_commit_read_distro(const struct planner_commit_settings *s, const char *oid,
			       struct planner_commit *c, struct sy_error *err);

/* Reads commit oid's settings and spec index (specs through the spec cache
 * of state.db). Specs whose blob, path and macro context equal one of reuse
 * (a commit read before, typically the other end of a plan; NULL: none) are
 * shared with it, not read again (planner_index_load_reusing): reuse must
 * then outlive c. A commit read with no reuse is one to plan or build: when
 * none of its spec trees holds a file it is refused ("commit abc: no spec
 * tree: none of SPECS holds a file ..."); a base (reuse set) may predate
 * its spec trees. Returns 0, or -1 with err ("shipyard.conf: ...", a spec
 * tree that cannot be listed, the cache). */
int planner_commit_read(const struct planner_commit_settings *s, const char *oid,
			const struct planner_commit *reuse, struct planner_commit *c,
			struct sy_error *err);

/* Gives a commit that was read its dependency graph: from the graph cache
 * of the state database (planner/graphcache.h) when a graph over the same
 * specs with the same toolchain, arch and learned repository was built
 * before, else built (planner_graph_build) and stored. Not for use while
 * another thread uses the state database. Returns 0 or -1 with err. */
int planner_commit_graph(const struct planner_commit_settings *s, struct planner_commit *c,
			 struct sy_error *err);

/* The two halves of planner_commit_graph, for building on another thread
 * while others read commits: planner_commit_graph_cached loads the cached
 * graph (returns 1, or 0 on a miss, -1 with err when the database cannot be
 * read); planner_commit_graph_build builds it, touching no git object and no
 * database (0 or -1 with err), and planner_commit_graph_store then stores it
 * (0 or -1 with err), before anything edits its nodes. With from (NULL:
 * none), a commit read with the same settings whose graph is there
 * (has_graph, its nodes unedited) and whose macro context and arch are c's,
 * c's graph is derived from from's (planner_graph_derive: the same graph,
 * made by resolving only what the specs changed between them can touch);
 * from is only read, and may be read by another thread meanwhile. */
int planner_commit_graph_cached(const struct planner_commit_settings *s, struct planner_commit *c,
				struct sy_error *err);
int planner_commit_graph_build(const struct planner_commit_settings *s, struct planner_commit *c,
			       const struct planner_commit *from, struct sy_error *err);
int planner_commit_graph_store(const struct planner_commit_settings *s,
			       const struct planner_commit *c, struct sy_error *err);

/* Computes the build keys of a commit that was read, with the rebuild
 * policies of policies (the head's distro: a plan judges both of its commits
 * by the head's rules). The keys of a whole commit are cached in state.db by
 * everything they depend on (planner/keycache.h); on a hit with need_graph 0
 * the graph is not built at all (the base of a plan needs only its keys).
 * Returns 0 or -1 with err. */
int planner_commit_keys(const struct planner_commit_settings *s, struct planner_commit *c,
			const struct planner_distro *policies, int need_graph,
			struct sy_error *err);

/* planner_commit_keys with need_graph set, for a commit read after from
 * (the base of a plan, its keys there: has_keys, computed with the same
 * settings and policies; NULL: none): the own inputs of the specs read
 * alike in both are taken from from's keys (planner_key_settings), which
 * must then outlive c's (they borrow its file lists). The same keys as
 * planner_commit_keys. Returns 0 or -1 with err. */
int planner_commit_keys_from(const struct planner_commit_settings *s, struct planner_commit *c,
			     const struct planner_distro *policies, const struct planner_commit *from,
			     struct sy_error *err);

/* The first half of planner_commit_keys_from, which needs no graph: looks
 * c's keys up in the key cache (policies and from as there) and, on a
 * miss, computes the own inputs of its specs (planner_keys_inputs), for a
 * caller that makes c's graph on another thread meanwhile; a later
 * planner_commit_keys or planner_commit_keys_from with the same policies
 * and from finishes them (their from and policies are then those of this
 * call). Touches the state database and git objects, not c's graph.
 * Returns 0 or -1 with err. */
int planner_commit_keys_begin(const struct planner_commit_settings *s, struct planner_commit *c,
			      const struct planner_distro *policies,
			      const struct planner_commit *from, struct sy_error *err);

/* planner_commit_keys_from without storing the keys computed: the caller
 * stores them with planner_commit_keys_store, on a thread of its choice
 * (the state database serialises nothing: no other thread may use it
 * meanwhile), before anything edits them. planner_commit_keys_store
 * returns 0 when there is nothing to store or it was stored, -1 with err. */
int planner_commit_keys_unstored(const struct planner_commit_settings *s, struct planner_commit *c,
				 const struct planner_distro *policies,
				 const struct planner_commit *from, struct sy_error *err);
int planner_commit_keys_store(const struct planner_commit_settings *s, struct planner_commit *c,
			      struct sy_error *err);

/* planner_commit_read, planner_commit_graph and planner_commit_keys (with
 * c's own policies) in one call: a commit ready for every stage. */
int planner_commit_load(const struct planner_commit_settings *s, const char *oid,
			struct planner_commit *c, struct sy_error *err);

/* Frees what c holds (not the commits it shares specs with) and zeroes it. */
void planner_commit_release(struct planner_commit *c);

/* Returns the index of the spec whose spec id (file name without .spec,
 * planner_spec_id) is name, or -1. */
long planner_commit_find_spec(const struct planner_commit *c, const char *name);

#endif
