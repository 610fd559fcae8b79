#define _GNU_SOURCE
#include "imager/bootloader.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "imager/cmdline.h"

#define GPT_TYPE_ESP "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"

char *imager_boot_cmdline(const struct imager_config *cfg, const struct imager_disk_layout *layout)
{
	char *base, *line;

	for (size_t i = 0; i < layout->nparts; i++) {
		const struct imager_disk_part *q = &layout->parts[i];
		if (!q->setting || strcmp(q->setting->mount_point, "/"))
			continue;
		/* What the config asks for first; then what booting needs:
		 * waiting for the root device, and the serial console last
		 * so that it is /dev/console. */
		base = imager_kernel_cmdline(cfg, layout);
		line = sy_xasprintf("%s rootwait console=tty0 console=ttyS0", base);
		free(base);
		return line;
	}
	return NULL;
}

/* Opens directory rel ("boot/efi", relative) under dirfd one component at a
 * time, never following a link; with create, a missing component is made
 * (0755). Returns the fd, or -1 with errno (ELOOP or ENOTDIR: a link or a
 * file where a directory should be). */
static int open_dir_under(int dirfd, const char *rel, int create)
{
	char *copy = sy_xstrdup(rel), *save = NULL;
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	for (char *c = strtok_r(copy, "/", &save); fd >= 0 && c; c = strtok_r(NULL, "/", &save)) {
		const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
		int next = openat(fd, c, flags);
		if (next < 0 && errno == ENOENT && create &&
		    (mkdirat(fd, c, 0755) == 0 || errno == EEXIST))
			next = openat(fd, c, flags);
		int saved = errno;
		close(fd);
		errno = saved;
		fd = next;
	}
	free(copy);
	return fd;
}

/* Copies the bytes of in to out. Returns 0, or -1 with errno. */
static int copy_fd(int in, int out)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (sy_write_all(out, buf, (size_t)n))
			return -1;
	return n < 0 ? -1 : 0;
}

/* Creates name in dirfd afresh (a previous entry, file or link, removed),
 * not following links. Returns the fd or -1 with errno. */
static int create_at(int dirfd, const char *name, mode_t mode)
{
	if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		return -1;
	return openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
}

/* Copies the regular file src_name of src_dir (a link or anything else is
 * refused) to dst_name in dst_dir, mode 0644. what names the source in
 * errors. */
static int copy_at(int src_dir, const char *src_name, int dst_dir, const char *dst_name,
		   const char *what, struct sy_error *err)
{
	struct stat st;
	int in = openat(src_dir, src_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), out = -1, rc = 0;

	if (in < 0 || fstat(in, &st) < 0)
		rc = sy_error_set(err, "%s: %s", what, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		rc = sy_error_set(err, "%s: not a regular file", what);
	else if ((out = create_at(dst_dir, dst_name, 0644)) < 0 || copy_fd(in, out) ||
		 fchmod(out, 0644) < 0)
		rc = sy_error_set(err, "%s: copying to the ESP: %s", what, strerror(errno));
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return rc;
}

static int write_text_at(int dirfd, const char *name, const char *text, struct sy_error *err)
{
	int fd = create_at(dirfd, name, 0644), rc = 0;

	if (fd < 0 || sy_write_all(fd, text, strlen(text)) || fchmod(fd, 0644) < 0)
		rc = sy_error_set(err, "%s: %s", name, strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

/* A kernel release as its file name gives it: what goes into an entry line
 * and an ESP path must hold no space, newline or '/'. */
static int plain_release(const char *s)
{
	for (; *s; s++)
		if (!(('a' <= *s && *s <= 'z') || ('A' <= *s && *s <= 'Z') ||
		      ('0' <= *s && *s <= '9') || strchr("._+~-", *s)))
			return 0;
	return 1;
}

/* Finds the newest vmlinuz-<release> in boot_fd: its release, newly
 * allocated, or NULL. */
static char *newest_kernel(int boot_fd)
{
	int fd = openat(boot_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	char *best = NULL;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((e = readdir(d))) {
		const char *rel = e->d_name + 8;
		if (strncmp(e->d_name, "vmlinuz-", 8) || !rel[0] || !plain_release(rel))
			continue;
		if (!best || strverscmp(rel, best) > 0) {
			free(best);
			best = sy_xstrdup(rel);
		}
	}
	closedir(d);
	return best;
}

/* The entry id: the config name with what a path or line may not hold
 * made '_'. */
static char *entry_id(const char *name)
{
	char *id = sy_xstrdup(name);

	for (char *c = id; *c; c++)
		if (!(('a' <= *c && *c <= 'z') || ('A' <= *c && *c <= 'Z') ||
		      ('0' <= *c && *c <= '9') || strchr("._-", *c)))
			*c = '_';
	return id;
}

/* What one installation works with. */
struct boot {
	const struct imager_config *cfg;
	int root, boot, esp;  /* directory fds: the root, its /boot, the ESP */
	char *release, *id;   /* kernel release, entry id */
	char *initrd;         /* file name of the initrd in /boot, or NULL */
	char *cmdline;
};

/* Copies kernel and initrd into <ESP>/<id>/<release>/. */
static int copy_kernel(struct boot *b, struct sy_error *err)
{
	char *dir = sy_xasprintf("%s/%s", b->id, b->release);
	char *kernel = sy_xasprintf("vmlinuz-%s", b->release);
	char *what = sy_xasprintf("/boot/%s", kernel);
	int fd = open_dir_under(b->esp, dir, 1), rc;

	if (fd < 0)
		rc = sy_error_set(err, "ESP %s: %s", dir, strerror(errno));
	else
		rc = copy_at(b->boot, kernel, fd, "linux", what, err);
	if (rc == 0 && b->initrd) {
		free(what);
		what = sy_xasprintf("/boot/%s", b->initrd);
		rc = copy_at(b->boot, b->initrd, fd, "initrd", what, err);
	}
	if (fd >= 0)
		close(fd);
	free(what);
	free(kernel);
	free(dir);
	return rc;
}

/* Copies systemd-boot to EFI/BOOT/BOOTX64.EFI. */
static int copy_loader(struct boot *b, struct sy_error *err)
{
	const char *efi = IMAGER_SYSTEMD_BOOT_EFI;
	char *dir = sy_xstrndup(efi, (size_t)(strrchr(efi, '/') - efi));
	int src = open_dir_under(b->root, dir, 0), dst = open_dir_under(b->esp, "EFI/BOOT", 1);
	struct stat st;
	int rc;

	if (src < 0 || (fstatat(src, strrchr(efi, '/') + 1, &st, AT_SYMLINK_NOFOLLOW) < 0 &&
			errno == ENOENT))
		rc = sy_error_set(err, "no boot loader: /%s is missing (GRUB is not supported: "
				  "install systemd-boot)", efi);
	else if (dst < 0)
		rc = sy_error_set(err, "ESP EFI/BOOT: %s", strerror(errno));
	else
		rc = copy_at(src, strrchr(efi, '/') + 1, dst, "BOOTX64.EFI", efi, err);
	if (src >= 0)
		close(src);
	if (dst >= 0)
		close(dst);
	free(dir);
	return rc;
}

/* Writes loader/loader.conf and the entry. */
static int write_entries(struct boot *b, struct sy_error *err)
{
	const struct imager_system_config *s = &b->cfg->systems[0];
	char *name = sy_xasprintf("%s-%s.conf", b->id, b->release);
	char *initrd = b->initrd ? sy_xasprintf("initrd /%s/%s/initrd\n", b->id, b->release)
				 : sy_xstrdup("");
	char *title = entry_id(s->name[0] ? s->name : b->cfg->name);
	char *entry = sy_xasprintf("title %s\nversion %s\nlinux /%s/%s/linux\n%soptions %s\n", title,
				   b->release, b->id, b->release, initrd, b->cmdline);
	char *conf = sy_xasprintf("default %s\ntimeout 0\neditor no\n", name);
	int loader = open_dir_under(b->esp, "loader", 1);
	int entries = open_dir_under(b->esp, "loader/entries", 1), rc;

	if (loader < 0 || entries < 0)
		rc = sy_error_set(err, "ESP loader/entries: %s", strerror(errno));
	else
		rc = write_text_at(loader, "loader.conf", conf, err) ||
				     write_text_at(entries, name, entry, err)
			     ? -1
			     : 0;
	if (loader >= 0)
		close(loader);
	if (entries >= 0)
		close(entries);
	free(conf);
	free(entry);
	free(title);
	free(initrd);
	free(name);
	return rc;
}

/* The mount point of the ESP of layout, or NULL. */
static const char *esp_mount_point(const struct imager_disk_layout *l)
{
	for (size_t i = 0; i < l->nparts; i++) {
		const struct imager_disk_part *q = &l->parts[i];
		if ((!strcmp(q->type, GPT_TYPE_ESP) || !strcmp(q->type, "ef")) && q->setting &&
		    q->setting->mount_point[0] == '/' && q->setting->mount_point[1])
			return q->setting->mount_point;
	}
	return NULL;
}

/* Fills b from the root and layout, opening its directories. */
static int open_boot(struct boot *b, const struct imager_config *cfg,
		     const struct imager_disk_layout *l, const char *rootfs,
		     struct sy_error *err)
{
	const char *esp = esp_mount_point(l);
	static const char *const initrds[] = { "initramfs-%s.img", "initrd.img-%s" };

	if (!esp)
		return sy_error_set(err, "no ESP partition with a MountPoint");
	if (!(b->cmdline = imager_boot_cmdline(cfg, l)))
		return sy_error_set(err, "no partition with MountPoint /");
	b->root = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b->root < 0)
		return sy_error_set(err, "%s: %s", rootfs, strerror(errno));
	b->boot = open_dir_under(b->root, "boot", 0);
	if (b->boot < 0 || !(b->release = newest_kernel(b->boot)))
		return sy_error_set(err, "no kernel /boot/vmlinuz-* in the image root");
	for (size_t i = 0; i < sizeof(initrds) / sizeof(initrds[0]) && !b->initrd; i++) {
		char *name = sy_xasprintf(initrds[i], b->release);
		struct stat st;
		if (fstatat(b->boot, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
			b->initrd = name;
		else
			free(name);
	}
	b->esp = open_dir_under(b->root, esp + 1, 1);
	if (b->esp < 0)
		return sy_error_set(err, "%s: %s in the image root", esp,
				    errno == ELOOP || errno == ENOTDIR ? "a symbolic link or a file"
								       : strerror(errno));
	b->id = entry_id(b->cfg->name);
	return 0;
}

int imager_bootloader_check_support(const struct imager_config *cfg, struct sy_error *err)
{
	const char *grub = NULL;
	int systemd_boot = 0;

	if (!cfg->nsystems || strcmp(cfg->systems[0].boot_type, "efi"))
		return 0;
	for (size_t i = 0; i < cfg->packages.n; i++) {
		const char *p = cfg->packages.items[i];
		size_t n = strcspn(p, " <>=");
		if (n == 16 && !strncmp(p, "grub2-efi-binary", n))
			grub = "grub2-efi-binary";
		else if (n == 25 && !strncmp(p, "grub2-efi-binary-noprefix", n))
			grub = "grub2-efi-binary-noprefix";
		else if (n == 12 && !strncmp(p, "systemd-boot", n))
			systemd_boot = 1;
	}
	if (grub && !systemd_boot)
		return sy_error_set(err, "%s: SystemConfigs[0].BootType: not supported: GRUB (%s) "
				    "is not installed; systemd-boot is", cfg->path, grub);
	return 0;
}

int imager_bootloader_install(const struct imager_config *cfg, const struct imager_inputs *in,
			      const char *rootfs, const char *arch, int log_fd,
			      struct sy_error *err)
{
	struct boot b = { .cfg = cfg, .root = -1, .boot = -1, .esp = -1 };
	struct imager_disk_layout l;
	int rc;

	if (!cfg->nsystems || strcmp(cfg->systems[0].boot_type, "efi"))
		return 0;
	if (strcmp(arch, "x86_64"))
		return sy_error_set(err, "image %s: BootType efi: %s: not supported", cfg->name, arch);
	if (!cfg->ndisks || !cfg->disks[0].npartitions)
		return sy_error_set(err, "image %s: BootType efi needs a disk with Partitions",
				    cfg->name);
	if (imager_disk_layout(cfg, in->key, &l, err))
		return -1;
	rc = open_boot(&b, cfg, &l, rootfs, err);
	if (rc == 0)
		rc = copy_kernel(&b, err);
	if (rc == 0)
		rc = copy_loader(&b, err);
	if (rc == 0)
		rc = write_entries(&b, err);
	if (rc == 0 && log_fd >= 0)
		dprintf(log_fd, "image %s: systemd-boot with kernel %s%s, options %s\n", cfg->name,
			b.release, b.initrd ? " and its initrd" : "", b.cmdline);
	if (rc)
		sy_error_prefix(err, "image %s: BootType efi", cfg->name);
	if (b.root >= 0)
		close(b.root);
	if (b.boot >= 0)
		close(b.boot);
	if (b.esp >= 0)
		close(b.esp);
	free(b.initrd);
	free(b.release);
	free(b.id);
	free(b.cmdline);
	imager_disk_layout_release(&l);
	return rc;
}
