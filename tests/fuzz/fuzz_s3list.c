/* A bucket listing page: repo_s3_listing_parse (repo-publish/s3.h) on the
 * input, the bytes an S3-compatible server answers ListObjectsV2 with.
 * Parsed twice into one listing, as pages add up. Checks that every entry
 * has a key and an ETag without quotes or upper-case letters, that a
 * truncated page has a continuation token, that an error leaves a message,
 * and that each key is found again once the listing is sorted. */
#include "fuzz.h"

#include "repo-publish/s3.h"

static void check(const struct repo_s3_listing *list)
{
	for (size_t i = 0; i < list->n; i++) {
		const char *etag = list->items[i].etag;
		if (!list->items[i].key || !etag || strchr(etag, '"'))
			abort();
		for (const char *c = etag; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				abort();
	}
	if (list->truncated && (!list->next || !list->next[0]))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct repo_s3_listing list = { 0 };
	struct sy_error err = { { 0 } };

	for (int page = 0; page < 2; page++) {
		if (repo_s3_listing_parse((const char *)data, size, &list, &err) == 0)
			check(&list);
		else if (!err.msg[0])
			abort();
	}
	repo_s3_listing_sort(&list);
	for (size_t i = 0; i < list.n; i++) {
		const struct repo_s3_remote *r = repo_s3_listing_find(&list, list.items[i].key);
		if (!r || strcmp(r->key, list.items[i].key))
			abort();
	}
	repo_s3_listing_release(&list);
	return 0;
}
