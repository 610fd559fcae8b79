#define _GNU_SOURCE
#include "builder/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>
#include <pwd.h>

#include <git2.h>
#include <rpm/rpmdb.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmmacro.h>
#include <rpm/rpmts.h>

#include "sandbox/rpminstall.h"
#include "common/fs.h"
#include "common/child.h"

/* The rpmdb inside worker and build roots (sandbox/rpminstall.h). */
#define WORKER_DBPATH "/var/lib/rpm"

/* Upper bound for one debootstrap run (it takes about a minute). */
#define WORKER_DEBOOTSTRAP_TIMEOUT_S 3600

static int git_fail(struct sy_error *err, const char *path, const char *what)
{
	const git_error *e = git_error_last();

	return sy_error_set(err, "%s: %s: %s", path, what, e ? e->message : "cannot read");
}

/* Reads the single string value key into *value (newly allocated). */
static int read_string(git_config *cfg, const char *path, const char *key, char **value,
		       struct sy_error *err)
{
	git_buf buf = { 0 };
	int rc = git_config_get_string_buf(&buf, cfg, key);

	if (rc == GIT_ENOTFOUND)
		return sy_error_set(err, "%s: %s missing", path, key);
	if (rc < 0)
		return git_fail(err, path, key);
	if (buf.ptr[0] == '\0') {
		git_buf_dispose(&buf);
		return sy_error_set(err, "%s: %s is empty", path, key);
	}
	*value = sy_xstrdup(buf.ptr);
	git_buf_dispose(&buf);
	return 0;
}

static int add_package(const git_config_entry *entry, void *payload)
{
	sy_strv_push(payload, entry->value);
	return 0;
}

/* SHA-256 over the root's layout version, suite, variant, the sorted
 * package names and the sorted toolchain capabilities. Version 2: the root
 * holds the build user and the toolchain package. */
static void manifest_digest(struct builder_worker_manifest *m)
{
	struct sy_sha256 *h = sy_sha256_new();
	char count[32];

	sy_sha256_update_str(h, "shipyard worker manifest 2");
	sy_sha256_update_str(h, m->suite);
	sy_sha256_update_str(h, m->variant);
	snprintf(count, sizeof(count), "packages %zu", m->packages.n);
	sy_sha256_update_str(h, count);
	for (size_t i = 0; i < m->packages.n; i++)
		sy_sha256_update_str(h, m->packages.items[i]);
	snprintf(count, sizeof(count), "toolchain %zu", m->toolchain.n);
	sy_sha256_update_str(h, count);
	for (size_t i = 0; i < m->toolchain.n; i++)
		sy_sha256_update_str(h, m->toolchain.items[i]);
	sy_sha256_final(h, m->digest);
}

/* Appends every value of the multivar key to list, sorted and unique. */
static int read_list(git_config *cfg, const char *path, const char *key, struct sy_strv *list,
		     struct sy_error *err)
{
	int grc = git_config_get_multivar_foreach(cfg, key, NULL, add_package, list);

	if (grc < 0 && grc != GIT_ENOTFOUND)
		return git_fail(err, path, key);
	sy_strv_sort_unique(list);
	return 0;
}

/* Refuses capabilities that cannot be one line of a spec's Provides: empty,
 * or with a newline or a macro character. */
static int check_toolchain(const char *path, const struct sy_strv *toolchain,
			   struct sy_error *err)
{
	for (size_t i = 0; i < toolchain->n; i++) {
		const char *c = toolchain->items[i];
		if (!c[0] || strpbrk(c, "\n\r%"))
			return sy_error_set(err, "%s: toolchain.provides \"%s\": not a capability",
					    path, c);
	}
	return 0;
}

int builder_worker_manifest_read(const char *path, struct builder_worker_manifest *m,
				 struct sy_error *err)
{
	git_config *cfg = NULL;
	int rc = -1;

	memset(m, 0, sizeof(*m));
	git_libgit2_init();
	if (access(path, R_OK) < 0) {
		sy_error_set(err, "%s: cannot read: %s", path, strerror(errno));
		goto out;
	}
	if (git_config_open_ondisk(&cfg, path) < 0) {
		git_fail(err, path, "cannot parse");
		goto out;
	}
	if (read_string(cfg, path, "worker.suite", &m->suite, err) ||
	    read_string(cfg, path, "worker.variant", &m->variant, err))
		goto out;
	if (read_list(cfg, path, "worker.package", &m->packages, err) ||
	    read_list(cfg, path, "toolchain.provides", &m->toolchain, err) ||
	    check_toolchain(path, &m->toolchain, err))
		goto out;
	manifest_digest(m);
	rc = 0;
out:
	if (rc)
		builder_worker_manifest_release(m);
	git_config_free(cfg);
	git_libgit2_shutdown();
	return rc;
}

void builder_worker_manifest_release(struct builder_worker_manifest *m)
{
	free(m->suite);
	free(m->variant);
	sy_strv_release(&m->packages);
	sy_strv_release(&m->toolchain);
	m->suite = m->variant = NULL;
	m->digest[0] = '\0';
}

/* Returns the first whitespace-separated word of s, newly allocated. */
static char *first_word(const char *s)
{
	s += strspn(s, " \t");
	return sy_xasprintf("%.*s", (int)strcspn(s, " \t\r\n"), s);
}

/* Returns 1 if the whitespace-separated words of list include word. */
static int words_contain(const char *list, const char *word)
{
	size_t len = strlen(word);

	for (const char *p = list; *p;) {
		p += strspn(p, " \t");
		size_t n = strcspn(p, " \t\r\n");
		if (n == 0)
			break;
		if (n == len && !strncmp(p, word, len))
			return 1;
		p += n;
	}
	return 0;
}

/* Returns the value of "Field:" when line starts with it, else NULL. */
static const char *field_value(const char *line, const char *field)
{
	size_t n = strlen(field);

	if (strncasecmp(line, field, n) || line[n] != ':')
		return NULL;
	return line + n + 1 + strspn(line + n + 1, " \t");
}

/* One deb822 stanza of a .sources file (apt's sources.list(5)): the fields
 * that decide whether it serves suite. */
struct apt_stanza {
	const char *types, *uris, *suites, *enabled;
};

static void stanza_take(struct apt_stanza *st, const char *suite, char **mirror)
{
	if (!*mirror && st->types && st->uris && st->suites &&
	    words_contain(st->types, "deb") && words_contain(st->suites, suite) &&
	    !(st->enabled && !strncasecmp(st->enabled, "no", 2)))
		*mirror = first_word(st->uris);
	memset(st, 0, sizeof(*st));
}

/* Looks for a "deb" stanza listing suite in a deb822 .sources file. */
static void scan_deb822(char *text, const char *suite, char **mirror)
{
	struct apt_stanza st = { 0 };
	const char *v;
	char *next;

	for (char *line = text; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (line[strspn(line, " \t\r")] == '\0')
			stanza_take(&st, suite, mirror); /* a blank line ends a stanza */
		else if ((v = field_value(line, "Types")))
			st.types = v;
		else if ((v = field_value(line, "URIs")))
			st.uris = v;
		else if ((v = field_value(line, "Suites")))
			st.suites = v;
		else if ((v = field_value(line, "Enabled")))
			st.enabled = v;
	}
	stanza_take(&st, suite, mirror);
}

/* Looks for "deb [options] URI suite components" in a one-line-style file. */
static void scan_one_line(char *text, const char *suite, char **mirror)
{
	char *save = NULL;

	for (char *line = strtok_r(text, "\n", &save); line && !*mirror;
	     line = strtok_r(NULL, "\n", &save)) {
		char *p = line + strspn(line, " \t");
		if (strncmp(p, "deb", 3) || (p[3] != ' ' && p[3] != '\t'))
			continue;
		p += 3 + strspn(p + 3, " \t");
		if (*p == '[') {
			char *close = strchr(p, ']');
			if (!close)
				continue;
			p = close + 1 + strspn(close + 1, " \t");
		}
		char *uri = first_word(p);
		p += strlen(uri);
		char *dist = first_word(p);
		if (*uri && !strcmp(dist, suite))
			*mirror = uri;
		else
			free(uri);
		free(dist);
	}
}

static void scan_apt_file(const char *path, int deb822, const char *suite, char **mirror)
{
	char *text;

	if (*mirror || sy_read_file(path, &text, NULL, NULL))
		return;
	if (deb822)
		scan_deb822(text, suite, mirror);
	else
		scan_one_line(text, suite, mirror);
	free(text);
}

/* Returns the first mirror URI the machine's apt sources use for suite (apt's
 * reading order: sources.list, then sources.list.d/ by name), or NULL. */
static char *apt_mirror_for(const char *suite)
{
	char *mirror = NULL;
	glob_t g;

	scan_apt_file("/etc/apt/sources.list", 0, suite, &mirror);
	if (glob("/etc/apt/sources.list.d/*", 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			const char *p = g.gl_pathv[i];
			size_t n = strlen(p);
			if (n > 8 && !strcmp(p + n - 8, ".sources"))
				scan_apt_file(p, 1, suite, &mirror);
			else if (n > 5 && !strcmp(p + n - 5, ".list"))
				scan_apt_file(p, 0, suite, &mirror);
		}
		globfree(&g);
	}
	return mirror;
}

/* Runs in the debootstrap child before exec: a private mount namespace, so
 * that the /proc and /sys mounts debootstrap makes inside the target vanish
 * with it even when it is killed. */
static int private_mounts(void *arg)
{
	(void)arg;
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		fprintf(stderr, "shipyard: cannot make a private mount namespace: %s\n",
			strerror(errno));
		return -1;
	}
	return 0;
}

static int run_debootstrap(const struct builder_worker_manifest *m, const char *root, int log_fd,
			   struct sy_error *err)
{
	struct sy_strv argv = SY_STRV_INIT;
	struct sy_child c = SY_CHILD_INIT;
	char *mirror = apt_mirror_for(m->suite);
	int rc = -1;

	sy_strv_push(&argv, "debootstrap");
	sy_strv_pushf(&argv, "--variant=%s", m->variant);
	if (m->packages.n) {
		char *inc = sy_xstrdup("--include=");
		for (size_t i = 0; i < m->packages.n; i++) {
			char *longer = sy_xasprintf("%s%s%s", inc, i ? "," : "",
						    m->packages.items[i]);
			free(inc);
			inc = longer;
		}
		sy_strv_push_owned(&argv, inc);
	}
	sy_strv_push(&argv, m->suite);
	sy_strv_push(&argv, root);
	if (mirror)
		sy_strv_push(&argv, mirror);
	c.argv = (const char *const *)argv.items;
	c.log_fd = log_fd;
	c.timeout_s = WORKER_DEBOOTSTRAP_TIMEOUT_S;
	c.child_fn = private_mounts;
	if (sy_child_run(&c, err))
		goto out;
	if (c.timed_out)
		sy_error_set(err, "%s: debootstrap timed out after %d s", root,
			     WORKER_DEBOOTSTRAP_TIMEOUT_S);
	else if (c.status)
		sy_error_set(err, "%s: debootstrap %s failed with status %d, see log", root,
			     m->suite, c.status);
	else
		rc = 0;
out:
	free(mirror);
	sy_strv_release(&argv);
	return rc;
}

/* Writes <dir>/manifest: the manifest's fields in its own syntax. */
static int write_manifest_copy(const char *dir, const struct builder_worker_manifest *m,
			       struct sy_error *err)
{
	char *path = sy_xasprintf("%s/manifest", dir);
	char *text = sy_xasprintf("# worker root %s\n[worker]\n\tsuite = %s\n\tvariant = %s\n",
				  m->digest, m->suite, m->variant);
	int rc;

	for (size_t i = 0; i < m->packages.n; i++) {
		char *longer = sy_xasprintf("%s\tpackage = %s\n", text, m->packages.items[i]);
		free(text);
		text = longer;
	}
	for (size_t i = 0; i < m->toolchain.n; i++) {
		char *longer = sy_xasprintf("%s%s\tprovides = %s\n", text,
					    i ? "" : "[toolchain]\n", m->toolchain.items[i]);
		free(text);
		text = longer;
	}
	rc = sy_write_file_atomic(path, text, strlen(text), 0644, err);
	free(text);
	free(path);
	return rc;
}

/* Adds the build user and its group to root with the host's shadow tools
 * (--root: they chroot and edit the root's /etc/passwd, group, shadow). */
static int add_build_user(const char *root, int log_fd, struct sy_error *err)
{
	char uid[16], gid[16];

	snprintf(uid, sizeof(uid), "%d", BUILDER_WORKER_BUILD_UID);
	snprintf(gid, sizeof(gid), "%d", BUILDER_WORKER_BUILD_GID);
	const char *const groupadd[] = { "groupadd", "--root", root, "--gid", gid,
					 BUILDER_WORKER_BUILD_USER, NULL };
	const char *const useradd[] = { "useradd", "--root", root, "--uid", uid, "--gid", gid,
					"--no-create-home", "--home-dir", "/build",
					"--shell", "/bin/sh", "--comment", "shipyard build user",
					BUILDER_WORKER_BUILD_USER, NULL };

	if (sy_child_run_cmd(groupadd, log_fd, 60, err) || sy_child_run_cmd(useradd, log_fd, 60, err))
		return sy_error_prefix(err, "%s: adding the build user", root);
	return 0;
}

/* Returns the spec of the toolchain package: no files, one Provides per
 * capability (newly allocated). */
static char *toolchain_spec(const struct builder_worker_manifest *m)
{
	char *spec = sy_xasprintf("Name: " BUILDER_WORKER_TOOLCHAIN_PKG "\nVersion: 1\n"
				  "Release: 1\nSummary: Toolchain of the shipyard worker root\n"
				  "License: MIT\nBuildArch: noarch\n");

	for (size_t i = 0; i < m->toolchain.n; i++) {
		char *longer = sy_xasprintf("%sProvides: %s\n", spec, m->toolchain.items[i]);
		free(spec);
		spec = longer;
	}
	char *full = sy_xasprintf("%s\n%%description\nThe capabilities the packages of the "
				  "worker root (manifest %s) offer to specs' BuildRequires.\n\n"
				  "%%files\n", spec, m->digest);
	free(spec);
	return full;
}

/* Makes the toolchain package with the host's rpmbuild under dir and installs
 * it into root's rpmdb (no scriptlets, no dependency check: it has none). */
static int install_toolchain(const char *root, const char *dir,
			     const struct builder_worker_manifest *m, int log_fd,
			     struct sy_error *err)
{
	char *spec_path = sy_xasprintf("%s/toolchain.spec", dir);
	char *spec = toolchain_spec(m);
	char *topdir = sy_xasprintf("_topdir %s", dir);
	char *rpm = sy_xasprintf("%s/RPMS/noarch/" BUILDER_WORKER_TOOLCHAIN_PKG "-1-1.noarch.rpm",
				 dir);
	const char *const argv[] = { "rpmbuild", "-bb", "--quiet", "--define", topdir,
				     "--define", "_buildhost shipyard", "--define",
				     "_build_id_links none", spec_path, NULL };
	const char *const rpms[] = { rpm, NULL };
	int rc = -1;

	if (sy_mkdir_p(dir, 0755, err) ||
	    sy_write_file(spec_path, spec, strlen(spec), 0644, err))
		goto out;
	if (sy_child_run_cmd(argv, log_fd, 600, err)) {
		sy_error_prefix(err, "%s: making the toolchain package", dir);
		goto out;
	}
	if (sandbox_rpm_install(root, rpms, SANDBOX_RPMINSTALL_NODEPS |
				SANDBOX_RPMINSTALL_NOSCRIPTS, log_fd, err)) {
		sy_error_prefix(err, "%s: installing the toolchain package", root);
		goto out;
	}
	rc = 0;
out:
	free(rpm);
	free(topdir);
	free(spec);
	free(spec_path);
	return rc;
}

/* Makes <root>/build, owned by the build user. */
static int make_build_dir(const char *root, struct sy_error *err)
{
	char *dir = sy_xasprintf("%s/build", root);
	int rc = 0;

	if ((mkdir(dir, 0755) < 0 && errno != EEXIST) ||
	    lchown(dir, BUILDER_WORKER_BUILD_UID, BUILDER_WORKER_BUILD_GID) < 0)
		rc = sy_error_set(err, "%s: cannot create for the build user: %s", dir,
				  strerror(errno));
	free(dir);
	return rc;
}

/* Prepares a fresh debootstrap root (absolute path) for builds: the build
 * user and its /build directory, the toolchain package in the rpmdb (made in
 * work_dir, removed after), and no downloaded .deb files left in apt's
 * cache. */
static int finish_root(const char *root, const char *work_dir,
		       const struct builder_worker_manifest *m, int log_fd, struct sy_error *err)
{
	char *pattern = sy_xasprintf("%s/var/cache/apt/archives/*.deb", root);
	glob_t g;
	int rc = -1;

	if (add_build_user(root, log_fd, err) || make_build_dir(root, err) ||
	    install_toolchain(root, work_dir, m, log_fd, err))
		goto out;
	if (glob(pattern, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++)
			unlink(g.gl_pathv[i]);
		globfree(&g);
	}
	rc = 0;
out:
	sy_rm_rf(work_dir, NULL);
	free(pattern);
	return rc;
}

/* Removes <cache>/<digest>.tmp-* left by builders that died (the caller
 * holds the lock, so no live builder owns one). */
static void remove_stale_tmp(const char *cache_dir, const char *digest)
{
	char *pattern = sy_xasprintf("%s/%s.tmp-*", cache_dir, digest);
	glob_t g;

	if (glob(pattern, GLOB_NOSORT, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++)
			sy_rm_rf(g.gl_pathv[i], NULL);
		globfree(&g);
	}
	free(pattern);
}

/* Builds the worker root of m as <cache>/<digest>; the caller holds the lock. */
static int build_worker(const char *cache_dir, const struct builder_worker_manifest *m,
			const char *final, int log_fd, struct sy_error *err)
{
	char *tmp = sy_xasprintf("%s/%s.tmp-%ld", cache_dir, m->digest, (long)getpid());
	char *abs_tmp = NULL, *root = NULL, *work = NULL, *lock = NULL;
	int rc = -1;

	remove_stale_tmp(cache_dir, m->digest);
	if (sy_mkdir_p(tmp, 0755, err))
		goto out;
	abs_tmp = realpath(tmp, NULL);
	if (!abs_tmp) {
		sy_error_set(err, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	root = sy_xasprintf("%s/root", abs_tmp);
	work = sy_xasprintf("%s/toolchain", abs_tmp);
	lock = sy_xasprintf("%s/lock", abs_tmp);
	if (run_debootstrap(m, root, log_fd, err) || finish_root(root, work, m, log_fd, err) ||
	    write_manifest_copy(tmp, m, err) || sy_write_file(lock, "", 0, 0644, err))
		goto out;
	sy_rm_rf(final, NULL); /* a leftover without root/ */
	if (rename(tmp, final) < 0) {
		sy_error_set(err, "%s: cannot rename to %s: %s", tmp, final, strerror(errno));
		goto out;
	}
	sy_fsync_dir(cache_dir, NULL);
	rc = 0;
out:
	if (rc)
		sy_rm_rf(tmp, NULL);
	free(lock);
	free(work);
	free(root);
	free(abs_tmp);
	free(tmp);
	return rc;
}

int builder_worker_ensure(const char *cache_dir, const struct builder_worker_manifest *m,
			  int log_fd, char **root, struct sy_error *err)
{
	char *final = sy_xasprintf("%s/%s", cache_dir, m->digest);
	char *path = sy_xasprintf("%s/root", final);
	char *lock = NULL;
	int fd = -1, rc = -1;

	if (sy_exists(path))
		goto done;
	if (sy_mkdir_p(cache_dir, 0755, err))
		goto out;
	lock = sy_xasprintf("%s/.lock", cache_dir);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		sy_error_set(err, "%s: cannot open: %s", lock, strerror(errno));
		goto out;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			sy_error_set(err, "%s: cannot lock: %s", lock, strerror(errno));
			goto out;
		}
	}
	/* Another caller may have built it while we waited for the lock. */
	if (!sy_exists(path) && build_worker(cache_dir, m, final, log_fd, err))
		goto out;
done:
	*root = path;
	path = NULL;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(lock);
	free(path);
	free(final);
	return rc;
}

/* ---- disk usage ---- */

/* A file with several hard links, counted once. */
struct linked_file {
	dev_t dev;
	ino_t ino;
	unsigned long long bytes;
};

struct usage {
	unsigned long long bytes;
	struct linked_file *links;
	size_t n, alloc;
};

static void usage_add(struct usage *u, const struct stat *st)
{
	unsigned long long bytes = (unsigned long long)st->st_blocks * 512ULL;

	if (S_ISDIR(st->st_mode) || st->st_nlink < 2) {
		u->bytes += bytes;
		return;
	}
	if (u->n == u->alloc) {
		u->alloc = u->alloc ? u->alloc * 2 : 64;
		u->links = sy_xrealloc(u->links, u->alloc * sizeof(*u->links));
	}
	u->links[u->n++] = (struct linked_file){ st->st_dev, st->st_ino, bytes };
}

/* Adds every entry of the directory dfd (owned) and its subdirectories,
 * opened without following symlinks. */
static void usage_dir(int dfd, struct usage *u, int depth)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	struct stat st;

	if (!d) {
		close(dfd);
		return;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		usage_add(u, &st);
		if (S_ISDIR(st.st_mode) && depth < 256) {
			int sub = openat(dirfd(d), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				usage_dir(sub, u, depth + 1);
		}
	}
	closedir(d);
}

static int cmp_linked(const void *a, const void *b)
{
	const struct linked_file *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

int builder_worker_disk_usage(const char *dir, unsigned long long *bytes, struct sy_error *err)
{
	struct usage u = { 0 };
	struct stat st;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return sy_error_set(err, "%s: %s", dir, strerror(e));
	}
	usage_add(&u, &st);
	usage_dir(fd, &u, 0);
	if (u.n)
		qsort(u.links, u.n, sizeof(*u.links), cmp_linked);
	for (size_t i = 0; i < u.n; i++)
		if (i == 0 || cmp_linked(&u.links[i - 1], &u.links[i]))
			u.bytes += u.links[i].bytes;
	free(u.links);
	*bytes = u.bytes;
	return 0;
}

/* ---- list, check, gc ---- */

/* Returns 1 if name is a digest: 64 lowercase hex digits. */
static int is_digest(const char *name)
{
	size_t n = strspn(name, "0123456789abcdef");

	return n == SY_SHA256_HEX_LEN && name[n] == '\0';
}

/* Returns 1 if <cache>/<name> is a directory with root/ inside. */
static int is_root_dir(const char *cache_dir, const char *name)
{
	char *root = sy_xasprintf("%s/%s/root", cache_dir, name);
	struct stat st;
	int ok = stat(root, &st) == 0 && S_ISDIR(st.st_mode);

	free(root);
	return ok;
}

static void fill_entry(const char *cache_dir, const char *name, struct builder_worker_entry *e)
{
	struct builder_worker_manifest m;
	struct sy_error ignored = { { 0 } };
	char *dir = sy_xasprintf("%s/%s", cache_dir, name);
	char *manifest = sy_xasprintf("%s/manifest", dir);
	struct stat st;

	memset(e, 0, sizeof(*e));
	snprintf(e->digest, sizeof(e->digest), "%s", name);
	if (builder_worker_manifest_read(manifest, &m, &ignored) == 0) {
		e->suite = sy_xstrdup(m.suite);
		builder_worker_manifest_release(&m);
	}
	if (stat(manifest, &st) == 0 || stat(dir, &st) == 0)
		e->created = st.st_mtime;
	builder_worker_disk_usage(dir, &e->bytes, &ignored);
	free(manifest);
	free(dir);
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct builder_worker_entry *)a)->digest,
		      ((const struct builder_worker_entry *)b)->digest);
}

int builder_worker_list(const char *cache_dir, struct builder_worker_entry **entries, size_t *n,
			struct sy_error *err)
{
	DIR *d = opendir(cache_dir);
	struct dirent *de;
	size_t alloc = 0;

	*entries = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : sy_error_set(err, "%s: %s", cache_dir, strerror(errno));
	while ((de = readdir(d))) {
		if (!is_digest(de->d_name) || !is_root_dir(cache_dir, de->d_name))
			continue;
		if (*n == alloc) {
			alloc = alloc ? alloc * 2 : 8;
			*entries = sy_xrealloc(*entries, alloc * sizeof(**entries));
		}
		fill_entry(cache_dir, de->d_name, &(*entries)[(*n)++]);
	}
	closedir(d);
	if (*n)
		qsort(*entries, *n, sizeof(**entries), cmp_entry);
	return 0;
}

void builder_worker_entries_free(struct builder_worker_entry *entries, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(entries[i].suite);
	free(entries);
}

/* Checks that <root>/<rel> exists (not followed when a symlink). */
static void check_present(const char *root, const char *rel, struct sy_strv *problems)
{
	char *path = sy_xasprintf("%s/%s", root, rel);
	struct stat st;

	if (lstat(path, &st) < 0)
		sy_strv_pushf(problems, "%s: /%s missing", root, rel);
	free(path);
}

/* Checks the build user in <root>/etc/passwd and the owner of <root>/build. */
static void check_build_user(const char *root, struct sy_strv *problems)
{
	char *passwd = sy_xasprintf("%s/etc/passwd", root);
	char *build = sy_xasprintf("%s/build", root);
	FILE *f = fopen(passwd, "re");
	struct passwd *pw;
	struct stat st;
	int found = 0;

	while (f && (pw = fgetpwent(f)))
		if (!strcmp(pw->pw_name, BUILDER_WORKER_BUILD_USER)) {
			found = pw->pw_uid == BUILDER_WORKER_BUILD_UID &&
				pw->pw_gid == BUILDER_WORKER_BUILD_GID ? 1 : -1;
			break;
		}
	if (f)
		fclose(f);
	if (found == 0)
		sy_strv_pushf(problems, "%s: build user " BUILDER_WORKER_BUILD_USER " missing from "
			      "/etc/passwd", root);
	else if (found < 0)
		sy_strv_pushf(problems, "%s: build user " BUILDER_WORKER_BUILD_USER " is not "
			      "uid %d gid %d", root, BUILDER_WORKER_BUILD_UID,
			      BUILDER_WORKER_BUILD_GID);
	if (lstat(build, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != BUILDER_WORKER_BUILD_UID)
		sy_strv_pushf(problems, "%s: /build missing or not owned by the build user", root);
	free(build);
	free(passwd);
}

/* librpm's messages are not ours to print while checking. */
static int quiet_log(rpmlogRec rec, rpmlogCallbackData data)
{
	(void)rec;
	(void)data;
	return 0;
}

/* Queries every toolchain capability in the rpmdb under copy (a copy of
 * the root's, so that sqlite's shared-memory file in the cached root is left
 * as it is); problems name root. */
static void query_rpmdb(const char *copy, const char *root, const struct sy_strv *toolchain,
			struct sy_strv *problems)
{
	rpmlogCallback old_cb = rpmlogSetCallback(quiet_log, NULL);
	rpmts ts;

	rpmPushMacro(NULL, "_dbpath", NULL, WORKER_DBPATH, RMIL_CMDLINE);
	ts = rpmtsCreate();
	if (rpmtsSetRootDir(ts, copy) != 0 || rpmtsOpenDB(ts, O_RDONLY) != 0) {
		sy_strv_pushf(problems, "%s: cannot open the rpmdb at " WORKER_DBPATH, root);
		goto out;
	}
	for (size_t i = 0; i < toolchain->n; i++) {
		/* The index holds names; "gcc >= 12" is looked up as "gcc". */
		char *name = first_word(toolchain->items[i]);
		rpmdbMatchIterator mi = rpmtsInitIterator(ts, RPMDBI_PROVIDENAME, name, 0);
		if (!mi || !rpmdbNextIterator(mi))
			sy_strv_pushf(problems, "%s: %s not provided in the rpmdb", root, name);
		rpmdbFreeIterator(mi);
		free(name);
	}
out:
	rpmtsFree(ts);
	rpmPopMacro(NULL, "_dbpath");
	rpmlogSetCallback(old_cb, NULL);
}

/* Checks that every toolchain capability is provided in root's rpmdb. */
static int check_rpmdb(const char *root, const struct sy_strv *toolchain,
		       struct sy_strv *problems, struct sy_error *err)
{
	char *db = sy_xasprintf("%s" WORKER_DBPATH, root);
	char *tmp = NULL, *copy = NULL;
	int rc = -1;

	if (sandbox_rpm_init(err))
		goto out;
	if (!sy_exists(db)) {
		sy_strv_pushf(problems, "%s: no rpmdb at " WORKER_DBPATH, root);
		rc = 0;
		goto out;
	}
	tmp = sy_mkdtemp("/tmp", "shipyard-rpmdb-", err);
	if (!tmp)
		goto out;
	copy = sy_xasprintf("%s" WORKER_DBPATH, tmp);
	*strrchr(copy, '/') = '\0';
	if (sy_mkdir_p(copy, 0755, err))
		goto out;
	copy[strlen(copy)] = '/';
	if (sy_copy_tree(db, copy, err))
		goto out;
	query_rpmdb(tmp, root, toolchain, problems);
	rc = 0;
out:
	if (tmp)
		sy_rm_rf(tmp, NULL);
	free(copy);
	free(tmp);
	free(db);
	return rc;
}

int builder_worker_check(const char *cache_dir, const struct builder_worker_manifest *m,
			 struct sy_strv *problems, struct sy_error *err)
{
	char *dir = sy_xasprintf("%s/%s/root", cache_dir, m->digest);
	char *root = realpath(dir, NULL);
	struct stat st;
	int rc = 0;

	if (!root || lstat(root, &st) < 0 || !S_ISDIR(st.st_mode)) {
		sy_strv_pushf(problems, "%s: missing (run `shipyard worker build`)", dir);
		goto out;
	}
	check_present(root, "usr/bin/rpmbuild", problems);
	check_present(root, "usr/bin/rpm", problems);
	check_build_user(root, problems);
	rc = check_rpmdb(root, &m->toolchain, problems, err);
out:
	free(root);
	free(dir);
	return rc;
}

/* Removes dir when its lock (<dir>/lock, when present) is free. Returns 0
 * when removed (usage added to *bytes), 1 when in use, -1 with err. */
static int remove_unused(const char *dir, unsigned long long *bytes, struct sy_error *err)
{
	char *lock = sy_xasprintf("%s/lock", dir);
	int fd = open(lock, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc = -1;
	unsigned long long used = 0;

	free(lock);
	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
		rc = errno == EWOULDBLOCK ? 1 : sy_error_set(err, "%s/lock: %s", dir,
							     strerror(errno));
		goto out;
	}
	builder_worker_disk_usage(dir, &used, err);
	if (sy_rm_rf(dir, err) == 0) {
		*bytes += used;
		rc = 0;
	}
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Removes the <digest>.tmp-<pid> directories of dead builders, unless a
 * builder holds <cache>/.lock. */
static int remove_abandoned(const char *cache_dir, struct sy_strv *removed,
			    unsigned long long *bytes, struct sy_error *err)
{
	char *lock = sy_xasprintf("%s/.lock", cache_dir);
	char *pattern = sy_xasprintf("%s/*.tmp-*", cache_dir);
	int fd = open(lock, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc = 0;
	glob_t g;

	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0)
		goto out;
	if (glob(pattern, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			unsigned long long used = 0;
			builder_worker_disk_usage(g.gl_pathv[i], &used, err);
			if (sy_rm_rf(g.gl_pathv[i], err) == 0) {
				*bytes += used;
				sy_strv_push(removed, g.gl_pathv[i]);
			} else {
				rc = -1;
				break;
			}
		}
		globfree(&g);
	}
out:
	if (fd >= 0)
		close(fd);
	free(pattern);
	free(lock);
	return rc;
}

int builder_worker_gc(const char *cache_dir, const char *keep_digest, struct sy_strv *removed,
		      struct sy_strv *skipped, unsigned long long *bytes_freed,
		      struct sy_error *err)
{
	struct sy_error one = { { 0 } };
	struct builder_worker_entry *entries;
	size_t n;
	int rc;

	if (builder_worker_list(cache_dir, &entries, &n, err))
		return -1;
	rc = remove_abandoned(cache_dir, removed, bytes_freed, &one);
	if (rc)
		sy_error_set(err, "%s", one.msg);
	for (size_t i = 0; i < n; i++) {
		if (keep_digest && !strcmp(entries[i].digest, keep_digest))
			continue;
		char *dir = sy_xasprintf("%s/%s", cache_dir, entries[i].digest);
		int r = remove_unused(dir, bytes_freed, &one);
		if (r == 0)
			sy_strv_push(removed, dir);
		else if (r == 1)
			sy_strv_push(skipped, entries[i].digest);
		else if (rc == 0)
			rc = sy_error_set(err, "%s", one.msg);
		free(dir);
	}
	builder_worker_entries_free(entries, n);
	return rc;
}

int builder_worker_hold(const char *worker_root, struct sy_error *err)
{
	size_t n = strlen(worker_root);
	char *lock;
	int fd;

	while (n > 1 && worker_root[n - 1] == '/')
		n--;
	if (n < 5 || strncmp(worker_root + n - 5, "/root", 5))
		return -2;
	lock = sy_xasprintf("%.*s/lock", (int)(n - 5), worker_root);
	fd = open(lock, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		fd = errno == ENOENT ? -2 : sy_error_set(err, "%s: %s", lock, strerror(errno));
		goto out;
	}
	while (flock(fd, LOCK_SH) < 0) {
		if (errno != EINTR) {
			sy_error_set(err, "%s: cannot lock: %s", lock, strerror(errno));
			close(fd);
			fd = -1;
			break;
		}
	}
out:
	free(lock);
	return fd;
}
