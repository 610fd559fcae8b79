/* Source verification. Everything read here comes from a git checkout of
 * untrusted content, so no path is followed through a symbolic link and only
 * regular files are read: a link to /proc/kcore or a FIFO must not make the
 * host read host files or block. */
#include "builder/sources.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "builder/fetch.h"
#include "common/fs.h"
#include "common/hash.h"
#include "common/strv.h"

/* Opens path for reading without following a symbolic link in its last
 * component and without blocking on a FIFO or device; returns the fd, or -1
 * with errno set (ENOENT when absent, EINVAL when it is not a regular
 * file). */
static int open_regular(int dirfd, const char *path)
{
	int fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;

	if (fd < 0) {
		if (errno == ELOOP)
			errno = EINVAL;
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

/* Loads the "Signatures" object of sig_path into *sigs (new reference, caller
 * decrefs); a missing file gives an empty object. */
static int load_signatures(const char *sig_path, json_t **sigs, struct sy_error *err)
{
	json_error_t jerr;
	json_t *doc, *obj;
	int fd = open_regular(AT_FDCWD, sig_path);

	if (fd < 0 && errno == ENOENT) {
		*sigs = json_object();
		return 0;
	}
	if (fd < 0 && errno == EINVAL)
		return sy_error_set(err, "%s: not a regular file", sig_path);
	if (fd < 0)
		return sy_error_set(err, "%s: %s", sig_path, strerror(errno));
	doc = json_loadfd(fd, 0, &jerr);
	close(fd);
	if (!doc)
		return sy_error_set(err, "%s: line %d: %s", sig_path, jerr.line, jerr.text);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return sy_error_set(err, "%s: top level is not an object", sig_path);
	}
	obj = json_object_get(doc, "Signatures");
	if (obj && !json_is_object(obj)) {
		json_decref(doc);
		return sy_error_set(err, "%s: \"Signatures\" is not an object", sig_path);
	}
	*sigs = obj ? json_incref(obj) : json_object();
	json_decref(doc);
	return 0;
}

/* Hashes the regular file name in the directory dirfd into got. */
static int hash_source(int dirfd, const char *sig_path, const char *name,
		       char got[SY_SHA256_HEX_LEN + 1], struct sy_error *err)
{
	int fd = open_regular(dirfd, name);
	struct sy_sha256 *h;
	char buf[65536];
	ssize_t n;

	if (fd < 0 && errno == ENOENT)
		return sy_error_set(err, "%s: %s: missing source", sig_path, name);
	if (fd < 0 && errno == EINVAL)
		return sy_error_set(err, "%s: %s: not a regular file", sig_path, name);
	if (fd < 0)
		return sy_error_set(err, "%s: %s: %s", sig_path, name, strerror(errno));
	h = sy_sha256_new();
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			sy_error_set(err, "%s: %s: read: %s", sig_path, name, strerror(errno));
			sy_sha256_final(h, got);
			close(fd);
			return -1;
		}
		sy_sha256_update(h, buf, (size_t)n);
	}
	close(fd);
	sy_sha256_final(h, got);
	return 0;
}

/* Checks one source file (basename name) in the directory dirfd against
 * sigs. */
static int verify_one(int dirfd, const char *sig_path, json_t *sigs, const char *name,
		      struct sy_error *err)
{
	char got[SY_SHA256_HEX_LEN + 1];
	const char *expected;
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return sy_error_set(err, "%s: %s: missing source", sig_path, name);
	if (!S_ISREG(st.st_mode))
		return sy_error_set(err, "%s: %s: not a regular file", sig_path, name);
	expected = json_string_value(json_object_get(sigs, name));
	if (!expected)
		return sy_error_set(err, "%s: %s: no signature", sig_path, name);
	if (hash_source(dirfd, sig_path, name, got, err) != 0)
		return -1;
	if (strcasecmp(expected, got) != 0)
		return sy_error_set(err, "%s: %s: SHA-256 mismatch: expected %s, got %s", sig_path,
				    name, expected, got);
	return 0;
}

int builder_sources_verify(const char *dir, const char *sig_path, const struct sy_strv *sources,
			   struct sy_error *err)
{
	json_t *sigs;
	int dirfd, rc = 0;

	if (sources->n == 0)
		return 0;
	if (load_signatures(sig_path, &sigs, err))
		return -1;
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		json_decref(sigs);
		return sy_error_set(err, "%s: %s", dir, strerror(errno));
	}
	for (size_t i = 0; i < sources->n && rc == 0; i++) {
		const char *name = strrchr(sources->items[i], '/');
		name = name ? name + 1 : sources->items[i];
		if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			rc = sy_error_set(err, "%s: %s: not a regular file", sig_path,
					  sources->items[i]);
		else
			rc = verify_one(dirfd, sig_path, sigs, name, err);
	}
	close(dirfd);
	json_decref(sigs);
	return rc;
}

/* The basename of a Source entry, or NULL when it cannot name a file in a
 * spec directory (builder_fetch_name_ok: a name ends up in paths, URLs and
 * log lines; it is escaped in URLs). */
static const char *source_name(const char *source)
{
	const char *name = strrchr(source, '/');

	name = name ? name + 1 : source;
	return builder_fetch_name_ok(name) ? name : NULL;
}

/* Copies the regular file from (no symlink followed) to to. */
static int copy_regular(const char *from, const char *to, struct sy_error *err)
{
	int in = open_regular(AT_FDCWD, from), out;
	char buf[65536];
	ssize_t n;
	int rc = 0;

	if (in < 0)
		return sy_error_set(err, "%s: %s", from,
				    errno == EINVAL ? "not a regular file" : strerror(errno));
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (out < 0) {
		close(in);
		return sy_error_set(err, "%s: %s", to, strerror(errno));
	}
	while (rc == 0 && (n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || write(out, buf, (size_t)n) != n)
			rc = sy_error_set(err, "%s: %s", n < 0 ? from : to, strerror(errno));
	}
	if (close(out) < 0 && rc == 0)
		rc = sy_error_set(err, "%s: %s", to, strerror(errno));
	close(in);
	if (rc)
		unlink(to);
	return rc;
}

/* Returns 1 when text is a SHA-256 in hex (so that it can name a file of
 * the cache and nothing else), else 0. */
static int is_sha256(const char *text)
{
	return text && strlen(text) == SY_SHA256_HEX_LEN &&
	       strspn(text, "0123456789abcdefABCDEF") == SY_SHA256_HEX_LEN;
}

/* Downloads url to the file part and hashes it into got. With expected
 * (the signed digest; NULL: not checked), other content is refused. */
static int download(const char *url, const char *part, const char *expected,
		    char got[SY_SHA256_HEX_LEN + 1], struct sy_error *err)
{
	if (builder_fetch(url, part, 3, err) || hash_source(AT_FDCWD, url, part, got, err))
		return -1;
	if (expected && strcasecmp(expected, got))
		return sy_error_set(err, "%s: SHA-256 mismatch: expected %s, got %s", url, expected,
				    got);
	return 0;
}

/* Downloads one source from url into dir/name, through the cache (stored as
 * <cache>/<sha256>, for shipyard only) when there is one. */
static int fetch_one(const char *url, const char *dir, const char *name, const char *expected,
		     const char *cache_dir, struct sy_error *err)
{
	const char *into = cache_dir ? cache_dir : dir;
	char *part = sy_xasprintf("%s/.download-%ld-%s", into, (long)getpid(), name);
	char *to = sy_xasprintf("%s/%s", dir, name), *stored = NULL;
	char got[SY_SHA256_HEX_LEN + 1] = "";
	int rc = -1;

	/* What a spec once downloaded is not for other users of the machine
	 * (a cache made by an older release is tightened here too). */
	if (cache_dir && sy_mkdir_p(cache_dir, 0700, err))
		goto out;
	if (cache_dir && chmod(cache_dir, 0700) < 0) {
		sy_error_set(err, "%s: %s", cache_dir, strerror(errno));
		goto out;
	}
	if (download(url, part, expected, got, err))
		goto out;
	if (!cache_dir) {
		if (rename(part, to) < 0)
			sy_error_set(err, "%s: %s", to, strerror(errno));
		else
			rc = 0;
		goto out;
	}
	stored = sy_xasprintf("%s/%s", cache_dir, got);
	if (chmod(part, 0600) < 0 || rename(part, stored) < 0)
		sy_error_set(err, "%s: %s", stored, strerror(errno));
	else
		rc = copy_regular(stored, to, err);
out:
	unlink(part);
	free(stored);
	free(to);
	free(part);
	return rc;
}

/* Tries each source URL of origin in turn for one source; on failure err
 * gets why each failed, joined by "; ". */
static int fetch_from_urls(const char *dir, const char *name, const char *expected,
			   const struct builder_sources_origin *origin, struct sy_error *err)
{
	const struct builder_source_ref ref = { origin->spec_name, name, expected };
	enum planner_signature_mode mode = origin->signatures;
	struct sy_strv reasons = SY_STRV_INIT;
	int rc = -1;

	for (size_t i = 0; rc != 0 && i < origin->urls->n; i++) {
		const char *template = origin->urls->items[i];
		struct sy_error why = { { 0 } };
		char *url = builder_fetch_source_url(template, &ref, &why);

		if (url && origin->log_fd >= 0)
			dprintf(origin->log_fd, "shipyard: downloading source %s\n", url);
		if (!url)
			sy_error_prefix(&why, "%s", template);
		else
			rc = fetch_one(url, dir, name,
				       mode == PLANNER_SIGNATURES_ENFORCE ? expected : NULL,
				       origin->cache_dir, &why);
		if (rc) {
			sy_strv_push(&reasons, why.msg);
			if (origin->log_fd >= 0)
				dprintf(origin->log_fd, "shipyard: source %s: %s\n", name, why.msg);
		}
		free(url);
	}
	if (rc) {
		char *all = sy_strv_join(&reasons, "; ");
		sy_error_set(err, "%s: missing source: not in the spec directory, the source cache "
			     "or at a source URL: %s", name, all);
		free(all);
	}
	sy_strv_release(&reasons);
	return rc;
}

/* Brings one missing source into dir: from the cache by its signed digest
 * (expected, may be NULL), else from the source URLs through the cache. */
static int hydrate_one(const char *dir, const char *name, const char *expected,
		       const struct builder_sources_origin *origin, struct sy_error *err)
{
	const char *cache_dir = origin->cache_dir;
	struct stat st;

	if (cache_dir && is_sha256(expected)) {
		char *cached = sy_xasprintf("%s/%s", cache_dir, expected);
		if (lstat(cached, &st) == 0 && S_ISREG(st.st_mode)) {
			char *to = sy_xasprintf("%s/%s", dir, name);
			int rc;
			if (origin->log_fd >= 0)
				dprintf(origin->log_fd, "shipyard: source %s from the source cache\n",
					name);
			rc = copy_regular(cached, to, err);
			free(to);
			free(cached);
			return rc;
		}
		free(cached);
	}
	if (!origin->urls || !origin->urls->n)
		return sy_error_set(err, "%s: missing source: not in the spec directory%s", name,
				    cache_dir ? " or the source cache (no source URL configured)"
					      : "");
	return fetch_from_urls(dir, name, expected, origin, err);
}

int builder_sources_hydrate(const char *dir, const char *sig_path, const struct sy_strv *sources,
			    const struct builder_sources_origin *origin, struct sy_error *err)
{
	json_t *sigs = NULL;
	int rc = 0;

	for (size_t i = 0; i < sources->n && rc == 0; i++) {
		const char *name = source_name(sources->items[i]);
		char *path;
		struct stat st;

		if (!name) {
			rc = sy_error_set(err, "%s: not a file name", sources->items[i]);
			break;
		}
		path = sy_xasprintf("%s/%s", dir, name);
		if (lstat(path, &st) != 0) {
			if (!sigs && load_signatures(sig_path, &sigs, NULL))
				sigs = json_object();
			rc = hydrate_one(dir, name, json_string_value(json_object_get(sigs, name)),
					 origin, err);
		}
		free(path);
	}
	json_decref(sigs);
	return rc;
}

/* UPDATE: the signatures of exactly the sources, rewritten when they differ
 * from what sig_path holds. */
static int update_signatures(const char *dir, const char *sig_path, const struct sy_strv *sources,
			     int *updated, struct sy_error *err)
{
	json_t *old = NULL, *now = json_object();
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (dirfd < 0) {
		json_decref(now);
		return sy_error_set(err, "%s: %s", dir, strerror(errno));
	}
	for (size_t i = 0; i < sources->n && rc == 0; i++) {
		const char *name = source_name(sources->items[i]);
		char got[SY_SHA256_HEX_LEN + 1];
		if (!name)
			rc = sy_error_set(err, "%s: %s: not a regular file", sig_path, sources->items[i]);
		else if ((rc = hash_source(dirfd, sig_path, name, got, err)) == 0)
			json_object_set_new(now, name, json_string(got));
	}
	close(dirfd);
	if (rc == 0 && load_signatures(sig_path, &old, NULL) == 0 && json_equal(old, now)) {
		*updated = 0;
	} else if (rc == 0) {
		json_t *doc = json_pack("{s:O}", "Signatures", now);
		char *text = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS);
		rc = sy_write_file_atomic(sig_path, text, strlen(text), 0644, err);
		*updated = rc == 0;
		free(text);
		json_decref(doc);
	}
	json_decref(old);
	json_decref(now);
	return rc;
}

int builder_sources_check(const char *dir, const char *sig_path, const struct sy_strv *sources,
			  enum planner_signature_mode mode, int *updated, struct sy_error *err)
{
	*updated = 0;
	switch (mode) {
	case PLANNER_SIGNATURES_SKIP:
		return 0;
	case PLANNER_SIGNATURES_UPDATE:
		return update_signatures(dir, sig_path, sources, updated, err);
	case PLANNER_SIGNATURES_ENFORCE:
		break;
	}
	return builder_sources_verify(dir, sig_path, sources, err);
}
