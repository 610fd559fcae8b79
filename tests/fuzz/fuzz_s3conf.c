/* The [publish "s3"] section of the service configuration:
 * repo_s3_config_read (repo-publish/s3.h) on the input written to a file,
 * and repo_s3_credentials_parse on the same bytes as a credentials file.
 * Checks what the header promises of a configuration read (an http or
 * https endpoint without a trailing '/', a bucket, a prefix without '/' at
 * either end, a region, an absolute credentials path) and of credentials
 * (an id without ':' and a secret, neither with a control character). */
#define FUZZ_HOLD_LIBGIT2 /* fuzz.h */
#include "fuzz.h"

#include "repo-publish/s3.h"

static void check_conf(const struct repo_s3_config *c)
{
	size_t n = strlen(c->endpoint), p = strlen(c->prefix);

	if ((strncmp(c->endpoint, "http://", 7) && strncmp(c->endpoint, "https://", 8)) ||
	    c->endpoint[n - 1] == '/' || !c->bucket[0] || !c->region[0] ||
	    c->credentials[0] != '/' || (p && (c->prefix[0] == '/' || c->prefix[p - 1] == '/')))
		abort();
}

static void check_credentials(const uint8_t *data, size_t size)
{
	struct sy_error err = { { 0 } };
	char *id, *secret;

	if (repo_s3_credentials_parse("credentials", (const char *)data, size, &id, &secret,
				      &err) == 0) {
		if (!id[0] || !secret[0] || strchr(id, ':'))
			abort();
		for (const char *c = secret; *c; c++)
			if ((unsigned char)*c < ' ')
				abort();
		free(id);
		free(secret);
	} else if (!err.msg[0] || id || secret) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct repo_s3_config conf;
	struct sy_error err = { { 0 } };
	char *path = fuzz_write_file("shipyard-serve.conf", data, size);
	int rc = repo_s3_config_read(path, &conf, &err);

	if (rc == 1)
		check_conf(&conf);
	else if (rc == 0 && conf.endpoint)
		abort();
	else if (rc < 0 && !err.msg[0])
		abort();
	repo_s3_config_release(&conf);
	check_credentials(data, size);
	free(path);
	return 0;
}
