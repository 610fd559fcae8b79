#include "hash.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "strv.h"

struct sy_sha256 {
	EVP_MD_CTX *ctx;
};

struct sy_sha256 *sy_sha256_new(void)
{
	/* Looked up once: EVP_sha256() is a lookup, and keys hash thousands
	 * of small inputs per plan. */
	static const EVP_MD *md;
	struct sy_sha256 *h = sy_xmalloc(sizeof(*h));

	if (!md)
		md = EVP_sha256();
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || !EVP_DigestInit_ex(h->ctx, md, NULL)) {
		sy_log_fatal("cannot initialise SHA-256");
	}
	return h;
}

void sy_sha256_update(struct sy_sha256 *h, const void *data, size_t len)
{
	EVP_DigestUpdate(h->ctx, data, len);
}

void sy_sha256_update_str(struct sy_sha256 *h, const char *s)
{
	EVP_DigestUpdate(h->ctx, s ? s : "", s ? strlen(s) + 1 : 1);
}

void sy_sha256_final(struct sy_sha256 *h, char hex[SY_SHA256_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	static const char digits[] = "0123456789abcdef";

	EVP_DigestFinal_ex(h->ctx, md, &n);
	for (unsigned int i = 0; i < n; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[2 * n] = '\0';
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

struct sy_sha256_reuse {
	EVP_MD_CTX *ctx;
	EVP_MD *md; /* fetched once: the legacy EVP_sha256() is fetched again
		     * by each initialisation */
};

struct sy_sha256_reuse *sy_sha256_reuse_new(void)
{
	struct sy_sha256_reuse *r = sy_xmalloc(sizeof(*r));

	r->ctx = EVP_MD_CTX_new();
	r->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!r->ctx || !r->md)
		sy_log_fatal("cannot initialise SHA-256");
	return r;
}

void sy_sha256_reuse_buf(struct sy_sha256_reuse *r, const void *data, size_t len,
			 char hex[SY_SHA256_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	/* Initialised again with the same digest, a context is reset, not
	 * fetched anew. */
	if (!EVP_DigestInit_ex(r->ctx, r->md, NULL) || !EVP_DigestUpdate(r->ctx, data, len) ||
	    !EVP_DigestFinal_ex(r->ctx, md, &n))
		sy_log_fatal("cannot compute SHA-256");
	for (unsigned int i = 0; i < n; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[2 * n] = '\0';
}

void sy_sha256_reuse_free(struct sy_sha256_reuse *r)
{
	if (!r)
		return;
	EVP_MD_CTX_free(r->ctx);
	EVP_MD_free(r->md);
	free(r);
}

void sy_sha256_buf(const void *data, size_t len, char hex[SY_SHA256_HEX_LEN + 1])
{
	struct sy_sha256 *h = sy_sha256_new();

	sy_sha256_update(h, data, len);
	sy_sha256_final(h, hex);
}

int sy_sha256_file(const char *path, char hex[SY_SHA256_HEX_LEN + 1], struct sy_error *err)
{
	FILE *f = fopen(path, "rb");
	char buf[65536];
	size_t n;

	if (!f)
		return sy_error_set(err, "%s: cannot open: %s", path, strerror(errno));
	struct sy_sha256 *h = sy_sha256_new();
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sy_sha256_update(h, buf, n);
	int bad = ferror(f);
	fclose(f);
	sy_sha256_final(h, hex);
	if (bad)
		return sy_error_set(err, "%s: read error", path);
	return 0;
}
