/* The macro context a distribution's specs are read and built with. It is part
 * of the repository (docs/design.md, "Words"), read from the commit being
 * planned: the distribution's macros package directory (macros, macros.*,
 * rpmrc, Lua modules), the macro files of the other packages of the worker
 * root (planner/rootmacros.h: found by the index, given to
 * planner_macro_ctx_load_listed in their installed form), a generated
 * macros.dist holding the defines (%dist, %azl, %with_check, ...), the
 * target arch, and the worker manifest with an rpmdb of its packages
 * (planner/manifestdb.h) for parse-time rpm queries. Its digest names it in caches and build keys. The
 * per-spec version macros (%azl_<spec>_version, as the Azure Linux toolkit's
 * versionsprocessor writes them) are generated from the specs themselves by
 * the index (planner/index.h) and are not part of this digest. */
#ifndef PLANNER_MACROS_H
#define PLANNER_MACROS_H

#include "common/error.h"
#include "common/hash.h"
#include "common/strv.h"
#include "gitwatch/repo.h"
#include "planner/pkgmanifest.h"

/* The target arches shipyard plans and builds for, comma-separated: those
 * Azure Linux builds (its toolkit's ARCH values). */
#define PLANNER_KNOWN_ARCHES "x86_64, aarch64"

/* Checks a target arch (NULL stands for x86_64). Returns 0, or -1 with err
 * listing the known ones ("arch 'sparc': unknown (known: x86_64,
 * aarch64)"); the caller names where it came from. */
int planner_arch_check(const char *arch, struct sy_error *err);

/* Which files and defines form the context. Zero-initialise, then set. */
struct planner_macro_settings {
	const char *macros_dir;  /* repository path of the macros package directory,
				  * "SPECS/azurelinux-rpm-macros"; NULL: the first
				  * directory "<tree>/<something>-rpm-macros" of the
				  * spec trees; none found: no distribution macros */
	const char *const *spec_trees; /* NULL-terminated, e.g. {"SPECS", NULL} */
	const char *target_arch; /* "x86_64" (default when NULL) or "aarch64" */
	const char *dist_tag;    /* value of %dist, ".azl3" when NULL */
	const char *const *defines; /* extra "name value" defines, NULL-terminated;
				     * Azure Linux's are {"azl 3", "with_check 0"} */
	const char *shipped_macros; /* fnmatch(3) pattern of the files of a spec
				     * directory ("<tree>/<dir>/<file>") that are
				     * macro files its packages install: "macros.*"
				     * when NULL, "" for none */
	const char *worker_manifest; /* repository path of the worker root's
				     * package manifest (planner/pkgmanifest.h),
				     * its first "%s" standing for the arch:
				     * "toolkit/resources/manifests/package/
				     * pkggen_core_<arch>.txt" when NULL; "" or a
				     * missing file: none (no macro files of other
				     * packages, no manifest rpmdb) */
	const char *installed_rpms; /* a published repository (RPM files under
				     * it) whose packages' macro files are taken
				     * as built (planner/rootmacros.h), or NULL */
	const char *const *worker_rpms; /* the RPM files of a worker root made of
				     * the distribution's packages (NULL-
				     * terminated), whose headers make the rpmdb
				     * parse-time queries read instead of the
				     * manifest's (planner/manifestdb.h); NULL:
				     * the manifest's */
	const char *worker_digest;  /* that root's digest, naming its rpmdb and
				     * part of the context's digest */
	const char *version_prefix; /* prefix of the generated per-spec version
				     * macros, "%<prefix>_<spec>_version": "azl"
				     * when NULL */
};

/* Macro files of other packages, in their installed form. */
struct planner_macro_file {
	char *path;  /* repository path of the shipped file, "SPECS/perl/macros.perl" */
	char *data;  /* content as installed */
	size_t len;  /* bytes of data */
};

struct planner_macro_files {
	struct planner_macro_file *items;
	size_t n;
};

/* Frees what files holds and empties it. */
void planner_macro_files_release(struct planner_macro_files *files);

/* A macro context materialised on disk. */
struct planner_macro_ctx {
	char *dir;                /* directory holding the files below (owned) */
	struct sy_strv macro_files; /* absolute paths of macro files, load order */
	char *rpmrc;              /* absolute path of the distribution's rpmrc, or NULL */
	char *lua_dir;            /* directory to put first on Lua's package.path
				   * (modules as <lua_dir>/azl/common.lua etc.), or NULL */
	struct sy_strv defines;   /* "name value" pairs defined last, %dist first */
	char *target_arch;        /* "x86_64" */
	char *dist_tag;           /* value of %dist, ".azl3" */
	char *version_prefix;     /* "azl": version macros are %azl_<spec>_version */
	char *macros_dir;         /* repository path of the macros package
				   * directory used, or NULL */
	char *manifest_path;      /* repository path of the worker manifest read, or NULL */
	struct planner_manifest manifest; /* its packages (empty without one) */
	char *rpmdb;              /* directory of the rpmdb of manifest's
				   * packages (shared by the contexts of one
				   * manifest), or NULL without a manifest */
	char digest[SY_SHA256_HEX_LEN + 1]; /* SHA-256 over file names, contents,
					     * defines, arch, version prefix and
					     * the manifest */
};

/* Builds the context of commit in repo under workdir/macros-<digest>/ (reused
 * if it exists), with the macro files of other packages given in installed
 * (NULL: none). Lua modules are laid out as the macros package installs them
 * for Azure Linux: common.lua as azl/common.lua, other *.lua as
 * azl/srpm/<name>.lua. Macro files load in this order: the macros package's
 * "macros", its "macros.*" by name, the installed files (as
 * shipped/<tree>.<dir>.<file>, in the order given), then the generated
 * generated/macros.dist ("%<name> <value>" per define, %dist first). The
 * worker manifest, when the commit has one, is parsed into ctx->manifest
 * and its rpmdb made once under workdir/rpmdb-<digest of manifest and
 * arch>/. Returns 0 or -1 ("macro context: pkggen_core_x86_64.txt:3: ...").
 * Release ctx with planner_macro_ctx_release. */
int planner_macro_ctx_load(struct gitwatch_repo *repo, const char *commit,
			   const struct planner_macro_settings *settings,
			   const struct planner_macro_files *installed, const char *workdir,
			   struct planner_macro_ctx *ctx, struct sy_error *err);

/* Same as planner_macro_ctx_load, with the files of the spec trees at commit
 * already listed (tree_files: every blob under each spec tree, as
 * gitwatch_list_files gives them, in any tree order), so that a caller that
 * lists them anyway does not list them twice. */
int planner_macro_ctx_load_listed(struct gitwatch_repo *repo, const char *commit,
				  const struct planner_macro_settings *settings,
				  const struct gitwatch_entries *tree_files,
				  const struct planner_macro_files *installed, const char *workdir,
				  struct planner_macro_ctx *ctx, struct sy_error *err);

/* Makes ctx the current process's librpm configuration: reads the system rpmrc
 * plus ctx->rpmrc for target_arch, loads the macro files, sets the Lua path and
 * defines. Meant for forked children (it changes process-global librpm
 * state). Returns 0 or -1. */
int planner_macro_ctx_apply(const struct planner_macro_ctx *ctx, struct sy_error *err);

/* Appends "--define" "name value" pairs for every define of ctx to argv, for
 * rpmbuild command lines. */
void planner_macro_ctx_rpmbuild_args(const struct planner_macro_ctx *ctx, struct sy_strv *argv);

/* Frees what ctx holds (the directory on disk stays, it is a cache). */
void planner_macro_ctx_release(struct planner_macro_ctx *ctx);

#endif
