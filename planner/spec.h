/* Reading spec files with librpm (rpmSpecParse), each in a forked child with a
 * fresh macro context, so that a spec's %() and Lua code can neither change
 * the next spec's macros nor crash shipyard. Rules follow the Azure Linux
 * toolkit specreader: one record per binary package that produces an RPM,
 * rpmlib() requirements dropped, BuildRequires from the source header. */
#ifndef PLANNER_SPEC_H
#define PLANNER_SPEC_H

#include <stddef.h>

#include "planner/macros.h"
#include "common/error.h"
#include "common/strv.h"
#include "gitwatch/repo.h"

/* Comparison bits of a versioned dependency; same values as librpm's
 * RPMSENSE_LESS, RPMSENSE_GREATER and RPMSENSE_EQUAL. */
#define PLANNER_DEP_LESS    (1 << 1)
#define PLANNER_DEP_GREATER (1 << 2)
#define PLANNER_DEP_EQUAL   (1 << 3)

/* A dependency or provide as the spec states it after macro expansion. */
struct planner_dep {
	char *name; /* capability: "zlib-devel", "pkgconfig(zlib)", "/bin/sh", or a
		     * whole rich dependency "(a or b)" */
	int flags;  /* PLANNER_DEP_* bits; 0 = any version */
	char *evr;  /* "[epoch:]version[-release]" when flags != 0, else NULL */
};

/* A list of dependencies. */
struct planner_deps {
	struct planner_dep *items;
	size_t n;
};

/* One binary package (the main package or a subpackage) that produces an RPM. */
struct planner_package {
	char *name;                 /* "zlib-devel" */
	char *evr;                  /* "[epoch:]version-release", "1.3.2-1.azl3" */
	char *arch;                 /* target arch ("x86_64") or "noarch" */
	struct planner_deps provides; /* includes the implicit "name = evr" */
	struct planner_deps requires; /* all Requires kinds, rpmlib() dropped */
};

/* A parsed spec. */
struct planner_spec {
	char *path;       /* repository path of the .spec file, "SPECS/zlib/zlib.spec" */
	char *name;       /* %{name} of the source package */
	char *epoch;      /* %{epoch} or NULL */
	char *version;    /* %{version} */
	char *release;    /* %{release}, dist tag included */
	struct planner_package *packages; /* binary packages that produce an RPM */
	size_t npackages;
	struct planner_deps buildrequires; /* BuildRequires, expanded */
	struct sy_strv sources;  /* basenames of the Source files, in spec order */
	struct sy_strv patches;  /* basenames of the Patch files, in spec order */
	struct sy_strv exclusive_arch; /* ExclusiveArch values, empty = any */
	struct sy_strv exclude_arch;   /* ExcludeArch values */
	char *error;      /* NULL when the spec parsed; else the one-line reason
			   * ("SPECS/x/x.spec: line 12: Unknown tag: Nme: x") */
	int error_transient; /* 1 when error says nothing about the spec's text (its
			      * reader could not be started, was killed from outside
			      * or wrote no result); such results are never cached */
	struct sy_strv version_refs; /* generated version macros the spec text names
				      * ("azl_kernel_version"), sorted; "*" when it
				      * builds such a name from other macros. Set by
				      * the index (planner/index.h), not by the reader */
	char *excluded;   /* NULL, or why the spec is not built for the target arch
			   * ("ExclusiveArch: aarch64 does not include x86_64"); set
			   * by the index, the parsed data stays */
	char *arena;      /* NULL, or one block holding the strings of a spec decoded
			   * from the spec cache (planner/speccache.h): a warm plan
			   * decodes thousands of specs, and one allocation per
			   * spec instead of one per string is most of its cost.
			   * Fields pointing into it are freed with it;
			   * planner_spec_release frees the others one by one */
	size_t arena_size; /* bytes of arena */
};

/* What to read: the spec's path in the repository, its content and the
 * other files of its directory, which the reader writes beside it: the
 * directory is %_sourcedir, as the Azure Linux toolkit sets it, so that
 * "%include %{SOURCE7}" and "%{load:...}" of its files work. */
struct planner_spec_input {
	const char *path;    /* repository path of the .spec file */
	const char *content; /* spec text (need not be NUL-terminated) */
	size_t len;          /* bytes of content */
	struct gitwatch_repo *repo; /* where dir_files' blobs are read, or NULL */
	const struct gitwatch_entry *dir_files; /* every blob under the spec's
			      * directory (the spec among them, which is left
			      * out; symbolic links too), paths from the
			      * repository root; read just before the reader
			      * starts; at most PLANNER_SPEC_DIR_MAX bytes */
	size_t ndir_files;
};

/* The most bytes of a spec directory's files a reader writes out; a spec
 * whose directory holds more fails ("spec directory holds more than 32 MiB"). */
#define PLANNER_SPEC_DIR_MAX (32u << 20)

/* Parses n specs, at most jobs children at a time (jobs <= 0: number of
 * cores; at most 32), each child with a fresh librpm macro context made by
 * planner_macro_ctx_apply(ctx). Run as root, every spec is parsed in a
 * sandbox (docs/design.md, "Trust"): new mount, network, IPC, UTS and PID
 * namespaces; a tmpfs root with /usr read-only and an /etc of its own,
 * /dev/null, /dev/zero, /dev/urandom, a private /tmp, ctx->dir read-only
 * and a private writable scratch tmpfs (at the path of a directory made
 * under $TMPDIR or /tmp) that holds the spec; only PATH, HOME=/ and LANG=C
 * in the environment; a uid of each reader's own (no account's) and group
 * 65534 with no_new_privs; memory and task limits. Whatever the spec starts is killed when its reader ends. A
 * sandbox that cannot be set up fails that spec with a transient error
 * ("<path>: spec reader sandbox: <step>: <reason>"); the spec is never
 * parsed outside it. Run as another user (a developer's unprivileged run,
 * where namespaces and mounts are refused) specs are parsed in plain
 * children, without network only where the kernel allows an unprivileged
 * CLONE_NEWNET, and their process groups are killed when they end. out must
 * hold n zeroed entries; out[i] describes inputs[i]. A spec that does not
 * parse, or whose child crashes or runs longer than 60 s, gets out[i].error
 * set and does not make the call fail. Returns 0, or -1 with err set only
 * when children cannot be started at all. */
int planner_specs_read(const struct planner_spec_input *inputs, size_t n,
		       const struct planner_macro_ctx *ctx, int jobs,
		       struct planner_spec *out, struct sy_error *err);

/* Where a long read reports how far it is: fn(arg, done, total) after
 * each spec read (done of total), never more than once a second but for the
 * last. Zero-initialise for none. */
struct planner_read_progress {
	void (*fn)(void *arg, size_t done, size_t total);
	void *arg;
};

/* planner_specs_read, telling progress (may be NULL) how far it is. */
int planner_specs_read_with(const struct planner_spec_input *inputs, size_t n,
			    const struct planner_macro_ctx *ctx, int jobs,
			    const struct planner_read_progress *progress,
			    struct planner_spec *out, struct sy_error *err);

/* Readers started ahead of the specs they will read, so that their
 * sandboxes are built and the macro context applied (about 20 ms) while
 * the caller does other work. planner_specs_read_with is
 * planner_readers_start, planner_readers_read, planner_readers_free. */
struct planner_readers;

/* Starts readers for ctx as planner_specs_read_with would for nspecs
 * specs: min(jobs, nspecs) of them (jobs <= 0: number of cores; at most
 * 32); none when nspecs is 0. Each applies ctx as it starts: ctx must stay
 * valid and unchanged until planner_readers_free (a context replaced
 * meanwhile needs readers of its own). Worth it only where a core is idle
 * meanwhile: on a busy machine the readers take the caller's CPU.
 * Returns them (free with planner_readers_free), or NULL with err set when
 * none could start. */
struct planner_readers *planner_readers_start(const struct planner_macro_ctx *ctx, int jobs,
					      size_t nspecs, struct sy_error *err);

/* planner_specs_read_with with readers from planner_readers_start (more
 * are started when n asks for more, or to replace those that ended), once
 * per rd: returns as soon as every spec is read, with out as described
 * there; the readers end meanwhile, and planner_readers_free waits for
 * them. Returns 0, or -1 with err set when no reader can be started at
 * all or rd was already read with. */
int planner_readers_read(struct planner_readers *rd, const struct planner_spec_input *inputs,
			 size_t n, const struct planner_read_progress *progress,
			 struct planner_spec *out, struct sy_error *err);

/* Ends the readers of rd (their servers at their end of file, waited for),
 * removes their directories and cgroups, frees rd. rd may be NULL. */
void planner_readers_free(struct planner_readers *rd);

/* Encodes what a reader learnt of spec (every field but path and excluded)
 * as one compact JSON object, the format the reader children write into
 * their pipe: {"name", "epoch", "version", "release", "packages": [{"name",
 * "evr", "arch", "provides", "requires"}], "buildrequires", "sources",
 * "patches", "exclusive_arch", "exclude_arch", "version_refs"}, each
 * dependency {"n": name, "f": PLANNER_DEP_* bits, "v": evr or null}; a spec
 * that did not parse is {"error": reason, "version_refs": [...]}. Returns a
 * new string (caller frees). */
char *planner_spec_to_json(const struct planner_spec *spec);

/* Decodes len bytes of JSON written by planner_spec_to_json (or by a reader
 * child) into out, which must be zeroed or hold only path and excluded
 * (left as they are). Returns 0, or -1 with err set ("spec JSON: <jansson
 * message>") when text is not such an object. */
int planner_spec_from_json(const char *text, size_t len, struct planner_spec *out,
			   struct sy_error *err);

/* Frees everything a planner_spec holds and zeroes it. */
void planner_spec_release(struct planner_spec *spec);

/* Returns the comparison of PLANNER_DEP_* flags as rpm writes it: "<", ">",
 * "=", "<=", ">=", "<>" or "" (static string). */
const char *planner_dep_op(int flags);

/* Formats a dependency as "name", "name >= evr" etc. into a new string
 * (caller frees). */
char *planner_dep_format(const struct planner_dep *dep);

/* Returns the spec's SRPM file name, "<name>-<version>-<release>.src.rpm",
 * newly allocated (caller frees). */
char *planner_spec_srpm_name(const struct planner_spec *spec);

#endif
