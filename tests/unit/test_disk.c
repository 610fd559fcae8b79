/* imager/disk: layouts, identifiers derived from the image key, fstab,
 * sfdisk scripts and what is refused before any work. */
#define _GNU_SOURCE /* memfd_create */
#include "testutil.h"

#include <ctype.h>
#include <sys/mman.h>

#include "imager/disk.h"
#include "imager/diskformat.h"
#include "imager/imageconfig.h"
#include "imager/imagevalidate.h"

#define KEY_A "aaaa0000aaaa0000aaaa0000aaaa0000aaaa0000aaaa0000aaaa0000aaaa0000"
#define KEY_B "bbbb0000bbbb0000bbbb0000bbbb0000bbbb0000bbbb0000bbbb0000bbbb0000"

static int read_nothing(void *arg, const char *path, char **data, size_t *len,
			struct sy_error *err)
{
	(void)arg;
	(void)data;
	(void)len;
	return sy_error_set(err, "%s: no such file", path);
}

/* A config with the given Disks[0] body and PartitionSettings. */
static void parse(const char *disk, const char *settings, struct imager_config *cfg)
{
	struct sy_error err = { { 0 } };
	char *json = sy_xasprintf("{\"Disks\": [{%s}], \"SystemConfigs\": [{\"Name\": \"S\", "
				  "\"Packages\": [\"a\"], \"KernelOptions\": {\"default\": \"k\"}, "
				  "\"PartitionSettings\": [%s]}]}", disk, settings);

	assert_ok(imager_config_parse("cfg/d.json", json, read_nothing, NULL, cfg, &err), &err);
	free(json);
}

static const char gpt_disk[] =
	"\"PartitionTableType\": \"gpt\", \"MaxSize\": 64, "
	"\"Artifacts\": [{\"Name\": \"d\", \"Type\": \"vhdx\"}], "
	"\"Partitions\": [{\"ID\": \"esp\", \"Flags\": [\"esp\"], \"Start\": 1, \"End\": 9, "
	"\"FsType\": \"fat32\"}, {\"ID\": \"root\", \"Name\": \"rootfs\", \"Start\": 9, "
	"\"End\": 0, \"FsType\": \"ext4\"}]";
static const char gpt_settings[] =
	"{\"ID\": \"esp\", \"MountPoint\": \"/boot/efi\", \"MountIdentifier\": \"uuid\", "
	"\"MountOptions\": \"umask=0077\"}, {\"ID\": \"root\", \"MountPoint\": \"/\", "
	"\"MountIdentifier\": \"partlabel\"}";

static void test_disk_layout_derives_every_id_from_the_key(void **state)
{
	struct imager_config cfg;
	struct imager_disk_layout a, a2, b;
	struct sy_error err = { { 0 } };
	(void)state;

	parse(gpt_disk, gpt_settings, &cfg);
	assert_ok(imager_config_check_support(&cfg, &err), &err);
	assert_ok(imager_disk_layout(&cfg, KEY_A, &a, &err), &err);
	assert_ok(imager_disk_layout(&cfg, KEY_A, &a2, &err), &err);
	assert_ok(imager_disk_layout(&cfg, KEY_B, &b, &err), &err);
	assert_int_equal(a.nparts, 2);
	assert_string_equal(a.disk_id, a2.disk_id);
	assert_string_not_equal(a.disk_id, b.disk_id);
	for (size_t i = 0; i < 2; i++) {
		assert_string_equal(a.parts[i].part_uuid, a2.parts[i].part_uuid);
		assert_string_equal(a.parts[i].fs_uuid, a2.parts[i].fs_uuid);
		assert_string_not_equal(a.parts[i].part_uuid, b.parts[i].part_uuid);
		assert_string_not_equal(a.parts[i].part_uuid, a.parts[i].fs_uuid);
		assert_int_equal(a.parts[i].part_uuid[14], '4'); /* version 4 shape */
	}
	/* The ESP by its flag; End 0 stops before the backup GPT, 4 KiB aligned. */
	assert_string_equal(a.parts[0].type, "c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
	assert_int_equal(a.parts[0].start, 1 << 20);
	assert_int_equal(a.parts[0].bytes, 8 << 20);
	assert_int_equal(a.parts[1].start, 9 << 20);
	assert_true(a.parts[1].start + a.parts[1].bytes <= (64ull << 20) - 33 * 512);
	assert_int_equal(a.parts[1].bytes % 4096, 0);
	imager_disk_layout_release(&a);
	imager_disk_layout_release(&a2);
	imager_disk_layout_release(&b);
	imager_config_release(&cfg);
}

static void test_disk_fstab_names_each_partition_as_mount_identifier_says(void **state)
{
	struct imager_config cfg;
	struct imager_disk_layout l;
	struct sy_error err = { { 0 } };
	char want[256];
	(void)state;

	parse(gpt_disk, gpt_settings, &cfg);
	assert_ok(imager_disk_layout(&cfg, KEY_A, &l, &err), &err);
	char *fstab = imager_disk_fstab(&l);
	/* Parents first; vfat's UUID is its volume id, XXXX-XXXX. */
	char *root = strstr(fstab, "PARTLABEL=rootfs / ext4 defaults 0 1\n");
	snprintf(want, sizeof(want), "UUID=%.4s-%.4s /boot/efi vfat umask=0077 0 2\n",
		 l.parts[0].fs_uuid, l.parts[0].fs_uuid + 4);
	for (char *c = want; *c != ' '; c++)
		*c = (char)toupper((unsigned char)*c);
	char *esp = strstr(fstab, want);
	assert_non_null(root);
	assert_non_null(esp);
	assert_true(root < esp);
	free(fstab);
	imager_disk_layout_release(&l);
	imager_config_release(&cfg);
}

static void test_disk_sfdisk_script_writes_ids_types_and_names(void **state)
{
	struct imager_config cfg;
	struct imager_disk_layout l;
	struct sy_error err = { { 0 } };
	char want[256];
	(void)state;

	parse(gpt_disk, gpt_settings, &cfg);
	assert_ok(imager_disk_layout(&cfg, KEY_A, &l, &err), &err);
	char *script = imager_disk_sfdisk_script(&l);
	snprintf(want, sizeof(want), "label: gpt\nlabel-id: %s\n", l.disk_id);
	assert_non_null(strstr(script, want));
	snprintf(want, sizeof(want), "start=2048, size=16384, type=c12a7328-f81f-11d2-ba4b-"
		 "00a0c93ec93b, uuid=%s\n", l.parts[0].part_uuid);
	assert_non_null(strstr(script, want));
	assert_non_null(strstr(script, ", name=\"rootfs\"\n"));
	free(script);
	imager_disk_layout_release(&l);
	imager_config_release(&cfg);
}

static void test_disk_mbr_partuuids_are_disk_id_and_number(void **state)
{
	struct imager_config cfg;
	struct imager_disk_layout l;
	struct sy_error err = { { 0 } };
	(void)state;

	parse("\"PartitionTableType\": \"mbr\", \"MaxSize\": 32, \"Artifacts\": [{\"Name\": "
	      "\"d\", \"Type\": \"raw\"}], \"Partitions\": [{\"ID\": \"swap\", \"Start\": 1, "
	      "\"End\": 5, \"FsType\": \"linux-swap\"}, {\"ID\": \"root\", \"Flags\": [\"boot\"], "
	      "\"Start\": 5, \"End\": 0, \"FsType\": \"ext4\"}]",
	      "{\"ID\": \"root\", \"MountPoint\": \"/\"}", &cfg);
	assert_ok(imager_config_check_support(&cfg, &err), &err);
	assert_ok(imager_disk_layout(&cfg, KEY_A, &l, &err), &err);
	assert_int_equal(strlen(l.disk_id), 10);
	assert_memory_equal(l.disk_id, "0x", 2);
	assert_memory_equal(l.parts[1].part_uuid, l.disk_id + 2, 8);
	assert_string_equal(l.parts[1].part_uuid + 8, "-02");
	assert_string_equal(l.parts[0].type, "82");
	/* MBR uses the whole disk: no backup table. */
	assert_int_equal(l.parts[1].start + l.parts[1].bytes, 32 << 20);
	char *script = imager_disk_sfdisk_script(&l);
	assert_non_null(strstr(script, "label: dos\n"));
	assert_non_null(strstr(script, ", type=83, bootable\n"));
	free(script);
	imager_disk_layout_release(&l);
	imager_config_release(&cfg);
}

/* What cannot be made is refused by field before any work, never ignored. */
static void test_disk_support_refuses_what_is_not_made_by_field(void **state)
{
	static const char *const cases[][3] = {
		{ "\"PartitionTableType\": \"gpt\", \"MaxSize\": 256, \"Artifacts\": [{\"Name\": "
		  "\"d\", \"Type\": \"raw\"}], \"Partitions\": [{\"ID\": \"root\", \"Start\": 1, "
		  "\"End\": 0, \"FsType\": \"xfs\"}]", "{\"ID\": \"root\", \"MountPoint\": \"/\"}",
		  "Disks[0].Partitions[0]: FsType \"xfs\" needs at least 300 MiB" },
		{ "\"PartitionTableType\": \"gpt\", \"MaxSize\": 64, \"Artifacts\": [{\"Name\": "
		  "\"d\", \"Type\": \"diff\"}], \"Partitions\": [{\"ID\": \"root\", \"Start\": 1, "
		  "\"End\": 0, \"FsType\": \"ext4\"}]", "{\"ID\": \"root\", \"MountPoint\": \"/\"}",
		  "Disks[0].Artifacts[0]: Type \"diff\": not supported" },
		{ "\"PartitionTableType\": \"gpt\", \"MaxSize\": 64, \"Artifacts\": [{\"Name\": "
		  "\"d\", \"Type\": \"ova\", \"Compression\": \"gz\"}], \"Partitions\": [{\"ID\": "
		  "\"root\", \"Start\": 1, \"End\": 0, \"FsType\": \"ext4\"}]",
		  "{\"ID\": \"root\", \"MountPoint\": \"/\"}",
		  "Compression \"gz\" of an ova: not supported; an OVA is never compressed" },
		{ "\"PartitionTableType\": \"gpt\", \"MaxSize\": 64, \"Artifacts\": [{\"Name\": "
		  "\"d\", \"Type\": \"raw\"}], \"Partitions\": [{\"ID\": \"root\", \"Start\": 1, "
		  "\"End\": 0, \"FsType\": \"ext4\"}]", "{\"ID\": \"root\", \"MountPoint\": \"/srv\"}",
		  "no partition is mounted at /" },
		{ "\"PartitionTableType\": \"gpt\", \"MaxSize\": 64, \"Artifacts\": [{\"Name\": "
		  "\"d\", \"Type\": \"raw\"}, {\"Name\": \"d\", \"Type\": \"raw\"}], \"Partitions\": "
		  "[{\"ID\": \"root\", \"Start\": 1, \"End\": 0, \"FsType\": \"ext4\"}]",
		  "{\"ID\": \"root\", \"MountPoint\": \"/\"}", "two artifacts write d.raw" },
		{ "\"PartitionTableType\": \"gpt\", \"MaxSize\": 64, \"Artifacts\": [{\"Name\": "
		  "\"d\", \"Type\": \"raw\"}], \"Partitions\": [{\"ID\": \"root\", \"Start\": 1, "
		  "\"End\": 0, \"FsType\": \"ext4\", \"Flags\": [\"dmroot\"]}]",
		  "{\"ID\": \"root\", \"MountPoint\": \"/\"}", "Flags dmroot: not supported" },
		{ "\"PartitionTableType\": \"gpt\", \"MaxSize\": 64, \"Artifacts\": [{\"Name\": "
		  "\"d\", \"Type\": \"raw\"}], \"Partitions\": [{\"ID\": \"root\", \"Start\": 1, "
		  "\"End\": 0, \"FsType\": \"ext4\"}]",
		  "{\"ID\": \"root\", \"MountPoint\": \"/usr/../\"}", "not a clean absolute path" },
		{ "\"Artifacts\": [{\"Name\": \"d\", \"Type\": \"vhdx\"}]", "",
		  "Disks[0].Artifacts[0]: Type \"vhdx\" needs a disk with Partitions" },
		{ "\"Artifacts\": [{\"Name\": \"r\", \"Type\": \"initrd\", \"Compression\": "
		  "\"xz\"}]", "",
		  "Disks[0].Artifacts[0]: Compression \"xz\" of an initrd: not supported" },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct imager_config cfg;
		struct sy_error err = { { 0 } };
		parse(cases[i][0], cases[i][1], &cfg);
		assert_int_equal(imager_config_check_support(&cfg, &err), -1);
		if (!strstr(err.msg, cases[i][2]))
			fail_msg("case %zu: \"%s\" does not say \"%s\"", i, err.msg, cases[i][2]);
		assert_non_null(strstr(err.msg, "cfg/d.json: "));
		imager_config_release(&cfg);
	}
}

/* A disk larger than the distribution allows is refused before anything
 * is written. */
static void test_disk_write_refuses_a_disk_over_the_limit(void **state)
{
	struct imager_config cfg;
	struct sy_strv artifacts = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	const struct imager_inputs in = { .key = KEY_A, .epoch = 1700000000, .max_disk_mib = 32 };
	char *dir = test_tmpdir();
	char *root = sy_xasprintf("%s/root", dir), *out = sy_xasprintf("%s/out", dir);
	(void)state;

	parse(gpt_disk, gpt_settings, &cfg);
	assert_ok(sy_mkdir_p(root, 0755, &err), &err);
	assert_ok(sy_mkdir_p(out, 0755, &err), &err);
	assert_int_equal(imager_disk_write(&cfg, &in, root, dir, out, -1, &artifacts, &err), -1);
	assert_non_null(strstr(err.msg, "MaxSize 64 MiB is above the limit of 32 MiB"));
	assert_int_equal(artifacts.n, 0);
	char *etc = sy_xasprintf("%s/etc", root);
	assert_false(sy_exists(etc)); /* no fstab written */
	free(etc);
	sy_rm_rf(dir, &err);
	free(root);
	free(out);
	free(dir);
	imager_config_release(&cfg);
}

/* A streamOptimized VMDK's first two sectors as qemu-img writes them: the
 * header, then the descriptor with the CID given, NUL-padded. */
static int vmdk_with_cid(const char *cid)
{
	unsigned char sectors[1024] = { 'K', 'D', 'M', 'V' };
	int fd = memfd_create("vmdk", MFD_CLOEXEC);

	assert_true(fd >= 0);
	sectors[28] = 1; /* descriptor at sector 1 */
	sectors[36] = 1; /* one sector long */
	snprintf((char *)sectors + 512, 512,
		 "# Disk DescriptorFile\nversion=1\nCID=%s\nparentCID=ffffffff\n"
		 "createType=\"streamOptimized\"\n", cid);
	assert_int_equal(pwrite(fd, sectors, sizeof(sectors), 0), sizeof(sectors));
	return fd;
}

static void descriptor_of(int fd, char *out)
{
	assert_int_equal(pread(fd, out, 512, 512), 512);
}

/* qemu-img prints the random CID with %x: one in sixteen is shorter than 8
 * digits, and the result must not depend on which. */
static void test_disk_vmdk_cid_becomes_eight_digits_from_the_key(void **state)
{
	struct sy_error err = { { 0 } };
	int short_cid = vmdk_with_cid("abc"), long_cid = vmdk_with_cid("1234abcd");
	char a[512], b[512];
	const char *cid;

	(void)state;
	assert_ok(imager_vmdk_fix_cid(short_cid, KEY_A, &err), &err);
	assert_ok(imager_vmdk_fix_cid(long_cid, KEY_A, &err), &err);
	descriptor_of(short_cid, a);
	descriptor_of(long_cid, b);
	assert_memory_equal(a, b, sizeof(a));
	cid = strstr(a, "\nCID=");
	assert_non_null(cid);
	assert_int_equal(strspn(cid + 5, "0123456789abcdef"), 8);
	assert_non_null(strstr(a, "\nparentCID=ffffffff\ncreateType=\"streamOptimized\"\n"));
	close(short_cid);
	close(long_cid);
}

static void test_disk_vmdk_without_cid_is_refused(void **state)
{
	struct sy_error err = { { 0 } };
	int fd = vmdk_with_cid("xyz");

	(void)state;
	assert_int_equal(imager_vmdk_fix_cid(fd, KEY_A, &err), -1);
	assert_string_equal(err.msg, "no CID in the VMDK descriptor");
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disk_layout_derives_every_id_from_the_key),
		cmocka_unit_test(test_disk_vmdk_cid_becomes_eight_digits_from_the_key),
		cmocka_unit_test(test_disk_vmdk_without_cid_is_refused),
		cmocka_unit_test(test_disk_fstab_names_each_partition_as_mount_identifier_says),
		cmocka_unit_test(test_disk_sfdisk_script_writes_ids_types_and_names),
		cmocka_unit_test(test_disk_mbr_partuuids_are_disk_id_and_number),
		cmocka_unit_test(test_disk_support_refuses_what_is_not_made_by_field),
		cmocka_unit_test(test_disk_write_refuses_a_disk_over_the_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
