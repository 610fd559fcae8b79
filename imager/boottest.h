/* Boot tests: a composed disk image booted in QEMU with UEFI firmware
 * (OVMF) in TCG mode, so that no KVM is needed, until a marker line
 * appears on its serial console or a deadline passes.
 *
 * The artifact is never changed (-snapshot: writes go to a temporary
 * overlay in a scratch directory); the firmware's variable store is a copy
 * in that directory; the machine has no network (-nic none) and 512 MiB;
 * QEMU drops root for nobody once its files are open and runs under its
 * seccomp sandbox, since the image's kernel and init are the input of
 * whoever wrote the commit (docs/security.md), and under timeout(1), which
 * stops it should this process die first (-runas drops its death signal). The disk is an NVMe drive:
 * OVMF boots from it and kernels built with NVMe support (Debian's cloud
 * kernel) find their root there without an initrd. */
#ifndef IMAGER_BOOTTEST_H
#define IMAGER_BOOTTEST_H

#include "common/error.h"

/* The line a booted image's init prints on its console when it is up
 * (the example distribution's init: examples/minidistro/boot). */
#define IMAGER_BOOT_MARKER "shipyard-boot-ok"

/* Seconds a boot may take when the distribution sets no other
 * (shipyard.conf image.boottimeout). */
#define IMAGER_BOOT_TIMEOUT_DEFAULT 180u

/* One boot. Nothing is owned. */
struct imager_boottest {
	const char *image;       /* the disk image file */
	const char *format;      /* its QEMU format: "raw" or "qcow2" */
	const char *scratch_dir; /* existing directory where a private one is
				  * made for the firmware variables, the console
				  * and the overlay (removed on return) */
	const char *marker;      /* a console line starting with it ends the
				  * test; NULL: IMAGER_BOOT_MARKER */
	unsigned timeout_s;      /* deadline, seconds; 0: IMAGER_BOOT_TIMEOUT_DEFAULT */
	int log_fd;              /* the command line, QEMU's messages and the
				  * whole console are appended here; -1: none */
};

/* Paths of what a boot test needs, found on this machine. */
struct imager_boot_tools {
	char qemu[256];          /* qemu-system-x86_64 */
	char code[256];          /* OVMF firmware code (read-only pflash) */
	char vars[256];          /* OVMF variable store template */
};

/* Finds qemu-system-x86_64 (/usr/bin, /usr/local/bin) and Debian's OVMF
 * (package ovmf: /usr/share/OVMF/OVMF_CODE_4M.fd and OVMF_VARS_4M.fd, else
 * the 2 MiB OVMF_CODE.fd and OVMF_VARS.fd). Returns 0 with tools filled, or
 * -1 with err saying what is missing ("boot test: qemu-system-x86_64 is
 * not installed (Debian package qemu-system-x86)"). */
int imager_boot_tools_find(struct imager_boot_tools *tools, struct sy_error *err);

/* Boots t->image and waits for the marker. Returns 0 with *seconds set to
 * the time from QEMU's start to the marker (seconds, measured to a fifth of
 * a second), or -1 with err: "no marker within 180 s; last console line:
 * ...", "QEMU exited with status 1 before the marker; last console line:
 * ...", or why it could not start. QEMU's process group is killed on
 * timeout, and a few seconds after the marker when the machine does not
 * power off by itself. */
int imager_boottest_run(const struct imager_boottest *t, double *seconds, struct sy_error *err);

#endif
