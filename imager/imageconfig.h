/* Image configs in the Azure Linux imagegen schema (JSON files under
 * toolkit/imageconfigs, read with jansson). Source: Azure Linux toolkit
 * tools/imagegen/configuration (Config, Disk, Partition, SystemConfig and
 * their IsValid rules) and tools/imageconfigvalidator; package list files
 * {"packages": [...]} relative to the config's directory.
 *
 * Unlike the toolkit, which ignores unknown keys (Go's encoding/json), every
 * key is known or an error, and every field is parsed into the model below;
 * imager/imagevalidate.h then checks the toolkit's rules and refuses, with
 * "not supported", what composing does not do yet. Like the toolkit's imager,
 * one disk and one system config are composed. */
#ifndef IMAGER_IMAGECONFIG_H
#define IMAGER_IMAGECONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/strv.h"

/* One output artifact of a disk or a partition. */
struct imager_artifact {
	char *name;        /* "core": a plain file name */
	char *type;        /* "" (a rootfs archive), "raw", "ext4", "vhd", "vhdx",
			    * "qcow2", "ova", "squashfs", "initrd", "diff", "rdiff",
			    * "iso" */
	char *compression; /* "", "tar.gz", "tar.xz", "gz", "xz" */
};

/* Disks[].Partitions[]. */
struct imager_partition {
	char *id;              /* ID, what PartitionSettings refer to */
	char *name;            /* Name: the GPT partition label, or "" */
	char *fs_type;         /* FsType: "ext4", "xfs", "vfat", "fat32", ... */
	char *type;            /* Type: a partition type name ("esp", "linux"), or "" */
	char *type_uuid;       /* TypeUUID, or "" */
	uint64_t start_mib;    /* Start (MiB) */
	uint64_t end_mib;      /* End (MiB); 0: to the end of the disk */
	struct sy_strv flags;  /* Flags: "esp", "grub", "bios_grub", "boot", "dmroot" */
	struct imager_artifact *artifacts; /* Artifacts of this partition alone */
	size_t nartifacts;
};

/* Disks[]. */
struct imager_disk {
	char *partition_table_type; /* "gpt", "mbr" or "" (none: a rootfs) */
	uint64_t max_size_mib;      /* MaxSize (MiB), 0 when not given */
	int has_target_disk;        /* TargetDisk given (a live install) */
	size_t nraw_binaries;       /* RawBinaries entries */
	struct imager_artifact *artifacts;
	size_t nartifacts;
	struct imager_partition *partitions;
	size_t npartitions;
};

/* SystemConfigs[].PartitionSettings[]. */
struct imager_partition_setting {
	char *id;               /* ID of the partition */
	char *mount_point;      /* MountPoint: "/", "/boot/efi", or "" */
	char *mount_options;    /* MountOptions, or "" */
	char *mount_identifier; /* "partuuid" (the default), "uuid" or "partlabel" */
	int remove_docs;        /* RemoveDocs */
	char *overlay_base_image; /* OverlayBaseImage, or "" */
	char *rdiff_base_image;   /* RdiffBaseImage, or "" */
};

/* Pre/Post/FinalizeImageScripts entries: repository path and arguments. */
struct imager_script {
	char *path; /* resolved against the config's directory */
	char *args; /* Args, or "" */
	char *data; /* its content once imager_config_load_files read it, or NULL */
	size_t size; /* bytes in data */
};

/* AdditionalFiles: a repository file copied to a path of the image. */
struct imager_additional_file {
	char *source;     /* repository path (resolved) */
	char *dest;       /* absolute path in the image */
	int permissions;  /* mode bits (0..07777), or -1 when not given */
	char *data;       /* the source's content (imager_config_load_files), or NULL */
	size_t size;      /* bytes in data */
};

/* Groups[]. */
struct imager_group {
	char *name;
	long gid; /* -1 when not given */
};

/* Users[]. */
struct imager_user {
	char *name;
	long uid;                     /* -1 when not given */
	char *password;               /* Password, or "" */
	int password_hashed;          /* PasswordHashed: password is a crypt(3) hash */
	long password_expires_days;   /* -1 (never) .. 99999; -1 when not given */
	struct sy_strv ssh_pubkey_paths; /* SSHPubKeyPaths, repository paths (resolved) */
	struct sy_strv ssh_pubkey_files; /* their contents, in the same order, once
				      * imager_config_load_files read them */
	struct sy_strv ssh_pubkeys;   /* SSHPubKeys: the keys themselves */
	char *primary_group;          /* PrimaryGroup, or "" */
	struct sy_strv secondary_groups; /* SecondaryGroups */
	char *startup_command;        /* StartupCommand (the login shell), or "" */
	char *home_directory;         /* HomeDirectory, or "" */
};

/* SystemConfigs[].KernelCommandLine. */
struct imager_kernel_cmdline {
	char *cgroup;            /* "", "version_one", "version_two" */
	struct sy_strv ima_policy; /* "tcb", "appraise_tcb", "secure_boot" */
	char *selinux;           /* "", "enforcing", "permissive", "force_enforcing" */
	char *selinux_policy;    /* "", or the policy package */
	int enable_fips;         /* EnableFIPS */
	char *extra;             /* ExtraCommandLine, or "" */
};

/* SystemConfigs[]. */
struct imager_system_config {
	char *name;
	int is_default;               /* IsDefault */
	int is_kickstart_boot;        /* IsKickStartBoot */
	int is_iso_install;           /* IsIsoInstall */
	char *boot_type;              /* "efi", "legacy", "none" or "" */
	int enable_grub_mkconfig;     /* EnableGrubMkconfig, default 1 */
	int enable_systemd_firstboot; /* EnableSystemdFirstboot */
	char *hostname;               /* Hostname, or "" */
	struct sy_strv package_lists; /* PackageLists, repository paths */
	struct sy_strv packages;      /* Packages as given */
	char *kernel;                 /* KernelOptions["default"], or "" */
	struct sy_strv kernel_options; /* the other non-comment KernelOptions keys */
	int has_kernel_cmdline;       /* KernelCommandLine given */
	struct imager_kernel_cmdline cmdline;
	struct imager_additional_file *additional_files;
	size_t nadditional_files;
	struct imager_partition_setting *partition_settings;
	size_t npartition_settings;
	struct imager_script *pre_install_scripts, *post_install_scripts,
		*finalize_image_scripts;
	size_t npre_install_scripts, npost_install_scripts, nfinalize_image_scripts;
	size_t nnetworks;             /* Networks entries */
	size_t npackage_repos;        /* PackageRepos entries */
	struct imager_group *groups;
	size_t ngroups;
	struct imager_user *users;
	size_t nusers;
	int encryption_enabled;       /* Encryption.Enable */
	int remove_rpm_db;            /* RemoveRpmDb */
	int preserve_tdnf_cache;      /* PreserveTdnfCache */
	int enable_hidepid;           /* EnableHidepid */
	int disable_rpm_docs;         /* DisableRpmDocs */
	char *override_rpm_locales;   /* OverrideRpmLocales, or "" */
};

/* An image config. */
struct imager_config {
	char *name;                 /* config file basename without ".json" */
	char *path;                 /* repository path of the config file */
	struct imager_disk *disks;
	size_t ndisks;
	struct imager_system_config *systems;
	size_t nsystems;
	int has_default_system_config; /* DefaultSystemConfig given (installer
					* output; not composed) */
	/* What composing reads, from Disks[0] and SystemConfigs[0]: */
	struct sy_strv package_lists; /* repository paths of the package list files */
	struct sy_strv packages;    /* package specs ("name" or "name=1.2-3" etc.):
				     * the kernel of KernelOptions, then the lists,
				     * then Packages, in order, unique */
	struct imager_artifact *artifacts; /* of Disks[0], borrowed from disks */
	size_t nartifacts;
};

/* Reads a file of the repository by path; returns 0 and a malloc'ed
 * NUL-terminated buffer in *data (caller frees) and its length (without
 * the NUL) in *len unless len is NULL, or -1 with err set. */
typedef int (*imager_read_fn)(void *arg, const char *path, char **data, size_t *len,
			      struct sy_error *err);

/* Parses the config at repository path `path` with content `json` into cfg,
 * reading its package lists through read_fn (paths resolved against the
 * config's directory; a path leaving the repository is an error), then
 * validates it (imager_config_validate). Errors name the file and the JSON
 * path of the item ("toolkit/imageconfigs/x.json: SystemConfigs[0].Users[1].UID:
 * 70000 is out of range 0..60000", "...: SystemConfigs[0].Typo: unknown key").
 * Returns 0 or -1; on -1 cfg holds nothing. Release with
 * imager_config_release. */
int imager_config_parse(const char *path, const char *json, imager_read_fn read_fn, void *arg,
			struct imager_config *cfg, struct sy_error *err);

/* The largest file imager_config_load_files reads, and the most it reads
 * for one config, bytes: a config cannot make composing hold more. */
#define IMAGER_FILE_MAX (64u << 20)
#define IMAGER_FILES_TOTAL_MAX (256u << 20)

/* Reads the repository files SystemConfigs[0] of cfg applies to the image
 * (AdditionalFiles sources, Post/FinalizeImageScripts, SSHPubKeyPaths)
 * through read_fn into their data fields, so that composing needs no
 * access to the repository and the image key can cover them. Returns 0,
 * or -1 with err naming the item ("x.json:
 * SystemConfigs[0].PostInstallScripts[0]: scripts/a.sh: not found", "...:
 * larger than 67108864 bytes", "...: the files applied exceed 268435456
 * bytes"). */
int imager_config_load_files(struct imager_config *cfg, imager_read_fn read_fn, void *arg,
			     struct sy_error *err);

/* Frees the config's fields. */
void imager_config_release(struct imager_config *cfg);

#endif
