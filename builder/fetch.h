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

/* What the placeholders of a source URL template stand for
 * (planner_source_url_parse, planner/distro.h). Nothing is owned. */
struct builder_source_ref {
	const char *name;   /* %{name}: the spec's source package Name */
	const char *file;   /* %{file}: the Source's basename */
	const char *sha256; /* %{sha256}: its SHA-256 (hex) in the signatures
			     * file, or NULL when it has none */
};

/* Returns 1 when s can name a file in a directory and one segment of a URL
 * path once percent-encoded: not empty, "." or "..", and without '/', '\'
 * or a control character (a name also ends up in paths and log lines);
 * else 0. Source names and spec names come from a spec: an attacker's
 * input (docs/security.md). */
int builder_fetch_name_ok(const char *s);

/* Expands template, replacing each placeholder by its value from ref
 * percent-encoded (every byte but [A-Za-z0-9._~-], RFC 3986's unreserved
 * characters, libcurl's curl_easy_escape), so that a name holding "%2F" or
 * "?" names that file and nothing else once the server (or libcurl, for
 * file://) decodes it; a SHA-256 is written in lowercase. Returns the URL,
 * newly allocated (caller frees), or NULL with err when a value the
 * template needs is missing or refused ("%{sha256}: no SHA-256 in the
 * signatures file", "%{name} '..': not a name a URL may carry") or the
 * template names an unknown placeholder. */
char *builder_fetch_source_url(const char *template, const struct builder_source_ref *ref,
			       struct sy_error *err);

#endif
