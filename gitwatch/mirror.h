/* Local mirrors of the repositories the service watches: a bare repository
 * per remote under the state directory, updated with libgit2 fetches (for
 * webhooks and for polling). */
#ifndef GITWATCH_MIRROR_H
#define GITWATCH_MIRROR_H

#include "common/error.h"

/* Makes dir a bare mirror of url (created when missing) and fetches the
 * given refspecs (NULL-terminated, e.g. "+refs/pull/7/head:refs/pull/7/head";
 * NULL: every branch, "+refs/heads/<all>:refs/heads/<all>") from it with libgit2, pruning
 * branches the remote deleted when every branch is fetched. url may be
 * file://, a local path, http(s):// or ssh as libgit2 supports. Concurrent
 * callers on one dir are serialised with an flock on "<dir>.lock". Returns
 * 0, or -1 with err ("<url>: fetch: <libgit2 message>"). */
int gitwatch_mirror_update(const char *url, const char *dir, const char *const *refspecs,
			   struct sy_error *err);

/* Lists the local branches of the repository at dir with their tip
 * commits: names[i] ("main") and heads[i] (40 hex), both malloc'ed arrays of
 * malloc'ed strings (free with sy_strv_release). Returns 0 or -1. */
struct sy_strv;
int gitwatch_mirror_branches(const char *dir, struct sy_strv *names, struct sy_strv *heads,
			     struct sy_error *err);

#endif
