#define _GNU_SOURCE
#include "builder/rpmroot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/hash.h"
#include "common/util.h"
#include "builder/fetch.h"
#include "builder/outdigest.h"
#include "planner/pkgmanifest.h"
#include "sandbox/rootinstall.h"

/* A package a list pins: "<name>-<version>-<release>.<arch>.rpm". */
struct pin {
	char *list;    /* the list's file name, for errors */
	char *name, *want; /* want: "<name>-<version>-<release>.<arch>" */
};

struct pins {
	struct pin *items;
	size_t n;
};

static void pins_release(struct pins *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->items[i].list);
		free(p->items[i].name);
		free(p->items[i].want);
	}
	free(p->items);
}

/* Returns the list's path with its first "%s" replaced by arch (newly
 * allocated); the name is not a format string. */
static char *list_path(const char *pattern, const char *arch)
{
	const char *at = strstr(pattern, "%s");

	if (!at)
		return sy_xstrdup(pattern);
	return sy_xasprintf("%.*s%s%s", (int)(at - pattern), pattern, arch, at + 2);
}

/* Reads one package list: its names go to wanted, its exact builds to pins. */
static int read_list_file(const char *path, const char *arch, struct sy_strv *wanted,
			  struct pins *pins, struct sy_error *err)
{
	char *file = list_path(path, arch), *text = NULL;
	struct planner_manifest man = { 0 };
	size_t len = 0;
	int rc = -1;

	if (sy_read_file(file, &text, &len, err) ||
	    planner_manifest_parse(sy_base_name(file), text, len, &man, err))
		goto out;
	pins->items = sy_xrealloc(pins->items, (pins->n + man.n + 1) * sizeof(*pins->items));
	for (size_t i = 0; i < man.n; i++) {
		const struct planner_manifest_pkg *p = &man.items[i];
		sy_strv_push(wanted, p->name);
		pins->items[pins->n++] = (struct pin){
			sy_xstrdup(sy_base_name(file)), sy_xstrdup(p->name),
			sy_xasprintf("%s-%s-%s.%s", p->name, p->version, p->release, p->arch),
		};
	}
	rc = 0;
out:
	planner_manifest_release(&man);
	free(text);
	free(file);
	return rc;
}

/* Attempts per download, as for sources. */
#define FETCH_ATTEMPTS 3

/* Fetches <url>/<rel> to <dir>/<rel>, making its directories. */
static int fetch_into(const char *url, const char *dir, const char *rel, struct sy_error *err)
{
	char *from = sy_xasprintf("%s/%s", url, rel), *to = sy_xasprintf("%s/%s", dir, rel);
	char *parent = sy_xstrdup(to);
	int rc;

	*strrchr(parent, '/') = '\0';
	rc = sy_mkdir_p(parent, 0755, err) || builder_fetch(from, to, FETCH_ATTEMPTS, err) ? -1 : 0;
	free(parent);
	free(to);
	free(from);
	return rc;
}

/* Mirrors the metadata of the repository at url (http or https) into
 * <download_dir>/<SHA-256 of url>, returned (newly allocated): repomd.xml
 * every time (it says whether the repository moved), then the primary and
 * filelists files it names. */
static char *mirror_repodata(const char *url, const char *download_dir, struct sy_error *err)
{
	char digest[SY_SHA256_HEX_LEN + 1];
	struct sy_strv files = SY_STRV_INIT;
	char *dir, *repomd;
	size_t len = strlen(url);
	int rc;

	while (len && url[len - 1] == '/')
		len--;
	char *base = sy_xstrndup(url, len);
	sy_sha256_buf(base, len, digest);
	dir = sy_xasprintf("%s/%s", download_dir, digest);
	repomd = sy_xasprintf("%s/repodata/repomd.xml", dir);
	rc = fetch_into(base, dir, "repodata/repomd.xml", err) ||
	     sandbox_solv_repomd_files(repomd, &files, err);
	for (size_t i = 0; rc == 0 && i < files.n; i++)
		rc = fetch_into(base, dir, files.items[i], err);
	sy_strv_release(&files);
	free(repomd);
	free(base);
	if (rc) {
		free(dir);
		return NULL;
	}
	return dir;
}

static int is_http(const char *repo)
{
	return !strncmp(repo, "http://", 7) || !strncmp(repo, "https://", 8);
}

/* Finds the directory of each repository of m into m->repo_dirs. */
static int find_repos(struct builder_worker_manifest *m, const char *path,
		      const struct builder_worker_sources *src, struct sy_error *err)
{
	for (size_t i = 0; i < m->repos.n; i++) {
		const char *r = m->repos.items[i];
		char *dir = NULL, *repomd;

		if (!strncmp(r, "channel:", 8)) {
			dir = src->channel_dir ? src->channel_dir(src->arg, r + 8) : NULL;
			if (!dir)
				return sy_error_set(err, "%s: worker.repo %s: the channel has not "
							 "been published", path, r);
		} else if (is_http(r) && src->download_dir) {
			dir = mirror_repodata(r, src->download_dir, err);
			if (!dir)
				return sy_error_prefix(err, "%s: worker.repo %s", path, r);
		} else if (strstr(r, "://")) {
			return sy_error_set(err, "%s: worker.repo %s: not supported: give a "
						 "directory, a file://, http:// or https:// URL or "
						 "channel:NAME", path, r);
		} else {
			dir = sy_xstrdup(r);
		}
		repomd = sy_xasprintf("%s/repodata/repomd.xml", dir);
		int ok = sy_exists(repomd);
		free(repomd);
		if (!ok) {
			free(dir);
			return sy_error_set(err, "%s: worker.repo %s: no repodata/repomd.xml", path,
					    r);
		}
		sy_strv_push_owned(&m->repo_dirs, dir);
	}
	return 0;
}

/* Fetches the closure's packages that come from http(s) repositories and
 * are not mirrored yet, and checks every such file against the SHA-256 its
 * repository's primary.xml gives: what is installed is what the digest
 * covers. */
static int fetch_packages(const struct builder_worker_manifest *m, const char *path,
			  struct sy_error *err)
{
	for (size_t i = 0; i < m->closure.n; i++) {
		const struct sandbox_solv_pkg *p = &m->closure.pkgs[i];
		char hex[SY_SHA256_HEX_LEN + 1];

		for (size_t r = 0; r < m->repos.n; r++) {
			const char *dir = m->repo_dirs.items[r];
			size_t n = strlen(dir);
			if (!is_http(m->repos.items[r]) || strncmp(p->path, dir, n) || p->path[n] != '/')
				continue;
			if (strncmp(p->checksum, "sha256:", 7))
				return sy_error_set(err, "%s: %s: %s gives no SHA-256 for it", path,
						    p->nevra, m->repos.items[r]);
			if (!sy_exists(p->path) &&
			    fetch_into(m->repos.items[r], dir, p->path + n + 1, err))
				return sy_error_prefix(err, "%s", path);
			if (sy_sha256_file(p->path, hex, err))
				return -1;
			if (strcmp(hex, p->checksum + 7)) {
				unlink(p->path);
				return sy_error_set(err, "%s: %s from %s: SHA-256 %s, repodata says %s",
						    path, p->nevra, m->repos.items[r], hex,
						    p->checksum + 7);
			}
			break;
		}
	}
	return 0;
}

/* Returns nevra without its "E:" epoch, newly allocated. */
static char *without_epoch(const char *nevra, const char *name)
{
	size_t n = strlen(name);
	const char *colon = strchr(nevra + n + 1, ':');

	if (strncmp(nevra, name, n) || nevra[n] != '-' || !colon)
		return sy_xstrdup(nevra);
	return sy_xasprintf("%s-%s", name, colon + 1);
}

/* Returns nevra ("name-[E:]V-R.arch") with suffix taken out of the end of
 * its release (suffix NULL: as it is), newly allocated. */
static char *without_counter(const char *nevra, const char *suffix)
{
	const char *dot = strrchr(nevra, '.');
	size_t m = suffix ? strlen(suffix) : 0;

	if (!m || !dot || (size_t)(dot - nevra) <= m || strncmp(dot - m, suffix, m))
		return sy_xstrdup(nevra);
	return sy_xasprintf("%.*s%s", (int)(dot - m - nevra), nevra, dot);
}

/* Checks that the closure holds each pinned build; plain[k] is the NEVRA
 * of closure package k without its rebuild counter (closure_digest). A
 * list names what git's specs give (the toolkit's toolchain manifests), so
 * a package rebuilt with another key, whose Release carries a counter,
 * still is the build the list pins. */
static int check_pins(const struct builder_worker_manifest *m, const char *path,
		      const struct pins *pins, const struct sy_strv *plain, struct sy_error *err)
{
	for (size_t i = 0; i < pins->n; i++) {
		const struct pin *p = &pins->items[i];
		size_t k = 0;
		while (k < m->closure.n && strcmp(m->closure.pkgs[k].name, p->name))
			k++;
		const char *have = k < m->closure.n ? m->closure.pkgs[k].nevra : NULL;
		char *bare = have ? without_epoch(plain->items[k], p->name) : NULL;
		int same = bare && !strcmp(bare, p->want);
		free(bare);
		if (!same)
			return sy_error_set(err, "%s: %s lists %s.rpm; the repositories have %s", path,
					    p->list, p->want, have ? have : "none");
	}
	return 0;
}

/* Sets m->digest and m->toolchain from the closure. A package counts by
 * its NEVRA and its output digest (builder/outdigest.h: files, modes,
 * dependencies, scriptlets; not build time or payload compression), so that
 * a toolchain package rebuilt with the same output gives the same root and
 * nothing downstream rebuilds, while any change to what it installs gives a
 * new one. The NEVRA counts without the suffix a rebuild counter added to
 * its Release (builder/rebuild.h), as the output digest does: a toolchain
 * spec rebuilt with another key but the same output keeps the root.
 * Appends each package's NEVRA without that suffix to plain. */
static int closure_digest(struct builder_worker_manifest *m, const char *path,
			  struct sy_strv *plain, struct sy_error *err)
{
	struct sy_sha256 *h = sy_sha256_new();
	char out[SY_SHA256_HEX_LEN + 1];
	int rc = 0;

	sy_sha256_update_str(h, BUILDER_RPMROOT_LAYOUT);
	for (size_t i = 0; rc == 0 && i < m->closure.n; i++) {
		const struct sandbox_solv_pkg *p = &m->closure.pkgs[i];
		char *suffix, *nevra;
		if (builder_output_digest_package(p->path, out, &suffix, err)) {
			rc = sy_error_prefix(err, "%s", path);
			break;
		}
		nevra = without_counter(p->nevra, suffix);
		sy_sha256_update_str(h, nevra);
		sy_sha256_update_str(h, out);
		sy_strv_push_owned(plain, nevra);
		free(suffix);
		sy_strv_push(&m->toolchain, p->name);
		for (size_t k = 0; k < p->provides.n; k++)
			sy_strv_push(&m->toolchain, p->provides.items[k]);
	}
	sy_sha256_final(h, m->digest);
	if (rc)
		m->digest[0] = '\0';
	sy_strv_sort_unique(&m->toolchain);
	return rc;
}

int builder_rpmroot_resolve(struct builder_worker_manifest *m, const char *path, const char *arch,
			    const struct builder_worker_sources *src, struct sy_error *err)
{
	struct sy_strv wanted = SY_STRV_INIT;
	struct pins pins = { 0 };
	int rc = -1;

	sy_strv_release(&m->repo_dirs);
	sy_strv_release(&m->toolchain);
	sy_strv_release(&m->closure_plain);
	sandbox_solv_closure_release(&m->closure);
	for (size_t i = 0; i < m->packages.n; i++)
		sy_strv_push(&wanted, m->packages.items[i]);
	for (size_t i = 0; i < m->packagelists.n; i++)
		if (read_list_file(m->packagelists.items[i], arch, &wanted, &pins, err))
			goto out;
	sy_strv_sort_unique(&wanted);
	if (find_repos(m, path, src, err))
		goto out;
	if (sandbox_solv_closure((const char *const *)m->repo_dirs.items,
				 (const char *const *)wanted.items, NULL, arch, &m->closure, err)) {
		sy_error_prefix(err, "%s", path);
		goto out;
	}
	if (fetch_packages(m, path, err) || closure_digest(m, path, &m->closure_plain, err) ||
	    check_pins(m, path, &pins, &m->closure_plain, err))
		goto out;
	rc = 0;
out:
	pins_release(&pins);
	sy_strv_release(&wanted);
	return rc;
}

/* Appends line to <etc>/<name> (created 0644 when missing), never following
 * a link the packages made. */
static int append_etc(int etcfd, const char *root, const char *name, const char *line,
		      struct sy_error *err)
{
	int fd = openat(etcfd, name, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	size_t len = strlen(line);
	int rc = 0;

	if (fd < 0 || write(fd, line, len) != (ssize_t)len)
		rc = sy_error_set(err, "%s/etc/%s: cannot add the build user: %s", root, name,
				  strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Adds the build user, its group and /build to the root. The packages
 * decided what /etc holds; the entries are written directly, as no shadow
 * tool of the host may run on a root it does not know. */
static int add_build_user(const char *root, struct sy_error *err)
{
	int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), etcfd = -1;
	char *pw = sy_xasprintf(BUILDER_WORKER_BUILD_USER ":x:%d:%d:shipyard build user:/build:"
				"/bin/sh\n", BUILDER_WORKER_BUILD_UID, BUILDER_WORKER_BUILD_GID);
	char *gr = sy_xasprintf(BUILDER_WORKER_BUILD_USER ":x:%d:\n", BUILDER_WORKER_BUILD_GID);
	int rc = -1;

	if (rootfd < 0) {
		sy_error_set(err, "%s: %s", root, strerror(errno));
		goto out;
	}
	if (mkdirat(rootfd, "etc", 0755) < 0 && errno != EEXIST) {
		sy_error_set(err, "%s/etc: %s", root, strerror(errno));
		goto out;
	}
	etcfd = openat(rootfd, "etc", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (etcfd < 0) {
		sy_error_set(err, "%s/etc: not a directory: %s", root, strerror(errno));
		goto out;
	}
	if (append_etc(etcfd, root, "passwd", pw, err) || append_etc(etcfd, root, "group", gr, err))
		goto out;
	if ((mkdirat(rootfd, "build", 0755) < 0 && errno != EEXIST) ||
	    fchownat(rootfd, "build", BUILDER_WORKER_BUILD_UID, BUILDER_WORKER_BUILD_GID,
		     AT_SYMLINK_NOFOLLOW) < 0) {
		sy_error_set(err, "%s/build: cannot create for the build user: %s", root,
			     strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (etcfd >= 0)
		close(etcfd);
	if (rootfd >= 0)
		close(rootfd);
	free(gr);
	free(pw);
	return rc;
}

int builder_rpmroot_make(const struct builder_worker_manifest *m, const char *root, int log_fd,
			 struct sy_error *err)
{
	struct sy_strv rpms = SY_STRV_INIT;
	int rc;

	for (size_t i = 0; i < m->closure.n; i++)
		sy_strv_push(&rpms, m->closure.pkgs[i].path);
	if (mkdir(root, 0755) < 0) {
		sy_strv_release(&rpms);
		return sy_error_set(err, "%s: cannot create: %s", root, strerror(errno));
	}
	if (log_fd >= 0)
		dprintf(log_fd, "worker root %s: installing %zu packages into %s\n", m->digest, rpms.n,
			root);
	const struct sandbox_root_install in = {
		.rootfs = root, .repo_dirs = (const char *const *)m->repo_dirs.items, .rpms = &rpms,
		.hostname = "shipyard-worker", .what = "the worker root", .cgroup_name = "worker",
		.log_fd = log_fd,
	};
	rc = sandbox_root_install(&in, err);
	if (rc)
		sy_error_prefix(err, "worker root");
	else
		rc = add_build_user(root, err);
	sy_strv_release(&rpms);
	return rc;
}

int builder_rpmroot_write_packages(const char *dir, const struct builder_worker_manifest *m,
				   struct sy_error *err)
{
	char *path = sy_xasprintf("%s/packages", dir), *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int rc;

	for (size_t i = 0; i < m->closure.n; i++)
		fprintf(f, "%s %s\n", m->closure.pkgs[i].nevra, m->closure.pkgs[i].checksum);
	fclose(f);
	rc = sy_write_file_atomic(path, text, len, 0644, err);
	free(text);
	free(path);
	return rc;
}

int builder_rpmroot_read_packages(const char *dir, struct sy_strv *nevras,
				  struct sy_strv *checksums, struct sy_error *err)
{
	char *path = sy_xasprintf("%s/packages", dir), *text = NULL, *save = NULL;
	int rc = 1;

	if (!sy_exists(path)) {
		free(path);
		return 0;
	}
	if (sy_read_file(path, &text, NULL, err)) {
		free(path);
		return -1;
	}
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *space = strchr(line, ' ');
		if (!space || space == line || !space[1] || strchr(space + 1, ' ')) {
			rc = sy_error_set(err, "%s: not \"<NEVRA> <checksum>\": %.80s", path, line);
			break;
		}
		*space = '\0';
		sy_strv_push(nevras, line);
		sy_strv_push(checksums, space + 1);
	}
	free(text);
	free(path);
	return rc;
}

/* Splits "name-[e:]v-r.arch" into the name and "[e:]v-r" (newly allocated). */
static void split_nevra(const char *nevra, char **name, char **evr)
{
	const char *dot = strrchr(nevra, '.');
	const char *end = dot ? dot : nevra + strlen(nevra);
	const char *cut;
	int seen = 0;

	for (cut = end; cut > nevra; cut--)
		if (cut[-1] == '-' && ++seen == 2)
			break;
	if (seen < 2) {
		*name = sy_xstrdup(nevra);
		*evr = sy_xstrdup("");
		return;
	}
	*name = sy_xstrndup(nevra, (size_t)(cut - 1 - nevra));
	*evr = sy_xstrndup(cut, (size_t)(end - cut));
}

/* The EVR of package name in a sorted NEVRA list, or NULL (newly allocated). */
static char *evr_of(const struct sy_strv *nevras, const char *name)
{
	for (size_t i = 0; i < nevras->n; i++) {
		char *n, *evr;
		split_nevra(nevras->items[i], &n, &evr);
		int same = !strcmp(n, name);
		free(n);
		if (same)
			return evr;
		free(evr);
	}
	return NULL;
}

char *builder_rpmroot_describe_change(const struct sy_strv *before,
				      const struct builder_worker_manifest *after)
{
	struct sy_strv now = SY_STRV_INIT, changes = SY_STRV_INIT;
	size_t rebuilt = 0;
	char *text;

	for (size_t i = 0; i < after->closure.n; i++)
		sy_strv_push(&now, after->closure.pkgs[i].nevra);
	for (size_t i = 0; i < now.n; i++) {
		char *name, *evr, *old, *plain_name = NULL, *plain = NULL;
		split_nevra(now.items[i], &name, &evr);
		if (i < after->closure_plain.n)
			split_nevra(after->closure_plain.items[i], &plain_name, &plain);
		old = evr_of(before, name);
		if (!old)
			sy_strv_pushf(&changes, "%s added", name);
		else if (strcmp(old, evr) && plain && !strncmp(old, plain, strlen(plain)))
			rebuilt++; /* the same release, another rebuild counter */
		else if (strcmp(old, evr))
			sy_strv_pushf(&changes, "%s %s -> %s", name, old, evr);
		free(old);
		free(evr);
		free(name);
		free(plain);
		free(plain_name);
	}
	for (size_t i = 0; i < before->n; i++) {
		char *name, *evr, *gone;
		split_nevra(before->items[i], &name, &evr);
		gone = evr_of(&now, name);
		if (!gone)
			sy_strv_pushf(&changes, "%s removed", name);
		free(gone);
		free(evr);
		free(name);
	}
	if (rebuilt)
		sy_strv_pushf(&changes, "%zu rebuilt", rebuilt);
	if (!changes.n) {
		text = sy_xstrdup("same versions, other builds");
	} else {
		text = sy_xstrdup("");
		for (size_t i = 0; i < changes.n && i < 4; i++) {
			char *longer = sy_xasprintf("%s%s%s", text, i ? ", " : "", changes.items[i]);
			free(text);
			text = longer;
		}
		if (changes.n > 4) {
			char *longer = sy_xasprintf("%s, %zu more", text, changes.n - 4);
			free(text);
			text = longer;
		}
	}
	sy_strv_release(&changes);
	sy_strv_release(&now);
	return text;
}
