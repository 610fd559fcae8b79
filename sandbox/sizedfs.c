#define _GNU_SOURCE
#include "sandbox/sizedfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <linux/loop.h>

#include "common/child.h"
#include "common/strv.h"
#include "common/util.h"
#include "sandbox/cgroup.h"

#define MIB (1024ULL * 1024ULL)
/* Flags of the mount: nothing on it is a device or gains privileges. */
#define SIZEDFS_FLAGS (MS_NOSUID | MS_NODEV | MS_NOATIME)
/* Bytes of data per inode (mke2fs's default ratio), and the fewest inodes
 * a filesystem gets, so that a small one still holds a build's tree. */
#define BYTES_PER_INODE 16384ULL
#define MIN_INODES 4096ULL
/* ext4 inodes are 256 bytes. */
#define INODE_SIZE 256ULL
/* How often a free loop device is asked for when another process takes
 * the one offered first. */
#define LOOP_TRIES 16
/* Deadline of mke2fs, which takes well under a second. */
#define MKE2FS_TIMEOUT_S 60

static const char *const mke2fs_paths[] = { "/usr/sbin/mke2fs", "/sbin/mke2fs" };

static unsigned long long inodes_for(unsigned long long bytes)
{
	return bytes / BYTES_PER_INODE > MIN_INODES ? bytes / BYTES_PER_INODE : MIN_INODES;
}

/* Size of an ext4 image into which bytes can be written: its inode tables,
 * the 2 % (at most 16 MiB) ext4 keeps back for itself, bitmaps and group
 * descriptors, rounded up to a MiB (measured with mke2fs 1.47: 2.6 MiB to
 * 0.1 % more than asked remain usable). */
static unsigned long long image_size(unsigned long long bytes)
{
	unsigned long long reserved = bytes / 50 < 16 * MIB ? bytes / 50 : 16 * MIB;
	unsigned long long size = bytes + inodes_for(bytes) * INODE_SIZE + reserved +
				  bytes / 1024 + 2 * MIB;

	return (size + MIB - 1) / MIB * MIB;
}

/* Formats the image file at path as ext4 of bytes usable. */
static int format_image(const char *path, unsigned long long bytes, int log_fd,
			struct sy_error *err)
{
	char inodes[32];
	const char *mke2fs = NULL;

	for (size_t i = 0; i < LEN(mke2fs_paths) && !mke2fs; i++)
		if (access(mke2fs_paths[i], X_OK) == 0)
			mke2fs = mke2fs_paths[i];
	if (!mke2fs)
		return sy_error_set(err, "mke2fs: not installed");
	snprintf(inodes, sizeof(inodes), "%llu", inodes_for(bytes));
	const char *const argv[] = {
		mke2fs, "-q", "-F", "-t", "ext4", "-b", "4096", "-m", "0", "-N", inodes,
		"-O", "^has_journal,^resize_inode", "-E", "lazy_itable_init=1,nodiscard",
		path, NULL,
	};
	return sy_child_run_cmd(argv, log_fd >= 0 ? log_fd : SY_CHILD_DEVNULL, MKE2FS_TIMEOUT_S,
				err);
}

/* Attaches the image file image_fd to a free loop device, freed again when
 * its last user (the mount) is gone. Returns the device's fd (write its
 * path into dev) or -1 with err. */
static int attach_loop(int image_fd, char *dev, size_t size, struct sy_error *err)
{
	struct loop_config cfg = {
		.fd = (unsigned)image_fd,
		.block_size = 4096,
		.info = { .lo_flags = LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO },
	};
	int control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);

	if (control < 0)
		return sy_error_set(err, "/dev/loop-control: %s", strerror(errno));
	for (int i = 0; i < LOOP_TRIES; i++) {
		int n = ioctl(control, LOOP_CTL_GET_FREE), fd;

		if (n < 0) {
			sy_error_set(err, "no free loop device: %s", strerror(errno));
			break;
		}
		snprintf(dev, size, "/dev/loop%d", n);
		fd = open(dev, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			sy_error_set(err, "%s: %s", dev, strerror(errno));
			break;
		}
		if (ioctl(fd, LOOP_CONFIGURE, &cfg) == 0) {
			close(control);
			return fd;
		}
		sy_error_set(err, "%s: cannot attach the image: %s", dev, strerror(errno));
		close(fd);
		/* Taken meanwhile by another process: ask again. */
		if (errno != EBUSY)
			break;
	}
	close(control);
	return -1;
}

/* The ext4 kind (see sandbox/sizedfs.h). */
static int mount_ext4(const char *dir, const char *image, unsigned long long bytes, int log_fd,
		      struct sy_error *err)
{
	char dev[64];
	int image_fd, loop_fd = -1, rc = -1;

	image_fd = open(image, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (image_fd < 0)
		return sy_error_set(err, "%s: %s", image, strerror(errno));
	if (ftruncate(image_fd, (off_t)image_size(bytes)) < 0) {
		sy_error_set(err, "%s: %s", image, strerror(errno));
		goto out;
	}
	if (format_image(image, bytes, log_fd, err))
		goto out;
	loop_fd = attach_loop(image_fd, dev, sizeof(dev), err);
	if (loop_fd < 0)
		goto out;
	if (mount(dev, dir, "ext4", SIZEDFS_FLAGS, NULL) < 0) {
		sy_error_set(err, "cannot mount %s: %s", dev, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	/* The mount holds the device now; without it, closing detaches it. */
	if (loop_fd >= 0)
		close(loop_fd);
	close(image_fd);
	if (rc)
		unlink(image);
	return rc;
}

/* The tmpfs kind: bytes, or a quarter of the memory when that is less. */
static int mount_tmpfs(const char *dir, unsigned long long bytes, struct sandbox_sizedfs *fs,
		       struct sy_error *err)
{
	unsigned long long cap = sandbox_memory_share(4, 0);
	char opts[128];

	if (cap && bytes > cap)
		bytes = cap;
	snprintf(opts, sizeof(opts), "size=%llu,nr_inodes=%llu,mode=0755", bytes,
		 inodes_for(bytes));
	if (mount("tmpfs", dir, "tmpfs", SIZEDFS_FLAGS, opts) < 0)
		return sy_error_set(err, "tmpfs: %s", strerror(errno));
	fs->kind = SANDBOX_SIZEDFS_TMPFS;
	fs->bytes = bytes;
	return 0;
}

int sandbox_sizedfs_mount(const char *dir, const char *image, unsigned long long bytes,
			  int log_fd, struct sandbox_sizedfs *fs, struct sy_error *err)
{
	struct sy_error ext4_err = { { 0 } };

	memset(fs, 0, sizeof(*fs));
	if (!image)
		sy_error_set(&ext4_err, "no image file given");
	else if (mount_ext4(dir, image, bytes, log_fd, &ext4_err) == 0) {
		fs->kind = SANDBOX_SIZEDFS_EXT4;
		fs->bytes = bytes;
		return 0;
	}
	snprintf(fs->why_tmpfs, sizeof(fs->why_tmpfs), "%.200s", ext4_err.msg);
	if (mount_tmpfs(dir, bytes, fs, err) == 0)
		return 0;
	return sy_error_prefix(err, "cannot make a filesystem of %llu MiB at %s (ext4: %s)",
			       bytes / MIB, dir, ext4_err.msg);
}

/* Reserves bytes of dir's filesystem with the file dir/.reserved. */
static int reserve(const char *dir, unsigned long long bytes, struct sy_error *err)
{
	char *path = sy_xasprintf("%s/.reserved", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600), rc = 0;

	if (fd < 0 || fallocate(fd, 0, 0, (off_t)bytes) < 0)
		rc = sy_error_set(err, "%s: cannot reserve %llu bytes: %s", path, bytes,
				  strerror(errno));
	if (fd >= 0)
		close(fd);
	free(path);
	return rc;
}

int sandbox_sizedfs_shrink(const char *dir, const struct sandbox_sizedfs *fs,
			   unsigned long long bytes, struct sy_error *err)
{
	unsigned long long used, avail;
	struct statvfs st;
	char opts[64];

	if (statvfs(dir, &st) < 0)
		return sy_error_set(err, "%s: %s", dir, strerror(errno));
	avail = (unsigned long long)st.f_bavail * st.f_frsize;
	used = (unsigned long long)(st.f_blocks - st.f_bfree) * st.f_frsize;
	if (avail <= bytes)
		return 0;
	if (fs->kind == SANDBOX_SIZEDFS_EXT4)
		return reserve(dir, avail - bytes, err);
	snprintf(opts, sizeof(opts), "size=%llu", used + bytes);
	if (mount(NULL, dir, NULL, MS_REMOUNT | SIZEDFS_FLAGS, opts) < 0)
		return sy_error_set(err, "cannot shrink the tmpfs at %s: %s", dir, strerror(errno));
	return 0;
}

int sandbox_sizedfs_full(const char *dir)
{
	struct statvfs st;

	if (statvfs(dir, &st) < 0)
		return 0;
	return (unsigned long long)st.f_bavail * st.f_frsize < SANDBOX_SIZEDFS_SLACK ||
	       (st.f_files && st.f_favail == 0);
}
