/* Boot loader setup of a composed image root, for SystemConfigs[0].BootType
 * "efi": systemd-boot on the ESP with Boot Loader Specification type 1
 * entries (https://uapi-group.org/specifications/specs/boot_loader_specification/),
 * as Azure Linux's imager installs its boot loader before the disk is
 * written. GRUB is not installed: a root without systemd-boot is refused.
 *
 * Everything is written into the root under the ESP's MountPoint, from
 * where imager/disk.h puts it on the ESP; nothing holds a time or a host
 * name, so the same root and image key give the same bytes. The root was
 * filled by untrusted packages: every path in it is walked without
 * following a symbolic link, and only regular files are read. */
#ifndef IMAGER_BOOTLOADER_H
#define IMAGER_BOOTLOADER_H

#include "common/error.h"
#include "imager/disk.h"
#include "imager/imageconfig.h"

/* Where the EFI binary of systemd-boot is taken from in the image root
 * (Debian's and Fedora's systemd-boot-efi path), for x86_64. */
#define IMAGER_SYSTEMD_BOOT_EFI "usr/lib/systemd/boot/efi/systemd-bootx64.efi"

/* The kernel command line of the image's boot entry: cfg's own
 * (imager_kernel_cmdline: root= as the root partition's MountIdentifier
 * says, ro, KernelCommandLine's words) followed by what booting needs,
 * "rootwait console=tty0 console=ttyS0" (the serial console last, so that
 * it is /dev/console, the port boot tests read). Without an initrd the
 * kernel resolves root=PARTUUID= and PARTLABEL=, not UUID=. Returns a new
 * string, or NULL when layout has no partition mounted at "/". */
char *imager_boot_cmdline(const struct imager_config *cfg, const struct imager_disk_layout *layout);

/* Refuses, before any work, a BootType efi config whose packages ask for
 * GRUB (a package named grub2-efi-binary or grub2-efi-binary-noprefix)
 * and not for systemd-boot, the one boot loader installed here. Returns 0,
 * or -1 with err ("x.json: SystemConfigs[0].BootType: not supported: GRUB
 * (grub2-efi-binary) is not installed; systemd-boot is"). */
int imager_bootloader_check_support(const struct imager_config *cfg, struct sy_error *err);

/* Sets up the boot loader of cfg in the composed root at rootfs when
 * SystemConfigs[0].BootType is "efi" (else does nothing and returns 0):
 * the newest kernel /boot/vmlinuz-<release> (strverscmp order) and, when
 * the root has one, /boot/initramfs-<release>.img or
 * /boot/initrd.img-<release>, copied to <ESP>/<config name>/<release>/linux
 * and initrd; systemd-boot (IMAGER_SYSTEMD_BOOT_EFI) copied to
 * <ESP>/EFI/BOOT/BOOTX64.EFI, the removable-media path UEFI firmware
 * boots without boot variables; <ESP>/loader/loader.conf (the entry as
 * default, no menu timeout) and <ESP>/loader/entries/<config
 * name>-<release>.conf (title, version, linux, initrd, options =
 * imager_boot_cmdline), where <ESP> is rootfs + the ESP partition's
 * MountPoint. The layout comes from the image key in->key. Only arch
 * "x86_64" is set up (BOOTX64.EFI). Messages go to
 * log_fd (-1: none). Returns 0, or -1 with err ("image core: BootType efi:
 * aarch64: not supported",
 * no kernel /boot/vmlinuz-* in the image root", "...: no ESP partition
 * with a MountPoint", "...: /boot/efi: a symbolic link in the image
 * root"). */
int imager_bootloader_install(const struct imager_config *cfg, const struct imager_inputs *in,
			      const char *rootfs, const char *arch, int log_fd,
			      struct sy_error *err);

#endif
