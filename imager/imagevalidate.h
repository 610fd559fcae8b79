/* The rules an image config must meet before any work starts: the Azure
 * Linux toolkit's (tools/imagegen/configuration: Config, Disk, Partition and
 * SystemConfig IsValid; tools/imageconfigvalidator: package requirements),
 * then what composing supports. A field composing does not apply yet is
 * refused as "not supported", never ignored. */
#ifndef IMAGER_IMAGEVALIDATE_H
#define IMAGER_IMAGEVALIDATE_H

#include "common/error.h"
#include "imager/imageconfig.h"

/* Checks cfg (parsed by imager_config_parse, which calls this) against the
 * toolkit's rules. Returns 0, or -1 with err naming the file, the JSON path
 * and the reason: "x.json: Disks[0].Partitions[1]: overlaps Partitions[0]",
 * "x.json: SystemConfigs[0].Users[0]: UID 70000 is out of range 0..60000". */
int imager_config_validate(const struct imager_config *cfg, struct sy_error *err);

/* Checks that composing applies every field cfg sets (one disk, one system
 * config; see imager/compose.h for what is applied). Returns 0, or -1 with
 * err naming the first field that is not: "x.json:
 * SystemConfigs[0].Networks: not supported". Refused today: installer and
 * kickstart configs (IsKickStartBoot, IsIsoInstall, PreInstallScripts,
 * DefaultSystemConfig, several SystemConfigs), BootType efi/legacy,
 * EnableSystemdFirstboot, KernelOptions besides "default", Networks,
 * PackageRepos, Encryption, PreserveTdnfCache, EnableHidepid,
 * OverrideRpmLocales and KernelCommandLine.SELinux (no labelling). The image stage calls it before
 * any work on the config. */
int imager_config_check_support(const struct imager_config *cfg, struct sy_error *err);

/* Returns the GPT type UUID (lowercase) of a toolkit partition type name
 * ("esp", "linux", "linux-root-amd64", ...: the toolkit's
 * PartitionTypeNameToUUID), or NULL when the name is not one. */
const char *imager_partition_type_uuid(const char *name);

#endif
