/* Disk images of an image config, without loop devices, mounts or VMs
 * (the toolkit's imager + roast, docs/design.md "Images"): Disks[0]'s
 * partitions are laid out from Start/End (MiB), each partition's filesystem
 * is built as a file from the part of the composed root its PartitionSettings
 * MountPoint names (imager/filesystem.h), the partition table (GPT, or MBR
 * for PartitionTableType "mbr") is written by sfdisk from a script, and the
 * partition files are copied in at their offsets, holes kept. The raw disk
 * is then converted to the artifacts' types (imager/diskformat.h).
 *
 * Reproducible: the disk GUID (or MBR id), every partition GUID, filesystem
 * UUID and hash seed derive from the image key, times from the epoch; the
 * same key, epoch and root give the same bytes. */
#ifndef IMAGER_DISK_H
#define IMAGER_DISK_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/strv.h"
#include "imager/filesystem.h"
#include "imager/imageconfig.h"

/* The largest disk (MaxSize) a config may ask for when the distribution
 * sets no other (shipyard.conf image.maxdisksize), in MiB: 64 GiB. */
#define IMAGER_MAX_DISK_MIB_DEFAULT 65536ull

/* What makes a composition reproducible and bounded. Nothing is owned. */
struct imager_inputs {
	const char *key;       /* the image key, hex: SHA-256 of the config text
				* and its package closure (imager/stage.h) */
	long long epoch;       /* SOURCE_DATE_EPOCH: the commit's time, seconds
				* since 1970 */
	uint64_t max_disk_mib; /* largest MaxSize allowed, MiB; 0: the default */
	const char *artifacts_dir; /* <state>/artifacts (builder/artifact.h):
				* manifest.json names the build key of each
				* package whose RPM file is found there; or
				* NULL */
};

/* One partition as laid out on the disk. */
struct imager_disk_part {
	size_t index;                /* its place in Disks[0].Partitions (its
				      * number is index + 1) */
	const struct imager_partition *part;             /* borrowed from cfg */
	const struct imager_partition_setting *setting;  /* its settings, or NULL */
	enum imager_fs fs;           /* its filesystem */
	uint64_t start;              /* offset in the disk, bytes */
	uint64_t bytes;              /* size, bytes (a multiple of 4096) */
	char type[37];               /* GPT type GUID, or MBR type "83", "ef"... */
	char part_uuid[37];          /* GPT partition GUID, or MBR "<id>-<NN>" */
	char fs_uuid[37];            /* filesystem UUID */
	char hash_seed[37];          /* ext directory hash seed */
};

/* Disks[0] laid out. */
struct imager_disk_layout {
	int gpt;                        /* 1: GPT, 0: MBR */
	uint64_t bytes;                 /* disk size (MaxSize), bytes */
	char disk_id[37];               /* GPT disk GUID, or MBR id "0x1234abcd" */
	struct imager_disk_part *parts; /* in Partitions order */
	size_t nparts;
};

/* Derives a version-4-shaped UUID from the image key and a purpose
 * ("partuuid/root"): the first 16 bytes of SHA-256(key "\n" what) with the
 * version and variant bits set, lowercase into out. */
void imager_derive_uuid(const char *key, const char *what, char out[37]);

/* Checks that Disks[0] of cfg (which imager_config_validate accepted) can
 * be made: its partitions, flags and types, mount points, artifact types
 * and compressions, and that no two artifacts write the same file. Returns
 * 0, or -1 with err naming the field ("x.json: Disks[0].Partitions[1]:
 * FsType \"xfs\" needs at least 300 MiB (mkfs.xfs)", "x.json:
 * Disks[0].Artifacts[0]: Type \"diff\": not supported"). */
int imager_disk_check_support(const struct imager_config *cfg, struct sy_error *err);

/* The file name an artifact of Disks[0] is written as: "<Name>.<type>"
 * plus ".gz"/".xz" ("core.vhdx", "core.raw.gz"); root file system archives
 * (no Type) are imager/artifacts.h's. Returns a new string, or NULL when
 * the artifact is not made here. */
char *imager_disk_artifact_file(const struct imager_artifact *a);

/* Lays out Disks[0] of cfg (checked by imager_disk_check_support) with the
 * identifiers derived from key. Returns 0, or -1 with err ("x.json:
 * Disks[0].Partitions[1]: End 4096 MiB reaches the backup GPT"). Release
 * with imager_disk_layout_release. */
int imager_disk_layout(const struct imager_config *cfg, const char *key,
		       struct imager_disk_layout *layout, struct sy_error *err);

/* Frees what imager_disk_layout filled. */
void imager_disk_layout_release(struct imager_disk_layout *layout);

/* Room for imager_disk_part_ident's text. */
#define IMAGER_DISK_IDENT_MAX 96

/* How fstab and the kernel command line name partition q, as its
 * settings' MountIdentifier says (partuuid when it has none):
 * "PARTUUID=<guid>", "UUID=<fs uuid>" (vfat: "UUID=ABCD-1234"),
 * "PARTLABEL=<name>", into out. */
void imager_disk_part_ident(const struct imager_disk_part *q, char out[IMAGER_DISK_IDENT_MAX]);

/* The /etc/fstab of the layout: one line per partition whose settings
 * give a MountPoint, parents first, naming it as MountIdentifier says
 * (PARTUUID=, UUID=, PARTLABEL=), with MountOptions or "defaults". Returns
 * a new string. */
char *imager_disk_fstab(const struct imager_disk_layout *layout);

/* The sfdisk script that writes the layout's partition table. Returns a
 * new string. */
char *imager_disk_sfdisk_script(const struct imager_disk_layout *layout);

/* Makes the artifacts of cfg that are not root file system archives from
 * the composed root at rootfs (whose /etc/fstab the configuration step,
 * imager/customize.h, wrote from imager_disk_fstab before the scripts ran):
 * for a disk with partitions, builds each partition's filesystem under
 * work_dir from
 * its part of rootfs (moved out and back, so that rootfs is whole again on
 * return), the raw disk, then each artifact of Disks[0] and of its
 * partitions into out_dir; for a disk without, its squashfs and iso
 * artifacts. Appends the paths written to artifacts. Refuses a MaxSize
 * above in->max_disk_mib, and a disk whose files would not fit in the free
 * space of work_dir or out_dir. Command lines and tool output go to log_fd
 * (-1: discarded). Returns 0, or -1 with err ("image core: MaxSize 131072
 * MiB is above the limit of 65536 MiB (image.maxdisksize)"). */
int imager_disk_write(const struct imager_config *cfg, const struct imager_inputs *in,
		      const char *rootfs, const char *work_dir, const char *out_dir, int log_fd,
		      struct sy_strv *artifacts, struct sy_error *err);

#endif
