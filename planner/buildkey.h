/* Build keys: a digest of everything that determines a build's output. A
 * spec's own inputs are the blobs of its spec file, its signatures file, the
 * files it names as Source or Patch, and the files of its directory that no
 * spec names (those belong to every spec of the directory), plus the macro
 * context, the target arch, the worker root and the spec's parsed metadata
 * (which carries the effect of other specs' version macros). Its key adds the
 * keys of the specs whose packages go into its build root, as the rebuild
 * policy says: `transitive` (the whole install closure, Open Build Service's
 * default), `direct` (the specs of its BuildRequires only), `local` (own
 * inputs only) or `layers=N` (changes at most N levels down count, like the
 * Azure Linux toolkit's MAX_CASCADING_REBUILDS). Equal key, equal build. */
#ifndef PLANNER_BUILDKEY_H
#define PLANNER_BUILDKEY_H

#include <stddef.h>

#include "planner/graph.h"
#include "planner/index.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/strv.h"
#include "gitwatch/repo.h"

/* A rebuild policy. */
struct planner_policy {
	int layers; /* -1 transitive, -2 direct, 0 local, N > 0 layers=N */
};

/* Parses "transitive", "direct", "local" or "layers=N" (N >= 1). Returns 0,
 * or -1 with err naming the text. */
int planner_policy_parse(const char *text, struct planner_policy *policy, struct sy_error *err);

/* Formats a policy as the text planner_policy_parse reads (static buffer of
 * the caller, at least 32 bytes). */
void planner_policy_format(const struct planner_policy *policy, char *buf, size_t size);

/* The own inputs of one spec. */
struct planner_spec_inputs {
	char digest[SY_SHA256_HEX_LEN + 1]; /* over everything below and the
					     * global inputs */
	struct sy_strv files;  /* "<role> <path> <blob id>" sorted by path; role is
				* spec, signatures, source, patch or file */
	int borrowed;          /* 1: files is the base keys' (planner_key_settings),
				* not owned */
	char metadata[SY_SHA256_HEX_LEN + 1]; /* digest of the parsed metadata */
};

/* Keys of every spec of an index. Release with planner_keys_release. */
struct planner_keys {
	size_t n;                              /* number of specs */
	struct planner_spec_inputs *inputs;    /* own inputs per spec */
	char (*keys)[SY_SHA256_HEX_LEN + 1];   /* build key per spec */
	char global[SY_SHA256_HEX_LEN + 1];    /* macro context, arch, worker root */
};

/* Settings of a key computation. */
struct planner_key_settings {
	const char *worker_digest;  /* digest of the worker root manifest ("" if none) */
	struct planner_policy policy; /* default policy */
	/* Returns the policy of one spec (by spec file basename without .spec);
	 * NULL: the default for all. Returns 1 when it set *policy. */
	int (*spec_policy)(void *arg, const char *spec, struct planner_policy *policy);
	void *arg;
	/* Keys computed before for another commit (the base of a plan) with the
	 * same settings, and its index; both NULL: none. A spec whose own inputs
	 * cannot differ there (the same global inputs, and every spec of its
	 * directory at the same path read from the same files in the same macro
	 * context) takes them from there instead of hashing its files again:
	 * the same result, for a new commit that changed a few specs. Their
	 * file lists are borrowed, not copied: base_keys must outlive the keys
	 * computed. */
	const struct planner_index *base_index;
	const struct planner_keys *base_keys;
};

/* Computes own inputs and keys of every spec of index (files listed once per
 * spec tree at the index's commit). Dependencies inside a build cycle
 * contribute their own inputs instead of their keys. Returns 0 or -1 (git
 * lookups failed). */
int planner_keys_compute(struct gitwatch_repo *repo, const struct planner_index *index,
			 const struct planner_graph *graph,
			 const struct planner_key_settings *settings, struct planner_keys *keys,
			 struct sy_error *err);

/* The two halves of planner_keys_compute, for computing the own inputs
 * (which need no graph) while another thread makes the graph:
 * planner_keys_inputs fills keys' own inputs and global digest (0, or -1
 * with err when git lookups failed; keys is then to be released all the
 * same), planner_keys_finish then its keys from graph. Together the same
 * keys as planner_keys_compute. */
int planner_keys_inputs(struct gitwatch_repo *repo, const struct planner_index *index,
			const struct planner_key_settings *settings, struct planner_keys *keys,
			struct sy_error *err);
void planner_keys_finish(const struct planner_index *index, const struct planner_graph *graph,
			 const struct planner_key_settings *settings, struct planner_keys *keys);

/* Describes how the own inputs of the same spec differ between two
 * computations (a: before, b: after) as short reasons appended to reasons:
 * "spec changed", "Source0 zlib-1.3.tar.xz changed", "patch fix.patch added",
 * "signatures changed", "file README removed", "macro context changed" (the
 * global inputs: macro context, arch, worker root), "parsed metadata changed (macros it uses)". */
void planner_inputs_diff(const struct planner_spec_inputs *a, const char *global_a,
			 const struct planner_spec_inputs *b, const char *global_b,
			 struct sy_strv *reasons);

/* Frees the keys. */
void planner_keys_release(struct planner_keys *keys);

/* Returns the spec file basename without ".spec" ("golang-1.25"), newly
 * allocated: the identity of a spec in lists, as in the Azure Linux toolkit. */
char *planner_spec_id(const struct planner_spec *spec);

#endif
