#define _GNU_SOURCE
#include "imager/imagevalidate.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imager/bootloader.h"
#include "imager/disk.h"

/* The toolkit's PartitionTypeNameToUUID (imagegen/configuration). */
static const char *const partition_types[][2] = {
	{ "linux", "0fc63daf-8483-4772-8e79-3d69d8477de4" },
	{ "esp", "c12a7328-f81f-11d2-ba4b-00a0c93ec93b" },
	{ "xbootldr", "bc13c2ff-59e6-4262-a352-b275fd6f7172" },
	{ "linux-root-amd64", "4f68bce3-e8cd-4db1-96e7-fbcaf984b709" },
	{ "linux-swap", "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f" },
	{ "linux-home", "933ac7e1-2eb4-4f13-b844-0e14e2aef915" },
	{ "linux-srv", "3b8f8425-20e0-4f3b-907f-1a25a76f98e8" },
	{ "linux-var", "4d21b016-b534-45c2-a9fb-5c16e091fd2d" },
	{ "linux-tmp", "7ec6f557-3bc5-4aca-b293-16ef5df639d1" },
	{ "linux-lvm", "e6d6d379-f507-44c2-a23c-238f2a3df928" },
	{ "linux-raid", "a19d880f-05fc-4d3b-a006-743f0f84911e" },
	{ "linux-luks", "ca7d7ccb-63ed-4c53-861c-1742536059cc" },
	{ "linux-dm-crypt", "7ffec5c9-2d00-49b7-8941-3ea10a5586b7" },
};

static const char *const table_types[] = { "", "gpt", "mbr", NULL };
static const char *const partition_flags[] = { "esp", "grub", "bios_grub", "bios-grub", "boot",
					       "dmroot", NULL };
static const char *const fs_types[] = { "", "ext2", "ext3", "ext4", "xfs", "vfat", "fat12",
					"fat16", "fat32", "linux-swap", NULL };
static const char *const artifact_types[] = { "", "raw", "ext4", "vhd", "vhdx", "qcow2", "ova",
					      "squashfs", "initrd", "diff", "rdiff", "iso", NULL };
static const char *const compressions[] = { "", "tar.gz", "tar.xz", "gz", "xz", NULL };
static const char *const boot_types[] = { "", "efi", "legacy", "none", NULL };
static const char *const mount_identifiers[] = { "partuuid", "uuid", "partlabel", NULL };
static const char *const cgroups[] = { "", "version_one", "version_two", NULL };
static const char *const ima_policies[] = { "tcb", "appraise_tcb", "secure_boot", NULL };
static const char *const selinux_modes[] = { "", "enforcing", "permissive", "force_enforcing",
					     NULL };

const char *imager_partition_type_uuid(const char *name)
{
	for (size_t i = 0; i < sizeof(partition_types) / sizeof(partition_types[0]); i++)
		if (!strcmp(partition_types[i][0], name))
			return partition_types[i][1];
	return NULL;
}

static int one_of(const char *v, const char *const *set)
{
	for (size_t i = 0; set[i]; i++)
		if (!strcmp(set[i], v))
			return 1;
	return 0;
}

/* "<file>: <where>: <message>"; returns -1. */
static int bad(const struct imager_config *cfg, struct sy_error *err, const char *where,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int bad(const struct imager_config *cfg, struct sy_error *err, const char *where,
	       const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sy_error_set(err, "%s: %s: %s", cfg->path, where, msg);
}

/* ------------------------------------------------------------------------ */
/* The toolkit's rules.                                                      */

static int is_uuid(const char *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	if (strlen(s) != sizeof(shape) - 1)
		return 0;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static int check_artifact(const struct imager_config *cfg, const struct imager_artifact *a,
			  const char *where, struct sy_error *err)
{
	if (!one_of(a->type, artifact_types))
		return bad(cfg, err, where, "Type \"%s\" is not one of raw, ext4, vhd, vhdx, "
				  "qcow2, ova, squashfs, initrd, diff, rdiff, iso", a->type);
	if (!one_of(a->compression, compressions))
		return bad(cfg, err, where, "Compression \"%s\" is not one of tar.gz, tar.xz, gz, "
				  "xz", a->compression);
	return 0;
}

static int check_partition(const struct imager_config *cfg, const struct imager_partition *q,
			   const char *where, struct sy_error *err)
{
	if (!q->id[0])
		return bad(cfg, err, where, "ID is required");
	if (!one_of(q->fs_type, fs_types))
		return bad(cfg, err, where, "FsType \"%s\" is not one of ext2, ext3, ext4, xfs, "
				  "vfat, fat12, fat16, fat32, linux-swap", q->fs_type);
	for (size_t k = 0; k < q->flags.n; k++)
		if (!one_of(q->flags.items[k], partition_flags))
			return bad(cfg, err, where, "Flags: \"%s\" is not one of esp, grub, "
					  "bios_grub, bios-grub, boot, dmroot", q->flags.items[k]);
	if (q->type[0] && q->type_uuid[0])
		return bad(cfg, err, where, "Type and TypeUUID are exclusive");
	if (q->type[0] && !imager_partition_type_uuid(q->type))
		return bad(cfg, err, where, "Type \"%s\" is not a known partition type", q->type);
	if (q->type_uuid[0] && !is_uuid(q->type_uuid))
		return bad(cfg, err, where, "TypeUUID \"%s\" is not a UUID", q->type_uuid);
	for (const char *c = q->name; *c; c++)
		if ((unsigned char)*c > 0x7e || (unsigned char)*c < 0x20)
			return bad(cfg, err, where, "Name must be printable ASCII");
	if (strlen(q->name) > 35)
		return bad(cfg, err, where, "Name \"%s\" is longer than 35 characters", q->name);
	if (q->end_mib && q->end_mib <= q->start_mib)
		return bad(cfg, err, where, "End %llu is not after Start %llu",
			   (unsigned long long)q->end_mib, (unsigned long long)q->start_mib);
	return 0;
}

/* Partitions must not overlap (in Start order, as the toolkit sorts them),
 * and a disk with partitions needs a MaxSize that holds them. */
static int check_layout(const struct imager_config *cfg, const struct imager_disk *d, size_t di,
			struct sy_error *err)
{
	char where[64];
	uint64_t last = 0;

	snprintf(where, sizeof(where), "Disks[%zu]", di);
	if (d->npartitions && !d->has_target_disk && d->max_size_mib == 0)
		return bad(cfg, err, where, "MaxSize is required with Partitions");
	if (!d->npartitions && d->max_size_mib)
		return bad(cfg, err, where, "MaxSize without Partitions: nothing to size");
	for (size_t i = 0; i < d->npartitions; i++) {
		const struct imager_partition *a = &d->partitions[i];
		/* b overlaps a when it starts first (or at the same MiB, listed
		 * first) and ends after a's start: End 0 fills the disk. */
		for (size_t j = 0; j < d->npartitions; j++) {
			const struct imager_partition *b = &d->partitions[j];
			int first = b->start_mib < a->start_mib || (b->start_mib == a->start_mib && j < i);
			if (j != i && first && (!b->end_mib || b->end_mib > a->start_mib)) {
				snprintf(where, sizeof(where), "Disks[%zu].Partitions[%zu]", di, i);
				return bad(cfg, err, where, "overlaps Partitions[%zu]", j);
			}
		}
		uint64_t top = a->end_mib ? a->end_mib : a->start_mib;
		if (top > last)
			last = top;
	}
	if (d->npartitions && d->max_size_mib && d->max_size_mib < last) {
		snprintf(where, sizeof(where), "Disks[%zu].MaxSize", di);
		return bad(cfg, err, where, "%llu MiB is smaller than the partitions (%llu MiB)",
			   (unsigned long long)d->max_size_mib, (unsigned long long)last);
	}
	return 0;
}

static int check_disks(const struct imager_config *cfg, struct sy_error *err)
{
	char where[96];

	for (size_t di = 0; di < cfg->ndisks; di++) {
		const struct imager_disk *d = &cfg->disks[di];
		snprintf(where, sizeof(where), "Disks[%zu].PartitionTableType", di);
		if (!one_of(d->partition_table_type, table_types))
			return bad(cfg, err, where, "\"%s\" is not gpt or mbr",
				   d->partition_table_type);
		for (size_t i = 0; i < d->nartifacts; i++) {
			snprintf(where, sizeof(where), "Disks[%zu].Artifacts[%zu]", di, i);
			if (check_artifact(cfg, &d->artifacts[i], where, err))
				return -1;
		}
		for (size_t i = 0; i < d->npartitions; i++) {
			const struct imager_partition *q = &d->partitions[i];
			snprintf(where, sizeof(where), "Disks[%zu].Partitions[%zu]", di, i);
			if (check_partition(cfg, q, where, err))
				return -1;
			for (size_t k = 0; k < q->nartifacts; k++) {
				snprintf(where, sizeof(where), "Disks[%zu].Partitions[%zu].Artifacts[%zu]",
					 di, i, k);
				if (check_artifact(cfg, &q->artifacts[k], where, err))
					return -1;
			}
			for (size_t dj = 0; dj <= di; dj++)
				for (size_t j = 0; j < (dj == di ? i : cfg->disks[dj].npartitions); j++)
					if (!strcmp(cfg->disks[dj].partitions[j].id, q->id)) {
						snprintf(where, sizeof(where),
							 "Disks[%zu].Partitions[%zu].ID", di, i);
						return bad(cfg, err, where, "\"%s\" is used twice",
							   q->id);
					}
		}
		if (check_layout(cfg, d, di, err))
			return -1;
	}
	return 0;
}

/* The partition of any disk with this ID, or NULL; *table gets its disk's
 * partition table type. */
static const struct imager_partition *find_partition(const struct imager_config *cfg,
						     const char *id, const char **table)
{
	for (size_t di = 0; di < cfg->ndisks; di++)
		for (size_t i = 0; i < cfg->disks[di].npartitions; i++)
			if (!strcmp(cfg->disks[di].partitions[i].id, id)) {
				*table = cfg->disks[di].partition_table_type;
				return &cfg->disks[di].partitions[i];
			}
	return NULL;
}

/* RFC 1123 host name, without '_' (the toolkit's hostname check). */
static int valid_hostname(const char *h)
{
	size_t label = 0, n = strlen(h);

	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		char c = h[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || h[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)c) && !(c == '-' && label > 0))
			return 0;
		label++;
	}
	return 1;
}

static int check_settings(const struct imager_config *cfg, const struct imager_system_config *s,
			  size_t si, struct sy_error *err)
{
	char where[128];

	for (size_t i = 0; i < s->npartition_settings; i++) {
		const struct imager_partition_setting *q = &s->partition_settings[i];
		const char *table = "";
		const struct imager_partition *part = find_partition(cfg, q->id, &table);

		snprintf(where, sizeof(where), "SystemConfigs[%zu].PartitionSettings[%zu]", si, i);
		if (!part)
			return bad(cfg, err, where, "ID \"%s\" has no matching partition in Disks",
				   q->id);
		if (!one_of(q->mount_identifier, mount_identifiers))
			return bad(cfg, err, where, "MountIdentifier \"%s\" is not uuid, partuuid or "
					  "partlabel", q->mount_identifier);
		if (!strcmp(q->mount_identifier, "partlabel") &&
		    (strcmp(table, "gpt") || !part->name[0]))
			return bad(cfg, err, where, "MountIdentifier partlabel needs a gpt disk and "
					  "a partition Name");
		if (q->mount_point[0] && q->mount_point[0] != '/')
			return bad(cfg, err, where, "MountPoint \"%s\" is not absolute",
				   q->mount_point);
		for (size_t j = 0; j < i; j++)
			if (q->mount_point[0] &&
			    !strcmp(s->partition_settings[j].mount_point, q->mount_point))
				return bad(cfg, err, where, "MountPoint \"%s\" is used twice",
					   q->mount_point);
	}
	if (s->npartition_settings && !s->kernel[0]) {
		snprintf(where, sizeof(where), "SystemConfigs[%zu].KernelOptions", si);
		return bad(cfg, err, where, "\"default\" (the kernel package) is required with "
				  "PartitionSettings");
	}
	return 0;
}

static int check_cmdline(const struct imager_config *cfg, const struct imager_kernel_cmdline *k,
			 size_t si, struct sy_error *err)
{
	char where[96];

	snprintf(where, sizeof(where), "SystemConfigs[%zu].KernelCommandLine", si);
	if (!one_of(k->cgroup, cgroups))
		return bad(cfg, err, where, "CGroup \"%s\" is not version_one or version_two",
			   k->cgroup);
	for (size_t i = 0; i < k->ima_policy.n; i++)
		if (!one_of(k->ima_policy.items[i], ima_policies))
			return bad(cfg, err, where, "ImaPolicy \"%s\" is not tcb, appraise_tcb or "
					  "secure_boot", k->ima_policy.items[i]);
	if (!one_of(k->selinux, selinux_modes))
		return bad(cfg, err, where, "SELinux \"%s\" is not enforcing, permissive or "
				  "force_enforcing", k->selinux);
	if (strchr(k->extra, '`'))
		return bad(cfg, err, where, "ExtraCommandLine must not contain '`'");
	return 0;
}

static int check_users(const struct imager_config *cfg, const struct imager_system_config *s,
		       size_t si, struct sy_error *err)
{
	char where[96];

	for (size_t i = 0; i < s->nusers; i++) {
		const struct imager_user *u = &s->users[i];
		snprintf(where, sizeof(where), "SystemConfigs[%zu].Users[%zu]", si, i);
		if (!u->name[0])
			return bad(cfg, err, where, "Name is required");
		if (u->uid != -1 && (u->uid < 0 || u->uid > 60000))
			return bad(cfg, err, where, "UID %ld is out of range 0..60000", u->uid);
		if (u->password_expires_days < -1 || u->password_expires_days > 99999)
			return bad(cfg, err, where, "PasswordExpiresDays %ld is out of range "
					  "-1..99999", u->password_expires_days);
	}
	for (size_t i = 0; i < s->ngroups; i++) {
		snprintf(where, sizeof(where), "SystemConfigs[%zu].Groups[%zu]", si, i);
		if (!s->groups[i].name[0])
			return bad(cfg, err, where, "Name is required");
		if (s->groups[i].gid != -1 && (s->groups[i].gid < 0 || s->groups[i].gid > 60000))
			return bad(cfg, err, where, "GID %ld is out of range 0..60000",
				   s->groups[i].gid);
	}
	return 0;
}

/* The package name of a package list entry ("name", "name=1.2-3",
 * "name >= 2"). Caller frees. */
static char *package_name(const char *entry)
{
	return sy_xstrndup(entry, strcspn(entry, "=<> "));
}

static int has_package(const struct imager_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->packages.n; i++) {
		char *n = package_name(cfg->packages.items[i]);
		int same = !strcmp(n, name);
		free(n);
		if (same)
			return 1;
	}
	return 0;
}

/* The toolkit's imageconfigvalidator, over SystemConfigs[0]'s packages (the
 * lists and Packages, read by imager_config_parse). */
static int check_packages(const struct imager_config *cfg, struct sy_error *err)
{
	const struct imager_system_config *s = &cfg->systems[0];
	const char *policy = s->cmdline.selinux_policy[0] ? s->cmdline.selinux_policy
							   : "selinux-policy";

	for (size_t i = 0; i < cfg->packages.n; i++) {
		char *n = package_name(cfg->packages.items[i]);
		int kernel = !strcmp(n, "kernel") && strcmp(cfg->packages.items[i], s->kernel);
		free(n);
		if (kernel)
			return bad(cfg, err, "SystemConfigs[0]", "the package \"kernel\" belongs in "
					  "KernelOptions, not in the package lists");
	}
	if ((s->cmdline.enable_fips || strstr(s->cmdline.extra, "fips=1")) &&
	    !has_package(cfg, "dracut-fips"))
		return bad(cfg, err, "SystemConfigs[0].KernelCommandLine",
			   "FIPS needs the package dracut-fips in the package lists");
	if (s->cmdline.selinux[0] && !has_package(cfg, policy))
		return bad(cfg, err, "SystemConfigs[0].KernelCommandLine",
			   "SELinux needs the package %s in the package lists", policy);
	if ((s->nusers || s->ngroups) && !has_package(cfg, "shadow-utils"))
		return bad(cfg, err, "SystemConfigs[0]",
			   "Users and Groups need the package shadow-utils in the package lists");
	return 0;
}

static int check_system(const struct imager_config *cfg, size_t si, struct sy_error *err)
{
	const struct imager_system_config *s = &cfg->systems[si];
	char where[96];

	snprintf(where, sizeof(where), "SystemConfigs[%zu]", si);
	if (!s->name[0])
		return bad(cfg, err, where, "Name is required");
	if (!one_of(s->boot_type, boot_types))
		return bad(cfg, err, where, "BootType \"%s\" is not efi, legacy or none",
			   s->boot_type);
	if (s->hostname[0] && !valid_hostname(s->hostname))
		return bad(cfg, err, where, "Hostname \"%s\" is not a valid host name",
			   s->hostname);
	if (!s->package_lists.n && !s->packages.n)
		return bad(cfg, err, where, "no PackageLists or Packages");
	for (size_t i = 0; i < s->nadditional_files; i++)
		if (s->additional_files[i].dest[0] != '/')
			return bad(cfg, err, where, "AdditionalFiles[\"%s\"]: destination \"%s\" is "
					  "not an absolute path", s->additional_files[i].source,
				   s->additional_files[i].dest);
	if (s->is_kickstart_boot && (cfg->ndisks || s->npartition_settings))
		return bad(cfg, err, where, "IsKickStartBoot takes its disks from the kickstart "
				  "script: no Disks or PartitionSettings");
	for (size_t j = 0; j < si; j++)
		if (s->is_default && cfg->systems[j].is_default)
			return bad(cfg, err, where, "IsDefault is set on SystemConfigs[%zu] too", j);
	return check_settings(cfg, s, si, err) || check_cmdline(cfg, &s->cmdline, si, err) ||
			       check_users(cfg, s, si, err)
		       ? -1
		       : 0;
}

/* ------------------------------------------------------------------------ */
/* What composing supports today: every other field is refused.              */

static int unsupported(const struct imager_config *cfg, struct sy_error *err, const char *where,
		       const char *why)
{
	return bad(cfg, err, where, "not supported%s%s", why[0] ? ": " : "", why);
}

static int check_disk_support(const struct imager_config *cfg, struct sy_error *err)
{
	if (cfg->ndisks > 1)
		return unsupported(cfg, err, "Disks[1]", "one disk is composed");
	if (!cfg->ndisks)
		return 0;
	const struct imager_disk *d = &cfg->disks[0];
	if (d->has_target_disk)
		return unsupported(cfg, err, "Disks[0].TargetDisk", "images are files, never a "
				   "device of the build machine");
	if (d->nraw_binaries)
		return unsupported(cfg, err, "Disks[0].RawBinaries", "");
	return imager_disk_check_support(cfg, err);
}

/* The first field of s that is set and not applied, as its JSON name, or
 * NULL. */
static const char *unsupported_field(const struct imager_system_config *s)
{
	const char *set[] = {
		s->is_kickstart_boot ? "IsKickStartBoot" : NULL,
		s->is_iso_install ? "IsIsoInstall" : NULL,
		!strcmp(s->boot_type, "legacy") ? "BootType" : NULL, /* efi: imager/bootloader.h */
		s->enable_systemd_firstboot ? "EnableSystemdFirstboot" : NULL,
		s->kernel_options.n ? "KernelOptions" : NULL,
		/* The toolkit runs them only for IsKickStartBoot, on the host. */
		s->npre_install_scripts ? "PreInstallScripts" : NULL,
		s->nnetworks ? "Networks" : NULL,
		s->npackage_repos ? "PackageRepos" : NULL,
		s->encryption_enabled ? "Encryption" : NULL,
		s->preserve_tdnf_cache ? "PreserveTdnfCache" : NULL,
		s->enable_hidepid ? "EnableHidepid" : NULL,
		s->override_rpm_locales[0] ? "OverrideRpmLocales" : NULL,
	};

	for (size_t i = 0; i < sizeof(set) / sizeof(set[0]); i++)
		if (set[i])
			return set[i];
	return NULL;
}

/* What the configuration step (imager/customize.h) applies but cannot
 * apply in every form. */
static int check_applied(const struct imager_config *cfg, struct sy_error *err)
{
	const struct imager_system_config *s = &cfg->systems[0];
	char where[128];

	if (s->cmdline.selinux[0])
		return unsupported(cfg, err, "SystemConfigs[0].KernelCommandLine.SELinux",
				   "the image's files are not labelled");
	if (strpbrk(s->cmdline.extra, "\n\r"))
		return bad(cfg, err, "SystemConfigs[0].KernelCommandLine.ExtraCommandLine",
			   "must be one line");
	for (size_t i = 0; i < s->nadditional_files; i++) {
		const char *d = s->additional_files[i].dest;
		size_t n = strlen(d);
		snprintf(where, sizeof(where), "SystemConfigs[0].AdditionalFiles[\"%s\"]",
			 s->additional_files[i].source);
		if (n < 2 || d[n - 1] == '/' || (n >= 2 && !strcmp(d + n - 2, "/.")) ||
		    (n >= 3 && !strcmp(d + n - 3, "/..")))
			return bad(cfg, err, where, "destination \"%s\" does not name a file", d);
	}
	for (size_t i = 0; i < s->nusers; i++) {
		const struct imager_user *u = &s->users[i];
		snprintf(where, sizeof(where), "SystemConfigs[0].Users[%zu]", i);
		if (u->password_hashed && (!u->password[0] || strpbrk(u->password, ":\n\r")))
			return bad(cfg, err, where, "Password: not a crypt(3) hash");
		for (size_t k = 0; k < u->ssh_pubkeys.n; k++)
			if (strpbrk(u->ssh_pubkeys.items[k], "\n\r"))
				return bad(cfg, err, where, "SSHPubKeys[%zu] must be one line", k);
	}
	return 0;
}

static int check_support(const struct imager_config *cfg, struct sy_error *err)
{
	char where[96];
	const char *field;

	if (cfg->has_default_system_config)
		return unsupported(cfg, err, "DefaultSystemConfig", "the toolkit's installer "
				   "writes it; give SystemConfigs");
	if (cfg->nsystems > 1)
		return unsupported(cfg, err, "SystemConfigs[1]", "one system config is composed "
				   "(installer images offering several are not)");
	if (check_disk_support(cfg, err) || check_applied(cfg, err) ||
	    imager_bootloader_check_support(cfg, err))
		return -1;
	field = unsupported_field(&cfg->systems[0]);
	if (!field)
		return 0;
	snprintf(where, sizeof(where), "SystemConfigs[0].%s", field);
	return unsupported(cfg, err, where, "");
}

int imager_config_validate(const struct imager_config *cfg, struct sy_error *err)
{
	if (check_disks(cfg, err))
		return -1;
	for (size_t i = 0; i < cfg->nsystems; i++)
		if (check_system(cfg, i, err))
			return -1;
	return check_packages(cfg, err);
}

int imager_config_check_support(const struct imager_config *cfg, struct sy_error *err)
{
	return check_support(cfg, err);
}
