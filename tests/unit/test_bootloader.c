/* imager/bootloader: systemd-boot, the kernel and Boot Loader
 * Specification entries written under the ESP's mount point of a composed
 * root, and what is refused. */
#include "testutil.h"

#include <unistd.h>

#include "common/fs.h"
#include "imager/bootloader.h"
#include "imager/disk.h"
#include "imager/imageconfig.h"
#include "imager/imagevalidate.h"

#define KEY "cccc0000cccc0000cccc0000cccc0000cccc0000cccc0000cccc0000cccc0000"

static int read_nothing(void *arg, const char *path, char **data, size_t *len,
			struct sy_error *err)
{
	(void)arg;
	(void)data;
	(void)len;
	return sy_error_set(err, "%s: no such file", path);
}

/* A GPT config with an ESP at /boot/efi and BootType boot_type. */
static void parse(const char *boot_type, struct imager_config *cfg)
{
	struct sy_error err = { { 0 } };
	char *json = sy_xasprintf(
		"{\"Disks\": [{\"PartitionTableType\": \"gpt\", \"MaxSize\": 64, "
		"\"Artifacts\": [{\"Name\": \"d\", \"Type\": \"raw\"}], \"Partitions\": ["
		"{\"ID\": \"esp\", \"Flags\": [\"esp\"], \"Start\": 1, \"End\": 9, \"FsType\": \"fat32\"}, "
		"{\"ID\": \"root\", \"Start\": 9, \"End\": 0, \"FsType\": \"ext4\"}]}], "
		"\"SystemConfigs\": [{\"Name\": \"Boot Me\", \"BootType\": \"%s\", "
		"\"Packages\": [\"a\"], \"KernelOptions\": {\"default\": \"kernel\"}, "
		"\"PartitionSettings\": [{\"ID\": \"esp\", \"MountPoint\": \"/boot/efi\"}, "
		"{\"ID\": \"root\", \"MountPoint\": \"/\"}]}]}", boot_type);

	assert_ok(imager_config_parse("cfg/efi.json", json, read_nothing, NULL, cfg, &err), &err);
	assert_ok(imager_config_check_support(cfg, &err), &err);
	free(json);
}

/* A root with two kernels, an initrd of the newer one and systemd-boot. */
static char *make_root(void)
{
	char *dir = test_tmpdir();

	test_write_file(dir, "root/boot/vmlinuz-6.1.0-9-cloud", "old kernel");
	test_write_file(dir, "root/boot/vmlinuz-6.1.0-10-cloud", "new kernel");
	test_write_file(dir, "root/boot/initrd.img-6.1.0-10-cloud", "its initrd");
	test_write_file(dir, "root/" IMAGER_SYSTEMD_BOOT_EFI, "systemd-boot");
	return dir;
}

static void expect_file(const char *dir, const char *rel, const char *text)
{
	char *path = sy_xasprintf("%s/%s", dir, rel), *data = NULL;
	struct sy_error err = { { 0 } };

	assert_ok(sy_read_file(path, &data, NULL, &err), &err);
	assert_string_equal(data, text);
	free(data);
	free(path);
}

static void test_bootloader_writes_systemd_boot_kernel_and_entry_on_the_esp(void **state)
{
	struct imager_config cfg;
	struct imager_disk_layout l;
	struct sy_error err = { { 0 } };
	const struct imager_inputs in = { .key = KEY, .epoch = 1700000000 };
	char *dir = make_root(), *root = sy_xasprintf("%s/root", dir);
	(void)state;

	parse("efi", &cfg);
	assert_ok(imager_bootloader_install(&cfg, &in, root, "x86_64", -1, &err), &err);
	assert_ok(imager_disk_layout(&cfg, KEY, &l, &err), &err);
	char *cmdline = imager_boot_cmdline(&cfg, &l);
	/* The config's command line (imager/cmdline.h) first, then what the
	 * boot needs. */
	char *want = sy_xasprintf("root=PARTUUID=%s ro selinux=0 rootwait console=tty0 "
				  "console=ttyS0", l.parts[1].part_uuid);
	assert_string_equal(cmdline, want);
	/* The newest kernel by version, not by name order. */
	expect_file(root, "boot/efi/efi/6.1.0-10-cloud/linux", "new kernel");
	expect_file(root, "boot/efi/efi/6.1.0-10-cloud/initrd", "its initrd");
	expect_file(root, "boot/efi/EFI/BOOT/BOOTX64.EFI", "systemd-boot");
	expect_file(root, "boot/efi/loader/loader.conf",
		    "default efi-6.1.0-10-cloud.conf\ntimeout 0\neditor no\n");
	char *entry = sy_xasprintf("title Boot_Me\nversion 6.1.0-10-cloud\n"
				   "linux /efi/6.1.0-10-cloud/linux\n"
				   "initrd /efi/6.1.0-10-cloud/initrd\noptions %s\n", want);
	expect_file(root, "boot/efi/loader/entries/efi-6.1.0-10-cloud.conf", entry);
	free(entry);
	free(want);
	free(cmdline);
	imager_disk_layout_release(&l);
	imager_config_release(&cfg);
	sy_rm_rf(dir, NULL);
	free(root);
	free(dir);
}

/* The entry's options are the config's KernelCommandLine (its
 * ExtraCommandLine kept, root= as MountIdentifier says), then what the
 * boot needs. */
static void test_bootloader_options_start_from_the_config_cmdline(void **state)
{
	struct imager_config cfg;
	struct imager_disk_layout l;
	struct sy_error err = { { 0 } };
	(void)state;

	parse("efi", &cfg);
	free(cfg.systems[0].cmdline.extra);
	cfg.systems[0].cmdline.extra = sy_xstrdup("quiet loglevel=3");
	cfg.systems[0].cmdline.enable_fips = 1;
	assert_ok(imager_disk_layout(&cfg, KEY, &l, &err), &err);
	char *cmdline = imager_boot_cmdline(&cfg, &l);
	char *want = sy_xasprintf("root=PARTUUID=%s ro selinux=0 fips=1 quiet loglevel=3 "
				  "rootwait console=tty0 console=ttyS0", l.parts[1].part_uuid);
	assert_string_equal(cmdline, want);
	free(want);
	free(cmdline);
	imager_disk_layout_release(&l);
	imager_config_release(&cfg);
}

/* Packages filled the root: an ESP mount point that is a link is not
 * followed out of it. */
static void test_bootloader_refuses_a_linked_esp_mount_point(void **state)
{
	struct imager_config cfg;
	struct sy_error err = { { 0 } };
	const struct imager_inputs in = { .key = KEY, .epoch = 1700000000 };
	char *dir = make_root(), *root = sy_xasprintf("%s/root", dir);
	char *outside = sy_xasprintf("%s/outside", dir), *link = sy_xasprintf("%s/boot/efi", root);
	(void)state;

	parse("efi", &cfg);
	assert_ok(sy_mkdir_p(outside, 0755, &err), &err);
	assert_int_equal(symlink(outside, link), 0);
	assert_int_equal(imager_bootloader_install(&cfg, &in, root, "x86_64", -1, &err), -1);
	assert_string_equal(err.msg, "image efi: BootType efi: /boot/efi: a symbolic link or a "
				     "file in the image root");
	char *esp_file = sy_xasprintf("%s/EFI", outside);
	assert_false(sy_exists(esp_file));
	free(esp_file);
	imager_config_release(&cfg);
	sy_rm_rf(dir, NULL);
	free(link);
	free(outside);
	free(root);
	free(dir);
}

static void test_bootloader_needs_a_kernel_and_systemd_boot(void **state)
{
	struct imager_config cfg;
	struct sy_error err = { { 0 } };
	const struct imager_inputs in = { .key = KEY, .epoch = 1700000000 };
	char *dir = make_root(), *root = sy_xasprintf("%s/root", dir);
	char *efi = sy_xasprintf("%s/" IMAGER_SYSTEMD_BOOT_EFI, root);
	char *boot = sy_xasprintf("%s/boot", root);
	(void)state;

	parse("efi", &cfg);
	assert_int_equal(unlink(efi), 0);
	assert_int_equal(imager_bootloader_install(&cfg, &in, root, "x86_64", -1, &err), -1);
	assert_string_equal(err.msg, "image efi: BootType efi: no boot loader: /"
			    IMAGER_SYSTEMD_BOOT_EFI " is missing (GRUB is not supported: "
			    "install systemd-boot)");
	sy_rm_rf(boot, NULL);
	assert_int_equal(imager_bootloader_install(&cfg, &in, root, "x86_64", -1, &err), -1);
	assert_string_equal(err.msg, "image efi: BootType efi: no kernel /boot/vmlinuz-* in the "
				     "image root");
	imager_config_release(&cfg);
	sy_rm_rf(dir, NULL);
	free(boot);
	free(efi);
	free(root);
	free(dir);
}

/* A config asking for GRUB is refused before any work; with systemd-boot
 * beside it, systemd-boot is what it gets. Other arches are refused. */
static void test_bootloader_refuses_grub_and_other_arches(void **state)
{
	struct imager_config cfg;
	struct sy_error err = { { 0 } };
	const struct imager_inputs in = { .key = KEY, .epoch = 1700000000 };
	(void)state;

	parse("efi", &cfg);
	sy_strv_push(&cfg.packages, "grub2-efi-binary");
	assert_int_equal(imager_bootloader_check_support(&cfg, &err), -1);
	assert_string_equal(err.msg, "cfg/efi.json: SystemConfigs[0].BootType: not supported: "
				     "GRUB (grub2-efi-binary) is not installed; systemd-boot is");
	sy_strv_push(&cfg.packages, "systemd-boot >= 252");
	assert_ok(imager_bootloader_check_support(&cfg, &err), &err);
	assert_int_equal(imager_bootloader_install(&cfg, &in, "/nonexistent", "aarch64", -1, &err),
			 -1);
	assert_string_equal(err.msg, "image efi: BootType efi: aarch64: not supported");
	imager_config_release(&cfg);
}

/* BootType none: the root is left as it is. */
static void test_bootloader_does_nothing_without_boot_type_efi(void **state)
{
	struct imager_config cfg;
	struct sy_error err = { { 0 } };
	const struct imager_inputs in = { .key = KEY, .epoch = 1700000000 };
	char *dir = make_root(), *root = sy_xasprintf("%s/root", dir);
	char *esp = sy_xasprintf("%s/boot/efi", root);
	(void)state;

	parse("none", &cfg);
	assert_ok(imager_bootloader_install(&cfg, &in, root, "x86_64", -1, &err), &err);
	assert_false(sy_exists(esp));
	imager_config_release(&cfg);
	sy_rm_rf(dir, NULL);
	free(esp);
	free(root);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bootloader_writes_systemd_boot_kernel_and_entry_on_the_esp),
		cmocka_unit_test(test_bootloader_options_start_from_the_config_cmdline),
		cmocka_unit_test(test_bootloader_refuses_a_linked_esp_mount_point),
		cmocka_unit_test(test_bootloader_needs_a_kernel_and_systemd_boot),
		cmocka_unit_test(test_bootloader_refuses_grub_and_other_arches),
		cmocka_unit_test(test_bootloader_does_nothing_without_boot_type_efi),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
