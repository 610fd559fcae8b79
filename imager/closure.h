/* The package closure of an image config: its packages and what they
 * Require, resolved with libsolv against a published repository's repodata,
 * as the toolkit's imagepkgfetcher resolves them. */
#ifndef IMAGER_CLOSURE_H
#define IMAGER_CLOSURE_H

#include "common/error.h"
#include "common/strv.h"
#include "imager/imageconfig.h"

/* Resolves the install closure of cfg->packages (and "filesystem" first when
 * the repository has it, as the toolkit's imager does) against the repository
 * at repo_dir (a directory with repodata/, read with libsolv's
 * repo_add_repomdxml/repo_add_rpmmd) for arch. Fills nevras with the sorted
 * NEVRAs and, if rpm_paths is not NULL, the matching RPM file paths under
 * repo_dir. Returns 0, or -1 with err listing the problems libsolv reports
 * ("image core: nothing provides libfoo needed by bar-1-1.x86_64"). */
int imager_closure(const struct imager_config *cfg, const char *repo_dir, const char *arch,
		   struct sy_strv *nevras, struct sy_strv *rpm_paths, struct sy_error *err);

#endif
