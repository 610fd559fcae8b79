/* An OVA: a virtual machine for VMware, VirtualBox and other OVF
 * importers, as one tar file (DMTF DSP0243 "Open Virtualization Format
 * Specification" 1.x, "OVF package"): the OVF descriptor first, then the
 * manifest, then the disk. The disk is the raw disk converted to a
 * streamOptimized VMDK (imager/diskformat.h); the descriptor lists it in
 * References and DiskSection and describes one virtual system with
 * IMAGER_OVA_CPUS virtual CPUs, IMAGER_OVA_MEMORY_MIB of memory, an IDE
 * controller holding the disk, and EFI firmware when the image boots by
 * EFI (VMware's vmw:Config "firmware"); the manifest holds one
 * "SHA256(<file>)= <hex>" line for the descriptor and one for the disk.
 *
 * Reproducible: the VMDK's id derives from the image key, the tar entries
 * are ustar with owner root (0), mode 0644 and the epoch as time. */
#ifndef IMAGER_OVA_H
#define IMAGER_OVA_H

#include <stdint.h>

#include "common/error.h"

/* The virtual hardware an OVA asks for: image configs have no field for
 * it; an importer lets the user change it. */
#define IMAGER_OVA_CPUS 2
#define IMAGER_OVA_MEMORY_MIB 2048

/* What goes into an OVA. Nothing is owned. */
struct imager_ova {
	const char *name;   /* the artifact's Name: the files inside are
			     * <name>.ovf, <name>.mf and <name>-disk1.vmdk */
	const char *system; /* the virtual system's name (the config's) */
	int efi;            /* 1: the image boots by EFI */
	const char *key;    /* the image key, hex (identifiers) */
	long long epoch;    /* seconds since 1970: the tar entries' time */
};

/* The OVF descriptor of o for a disk file disk_file of file_bytes bytes
 * holding a disk of capacity_bytes bytes. Returns a new string (XML, the
 * names escaped). */
char *imager_ova_descriptor(const struct imager_ova *o, const char *disk_file,
			    uint64_t file_bytes, uint64_t capacity_bytes);

/* Writes the OVA of the raw disk at raw to out, the VMDK made under
 * work_dir first (and removed). Command lines and tool output go to log_fd
 * (-1: discarded). Returns 0, or -1 with err ("core.ova: qemu-img exited
 * with status 1"). */
int imager_ova_write(const struct imager_ova *o, const char *raw, const char *work_dir,
		     const char *out, int log_fd, struct sy_error *err);

#endif
