#define _GNU_SOURCE
#include "sandbox/sandbox.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/capability.h>

#define RO_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)

static const int kept_caps[] = {
	CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID, CAP_KILL, CAP_SETGID,
	CAP_SETUID, CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_AUDIT_WRITE,
	CAP_SETFCAP,
};

static int mount_dev(const char *root, struct sy_error *err)
{
	static const struct { const char *name; unsigned major, minor; } nodes[] = {
		{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 },
		{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
	};
	static const char *const links[][2] = {
		{ "fd", "/proc/self/fd" }, { "stdin", "/proc/self/fd/0" },
		{ "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
	};
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/dev", root);
	if (mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=65536k") < 0)
		return sy_error_set(err, "cannot mount /dev: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		snprintf(path, sizeof(path), "%s/dev/%s", root, nodes[i].name);
		if (mknod(path, S_IFCHR | 0666, makedev(nodes[i].major, nodes[i].minor)) < 0)
			return sy_error_set(err, "cannot create /dev/%s: %s", nodes[i].name,
					    strerror(errno));
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		snprintf(path, sizeof(path), "%s/dev/%s", root, links[i][0]);
		if (symlink(links[i][1], path) < 0)
			return sy_error_set(err, "cannot create /dev/%s: %s", links[i][0],
					    strerror(errno));
	}
	snprintf(path, sizeof(path), "%s/dev/shm", root);
	if (mkdir(path, 01777) < 0)
		return sy_error_set(err, "cannot create /dev/shm: %s", strerror(errno));
	return 0;
}

static int mount_proc(const char *root, struct sy_error *err)
{
	static const char *const read_only[] = { "sys", "sysrq-trigger", "irq", "bus" };
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/proc", root);
	if (mount("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return sy_error_set(err, "cannot mount /proc: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(read_only) / sizeof(read_only[0]); i++) {
		snprintf(path, sizeof(path), "%s/proc/%s", root, read_only[i]);
		if (lstat(path, &st) < 0 && errno == ENOENT)
			continue;
		if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0 ||
		    mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | RO_FLAGS, NULL) < 0)
			return sy_error_set(err, "cannot make /proc/%s read-only: %s",
					    read_only[i], strerror(errno));
	}
	return 0;
}

int sandbox_mount_proc_dev(const char *root, struct sy_error *err)
{
	return mount_proc(root, err) || mount_dev(root, err) ? -1 : 0;
}

int sandbox_enter(const char *root, const char *hostname, const char *what,
			  struct sy_error *err)
{
	if (chdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
	    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		return sy_error_set(err, "cannot enter %s: %s", what, strerror(errno));
	if (hostname && sethostname(hostname, strlen(hostname)) < 0)
		return sy_error_set(err, "cannot set host name: %s", strerror(errno));
	return 0;
}

int sandbox_drop_capabilities(struct sy_error *err)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	memset(data, 0, sizeof(data));
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
		int keep = 0;
		for (size_t i = 0; i < sizeof(kept_caps) / sizeof(kept_caps[0]); i++)
			keep |= kept_caps[i] == cap;
		if (keep) {
			data[cap / 32].effective |= 1U << (cap % 32);
			data[cap / 32].permitted |= 1U << (cap % 32);
		} else if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) {
			return sy_error_set(err, "cannot drop capability %d: %s", cap,
					    strerror(errno));
		}
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		return sy_error_set(err, "cannot drop capabilities: %s", strerror(errno));
	return 0;
}
