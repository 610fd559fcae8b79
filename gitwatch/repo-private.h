/* Shared between the files of gitwatch/ only; other stages use repo.h. */
#ifndef GITWATCH_REPO_PRIVATE_H
#define GITWATCH_REPO_PRIVATE_H

#include <git2.h>

#include "gitwatch/repo.h"

/* Returns the libgit2 handle of repo (owned by repo). */
git_repository *gitwatch_repo_git(struct gitwatch_repo *repo);

#endif
