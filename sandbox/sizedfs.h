/* A filesystem whose size the kernel enforces, for a writable layer that
 * must not grow past a limit (a build's output: builder/buildjob.h).
 * Writing, creating directories at any depth or fallocate past its size
 * fails with ENOSPC in whatever writes; nothing measures it afterwards.
 *
 * It is mounted in the caller's mount namespace, which should be a private
 * one of its own (sandbox_config.prepare_outside): the filesystem then
 * disappears with the namespace, whatever ends the process, and no mount is
 * left on the host.
 *
 * Two kinds, the first that can be made:
 * - ext4 on a loop device: an image file created sparse at the given path
 *   (on the state directory's disk; only what is written takes space there,
 *   at most its size), formatted by mke2fs (no journal: the filesystem never
 *   outlives the namespace), attached with LO_FLAGS_AUTOCLEAR so that the
 *   loop device is freed when the filesystem is unmounted. Costs about
 *   0.1 s; any size.
 * - a tmpfs, where loop devices or mke2fs are missing (a container): held
 *   in memory, so capped at a quarter of the machine's memory; under a
 *   cgroup (sandbox/cgroup.h) its pages count against the memory limit of
 *   whoever writes them. */
#ifndef SANDBOX_SIZEDFS_H
#define SANDBOX_SIZEDFS_H

#include "common/error.h"

enum sandbox_sizedfs_kind {
	SANDBOX_SIZEDFS_EXT4,  /* ext4 image on a loop device */
	SANDBOX_SIZEDFS_TMPFS, /* tmpfs */
};

/* A mounted sized filesystem. */
struct sandbox_sizedfs {
	enum sandbox_sizedfs_kind kind;
	unsigned long long bytes; /* what can be written into it before ENOSPC:
				   * the size asked for (ext4 adds about 0.1 %
				   * and 3 MiB of slack), or less for a tmpfs
				   * capped by memory */
	char why_tmpfs[256];      /* for a tmpfs, why ext4 could not be made
				   * ("/dev/loop-control: No such file or
				   * directory"); else "" */
};

/* Mounts at dir (an existing directory, absolute) a new filesystem into
 * which at least bytes can be written, owned by root with mode 0755,
 * mounted nosuid, nodev and noatime. image is the path of the ext4 image
 * file to create (it must not exist; remove it once the filesystem is
 * unmounted; the tmpfs kind leaves none), or NULL for a tmpfs. mke2fs's messages go to log_fd
 * (an fd, or -1: /dev/null). Returns 0 with fs filled, or -1 with err when
 * neither kind could be made ("cannot make a filesystem of 16 MiB at DIR:
 * tmpfs: Operation not permitted"). Needs CAP_SYS_ADMIN. */
int sandbox_sizedfs_mount(const char *dir, const char *image, unsigned long long bytes,
			  int log_fd, struct sandbox_sizedfs *fs, struct sy_error *err);

/* Leaves about bytes more to be written into the filesystem fs mounted at
 * dir, from what it holds now (a worker root extracted into it): a tmpfs
 * is remounted smaller; on ext4 the rest is reserved by dir/.reserved, a
 * file whose blocks are allocated and never written (the image stays
 * sparse). Nothing when less than bytes is left. Returns 0 or -1 with
 * err. */
int sandbox_sizedfs_shrink(const char *dir, const struct sandbox_sizedfs *fs,
			   unsigned long long bytes, struct sy_error *err);

/* 1 when the filesystem mounted at dir is full: less than SANDBOX_SIZEDFS_SLACK
 * bytes or no inode left to its unprivileged users, so that what was written
 * into it reached its size; 0 otherwise (also when it cannot be examined). */
int sandbox_sizedfs_full(const char *dir);

/* How much free space still counts as full (bytes): ext4 keeps a few
 * hundred KiB it cannot hand out when writes fail with ENOSPC. */
#define SANDBOX_SIZEDFS_SLACK (1024ULL * 1024ULL)

#endif
