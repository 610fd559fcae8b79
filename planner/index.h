/* The spec index of one commit: every spec of the spec trees read from git
 * objects (no checkout) with the commit's own macro context, through the spec
 * cache (planner/speccache.h) when one is given.
 *
 * Reading takes two passes, as the Azure Linux toolkit's versionsprocessor
 * and specreader do: pass 1 reads every spec without version macros; from
 * its results the per-spec version macros are generated, one set per spec
 * file: "%<prefix>_<basename>_version <V>", "_release <R without the dist
 * tag>" and, when set, "_epoch <E>", basename being the file name without
 * ".spec" with '-' replaced by '_' (names that are not rpm macro names are
 * left out). Pass 2 reads again, with those macros, only the specs whose text
 * names one ("%<prefix>_..._version", "%{<prefix>_...}", "%{?<prefix>_...}",
 * ... ending in _version, _release or _epoch); their cache key covers the
 * values of exactly the macros they name, so a spec is read again when one of
 * those changes and no other spec is. */
#ifndef PLANNER_INDEX_H
#define PLANNER_INDEX_H

#include <stddef.h>

#include "planner/macros.h"
#include "planner/spec.h"
#include "common/error.h"
#include "gitwatch/repo.h"

struct state_kv_value;

/* The specs of a commit. Release with planner_index_release. */
struct planner_index {
	char commit[GITWATCH_OID_HEX + 1]; /* the commit read */
	struct planner_spec *specs;        /* sorted by path */
	size_t nspecs;
	char **spec_inputs;                /* per spec, the SHA-256 (hex) of what it
					    * is read from: path, mode and blob id
					    * of every file of its directory, its
					    * %_sourcedir */
	char **spec_contexts;              /* digest (hex) of the macro context each
					    * spec was read with: macros.digest, or for
					    * a spec read in pass 2 a digest over it and
					    * the version macros the spec names */
	struct planner_macro_ctx macros;   /* the macro context they were read with;
					    * its last macro file is the generated
					    * version macros (macros.versions), which
					    * macros.digest does not cover */
	size_t cache_hits;  /* spec reads (both passes) served by the cache */
	size_t parsed;      /* spec reads (both passes) done by librpm */
	size_t versioned;   /* specs read in pass 2, with version macros */
	size_t reused;      /* spec reads (both passes) taken from the index given
			     * to planner_index_load_reusing */
	unsigned char *borrowed; /* per spec: 1 when specs[i] (all but its excluded,
				  * which is its own) is memory of that other
				  * index, which planner_index_release leaves
				  * alone */
	struct state_kv_value *record; /* NULL, or the index record this index
				  * was decoded from (owned, mapped), which
				  * spec_bytes point into; kept when it was
				  * read sharing no other index's specs */
	const unsigned char **spec_bytes; /* NULL, or per spec NULL or its
				  * planner_speccache_encode form in a record:
				  * this index's, or for a spec borrowed that
				  * of the index it was borrowed from (which
				  * outlives this one), so that storing this
				  * index's record copies those bytes instead
				  * of encoding again */
	size_t *spec_nbytes;     /* bytes of spec_bytes[i] */
	struct gitwatch_entries files; /* every blob under the spec trees at commit,
					* sorted by path, each path once (what
					* gitwatch_list_files gives per tree):
					* the listing build keys use
					* (planner/buildkey.h), so that a commit's
					* trees are walked once */
};

/* Finds every "<tree>/<dir>/<name>.spec" (depth two, as the Azure Linux
 * toolkit's specreader globs) under the settings' spec trees at commit
 * (missing trees are empty), builds the macro context under workdir and reads
 * the specs with at most jobs parallel children (<= 0: one per core): all of
 * them when cache_path is NULL, else only those the SQLite spec cache at
 * cache_path (created when missing; normally "<state>/state.db") does not
 * hold; what was read is stored there, results of specs that do not parse
 * included. Specs that do not parse are kept with their error set. A spec
 * whose ExclusiveArch is not empty and lists neither the target arch nor
 * "noarch", or whose ExcludeArch lists the target arch, gets excluded set.
 * Returns 0, or -1 with err set when the commit, the macro context or the
 * cache cannot be read or written. */
int planner_index_load(struct gitwatch_repo *repo, const char *commit,
		       const struct planner_macro_settings *settings, const char *workdir,
		       const char *cache_path, int jobs, struct planner_index *index,
		       struct sy_error *err);

/* Same as planner_index_load, reusing the results of prev (an index loaded
 * before in this process, typically the other commit of a range; NULL: none):
 * a spec read whose inputs (spec_inputs), path, macro context digest and target arch equal
 * one of prev takes prev's result (counted in reused, not in cache_hits)
 * instead of a cache lookup or a librpm read. Ownership: such a spec shares
 * prev's memory (borrowed[i] is set; nothing is copied), so prev (and what it
 * borrowed in turn) must not be released while this index is still used; the
 * two may be released in either order, as releasing an index never reads or
 * frees what it borrowed. Results
 * prev holds with error_transient set are read again. */
int planner_index_load_reusing(struct gitwatch_repo *repo, const char *commit,
			       const struct planner_macro_settings *settings, const char *workdir,
			       const char *cache_path, int jobs, const struct planner_index *prev,
			       struct planner_index *index, struct sy_error *err);

/* planner_index_load_reusing, telling progress (may be NULL) how far the
 * librpm reads are (cache hits are not counted: they take no time). */
int planner_index_load_with(struct gitwatch_repo *repo, const char *commit,
			    const struct planner_macro_settings *settings, const char *workdir,
			    const char *cache_path, int jobs, const struct planner_index *prev,
			    const struct planner_read_progress *progress,
			    struct planner_index *index, struct sy_error *err);

/* Returns the index of the spec with %{name} name, or -1. */
long planner_index_find(const struct planner_index *index, const char *name);

/* Frees the index. */
void planner_index_release(struct planner_index *index);

#endif
