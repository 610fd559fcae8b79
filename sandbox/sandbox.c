#define _GNU_SOURCE
#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/capability.h>

#include "common/child.h"
#include "common/fs.h"
#include "common/strv.h"
#include "common/util.h"

#define RO_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
/* Read-only binds of the host in a fresh root: programs run from them. */
#define RO_EXEC_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV)

static const int kept_caps[] = {
	CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID, CAP_KILL, CAP_SETGID,
	CAP_SETUID, CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_AUDIT_WRITE,
	CAP_SETFCAP,
};

/* ---- a fresh root: a tmpfs filled read-only from the host ---- */

/* root + path ("/usr" under "/x/root" is "/x/root/usr"), newly allocated. */
static char *under(const char *root, const char *path)
{
	return sy_xasprintf("%s%s", root, path);
}

/* Bind-mounts the directory or file path of the host at the same path under
 * root (creating the mount point), then remounts it with flags; flags 0
 * leaves the bind as it is (device nodes). */
static int bind_path_at(const char *root, const char *path, const char *inside, int is_dir,
			unsigned long flags, struct sy_error *err)
{
	char *target = under(root, inside);
	int rc = -1, fd;

	if (is_dir) {
		if (sy_mkdir_p(target, 0755, err) != 0)
			goto out;
	} else {
		fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0) {
			sy_error_set(err, "create %s: %s", path, strerror(errno));
			goto out;
		}
		close(fd);
	}
	if (mount(path, target, NULL, MS_BIND, NULL) != 0) {
		sy_error_set(err, "bind %s: %s", path, strerror(errno));
		goto out;
	}
	if (flags && mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | flags, NULL) != 0) {
		sy_error_set(err, "remount %s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(target);
	return rc;
}

/* Binds the host's path at the same path under root. */
static int bind_path(const char *root, const char *path, int is_dir, unsigned long flags,
		     struct sy_error *err)
{
	return bind_path_at(root, path, path, is_dir, flags, err);
}

/* Makes the host's path (/bin, /lib64, /etc/localtime...) under root what
 * it is on the host: the same symbolic link ("usr/bin" on merged-/usr
 * systems), or a read-only bind of the directory or file; nothing when the
 * host has none. */
static int mirror_host_path(const char *root, const char *path, struct sy_error *err)
{
	char link[256], *target;
	struct stat st;
	ssize_t n;
	int rc;

	if (lstat(path, &st) != 0)
		return 0;
	if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))
		return bind_path(root, path, S_ISDIR(st.st_mode), RO_EXEC_FLAGS, err);
	if (!S_ISLNK(st.st_mode))
		return 0;
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return sy_error_set(err, "readlink %s: %s", path, strerror(errno));
	link[n] = '\0';
	target = under(root, path);
	rc = symlink(link, target);
	free(target);
	if (rc != 0)
		return sy_error_set(err, "symlink %s: %s", path, strerror(errno));
	return 0;
}

/* The files of a fresh root's /etc, made up rather than the host's: the
 * users and groups the work can run as, name lookups in these files only,
 * localhost. */
static const struct {
	const char *name;
	const char *text;
} etc_files[] = {
	{ "passwd", "root:x:0:0:root:/root:/bin/sh\n"
		    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n" },
	{ "group", "root:x:0:\nnogroup:x:65534:\n" },
	{ "nsswitch.conf", "passwd: files\ngroup: files\nshadow: files\nhosts: files\n" },
	{ "hosts", "127.0.0.1 localhost\n::1 localhost\n" },
};

/* What of the host's /etc a fresh root shows (mirror_host_path), none of it
 * secret: Debian's alternatives (/usr/bin/awk is a link into
 * /etc/alternatives), the dynamic linker's cache, the time zone, the
 * release, rpm's own configuration. */
static const char *const etc_from_host[] = {
	"/etc/alternatives", "/etc/ld.so.cache", "/etc/localtime", "/etc/os-release", "/etc/rpm",
};

/* Makes root's /etc: etc_files and etc_from_host, nothing else of the
 * host's /etc, where any file left readable by others (a forge token, a
 * key) would be readable by the work. A user other than root and nobody
 * (a spec reader's uid of its own) is named nobody as well, first, so that
 * the work sees one name whatever its uid. */
static int make_etc(const char *root, const struct sandbox_user *user, struct sy_error *err)
{
	char *etc = under(root, "/etc");
	int rc = -1;

	if (sy_mkdir_p(etc, 0755, err))
		goto out;
	for (size_t i = 0; i < LEN(etc_files); i++) {
		char *path = sy_xasprintf("%s/%s", etc, etc_files[i].name);
		char *text = sy_xstrdup(etc_files[i].text);
		if (!strcmp(etc_files[i].name, "passwd") && user && user->uid != 0 &&
		    user->uid != 65534) {
			free(text);
			text = sy_xasprintf("nobody:x:%u:%u:nobody:/nonexistent:/usr/sbin/nologin\n%s",
					    (unsigned)user->uid, (unsigned)user->gid,
					    etc_files[i].text);
		}
		int failed = sy_write_file(path, text, strlen(text), 0644, err);
		free(text);
		free(path);
		if (failed)
			goto out;
	}
	for (size_t i = 0; i < LEN(etc_from_host); i++)
		if (mirror_host_path(root, etc_from_host[i], err))
			goto out;
	rc = 0;
out:
	free(etc);
	return rc;
}

/* Mounts a tmpfs on root + path (created if needed) with the given
 * options. */
static int mount_tmpfs(const char *root, const char *path, const char *opts, struct sy_error *err)
{
	char *target = under(root, path);
	int rc = 0;

	if (sy_mkdir_p(target, 0755, err) != 0)
		rc = -1;
	else if (mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0)
		rc = sy_error_set(err, "tmpfs on %s: %s", *path ? path : "/", strerror(errno));
	free(target);
	return rc;
}

/* Mounts the tmpfs on cfg->root and fills it (see struct sandbox_config). */
static int make_fresh_root(const struct sandbox_config *cfg, struct sy_error *err)
{
	static const char *const top[] = { "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32" };
	static const char *const devs[] = { "/dev/null", "/dev/zero", "/dev/urandom" };
	const char *root = cfg->root;
	char *dev = under(root, "/dev"), opts[64];
	int rc = -1;

	if (mount_tmpfs(root, "", "mode=0755,size=1m", err) != 0 ||
	    sy_mkdir_p(dev, 0755, err) != 0 || bind_path(root, "/usr", 1, RO_EXEC_FLAGS, err) != 0 ||
	    make_etc(root, cfg->user ? cfg->user : cfg->etc_user, err) != 0)
		goto out;
	for (size_t i = 0; i < LEN(top); i++)
		if (mirror_host_path(root, top[i], err) != 0)
			goto out;
	for (size_t i = 0; i < LEN(devs); i++)
		if (bind_path(root, devs[i], 0, 0, err) != 0)
			goto out;
	/* /tmp first: the bound and scratch directories may lie under it. */
	if (mount_tmpfs(root, "/tmp", "mode=1777,size=64m", err) != 0)
		goto out;
	for (const char *const *b = cfg->ro_binds; b && *b; b++)
		if (bind_path(root, *b, 1, RO_EXEC_FLAGS, err) != 0)
			goto out;
	for (const char *const *b = cfg->ro_binds_at; b && b[0] && b[1]; b += 2)
		if (bind_path_at(root, b[0], b[1], 1, RO_EXEC_FLAGS, err) != 0)
			goto out;
	snprintf(opts, sizeof(opts), "mode=0755,size=64m,uid=%u,gid=%u",
		 cfg->user ? (unsigned)cfg->user->uid : 0, cfg->user ? (unsigned)cfg->user->gid : 0);
	rc = cfg->scratch ? mount_tmpfs(root, cfg->scratch, opts, err) : 0;
out:
	free(dev);
	return rc;
}

/* ---- /proc and /dev in an existing root ---- */

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
	for (size_t i = 0; i < LEN(nodes); i++) {
		snprintf(path, sizeof(path), "%s/dev/%s", root, nodes[i].name);
		if (mknod(path, S_IFCHR | 0666, makedev(nodes[i].major, nodes[i].minor)) < 0)
			return sy_error_set(err, "cannot create /dev/%s: %s", nodes[i].name,
					    strerror(errno));
	}
	for (size_t i = 0; i < LEN(links); i++) {
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
	for (size_t i = 0; i < LEN(read_only); i++) {
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

/* Creates the mount point root/name unless it exists. */
static int mount_point(const char *root, const char *name, mode_t mode, struct sy_error *err)
{
	char *path = sy_xasprintf("%s/%s", root, name);
	int rc = 0;

	if (mkdir(path, mode) < 0 && errno != EEXIST)
		rc = sy_error_set(err, "cannot create /%s: %s", name, strerror(errno));
	free(path);
	return rc;
}

static int mount_proc_dev(const char *root, struct sy_error *err)
{
	int rc;

	if (mount_point(root, "proc", 0555, err) || mount_point(root, "dev", 0755, err))
		return -1;
	/* The device nodes (0666) and /dev/shm (01777) get their modes as made,
	 * not narrowed by the umask: an unprivileged user writes to them. */
	umask(0);
	rc = mount_proc(root, err) || mount_dev(root, err) ? -1 : 0;
	umask(022);
	return rc;
}

/* ---- entering the root ---- */

/* Makes root the process's / (pivot_root, then detaches the host's tree). */
static int enter_root(const struct sandbox_config *cfg, struct sy_error *err)
{
	if (chdir(cfg->root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
	    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		return sy_error_set(err, "cannot enter %s: %s", cfg->what, strerror(errno));
	if (cfg->fresh_root &&
	    mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
		return sy_error_set(err, "remount / read-only: %s", strerror(errno));
	if (cfg->hostname && sethostname(cfg->hostname, strlen(cfg->hostname)) < 0)
		return sy_error_set(err, "cannot set host name: %s", strerror(errno));
	return 0;
}

static int drop_capabilities(struct sy_error *err)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	memset(data, 0, sizeof(data));
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
		int keep = 0;
		for (size_t i = 0; i < LEN(kept_caps); i++)
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

int sandbox_become_user(const struct sandbox_user *user, struct sy_error *err)
{
	if (setgroups(user->ngroups, user->groups) < 0 ||
	    setresgid(user->gid, user->gid, user->gid) < 0 ||
	    setresuid(user->uid, user->uid, user->uid) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return sy_error_set(err, "cannot become %s: %s", user->name, strerror(errno));
	return 0;
}

/* ---- the processes ---- */

/* Everything pid 1 does before the work: the root, /proc and /dev, the
 * pivot, the host name, the capabilities. */
static int setup(const struct sandbox_config *cfg, struct sy_error *err)
{
	umask(022);
	/* A mount namespace of pid 1's own: pivot_root changes the root of
	 * every process whose root is the old one in the namespace, and the
	 * caller must keep its own. */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return sy_error_set(err, "cannot create the mount namespace: %s", strerror(errno));
	if ((cfg->fresh_root && make_fresh_root(cfg, err)) ||
	    (cfg->prepare && cfg->prepare(cfg->arg, err)) ||
	    (cfg->proc_dev && mount_proc_dev(cfg->root, err)) || enter_root(cfg, err))
		return -1;
	return cfg->drop_capabilities ? drop_capabilities(err) : 0;
}

/* Replaces the environment with env ("NAME=value" strings). */
static void set_environment(const char *const *env)
{
	clearenv();
	for (; *env; env++) {
		const char *eq = strchr(*env, '=');
		char *name;

		if (!eq)
			continue;
		name = sy_xstrndup(*env, (size_t)(eq - *env));
		setenv(name, eq + 1, 1);
		free(name);
	}
}

/* The process of the work: environment, user, then fn. */
static int work_main(void *arg)
{
	const struct sandbox_config *cfg = arg;
	struct sy_error err = { { 0 } };

	if (cfg->env)
		set_environment(cfg->env);
	if (cfg->user && sandbox_become_user(cfg->user, &err))
		return cfg->setup_failed(cfg->arg, &err);
	return cfg->fn(cfg->arg);
}

/* Pid 1 of the sandbox's pid namespace: sets it up, then does the work or
 * starts it and reaps orphans until it ends. */
static int init_main(void *arg)
{
	const struct sandbox_config *cfg = arg;
	struct sy_child work = SY_CHILD_INIT;
	struct sy_error err = { { 0 } };

	if (setup(cfg, &err))
		return cfg->setup_failed(cfg->arg, &err);
	if (!cfg->fn_in_child)
		return work_main(arg);
	work.child_fn = work_main;
	work.child_arg = arg;
	work.death_signal = SIGKILL;
	work.reap_orphans = 1;
	if (sy_child_start(&work, &err))
		return cfg->setup_failed(cfg->arg, &err);
	if (cfg->fn_fd >= 0)
		close(cfg->fn_fd);
	return sy_child_finish(&work);
}

int sandbox_run(const struct sandbox_config *cfg)
{
	struct sy_child init = SY_CHILD_INIT;
	struct sy_error err = { { 0 } };

	if (unshare(CLONE_NEWNS) < 0) {
		sy_error_set(&err, "cannot create namespaces: %s", strerror(errno));
		return cfg->setup_failed(cfg->arg, &err);
	}
	/* Nothing mounted from here on propagates to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		sy_error_set(&err, "cannot make mounts private: %s", strerror(errno));
		return cfg->setup_failed(cfg->arg, &err);
	}
	/* Before the pid namespace: the first child made after it is its pid
	 * 1, and a program prepare_outside runs (mke2fs) must not be. */
	if (cfg->prepare_outside && cfg->prepare_outside(cfg->arg, &err))
		return cfg->setup_failed(cfg->arg, &err);
	if (unshare(CLONE_NEWPID | cfg->namespaces) < 0) {
		sy_error_set(&err, "cannot create namespaces: %s", strerror(errno));
		return cfg->setup_failed(cfg->arg, &err);
	}
	init.child_fn = init_main;
	init.child_arg = (void *)cfg;
	init.death_signal = SIGKILL;
	if (sy_child_start(&init, &err))
		return cfg->setup_failed(cfg->arg, &err);
	if (cfg->fn_in_child && cfg->fn_fd >= 0)
		close(cfg->fn_fd);
	return sy_child_finish(&init);
}
