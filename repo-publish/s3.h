/* Publishing a channel to an S3-compatible bucket, for when one machine
 * serving <state>/repos is not enough: the channel's current snapshot
 * (repo-publish/publish.h) is copied to objects under
 * "<prefix>/<channel>/", path-style (<endpoint>/<bucket>/<key>), each
 * request signed with AWS Signature Version 4 by libcurl
 * (CURLOPT_AWS_SIGV4). A bucket has no rename, so the order of the uploads
 * is what keeps clients from seeing half a repository: every file outside
 * repodata/ first (packages, the public key), then the repodata files
 * repomd.xml names, then repomd.xml.asc, and repodata/repomd.xml last; a
 * client reads either the old repomd.xml, whose files are all still there,
 * or the new one, whose files were all uploaded before it. Objects already
 * in the bucket with the same size and MD5 (the ETag of a single-part
 * upload) are not uploaded again, so a publication sends what changed;
 * objects the snapshot no longer has are left in place for clients still
 * reading an older repomd.xml, and counted.
 *
 * The configuration is the [publish "s3"] section of a git-config file (the
 * service configuration, docs/pipeline.md "Object storage"):
 *   [publish "s3"]
 *       endpoint = https://s3.eu-west-1.amazonaws.com   http or https, no
 *                                   query; path-style requests go to
 *                                   <endpoint>/<bucket>/<key>
 *       bucket = distro-repos
 *       prefix = azl/3.0            keys start with it (optional)
 *       region = eu-west-1          signing region (default us-east-1)
 *       credentials = /etc/shipyard/s3-credentials   one line
 *                                   "ACCESS_KEY_ID:SECRET_ACCESS_KEY" (the
 *                                   s3fs password file's form); read when
 *                                   uploading, never logged, never copied
 *       retries = 4                 tries after the first on HTTP 5xx, 429
 *                                   and connection errors (default 4)
 * The secret reaches libcurl alone (CURLOPT_USERPWD), is cleared from
 * memory after the upload and never appears in an error message. */
#ifndef REPO_PUBLISH_S3_H
#define REPO_PUBLISH_S3_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* S3's longest object key (bytes). */
#define REPO_S3_KEY_MAX 1024

/* S3's largest object a single PUT may upload (5 GiB). */
#define REPO_S3_PUT_MAX (5ULL << 30)

/* The bucket a channel is uploaded to. Zero-initialise; filled by
 * repo_s3_config_read, freed by repo_s3_config_release. */
struct repo_s3_config {
	char *endpoint;      /* "https://host[:port][/path]", no trailing '/' */
	char *bucket;        /* bucket name */
	char *prefix;        /* "" or "a/b": checked components, no '/' at
			      * either end */
	char *region;        /* signing region ("us-east-1") */
	char *credentials;   /* absolute path of the credentials file */
	unsigned retries;    /* tries after the first (publish.s3.retries) */
	unsigned backoff_ms; /* wait before the first retry (1000), doubled
			      * for each next one up to 30 s; not a key of
			      * the file (tests lower it) */
};

/* Reads the [publish "s3"] section of the git-config file at path into
 * *conf. A relative credentials path is taken relative to the directory of
 * path. Returns 1 when the section names an endpoint (then bucket and
 * credentials are required), 0 when it names none (conf left zeroed: no
 * upload), or -1 with err naming the file and the key ("<path>:
 * publish.s3.bucket: missing", "publish.s3.endpoint 'ftp://x': not an http
 * or https URL", "publish.s3.prefix 'a/../b': '..' is not a key
 * component"). Does not read the credentials file (the caller checks its
 * mode, server_check_secret_file). Release conf with repo_s3_config_release
 * whatever the result. */
int repo_s3_config_read(const char *path, struct repo_s3_config *conf, struct sy_error *err);

/* Frees what conf holds and zeroes it. */
void repo_s3_config_release(struct repo_s3_config *conf);

/* Splits the credentials file's text ("ACCESS_KEY_ID:SECRET_ACCESS_KEY",
 * one line, a trailing newline allowed) into *id and *secret (newly
 * allocated; the caller clears and frees the secret). Returns 0, or -1 with
 * err, which names path but never the text ("<path>: not one line
 * ACCESS_KEY_ID:SECRET_ACCESS_KEY"). */
int repo_s3_credentials_parse(const char *path, const char *text, size_t len, char **id,
			      char **secret, struct sy_error *err);

/* Returns 0 when name can be one component of an object key: 1 to 255
 * bytes of [A-Za-z0-9._+~^@=,%-], not starting with '.' (so neither "."
 * nor ".."); else -1 with err ("'<name>': not a key component ..."). The
 * set holds every RPM file name (name-version-release.arch.rpm with '~' and
 * '^' versions) and channel names ("release%2F3.0"), and nothing a URL,
 * a shell or another client's path rules read differently. */
int repo_s3_check_component(const char *name, struct sy_error *err);

/* The key every object of channel starts with, "<prefix>/<channel>" (or
 * "<channel>" without a prefix), newly allocated in *base. Returns 0, or -1
 * with err when channel is not a key component. */
int repo_s3_key_base(const struct repo_s3_config *conf, const char *channel, char **base,
		     struct sy_error *err);

/* The channel's repository as clients reach it when the bucket is readable
 * over HTTP: "<endpoint>/<bucket>/<base>/", each key component
 * percent-encoded (newly allocated). */
char *repo_s3_base_url(const struct repo_s3_config *conf, const char *base);

/* When an object is uploaded relative to the others of its snapshot. */
enum repo_s3_stage {
	REPO_S3_CONTENT,  /* outside repodata/: packages, keys, anything else */
	REPO_S3_REPODATA, /* in repodata/, not repomd.xml*: what it names */
	REPO_S3_REPOMD_SIG, /* repodata/repomd.xml.<ext> (repomd.xml.asc) */
	REPO_S3_REPOMD,   /* repodata/repomd.xml: the switch clients see */
};

/* The stage of the file at rel, a path relative to the snapshot
 * ("repodata/repomd.xml", "SRPMS/repodata/primary.xml.gz"). A repodata/
 * at any depth counts (SRPMS/ has its own). */
enum repo_s3_stage repo_s3_stage_of(const char *rel);

/* One file of a snapshot as an object. */
struct repo_s3_object {
	char *path;             /* host path of the file */
	char *key;              /* its object key, "<base>/<rel>" */
	uint64_t size;          /* bytes */
	enum repo_s3_stage stage;
};

/* A snapshot's objects in upload order: by stage, then by key. */
struct repo_s3_objects {
	struct repo_s3_object *items;
	size_t n;
};

/* Lists every regular file under snapshot (recursively, without following
 * links) as an object under base (a repo_s3_key_base result), in upload
 * order, into *out. Refused, with err naming the file: a symbolic link or
 * any other non-regular, non-directory entry, a name repo_s3_check_component
 * refuses, a key longer than REPO_S3_KEY_MAX, a file larger than
 * REPO_S3_PUT_MAX. Returns 0, or -1 (out empty). Release out with
 * repo_s3_objects_release. */
int repo_s3_objects_list(const char *snapshot, const char *base, struct repo_s3_objects *out,
			 struct sy_error *err);

/* Frees the objects; leaves out empty. */
void repo_s3_objects_release(struct repo_s3_objects *out);

/* One object of a bucket listing. */
struct repo_s3_remote {
	char *key;     /* object key */
	char *etag;    /* ETag without quotes, lower-case ("" when none) */
	uint64_t size; /* bytes */
};

/* A bucket listing, as ListObjectsV2 pages add to it. */
struct repo_s3_listing {
	struct repo_s3_remote *items;
	size_t n, alloc;
	int truncated; /* the last page parsed says more follow */
	char *next;    /* its NextContinuationToken, or NULL */
};

/* Parses one ListObjectsV2 response page (XML, len bytes) and appends its
 * Contents to *list, replacing truncated and next. Returns 0, or -1 with
 * err ("ListObjectsV2 response: not XML", "...: Contents without a Key",
 * "...: Size 'x' is not a number", "...: IsTruncated without a
 * NextContinuationToken"); entries already appended stay. */
int repo_s3_listing_parse(const char *xml, size_t len, struct repo_s3_listing *list,
			  struct sy_error *err);

/* Returns the entry of key, or NULL (list sorted with repo_s3_listing_sort
 * first). */
const struct repo_s3_remote *repo_s3_listing_find(const struct repo_s3_listing *list,
						  const char *key);

/* Sorts the entries by key, for repo_s3_listing_find. */
void repo_s3_listing_sort(struct repo_s3_listing *list);

/* Frees the listing; leaves it empty. */
void repo_s3_listing_release(struct repo_s3_listing *list);

/* What an upload did. Release with repo_s3_report_release. */
struct repo_s3_report {
	char *snapshot;     /* the snapshot uploaded (absolute path), or NULL
			     * when the channel has none */
	char *url;          /* repo_s3_base_url of the channel */
	size_t objects;     /* files of the snapshot */
	size_t uploaded;    /* objects PUT */
	uint64_t bytes;     /* bytes PUT */
	size_t retries;     /* requests tried again (5xx, 429, connection) */
	size_t stale;       /* objects under the channel's key the snapshot
			     * does not hold, left in place */
};

/* Uploads the current snapshot of channel of the state directory state to
 * the bucket conf names, holding the channel's lock
 * (<state>/repos/<channel>.lock, as repo_publish_commit does) so that no
 * publication or collection changes the channel meanwhile: lists the
 * objects under the channel's key, then PUTs each file of the snapshot
 * whose object differs, in repo_s3_objects_list's order, each with its
 * SHA-256 (x-amz-content-sha256) and MD5 (Content-MD5) so that the server
 * refuses a corrupted body. A request is tried again, after conf->backoff_ms
 * doubled each time, up to conf->retries times on HTTP 5xx or 429 and on
 * connection errors. MD5 digests of snapshot files are remembered in the
 * state database's key/value cache by device, inode, size and mtime.
 * conf->credentials must not lie inside state. A channel with no snapshot
 * uploads nothing (rep->snapshot NULL) and succeeds. Returns 0, or -1 with
 * err, one line naming the object and the reason ("PUT
 * s3://repos/azl/main/repodata/repomd.xml: HTTP 403 InvalidAccessKeyId:
 * The AWS Access Key Id you provided does not exist in our records.", "...:
 * HTTP 503 SlowDown after 5 tries", "...: Couldn't connect to server after
 * 5 tries"); the objects uploaded before the error stay, and as repomd.xml
 * goes last, clients still see the previous repository whole. */
int repo_s3_publish_channel(const struct repo_s3_config *conf, const char *state,
			    const char *channel, struct repo_s3_report *rep, struct sy_error *err);

/* Frees the report's strings. */
void repo_s3_report_release(struct repo_s3_report *rep);

#endif
