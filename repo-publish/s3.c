/* The configuration of an upload and the objects a snapshot becomes
 * (repo-publish/s3.h); s3sync.c uploads them, s3http.c speaks to the
 * bucket. */
#define _GNU_SOURCE
#include "repo-publish/s3.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "common/strv.h"
#include "repo-publish/s3-private.h"

#define DEFAULT_RETRIES 4
#define DEFAULT_BACKOFF_MS 1000
#define MAX_RETRIES 20

/* The value of name, newly allocated, or NULL when it is not set or set
 * without "= value". */
static char *config_str(git_config *cfg, const char *name)
{
	git_config_entry *e = NULL;
	char *value = NULL;

	if (git_config_get_entry(&e, cfg, name) == 0 && e->value)
		value = sy_xstrdup(e->value);
	git_config_entry_free(e);
	return value;
}

/* Checks the endpoint: http:// or https://, a host, no query, fragment,
 * space or control character; drops trailing '/'. */
static int check_endpoint(char *url, struct sy_error *err)
{
	size_t scheme = !strncmp(url, "https://", 8) ? 8 : !strncmp(url, "http://", 7) ? 7 : 0;
	size_t n = strlen(url);

	if (!scheme)
		return sy_error_set(err, "publish.s3.endpoint '%s': not an http or https URL", url);
	for (const char *c = url; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f || *c == '?' || *c == '#' || *c == '@')
			return sy_error_set(err, "publish.s3.endpoint '%s': has a '%c'",
					    url, (unsigned char)*c > ' ' ? *c : '?');
	while (n > scheme && url[n - 1] == '/')
		url[--n] = '\0';
	if (n == scheme || url[scheme] == '/')
		return sy_error_set(err, "publish.s3.endpoint '%s': no host", url);
	return 0;
}

/* Bucket names of S3 and of the compatible servers: 1 to 255 of
 * [A-Za-z0-9._-], not starting with '.' (path-style requests put it in the
 * path). */
static int check_bucket(const char *bucket, struct sy_error *err)
{
	size_t n = strlen(bucket);

	if (n == 0 || n > 255 || bucket[0] == '.' || strspn(bucket,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n)
		return sy_error_set(err, "publish.s3.bucket '%s': not 1 to 255 of [A-Za-z0-9._-]",
				    bucket);
	return 0;
}

/* Checks each '/'-separated component of the prefix; drops '/' at both
 * ends. */
static int check_prefix(char *prefix, struct sy_error *err)
{
	size_t start = strspn(prefix, "/"), n = strlen(prefix);
	struct sy_error why = { { 0 } };

	while (n > start && prefix[n - 1] == '/')
		n--;
	memmove(prefix, prefix + start, n - start);
	prefix[n - start] = '\0';
	for (char *c = prefix, *slash; *c; c = slash + 1) {
		slash = strchrnul(c, '/');
		char *part = sy_xstrndup(c, (size_t)(slash - c));
		int rc = repo_s3_check_component(part, &why);
		free(part);
		if (rc)
			return sy_error_set(err, "publish.s3.prefix '%s': %s", prefix, why.msg);
		if (!*slash)
			break;
	}
	return 0;
}

/* Reads the section's values into conf. */
static int read_section(git_config *cfg, const char *dir, struct repo_s3_config *conf,
			struct sy_error *err)
{
	char *retries = config_str(cfg, "publish.s3.retries");
	char *credentials = config_str(cfg, "publish.s3.credentials");
	int rc = 0;

	conf->bucket = config_str(cfg, "publish.s3.bucket");
	conf->prefix = config_str(cfg, "publish.s3.prefix");
	conf->region = config_str(cfg, "publish.s3.region");
	conf->retries = DEFAULT_RETRIES;
	conf->backoff_ms = DEFAULT_BACKOFF_MS;
	if (credentials)
		conf->credentials = credentials[0] == '/' ? sy_xstrdup(credentials)
							  : sy_xasprintf("%s/%s", dir, credentials);
	if (!conf->prefix)
		conf->prefix = sy_xstrdup("");
	if (!conf->region)
		conf->region = sy_xstrdup("us-east-1");
	if (check_endpoint(conf->endpoint, err))
		rc = -1;
	else if (!conf->bucket || !conf->credentials)
		rc = sy_error_set(err, "publish.s3.%s: missing",
				  !conf->bucket ? "bucket" : "credentials");
	else if (check_bucket(conf->bucket, err) || check_prefix(conf->prefix, err))
		rc = -1;
	else if (!conf->region[0] || strspn(conf->region, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
					     strlen(conf->region) || strlen(conf->region) > 64)
		rc = sy_error_set(err, "publish.s3.region '%s': not 1 to 64 of [a-z0-9-]",
				  conf->region);
	if (rc == 0 && retries) {
		char *end;
		unsigned long n = strtoul(retries, &end, 10);
		if (!retries[0] || *end || n > MAX_RETRIES)
			rc = sy_error_set(err, "publish.s3.retries '%s': not a number from 0 to %d",
					  retries, MAX_RETRIES);
		conf->retries = (unsigned)n;
	}
	free(retries);
	free(credentials);
	return rc;
}

/* Stops the walk (1) at a key of [publish "s3"]. (Not
 * git_config_foreach_match: libgit2 1.5's regex matching leaks.) */
static int stop_at_s3_key(const git_config_entry *e, void *arg)
{
	(void)arg;
	return !strncmp(e->name, "publish.s3.", strlen("publish.s3."));
}

/* Whether any key of [publish "s3"] is set. */
static int section_used(git_config *cfg)
{
	return git_config_foreach(cfg, stop_at_s3_key, NULL) == 1;
}

int repo_s3_config_read(const char *path, struct repo_s3_config *conf, struct sy_error *err)
{
	git_config *cfg = NULL;
	char abs[PATH_MAX];
	int rc = 0;

	memset(conf, 0, sizeof(*conf));
	if (!realpath(path, abs))
		return sy_error_set(err, "%s: %s", path, strerror(errno));
	git_libgit2_init();
	if (git_config_open_ondisk(&cfg, abs) < 0) {
		const git_error *e = git_error_last();
		rc = sy_error_set(err, "%s: %s", path, e ? e->message : "cannot parse");
	} else if ((conf->endpoint = config_str(cfg, "publish.s3.endpoint"))) {
		*strrchr(abs, '/') = '\0';
		rc = read_section(cfg, abs[0] ? abs : "/", conf, err);
		if (rc)
			sy_error_prefix(err, "%s", path);
		else
			rc = 1;
	} else if (section_used(cfg)) {
		/* A bucket named without its endpoint would silently upload
		 * nothing. */
		rc = sy_error_set(err, "%s: publish.s3.endpoint: missing", path);
	}
	git_config_free(cfg);
	git_libgit2_shutdown();
	if (rc < 0)
		repo_s3_config_release(conf);
	return rc;
}

void repo_s3_config_release(struct repo_s3_config *conf)
{
	free(conf->endpoint);
	free(conf->bucket);
	free(conf->prefix);
	free(conf->region);
	free(conf->credentials);
	memset(conf, 0, sizeof(*conf));
}

int repo_s3_credentials_parse(const char *path, const char *text, size_t len, char **id,
			      char **secret, struct sy_error *err)
{
	const char *colon = memchr(text, ':', len);

	*id = *secret = NULL;
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)text[i] < ' ' || text[i] == 0x7f)
			colon = NULL;
	if (!colon || colon == text || (size_t)(colon - text) + 1 >= len)
		return sy_error_set(err, "%s: not one line ACCESS_KEY_ID:SECRET_ACCESS_KEY", path);
	*id = sy_xstrndup(text, (size_t)(colon - text));
	*secret = sy_xstrndup(colon + 1, len - (size_t)(colon - text) - 1);
	return 0;
}

int repo_s3_check_component(const char *name, struct sy_error *err)
{
	static const char allowed[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				      "0123456789._+~^@=,%-";
	size_t n = strlen(name), ok = strspn(name, allowed);

	if (n == 0)
		return sy_error_set(err, "an empty key component");
	if (name[0] == '.')
		return sy_error_set(err, "'%s': a key component starting with '.'", name);
	if (n > 255)
		return sy_error_set(err, "'%.40s...': a key component over 255 bytes", name);
	if (ok != n)
		return sy_error_set(err, "'%s': byte 0x%02x is not one of [A-Za-z0-9._+~^@=,%%-]",
				    name, (unsigned char)name[ok]);
	return 0;
}

int repo_s3_key_base(const struct repo_s3_config *conf, const char *channel, char **base,
		     struct sy_error *err)
{
	*base = NULL;
	if (repo_s3_check_component(channel, err))
		return sy_error_prefix(err, "channel");
	*base = conf->prefix && conf->prefix[0] ? sy_xasprintf("%s/%s", conf->prefix, channel)
						: sy_xstrdup(channel);
	return 0;
}

char *repo_s3_base_url(const struct repo_s3_config *conf, const char *base)
{
	char *key = s3_encode_path(base);
	char *url = sy_xasprintf("%s/%s/%s/", conf->endpoint, conf->bucket, key);

	free(key);
	return url;
}

enum repo_s3_stage repo_s3_stage_of(const char *rel)
{
	const char *name = strrchr(rel, '/'), *dir;
	size_t dirlen;

	if (!name)
		return REPO_S3_CONTENT;
	dirlen = (size_t)(name - rel);
	name++;
	dir = memrchr(rel, '/', dirlen);
	dir = dir ? dir + 1 : rel;
	if ((size_t)(name - 1 - dir) != strlen("repodata") || strncmp(dir, "repodata", 8))
		return REPO_S3_CONTENT;
	if (!strcmp(name, "repomd.xml"))
		return REPO_S3_REPOMD;
	if (!strncmp(name, "repomd.xml.", 11))
		return REPO_S3_REPOMD_SIG;
	return REPO_S3_REPODATA;
}

/* The walk of a snapshot: where its files go. */
struct walk {
	const char *base;             /* key base */
	struct repo_s3_objects *out;
	size_t alloc;
};

static int add_file(struct walk *w, const char *path, const char *rel, const struct stat *st,
		    struct sy_error *err)
{
	struct repo_s3_object *o;
	char *key = sy_xasprintf("%s/%s", w->base, rel);

	if (strlen(key) > REPO_S3_KEY_MAX) {
		free(key);
		return sy_error_set(err, "%.300s%s: its key is longer than %d bytes", path,
				    strlen(path) > 300 ? "..." : "", REPO_S3_KEY_MAX);
	}
	if ((uint64_t)st->st_size > REPO_S3_PUT_MAX) {
		free(key);
		return sy_error_set(err, "%s: %lld bytes, over the 5 GiB one upload may hold",
				    path, (long long)st->st_size);
	}
	if (w->out->n == w->alloc) {
		w->alloc = w->alloc ? 2 * w->alloc : 64;
		w->out->items = sy_xrealloc(w->out->items, w->alloc * sizeof(*o));
	}
	o = &w->out->items[w->out->n++];
	o->path = sy_xstrdup(path);
	o->key = key;
	o->size = (uint64_t)st->st_size;
	o->stage = repo_s3_stage_of(rel);
	return 0;
}

/* Every name in dir but "." and "..", sorted (sy_list_dir leaves out the
 * names starting with '.', which must be refused here, not skipped). */
static int list_names(const char *dir, struct sy_strv *names, struct sy_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return sy_error_set(err, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			sy_strv_push(names, e->d_name);
	closedir(d);
	sy_strv_sort_unique(names);
	return 0;
}

/* Adds the files under dir (rel: its path in the snapshot, "" at the top). */
static int walk_dir(struct walk *w, const char *dir, const char *rel, int depth,
		    struct sy_error *err)
{
	struct sy_strv names = SY_STRV_INIT;
	int rc = 0;

	if (depth > 16)
		return sy_error_set(err, "%s: directories nested deeper than 16", dir);
	if (list_names(dir, &names, err))
		return -1;
	for (size_t i = 0; rc == 0 && i < names.n; i++) {
		const char *name = names.items[i];
		char *path = sy_xasprintf("%s/%s", dir, name);
		char *sub = rel[0] ? sy_xasprintf("%s/%s", rel, name) : sy_xstrdup(name);
		struct stat st;

		if (repo_s3_check_component(name, err))
			rc = sy_error_prefix(err, "%s", path);
		else if (lstat(path, &st) < 0)
			rc = sy_error_set(err, "%s: %s", path, strerror(errno));
		else if (S_ISDIR(st.st_mode))
			rc = walk_dir(w, path, sub, depth + 1, err);
		else if (S_ISREG(st.st_mode))
			rc = add_file(w, path, sub, &st, err);
		else
			rc = sy_error_set(err, "%s: not a regular file or directory; not uploaded",
					  path);
		free(path);
		free(sub);
	}
	sy_strv_release(&names);
	return rc;
}

static int cmp_object(const void *a, const void *b)
{
	const struct repo_s3_object *x = a, *y = b;

	if (x->stage != y->stage)
		return x->stage < y->stage ? -1 : 1;
	return strcmp(x->key, y->key);
}

int repo_s3_objects_list(const char *snapshot, const char *base, struct repo_s3_objects *out,
			 struct sy_error *err)
{
	struct walk w = { base, out, 0 };

	memset(out, 0, sizeof(*out));
	if (walk_dir(&w, snapshot, "", 0, err)) {
		repo_s3_objects_release(out);
		return -1;
	}
	if (out->n)
		qsort(out->items, out->n, sizeof(*out->items), cmp_object);
	return 0;
}

void repo_s3_objects_release(struct repo_s3_objects *out)
{
	for (size_t i = 0; i < out->n; i++) {
		free(out->items[i].path);
		free(out->items[i].key);
	}
	free(out->items);
	memset(out, 0, sizeof(*out));
}
