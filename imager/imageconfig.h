/* Image configs in the Azure Linux imagegen schema (JSON files under toolkit/imageconfigs,
 * read with jansson): Disks[].Artifacts[] {Name, Type, Compression} and
 * SystemConfigs[] {Name, PackageLists[], Packages[], ...}; package list files
 * {"packages": [...]} relative to the config's directory. Source: Azure Linux
 * toolkit tools/imagegen/configuration. Like the toolkit's imager, only
 * SystemConfigs[0] and Disks[0] are composed. */
#ifndef IMAGER_IMAGECONFIG_H
#define IMAGER_IMAGECONFIG_H

#include <stddef.h>

#include "common/error.h"
#include "common/strv.h"

/* One output artifact of a disk. */
struct imager_artifact {
	char *name;        /* "core" */
	char *type;        /* "" for a rootfs archive, or "vhdx", "qcow2", "ext4", ... */
	char *compression; /* "tar.gz", "tar.xz", "gz", "" */
};

/* An image config, reduced to what composing needs. */
struct imager_config {
	char *name;                 /* config file basename without ".json" */
	char *path;                 /* repository path of the config file */
	struct sy_strv package_lists; /* repository paths of the package list files */
	struct sy_strv packages;    /* package specs ("name" or "name=1.2-3" etc.)
				     * from the lists then Packages, in order, unique */
	struct imager_artifact *artifacts; /* of Disks[0] */
	size_t nartifacts;
	struct sy_strv post_install_scripts; /* repository paths (informational) */
};

/* Reads a file of the repository by path; returns 0 and a malloc'ed
 * NUL-terminated buffer in *data (caller frees), or -1 with err set. */
typedef int (*imager_read_fn)(void *arg, const char *path, char **data, struct sy_error *err);

/* Parses the config at repository path `path` with content `json`, reading its
 * package lists through read_fn (paths resolved against the config's
 * directory). Checks the rules that matter for composing: at least one
 * SystemConfig, a non-empty Name, at least one package, known Compression.
 * Errors name the file and the item ("toolkit/imageconfigs/x.json:
 * SystemConfigs[0]: no PackageLists or Packages"). Returns 0 or -1; release
 * with imager_config_release. */
int imager_config_parse(const char *path, const char *json, imager_read_fn read_fn, void *arg,
			struct imager_config *cfg, struct sy_error *err);

/* Frees the config's fields. */
void imager_config_release(struct imager_config *cfg);

#endif
