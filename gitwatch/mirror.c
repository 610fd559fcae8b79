#include "gitwatch/mirror.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <git2.h>
#include <openssl/evp.h>

#include "common/fs.h"
#include "common/strv.h"

static int git_fail(struct sy_error *err, const char *url, const char *what)
{
	const git_error *e = git_error_last();

	return sy_error_set(err, "%s: %s: %s", url, what, e && e->message ? e->message : "failed");
}

static int open_or_init(const char *dir, git_repository **repo, struct sy_error *err)
{
	if (git_repository_open_bare(repo, dir) == 0)
		return 0;
	if (sy_mkdir_p(dir, 0755, err))
		return -1;
	if (git_repository_init(repo, dir, 1) < 0)
		return git_fail(err, dir, "init");
	return 0;
}

/* What the callbacks of one fetch share. */
struct auth {
	const struct gitwatch_credentials *creds; /* may be NULL */
	int tries;          /* credentials given so far */
	char msg[256];      /* why a callback failed, or "" */
};

/* A file's content without its trailing newline, or NULL. */
static char *read_token(const char *path)
{
	char *text = NULL;
	size_t len = 0;

	if (sy_read_file(path, &text, &len, NULL))
		return NULL;
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		text[--len] = '\0';
	return text;
}

/* libgit2's credential callback: the token over HTTP(S), the key over SSH,
 * each once (libgit2 asks again after a refusal, which would loop). */
static int acquire(git_credential **out, const char *url, const char *url_user,
		   unsigned int allowed, void *payload)
{
	struct auth *a = payload;
	const struct gitwatch_credentials *c = a->creds;
	int rc;

	(void)url;
	if (c && c->ssh_key && (allowed & GIT_CREDENTIAL_USERNAME))
		return git_credential_username_new(out, url_user ? url_user : "git");
	if (a->tries++ > 0) {
		snprintf(a->msg, sizeof(a->msg), "the remote refused the credentials of %s",
			 c && c->ssh_key ? "sshkey" : "gittokenfile");
		return GIT_EUSER;
	}
	if (c && c->ssh_key && (allowed & GIT_CREDENTIAL_SSH_KEY)) {
		char *pub = sy_xasprintf("%s.pub", c->ssh_key);
		rc = git_credential_ssh_key_new(out, url_user ? url_user : "git",
						access(pub, R_OK) == 0 ? pub : NULL, c->ssh_key, NULL);
		free(pub);
		return rc;
	}
	if (c && c->token_file && (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT)) {
		char *token = read_token(c->token_file);
		if (!token) {
			snprintf(a->msg, sizeof(a->msg), "gittokenfile: cannot read");
			return GIT_EUSER;
		}
		rc = git_credential_userpass_plaintext_new(out, c->user ? c->user : "x-access-token",
							   token);
		explicit_bzero(token, strlen(token));
		free(token);
		return rc;
	}
	snprintf(a->msg, sizeof(a->msg), "the remote asks for credentials and none are set "
		 "(gittokenfile for HTTPS, sshkey for SSH)");
	return GIT_EUSER;
}

/* SSH host keys are checked against the configured fingerprint (libgit2
 * 1.5 would accept any); TLS certificates are left to libgit2's checks. */
static int check_certificate(git_cert *cert, int valid, const char *host, void *payload)
{
	struct auth *a = payload;
	const char *want = a->creds ? a->creds->ssh_host_key : NULL;
	unsigned char b64[64];
	git_cert_hostkey *key = (git_cert_hostkey *)cert;

	(void)host;
	if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2)
		return valid ? 0 : GIT_PASSTHROUGH;
	if (!want) {
		snprintf(a->msg, sizeof(a->msg), "an SSH remote needs sshhostkey");
		return GIT_EUSER;
	}
	if (!(key->type & GIT_CERT_SSH_SHA256)) {
		snprintf(a->msg, sizeof(a->msg), "no SHA-256 fingerprint of the host key");
		return GIT_EUSER;
	}
	int n = EVP_EncodeBlock(b64, key->hash_sha256, sizeof(key->hash_sha256));
	while (n > 0 && b64[n - 1] == '=')
		b64[--n] = '\0';
	if (strncmp(want, "SHA256:", 7) || strcmp(want + 7, (char *)b64)) {
		snprintf(a->msg, sizeof(a->msg), "host key SHA256:%s is not sshhostkey", b64);
		return GIT_EUSER;
	}
	return 0;
}

static int fetch(git_repository *repo, const char *url, const char *const *refspecs,
		 const struct gitwatch_credentials *creds, struct sy_error *err)
{
	struct auth auth = { creds, 0, "" };
	static const char *const all[] = { "+refs/heads/*:refs/heads/*", NULL };
	const char *const *specs = refspecs ? refspecs : all;
	git_fetch_options opts = GIT_FETCH_OPTIONS_INIT;
	git_strarray arr;
	git_remote *remote;
	size_t n = 0;
	int rc;

	while (specs[n])
		n++;
	arr.strings = (char **)specs;
	arr.count = n;
	opts.prune = refspecs ? GIT_FETCH_NO_PRUNE : GIT_FETCH_PRUNE;
	opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	opts.callbacks.credentials = acquire;
	opts.callbacks.certificate_check = check_certificate;
	opts.callbacks.payload = &auth;
	if (git_remote_create_anonymous(&remote, repo, url) < 0)
		return git_fail(err, url, "remote");
	rc = git_remote_fetch(remote, &arr, &opts, "shipyard fetch");
	if (rc < 0 && auth.msg[0])
		rc = sy_error_set(err, "%s: fetch: %s", url, auth.msg);
	else if (rc < 0)
		rc = git_fail(err, url, "fetch");
	git_remote_free(remote);
	return rc;
}

int gitwatch_mirror_update(const char *url, const char *dir, const char *const *refspecs,
			   struct sy_error *err)
{
	return gitwatch_mirror_update_with(url, dir, refspecs, NULL, err);
}

int gitwatch_mirror_update_with(const char *url, const char *dir, const char *const *refspecs,
				const struct gitwatch_credentials *creds, struct sy_error *err)
{
	char *lock_path = sy_xasprintf("%s.lock", dir);
	int lock, rc = -1;
	git_repository *repo = NULL;

	char *parent = sy_xstrdup(dir), *slash = strrchr(parent, '/');

	if (slash && slash != parent)
		*slash = '\0';
	git_libgit2_init();
	if (slash && slash != parent && sy_mkdir_p(parent, 0755, err)) {
		free(parent);
		free(lock_path);
		git_libgit2_shutdown();
		return -1;
	}
	free(parent);
	lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lock < 0 || flock(lock, LOCK_EX) < 0) {
		sy_error_set(err, "%s: cannot lock", lock_path);
		goto out;
	}
	if (open_or_init(dir, &repo, err) == 0)
		rc = fetch(repo, url, refspecs, creds, err);
	git_repository_free(repo);
out:
	if (lock >= 0)
		close(lock);
	free(lock_path);
	git_libgit2_shutdown();
	return rc;
}

int gitwatch_mirror_branches(const char *dir, struct sy_strv *names, struct sy_strv *heads,
			     struct sy_error *err)
{
	git_repository *repo = NULL;
	git_branch_iterator *it = NULL;
	git_reference *ref;
	git_branch_t type;
	int rc = 0;

	git_libgit2_init();
	if (git_repository_open_bare(&repo, dir) < 0 ||
	    git_branch_iterator_new(&it, repo, GIT_BRANCH_LOCAL) < 0) {
		rc = git_fail(err, dir, "branches");
		goto out;
	}
	while (git_branch_next(&ref, &type, it) == 0) {
		const char *name = NULL;
		git_reference *resolved = NULL;
		if (git_branch_name(&name, ref) == 0 && git_reference_resolve(&resolved, ref) == 0 &&
		    git_reference_target(resolved)) {
			char hex[GIT_OID_HEXSZ + 1];
			git_oid_tostr(hex, sizeof(hex), git_reference_target(resolved));
			sy_strv_push(names, name);
			sy_strv_push(heads, hex);
		}
		git_reference_free(resolved);
		git_reference_free(ref);
	}
out:
	git_branch_iterator_free(it);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return rc;
}
