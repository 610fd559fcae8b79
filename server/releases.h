/* The releases of the state directory over HTTP (state/release.h has the
 * record, pipeline/release.c the directory):
 *
 *   /releases/                     every release, newest first per
 *                                  repository: state, reason when skipped,
 *                                  commit, package and image counts
 *   /releases/<repo>/              the same for one repository
 *   /releases/<repo>/<name>/...    a directory of a release: its listing; a
 *                                  file: the file itself (a release's repo/
 *                                  is a repository dnf reads as baseurl)
 *   /api/releases                  the list as JSON
 *
 * Only GET and HEAD. A path with an empty, "." or ".." component or one
 * starting with '.' (a release being made) is refused with 404, and so is
 * one that resolves (symbolic links followed) outside <state>/releases. */
#ifndef SERVER_RELEASES_H
#define SERVER_RELEASES_H

#include <stdio.h>

#include <jansson.h>

#include "server/http.h"

/* The releases of state_dir (of the repository repo; NULL: every one),
 * newest first per repository: an array of {"repo", "release", "state",
 * "reason", "created", "commit", "channel", "snapshot", "pipeline",
 * "packages": count, "images": [{"config", "build", "files": count}],
 * "url": "/releases/<repo>/<name>/", "release_json": its URL, "sbom": the
 * SBOM's URL or null}. New reference; never NULL. */
json_t *server_releases_json(const char *state_dir, const char *repo);

/* Writes the HTML table of list (server_releases_json's): each release
 * linked to its directory, its state badge and, when skipped, why. */
void server_releases_table(FILE *out, const json_t *list);

/* Answers method on path (decoded, no query) when it is one of the routes
 * above: returns 1 with r filled (a page, JSON, or file_path of a file to
 * stream; 404 for what is not there or refused, 405 for another method),
 * 0 when path is not under /releases nor /api/releases (r untouched). Safe
 * to call from several threads at once. */
int server_releases_route(const char *state_dir, const char *method, const char *path,
			  struct server_http_response *r);

#endif
