#include "builder/fetch.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/strv.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_curl(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

char *builder_fetch_url(const char *base, const char *name)
{
	char *escaped, *url;

	pthread_once(&init_once, init_curl);
	escaped = curl_easy_escape(NULL, name, 0);
	if (!escaped) {
		fprintf(stderr, "shipyard: out of memory escaping a URL\n");
		abort();
	}
	url = sy_xasprintf("%s/%s", base, escaped);
	curl_free(escaped);
	return url;
}

/* One try. Returns 0, 1 for a transient failure, -1 for a final one. */
static int try_once(const char *url, const char *part, struct sy_error *err)
{
	CURL *c = curl_easy_init();
	FILE *f = fopen(part, "wb");
	long status = 0;
	CURLcode rc;
	int ret;

	if (!c || !f) {
		if (c)
			curl_easy_cleanup(c);
		if (f)
			fclose(f);
		return sy_error_set(err, "%s: %s", part, strerror(errno));
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (fclose(f) != 0 && rc == CURLE_OK)
		rc = CURLE_WRITE_ERROR;
	if (rc == CURLE_OK && status >= 400) {
		sy_error_set(err, "%s: HTTP %ld", url, status);
		ret = status >= 500 || status == 429 ? 1 : -1;
	} else if (rc != CURLE_OK) {
		sy_error_set(err, "%s: %s", url, curl_easy_strerror(rc));
		ret = rc == CURLE_FILE_COULDNT_READ_FILE || rc == CURLE_REMOTE_FILE_NOT_FOUND ||
				      rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT ||
				      rc == CURLE_WRITE_ERROR
			      ? -1
			      : 1;
	} else {
		ret = 0;
	}
	curl_easy_cleanup(c);
	return ret;
}

int builder_fetch(const char *url, const char *dest, int attempts, struct sy_error *err)
{
	char *part = sy_xasprintf("%s.part-%ld", dest, (long)getpid());
	int rc = 1, tries = 0;

	pthread_once(&init_once, init_curl);
	if (attempts < 1)
		attempts = 1;
	while (rc == 1 && tries < attempts) {
		if (tries)
			sleep((unsigned)tries);
		tries++;
		rc = try_once(url, part, err);
	}
	if (rc == 0 && rename(part, dest) < 0)
		rc = sy_error_set(err, "%s: %s", dest, strerror(errno));
	if (rc != 0) {
		unlink(part);
		if (err && tries > 1) {
			char *msg = sy_xasprintf("%s (%d attempts)", err->msg, tries);
			sy_error_set(err, "%s", msg);
			free(msg);
		}
	}
	free(part);
	return rc ? -1 : 0;
}
