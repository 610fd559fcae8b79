/* Shared by the files of repo-publish/ that speak to a bucket (s3.c,
 * s3sync.c, s3http.c) only. */
#ifndef REPO_PUBLISH_S3_PRIVATE_H
#define REPO_PUBLISH_S3_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "repo-publish/s3.h"

/* Percent-encodes every byte of key but [A-Za-z0-9._~-] and '/' as %XX
 * (upper-case hex): a URL path that is also Signature Version 4's canonical
 * URI for S3, whose paths are encoded once. Newly allocated. */
char *s3_encode_path(const char *key);

/* A connection to one bucket: a libcurl handle (its connections kept alive
 * between requests), the credentials and what the requests came to. */
struct s3_client;

/* Reads conf->credentials (repo_s3_credentials_parse) and opens a client.
 * Returns 0 and *out (close with s3_client_close), or -1 with err, which
 * never holds the credentials. */
int s3_client_open(const struct repo_s3_config *conf, struct s3_client **out,
		   struct sy_error *err);

/* Clears the secret from memory and frees c (NULL allowed). */
void s3_client_close(struct s3_client *c);

/* How many requests of c were tried again so far. */
size_t s3_client_retries(const struct s3_client *c);

/* Lists every object whose key starts with prefix (ListObjectsV2, page by
 * page) into *list. Returns 0, or -1 with err naming the bucket and the
 * prefix. */
int s3_list(struct s3_client *c, const char *prefix, struct repo_s3_listing *list,
	    struct sy_error *err);

/* Digests of a file, hex, read in one pass. */
struct s3_digests {
	char md5[33];     /* MD5: an ETag of a single-part upload */
	char sha256[65];  /* SHA-256: x-amz-content-sha256 */
	unsigned char md5_raw[16];
	uint64_t size;    /* bytes read */
};

/* Reads the file at path once for both digests. Returns 0, or -1 with err. */
int s3_digest_file(const char *path, struct s3_digests *d, struct sy_error *err);

/* PUTs the file at path as object key (its digests d, from s3_digest_file;
 * a file whose size is no longer d->size is refused), with a Content-Type
 * chosen by its name. Returns 0, or -1 with err naming the object. */
int s3_put_file(struct s3_client *c, const char *path, const char *key,
		const struct s3_digests *d, struct sy_error *err);

#endif
