/* Downloading one file with libcurl: source tarballs from a distribution's
 * source server (the Azure Linux toolkit's SOURCE_URL). */
#ifndef BUILDER_FETCH_H
#define BUILDER_FETCH_H

#include "common/error.h"

/* Downloads url (http, https or file) to dest: written to "<dest>.part-<pid>"
 * and renamed, so dest is never half-written. Up to attempts tries (at least
 * one) while the failure is transient (connection, timeout, HTTP 5xx or 429),
 * waiting 1 s, 2 s, ... between them, as the toolkit's
 * retry.RunWithLinearBackoff; HTTP 4xx other than 429 fails at once.
 * Redirects are followed; a transfer slower than 1 KiB/s for 60 s is
 * abandoned. Returns 0, or -1 with err ("<url>: HTTP 404", "<url>: Couldn't
 * connect to server (3 attempts)"). */
int builder_fetch(const char *url, const char *dest, int attempts, struct sy_error *err);

/* Returns "<base>/<name>" with name percent-encoded (every byte but
 * [A-Za-z0-9._~-]; RFC 3986 unreserved characters, libcurl's
 * curl_easy_escape), so that a name holding "%2F" or "?" names that file and
 * nothing else once the server (or libcurl, for file://) decodes it. Newly
 * allocated (caller frees). */
char *builder_fetch_url(const char *base, const char *name);

#endif
