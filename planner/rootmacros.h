/* The macro files of the worker root: besides the distribution's macros
 * package, a spec is read with the macro files of the packages its worker
 * root holds (the worker manifest, planner/pkgmanifest.h), as the Azure
 * Linux toolkit reads it in its worker chroot: macros.perl of perl-macros,
 * macros.pyproject of pyproject-rpm-macros; not cmake's or qt's, which reach
 * a spec only through its build root. A spec directory's macro files are
 * shipped by its spec; which of them a package installs is the spec's
 * business, so every file of the directory matching the context's pattern
 * counts, in the form the spec installs it: taken from the built RPM when
 * the published repository has one, else its placeholders filled from the
 * spec's own tags (planner_rootmacros_installed_form). */
#ifndef PLANNER_ROOTMACROS_H
#define PLANNER_ROOTMACROS_H

#include <stddef.h>

#include "common/strv.h"
#include "gitwatch/repo.h"
#include "planner/macros.h"
#include "planner/pkgmanifest.h"
#include "planner/spec.h"

/* Returns 1 when spec path ("SPECS/perl/perl.spec") lies in a directory of
 * the spec trees that holds a macro file matching pattern (fnmatch(3),
 * "macros.*") other than macros_dir (may be NULL), listed in files (every
 * blob of the spec trees, sorted by path), else 0. */
int planner_rootmacros_is_candidate(const char *spec_path, const struct gitwatch_entries *files,
				    const char *pattern, const char *macros_dir);

/* Returns 1 when one of spec's binary packages is listed in m, else 0. */
int planner_rootmacros_in_manifest(const struct planner_spec *spec,
				   const struct planner_manifest *m);

/* Appends to rpms the paths of the *.rpm files under dir (a published
 * repository, at most 4 levels deep), sorted; nothing when dir cannot be
 * read. */
void planner_rootmacros_list_rpms(const char *dir, struct sy_strv *rpms);

/* Appends to out the macro files (matching pattern, not symbolic links) of
 * the directory of spec's path, in their installed form: as built, when an
 * RPM of published (paths from planner_rootmacros_list_rpms, or NULL) of
 * one of spec's packages that m lists (by file name) installs a file of
 * that name under a macros.d directory (the first such RPM by path, found
 * by its header's file list, read from its payload with libarchive, at most
 * 1 MiB); else read from repo with its placeholders filled
 * (planner_rootmacros_installed_form with spec). Returns 0, or -1 with err
 * set ("SPECS/perl/macros.perl: <reason>"). */
int planner_rootmacros_add(struct gitwatch_repo *repo, const struct gitwatch_entries *files,
			   const char *pattern, const struct planner_spec *spec,
			   const struct planner_manifest *m, const struct sy_strv *published,
			   struct planner_macro_files *out, struct sy_error *err);

/* The installed form of a macro file (len bytes of text) that spec ships:
 * the placeholders spec files substitute in %install filled from the spec's
 * parsed tags: @@NAME@@, @@EPOCH@@ (0 when none), @@VERSION@@, @@RELEASE@@,
 * @@EVR@@, @@MAJOR_VERSION@@ (the version up to its first '.'), the same
 * prefixed with the spec's name in upper case with '-' made '_'
 * ("@@CMAKE_VERSION@@", "@@CMAKE_MAJOR_VERSION@@", as cmake's spec writes
 * them), and each of these between single '@' ("@VERSION@"). Other
 * placeholders stay as they are. Returns a new string of *out_len bytes
 * (caller frees). */
char *planner_rootmacros_installed_form(const char *text, size_t len,
					const struct planner_spec *spec, size_t *out_len);

#endif
