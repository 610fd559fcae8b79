/* Files written into an image root without leaving it: every path is
 * resolved with openat2(2) RESOLVE_IN_ROOT against a descriptor of the
 * root, so that ".." stops at the root and a symbolic link the packages or
 * the config's own files made (even "/etc -> /") is followed inside the
 * root, never out of it; RESOLVE_NO_MAGICLINKS refuses /proc's fd links
 * and RESOLVE_NO_XDEV any path through another mount (the sandbox's /dev
 * and /proc). Used by the configuration step (imager/customize.h), inside
 * the install's sandbox and in tests on plain directories. */
#ifndef IMAGER_ROOTFILE_H
#define IMAGER_ROOTFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

/* Owner, mode and time of what imager_root_write and imager_root_mkdir
 * make. */
struct imager_root_meta {
	mode_t mode;     /* permission bits (07777) */
	uid_t uid;       /* owner */
	gid_t gid;       /* group */
	long long mtime; /* modification (and access) time, seconds since 1970 */
};

/* Opens path (absolute, inside the root rootfd) with flags (O_CLOEXEC is
 * added), resolved in the root as the header says. Returns the fd, or -1
 * with errno set. */
int imager_root_open(int rootfd, const char *path, int flags);

/* Makes directory path in the root and the missing directories above it
 * (0755, root, with meta->mtime), the last with meta; an existing last
 * directory is left as it is. Returns 0, or -1 with err ("/home/x: Not a
 * directory"). */
int imager_root_mkdir(int rootfd, const char *path, const struct imager_root_meta *meta,
		      struct sy_error *err);

/* Writes len bytes of data as the regular file path in the root, with
 * meta, making missing directories above it (as imager_root_mkdir): the
 * content goes to a new file beside it, renamed over path, so that a
 * symbolic link at path is replaced, never followed. Returns 0, or -1 with
 * err naming path. */
int imager_root_write(int rootfd, const char *path, const void *data, size_t len,
		      const struct imager_root_meta *meta, struct sy_error *err);

/* Reads the regular file path of the root into *data (NUL-terminated,
 * caller frees) and its length into *len (may be NULL). Returns 0, 1 when
 * it does not exist (*data NULL), or -1 with err. */
int imager_root_read(int rootfd, const char *path, char **data, size_t *len,
		     struct sy_error *err);

#endif
