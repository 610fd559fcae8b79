#define _GNU_SOURCE
#include "builder/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "common/fs.h"
#include "common/spawn.h"

/* Upper bound for one debootstrap run (it takes about a minute). */
#define WORKER_DEBOOTSTRAP_TIMEOUT_S 3600

static int git_fail(struct sy_error *err, const char *path, const char *what)
{
	const git_error *e = git_error_last();

	return sy_error_set(err, "%s: %s: %s", path, what, e ? e->message : "cannot read");
}

/* Reads the single string value key into *value (newly allocated). */
static int read_string(git_config *cfg, const char *path, const char *key, char **value,
		       struct sy_error *err)
{
	git_buf buf = { 0 };
	int rc = git_config_get_string_buf(&buf, cfg, key);

	if (rc == GIT_ENOTFOUND)
		return sy_error_set(err, "%s: %s missing", path, key);
	if (rc < 0)
		return git_fail(err, path, key);
	if (buf.ptr[0] == '\0') {
		git_buf_dispose(&buf);
		return sy_error_set(err, "%s: %s is empty", path, key);
	}
	*value = sy_xstrdup(buf.ptr);
	git_buf_dispose(&buf);
	return 0;
}

static int add_package(const git_config_entry *entry, void *payload)
{
	sy_strv_push(payload, entry->value);
	return 0;
}

/* SHA-256 over suite, variant and the sorted package names. */
static void manifest_digest(struct builder_worker_manifest *m)
{
	struct sy_sha256 *h = sy_sha256_new();

	sy_sha256_update_str(h, "shipyard worker manifest 1");
	sy_sha256_update_str(h, m->suite);
	sy_sha256_update_str(h, m->variant);
	for (size_t i = 0; i < m->packages.n; i++)
		sy_sha256_update_str(h, m->packages.items[i]);
	sy_sha256_final(h, m->digest);
}

int builder_worker_manifest_read(const char *path, struct builder_worker_manifest *m,
				 struct sy_error *err)
{
	git_config *cfg = NULL;
	int rc = -1, grc;

	memset(m, 0, sizeof(*m));
	git_libgit2_init();
	if (access(path, R_OK) < 0) {
		sy_error_set(err, "%s: cannot read: %s", path, strerror(errno));
		goto out;
	}
	if (git_config_open_ondisk(&cfg, path) < 0) {
		git_fail(err, path, "cannot parse");
		goto out;
	}
	if (read_string(cfg, path, "worker.suite", &m->suite, err) ||
	    read_string(cfg, path, "worker.variant", &m->variant, err))
		goto out;
	grc = git_config_get_multivar_foreach(cfg, "worker.package", NULL, add_package,
					      &m->packages);
	if (grc < 0 && grc != GIT_ENOTFOUND) {
		git_fail(err, path, "worker.package");
		goto out;
	}
	sy_strv_sort_unique(&m->packages);
	manifest_digest(m);
	rc = 0;
out:
	if (rc)
		builder_worker_manifest_release(m);
	git_config_free(cfg);
	git_libgit2_shutdown();
	return rc;
}

void builder_worker_manifest_release(struct builder_worker_manifest *m)
{
	free(m->suite);
	free(m->variant);
	sy_strv_release(&m->packages);
	m->suite = m->variant = NULL;
	m->digest[0] = '\0';
}

/* Returns the first whitespace-separated word of s, newly allocated. */
static char *first_word(const char *s)
{
	s += strspn(s, " \t");
	return sy_xasprintf("%.*s", (int)strcspn(s, " \t\r\n"), s);
}

/* Returns 1 if the whitespace-separated words of list include word. */
static int words_contain(const char *list, const char *word)
{
	size_t len = strlen(word);

	for (const char *p = list; *p;) {
		p += strspn(p, " \t");
		size_t n = strcspn(p, " \t\r\n");
		if (n == 0)
			break;
		if (n == len && !strncmp(p, word, len))
			return 1;
		p += n;
	}
	return 0;
}

/* Returns the value of "Field:" when line starts with it, else NULL. */
static const char *field_value(const char *line, const char *field)
{
	size_t n = strlen(field);

	if (strncasecmp(line, field, n) || line[n] != ':')
		return NULL;
	return line + n + 1 + strspn(line + n + 1, " \t");
}

/* One deb822 stanza of a .sources file (apt's sources.list(5)): the fields
 * that decide whether it serves suite. */
struct apt_stanza {
	const char *types, *uris, *suites, *enabled;
};

static void stanza_take(struct apt_stanza *st, const char *suite, char **mirror)
{
	if (!*mirror && st->types && st->uris && st->suites &&
	    words_contain(st->types, "deb") && words_contain(st->suites, suite) &&
	    !(st->enabled && !strncasecmp(st->enabled, "no", 2)))
		*mirror = first_word(st->uris);
	memset(st, 0, sizeof(*st));
}

/* Looks for a "deb" stanza listing suite in a deb822 .sources file. */
static void scan_deb822(char *text, const char *suite, char **mirror)
{
	struct apt_stanza st = { 0 };
	const char *v;
	char *next;

	for (char *line = text; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (line[strspn(line, " \t\r")] == '\0')
			stanza_take(&st, suite, mirror); /* a blank line ends a stanza */
		else if ((v = field_value(line, "Types")))
			st.types = v;
		else if ((v = field_value(line, "URIs")))
			st.uris = v;
		else if ((v = field_value(line, "Suites")))
			st.suites = v;
		else if ((v = field_value(line, "Enabled")))
			st.enabled = v;
	}
	stanza_take(&st, suite, mirror);
}

/* Looks for "deb [options] URI suite components" in a one-line-style file. */
static void scan_one_line(char *text, const char *suite, char **mirror)
{
	char *save = NULL;

	for (char *line = strtok_r(text, "\n", &save); line && !*mirror;
	     line = strtok_r(NULL, "\n", &save)) {
		char *p = line + strspn(line, " \t");
		if (strncmp(p, "deb", 3) || (p[3] != ' ' && p[3] != '\t'))
			continue;
		p += 3 + strspn(p + 3, " \t");
		if (*p == '[') {
			char *close = strchr(p, ']');
			if (!close)
				continue;
			p = close + 1 + strspn(close + 1, " \t");
		}
		char *uri = first_word(p);
		p += strlen(uri);
		char *dist = first_word(p);
		if (*uri && !strcmp(dist, suite))
			*mirror = uri;
		else
			free(uri);
		free(dist);
	}
}

static void scan_apt_file(const char *path, int deb822, const char *suite, char **mirror)
{
	char *text;

	if (*mirror || sy_read_file(path, &text, NULL, NULL))
		return;
	if (deb822)
		scan_deb822(text, suite, mirror);
	else
		scan_one_line(text, suite, mirror);
	free(text);
}

/* Returns the first mirror URI the machine's apt sources use for suite (apt's
 * reading order: sources.list, then sources.list.d/ by name), or NULL. */
static char *apt_mirror_for(const char *suite)
{
	char *mirror = NULL;
	glob_t g;

	scan_apt_file("/etc/apt/sources.list", 0, suite, &mirror);
	if (glob("/etc/apt/sources.list.d/*", 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			const char *p = g.gl_pathv[i];
			size_t n = strlen(p);
			if (n > 8 && !strcmp(p + n - 8, ".sources"))
				scan_apt_file(p, 1, suite, &mirror);
			else if (n > 5 && !strcmp(p + n - 5, ".list"))
				scan_apt_file(p, 0, suite, &mirror);
		}
		globfree(&g);
	}
	return mirror;
}

/* Runs in the debootstrap child before exec: a private mount namespace, so
 * that the /proc and /sys mounts debootstrap makes inside the target vanish
 * with it even when it is killed. */
static int private_mounts(void *arg)
{
	(void)arg;
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		fprintf(stderr, "shipyard: cannot make a private mount namespace: %s\n",
			strerror(errno));
		return -1;
	}
	return 0;
}

static int run_debootstrap(const struct builder_worker_manifest *m, const char *root, int log_fd,
			   struct sy_error *err)
{
	struct sy_strv argv = SY_STRV_INIT;
	struct sy_spawn sp = SY_SPAWN_INIT;
	char *mirror = apt_mirror_for(m->suite);
	int rc = -1;

	sy_strv_push(&argv, "debootstrap");
	sy_strv_pushf(&argv, "--variant=%s", m->variant);
	if (m->packages.n) {
		char *inc = sy_xstrdup("--include=");
		for (size_t i = 0; i < m->packages.n; i++) {
			char *longer = sy_xasprintf("%s%s%s", inc, i ? "," : "",
						    m->packages.items[i]);
			free(inc);
			inc = longer;
		}
		sy_strv_push_owned(&argv, inc);
	}
	sy_strv_push(&argv, m->suite);
	sy_strv_push(&argv, root);
	if (mirror)
		sy_strv_push(&argv, mirror);
	sp.argv = (const char *const *)argv.items;
	sp.log_fd = log_fd;
	sp.timeout_s = WORKER_DEBOOTSTRAP_TIMEOUT_S;
	sp.child_fn = private_mounts;
	if (sy_spawn_run(&sp, err))
		goto out;
	if (sp.timed_out)
		sy_error_set(err, "%s: debootstrap timed out after %d s", root,
			     WORKER_DEBOOTSTRAP_TIMEOUT_S);
	else if (sp.status)
		sy_error_set(err, "%s: debootstrap %s failed with status %d, see log", root,
			     m->suite, sp.status);
	else
		rc = 0;
out:
	free(mirror);
	sy_strv_release(&argv);
	return rc;
}

/* Writes <dir>/manifest: the manifest's fields in its own syntax. */
static int write_manifest_copy(const char *dir, const struct builder_worker_manifest *m,
			       struct sy_error *err)
{
	char *path = sy_xasprintf("%s/manifest", dir);
	char *text = sy_xasprintf("# worker root %s\n[worker]\n\tsuite = %s\n\tvariant = %s\n",
				  m->digest, m->suite, m->variant);
	int rc;

	for (size_t i = 0; i < m->packages.n; i++) {
		char *longer = sy_xasprintf("%s\tpackage = %s\n", text, m->packages.items[i]);
		free(text);
		text = longer;
	}
	rc = sy_write_file_atomic(path, text, strlen(text), 0644, err);
	free(text);
	free(path);
	return rc;
}

/* Prepares a fresh debootstrap root for builds: the /build directory and no
 * downloaded .deb files left in apt's cache. */
static int finish_root(const char *root, struct sy_error *err)
{
	char *dir = sy_xasprintf("%s/build", root);
	char *pattern = sy_xasprintf("%s/var/cache/apt/archives/*.deb", root);
	glob_t g;
	int rc = -1;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		sy_error_set(err, "%s: cannot create directory: %s", dir, strerror(errno));
		goto out;
	}
	if (glob(pattern, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++)
			unlink(g.gl_pathv[i]);
		globfree(&g);
	}
	rc = 0;
out:
	free(pattern);
	free(dir);
	return rc;
}

/* Removes <cache>/<digest>.tmp-* left by builders that died (the caller
 * holds the lock, so no live builder owns one). */
static void remove_stale_tmp(const char *cache_dir, const char *digest)
{
	char *pattern = sy_xasprintf("%s/%s.tmp-*", cache_dir, digest);
	glob_t g;

	if (glob(pattern, GLOB_NOSORT, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++)
			sy_rm_rf(g.gl_pathv[i], NULL);
		globfree(&g);
	}
	free(pattern);
}

/* Builds the worker root of m as <cache>/<digest>; the caller holds the lock. */
static int build_worker(const char *cache_dir, const struct builder_worker_manifest *m,
			const char *final, int log_fd, struct sy_error *err)
{
	char *tmp = sy_xasprintf("%s/%s.tmp-%ld", cache_dir, m->digest, (long)getpid());
	char *root = sy_xasprintf("%s/root", tmp);
	int rc = -1;

	remove_stale_tmp(cache_dir, m->digest);
	if (sy_mkdir_p(tmp, 0755, err) || run_debootstrap(m, root, log_fd, err) ||
	    finish_root(root, err) || write_manifest_copy(tmp, m, err))
		goto out;
	sy_rm_rf(final, NULL); /* a leftover without root/ */
	if (rename(tmp, final) < 0) {
		sy_error_set(err, "%s: cannot rename to %s: %s", tmp, final, strerror(errno));
		goto out;
	}
	sy_fsync_dir(cache_dir, NULL);
	rc = 0;
out:
	if (rc)
		sy_rm_rf(tmp, NULL);
	free(root);
	free(tmp);
	return rc;
}

int builder_worker_ensure(const char *cache_dir, const struct builder_worker_manifest *m,
			  int log_fd, char **root, struct sy_error *err)
{
	char *final = sy_xasprintf("%s/%s", cache_dir, m->digest);
	char *path = sy_xasprintf("%s/root", final);
	char *lock = NULL;
	int fd = -1, rc = -1;

	if (sy_exists(path))
		goto done;
	if (sy_mkdir_p(cache_dir, 0755, err))
		goto out;
	lock = sy_xasprintf("%s/.lock", cache_dir);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		sy_error_set(err, "%s: cannot open: %s", lock, strerror(errno));
		goto out;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			sy_error_set(err, "%s: cannot lock: %s", lock, strerror(errno));
			goto out;
		}
	}
	/* Another caller may have built it while we waited for the lock. */
	if (!sy_exists(path) && build_worker(cache_dir, m, final, log_fd, err))
		goto out;
done:
	*root = path;
	path = NULL;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(lock);
	free(path);
	free(final);
	return rc;
}
