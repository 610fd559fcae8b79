/* A raw disk converted to the formats image configs ask for, with
 * qemu-img convert as the toolkit's roast does (vhd: fixed, force_size;
 * vhdx; qcow2; vmdk for an OVA), made reproducible: qemu-img stamps a VHD footer with the
 * time and a random id, and a VHDX with random GUIDs and sequence numbers
 * and an emptied log naming a random GUID; those fields are rewritten from
 * the image key and the epoch (checksums recomputed). Files are copied with
 * their holes kept, and compressed (gz, xz) without time stamps. */
#ifndef IMAGER_DISKFORMAT_H
#define IMAGER_DISKFORMAT_H

#include <stdint.h>

#include "common/error.h"

/* Converts the raw disk at raw into out as type "raw" (a copy with holes),
 * "vhd", "vhdx", "qcow2" or "vmdk" (streamOptimized, its descriptor's
 * random CID rewritten from key; the descriptor names the extent by out's
 * base name, so two builds must use the same one), with identifiers from
 * key and times from epoch.
 * Returns 0, or -1 with err ("core.vhdx: qemu-img exited with status 1",
 * "core.vhdx: no metadata region"). */
int imager_disk_convert(const char *raw, const char *type, const char *out, const char *key,
			long long epoch, int log_fd, struct sy_error *err);

/* Rewrites the content id of the streamOptimized VMDK open at fd (read and
 * written in place) as 8 hex digits derived from key: qemu-img writes a
 * random one with printf's %x, of 1 to 8 digits, and the descriptor text
 * after it is moved to fit (the VMDK sparse extent header, "Virtual Disk
 * Format 5.0", VMware: descriptor offset at byte 28, size at 36, in
 * sectors). Returns 0, or -1 with err ("no VMDK header", "no CID in the
 * VMDK descriptor" when there is none or its area has no room). */
int imager_vmdk_fix_cid(int fd, const char *key, struct sy_error *err);

/* Copies src into dst_fd at offset, leaving holes and all-zero blocks
 * unwritten (dst is fresh: they read as zeros). Adds the bytes written to
 * *written when not NULL. Returns 0, or -1 with err naming src. */
int imager_copy_sparse(const char *src, int dst_fd, uint64_t offset, uint64_t *written,
		       struct sy_error *err);

/* Compresses file src into dst with "gz" or "xz" (libarchive's raw format:
 * no name, no time in the header). Returns 0, or -1 with err. */
int imager_compress_file(const char *src, const char *compression, const char *dst,
			 struct sy_error *err);

#endif
