#define _GNU_SOURCE
#include "imager/disk.h"
#include "imager/diskformat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "common/strv.h"
#include "common/util.h"
#include "imager/filesystem.h"

/* Seconds between 1970-01-01 and 2000-01-01, the VHD time origin. */
#define VHD_EPOCH_OFFSET 946684800LL
#define BLOCK 4096

static int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	return pread(fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -1;
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const char *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* Writes the non-zero 4 KiB blocks of buf (len bytes) at off, each run of
 * them with one pwrite. */
static int write_nonzero(int fd, const unsigned char *buf, size_t len, uint64_t off,
			 uint64_t *written)
{
	size_t run = 0, i;

	for (i = 0; i < len; i += BLOCK) {
		size_t n = len - i < BLOCK ? len - i : BLOCK;
		if (!all_zero(buf + i, n))
			continue;
		if (i > run && pwrite_all(fd, buf + run, i - run, off + run))
			return -1;
		if (written)
			*written += i - run;
		run = i + n;
	}
	if (len > run && pwrite_all(fd, buf + run, len - run, off + run))
		return -1;
	if (written && len > run)
		*written += len - run;
	return 0;
}

int imager_copy_sparse(const char *src, int dst_fd, uint64_t offset, uint64_t *written,
		       struct sy_error *err)
{
	enum { CHUNK = 1 << 20 };
	unsigned char *buf = NULL;
	struct stat st;
	int fd = open(src, O_RDONLY | O_CLOEXEC), rc = 0;
	off_t pos = 0;

	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = sy_error_set(err, "%s: %s", src, strerror(errno));
		goto out;
	}
	buf = sy_xmalloc(CHUNK);
	while (rc == 0 && pos < st.st_size) {
		off_t data = lseek(fd, pos, SEEK_DATA), hole;
		if (data < 0 && errno == ENXIO)
			break;
		hole = data < 0 ? -1 : lseek(fd, data, SEEK_HOLE);
		if (data < 0 || hole < 0) {
			rc = sy_error_set(err, "%s: %s", src, strerror(errno));
			break;
		}
		for (pos = data; rc == 0 && pos < hole;) {
			size_t n = hole - pos < CHUNK ? (size_t)(hole - pos) : CHUNK;
			if (pread_all(fd, buf, n, (uint64_t)pos) ||
			    write_nonzero(dst_fd, buf, n, offset + (uint64_t)pos, written))
				rc = sy_error_set(err, "%s: copying: %s", src, strerror(errno));
			pos += (off_t)n;
		}
	}
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* The 16 bytes of a derived UUID. */
static void derived_bytes(const char *key, const char *what, unsigned char out[16])
{
	char uuid[37];
	size_t k = 0;

	imager_derive_uuid(key, what, uuid);
	for (size_t i = 0; uuid[i] && k < 16; i++) {
		if (uuid[i] == '-')
			continue;
		unsigned hi, lo;
		sscanf(uuid + i, "%1x%1x", &hi, &lo);
		out[k++] = (unsigned char)(hi << 4 | lo);
		i++;
	}
}

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* The fixed VHD footer (the file's last 512 bytes; Microsoft's "Virtual
 * Hard Disk Image Format Specification"): time stamp at 24 (seconds since
 * 2000), unique id at 68, checksum at 64 (the one's complement of the sum
 * of the other bytes). */
static int fix_vhd(int fd, const char *key, long long epoch, struct sy_error *err)
{
	unsigned char f[512];
	off_t size = lseek(fd, 0, SEEK_END);
	uint32_t sum = 0;
	long long t = epoch - VHD_EPOCH_OFFSET;

	if (size < 512 || pread_all(fd, f, sizeof(f), (uint64_t)size - 512) ||
	    memcmp(f, "conectix", 8))
		return sy_error_set(err, "no VHD footer");
	put_be32(f + 24, (uint32_t)(t < 0 ? 0 : t > UINT32_MAX ? UINT32_MAX : t));
	derived_bytes(key, "vhd/unique-id", f + 68);
	memset(f + 64, 0, 4);
	for (size_t i = 0; i < sizeof(f); i++)
		sum += f[i];
	put_be32(f + 64, ~sum);
	if (pwrite_all(fd, f, sizeof(f), (uint64_t)size - 512))
		return sy_error_set(err, "writing the VHD footer: %s", strerror(errno));
	return 0;
}

/* CRC-32C (Castagnoli), as VHDX checksums its headers. */
static uint32_t crc32c(const unsigned char *p, size_t n)
{
	uint32_t crc = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = crc & 1 ? crc >> 1 ^ 0x82f63b78u : crc >> 1;
	}
	return ~crc;
}

/* VHDX layout ([MS-VHDX] 2.2): headers at 64 and 128 KiB, region table
 * at 192 KiB; the metadata region's GUID and the Page 83 item's, as
 * stored (first three fields little-endian). */
#define VHDX_HEADER1 (64u << 10)
#define VHDX_HEADER2 (128u << 10)
#define VHDX_REGIONS (192u << 10)
static const unsigned char vhdx_metadata_guid[16] = { 0x06, 0xa2, 0x7c, 0x8b, 0x90, 0x47,
						      0x9a, 0x4b, 0xb8, 0xfe, 0x57, 0x5f,
						      0x05, 0x0f, 0x88, 0x6e };
static const unsigned char vhdx_page83_guid[16] = { 0xab, 0x12, 0xca, 0xbe, 0xe6, 0xb2,
						    0x23, 0x45, 0x93, 0xef, 0xc3, 0x09,
						    0xe0, 0x00, 0xc7, 0x46 };

/* Rewrites both headers: fixed write GUIDs, sequence numbers 1 and 2 in
 * the order qemu-img left them, the checksum; zeroes the log, which a
 * header with a zero LogGuid says is empty. */
static int fix_vhdx_headers(int fd, const char *key, struct sy_error *err)
{
	unsigned char h[2][BLOCK];
	const uint32_t at[2] = { VHDX_HEADER1, VHDX_HEADER2 };
	static const unsigned char zero_guid[16];

	for (int i = 0; i < 2; i++)
		if (pread_all(fd, h[i], BLOCK, at[i]) || memcmp(h[i], "head", 4))
			return sy_error_set(err, "no VHDX header at %u", at[i]);
	int newer = le64(h[1] + 8) > le64(h[0] + 8);
	for (int i = 0; i < 2; i++) {
		if (memcmp(h[i] + 48, zero_guid, 16))
			return sy_error_set(err, "the VHDX log is not empty");
		put_le64(h[i] + 8, i == newer ? 2 : 1);
		derived_bytes(key, "vhdx/file-write", h[i] + 16);
		derived_bytes(key, "vhdx/data-write", h[i] + 32);
		memset(h[i] + 4, 0, 4);
		put_le32(h[i] + 4, crc32c(h[i], BLOCK));
		if (pwrite_all(fd, h[i], BLOCK, at[i]))
			return sy_error_set(err, "writing a VHDX header: %s", strerror(errno));
	}
	uint32_t log_len = le32(h[0] + 68);
	uint64_t log_off = le64(h[0] + 72);
	unsigned char *zeros = sy_xcalloc(1, BLOCK);
	int rc = 0;
	for (uint64_t o = 0; rc == 0 && o < log_len; o += BLOCK)
		if (pwrite_all(fd, zeros, BLOCK, log_off + o))
			rc = sy_error_set(err, "clearing the VHDX log: %s", strerror(errno));
	free(zeros);
	return rc;
}

/* Rewrites the Page 83 data (the virtual disk's id) found through the
 * region table and the metadata table. */
static int fix_vhdx_page83(int fd, const char *key, struct sy_error *err)
{
	unsigned char r[BLOCK], m[BLOCK];
	uint64_t meta = 0;

	if (pread_all(fd, r, BLOCK, VHDX_REGIONS) || memcmp(r, "regi", 4))
		return sy_error_set(err, "no VHDX region table");
	for (uint32_t i = 0, n = le32(r + 8); i < n && 16 + 32 * (i + 1) <= BLOCK; i++)
		if (!memcmp(r + 16 + 32 * i, vhdx_metadata_guid, 16))
			meta = le64(r + 16 + 32 * i + 16);
	if (!meta || pread_all(fd, m, BLOCK, meta) || memcmp(m, "metadata", 8))
		return sy_error_set(err, "no VHDX metadata region");
	unsigned n = (unsigned)m[10] | (unsigned)m[11] << 8;
	for (unsigned i = 0; i < n && 32 + 32 * (i + 1) <= BLOCK; i++) {
		const unsigned char *e = m + 32 + 32 * i;
		unsigned char id[16];
		if (memcmp(e, vhdx_page83_guid, 16) || le32(e + 20) != 16)
			continue;
		derived_bytes(key, "vhdx/page83", id);
		if (pwrite_all(fd, id, 16, meta + le32(e + 16)))
			return sy_error_set(err, "writing the VHDX disk id: %s", strerror(errno));
		return 0;
	}
	return sy_error_set(err, "no VHDX Page 83 data");
}

/* Makes the CID at cid (in desc, len bytes, NUL-padded) 8 digits long:
 * qemu-img prints it with %x, so one CID in sixteen is shorter, and the
 * rest of the descriptor moves along with its length. Returns 1, or 0 when
 * there is no CID of hex digits there or no room to widen it. */
static int widen_cid(char *desc, size_t len, char *cid)
{
	size_t n = strspn(cid, "0123456789abcdef"), text = strlen(desc);

	if (n == 0 || n > 8 || cid[n] != '\n' || text + (8 - n) >= len)
		return 0;
	memmove(cid + 8, cid + n, text - (size_t)(cid + n - desc) + 1);
	memset(cid, '0', 8 - n);
	return 1;
}

/* The VMDK sparse extent header ("Virtual Disk Format 5.0", VMware):
 * magic "KDMV", the embedded descriptor's offset at 28 and size at 36,
 * both in sectors, little-endian. qemu-img writes a random content id
 * ("CID=<up to 8 hex digits>") into the descriptor; it becomes 8 digits
 * derived from the key. */
int imager_vmdk_fix_cid(int fd, const char *key, struct sy_error *err)
{
	unsigned char h[512], id[16];
	char *desc = NULL, *cid;
	uint64_t off, len;
	int rc = 0;

	if (pread_all(fd, h, sizeof(h), 0) || memcmp(h, "KDMV", 4))
		return sy_error_set(err, "no VMDK header");
	off = le64(h + 28) * 512;
	len = le64(h + 36) * 512;
	if (!off || !len || len > (1u << 20))
		return sy_error_set(err, "no VMDK descriptor");
	desc = sy_xcalloc(1, len + 1);
	if (pread_all(fd, desc, len, off))
		rc = sy_error_set(err, "reading the VMDK descriptor: %s", strerror(errno));
	cid = rc ? NULL : strstr(desc, "\nCID=");
	if (rc == 0 && (!cid || !widen_cid(desc, len, cid + 5)))
		rc = sy_error_set(err, "no CID in the VMDK descriptor");
	if (rc == 0) {
		derived_bytes(key, "vmdk/cid", id);
		char hex[9];
		snprintf(hex, sizeof(hex), "%02x%02x%02x%02x", id[0], id[1], id[2], id[3]);
		memcpy(cid + 5, hex, 8);
		if (pwrite_all(fd, desc, len, off))
			rc = sy_error_set(err, "writing the VMDK descriptor: %s", strerror(errno));
	}
	free(desc);
	return rc;
}

/* Makes what qemu-img wrote at out reproducible. */
static int fix_output(const char *type, const char *out, const char *key, long long epoch,
		      struct sy_error *err)
{
	int fd, rc = 0;

	if (strcmp(type, "vhd") && strcmp(type, "vhdx") && strcmp(type, "vmdk"))
		return 0;
	fd = open(out, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return sy_error_set(err, "%s: %s", out, strerror(errno));
	if (!strcmp(type, "vhd"))
		rc = fix_vhd(fd, key, epoch, err);
	else if (!strcmp(type, "vmdk"))
		rc = imager_vmdk_fix_cid(fd, key, err);
	else
		rc = fix_vhdx_headers(fd, key, err) || fix_vhdx_page83(fd, key, err) ? -1 : 0;
	if (rc == 0 && fsync(fd) < 0)
		rc = sy_error_set(err, "%s", strerror(errno));
	close(fd);
	return rc;
}

static int copy_raw(const char *raw, const char *out, struct sy_error *err)
{
	struct stat st;
	int fd, rc = 0;

	if (stat(raw, &st) < 0)
		return sy_error_set(err, "%s: %s", raw, strerror(errno));
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, st.st_size) < 0)
		rc = sy_error_set(err, "%s", strerror(errno));
	if (rc == 0)
		rc = imager_copy_sparse(raw, fd, 0, NULL, err);
	if (rc == 0 && fsync(fd) < 0)
		rc = sy_error_set(err, "%s", strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

int imager_disk_convert(const char *raw, const char *type, const char *out, const char *key,
			long long epoch, int log_fd, struct sy_error *err)
{
	const char *argv[12] = { "qemu-img", "convert", "-q", "-f", "raw", "-O",
				 !strcmp(type, "vhd") ? "vpc" : type };
	size_t n = 7;
	int rc;

	if (!strcmp(type, "vhd")) {
		/* The toolkit's roast: a fixed VHD of exactly the raw size. */
		argv[n++] = "-o";
		argv[n++] = "subformat=fixed,force_size";
	} else if (!strcmp(type, "vmdk")) {
		/* What an OVA carries: one compressed, append-only file. */
		argv[n++] = "-o";
		argv[n++] = "subformat=streamOptimized";
	}
	argv[n++] = raw;
	argv[n++] = out;
	unlink(out);
	if (!strcmp(type, "raw"))
		rc = copy_raw(raw, out, err);
	else if (strcmp(type, "vhd") && strcmp(type, "vhdx") && strcmp(type, "qcow2") &&
		 strcmp(type, "vmdk"))
		rc = sy_error_set(err, "Type %s: not a disk format", type);
	else
		rc = imager_tool_run(argv, epoch, NULL, log_fd, err) ||
				     fix_output(type, out, key, epoch, err)
			     ? -1
			     : 0;
	if (rc)
		sy_error_prefix(err, "%s", sy_base_name(out));
	return rc;
}

int imager_compress_file(const char *src, const char *compression, const char *dst,
			 struct sy_error *err)
{
	struct archive *w = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	char *buf = sy_xmalloc(1 << 20);
	struct stat st;
	int fd = open(src, O_RDONLY | O_CLOEXEC), rc = 0;
	ssize_t n;

	archive_write_set_format_raw(w);
	if (!strcmp(compression, "gz")) {
		archive_write_add_filter_gzip(w);
		/* No modification time in the gzip header. */
		archive_write_set_filter_option(w, "gzip", "timestamp", NULL);
	} else {
		archive_write_add_filter_xz(w);
	}
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = sy_error_set(err, "%s: %s", src, strerror(errno));
		goto out;
	}
	archive_entry_set_pathname(e, "disk");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_size(e, st.st_size);
	if (archive_write_open_filename(w, dst) != ARCHIVE_OK ||
	    archive_write_header(w, e) != ARCHIVE_OK) {
		rc = sy_error_set(err, "%s: %s", dst, archive_error_string(w));
		goto out;
	}
	while (rc == 0 && (n = read(fd, buf, 1 << 20)) > 0)
		if (archive_write_data(w, buf, (size_t)n) != n)
			rc = sy_error_set(err, "%s: %s", dst, archive_error_string(w));
	if (rc == 0 && n < 0)
		rc = sy_error_set(err, "%s: %s", src, strerror(errno));
	if (archive_write_close(w) != ARCHIVE_OK && rc == 0)
		rc = sy_error_set(err, "%s: %s", dst, archive_error_string(w));
out:
	archive_write_free(w);
	archive_entry_free(e);
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}
