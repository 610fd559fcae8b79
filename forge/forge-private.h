/* Shared between the files of the forge stage only (forge.c and
 * comment.c): the HTTP request every forge call makes. */
#ifndef FORGE_FORGE_PRIVATE_H
#define FORGE_FORGE_PRIVATE_H

#include "forge/forge.h"

/* The repository's API base: "{api}/repos/{owner}/{repo}" (GitHub),
 * "{api}/api/v1/repos/{owner}/{repo}" (Gitea) or "{api}/projects/{id or
 * encoded path}" (GitLab), owner and repo percent-encoded. Returns it
 * (caller frees), or NULL with err set for a malformed project or no API
 * URL. */
char *forge_repo_base(const struct forge *f, struct sy_error *err);

/* One HTTP request to f: method ("POST", "PATCH", "PUT", "GET") on url with
 * the JSON body (NULL: none), f's token and API headers, the timeouts and
 * answer classification of forge_send. Fills *out in every case; *answer
 * (when not NULL) gets the answer's first 64 KiB (malloc'ed, caller frees;
 * NULL when none). Returns 0 when accepted (2xx), else -1. */
int forge_http(const struct forge *f, const char *method, const char *url, const char *body,
	       struct forge_response *out, char **answer);

#endif
