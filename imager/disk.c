#define _GNU_SOURCE
#include "imager/artifacts.h"
#include "imager/disk.h"
#include "imager/diskformat.h"
#include "imager/imagevalidate.h"
#include "imager/ova.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/hash.h"
#include "common/util.h"

#define MIB (1ull << 20)
#define SECTOR 512ull
/* The backup GPT: 32 sectors of entries and its header, at the disk's end. */
#define GPT_BACKUP_SECTORS 33ull
/* GPT type GUIDs the flags stand for (parted's "esp"/"boot" and
 * "bios_grub" on a GPT disk). */
#define GPT_TYPE_ESP "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
#define GPT_TYPE_BIOS_BOOT "21686148-6449-6e6f-744e-656564454649"
#define GPT_TYPE_LINUX "0fc63daf-8483-4772-8e79-3d69d8477de4"

void imager_derive_uuid(const char *key, const char *what, char out[37])
{
	struct sy_sha256 *h = sy_sha256_new();
	char hex[SY_SHA256_HEX_LEN + 1];
	static const char digits[] = "0123456789abcdef";
	size_t k = 0;

	sy_sha256_update_str(h, key);
	sy_sha256_update_str(h, "\n");
	sy_sha256_update_str(h, what);
	sy_sha256_final(h, hex);
	/* Version 4 (random) and the RFC 4122 variant, so that tools that
	 * check the shape accept it. */
	hex[12] = '4';
	hex[16] = digits[8 + (strchr(digits, hex[16]) - digits) % 4];
	for (size_t i = 0; i < 32; i++) {
		if (i == 8 || i == 12 || i == 16 || i == 20)
			out[k++] = '-';
		out[k++] = hex[i];
	}
	out[k] = '\0';
}

/* "<file>: <where>: <message>"; returns -1. */
static int refuse(const struct imager_config *cfg, struct sy_error *err, const char *where,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int refuse(const struct imager_config *cfg, struct sy_error *err, const char *where,
		  const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sy_error_set(err, "%s: %s: %s", cfg->path, where, msg);
}

static int one_of(const char *v, const char *const *set)
{
	for (size_t i = 0; set[i]; i++)
		if (!strcmp(set[i], v))
			return 1;
	return 0;
}

char *imager_disk_artifact_file(const struct imager_artifact *a)
{
	static const char *const types[] = { "raw", "vhd", "vhdx", "qcow2", "iso", "squashfs",
					     "ext4", "ova", NULL };
	static const char *const compressions[] = { "", "gz", "xz", NULL };

	if (!one_of(a->type, types) || !one_of(a->compression, compressions))
		return NULL;
	/* An OVA is a tar its importers read as it is. */
	if (!strcmp(a->type, "ova") && a->compression[0])
		return NULL;
	return sy_xasprintf("%s.%s%s%s", a->name, a->type, a->compression[0] ? "." : "",
			    a->compression);
}

/* 1 when imager_disk_artifact_file names a file for a. */
static int artifact_known(const struct imager_artifact *a)
{
	char *file = imager_disk_artifact_file(a);
	int known = file != NULL;

	free(file);
	return known;
}

static const struct imager_partition_setting *setting_of(const struct imager_config *cfg,
							 const char *id)
{
	const struct imager_system_config *s = cfg->nsystems ? &cfg->systems[0] : NULL;

	for (size_t i = 0; s && i < s->npartition_settings; i++)
		if (!strcmp(s->partition_settings[i].id, id))
			return &s->partition_settings[i];
	return NULL;
}

static int has_flag(const struct imager_partition *p, const char *flag)
{
	return sy_strv_contains(&p->flags, flag);
}

/* Artifacts of a disk without partitions: the root as squashfs or iso;
 * root file system archives and initrds are imager/artifacts.h's. */
static int check_rootfs_artifact(const struct imager_config *cfg, const struct imager_artifact *a,
				 const char *where, struct sy_error *err)
{
	static const char *const kinds[] = { "squashfs", "iso", NULL };

	if (!a->type[0])
		return imager_artifact_suffix(a) ? 0 : refuse(cfg, err, where, "Compression \"%s\" "
							    "without a Type: not supported; a "
							    "root archive is tar.gz, tar.xz or "
							    "plain", a->compression);
	if (!strcmp(a->type, "initrd"))
		return imager_artifact_suffix(a) ? 0 : refuse(cfg, err, where, "Compression \"%s\" "
							    "of an initrd: not supported; an "
							    "initrd is always gzip-compressed",
							    a->compression);
	if (one_of(a->type, kinds))
		return artifact_known(a) ? 0 : refuse(cfg, err, where, "Compression "
								 "\"%s\" of a %s: not supported",
								 a->compression, a->type);
	if (one_of(a->type, (const char *const[]){ "raw", "vhd", "vhdx", "qcow2", "ext4", "ova",
						   NULL }))
		return refuse(cfg, err, where, "Type \"%s\" needs a disk with Partitions", a->type);
	return refuse(cfg, err, where, "Type \"%s\": not supported; a root is written as an "
			  "archive, initrd, squashfs or iso", a->type);
}

/* Artifacts of a disk with partitions (partition 0: the disk's own). */
static int check_disk_artifact(const struct imager_config *cfg, const struct imager_artifact *a,
			       const struct imager_partition *part, const char *where,
			       struct sy_error *err)
{
	static const char *const disk_kinds[] = { "raw", "vhd", "vhdx", "qcow2", "iso", "ova",
						  NULL };
	static const char *const part_kinds[] = { "raw", "ext4", NULL };
	const char *const *kinds = part ? part_kinds : disk_kinds;

	if (!one_of(a->type, kinds))
		return refuse(cfg, err, where, "Type \"%s\": not supported; %s", a->type,
			      part ? "a partition is written as raw or ext4"
				   : "a disk is written as raw, vhd, vhdx, qcow2, iso or ova");
	if (part && !strcmp(a->type, "ext4") && strncmp(part->fs_type, "ext", 3))
		return refuse(cfg, err, where, "Type ext4 of a partition with FsType \"%s\"",
			      part->fs_type);
	if (!artifact_known(a))
		return refuse(cfg, err, where, "Compression \"%s\" of a%s %s: not supported; %s",
			      a->compression, strcmp(a->type, "ova") ? "" : "n", a->type,
			      strcmp(a->type, "ova") ? "gz or xz" : "an OVA is never compressed");
	return 0;
}

static int check_partition(const struct imager_config *cfg, const struct imager_disk *d,
			   size_t i, struct sy_error *err)
{
	const struct imager_partition *p = &d->partitions[i];
	int mbr = !strcmp(d->partition_table_type, "mbr");
	char where[96];
	enum imager_fs fs;
	const char *why = "";

	snprintf(where, sizeof(where), "Disks[0].Partitions[%zu]", i);
	if (imager_fs_from_name(p->fs_type, &fs, &why))
		return refuse(cfg, err, where, "FsType \"%s\": not supported: %s", p->fs_type, why);
	uint64_t end_mib = p->end_mib ? p->end_mib : d->max_size_mib;
	if (fs == IMAGER_FS_XFS && (end_mib <= p->start_mib ||
				    (end_mib - p->start_mib) << 20 < IMAGER_XFS_MIN_BYTES))
		return refuse(cfg, err, where, "FsType \"xfs\" needs at least %llu MiB (mkfs.xfs)",
			      IMAGER_XFS_MIN_BYTES >> 20);
	if (has_flag(p, "dmroot"))
		return refuse(cfg, err, where, "Flags dmroot: not supported (no dm-verity or "
				  "encryption)");
	if (p->start_mib == 0)
		return refuse(cfg, err, where, "Start 0 overlaps the partition table; start at 1 MiB");
	if (strpbrk(p->name, "\"\\"))
		return refuse(cfg, err, where, "Name with '\"' or '\\': not supported");
	if (mbr && (p->type_uuid[0] || has_flag(p, "bios_grub") || has_flag(p, "bios-grub") ||
		    has_flag(p, "grub") ||
		    (p->type[0] && !one_of(p->type, (const char *const[]){ "linux", "esp",
									     "linux-swap", NULL }))))
		return refuse(cfg, err, where, "on an mbr disk only Type linux, esp or linux-swap "
				  "and Flags esp and boot are supported");
	if (mbr && i >= 4)
		return refuse(cfg, err, where, "an mbr disk holds 4 partitions (extended "
				  "partitions are not supported)");
	for (size_t k = 0; k < p->nartifacts; k++) {
		snprintf(where, sizeof(where), "Disks[0].Partitions[%zu].Artifacts[%zu]", i, k);
		if (check_disk_artifact(cfg, &p->artifacts[k], p, where, err))
			return -1;
	}
	return 0;
}

/* A mount point the split can use: absolute, no empty, "." or ".."
 * component, no trailing '/'. */
static int clean_mount_point(const char *mp)
{
	if (mp[0] != '/')
		return 0;
	if (!strcmp(mp, "/"))
		return 1;
	for (const char *c = mp; *c; c++)
		if (c[0] == '/' && (c[1] == '/' || c[1] == '\0' ||
				    (c[1] == '.' && (c[2] == '/' || c[2] == '\0' ||
						     (c[2] == '.' && (c[3] == '/' || !c[3]))))))
			return 0;
	return 1;
}

static int check_settings(const struct imager_config *cfg, const struct imager_disk *d,
			  struct sy_error *err)
{
	const struct imager_system_config *s = &cfg->systems[0];
	int has_root = 0;
	char where[96];

	for (size_t i = 0; i < s->npartition_settings; i++) {
		const struct imager_partition_setting *q = &s->partition_settings[i];
		const struct imager_partition *p = NULL;
		snprintf(where, sizeof(where), "SystemConfigs[0].PartitionSettings[%zu]", i);
		for (size_t k = 0; k < d->npartitions; k++)
			if (!strcmp(d->partitions[k].id, q->id))
				p = &d->partitions[k];
		if (!p)
			return refuse(cfg, err, where, "ID \"%s\" is not a partition of Disks[0]: "
					  "not supported (one disk is composed)", q->id);
		if (q->overlay_base_image[0] || q->rdiff_base_image[0])
			return refuse(cfg, err, where, "%s: not supported", q->overlay_base_image[0]
						       ? "OverlayBaseImage" : "RdiffBaseImage");
		if (q->remove_docs)
			return refuse(cfg, err, where, "RemoveDocs: not supported");
		if (q->mount_point[0] && !clean_mount_point(q->mount_point))
			return refuse(cfg, err, where, "MountPoint \"%s\" is not a clean absolute "
					  "path", q->mount_point);
		if (q->mount_point[0] && (!p->fs_type[0] || !strcmp(p->fs_type, "linux-swap")))
			return refuse(cfg, err, where, "MountPoint \"%s\" on a partition without a "
					  "filesystem to mount", q->mount_point);
		if (strpbrk(q->mount_options, " \t\n"))
			return refuse(cfg, err, where, "MountOptions \"%s\" has white space",
				      q->mount_options);
		has_root |= !strcmp(q->mount_point, "/");
	}
	if (!has_root)
		return refuse(cfg, err, "SystemConfigs[0].PartitionSettings", "no partition is "
				  "mounted at /: the root has nowhere to go");
	return 0;
}

/* No two artifacts may write the same file. */
static int check_names(const struct imager_config *cfg, const struct imager_disk *d,
		       struct sy_error *err)
{
	struct sy_strv files = SY_STRV_INIT;
	int rc = 0;

	for (size_t i = 0; i < d->nartifacts; i++) {
		const char *suffix = imager_artifact_suffix(&d->artifacts[i]);
		sy_strv_push_owned(&files, suffix ? sy_xasprintf("%s.%s", d->artifacts[i].name,
								  suffix)
						  : imager_disk_artifact_file(&d->artifacts[i]));
	}
	for (size_t i = 0; i < d->npartitions; i++)
		for (size_t k = 0; k < d->partitions[i].nartifacts; k++)
			sy_strv_push_owned(&files,
					   imager_disk_artifact_file(&d->partitions[i].artifacts[k]));
	for (size_t i = 0; rc == 0 && i < files.n; i++)
		for (size_t j = 0; rc == 0 && j < i; j++)
			if (!strcmp(files.items[i], files.items[j]))
				rc = refuse(cfg, err, "Disks[0]", "two artifacts write %s",
					    files.items[i]);
	sy_strv_release(&files);
	return rc;
}

int imager_disk_check_support(const struct imager_config *cfg, struct sy_error *err)
{
	const struct imager_disk *d;
	char where[64];

	if (!cfg->ndisks)
		return 0;
	d = &cfg->disks[0];
	if (!d->npartitions) {
		for (size_t i = 0; i < d->nartifacts; i++) {
			snprintf(where, sizeof(where), "Disks[0].Artifacts[%zu]", i);
			if (check_rootfs_artifact(cfg, &d->artifacts[i], where, err))
				return -1;
		}
		return check_names(cfg, d, err);
	}
	if (!d->partition_table_type[0])
		return refuse(cfg, err, "Disks[0].PartitionTableType", "gpt or mbr is required "
				  "with Partitions");
	if (!cfg->nsystems)
		return refuse(cfg, err, "SystemConfigs", "a disk with Partitions needs "
				  "PartitionSettings to mount them");
	for (size_t i = 0; i < d->nartifacts; i++) {
		snprintf(where, sizeof(where), "Disks[0].Artifacts[%zu]", i);
		if (check_disk_artifact(cfg, &d->artifacts[i], NULL, where, err))
			return -1;
	}
	for (size_t i = 0; i < d->npartitions; i++)
		if (check_partition(cfg, d, i, err))
			return -1;
	return check_settings(cfg, d, err) || check_names(cfg, d, err) ? -1 : 0;
}

/* ------------------------------------------------------------------------ */
/* Layout.                                                                   */

static void part_type(const struct imager_disk_layout *l, const struct imager_partition *p,
		      enum imager_fs fs, char out[37])
{
	const char *t;

	if (!l->gpt) {
		t = has_flag(p, "esp") || !strcmp(p->type, "esp") ? "ef"
		    : fs == IMAGER_FS_SWAP || !strcmp(p->type, "linux-swap") ? "82"
		    : fs == IMAGER_FS_VFAT ? "0c" : "83";
	} else if (p->type_uuid[0]) {
		t = p->type_uuid;
	} else if (p->type[0]) {
		t = imager_partition_type_uuid(p->type);
	} else if (has_flag(p, "esp") || has_flag(p, "boot")) {
		t = GPT_TYPE_ESP;
	} else if (has_flag(p, "bios_grub") || has_flag(p, "bios-grub") || has_flag(p, "grub")) {
		t = GPT_TYPE_BIOS_BOOT;
	} else {
		t = fs == IMAGER_FS_SWAP ? imager_partition_type_uuid("linux-swap") : GPT_TYPE_LINUX;
	}
	snprintf(out, 37, "%s", t);
	for (char *c = out; *c; c++)
		*c = (char)tolower((unsigned char)*c);
}

int imager_disk_layout(const struct imager_config *cfg, const char *key,
		       struct imager_disk_layout *l, struct sy_error *err)
{
	const struct imager_disk *d = &cfg->disks[0];
	char what[128], where[64];
	uint64_t sectors;

	memset(l, 0, sizeof(*l));
	l->gpt = strcmp(d->partition_table_type, "mbr") != 0;
	l->bytes = d->max_size_mib * MIB;
	sectors = l->bytes / SECTOR;
	imager_derive_uuid(key, "disk", l->disk_id);
	if (!l->gpt) {
		char id[9];
		memcpy(id, l->disk_id, 8);
		id[8] = '\0';
		snprintf(l->disk_id, sizeof(l->disk_id), "0x%s", id);
	}
	/* The last sector a partition may use, plus one, 4 KiB aligned. */
	uint64_t end_max = (l->gpt ? sectors - GPT_BACKUP_SECTORS : sectors) & ~7ull;
	l->parts = sy_xcalloc(d->npartitions + 1, sizeof(*l->parts));
	for (size_t i = 0; i < d->npartitions; i++) {
		struct imager_disk_part *q = &l->parts[l->nparts++];
		const struct imager_partition *p = &d->partitions[i];
		const char *why;
		uint64_t start = p->start_mib * MIB / SECTOR;
		uint64_t end = p->end_mib ? p->end_mib * MIB / SECTOR : end_max;

		snprintf(where, sizeof(where), "Disks[0].Partitions[%zu]", i);
		if (end > end_max || start >= end) {
			imager_disk_layout_release(l);
			return refuse(cfg, err, where, "End %llu MiB reaches %s at the end of the "
					  "disk (MaxSize %llu MiB)", (unsigned long long)p->end_mib,
				      l->gpt ? "the backup GPT" : "past the space",
				      (unsigned long long)d->max_size_mib);
		}
		q->index = i;
		q->part = p;
		q->setting = setting_of(cfg, p->id);
		if (imager_fs_from_name(p->fs_type, &q->fs, &why))
			q->fs = IMAGER_FS_NONE;
		q->start = start * SECTOR;
		q->bytes = (end - start) * SECTOR;
		part_type(l, p, q->fs, q->type);
		snprintf(what, sizeof(what), "partuuid/%s", p->id);
		imager_derive_uuid(key, what, q->part_uuid);
		if (!l->gpt)
			snprintf(q->part_uuid, sizeof(q->part_uuid), "%s-%02zx", l->disk_id + 2, i + 1);
		snprintf(what, sizeof(what), "fsuuid/%s", p->id);
		imager_derive_uuid(key, what, q->fs_uuid);
		snprintf(what, sizeof(what), "hashseed/%s", p->id);
		imager_derive_uuid(key, what, q->hash_seed);
	}
	return 0;
}

void imager_disk_layout_release(struct imager_disk_layout *l)
{
	free(l->parts);
	memset(l, 0, sizeof(*l));
}

static int by_mount_point(const void *a, const void *b)
{
	const struct imager_disk_part *x = *(const struct imager_disk_part *const *)a;
	const struct imager_disk_part *y = *(const struct imager_disk_part *const *)b;

	return strcmp(x->setting->mount_point, y->setting->mount_point);
}

/* The partitions with a mount point, sorted by it (parents first). */
static size_t mounted_parts(const struct imager_disk_layout *l,
			    const struct imager_disk_part **out)
{
	size_t n = 0;

	for (size_t i = 0; i < l->nparts; i++)
		if (l->parts[i].setting && l->parts[i].setting->mount_point[0])
			out[n++] = &l->parts[i];
	qsort(out, n, sizeof(*out), by_mount_point);
	return n;
}

static const char *fs_name(enum imager_fs fs)
{
	switch (fs) {
	case IMAGER_FS_EXT2:
		return "ext2";
	case IMAGER_FS_EXT3:
		return "ext3";
	case IMAGER_FS_EXT4:
		return "ext4";
	case IMAGER_FS_VFAT:
		return "vfat";
	case IMAGER_FS_XFS:
		return "xfs";
	case IMAGER_FS_SWAP:
		return "swap";
	case IMAGER_FS_NONE:
		break;
	}
	return "none";
}

void imager_disk_part_ident(const struct imager_disk_part *q, char out[IMAGER_DISK_IDENT_MAX])
{
	const char *how = q->setting ? q->setting->mount_identifier : "partuuid";

	if (!strcmp(how, "uuid") && q->fs == IMAGER_FS_VFAT)
		snprintf(out, IMAGER_DISK_IDENT_MAX, "UUID=%.4s-%.4s", q->fs_uuid, q->fs_uuid + 4);
	else if (!strcmp(how, "uuid"))
		snprintf(out, IMAGER_DISK_IDENT_MAX, "UUID=%s", q->fs_uuid);
	else if (!strcmp(how, "partlabel"))
		snprintf(out, IMAGER_DISK_IDENT_MAX, "PARTLABEL=%s", q->part->name);
	else
		snprintf(out, IMAGER_DISK_IDENT_MAX, "PARTUUID=%s", q->part_uuid);
	for (char *c = out; q->fs == IMAGER_FS_VFAT && !strncmp(out, "UUID", 4) && *c; c++)
		*c = (char)toupper((unsigned char)*c);
}

char *imager_disk_fstab(const struct imager_disk_layout *l)
{
	const struct imager_disk_part **parts = sy_xcalloc(l->nparts + 1, sizeof(*parts));
	size_t n = mounted_parts(l, parts);
	struct sy_strv lines = SY_STRV_INIT;
	char *text;

	sy_strv_push(&lines, "# Written by shipyard from the image config's PartitionSettings.\n");
	for (size_t i = 0; i < n; i++) {
		const struct imager_disk_part *q = parts[i];
		const struct imager_partition_setting *s = q->setting;
		char ident[IMAGER_DISK_IDENT_MAX];
		imager_disk_part_ident(q, ident);
		sy_strv_pushf(&lines, "%s %s %s %s 0 %d\n", ident, s->mount_point, fs_name(q->fs),
			      s->mount_options[0] ? s->mount_options : "defaults",
			      !strcmp(s->mount_point, "/") ? 1 : 2);
	}
	text = sy_strv_join(&lines, "");
	sy_strv_release(&lines);
	free(parts);
	return text;
}

char *imager_disk_sfdisk_script(const struct imager_disk_layout *l)
{
	struct sy_strv lines = SY_STRV_INIT;
	char *text;

	sy_strv_pushf(&lines, "label: %s\nlabel-id: %s\nunit: sectors\nsector-size: 512\n",
		      l->gpt ? "gpt" : "dos", l->disk_id);
	if (l->gpt)
		sy_strv_push(&lines, "first-lba: 2048\n");
	sy_strv_push(&lines, "\n");
	for (size_t i = 0; i < l->nparts; i++) {
		const struct imager_disk_part *q = &l->parts[i];
		sy_strv_pushf(&lines, "start=%llu, size=%llu, type=%s",
			      (unsigned long long)(q->start / SECTOR),
			      (unsigned long long)(q->bytes / SECTOR), q->type);
		if (l->gpt)
			sy_strv_pushf(&lines, ", uuid=%s%s%s%s", q->part_uuid,
				      q->part->name[0] ? ", name=\"" : "", q->part->name,
				      q->part->name[0] ? "\"" : "");
		else if (has_flag(q->part, "boot"))
			sy_strv_push(&lines, ", bootable");
		sy_strv_push(&lines, "\n");
	}
	text = sy_strv_join(&lines, "");
	sy_strv_release(&lines);
	return text;
}

/* ------------------------------------------------------------------------ */
/* Writing.                                                                  */

/* A subtree of the root moved out to be a partition's content. */
struct held {
	char *mount; /* rootfs + mount point */
	char *tree;  /* where it is held, under the work directory */
	int moved;   /* 1 once moved out: put back by restore */
};

/* Checks that every component of mount point mp under rootfs is a real
 * directory or missing (then made, 0755); a link is refused. */
static int mount_dir(const char *rootfs, const char *mp, long long epoch, struct sy_error *err)
{
	char *path = sy_xasprintf("%s%s", rootfs, mp);
	size_t base = strlen(rootfs);
	int rc = 0;

	for (size_t i = base + 1; rc == 0; i++) {
		char c = path[i];
		if (c != '/' && c != '\0')
			continue;
		path[i] = '\0';
		struct stat st;
		const struct timespec t[2] = { { (time_t)epoch, 0 }, { (time_t)epoch, 0 } };
		if (lstat(path, &st) == 0) {
			if (!S_ISDIR(st.st_mode))
				rc = sy_error_set(err, "MountPoint %s: %s is not a directory in the "
						  "image", mp, path + base);
		} else if (errno != ENOENT || mkdir(path, 0755) < 0 ||
			   utimensat(AT_FDCWD, path, t, 0) < 0) {
			rc = sy_error_set(err, "%s: %s", path, strerror(errno));
		}
		path[i] = c;
		if (c == '\0')
			break;
	}
	free(path);
	return rc;
}

/* Moves h->mount to h->tree and leaves an empty directory of the same
 * mode, owner and times in its place (the mount point). */
static int hold(struct held *h, struct sy_error *err)
{
	struct stat st;

	if (lstat(h->mount, &st) < 0 || rename(h->mount, h->tree) < 0)
		return sy_error_set(err, "%s: %s", h->mount, strerror(errno));
	h->moved = 1;
	const struct timespec t[2] = { st.st_atim, st.st_mtim };
	if (mkdir(h->mount, st.st_mode & 07777) < 0 || lchown(h->mount, st.st_uid, st.st_gid) < 0 ||
	    chmod(h->mount, st.st_mode & 07777) < 0 || utimensat(AT_FDCWD, h->mount, t, 0) < 0)
		return sy_error_set(err, "%s: %s", h->mount, strerror(errno));
	return 0;
}

/* Puts the held trees back, last moved first. */
static int restore(struct held *held, size_t n, struct sy_error *err)
{
	int rc = 0;

	for (size_t i = n; i-- > 0;) {
		if (!held[i].moved)
			continue;
		if ((rmdir(held[i].mount) < 0 && errno != ENOENT) ||
		    rename(held[i].tree, held[i].mount) < 0) {
			if (rc == 0)
				rc = sy_error_set(err, "putting back %s: %s", held[i].mount,
						  strerror(errno));
			continue;
		}
		held[i].moved = 0;
	}
	return rc;
}

static int deeper_first(const void *a, const void *b)
{
	const struct imager_disk_part *x = *(const struct imager_disk_part *const *)a;
	const struct imager_disk_part *y = *(const struct imager_disk_part *const *)b;

	return -strcmp(x->setting->mount_point, y->setting->mount_point);
}

/* Sums the bytes the files under a tree take (links not followed). */
static uint64_t tree_bytes_total;
static int add_bytes(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)path;
	(void)type;
	(void)ftw;
	tree_bytes_total += (uint64_t)st->st_blocks * 512;
	return 0;
}

static uint64_t free_bytes(const char *dir)
{
	struct statvfs v;

	return statvfs(dir, &v) == 0 ? (uint64_t)v.f_bavail * v.f_frsize : 0;
}

/* Refuses a disk over the limit, or whose files would not fit: the
 * partition files and the raw disk in the work directory (each about the
 * root's size, holes being free), each artifact in out_dir. */
static int check_room(const struct imager_config *cfg, const struct imager_inputs *in,
		      const char *rootfs, const char *work_dir, const char *out_dir,
		      struct sy_error *err)
{
	const struct imager_disk *d = &cfg->disks[0];
	uint64_t max = in->max_disk_mib ? in->max_disk_mib : IMAGER_MAX_DISK_MIB_DEFAULT;
	size_t nart = d->nartifacts;

	if (d->max_size_mib > max)
		return sy_error_set(err, "image %s: MaxSize %llu MiB is above the limit of %llu MiB "
				    "(shipyard.conf image.maxdisksize)", cfg->name,
				    (unsigned long long)d->max_size_mib, (unsigned long long)max);
	for (size_t i = 0; i < d->npartitions; i++)
		nart += d->partitions[i].nartifacts;
	tree_bytes_total = 0;
	nftw(rootfs, add_bytes, 64, FTW_PHYS | FTW_MOUNT);
	uint64_t need_work = 2 * tree_bytes_total + 64 * MIB;
	uint64_t need_out = nart * tree_bytes_total + 64 * MIB;
	uint64_t work_free = free_bytes(work_dir), out_free = free_bytes(out_dir);
	if (work_free < need_work || out_free < need_out)
		return sy_error_set(err, "image %s: not enough free space: the disk needs about %llu "
				    "MiB in %s (%llu free) and %llu MiB in %s (%llu free)",
				    cfg->name, (unsigned long long)(need_work / MIB), work_dir,
				    (unsigned long long)(work_free / MIB),
				    (unsigned long long)(need_out / MIB), out_dir,
				    (unsigned long long)(out_free / MIB));
	return 0;
}

/* The file a partition's filesystem is built in. */
static char *part_file(const char *work_dir, const struct imager_disk_part *q)
{
	return sy_xasprintf("%s/partition%zu.img", work_dir, q->index + 1);
}

/* Moves every mounted subtree but / out of the root (deepest first) into
 * held[], builds each partition's filesystem, and puts the trees back. */
static int build_partitions(const struct imager_disk_layout *l, const struct imager_inputs *in,
			    const char *rootfs, const char *work_dir, int log_fd,
			    struct sy_error *err)
{
	const struct imager_disk_part **order = sy_xcalloc(l->nparts + 1, sizeof(*order));
	struct held *held = sy_xcalloc(l->nparts + 1, sizeof(*held));
	char **source = sy_xcalloc(l->nparts + 1, sizeof(*source));
	size_t n = mounted_parts(l, order), nheld = 0;
	int rc = 0;

	qsort(order, n, sizeof(*order), deeper_first);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const char *mp = order[i]->setting->mount_point;
		if (!strcmp(mp, "/")) {
			source[order[i]->index] = sy_xstrdup(rootfs);
			continue;
		}
		struct held *h = &held[nheld++];
		h->mount = sy_xasprintf("%s%s", rootfs, mp);
		h->tree = sy_xasprintf("%s/partition%zu.tree", work_dir, order[i]->index + 1);
		source[order[i]->index] = sy_xstrdup(h->tree);
		sy_rm_rf(h->tree, NULL);
		rc = mount_dir(rootfs, mp, in->epoch, err);
		if (rc == 0)
			rc = hold(h, err);
	}
	for (size_t i = 0; rc == 0 && i < l->nparts; i++) {
		const struct imager_disk_part *q = &l->parts[i];
		char *image = part_file(work_dir, q);
		const struct imager_fs_build b = {
			.fs = q->fs, .fs_type = q->part->fs_type, .source = source[i], .image = image,
			.bytes = q->bytes, .uuid = q->fs_uuid, .hash_seed = q->hash_seed,
			.epoch = in->epoch, .log_fd = log_fd,
		};
		if (source[i])
			rc = imager_tree_clamp_times(source[i], in->epoch, err);
		if (rc == 0)
			rc = imager_fs_build(&b, err);
		free(image);
	}
	if (restore(held, nheld, rc ? NULL : err) && rc == 0)
		rc = -1;
	if (rc == 0)
		rc = imager_tree_clamp_times(rootfs, in->epoch, err);
	for (size_t i = 0; i < l->nparts; i++)
		free(source[i]);
	for (size_t i = 0; i < nheld; i++) {
		free(held[i].mount);
		free(held[i].tree);
	}
	free(source);
	free(held);
	free(order);
	return rc;
}

/* Writes the partition table into a sparse file of the disk's size, then
 * copies each partition in at its offset. */
static int assemble(const struct imager_disk_layout *l, const struct imager_inputs *in,
		    const char *work_dir, const char *raw, int log_fd, struct sy_error *err)
{
	char *script = imager_disk_sfdisk_script(l);
	char *script_path = sy_xasprintf("%s/disk.sfdisk", work_dir);
	const char *argv[] = { "sfdisk", "--quiet", "--no-reread", "--no-tell-kernel",
			       "--wipe", "never", raw, NULL };
	uint64_t written = 0;
	int fd = -1, rc;

	rc = sy_write_file(script_path, script, strlen(script), 0644, err);
	if (rc == 0) {
		fd = open(raw, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || ftruncate(fd, (off_t)l->bytes) < 0)
			rc = sy_error_set(err, "%s: %s", raw, strerror(errno));
	}
	if (rc == 0)
		rc = imager_tool_run(argv, in->epoch, script_path, log_fd, err);
	for (size_t i = 0; rc == 0 && i < l->nparts; i++) {
		char *image = part_file(work_dir, &l->parts[i]);
		rc = imager_copy_sparse(image, fd, l->parts[i].start, &written, err);
		free(image);
	}
	if (rc == 0 && fsync(fd) < 0)
		rc = sy_error_set(err, "%s: %s", raw, strerror(errno));
	if (rc == 0 && log_fd >= 0)
		dprintf(log_fd, "disk: %llu bytes of partitions written into %llu bytes\n",
			(unsigned long long)written, (unsigned long long)l->bytes);
	if (fd >= 0)
		close(fd);
	free(script_path);
	free(script);
	return rc;
}

/* The ISO volume id of a config: its name in [A-Z0-9_], 32 at most. */
static void iso_volume(const char *name, char out[33])
{
	size_t i;

	for (i = 0; name[i] && i < 32; i++)
		out[i] = isalnum((unsigned char)name[i]) ? (char)toupper((unsigned char)name[i]) : '_';
	out[i] = '\0';
}

/* The ESP's filesystem file, the El Torito image of an iso, or NULL. */
static char *esp_file(const struct imager_disk_layout *l, const char *work_dir)
{
	for (size_t i = 0; l && i < l->nparts; i++)
		if (l->parts[i].fs == IMAGER_FS_VFAT &&
		    (!strcmp(l->parts[i].type, GPT_TYPE_ESP) || !strcmp(l->parts[i].type, "ef")))
			return part_file(work_dir, &l->parts[i]);
	return NULL;
}

/* 1 when cfg's image boots by EFI. */
static int efi_boot(const struct imager_config *cfg)
{
	return cfg->nsystems && !strcmp(cfg->systems[0].boot_type, "efi");
}

/* Writes one artifact: from the raw disk or a partition file (from), or
 * from the root (iso, squashfs), compressed when asked. */
static int write_artifact(const struct imager_config *cfg, const struct imager_artifact *a,
			  const struct imager_inputs *in, const char *from, const char *rootfs,
			  const char *esp, const char *work_dir, const char *out_dir, int log_fd,
			  struct sy_strv *artifacts, struct sy_error *err)
{
	char *file = imager_disk_artifact_file(a);
	char *out = sy_xasprintf("%s/%s", out_dir, file);
	char *plain = a->compression[0] ? sy_xasprintf("%s/artifact-%s.%s", work_dir, a->name,
							a->type)
					: sy_xstrdup(out);
	char volume[33];
	int rc;

	iso_volume(cfg->name, volume);
	if (log_fd >= 0)
		dprintf(log_fd, "image %s: writing %s\n", cfg->name, file);
	if (!from && strcmp(a->type, "iso") && strcmp(a->type, "squashfs"))
		rc = sy_error_set(err, "%s: a %s needs a disk with Partitions", file, a->type);
	else if (!strcmp(a->type, "iso"))
		rc = imager_iso_build(rootfs, esp, volume, plain, in->epoch, log_fd, err);
	else if (!strcmp(a->type, "squashfs"))
		rc = imager_squashfs_build(rootfs, plain, in->epoch, log_fd, err);
	else if (!strcmp(a->type, "ova"))
		rc = imager_ova_write(&(const struct imager_ova){ .name = a->name,
								  .system = cfg->name,
								  .efi = efi_boot(cfg),
								  .key = in->key,
								  .epoch = in->epoch },
				      from, work_dir, plain, log_fd, err);
	else
		rc = imager_disk_convert(from, !strcmp(a->type, "ext4") ? "raw" : a->type, plain,
					 in->key, in->epoch, log_fd, err);
	if (rc == 0 && a->compression[0]) {
		rc = imager_compress_file(plain, a->compression, out, err);
		unlink(plain);
	}
	if (rc == 0)
		sy_strv_push(artifacts, out);
	else
		sy_error_prefix(err, "image %s", cfg->name);
	free(plain);
	free(out);
	free(file);
	return rc;
}

static int write_disk(const struct imager_config *cfg, const struct imager_inputs *in,
		      const char *rootfs, const char *work_dir, const char *out_dir, int log_fd,
		      struct sy_strv *artifacts, struct sy_error *err)
{
	const struct imager_disk *d = &cfg->disks[0];
	struct imager_disk_layout l;
	char *raw = sy_xasprintf("%s/disk.raw", work_dir), *esp = NULL;
	int rc = check_room(cfg, in, rootfs, work_dir, out_dir, err);

	if (rc || imager_disk_layout(cfg, in->key, &l, err)) {
		free(raw);
		return -1;
	}
	rc = build_partitions(&l, in, rootfs, work_dir, log_fd, err);
	if (rc == 0)
		rc = assemble(&l, in, work_dir, raw, log_fd, err);
	esp = esp_file(&l, work_dir);
	for (size_t i = 0; rc == 0 && i < d->nartifacts; i++)
		rc = write_artifact(cfg, &d->artifacts[i], in, raw, rootfs, esp, work_dir, out_dir,
				    log_fd, artifacts, err);
	for (size_t i = 0; rc == 0 && i < l.nparts; i++) {
		char *from = part_file(work_dir, &l.parts[i]);
		for (size_t k = 0; rc == 0 && k < l.parts[i].part->nartifacts; k++)
			rc = write_artifact(cfg, &l.parts[i].part->artifacts[k], in, from, rootfs,
					    esp, work_dir, out_dir, log_fd, artifacts, err);
		unlink(from);
		free(from);
	}
	unlink(raw);
	free(esp);
	free(raw);
	imager_disk_layout_release(&l);
	return rc;
}

int imager_disk_write(const struct imager_config *cfg, const struct imager_inputs *in,
		      const char *rootfs, const char *work_dir, const char *out_dir, int log_fd,
		      struct sy_strv *artifacts, struct sy_error *err)
{
	const struct imager_disk *d = cfg->ndisks ? &cfg->disks[0] : NULL;
	int rc = 0;

	if (!d)
		return 0;
	if (d->npartitions)
		return write_disk(cfg, in, rootfs, work_dir, out_dir, log_fd, artifacts, err);
	for (size_t i = 0; rc == 0 && i < d->nartifacts; i++)
		if (d->artifacts[i].type[0] && !imager_artifact_suffix(&d->artifacts[i]))
			rc = write_artifact(cfg, &d->artifacts[i], in, NULL, rootfs, NULL, work_dir,
					    out_dir, log_fd, artifacts, err);
	return rc;
}
