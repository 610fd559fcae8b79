/* The spec index of one commit: every spec of the spec trees read from git
 * objects (no checkout) with the commit's own macro context. */
#ifndef BUILDER_INDEX_H
#define BUILDER_INDEX_H

#include <stddef.h>

#include "builder/macros.h"
#include "builder/spec.h"
#include "common/error.h"
#include "gitwatch/repo.h"

/* The specs of a commit. Release with builder_index_release. */
struct builder_index {
	char commit[GITWATCH_OID_HEX + 1]; /* the commit read */
	struct builder_spec *specs;        /* sorted by path */
	size_t nspecs;
	char **spec_blobs;                 /* blob id (hex) of each spec file */
	struct builder_macro_ctx macros;   /* the macro context they were read with */
};

/* Finds every "<tree>/<dir>/<name>.spec" (depth two, as the Azure Linux
 * toolkit's specreader globs) under the settings' spec trees at commit, builds
 * the macro context under workdir and reads all specs with at most jobs
 * parallel children (<= 0: one per core). Specs that do not parse are kept
 * with their error set. Returns 0, or -1 with err set when the commit or the
 * macro context cannot be read. */
int builder_index_load(struct gitwatch_repo *repo, const char *commit,
		       const struct builder_macro_settings *settings, const char *workdir, int jobs,
		       struct builder_index *index, struct sy_error *err);

/* Returns the index of the spec with %{name} name, or -1. */
long builder_index_find(const struct builder_index *index, const char *name);

/* Frees the index. */
void builder_index_release(struct builder_index *index);

#endif
