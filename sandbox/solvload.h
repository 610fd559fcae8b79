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

/* Adds a repository named repo_dir to pool with the packages of
 * repo_dir/repodata (primary required, filelists when present, so that file
 * dependencies resolve). The pool's disttype and arch must be set. Does not
 * call pool_createwhatprovides. Returns the new repo, or NULL with err naming
 * the file and the reason (the half-loaded repo is freed). */
Repo *sandbox_solv_add_repodata(Pool *pool, const char *repo_dir, struct sy_error *err);

#endif
