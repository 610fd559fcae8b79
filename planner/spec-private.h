/* Shared between the files of spec reading (planner/spec.h) only: the
 * parse itself, run in a reader child (specparse.c), and the JSON form every
 * file of it writes (spec.c); specread.c runs the children. */
#ifndef PLANNER_SPEC_PRIVATE_H
#define PLANNER_SPEC_PRIVATE_H

#include <jansson.h>

#include "planner/spec.h"

/* The comparison bits of a dependency. */
#define DEP_CMP_BITS (PLANNER_DEP_LESS | PLANNER_DEP_GREATER | PLANNER_DEP_EQUAL)

/* A JSON string for s (new reference; null for NULL); bytes jansson refuses
 * (invalid UTF-8) become '?'. */
json_t *planner_spec_json_str(const char *s);

/* The other files of a spec's directory, read by the parent for its reader. */
struct planner_spec_dirfile {
	char *name;  /* path relative to the spec's directory, "gendep.macros" */
	char *data;  /* content */
	size_t len;  /* bytes of data */
};

struct planner_spec_dirfiles {
	struct planner_spec_dirfile *items;
	size_t n;
};

/* In a reader child: applies the macro context ctx (process-global librpm
 * state), writes the spec and the files of dir into scratch (a private
 * directory, %_sourcedir and %_specdir), parses it with
 * rpmSpecParse as rpmspec -q does (RPMSPEC_ANYARCH | RPMSPEC_FORCE) and
 * writes what shipyard needs of it, or the one-line error, as one JSON
 * document (planner_spec_to_json's form) to out_fd; never returns. */
void planner_spec_parse_and_exit(const struct planner_spec_input *in,
				 const struct planner_spec_dirfiles *dir,
				 const struct planner_macro_ctx *ctx, const char *scratch,
				 int out_fd) __attribute__((noreturn));

#endif
