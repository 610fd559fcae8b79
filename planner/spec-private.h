/* Shared between the files of spec reading (planner/spec.h) only: the
 * parse itself, run in a reader child (specparse.c), and the JSON form every
 * file of it writes (spec.c); specread.c runs the children. */
#ifndef PLANNER_SPEC_PRIVATE_H
#define PLANNER_SPEC_PRIVATE_H

#include <jansson.h>

#include "planner/spec.h"
#include "sandbox/sandbox.h"

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

/* Applies ctx to this process's librpm (planner_macro_ctx_apply) with
 * librpm's log kept from stderr. Returns 0 or -1 with err. */
int planner_spec_ctx_apply(const struct planner_macro_ctx *ctx, struct sy_error *err);

/* In a reader child of a process where ctx was applied (planner_spec_ctx_apply;
 * ctx_error: its error, or NULL): writes the spec and the files of dir into
 * scratch (a private directory, %_sourcedir and %_specdir), parses it with
 * rpmSpecParse as rpmspec -q does (RPMSPEC_ANYARCH | RPMSPEC_FORCE) and
 * writes what shipyard needs of it, or the one-line error, as one JSON
 * document (planner_spec_to_json's form) to out_fd; never returns. */
void planner_spec_parse_and_exit(const struct planner_spec_input *in,
				 const struct planner_spec_dirfiles *dir,
				 const struct planner_macro_ctx *ctx, const char *ctx_error,
				 const char *scratch, int out_fd) __attribute__((noreturn));

/* The spec server (specserve.c): pid 1 of a reader's sandbox, or the reader
 * itself in an unprivileged run. It applies the macro context once, then
 * reads specs one at a time from in_fd, each in a child of its own forked
 * from it (a fresh copy of the context): as root, on a fresh tmpfs at
 * scratch with /tmp emptied after each, as user, everything that user still runs killed
 * once it ends; and writes one result frame per spec to out_fd. */
struct planner_specserve {
	const struct planner_macro_ctx *ctx;
	const struct sandbox_user *user; /* who each spec runs as; NULL: as is
					  * (unprivileged: no mounts either) */
	const char *const *env;  /* each spec's environment */
	const char *scratch;     /* the spec's directory, written per spec */
	int in_fd;               /* specs: planner_specserve_send's frames */
	int out_fd;              /* results: "R <status> <signal> <len>\n" and
				  * len bytes of the child's JSON */
};

/* Runs the server until in_fd's end of file; returns the exit status. */
int planner_specserve_main(const struct planner_specserve *s);

/* Sends one spec to a server on fd (a stream socket, MSG_NOSIGNAL): "S
 * <path len> <content len> <files>\n", path, content, then per file "F
 * <name len> <data len>\n", name, data. Returns 0, or -1 with err set when
 * the server is gone. */
int planner_specserve_send(int fd, const struct planner_spec_input *in,
			   const struct planner_spec_dirfiles *files, struct sy_error *err);

#endif
