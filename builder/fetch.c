#include "builder/fetch.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/hash.h"
#include "common/strv.h"
#include "planner/distro.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_curl(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int builder_fetch_name_ok(const char *s)
{
	if (!*s || !strcmp(s, ".") || !strcmp(s, ".."))
		return 0;
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '/' || *c == '\\')
			return 0;
	return 1;
}

/* Appends value percent-encoded to url. */
static void append_escaped(struct sy_strv *url, const char *value)
{
	char *escaped;

	pthread_once(&init_once, init_curl);
	escaped = curl_easy_escape(NULL, value, 0);
	if (!escaped) {
		fprintf(stderr, "shipyard: out of memory escaping a URL\n");
		abort();
	}
	sy_strv_push(url, escaped);
	curl_free(escaped);
}

/* Appends the value of field to url; -1 with err when ref has none fit. */
static int append_field(struct sy_strv *url, int field, const struct builder_source_ref *ref,
			struct sy_error *err)
{
	char sha[SY_SHA256_HEX_LEN + 1];

	switch (field) {
	case PLANNER_SOURCE_NAME:
	case PLANNER_SOURCE_FILE: {
		const char *value = field == PLANNER_SOURCE_NAME ? ref->name : ref->file;
		const char *what = field == PLANNER_SOURCE_NAME ? "name" : "file";
		if (!value)
			return sy_error_set(err, "%%{%s}: not known", what);
		if (!builder_fetch_name_ok(value))
			return sy_error_set(err, "%%{%s} '%s': not a name a URL may carry", what,
					    value);
		append_escaped(url, value);
		return 0;
	}
	case PLANNER_SOURCE_SHA256:
		if (!ref->sha256)
			return sy_error_set(err, "%%{sha256}: no SHA-256 in the signatures file");
		if (strlen(ref->sha256) != SY_SHA256_HEX_LEN ||
		    strspn(ref->sha256, "0123456789abcdefABCDEF") != SY_SHA256_HEX_LEN)
			return sy_error_set(err, "%%{sha256} '%s': not a SHA-256", ref->sha256);
		for (size_t i = 0; i <= SY_SHA256_HEX_LEN; i++)
			sha[i] = (char)tolower((unsigned char)ref->sha256[i]);
		sy_strv_push(url, sha);
		return 0;
	}
	return sy_error_set(err, "unknown placeholder");
}

char *builder_fetch_source_url(const char *template, const struct builder_source_ref *ref,
			       struct sy_error *err)
{
	struct sy_strv url = SY_STRV_INIT;
	const char *c = template, *next;
	char *joined = NULL;
	size_t len;

	while ((next = strstr(c, "%{"))) {
		int field = planner_source_placeholder(next, &len);
		sy_strv_push_owned(&url, sy_xstrndup(c, (size_t)(next - c)));
		if (field < 0) {
			sy_error_set(err, "unknown placeholder %.*s", (int)len, next);
			goto out;
		}
		if (append_field(&url, field, ref, err))
			goto out;
		c = next + len;
	}
	sy_strv_push(&url, c);
	joined = sy_strv_join(&url, "");
out:
	sy_strv_release(&url);
	return joined;
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
