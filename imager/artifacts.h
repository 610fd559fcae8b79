/* An image root written as its config's artifacts: for Disks[0]'s rootfs
 * artifacts a tar archive (tar.gz, tar.xz or plain, libarchive) named
 * "<artifact name>.<compression>", and for Type "initrd" a cpio archive
 * (SVR4 "newc", the format the kernel unpacks as initramfs:
 * Documentation/driver-api/early-userspace/buffer-format.rst) compressed
 * with gzip, named "<artifact name>.img"; their entries in sorted order
 * with their modification times only (clamped to the commit's time by
 * imager/compose.h), cpio inode numbers given in walk order on device 0,
 * and no time in the gzip header, so that the same root gives the same
 * bytes; and manifest.json (the packages and the digests of every
 * artifact) beside them. Disk images and the other artifacts with a Type
 * are imager/disk.h's. */
#ifndef IMAGER_ARTIFACTS_H
#define IMAGER_ARTIFACTS_H

#include "common/error.h"
#include "common/strv.h"
#include "imager/imageconfig.h"

/* The file suffix of artifact a when it can be written here ("tar.gz",
 * "tar.xz", "tar": a root file system archive, no Type; "img": Type
 * "initrd" without Compression, as the toolkit names it), or NULL. */
const char *imager_artifact_suffix(const struct imager_artifact *a);

/* Checks that cfg has artifacts to write (of Disks[0] or its partitions),
 * each of a kind imager_artifact_suffix or imager/disk.h knows
 * (imager_disk_check_support). Returns 0, or -1 with err naming the config
 * and the artifact. */
int imager_artifacts_check(const struct imager_config *cfg, struct sy_error *err);

/* Writes the root file system archives of cfg from the root at rootfs into
 * out_dir (which exists), appending their paths to artifacts, then
 * out_dir/manifest.json: {"name", "config", "arch", "packages": [NEVRAs],
 * "package_files": [{"nevra", "file", "size", "sha256", "build_key"}]
 * (rpms: the RPM files of nevras, in the same order, or NULL; build_key
 * when a directory <artifacts_dir>/<key>/ holds an RPM of the same file
 * name, artifacts_dir may be NULL), "artifacts": [{"file",
 * "size", "sha256"}] (every path of artifacts: the disks written before
 * and the archives; size in bytes, SHA-256 in hex)}; then fsyncs out_dir.
 * Returns 0 or -1 with err. */
int imager_artifacts_write(const struct imager_config *cfg, const char *rootfs, const char *arch,
			   const struct sy_strv *nevras, const struct sy_strv *rpms,
			   const char *artifacts_dir, const char *out_dir,
			   struct sy_strv *artifacts, struct sy_error *err);

#endif
