/* How a build's fresh writable root is made from the cached worker root:
 * an overlayfs over it (the default: ready in milliseconds), or, where
 * overlayfs is unavailable (a kernel without it, a state directory on a
 * filesystem that cannot be an upper dir), a copy extracted from a tarball
 * of the worker root with libarchive, as the Azure Linux toolkit does with
 * worker_chroot.tar.gz for every package. The tarball is written once per
 * worker root, next to it, the first time it is needed. */
#ifndef BUILDER_ROOTFS_H
#define BUILDER_ROOTFS_H

#include "common/error.h"

enum builder_root_mode {
	BUILDER_ROOT_AUTO,    /* overlay when the state directory supports it,
			       * else extract */
	BUILDER_ROOT_OVERLAY, /* always overlay; a failing mount fails the build
			       * (an infrastructure failure) */
	BUILDER_ROOT_EXTRACT, /* always extract the worker tarball */
};

/* Parses "auto", "overlay" or "extract" into *mode. Returns 0, or -1 with
 * err ("unknown root mode 'x' (auto, overlay or extract)"). */
int builder_root_mode_parse(const char *text, enum builder_root_mode *mode, struct sy_error *err);

/* Whether an overlayfs can be mounted with its upper and work dirs in
 * probe_dir's filesystem: tries it in a forked child in a new mount
 * namespace, inside probe_dir, which is created and removed again (in a
 * builds directory, hold builder_build_lock on it so that a sweep leaves it
 * alone). Returns 1 when it can, 0 when it cannot (with the reason in err,
 * e.g. "overlay mount in DIR: Invalid argument"), -1 with err when the probe
 * could not run (fork, mkdir). Needs root. */
int builder_rootfs_overlay_supported(const char *probe_dir, struct sy_error *err);

/* Returns in *tar the path of the worker tarball of worker_root
 * ("<cache>/<digest>/root", as builder_worker_ensure gives it):
 * "<cache>/<digest>/root.tar.gz", a gzip-compressed pax archive like the
 * toolkit's worker_chroot.tar.gz (extracting an uncompressed one measured no
 * faster: writing the files dominates), written first when absent through a
 * temporary name under an exclusive lock on "<cache>/<digest>/tar.lock", so
 * that concurrent runs write it once. *tar is newly allocated (caller frees).
 * Returns 0 or -1 with err naming the file. */
int builder_rootfs_tarball_ensure(const char *worker_root, char **tar, struct sy_error *err);

/* Writes the tree at root as a gzip-compressed pax archive at tar (entries
 * "./<path>"), like the toolkit's worker_chroot.tar.gz: owners, modes,
 * times, xattrs and ACLs kept, hard links kept as links, symlinks not
 * followed. tar is written in place (callers rename). Returns 0 or -1 with
 * err (libarchive's message with the path). */
int builder_rootfs_tarball_write(const char *root, const char *tar, struct sy_error *err);

/* Extracts the tarball tar (compressed or not) into the directory dest
 * (created when missing) with libarchive's archive_write_disk: owners,
 * permissions, times, ACLs and xattrs restored; entries with ".." or that
 * would pass through a symlink refused. Returns 0 or -1 with err (libarchive's
 * message with the entry). */
int builder_rootfs_extract(const char *tar, const char *dest, struct sy_error *err);

#endif
