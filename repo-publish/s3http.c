/* Requests to an S3-compatible bucket with libcurl: Signature Version 4
 * by CURLOPT_AWS_SIGV4, retries with backoff, ListObjectsV2 and S3 error
 * documents read with libxml2 (repo-publish/s3.h, s3-private.h).
 *
 * libcurl 7.88 (Debian 12) signs the query string as it is given and hashes
 * no upload body: the query is written here in canonical form (names
 * sorted, values encoded) and every request carries its own
 * x-amz-content-sha256, which libcurl then signs as the payload hash. */
#define _GNU_SOURCE
#include "repo-publish/s3-private.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/evp.h>

#include "common/buf.h"
#include "common/fs.h"
#include "common/hash.h"
#include "common/strv.h"
#include "common/util.h"

/* SHA-256 of nothing: the payload hash of a request without a body. */
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* The most a response body may hold (a listing page of 1000 keys is about
 * 300 KiB). */
#define RESPONSE_MAX (64u << 20)

/* The longest wait between two tries. */
#define BACKOFF_MAX_MS 30000u

struct s3_client {
	const struct repo_s3_config *conf;
	CURL *curl;
	char *id;        /* access key id */
	char *secret;    /* secret access key: cleared on close */
	char sigv4[96];  /* "aws:amz:<region>:s3" */
	size_t retries;  /* requests tried again */
};

/* One request. */
struct call {
	const char *method;  /* "GET" or "PUT" */
	const char *key;     /* object key, or NULL: the bucket */
	const char *prefix;  /* a listing: the prefix listed, or NULL */
	const char *query;   /* canonical query string, or NULL */
	FILE *body;          /* PUT: the file, read from its start */
	uint64_t size;       /* PUT: its size */
	struct curl_slist *headers;
	struct sy_buf response;
	long status;         /* HTTP status of the last try, 0: none */
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_libraries(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	xmlInitParser();
}

static char *encode(const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = sy_xmalloc(3 * strlen(s) + 1), *q = out;

	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
		    strchr("-._~", *c) || (keep_slash && *c == '/')) {
			*q++ = (char)*c;
		} else {
			*q++ = '%';
			*q++ = hex[*c >> 4];
			*q++ = hex[*c & 15];
		}
	}
	*q = '\0';
	return out;
}

char *s3_encode_path(const char *key)
{
	return encode(key, 1);
}

int s3_client_open(const struct repo_s3_config *conf, struct s3_client **out,
		   struct sy_error *err)
{
	struct s3_client *c;
	char *text = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	pthread_once(&init_once, init_libraries);
	if (sy_read_file(conf->credentials, &text, &len, NULL))
		return sy_error_set(err, "publish.s3.credentials '%s': cannot read: %s",
				    conf->credentials, strerror(errno));
	c = sy_xcalloc(1, sizeof(*c));
	c->conf = conf;
	rc = repo_s3_credentials_parse(conf->credentials, text, len, &c->id, &c->secret, err);
	explicit_bzero(text, len);
	free(text);
	if (rc == 0 && !(c->curl = curl_easy_init()))
		rc = sy_error_set(err, "libcurl: cannot create a handle");
	snprintf(c->sigv4, sizeof(c->sigv4), "aws:amz:%s:s3", conf->region);
	if (rc) {
		s3_client_close(c);
		return -1;
	}
	*out = c;
	return 0;
}

void s3_client_close(struct s3_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	if (c->secret) {
		explicit_bzero(c->secret, strlen(c->secret));
		free(c->secret);
	}
	free(c->id);
	free(c);
}

size_t s3_client_retries(const struct s3_client *c)
{
	return c->retries;
}

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
	struct sy_buf *b = arg;

	if (b->len + size * n > RESPONSE_MAX)
		return 0;
	sy_buf_add(b, data, size * n);
	return size * n;
}

static int on_seek(void *arg, curl_off_t offset, int origin)
{
	return fseeko(arg, (off_t)offset, origin) == 0 ? CURL_SEEKFUNC_OK : CURL_SEEKFUNC_FAIL;
}

/* What a message names: "PUT s3://<bucket>/<key>", "list s3://<bucket>/<prefix>". */
static char *object_name(const struct s3_client *c, const struct call *k)
{
	if (k->prefix)
		return sy_xasprintf("list s3://%s/%s", c->conf->bucket, k->prefix);
	return sy_xasprintf("%s s3://%s/%s", k->method, c->conf->bucket, k->key ? k->key : "");
}

/* Sets up one try of k on c's handle. */
static void setup(struct s3_client *c, struct call *k, const char *url)
{
	CURL *h = c->curl;

	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_AWS_SIGV4, c->sigv4);
	curl_easy_setopt(h, CURLOPT_USERNAME, c->id);
	curl_easy_setopt(h, CURLOPT_PASSWORD, c->secret);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, k->headers);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "shipyard");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &k->response);
	if (k->body) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READDATA, k->body);
		curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(h, CURLOPT_SEEKDATA, k->body);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)k->size);
	}
}

/* Transfer errors worth another try: the network or the server went away
 * or stalled; not a bad URL, protocol or certificate. */
static int transient(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
		return 1;
	default:
		return 0;
	}
}

static xmlDoc *parse_xml(const void *data, size_t len)
{
	if (len == 0 || len > RESPONSE_MAX)
		return NULL;
	return xmlReadMemory(data, (int)len, "s3.xml", NULL,
			     XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

/* The text of the child element of parent named name, newly allocated, or
 * NULL. */
static char *child_text(xmlNode *parent, const char *name)
{
	for (xmlNode *n = parent ? parent->children : NULL; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name)) {
			xmlChar *t = xmlNodeGetContent(n);
			char *s = sy_xstrdup(t ? (const char *)t : "");
			xmlFree(t);
			return s;
		}
	return NULL;
}

/* Sets err for a request that ended with HTTP status: the object, the
 * status, S3's error code and message when the body is an error document. */
static int http_error(const struct s3_client *c, struct call *k, const char *tail,
		      struct sy_error *err)
{
	xmlDoc *doc = parse_xml(k->response.data, k->response.len);
	xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
	char *code = NULL, *message = NULL, *name = object_name(c, k);

	if (root && !strcmp((const char *)root->name, "Error")) {
		code = child_text(root, "Code");
		message = child_text(root, "Message");
	}
	sy_error_set(err, "%s: HTTP %ld%s%s%s%s%s", name, k->status,
		     code ? " " : "", code ? code : "", message && message[0] ? ": " : "",
		     message ? message : "", tail);
	free(code);
	free(message);
	free(name);
	xmlFreeDoc(doc);
	return -1;
}

/* Sets err for k, which ended with rc or (rc CURLE_OK) an HTTP status
 * other than 2xx, after tries tries (0: it was not tried again). */
static void failed(const struct s3_client *c, struct call *k, CURLcode rc, unsigned tries,
		   struct sy_error *err)
{
	char tail[64] = "";

	if (tries)
		snprintf(tail, sizeof(tail), " after %u tries", tries);
	if (k->status) {
		http_error(c, k, tail, err);
	} else {
		char *name = object_name(c, k);
		sy_error_set(err, "%s: %s%s", name, curl_easy_strerror(rc), tail);
		free(name);
	}
}

static void backoff(const struct s3_client *c, unsigned attempt)
{
	unsigned ms = c->conf->backoff_ms;

	for (unsigned i = 0; i < attempt && ms < BACKOFF_MAX_MS; i++)
		ms *= 2;
	if (ms > BACKOFF_MAX_MS)
		ms = BACKOFF_MAX_MS;
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Runs k, trying again after a transient transfer error, HTTP 5xx or 429.
 * Returns 0 on a 2xx answer (its body in k->response), else -1 with err. */
static int perform(struct s3_client *c, struct call *k, struct sy_error *err)
{
	char *path = s3_encode_path(k->key ? k->key : "");
	char *url = sy_xasprintf("%s/%s%s%s%s%s", c->conf->endpoint, c->conf->bucket,
				 k->key ? "/" : "", path, k->query ? "?" : "",
				 k->query ? k->query : "");
	unsigned tries = c->conf->retries + 1, attempt;
	CURLcode rc = CURLE_OK;
	int result = -1;

	free(path);
	for (attempt = 0; attempt < tries; attempt++) {
		if (attempt) {
			c->retries++;
			backoff(c, attempt - 1);
		}
		sy_buf_release(&k->response);
		k->status = 0;
		if (k->body && fseeko(k->body, 0, SEEK_SET) < 0) {
			rc = CURLE_READ_ERROR;
			break;
		}
		setup(c, k, url);
		rc = curl_easy_perform(c->curl);
		if (rc != CURLE_OK) {
			if (!transient(rc))
				break;
			continue;
		}
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &k->status);
		if (k->status >= 200 && k->status < 300) {
			result = 0;
			break;
		}
		if (k->status < 500 && k->status != 429)
			break;
	}
	if (result)
		failed(c, k, rc, attempt == tries ? tries : 0, err);
	free(url);
	return result;
}

static void call_release(struct call *k)
{
	curl_slist_free_all(k->headers);
	sy_buf_release(&k->response);
}

/* One page: appends to list. */
static int list_page(struct s3_client *c, const char *prefix, struct repo_s3_listing *list,
		     struct sy_error *err)
{
	char *enc_prefix = encode(prefix, 0), *enc_token = list->next ? encode(list->next, 0) : NULL;
	char *query = enc_token ? sy_xasprintf("continuation-token=%s&list-type=2&prefix=%s",
					       enc_token, enc_prefix)
				: sy_xasprintf("list-type=2&prefix=%s", enc_prefix);
	struct call k = { .method = "GET", .prefix = prefix, .query = query };
	int rc;

	k.headers = curl_slist_append(NULL, "x-amz-content-sha256: " EMPTY_SHA256);
	rc = perform(c, &k, err);
	if (rc == 0 && repo_s3_listing_parse((const char *)k.response.data, k.response.len, list,
					     err)) {
		char *name = object_name(c, &k);
		rc = sy_error_prefix(err, "%s", name);
		free(name);
	}
	call_release(&k);
	free(query);
	free(enc_prefix);
	free(enc_token);
	return rc;
}

int s3_list(struct s3_client *c, const char *prefix, struct repo_s3_listing *list,
	    struct sy_error *err)
{
	/* A server that keeps saying "more" with the same token would loop. */
	for (size_t pages = 0; pages < 100000; pages++) {
		if (list_page(c, prefix, list, err))
			return -1;
		if (!list->truncated)
			return 0;
	}
	return sy_error_set(err, "listing s3://%s/%s: more than 100000 pages", c->conf->bucket,
			    prefix);
}

int s3_digest_file(const char *path, struct s3_digests *d, struct sy_error *err)
{
	static const char hex[] = "0123456789abcdef";
	FILE *f = fopen(path, "rbe");
	struct sy_sha256 *sha;
	EVP_MD_CTX *md5;
	unsigned char block[1 << 16];
	size_t n;
	int rc = 0;

	memset(d, 0, sizeof(*d));
	if (!f)
		return sy_error_set(err, "%s: %s", path, strerror(errno));
	sha = sy_sha256_new();
	md5 = EVP_MD_CTX_new();
	if (!md5 || !EVP_DigestInit_ex(md5, EVP_md5(), NULL))
		rc = sy_error_set(err, "%s: MD5 is not available (OpenSSL)", path);
	while (rc == 0 && (n = fread(block, 1, sizeof(block), f)) > 0) {
		sy_sha256_update(sha, block, n);
		EVP_DigestUpdate(md5, block, n);
		d->size += n;
	}
	if (rc == 0 && ferror(f))
		rc = sy_error_set(err, "%s: cannot read: %s", path, strerror(errno));
	if (rc == 0 && EVP_DigestFinal_ex(md5, d->md5_raw, NULL)) {
		for (int i = 0; i < 16; i++) {
			d->md5[2 * i] = hex[d->md5_raw[i] >> 4];
			d->md5[2 * i + 1] = hex[d->md5_raw[i] & 15];
		}
	}
	sy_sha256_final(sha, d->sha256);
	EVP_MD_CTX_free(md5);
	fclose(f);
	return rc;
}

/* What the object is, by its name: clients and browsers reading the bucket
 * over HTTP see the type a web server would give. */
static const char *content_type(const char *key)
{
	static const struct {
		const char *suffix, *type;
	} types[] = {
		{ ".rpm", "application/x-rpm" },   { ".xml", "application/xml" },
		{ ".gz", "application/gzip" },      { ".zst", "application/zstd" },
		{ ".xz", "application/x-xz" },      { ".bz2", "application/x-bzip2" },
		{ ".asc", "text/plain" },           { ".json", "application/json" },
		{ ".sqlite", "application/vnd.sqlite3" },
	};
	size_t n = strlen(key);

	for (size_t i = 0; i < LEN(types); i++) {
		size_t m = strlen(types[i].suffix);
		if (n > m && !strcmp(key + n - m, types[i].suffix))
			return types[i].type;
	}
	return strstr(sy_base_name(key), "GPG-KEY") ? "text/plain" : "application/octet-stream";
}

int s3_put_file(struct s3_client *c, const char *path, const char *key,
		const struct s3_digests *d, struct sy_error *err)
{
	struct call k = { .method = "PUT", .key = key, .size = d->size };
	unsigned char b64[32];
	struct stat st;
	char *h;
	int rc = -1;

	k.body = fopen(path, "rbe");
	if (!k.body)
		return sy_error_set(err, "%s: %s", path, strerror(errno));
	if (fstat(fileno(k.body), &st) < 0 || (uint64_t)st.st_size != d->size) {
		fclose(k.body);
		return sy_error_set(err, "%s: changed while it was uploaded", path);
	}
	EVP_EncodeBlock(b64, d->md5_raw, 16);
	h = sy_xasprintf("Content-MD5: %s", b64);
	k.headers = curl_slist_append(k.headers, h);
	free(h);
	h = sy_xasprintf("Content-Type: %s", content_type(key));
	k.headers = curl_slist_append(k.headers, h);
	free(h);
	h = sy_xasprintf("x-amz-content-sha256: %s", d->sha256);
	k.headers = curl_slist_append(k.headers, h);
	free(h);
	rc = perform(c, &k, err);
	fclose(k.body);
	call_release(&k);
	return rc;
}

/* Listing pages. */

static int add_remote(struct repo_s3_listing *list, xmlNode *contents, struct sy_error *err)
{
	char *key = child_text(contents, "Key"), *etag = child_text(contents, "ETag");
	char *size = child_text(contents, "Size"), *end = NULL;
	struct repo_s3_remote *r;
	unsigned long long n = 0;
	int rc = 0;

	if (!key)
		rc = sy_error_set(err, "ListObjectsV2 response: Contents without a Key");
	else if (size && (errno = 0, n = strtoull(size, &end, 10), !size[0] || *end || errno ||
			  size[0] == '-'))
		rc = sy_error_set(err, "ListObjectsV2 response: %s: Size '%.32s' is not a number",
				  key, size);
	if (rc == 0) {
		if (list->n == list->alloc) {
			list->alloc = list->alloc ? 2 * list->alloc : 256;
			list->items = sy_xrealloc(list->items, list->alloc * sizeof(*r));
		}
		r = &list->items[list->n++];
		r->key = key;
		key = NULL;
		r->size = n;
		/* "\"<md5>\"" as S3 sends it: kept without quotes (a stray
		 * one too, fuzz_s3list found), lower-case. */
		char *q = r->etag = sy_xstrdup(etag ? etag : "");
		for (const char *p = r->etag; *p; p++)
			if (*p != '"')
				*q++ = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;
		*q = '\0';
	}
	free(key);
	free(etag);
	free(size);
	return rc;
}

int repo_s3_listing_parse(const char *xml, size_t len, struct repo_s3_listing *list,
			  struct sy_error *err)
{
	xmlDoc *doc;
	xmlNode *root;
	int rc = 0;

	pthread_once(&init_once, init_libraries);
	doc = parse_xml(xml, len);
	root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (!root || strcmp((const char *)root->name, "ListBucketResult")) {
		xmlFreeDoc(doc);
		return sy_error_set(err, "ListObjectsV2 response: %s",
				    root ? "not a ListBucketResult" : "not XML");
	}
	for (xmlNode *n = root->children; rc == 0 && n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, "Contents"))
			rc = add_remote(list, n, err);
	if (rc == 0) {
		char *truncated = child_text(root, "IsTruncated");
		free(list->next);
		list->next = child_text(root, "NextContinuationToken");
		list->truncated = truncated && !strcmp(truncated, "true");
		free(truncated);
		if (list->truncated && (!list->next || !list->next[0]))
			rc = sy_error_set(err, "ListObjectsV2 response: IsTruncated without a "
					  "NextContinuationToken");
	}
	xmlFreeDoc(doc);
	return rc;
}

static int cmp_remote(const void *a, const void *b)
{
	return strcmp(((const struct repo_s3_remote *)a)->key,
		      ((const struct repo_s3_remote *)b)->key);
}

void repo_s3_listing_sort(struct repo_s3_listing *list)
{
	if (list->n)
		qsort(list->items, list->n, sizeof(*list->items), cmp_remote);
}

const struct repo_s3_remote *repo_s3_listing_find(const struct repo_s3_listing *list,
						  const char *key)
{
	struct repo_s3_remote probe = { .key = (char *)key };

	if (!list->n)
		return NULL;
	return bsearch(&probe, list->items, list->n, sizeof(*list->items), cmp_remote);
}

void repo_s3_listing_release(struct repo_s3_listing *list)
{
	for (size_t i = 0; i < list->n; i++) {
		free(list->items[i].key);
		free(list->items[i].etag);
	}
	free(list->items);
	free(list->next);
	memset(list, 0, sizeof(*list));
}
