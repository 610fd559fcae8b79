/* Local mirrors of the repositories the service watches: a bare repository
 * per remote under the state directory, updated with libgit2 fetches (for
 * webhooks and for polling). */
#ifndef GITWATCH_MIRROR_H
#define GITWATCH_MIRROR_H

#include "common/error.h"

/* How the service authenticates to a private remote (shipyard-serve.conf
 * repo.<name>.gittokenfile, gituser, sshkey, sshhostkey). Zero-initialise;
 * every field may be NULL. Files are read when libgit2 asks for
 * credentials (its credential callback), their content goes to libgit2
 * alone, is cleared from memory after and never appears in a message. */
struct gitwatch_credentials {
	const char *user;         /* HTTPS user name sent with the token;
				   * NULL: "x-access-token" (GitHub's; GitLab
				   * and Gitea take any name with a token) */
	const char *token_file;   /* HTTPS: file holding the password or
				   * access token (a trailing newline is
				   * dropped) */
	const char *ssh_key;      /* SSH: private key file (no passphrase);
				   * "<ssh_key>.pub" is given too when it exists */
	const char *ssh_host_key; /* SSH: "SHA256:<base64>" fingerprint of the
				   * server's host key (what ssh-keygen -lf
				   * prints); a server whose key differs is
				   * refused. Required with ssh_key. */
};

/* Makes dir a bare mirror of url (created when missing) and fetches the
 * given refspecs (NULL-terminated, e.g. "+refs/pull/7/head:refs/pull/7/head";
 * NULL: every branch, "+refs/heads/<all>:refs/heads/<all>") from it with libgit2, pruning
 * branches the remote deleted when every branch is fetched. url may be
 * file://, a local path, http(s):// or ssh as libgit2 supports. Concurrent
 * callers on one dir are serialised with an flock on "<dir>.lock". Returns
 * 0, or -1 with err ("<url>: fetch: <libgit2 message>"). */
int gitwatch_mirror_update(const char *url, const char *dir, const char *const *refspecs,
			   struct sy_error *err);

/* gitwatch_mirror_update, authenticating with creds (NULL: none) when the
 * remote asks: a token over HTTPS (or HTTP, for a local test server), a key
 * over SSH (user name from the URL, else "git"). Credentials are offered
 * once: a remote that refuses them fails the fetch ("<url>: fetch: the
 * remote refused the credentials of gittokenfile"); so does an SSH host
 * key other than creds->ssh_host_key ("<url>: fetch: host key SHA256:x is
 * not sshhostkey"). */
int gitwatch_mirror_update_with(const char *url, const char *dir, const char *const *refspecs,
				const struct gitwatch_credentials *creds, struct sy_error *err);

/* Lists the local branches of the repository at dir with their tip
 * commits: names[i] ("main") and heads[i] (40 hex), both malloc'ed arrays of
 * malloc'ed strings (free with sy_strv_release). Returns 0 or -1. */
struct sy_strv;
int gitwatch_mirror_branches(const char *dir, struct sy_strv *names, struct sy_strv *heads,
			     struct sy_error *err);

#endif
