/* The kernel command line of an image config, for the boot loader's
 * entries and /etc/kernel/cmdline (where systemd's kernel-install and the
 * boot loader setup read it). After the Azure Linux toolkit's imager
 * (tools/imagegen/installutils: the grub.cfg placeholders it fills from
 * KernelCommandLine and the root partition's MountIdentifier), in this
 * order:
 *
 *   root=<identifier of the partition mounted at />  ro
 *   selinux=0 | security=selinux selinux=1 [enforcing=1 (force_enforcing)]
 *   fips=1 [boot=<identifier of /boot> when it is a partition of its own]
 *   systemd.unified_cgroup_hierarchy=0|1 (CGroup version_one|version_two)
 *   ima_policy=<policy> for each ImaPolicy
 *   ExtraCommandLine, as given. */
#ifndef IMAGER_CMDLINE_H
#define IMAGER_CMDLINE_H

#include "imager/disk.h"
#include "imager/imageconfig.h"

/* The kernel command line of cfg's SystemConfigs[0] with its disk laid out
 * as layout (imager_disk_layout, for root= and boot=), or NULL for a
 * config without partitions (then no root= or boot=). Returns a new
 * string, words separated by one space, without a line break. */
char *imager_kernel_cmdline(const struct imager_config *cfg,
			    const struct imager_disk_layout *layout);

#endif
