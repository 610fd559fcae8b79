#define _GNU_SOURCE
#include "repo-publish/sign.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/child.h"
#include "common/fs.h"
#include "common/hash.h"
#include "common/util.h"
#include "state/kv.h"
#include "state/layout.h"

/* Deadlines in seconds: one gpg operation, one rpmsign of a batch. */
#define SIGN_GPG_TIMEOUT_S 120
#define SIGN_RPMSIGN_TIMEOUT_S 1800

/* Packages per rpmsign run: keeps its command line far below ARG_MAX. */
#define SIGN_BATCH 128

/* The key/value namespace of remembered file digests (state/kv.h). */
#define SIGN_DIGEST_NS "file-sha256-v1"

/* What the children may find: no user's configuration, no agent of the
 * caller's. */
#define SIGN_PATH "PATH=/usr/local/bin:/usr/bin:/bin"

struct repo_signer {
	char *key_file;    /* as configured */
	char *home;        /* private GNUPGHOME, mode 0700; NULL once removed */
	char *gpg;         /* absolute path of gpg (rpmsign's %__gpg) */
	char *fingerprint; /* of the primary key, upper-case hex */
	char *public_key;  /* armored public key */
	char *env[5];      /* the children's environment, NULL-terminated */
};

/* One package still to sign: where it comes from and its SHA-256. */
struct unsigned_pkg {
	const char *src;
	char digest[SY_SHA256_HEX_LEN + 1];
	char *copy; /* its copy being signed, in the batch directory */
};

/* Bytes of a tool's output read to find why it failed. */
#define SIGN_OUTPUT_MAX (1 << 20)

/* The line of what fd (a memfd written from its start) that says why a
 * tool failed, newly allocated: the first of gpg's or rpm's messages
 * ("gpg: no valid OpenPGP data found.", "error: ..."; gpg's statistics and
 * warnings follow them), else the last line; "" when there is none. */
static char *reason_line(int fd)
{
	off_t size = lseek(fd, 0, SEEK_END);
	size_t cap = size > 0 && size < SIGN_OUTPUT_MAX ? (size_t)size : SIGN_OUTPUT_MAX;
	char *buf = sy_xmalloc(cap + 1), *found = NULL, *last = NULL;
	ssize_t n = pread(fd, buf, cap, 0);

	buf[n > 0 ? n : 0] = '\0';
	for (char *save = NULL, *tok = strtok_r(buf, "\n", &save); tok && !found;
	     tok = strtok_r(NULL, "\n", &save)) {
		if (!tok[strspn(tok, " \t\r")])
			continue;
		if ((!strncmp(tok, "gpg: ", 5) && strncmp(tok, "gpg: WARNING", 12)) ||
		    !strncmp(tok, "error: ", 7))
			found = tok;
		last = tok;
	}
	found = sy_xstrdup(found ? found : last ? last : "");
	free(buf);
	return found;
}

/* Runs argv with s's environment. With out, its stdout is collected there
 * (caller frees); its stderr (and stdout without out) goes to a memfd that
 * says why it failed. Returns 0 when it exited with status 0, else -1 with
 * err: the tool's reason_line, or "<argv[0]> exited with status N". */
static int run_tool(const struct repo_signer *s, const char *const *argv, unsigned timeout_s,
		    char **out, struct sy_error *err)
{
	struct sy_child c = SY_CHILD_INIT;
	int log = memfd_create("shipyard-sign", MFD_CLOEXEC), rc = 0;

	if (out)
		*out = NULL;
	if (log < 0)
		return sy_error_set(err, "memfd_create: %s", strerror(errno));
	c.argv = argv;
	c.env = (const char *const *)s->env;
	c.log_fd = log;
	c.capture = out != NULL;
	c.close_fds = 1;
	c.timeout_s = timeout_s;
	if (sy_child_run(&c, err)) {
		rc = -1;
	} else if (c.timed_out) {
		rc = sy_error_set(err, "%s: timed out after %u s", argv[0], timeout_s);
	} else if (c.status) {
		char *line = reason_line(log);
		rc = line[0] ? sy_error_set(err, "%s", line)
			     : sy_error_set(err, "%s exited with status %d", argv[0], c.status);
		free(line);
	} else if (out) {
		*out = c.out;
		c.out = NULL;
	}
	sy_child_release(&c);
	close(log);
	return rc;
}

/* The absolute path of program in SIGN_PATH, or NULL. */
static char *find_program(const char *program)
{
	char *dirs = sy_xstrdup(SIGN_PATH + strlen("PATH=")), *found = NULL;

	for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d && !found;
	     d = strtok_r(NULL, ":", &save)) {
		char *path = sy_xasprintf("%s/%s", d, program);
		if (access(path, X_OK) == 0)
			found = path;
		else
			free(path);
	}
	free(dirs);
	return found;
}

/* Refuses a key file that cannot be read, is not a regular file, or lies
 * inside the state directory (served under /repos/, read by pipelines). */
static int check_key_file(const char *key_file, const char *state, struct sy_error *err)
{
	char real[PATH_MAX], state_real[PATH_MAX];
	struct stat st;
	int fd = open(key_file, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return sy_error_set(err, "cannot read: %s", strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return sy_error_set(err, "not a regular file");
	}
	close(fd);
	if (state && realpath(key_file, real) && realpath(state, state_real)) {
		size_t n = strlen(state_real);
		if (!strncmp(real, state_real, n) && real[n] == '/')
			return sy_error_set(err, "inside the state directory %s: keep it where "
					    "neither the repositories nor pipelines reach", state_real);
	}
	return 0;
}

/* Makes the private GNUPGHOME and the children's environment. */
static int make_home(struct repo_signer *s, struct sy_error *err)
{
	/* mkdtemp(3) makes it mode 0700. */
	s->home = sy_mkdtemp(sy_tmp_dir(), "shipyard-gpg-", err);
	if (!s->home)
		return -1;
	s->env[0] = sy_xstrdup(SIGN_PATH);
	s->env[1] = sy_xasprintf("GNUPGHOME=%s", s->home);
	/* rpm reads ~/.rpmmacros: none of a user's. */
	s->env[2] = sy_xasprintf("HOME=%s", s->home);
	s->env[3] = sy_xstrdup("LC_ALL=C");
	s->gpg = find_program("gpg");
	if (!s->gpg)
		return sy_error_set(err, "gpg not found (Debian package gpg)");
	return 0;
}

/* Imports the key and reads the fingerprint of its one primary secret key. */
static int import_key(struct repo_signer *s, struct sy_error *err)
{
	const char *import[] = { s->gpg, "--quiet", "--batch", "--no-tty", "--homedir", s->home,
				 "--import", s->key_file, NULL };
	const char *list[] = { s->gpg, "--quiet", "--batch", "--no-tty", "--homedir", s->home,
			       "--with-colons", "--list-secret-keys", NULL };
	char *colons = NULL;
	int secret = 0, rc;

	if (run_tool(s, import, SIGN_GPG_TIMEOUT_S, NULL, err))
		return sy_error_prefix(err, "not an OpenPGP secret key");
	if (run_tool(s, list, SIGN_GPG_TIMEOUT_S, &colons, err))
		return -1;
	/* "sec:..." starts a primary secret key, the next "fpr:" line holds
	 * its fingerprint in field 10. */
	for (char *save = NULL, *line = strtok_r(colons, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "sec:", 4)) {
			secret++;
		} else if (!strncmp(line, "fpr:", 4) && secret == 1 && !s->fingerprint) {
			char *f = line;
			for (int i = 0; i < 9 && f; i++)
				f = strchr(f, ':') ? strchr(f, ':') + 1 : NULL;
			if (f && strchr(f, ':'))
				s->fingerprint = sy_xstrndup(f, (size_t)(strchr(f, ':') - f));
		}
	}
	free(colons);
	if (secret == 0)
		rc = sy_error_set(err, "it holds no secret key (a public key only?)");
	else if (secret > 1)
		rc = sy_error_set(err, "it holds %d secret keys: export the signing key alone", secret);
	else if (!s->fingerprint || strspn(s->fingerprint, "0123456789ABCDEF") != strlen(s->fingerprint))
		rc = sy_error_set(err, "gpg gave no fingerprint for its secret key");
	else
		rc = 0;
	return rc;
}

/* Writes the detached armored signature of file to asc with the key. */
static int detach_sign(const struct repo_signer *s, const char *file, const char *asc,
		       struct sy_error *err)
{
	const char *argv[] = { s->gpg, "--quiet", "--batch", "--no-tty", "--yes", "--homedir", s->home,
			       "--pinentry-mode", "error", "--local-user", s->fingerprint,
			       "--armor", "--detach-sign", "--output", asc, "--", file, NULL };

	return run_tool(s, argv, SIGN_GPG_TIMEOUT_S, NULL, err);
}

/* Exports the public key and signs a probe, so that a key that cannot sign
 * (a passphrase, expired, revoked, no signing capability) fails now. */
static int check_signing(struct repo_signer *s, struct sy_error *err)
{
	const char *export[] = { s->gpg, "--quiet", "--batch", "--no-tty", "--homedir", s->home, "--armor",
				 "--export", s->fingerprint, NULL };
	char *probe = sy_xasprintf("%s/probe", s->home);
	char *asc = sy_xasprintf("%s/probe.asc", s->home);
	int rc = run_tool(s, export, SIGN_GPG_TIMEOUT_S, &s->public_key, err);

	if (rc == 0 && !strstr(s->public_key, "BEGIN PGP PUBLIC KEY BLOCK"))
		rc = sy_error_set(err, "gpg exported no public key for %s", s->fingerprint);
	if (rc == 0)
		rc = sy_write_file(probe, "shipyard\n", 9, 0600, err);
	if (rc == 0 && detach_sign(s, probe, asc, err))
		rc = err && (strstr(err->msg, "pinentry") || strstr(err->msg, "passphrase"))
			     ? sy_error_prefix(err, "cannot sign: the key has a passphrase (export "
					       "one without)")
			     : sy_error_prefix(err, "cannot sign");
	free(probe);
	free(asc);
	return rc;
}

int repo_signer_open(const char *key_file, const char *state, struct repo_signer **out,
		     struct sy_error *err)
{
	struct repo_signer *s = sy_xcalloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	s->key_file = sy_xstrdup(key_file);
	rc = check_key_file(key_file, state, err) || make_home(s, err) || import_key(s, err) ||
	     check_signing(s, err);
	if (rc) {
		sy_error_prefix(err, "signing key %s", key_file);
		repo_signer_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

const char *repo_signer_fingerprint(const struct repo_signer *s)
{
	return s->fingerprint;
}

/* The SHA-256 of path, remembered in the state database under the file's
 * identity: its device, inode, size, mtime and ctime (the kernel sets ctime
 * on every change, so a changed file is never looked up under its old
 * digest). */
static int file_digest(const char *db, const char *path, char out[SY_SHA256_HEX_LEN + 1],
		       struct sy_error *err)
{
	struct stat st;
	char *key, *data = NULL;
	size_t len = 0;
	int rc = 0;

	if (stat(path, &st) < 0)
		return sy_error_set(err, "%s: %s", path, strerror(errno));
	key = sy_xasprintf("%lu:%lu:%lld:%lld.%09ld:%lld.%09ld", (unsigned long)st.st_dev,
			   (unsigned long)st.st_ino, (long long)st.st_size,
			   (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
			   (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
	if (state_kv_get(db, SIGN_DIGEST_NS, key, &data, &len, NULL) == 1 &&
	    len == SY_SHA256_HEX_LEN) {
		memcpy(out, data, SY_SHA256_HEX_LEN + 1);
	} else {
		rc = sy_sha256_file(path, out, err);
		if (rc == 0)
			state_kv_put(db, SIGN_DIGEST_NS, key, out, SY_SHA256_HEX_LEN, NULL);
	}
	free(data);
	free(key);
	return rc;
}

/* Links file as <cache>/<digest>/<name>; an entry already there wins (a
 * publisher of another channel signed the same package first). */
static int link_entry(const char *cache, const char *digest, const char *file,
		      struct sy_error *err)
{
	char *dir = sy_xasprintf("%s/%s", cache, digest);
	char *entry = sy_xasprintf("%s/%s", dir, sy_base_name(file));
	int rc = 0;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		rc = sy_error_set(err, "%s: %s", dir, strerror(errno));
	else if (link(file, entry) < 0 && errno != EEXIST)
		rc = sy_error_set(err, "%s: cannot link: %s", entry, strerror(errno));
	else
		rc = sy_fsync_dir(dir, err);
	free(entry);
	free(dir);
	return rc;
}

/* Moves one signed copy into the cache under the digest of the package it
 * was made from and under its own, so that its snapshots' files find it
 * again. */
static int keep_signed(const char *cache, const struct unsigned_pkg *p, struct sy_error *err)
{
	char signed_digest[SY_SHA256_HEX_LEN + 1];
	char *entry = sy_xasprintf("%s/%s/%s", cache, p->digest, sy_base_name(p->copy));
	int rc = sy_fsync_file(p->copy, err) || sy_sha256_file(p->copy, signed_digest, err) ||
		 link_entry(cache, p->digest, p->copy, err) ||
		 link_entry(cache, signed_digest, entry, err);

	free(entry);
	return rc;
}

/* Runs rpmsign --addsign on the copies of pkgs[0..n), signing them in place. */
static int rpmsign(const struct repo_signer *s, struct unsigned_pkg *pkgs, size_t n,
		   struct sy_error *err)
{
	char *name = sy_xasprintf("_gpg_name %s", s->fingerprint);
	char *path = sy_xasprintf("_gpg_path %s", s->home);
	char *gpg = sy_xasprintf("__gpg %s", s->gpg);
	const char **argv = sy_xcalloc(n + 12, sizeof(char *));
	size_t k = 0;
	int rc;

	argv[k++] = "rpmsign";
	argv[k++] = "--addsign";
	argv[k++] = "--define";
	argv[k++] = name;
	argv[k++] = "--define";
	argv[k++] = path;
	/* Debian's rpm names /usr/bin/gpg2, which Debian 12 does not ship. */
	argv[k++] = "--define";
	argv[k++] = gpg;
	argv[k++] = "--define";
	argv[k++] = "_gpg_sign_cmd_extra_args --quiet --batch --no-tty --pinentry-mode error";
	for (size_t i = 0; i < n; i++)
		argv[k++] = pkgs[i].copy;
	rc = run_tool(s, argv, SIGN_RPMSIGN_TIMEOUT_S, NULL, err);
	if (rc)
		sy_error_prefix(err, "rpmsign");
	free(argv);
	free(gpg);
	free(path);
	free(name);
	return rc;
}

/* Signs copies of pkgs[0..n) in a batch directory of the cache and keeps
 * them there. */
static int sign_new(const struct repo_signer *s, const char *cache, struct unsigned_pkg *pkgs,
		    size_t n, struct sy_error *err)
{
	char *batch = sy_mkdtemp(cache, ".signing-", err);
	int rc = batch ? 0 : -1;

	for (size_t i = 0; rc == 0 && i < n; i++) {
		char *dir = sy_xasprintf("%s/%zu", batch, i);
		pkgs[i].copy = sy_xasprintf("%s/%s", dir, sy_base_name(pkgs[i].src));
		if (mkdir(dir, 0755) < 0)
			rc = sy_error_set(err, "%s: %s", dir, strerror(errno));
		else
			rc = sy_copy_file(pkgs[i].src, pkgs[i].copy, err);
		free(dir);
	}
	for (size_t i = 0; rc == 0 && i < n; i += SIGN_BATCH)
		rc = rpmsign(s, pkgs + i, n - i < SIGN_BATCH ? n - i : SIGN_BATCH, err);
	for (size_t i = 0; rc == 0 && i < n; i++)
		if ((rc = keep_signed(cache, &pkgs[i], err)))
			sy_error_prefix(err, "%s", pkgs[i].src);
	if (rc == 0)
		rc = sy_fsync_dir(cache, err);
	if (batch)
		sy_rm_rf(batch, NULL);
	free(batch);
	return rc;
}

int repo_signer_sign_packages(struct repo_signer *s, const char *state, struct sy_strv *paths,
			      struct sy_error *err)
{
	char *cache = state_signed_dir(state, s->fingerprint), *db = state_db_path(state);
	struct sy_strv out = SY_STRV_INIT;
	struct unsigned_pkg *todo = sy_xcalloc(paths->n + 1, sizeof(*todo));
	size_t ntodo = 0;
	int rc = sy_mkdir_p(cache, 0755, err);

	for (size_t i = 0; rc == 0 && i < paths->n; i++) {
		const char *src = paths->items[i];
		char digest[SY_SHA256_HEX_LEN + 1];
		if ((rc = file_digest(db, src, digest, err)))
			break;
		char *entry = sy_xasprintf("%s/%s/%s", cache, digest, sy_base_name(src));
		if (!sy_exists(entry) && !sy_strv_contains(&out, entry)) {
			todo[ntodo].src = src;
			memcpy(todo[ntodo++].digest, digest, sizeof(digest));
		}
		sy_strv_push_owned(&out, entry);
	}
	if (rc == 0 && ntodo)
		rc = sign_new(s, cache, todo, ntodo, err);
	if (rc == 0) {
		struct sy_strv old = *paths;
		*paths = out;
		out = old;
	}
	for (size_t i = 0; i < ntodo; i++)
		free(todo[i].copy);
	free(todo);
	sy_strv_release(&out);
	free(db);
	free(cache);
	return rc;
}

int repo_signer_sign_snapshot(struct repo_signer *s, const char *snapshot, struct sy_error *err)
{
	static const char *const repos[] = { "", "/SRPMS" };
	char *key = sy_xasprintf("%s/%s", snapshot, REPO_SIGN_KEY_FILE);
	int rc = sy_write_file_atomic(key, s->public_key, strlen(s->public_key), 0644, err);

	for (size_t i = 0; rc == 0 && i < LEN(repos); i++) {
		char *dir = sy_xasprintf("%s%s/repodata", snapshot, repos[i]);
		char *repomd = sy_xasprintf("%s/repomd.xml", dir);
		char *asc = sy_xasprintf("%s/repomd.xml.asc", dir);
		if (sy_exists(repomd)) {
			rc = detach_sign(s, repomd, asc, err) || sy_fsync_file(asc, err) ||
			     sy_fsync_dir(dir, err);
			if (rc)
				sy_error_prefix(err, "%s", repomd);
		}
		free(asc);
		free(repomd);
		free(dir);
	}
	if (rc == 0)
		rc = sy_fsync_dir(snapshot, err);
	free(key);
	return rc;
}

void repo_signer_close(struct repo_signer *s)
{
	if (!s)
		return;
	if (s->home) {
		/* The agent holds the key in memory, and where /run/user/<uid>
		 * exists its sockets live there. */
		const char *kill_agent[] = { "gpgconf", "--homedir", s->home, "--kill", "all", NULL };
		const char *sockets[] = { "gpgconf", "--homedir", s->home, "--remove-socketdir", NULL };
		run_tool(s, kill_agent, SIGN_GPG_TIMEOUT_S, NULL, NULL);
		run_tool(s, sockets, SIGN_GPG_TIMEOUT_S, NULL, NULL);
		sy_rm_rf(s->home, NULL);
	}
	for (size_t i = 0; i < LEN(s->env); i++)
		free(s->env[i]);
	free(s->home);
	free(s->gpg);
	free(s->fingerprint);
	free(s->public_key);
	free(s->key_file);
	free(s);
}

int repo_sign_snapshot_signed(const char *snapshot)
{
	char *key, *asc;
	int yes;

	if (!snapshot)
		return 0;
	key = sy_xasprintf("%s/%s", snapshot, REPO_SIGN_KEY_FILE);
	asc = sy_xasprintf("%s/repodata/repomd.xml.asc", snapshot);
	yes = sy_exists(key) && sy_exists(asc);
	free(asc);
	free(key);
	return yes;
}

/* One file of the signed cache. */
struct cache_file {
	char *path;
	dev_t dev;
	ino_t ino;
	nlink_t nlink;
};

static int cmp_inode(const void *a, const void *b)
{
	const struct cache_file *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* Appends the regular files of <dir>/<digest>/ to files. */
static void list_cache(const char *dir, struct cache_file **files, size_t *n, size_t *cap)
{
	struct sy_strv digests = SY_STRV_INIT;

	sy_list_dir(dir, &digests);
	for (size_t d = 0; d < digests.n; d++) {
		struct sy_strv names = SY_STRV_INIT;
		char *sub = sy_xasprintf("%s/%s", dir, digests.items[d]);
		sy_list_dir(sub, &names);
		for (size_t i = 0; i < names.n; i++) {
			struct stat st;
			char *path = sy_xasprintf("%s/%s", sub, names.items[i]);
			if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
				free(path);
				continue;
			}
			if (*n == *cap) {
				*cap = *cap ? *cap * 2 : 64;
				*files = sy_xrealloc(*files, *cap * sizeof(**files));
			}
			(*files)[(*n)++] = (struct cache_file){ path, st.st_dev, st.st_ino, st.st_nlink };
		}
		sy_strv_release(&names);
		free(sub);
	}
	sy_strv_release(&digests);
}

/* Removes files[0..n), the cache's links of one copy, and the digest
 * directories they leave empty. */
static int remove_copy(const char *fingerprint, struct cache_file *files, size_t n,
		       struct sy_strv *removed, struct sy_error *err)
{
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		if (unlink(files[i].path) < 0 && errno != ENOENT && rc == 0)
			rc = sy_error_set(err, "%s: cannot remove: %s", files[i].path,
					  strerror(errno));
		char *dir = sy_xstrndup(files[i].path,
					(size_t)(strrchr(files[i].path, '/') - files[i].path));
		rmdir(dir); /* fails while another file is left: that is fine */
		free(dir);
	}
	if (removed)
		sy_strv_pushf(removed, "%s/%s", fingerprint, sy_base_name(files[0].path));
	return rc;
}

/* Collects the copies of one key's cache. */
static int collect_key(const char *state, const char *fingerprint, struct sy_strv *removed,
		       struct sy_error *err)
{
	char *dir = state_signed_dir(state, fingerprint);
	struct cache_file *files = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	list_cache(dir, &files, &n, &cap);
	if (n)
		qsort(files, n, sizeof(*files), cmp_inode);
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && !cmp_inode(&files[i], &files[j]); j++)
			;
		if (files[i].nlink <= j - i &&
		    remove_copy(fingerprint, files + i, j - i, removed, err) && rc == 0)
			rc = -1;
	}
	for (size_t i = 0; i < n; i++)
		free(files[i].path);
	free(files);
	free(dir);
	return rc;
}

int repo_signed_collect(const char *state, struct sy_strv *removed, struct sy_error *err)
{
	char *root = state_signed_dir(state, "");
	struct sy_strv keys = SY_STRV_INIT;
	struct sy_error e = { { 0 } };
	int rc = 0;

	sy_list_dir(root, &keys);
	for (size_t i = 0; i < keys.n; i++)
		if (collect_key(state, keys.items[i], removed, &e) && rc == 0)
			rc = sy_error_set(err, "%s", e.msg);
	sy_strv_release(&keys);
	free(root);
	return rc;
}
