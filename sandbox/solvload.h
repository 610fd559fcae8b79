/* Reading a published repository's metadata (repodata/repomd.xml, primary,
 * filelists) into a libsolv pool, as libsolv's own examples do: the bridge
 * between the repositories we publish and everything that resolves
 * dependencies against them (image closures, provides learned from built
 * packages). */
#ifndef SANDBOX_SOLVLOAD_H
#define SANDBOX_SOLVLOAD_H

#include <solv/pool.h>
#include <solv/repo.h>

#include "common/error.h"
#include "common/strv.h"

/* Adds a repository named repo_dir to pool with the packages of
 * repo_dir/repodata (primary required, filelists when present, so that file
 * dependencies resolve). The pool's disttype and arch must be set. Does not
 * call pool_createwhatprovides. Returns the new repo, or NULL with err naming
 * the file and the reason (the half-loaded repo is freed). */
Repo *sandbox_solv_add_repodata(Pool *pool, const char *repo_dir, struct sy_error *err);

/* Appends to locations the paths, relative to the repository, of the
 * primary and (when listed) filelists files that the repomd.xml at
 * repomd_path names: what a mirror of the repository must fetch before
 * sandbox_solv_add_repodata can read it. A location that is absolute or
 * climbs with ".." is refused. Returns 0, or -1 with err naming the file. */
int sandbox_solv_repomd_files(const char *repomd_path, struct sy_strv *locations,
			      struct sy_error *err);

/* One package of an install closure. */
struct sandbox_solv_pkg {
	char *name;     /* "zlib" */
	char *nevra;    /* "zlib-1.3.1-1.mdst1.x86_64" (epoch as "E:" when set) */
	char *path;     /* the RPM file: <repo dir>/<location in primary.xml> */
	char *checksum; /* the file's checksum as primary.xml gives it,
			 * "sha256:<hex>" (covers header and payload) */
	struct sy_strv provides; /* names of the capabilities it provides,
			 * versions left out ("libz.so.1()(64bit)", "zlib") */
};

/* The packages an install of some package specs needs, sorted by NEVRA.
 * Release with sandbox_solv_closure_release. */
struct sandbox_solv_closure {
	struct sandbox_solv_pkg *pkgs;
	size_t n;
};

/* Resolves the install closure of wanted (NULL-terminated package specs:
 * "name", "name=1.2-3", "name >= 1.2", "name.arch" or a capability, as
 * dnf's install takes them) against the repositories repo_dirs
 * (NULL-terminated directories with repodata/, loaded in order) for arch,
 * recommended packages left out. first, when not NULL and some repository
 * has it, is installed too (the Azure Linux imager puts "filesystem" first).
 * Fills out. Returns 0, or -1 with err and out empty: "no package provides
 * foo, bar" for specs that match nothing, else libsolv's problems joined
 * with "; " ("nothing provides libfoo needed by bar-1-1.x86_64"). */
int sandbox_solv_closure(const char *const *repo_dirs, const char *const *wanted,
			 const char *first, const char *arch, struct sandbox_solv_closure *out,
			 struct sy_error *err);

/* Frees what c holds and empties it. */
void sandbox_solv_closure_release(struct sandbox_solv_closure *c);

#endif
