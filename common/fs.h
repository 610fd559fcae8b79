/* Files and directories: the few operations every stage needs, done safely.
 * Writes that others may read are atomic: temporary name, fsync, rename. */
#ifndef SY_FS_H
#define SY_FS_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* Creates dir and its missing parents with the given mode. Returns 0 or -1. */
int sy_mkdir_p(const char *dir, mode_t mode, struct sy_error *err);

/* Removes path recursively (files, links, directories; never follows links and
 * never crosses into another mounted filesystem). A missing path is not an
 * error. Returns 0 or -1. */
int sy_rm_rf(const char *path, struct sy_error *err);

/* Reads a whole file into *data (NUL-terminated, caller frees), its length in
 * bytes in *len (may be NULL). Returns 0 or -1. */
int sy_read_file(const char *path, char **data, size_t *len, struct sy_error *err);

/* Writes len bytes to path atomically: a temporary file in the same
 * directory, fsync, rename over path. Returns 0 or -1. */
int sy_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
			 struct sy_error *err);

/* Writes len bytes to path (created or truncated), no atomicity. A symbolic
 * link at path is not followed: the write fails (ELOOP). */
int sy_write_file(const char *path, const void *data, size_t len, mode_t mode,
		  struct sy_error *err);

/* Writes len bytes to dir/name (name relative, may hold '/'), creating its
 * missing parent directories (mode 0755) first; otherwise as sy_write_file.
 * Returns 0 or -1. */
int sy_write_file_under(const char *dir, const char *name, const void *data, size_t len,
			mode_t mode, struct sy_error *err);

/* Writes the len bytes at data to fd, again after short writes and EINTR.
 * Returns 0, or -1 with errno set. */
int sy_write_all(int fd, const void *data, size_t len);

/* Copies regular file src to dst (mode preserved), atomically. */
int sy_copy_file(const char *src, const char *dst, struct sy_error *err);

/* Copies directory tree src into dst (created); regular files, directories and
 * symlinks. Returns 0 or -1. */
int sy_copy_tree(const char *src, const char *dst, struct sy_error *err);

/* Returns 1 if path exists (lstat succeeds), else 0. */
int sy_exists(const char *path);

/* Makes a new private directory "<parent>/<prefix>XXXXXX"; returns its path
 * (caller frees) or NULL with err set. */
char *sy_mkdtemp(const char *parent, const char *prefix, struct sy_error *err);

/* Returns the directory for private temporary files: $TMPDIR when it is an
 * absolute path to a directory, else "/tmp". The string is static or the
 * environment's: do not free it. */
const char *sy_tmp_dir(void);

/* Appends the names in dir that do not start with '.' to out, sorted and
 * unique. A directory that does not exist or cannot be read gives none
 * (returns -1 then, else 0). */
struct sy_strv;
int sy_list_dir(const char *dir, struct sy_strv *out);

/* Returns 1 when path is a directory (stat, links followed), else 0. */
int sy_is_dir(const char *path);

/* fsyncs a directory so that a rename inside it is durable. */
int sy_fsync_dir(const char *dir, struct sy_error *err);

/* fsyncs the regular file at path (a file another program wrote, before it
 * is linked or renamed where readers find it). Returns 0, or -1 with err
 * ("<path>: fsync: ..."). */
int sy_fsync_file(const char *path, struct sy_error *err);

#endif
