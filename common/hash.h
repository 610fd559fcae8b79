/* SHA-256 digests as lowercase hex (OpenSSL libcrypto EVP). */
#ifndef SY_HASH_H
#define SY_HASH_H

#include <stddef.h>

#include "error.h"

#define SY_SHA256_HEX_LEN 64

/* Incremental SHA-256; create with sy_sha256_new, finish with sy_sha256_final. */
struct sy_sha256;

/* Returns a new digest context; never NULL (aborts on out-of-memory). */
struct sy_sha256 *sy_sha256_new(void);
/* Feeds len bytes. */
void sy_sha256_update(struct sy_sha256 *h, const void *data, size_t len);
/* Feeds a NUL-terminated string including its NUL, so that fields cannot run
 * into each other ("ab","c" differs from "a","bc"). */
void sy_sha256_update_str(struct sy_sha256 *h, const char *s);
/* Writes the 64 hex digits and a NUL into hex, frees h. */
void sy_sha256_final(struct sy_sha256 *h, char hex[SY_SHA256_HEX_LEN + 1]);

/* A context for many digests of buffers one after another (thousands of
 * build keys): making a context costs as much as hashing a few hundred
 * bytes. Returns a new one; never NULL. One thread at a time. */
struct sy_sha256_reuse;
struct sy_sha256_reuse *sy_sha256_reuse_new(void);
/* The digest of len bytes of data, as sy_sha256_buf's, with r. */
void sy_sha256_reuse_buf(struct sy_sha256_reuse *r, const void *data, size_t len,
			 char hex[SY_SHA256_HEX_LEN + 1]);
/* Frees r (NULL: nothing). */
void sy_sha256_reuse_free(struct sy_sha256_reuse *r);

/* Digest of a buffer. */
void sy_sha256_buf(const void *data, size_t len, char hex[SY_SHA256_HEX_LEN + 1]);
/* Digest of a file's content, read in 64 KiB blocks. Returns 0 or -1. */
int sy_sha256_file(const char *path, char hex[SY_SHA256_HEX_LEN + 1], struct sy_error *err);

#endif
