#define _GNU_SOURCE
#include "builder/workercache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rpm/header.h>
#include <rpm/rpmdb.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmmacro.h>
#include <rpm/rpmts.h>

#include "common/fs.h"
#include "sandbox/rpminstall.h"

/* The rpmdb inside worker roots (sandbox/rpminstall.h). */
#define WORKER_DBPATH "/var/lib/rpm"

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

/* One directory on the walk's path down: the names of its subdirectories
 * still to enter, and who it is, checked when the walk comes back up. */
struct level {
	struct sy_strv subdirs; /* names of its subdirectories */
	size_t next;            /* the next one to enter */
	dev_t dev;              /* its device and inode */
	ino_t ino;
};

/* Adds every entry of the directory fd (left open) to u and appends the
 * names of its subdirectories (not followed when symlinks) to subdirs.
 * Entries that vanish meanwhile are skipped. */
static int read_level(int fd, struct usage *u, struct sy_strv *subdirs, const char *top,
		      struct sy_error *err)
{
	int own = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = own >= 0 ? fdopendir(own) : NULL;
	struct dirent *de;
	struct stat st;
	int rc = 0;

	if (!d) {
		if (own >= 0)
			close(own);
		return sy_error_set(err, "%s: cannot read a directory in it: %s", top,
				    strerror(errno));
	}
	for (errno = 0; (de = readdir(d)); errno = 0) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			rc = sy_error_set(err, "%s: cannot stat %s in it: %s", top, de->d_name,
					  strerror(errno));
			break;
		}
		usage_add(u, &st);
		if (S_ISDIR(st.st_mode))
			sy_strv_push(subdirs, de->d_name);
	}
	if (rc == 0 && errno)
		rc = sy_error_set(err, "%s: cannot read a directory in it: %s", top,
				  strerror(errno));
	closedir(d);
	return rc;
}

/* Walks the tree under the directory fd (owned) into u, at any depth with
 * one directory open at a time: down into a subdirectory by name, back up
 * through "..", which must be the directory the walk came from. */
static int usage_tree(int fd, const struct stat *st, struct usage *u, const char *top,
		      struct sy_error *err)
{
	struct level *levels = NULL;
	size_t depth = 0, alloc = 0;
	struct stat sub_st;
	int rc = -1;

	for (;;) {
		if (depth == alloc) {
			alloc = alloc ? alloc * 2 : 16;
			levels = sy_xrealloc(levels, alloc * sizeof(*levels));
		}
		levels[depth] = (struct level){ SY_STRV_INIT, 0, st->st_dev, st->st_ino };
		if (read_level(fd, u, &levels[depth++].subdirs, top, err))
			goto out;
		/* Enter the next subdirectory left on the path, going up when a
		 * directory is done. */
		for (;;) {
			struct level *l = &levels[depth - 1];
			int next;

			if (l->next < l->subdirs.n) {
				next = openat(fd, l->subdirs.items[l->next++],
					      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (next < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP))
					continue;
				if (next < 0 || fstat(next, &sub_st) < 0) {
					sy_error_set(err, "%s: cannot enter %s in it: %s", top,
						     l->subdirs.items[l->next - 1], strerror(errno));
					if (next >= 0)
						close(next);
					goto out;
				}
				close(fd);
				fd = next;
				st = &sub_st;
				break;
			}
			sy_strv_release(&l->subdirs);
			if (--depth == 0) {
				rc = 0;
				goto out;
			}
			next = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (next < 0 || fstat(next, &sub_st) < 0 ||
			    sub_st.st_dev != levels[depth - 1].dev ||
			    sub_st.st_ino != levels[depth - 1].ino) {
				sy_error_set(err, "%s: a directory in it moved during the walk", top);
				if (next >= 0)
					close(next);
				goto out;
			}
			close(fd);
			fd = next;
		}
	}
out:
	while (depth > 0)
		sy_strv_release(&levels[--depth].subdirs);
	free(levels);
	close(fd);
	return rc;
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
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), rc;

	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return sy_error_set(err, "%s: %s", dir, strerror(e));
	}
	usage_add(&u, &st);
	rc = usage_tree(fd, &st, &u, dir, err);
	if (u.n)
		qsort(u.links, u.n, sizeof(*u.links), cmp_linked);
	for (size_t i = 0; i < u.n; i++)
		if (i == 0 || cmp_linked(&u.links[i - 1], &u.links[i]))
			u.bytes += u.links[i].bytes;
	free(u.links);
	*bytes = u.bytes;
	return rc;
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

/* "rpm:N" for an rpm root with N packages in <dir>/packages. */
static char *rpm_kind(const char *dir)
{
	char *path = sy_xasprintf("%s/packages", dir), *text = NULL;
	size_t n = 0;

	if (sy_read_file(path, &text, NULL, NULL) == 0)
		for (const char *p = text; (p = strchr(p, '\n')); p++)
			n++;
	free(text);
	free(path);
	return sy_xasprintf("rpm:%zu", n);
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
		e->suite = m.kind == BUILDER_WORKER_RPM ? rpm_kind(dir) : sy_xstrdup(m.suite);
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

/* Checks that every package of an rpm root's closure is installed at its
 * NEVRA. */
static void query_packages(rpmts ts, const char *root, const struct sandbox_solv_closure *c,
			   struct sy_strv *problems)
{
	for (size_t i = 0; i < c->n; i++) {
		rpmdbMatchIterator mi = rpmtsInitIterator(ts, RPMDBI_NAME, c->pkgs[i].name, 0);
		Header h;
		int found = 0;

		while (mi && !found && (h = rpmdbNextIterator(mi))) {
			char *nevra = headerGetAsString(h, RPMTAG_NEVRA);
			found = nevra && !strcmp(nevra, c->pkgs[i].nevra);
			free(nevra);
		}
		rpmdbFreeIterator(mi);
		if (!found)
			sy_strv_pushf(problems, "%s: %s not installed in the rpmdb", root,
				      c->pkgs[i].nevra);
	}
}

/* Queries every toolchain capability (an rpm root: every package) of m in
 * the rpmdb under copy (a copy of the root's, so that sqlite's shared-memory
 * file in the cached root is left as it is); problems name root. */
static void query_rpmdb(const char *copy, const char *root, const struct builder_worker_manifest *m,
			struct sy_strv *problems)
{
	const struct sy_strv *toolchain = &m->toolchain;
	rpmlogCallback old_cb = rpmlogSetCallback(quiet_log, NULL);
	rpmts ts;

	rpmPushMacro(NULL, "_dbpath", NULL, WORKER_DBPATH, RMIL_CMDLINE);
	ts = rpmtsCreate();
	if (rpmtsSetRootDir(ts, copy) != 0 || rpmtsOpenDB(ts, O_RDONLY) != 0) {
		sy_strv_pushf(problems, "%s: cannot open the rpmdb at " WORKER_DBPATH, root);
		goto out;
	}
	if (m->kind == BUILDER_WORKER_RPM) {
		query_packages(ts, root, &m->closure, problems);
		goto out;
	}
	for (size_t i = 0; i < toolchain->n; i++) {
		/* The index holds names; "gcc >= 12" is looked up as "gcc". */
		const char *t = toolchain->items[i] + strspn(toolchain->items[i], " \t");
		char *name = sy_xstrndup(t, strcspn(t, " \t\r\n"));
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
static int check_rpmdb(const char *root, const struct builder_worker_manifest *m,
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
	tmp = sy_mkdtemp(sy_tmp_dir(), "shipyard-rpmdb-", err);
	if (!tmp)
		goto out;
	copy = sy_xasprintf("%s" WORKER_DBPATH, tmp);
	*strrchr(copy, '/') = '\0';
	if (sy_mkdir_p(copy, 0755, err))
		goto out;
	copy[strlen(copy)] = '/';
	if (sy_copy_tree(db, copy, err))
		goto out;
	query_rpmdb(tmp, root, m, problems);
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
	rc = check_rpmdb(root, m, problems, err);
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
