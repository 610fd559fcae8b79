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

#include <dirent.h>
#include <pwd.h>

#include <git2.h>
#include <rpm/rpmdb.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmmacro.h>
#include <rpm/rpmts.h>

#include "builder/rpmroot.h"
#include "common/child.h"
#include "common/fs.h"
#include "common/util.h"
#include "sandbox/rpminstall.h"

/* The rpmdb inside worker and build roots (sandbox/rpminstall.h). */
#define WORKER_DBPATH "/var/lib/rpm"

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

/* Appends a value to the list payload. A key written without "= value" has
 * none (git reads it as boolean true): the walk stops with 1. */
static int add_package(const git_config_entry *entry, void *payload)
{
	if (!entry->value)
		return 1;
	sy_strv_push(payload, entry->value);
	return 0;
}

/* SHA-256 over the root's layout version, suite, variant, the sorted
 * package names and the sorted toolchain capabilities. Version 2: the root
 * holds the build user and the toolchain package. */
static void manifest_digest(struct builder_worker_manifest *m)
{
	struct sy_sha256 *h = sy_sha256_new();
	char count[32];

	sy_sha256_update_str(h, "shipyard worker manifest 2");
	sy_sha256_update_str(h, m->suite);
	sy_sha256_update_str(h, m->variant);
	snprintf(count, sizeof(count), "packages %zu", m->packages.n);
	sy_sha256_update_str(h, count);
	for (size_t i = 0; i < m->packages.n; i++)
		sy_sha256_update_str(h, m->packages.items[i]);
	snprintf(count, sizeof(count), "toolchain %zu", m->toolchain.n);
	sy_sha256_update_str(h, count);
	for (size_t i = 0; i < m->toolchain.n; i++)
		sy_sha256_update_str(h, m->toolchain.items[i]);
	sy_sha256_final(h, m->digest);
}

/* Appends every value of the multivar key to list, sorted and unique. */
static int read_list(git_config *cfg, const char *path, const char *key, struct sy_strv *list,
		     struct sy_error *err)
{
	int grc = git_config_get_multivar_foreach(cfg, key, NULL, add_package, list);

	if (grc == 1)
		return sy_error_set(err, "%s: %s: no value", path, key);
	if (grc < 0 && grc != GIT_ENOTFOUND)
		return git_fail(err, path, key);
	sy_strv_sort_unique(list);
	return 0;
}

/* Refuses capabilities that cannot be one line of a spec's Provides: empty,
 * or with a newline or a macro character. */
static int check_toolchain(const char *path, const struct sy_strv *toolchain,
			   struct sy_error *err)
{
	for (size_t i = 0; i < toolchain->n; i++) {
		const char *c = toolchain->items[i];
		if (!c[0] || strpbrk(c, "\n\r%"))
			return sy_error_set(err, "%s: toolchain.provides \"%s\": not a capability",
					    path, c);
	}
	return 0;
}

/* Every key of a worker manifest, one line a key (the kinds that take each
 * are the lists below): any other is refused with its line and the nearest
 * known one. */
const struct sy_conf_key builder_worker_keys[] = {
	{ "worker.kind", 0, "debootstrap", "how the root is made: debootstrap or rpm" },
	{ "worker.suite", 0, NULL, "debootstrap: the Debian suite (required)" },
	{ "worker.variant", 0, NULL, "debootstrap: the debootstrap variant (required)" },
	{ "worker.package", SY_CONF_MULTI, NULL, "a package installed in the root" },
	{ "worker.repo", SY_CONF_MULTI, NULL, "rpm: where packages come from (channel:NAME, directory or URL)" },
	{ "worker.packagelist", SY_CONF_MULTI, NULL, "rpm: a package list file (%s: the arch)" },
	{ "toolchain.provides", SY_CONF_MULTI, NULL, "debootstrap: a capability the root offers to specs" },
};
const size_t builder_worker_nkeys = LEN(builder_worker_keys);

/* The keys each kind takes (libgit2 gives names lowercased). */
static const char *const debootstrap_keys[] = {
	"worker.kind", "worker.suite", "worker.variant", "worker.package", "toolchain.provides", NULL,
};
static const char *const rpm_keys[] = {
	"worker.kind", "worker.repo", "worker.package", "worker.packagelist", NULL,
};

static int listed(const char *const *keys, const char *name)
{
	for (size_t i = 0; keys[i]; i++)
		if (!strcmp(keys[i], name))
			return 1;
	return 0;
}

/* Refuses a key the manifest's kind does not take: every key is either
 * used or an error, never ignored. */
static int check_keys(git_config *cfg, const char *path, enum builder_worker_kind kind,
		      struct sy_error *err)
{
	const char *const *mine = kind == BUILDER_WORKER_RPM ? rpm_keys : debootstrap_keys;
	const char *const *other = kind == BUILDER_WORKER_RPM ? debootstrap_keys : rpm_keys;
	git_config_iterator *it = NULL;
	git_config_entry *e;
	int rc = 0;

	if (git_config_iterator_new(&it, cfg) < 0)
		return git_fail(err, path, "cannot list keys");
	while (rc == 0 && git_config_next(&e, it) == 0) {
		if (listed(mine, e->name))
			continue;
		if (listed(other, e->name))
			rc = sy_error_set(err, "%s: %s: not supported with kind = %s", path, e->name,
					  kind == BUILDER_WORKER_RPM ? "rpm" : "debootstrap");
		else
			rc = sy_error_set(err, "%s: %s: unknown key", path, e->name);
	}
	git_config_iterator_free(it);
	return rc;
}

/* Reads worker.kind (default debootstrap). */
static int read_kind(git_config *cfg, const char *path, enum builder_worker_kind *kind,
		     struct sy_error *err)
{
	git_buf buf = { 0 };
	int rc = git_config_get_string_buf(&buf, cfg, "worker.kind");

	*kind = BUILDER_WORKER_DEBOOTSTRAP;
	if (rc == GIT_ENOTFOUND)
		return 0;
	if (rc < 0)
		return git_fail(err, path, "worker.kind");
	if (!strcmp(buf.ptr, "rpm"))
		*kind = BUILDER_WORKER_RPM;
	else if (strcmp(buf.ptr, "debootstrap"))
		rc = sy_error_set(err, "%s: worker.kind \"%s\": not debootstrap or rpm", path,
				  buf.ptr);
	git_buf_dispose(&buf);
	return rc < 0 ? -1 : 0;
}

/* Makes the relative paths of list absolute, from the manifest's directory;
 * "file://" URLs become their paths; channel names stay. */
static void absolute_paths(const char *path, struct sy_strv *list)
{
	char *dir = sy_xstrdup(path);
	char *slash = strrchr(dir, '/');

	if (slash)
		*slash = '\0';
	for (size_t i = 0; i < list->n; i++) {
		char *v = list->items[i], *abs = NULL;
		if (!strncmp(v, "file://", 7))
			abs = sy_xstrdup(v + 7);
		else if (v[0] != '/' && strncmp(v, "channel:", 8) && !strstr(v, "://"))
			abs = slash ? sy_xasprintf("%s/%s", dir, v) : sy_xasprintf("./%s", v);
		if (abs) {
			free(v);
			list->items[i] = abs;
		}
	}
	free(dir);
}

/* The [worker] of an rpm root: repositories in the order given (the first
 * that has a package wins ties), package specs and lists sorted. */
static int read_rpm(git_config *cfg, const char *path, struct builder_worker_manifest *m,
		    struct sy_error *err)
{
	int grc = git_config_get_multivar_foreach(cfg, "worker.repo", NULL, add_package, &m->repos);

	if (grc == 1)
		return sy_error_set(err, "%s: worker.repo: no value", path);
	if (grc < 0 && grc != GIT_ENOTFOUND)
		return git_fail(err, path, "worker.repo");
	if (!m->repos.n)
		return sy_error_set(err, "%s: worker.repo missing (kind = rpm)", path);
	if (read_list(cfg, path, "worker.package", &m->packages, err) ||
	    read_list(cfg, path, "worker.packagelist", &m->packagelists, err))
		return -1;
	if (!m->packages.n && !m->packagelists.n)
		return sy_error_set(err, "%s: worker.package or worker.packagelist missing "
					 "(kind = rpm)", path);
	absolute_paths(path, &m->repos);
	absolute_paths(path, &m->packagelists);
	return 0;
}

static int read_debootstrap(git_config *cfg, const char *path, struct builder_worker_manifest *m,
			    struct sy_error *err)
{
	if (read_string(cfg, path, "worker.suite", &m->suite, err) ||
	    read_string(cfg, path, "worker.variant", &m->variant, err) ||
	    read_list(cfg, path, "worker.package", &m->packages, err) ||
	    read_list(cfg, path, "toolchain.provides", &m->toolchain, err) ||
	    check_toolchain(path, &m->toolchain, err))
		return -1;
	manifest_digest(m);
	return 0;
}

int builder_worker_manifest_read(const char *path, struct builder_worker_manifest *m,
				 struct sy_error *err)
{
	git_config *cfg = NULL;
	int rc = -1;

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
	if (sy_conf_check_file(path, builder_worker_keys, builder_worker_nkeys, err) ||
	    read_kind(cfg, path, &m->kind, err) || check_keys(cfg, path, m->kind, err))
		goto out;
	rc = m->kind == BUILDER_WORKER_RPM ? read_rpm(cfg, path, m, err)
					   : read_debootstrap(cfg, path, m, err);
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
	sy_strv_release(&m->repos);
	sy_strv_release(&m->packagelists);
	sy_strv_release(&m->toolchain);
	sy_strv_release(&m->repo_dirs);
	sandbox_solv_closure_release(&m->closure);
	sy_strv_release(&m->closure_plain);
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

static int is_cancelled(void *arg)
{
	const volatile sig_atomic_t *cancel = arg;

	return cancel && *cancel;
}

static int run_debootstrap(const struct builder_worker_manifest *m, const char *root,
			   const volatile sig_atomic_t *cancel, int log_fd, struct sy_error *err)
{
	struct sy_strv argv = SY_STRV_INIT;
	struct sy_child c = SY_CHILD_INIT;
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
	c.argv = (const char *const *)argv.items;
	c.log_fd = log_fd;
	c.timeout_s = WORKER_DEBOOTSTRAP_TIMEOUT_S;
	c.child_fn = private_mounts;
	/* A stopped service must not leave a minute of debootstrap behind. */
	c.death_signal = SIGKILL;
	c.tick_fn = is_cancelled;
	c.tick_arg = (void *)cancel;
	c.tick_ms = 200;
	if (sy_child_run(&c, err))
		goto out;
	if (c.stopped)
		sy_error_set(err, "%s: debootstrap cancelled", root);
	else if (c.timed_out)
		sy_error_set(err, "%s: debootstrap timed out after %d s", root,
			     WORKER_DEBOOTSTRAP_TIMEOUT_S);
	else if (c.status)
		sy_error_set(err, "%s: debootstrap %s failed with status %d, see log", root,
			     m->suite, c.status);
	else
		rc = 0;
out:
	free(mirror);
	sy_strv_release(&argv);
	return rc;
}

/* Appends "\t<key> = <value>\n" per value to *text. */
static void add_values(char **text, const char *key, const struct sy_strv *values)
{
	for (size_t i = 0; i < values->n; i++) {
		char *longer = sy_xasprintf("%s\t%s = %s\n", *text, key, values->items[i]);
		free(*text);
		*text = longer;
	}
}

/* Writes <dir>/manifest: the manifest's fields in its own syntax (paths
 * absolute). */
static int write_manifest_copy(const char *dir, const struct builder_worker_manifest *m,
			       struct sy_error *err)
{
	char *path = sy_xasprintf("%s/manifest", dir);
	char *text;
	int rc;

	if (m->kind == BUILDER_WORKER_RPM) {
		text = sy_xasprintf("# worker root %s\n[worker]\n\tkind = rpm\n", m->digest);
		add_values(&text, "repo", &m->repos);
		add_values(&text, "packagelist", &m->packagelists);
		add_values(&text, "package", &m->packages);
	} else {
		text = sy_xasprintf("# worker root %s\n[worker]\n\tsuite = %s\n\tvariant = %s\n",
				    m->digest, m->suite, m->variant);
		add_values(&text, "package", &m->packages);
		if (m->toolchain.n) {
			char *longer = sy_xasprintf("%s[toolchain]\n", text);
			free(text);
			text = longer;
			add_values(&text, "provides", &m->toolchain);
		}
	}
	rc = sy_write_file_atomic(path, text, strlen(text), 0644, err);
	free(text);
	free(path);
	return rc;
}

/* Adds the build user and its group to root with the host's shadow tools
 * (--root: they chroot and edit the root's /etc/passwd, group, shadow). */
static int add_build_user(const char *root, int log_fd, struct sy_error *err)
{
	char uid[16], gid[16];

	snprintf(uid, sizeof(uid), "%d", BUILDER_WORKER_BUILD_UID);
	snprintf(gid, sizeof(gid), "%d", BUILDER_WORKER_BUILD_GID);
	const char *const groupadd[] = { "groupadd", "--root", root, "--gid", gid,
					 BUILDER_WORKER_BUILD_USER, NULL };
	const char *const useradd[] = { "useradd", "--root", root, "--uid", uid, "--gid", gid,
					"--no-create-home", "--home-dir", "/build",
					"--shell", "/bin/sh", "--comment", "shipyard build user",
					BUILDER_WORKER_BUILD_USER, NULL };

	if (sy_child_run_cmd(groupadd, log_fd, 60, err) || sy_child_run_cmd(useradd, log_fd, 60, err))
		return sy_error_prefix(err, "%s: adding the build user", root);
	return 0;
}

/* Returns the spec of the toolchain package: no files, one Provides per
 * capability (newly allocated). */
static char *toolchain_spec(const struct builder_worker_manifest *m)
{
	char *spec = sy_xasprintf("Name: " BUILDER_WORKER_TOOLCHAIN_PKG "\nVersion: 1\n"
				  "Release: 1\nSummary: Toolchain of the shipyard worker root\n"
				  "License: MIT\nBuildArch: noarch\n");

	for (size_t i = 0; i < m->toolchain.n; i++) {
		char *longer = sy_xasprintf("%sProvides: %s\n", spec, m->toolchain.items[i]);
		free(spec);
		spec = longer;
	}
	char *full = sy_xasprintf("%s\n%%description\nThe capabilities the packages of the "
				  "worker root (manifest %s) offer to specs' BuildRequires.\n\n"
				  "%%files\n", spec, m->digest);
	free(spec);
	return full;
}

/* Makes the toolchain package with the host's rpmbuild under dir and installs
 * it into root's rpmdb (no scriptlets, no dependency check: it has none). */
static int install_toolchain(const char *root, const char *dir,
			     const struct builder_worker_manifest *m, int log_fd,
			     struct sy_error *err)
{
	char *spec_path = sy_xasprintf("%s/toolchain.spec", dir);
	char *spec = toolchain_spec(m);
	char *topdir = sy_xasprintf("_topdir %s", dir);
	char *rpm = sy_xasprintf("%s/RPMS/noarch/" BUILDER_WORKER_TOOLCHAIN_PKG "-1-1.noarch.rpm",
				 dir);
	const char *const argv[] = { "rpmbuild", "-bb", "--quiet", "--define", topdir,
				     "--define", "_buildhost shipyard", "--define",
				     "_build_id_links none", spec_path, NULL };
	const char *const rpms[] = { rpm, NULL };
	int rc = -1;

	if (sy_mkdir_p(dir, 0755, err) ||
	    sy_write_file(spec_path, spec, strlen(spec), 0644, err))
		goto out;
	if (sy_child_run_cmd(argv, log_fd, 600, err)) {
		sy_error_prefix(err, "%s: making the toolchain package", dir);
		goto out;
	}
	if (sandbox_rpm_install(root, rpms, SANDBOX_RPMINSTALL_NODEPS |
				SANDBOX_RPMINSTALL_NOSCRIPTS, log_fd, err)) {
		sy_error_prefix(err, "%s: installing the toolchain package", root);
		goto out;
	}
	rc = 0;
out:
	free(rpm);
	free(topdir);
	free(spec);
	free(spec_path);
	return rc;
}

/* Makes <root>/build, owned by the build user. */
static int make_build_dir(const char *root, struct sy_error *err)
{
	char *dir = sy_xasprintf("%s/build", root);
	int rc = 0;

	if ((mkdir(dir, 0755) < 0 && errno != EEXIST) ||
	    lchown(dir, BUILDER_WORKER_BUILD_UID, BUILDER_WORKER_BUILD_GID) < 0)
		rc = sy_error_set(err, "%s: cannot create for the build user: %s", dir,
				  strerror(errno));
	free(dir);
	return rc;
}

/* Prepares a fresh debootstrap root (absolute path) for builds: the build
 * user and its /build directory, the toolchain package in the rpmdb (made in
 * work_dir, removed after), and no downloaded .deb files left in apt's
 * cache. */
static int finish_root(const char *root, const char *work_dir,
		       const struct builder_worker_manifest *m, int log_fd, struct sy_error *err)
{
	char *pattern = sy_xasprintf("%s/var/cache/apt/archives/*.deb", root);
	glob_t g;
	int rc = -1;

	if (add_build_user(root, log_fd, err) || make_build_dir(root, err) ||
	    install_toolchain(root, work_dir, m, log_fd, err))
		goto out;
	if (glob(pattern, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++)
			unlink(g.gl_pathv[i]);
		globfree(&g);
	}
	rc = 0;
out:
	sy_rm_rf(work_dir, NULL);
	free(pattern);
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
			const char *final, const volatile sig_atomic_t *cancel, int log_fd,
			struct sy_error *err)
{
	char *tmp = sy_xasprintf("%s/%s.tmp-%ld", cache_dir, m->digest, (long)getpid());
	char *abs_tmp = NULL, *root = NULL, *work = NULL, *lock = NULL;
	int rc = -1;

	remove_stale_tmp(cache_dir, m->digest);
	if (sy_mkdir_p(tmp, 0755, err))
		goto out;
	abs_tmp = realpath(tmp, NULL);
	if (!abs_tmp) {
		sy_error_set(err, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	root = sy_xasprintf("%s/root", abs_tmp);
	work = sy_xasprintf("%s/toolchain", abs_tmp);
	lock = sy_xasprintf("%s/lock", abs_tmp);
	if (m->kind == BUILDER_WORKER_RPM
		    ? builder_rpmroot_make(m, root, log_fd, err) ||
			      builder_rpmroot_write_packages(tmp, m, err)
		    : run_debootstrap(m, root, cancel, log_fd, err) ||
			      finish_root(root, work, m, log_fd, err))
		goto out;
	if (write_manifest_copy(tmp, m, err) || sy_write_file(lock, "", 0, 0644, err))
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
	free(lock);
	free(work);
	free(root);
	free(abs_tmp);
	free(tmp);
	return rc;
}

int builder_worker_ensure(const char *cache_dir, const struct builder_worker_manifest *m,
			  const volatile sig_atomic_t *cancel, int log_fd, char **root,
			  struct sy_error *err)
{
	char *final, *path, *lock = NULL;
	int fd = -1, rc = -1;

	if (!m->digest[0])
		return sy_error_set(err, "worker root: the manifest's packages are not resolved");
	final = sy_xasprintf("%s/%s", cache_dir, m->digest);
	path = sy_xasprintf("%s/root", final);
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
		if (is_cancelled((void *)cancel)) {
			sy_error_set(err, "%s: cancelled while waiting for the lock", lock);
			goto out;
		}
		if (errno != EINTR) {
			sy_error_set(err, "%s: cannot lock: %s", lock, strerror(errno));
			goto out;
		}
	}
	/* Another caller may have built it while we waited for the lock. */
	if (!sy_exists(path) && build_worker(cache_dir, m, final, cancel, log_fd, err))
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

int builder_worker_resolve(struct builder_worker_manifest *m, const char *path,
			   const char *arch, const struct builder_worker_sources *src,
			   struct sy_error *err)
{
	if (m->kind != BUILDER_WORKER_RPM)
		return 0;
	return builder_rpmroot_resolve(m, path, arch ? arch : "x86_64", src, err);
}
