/* The metadata of one package repository directory: its repodata/ with
 * repomd.xml, primary, filelists and other (gzip), and optionally their
 * sqlite databases (bzip2, as createrepo_c --database writes them), made
 * with libcreaterepo_c.
 *
 * A package whose file is the very file a previous repository described
 * keeps that repository's entries: its primary, filelists and other XML are
 * copied instead of reading the RPM again and dumping it anew, as
 * createrepo_c --update keeps the entries of files whose size and mtime did
 * not change. The match here is stricter: same file name, same file (device
 * and inode: snapshots hard-link their packages and are never changed), and
 * the size and mtime the entry recorded. The XML is what createrepo_c dumps
 * for the same file, so the output equals a full generation's. */
#ifndef REPO_PUBLISH_REPODATA_H
#define REPO_PUBLISH_REPODATA_H

#include <stddef.h>
#include <sys/stat.h>

#include "common/error.h"

/* The package entries of a previous repository, indexed by file name. */
struct repodata_previous;

/* One package of a repository being written: read from its RPM file or
 * taken over from a previous repository. */
struct repodata_pkg;

/* Loads the entries of the repository at dir: repodata/repomd.xml and the
 * primary, filelists and other files it names, each checked against the
 * SHA-256 repomd.xml records, split into one entry per package. *prev
 * receives them, or NULL when there is nothing to reuse: dir has no
 * repodata/repomd.xml, or its entries were not made the way
 * repodata_write_dir makes them now (its repo tag names another
 * libcreaterepo_c or other settings: its packages are read once, so that
 * formats never mix); free with repodata_previous_free. Returns 0, or -1 with err
 * ("<file>: checksum differs from repomd.xml", "<file>: package 12: no
 * pkgid") when the metadata is there but unreadable or does not hold
 * together: the caller then reads every package. */
int repodata_previous_load(const char *dir, struct repodata_previous **prev,
			   struct sy_error *err);

/* Frees prev (NULL is fine). Packages taken from it must be freed first. */
void repodata_previous_free(struct repodata_previous *prev);

/* Takes over prev's entry for the RPM file at path (st: its stat) when prev
 * (may be NULL) has exactly one package of path's file name, not taken yet,
 * whose file in prev's directory is the same file as path with the size and
 * mtime its entry recorded. Returns the package (it refers to prev, which
 * must outlive it; free with repodata_pkg_free), or NULL: read path. */
struct repodata_pkg *repodata_previous_take(struct repodata_previous *prev, const char *path,
					    const struct stat *st);

/* Reads the RPM file at path (st: its stat, whose size and mtime go into
 * the entry): its header, the SHA-256 of the file as its pkgid, and its
 * last 10 changelog entries (createrepo_c's default). Returns the package
 * (free with repodata_pkg_free), or NULL with err ("<path>: cannot read
 * header: ..."). Its location is set with repodata_pkg_set_href. */
struct repodata_pkg *repodata_pkg_read(const char *path, const struct stat *st,
				       struct sy_error *err);

/* 1 when the package was read from an RPM file whose header names no
 * source package (it is one), else 0. A package taken from a previous
 * repository is a source package when that repository was one of source
 * packages: the caller knows which it took it from. */
int repodata_pkg_read_is_source(const struct repodata_pkg *pkg);

/* The package's arch as its entry has it ("x86_64", "noarch", "src"). */
const char *repodata_pkg_arch(const struct repodata_pkg *pkg);

/* The package's location relative to its repository directory: a taken
 * package's as the previous repository had it, a read one's as set by
 * repodata_pkg_set_href (NULL before). */
const char *repodata_pkg_href(const struct repodata_pkg *pkg);

/* Sets a read package's location (copied). Refused (returns -1 with err)
 * for a taken package, whose entries are kept as they are. */
int repodata_pkg_set_href(struct repodata_pkg *pkg, const char *href, struct sy_error *err);

/* 1 when the package's entries were taken from a previous repository. */
int repodata_pkg_reused(const struct repodata_pkg *pkg);

/* Frees pkg (NULL is fine). */
void repodata_pkg_free(struct repodata_pkg *pkg);

/* Writes dir/repodata/ for the n packages in pkgs, in that order (each with
 * its location set): primary, filelists and other as .xml.gz and, when
 * sqlite is 1, primary_db, filelists_db and other_db as .sqlite.bz2, each
 * named after its SHA-256 and fsynced, then repomd.xml last (written under
 * a temporary name and renamed), with a repo tag saying how the entries
 * were made. Returns 0, or -1 with err; on error dir
 * may hold part of repodata/ and the caller removes it. */
int repodata_write_dir(const char *dir, struct repodata_pkg *const *pkgs, size_t n, int sqlite,
		       struct sy_error *err);

#endif
