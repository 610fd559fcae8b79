#define _GNU_SOURCE
#include "imager/ova.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "common/hash.h"
#include "common/strv.h"
#include "common/util.h"
#include "imager/diskformat.h"

/* s with XML's five special characters as entities. */
static char *xml_escape(const char *s)
{
	struct sy_strv parts = SY_STRV_INIT;
	char *text;

	for (; *s; s++) {
		const char *e = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;"
				: *s == '"' ? "&quot;" : *s == '\'' ? "&apos;" : NULL;
		if (e)
			sy_strv_push(&parts, e);
		else
			sy_strv_pushf(&parts, "%c", *s);
	}
	text = sy_strv_join(&parts, "");
	sy_strv_release(&parts);
	return text;
}

char *imager_ova_descriptor(const struct imager_ova *o, const char *disk_file,
			    uint64_t file_bytes, uint64_t capacity_bytes)
{
	char *name = xml_escape(o->name), *system = xml_escape(o->system);
	char *file = xml_escape(disk_file), *text;

	/* OVF 1.0 envelope (DSP8023): the rasd elements of an Item in the
	 * schema's (alphabetical) order; ResourceType 3 CPU, 4 memory, 5 IDE
	 * controller, 17 disk (CIM_ResourceAllocationSettingData);
	 * OperatingSystemSection 101: "Linux 64-Bit" (CIM_OperatingSystem). */
	text = sy_xasprintf(
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\"\n"
		"    xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\"\n"
		"    xmlns:rasd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
		"CIM_ResourceAllocationSettingData\"\n"
		"    xmlns:vssd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
		"CIM_VirtualSystemSettingData\"\n"
		"    xmlns:vmw=\"http://www.vmware.com/schema/ovf\">\n"
		"  <References>\n"
		"    <File ovf:id=\"file1\" ovf:href=\"%s\" ovf:size=\"%llu\"/>\n"
		"  </References>\n"
		"  <DiskSection>\n"
		"    <Info>Virtual disk information</Info>\n"
		"    <Disk ovf:diskId=\"vmdisk1\" ovf:fileRef=\"file1\" ovf:capacity=\"%llu\"\n"
		"        ovf:capacityAllocationUnits=\"byte\"\n"
		"        ovf:format=\"http://www.vmware.com/interfaces/specifications/"
		"vmdk.html#streamOptimized\"/>\n"
		"  </DiskSection>\n"
		"  <VirtualSystem ovf:id=\"%s\">\n"
		"    <Info>A virtual machine</Info>\n"
		"    <Name>%s</Name>\n"
		"    <OperatingSystemSection ovf:id=\"101\" vmw:osType=\"other5xLinux64Guest\">\n"
		"      <Info>The kind of installed guest operating system</Info>\n"
		"    </OperatingSystemSection>\n"
		"    <VirtualHardwareSection>\n"
		"      <Info>Virtual hardware requirements</Info>\n"
		"      <System>\n"
		"        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>\n"
		"        <vssd:InstanceID>0</vssd:InstanceID>\n"
		"        <vssd:VirtualSystemIdentifier>%s</vssd:VirtualSystemIdentifier>\n"
		"        <vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType>\n"
		"      </System>\n"
		"      <Item>\n"
		"        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>\n"
		"        <rasd:Description>Number of Virtual CPUs</rasd:Description>\n"
		"        <rasd:ElementName>%d virtual CPU(s)</rasd:ElementName>\n"
		"        <rasd:InstanceID>1</rasd:InstanceID>\n"
		"        <rasd:ResourceType>3</rasd:ResourceType>\n"
		"        <rasd:VirtualQuantity>%d</rasd:VirtualQuantity>\n"
		"      </Item>\n"
		"      <Item>\n"
		"        <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>\n"
		"        <rasd:Description>Memory Size</rasd:Description>\n"
		"        <rasd:ElementName>%dMB of memory</rasd:ElementName>\n"
		"        <rasd:InstanceID>2</rasd:InstanceID>\n"
		"        <rasd:ResourceType>4</rasd:ResourceType>\n"
		"        <rasd:VirtualQuantity>%d</rasd:VirtualQuantity>\n"
		"      </Item>\n"
		"      <Item>\n"
		"        <rasd:Address>0</rasd:Address>\n"
		"        <rasd:Description>IDE Controller</rasd:Description>\n"
		"        <rasd:ElementName>ideController0</rasd:ElementName>\n"
		"        <rasd:InstanceID>3</rasd:InstanceID>\n"
		"        <rasd:ResourceType>5</rasd:ResourceType>\n"
		"      </Item>\n"
		"      <Item>\n"
		"        <rasd:AddressOnParent>0</rasd:AddressOnParent>\n"
		"        <rasd:ElementName>disk0</rasd:ElementName>\n"
		"        <rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource>\n"
		"        <rasd:InstanceID>4</rasd:InstanceID>\n"
		"        <rasd:Parent>3</rasd:Parent>\n"
		"        <rasd:ResourceType>17</rasd:ResourceType>\n"
		"      </Item>\n"
		"%s"
		"    </VirtualHardwareSection>\n"
		"  </VirtualSystem>\n"
		"</Envelope>\n",
		file, (unsigned long long)file_bytes, (unsigned long long)capacity_bytes, name, system,
		name, IMAGER_OVA_CPUS, IMAGER_OVA_CPUS, IMAGER_OVA_MEMORY_MIB, IMAGER_OVA_MEMORY_MIB,
		o->efi ? "      <vmw:Config ovf:required=\"false\" vmw:key=\"firmware\" "
			 "vmw:value=\"efi\"/>\n"
		       : "");
	free(file);
	free(system);
	free(name);
	return text;
}

/* Adds one ustar entry, owned by root, mode 0644, at the epoch: its data
 * from data (len bytes) or, when data is NULL, from the file path. */
static int add_entry(struct archive *w, const struct imager_ova *o, const char *name,
		     const char *data, size_t len, const char *path, struct sy_error *err)
{
	struct archive_entry *e = archive_entry_new();
	char *buf = NULL;
	struct stat st;
	int fd = -1, rc = 0;
	ssize_t n;

	if (!data && ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0)) {
		rc = sy_error_set(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_set_uname(e, "root");
	archive_entry_set_gname(e, "root");
	archive_entry_set_mtime(e, (time_t)o->epoch, 0);
	archive_entry_set_size(e, data ? (la_int64_t)len : (la_int64_t)st.st_size);
	if (archive_write_header(w, e) != ARCHIVE_OK) {
		rc = sy_error_set(err, "%s: %s", name, archive_error_string(w));
		goto out;
	}
	if (data && len && archive_write_data(w, data, len) != (la_ssize_t)len)
		rc = sy_error_set(err, "%s: %s", name, archive_error_string(w));
	buf = data ? NULL : sy_xmalloc(1 << 20);
	while (rc == 0 && !data && (n = read(fd, buf, 1 << 20)) != 0) {
		if (n < 0)
			rc = sy_error_set(err, "%s: %s", path, strerror(errno));
		else if (archive_write_data(w, buf, (size_t)n) != n)
			rc = sy_error_set(err, "%s: %s", name, archive_error_string(w));
	}
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	archive_entry_free(e);
	return rc;
}

/* Writes the tar at out: descriptor, manifest, disk. */
static int write_tar(const struct imager_ova *o, const char *out, const char *ovf_name,
		     const char *ovf, const char *mf_name, const char *mf, const char *vmdk_name,
		     const char *vmdk, struct sy_error *err)
{
	struct archive *w = archive_write_new();
	int rc = 0;

	/* OVF 1.x: "an OVF package may be stored as a single file using the
	 * TAR format", the descriptor first, the manifest next. */
	archive_write_set_format_ustar(w);
	if (archive_write_open_filename(w, out) != ARCHIVE_OK)
		rc = sy_error_set(err, "%s", archive_error_string(w));
	if (rc == 0)
		rc = add_entry(w, o, ovf_name, ovf, strlen(ovf), NULL, err);
	if (rc == 0)
		rc = add_entry(w, o, mf_name, mf, strlen(mf), NULL, err);
	if (rc == 0)
		rc = add_entry(w, o, vmdk_name, NULL, 0, vmdk, err);
	if (archive_write_close(w) != ARCHIVE_OK && rc == 0)
		rc = sy_error_set(err, "%s", archive_error_string(w));
	archive_write_free(w);
	return rc;
}

int imager_ova_write(const struct imager_ova *o, const char *raw, const char *work_dir,
		     const char *out, int log_fd, struct sy_error *err)
{
	char *vmdk_name = sy_xasprintf("%s-disk1.vmdk", o->name);
	char *ovf_name = sy_xasprintf("%s.ovf", o->name), *mf_name = sy_xasprintf("%s.mf", o->name);
	char *vmdk = sy_xasprintf("%s/%s", work_dir, vmdk_name), *ovf = NULL, *mf = NULL;
	char ovf_sum[SY_SHA256_HEX_LEN + 1], vmdk_sum[SY_SHA256_HEX_LEN + 1];
	struct stat vst, rst;
	int rc = imager_disk_convert(raw, "vmdk", vmdk, o->key, o->epoch, log_fd, err);

	if (rc == 0 && (stat(vmdk, &vst) < 0 || stat(raw, &rst) < 0))
		rc = sy_error_set(err, "%s: %s", vmdk, strerror(errno));
	if (rc == 0)
		rc = sy_sha256_file(vmdk, vmdk_sum, err);
	if (rc == 0) {
		ovf = imager_ova_descriptor(o, vmdk_name, (uint64_t)vst.st_size,
					    (uint64_t)rst.st_size);
		sy_sha256_buf(ovf, strlen(ovf), ovf_sum);
		mf = sy_xasprintf("SHA256(%s)= %s\nSHA256(%s)= %s\n", ovf_name, ovf_sum, vmdk_name,
				  vmdk_sum);
		unlink(out);
		rc = write_tar(o, out, ovf_name, ovf, mf_name, mf, vmdk_name, vmdk, err);
	}
	if (rc)
		sy_error_prefix(err, "%s", sy_base_name(out));
	unlink(vmdk);
	free(mf);
	free(ovf);
	free(vmdk);
	free(mf_name);
	free(ovf_name);
	free(vmdk_name);
	return rc;
}
