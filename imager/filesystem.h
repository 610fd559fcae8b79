/* One filesystem built as a file from a directory, without a loop device,
 * a mount or a VM: ext2/3/4 with mke2fs -d, vfat with mkfs.vfat and mtools'
 * mmd/mcopy, swap with mkswap, squashfs with mksquashfs, ISO 9660 with
 * xorriso (Rock Ridge, with an optional UEFI El Torito boot image).
 *
 * Reproducible: the caller gives every UUID, volume id and hash seed; the
 * tools stamp their own times from the epoch (SOURCE_DATE_EPOCH,
 * E2FSPROGS_FAKE_TIME, mkfs.vfat --invariant) and read a tree's times from
 * it, which imager_tree_clamp_times makes independent of when the tree was
 * written; entries are added in sorted order. xfs (mkfs.xfs -p with a
 * protofile) stamps every inode with the build time and has no
 * SOURCE_DATE_EPOCH in xfsprogs 6.1: its inodes' times and modes are
 * rewritten after it with xfs_db (see imager_fs_build). */
#ifndef IMAGER_FILESYSTEM_H
#define IMAGER_FILESYSTEM_H

#include <stdint.h>

#include "common/error.h"

/* A filesystem a partition can be given. */
enum imager_fs {
	IMAGER_FS_NONE, /* FsType "": no filesystem, the partition stays zero */
	IMAGER_FS_EXT2,
	IMAGER_FS_EXT3,
	IMAGER_FS_EXT4,
	IMAGER_FS_VFAT, /* vfat, fat12, fat16, fat32 */
	IMAGER_FS_SWAP, /* linux-swap */
	IMAGER_FS_XFS,
};

/* mkfs.xfs (xfsprogs 6.1) refuses a filesystem below 300 MiB. */
#define IMAGER_XFS_MIN_BYTES (300ull << 20)

/* Maps a partition's FsType ("ext4", "xfs", "fat32", "linux-swap", "") to
 * *fs. Returns 0, or -1 with *why saying why it is not built ("no tool
 * builds it"). *why is a static string. */
int imager_fs_from_name(const char *fs_type, enum imager_fs *fs, const char **why);

/* What imager_fs_build makes. Nothing is owned. */
struct imager_fs_build {
	enum imager_fs fs;
	const char *fs_type;   /* the config's FsType, "fat32" asks for FAT32 */
	const char *source;    /* directory whose content fills it (owners,
				* modes, times kept where the filesystem holds
				* them), or NULL: empty */
	const char *image;     /* file to create (replaced) */
	uint64_t bytes;        /* its size in bytes, a multiple of 4096 */
	const char *uuid;      /* filesystem UUID "xxxxxxxx-xxxx-...": ext and
				* swap take it whole, vfat its first 8 hex
				* digits as volume id */
	const char *hash_seed; /* ext: directory hash seed, a UUID */
	long long epoch;       /* seconds since 1970: every time the tool stamps */
	int log_fd;            /* command lines and tool output; -1: discarded */
};

/* Builds b->image. vfat holds only directories and regular files: a
 * symbolic link or device under b->source is an error naming it.
 *
 * xfs: mkfs.xfs -p from a protofile (xfsprogs' mkfs.xfs(8) "-p": one line
 * per entry, name, type and mode, owner, group, then the source file, link
 * target or device numbers; directories nested, closed by "$") listing
 * b->source in sorted order, with -m uuid=b->uuid and bigtime; then one
 * xfs_db -x session writes, for every entry found by its path, the mode
 * (the protofile has no sticky bit), the modification time of the source
 * (access time the same) and the change and creation times = b->epoch,
 * which makes two builds of the same tree the same bytes. What a protofile
 * cannot carry is an error naming the entry (a name or link target with
 * white space, a socket); hard links become copies and extended
 * attributes are not copied. At least IMAGER_XFS_MIN_BYTES.
 *
 * Returns 0, or -1 with err ("root.ext4: mke2fs exited with status 1",
 * "esp.vfat: /EFI/x: a symbolic link cannot go on vfat", "root.xfs: /a b:
 * a name with white space cannot go in an xfs protofile"). */
int imager_fs_build(const struct imager_fs_build *b, struct sy_error *err);

/* Writes the tree at source as a squashfs image (mksquashfs, gzip,
 * owners kept) at image. Returns 0, or -1 with err. */
int imager_squashfs_build(const char *source, const char *image, long long epoch, int log_fd,
			  struct sy_error *err);

/* Writes the tree at source as an ISO 9660 image with Rock Ridge (owners,
 * modes, links kept) and volume id volume (at most 32 characters of
 * [A-Z0-9_]) at iso. With efi_image (a vfat image, the ESP) not NULL, it is
 * added as /efiboot.img and named the UEFI El Torito boot image. Returns 0,
 * or -1 with err. */
int imager_iso_build(const char *source, const char *efi_image, const char *volume,
		     const char *iso, long long epoch, int log_fd, struct sy_error *err);

/* Clamps the times of every entry under root (links not followed, root
 * itself included): a modification time after epoch becomes epoch, the
 * nanoseconds become 0 and the access time the modification time, so that
 * what a build wrote at its own time reads the same in every build.
 * Returns 0, or -1 with err naming the entry. */
int imager_tree_clamp_times(const char *root, long long epoch, struct sy_error *err);

/* Runs argv (argv[0] found in /usr/sbin, /usr/bin, /sbin, /bin) with a
 * clean environment holding SOURCE_DATE_EPOCH and E2FSPROGS_FAKE_TIME =
 * epoch, LC_ALL=C and TZ=UTC, stdin from stdin_path (NULL: /dev/null), its
 * output and the command line to log_fd (-1: discarded), killed after 30
 * minutes. Returns 0 when it exited with 0; otherwise -1 with err
 * ("sfdisk exited with status 1"). */
int imager_tool_run(const char *const *argv, long long epoch, const char *stdin_path, int log_fd,
		    struct sy_error *err);

#endif
