/* The per-spec version macros, as the Azure Linux toolkit's
 * versionsprocessor generates them: for every spec file that parsed,
 * "%<prefix>_<base>_version <V>", "_release <R without the dist tag>" and,
 * when set, "_epoch <E>", base being the file name without ".spec" with '-'
 * made '_' (names that are not macro names are left out; of two spec files
 * with one base name, the later path wins). The index (planner/index.h)
 * reads again, with them, the specs whose text names one. */
#ifndef PLANNER_VERSIONS_H
#define PLANNER_VERSIONS_H

#include <stddef.h>

#include "common/error.h"
#include "common/hash.h"
#include "common/strv.h"
#include "planner/index.h"
#include "planner/macros.h"

/* One generated version macro. */
struct planner_version {
	char *name;  /* "azl_zlib_version" */
	char *value; /* "1.3.1" */
	size_t seq;  /* order of generation: of equal names the last one wins */
};

/* The version macros of one index. Release with planner_versions_release. */
struct planner_versions {
	struct planner_version *items; /* sorted by name, names unique */
	size_t n;
	char *text;                    /* the macro file: "%<name> <value>" lines */
	char digest[SY_SHA256_HEX_LEN + 1]; /* of text */
};

/* Appends to refs the version macros spec text (len bytes) names:
 * "<prefix>_<ident>" right after "%", "%{", "%{?", "%{!?" and the like,
 * ident ending in _version, _release or _epoch; "*" when such a name is
 * built from other macros ("%{azl_%{name}_version}"). Sorted, unique. */
void planner_versions_find_refs(const char *text, size_t len, const char *prefix,
				struct sy_strv *refs);

/* Generates the version macros of every spec of index that parsed, with the
 * prefix and dist tag of its macro context. */
void planner_versions_build(struct planner_versions *v, const struct planner_index *index);

/* Returns the macro context digest of a spec read with the version macros
 * (newly allocated hex): over ctx's digest and the values of exactly the
 * macros refs names, so that a spec is read again only when one of those
 * changes. */
char *planner_versions_context(const struct planner_macro_ctx *ctx,
			       const struct planner_versions *v, const struct sy_strv *refs);

/* Writes the macros as <ctx->dir>/versions-<digest>/macros.versions (kept
 * when present) and appends that file to ctx's macro files. Returns 0 or -1
 * with err. */
int planner_versions_install(struct planner_macro_ctx *ctx, const struct planner_versions *v,
			     struct sy_error *err);

/* Frees the macros. */
void planner_versions_release(struct planner_versions *v);

#endif
