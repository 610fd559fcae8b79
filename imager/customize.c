#define _GNU_SOURCE
#include "imager/customize.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/child.h"
#include "common/fs.h"
#include "imager/accounts.h"
#include "imager/rootfile.h"

/* Where a script is put in the root while it runs. */
#define SCRIPT_PATH "/.shipyard-script"

/* Writes a root-owned file of mode in the root. */
static int put(const struct imager_customize *c, int rootfd, const char *path,
	       const void *data, size_t len, mode_t mode, struct sy_error *err)
{
	const struct imager_root_meta m = { mode, 0, 0, c->epoch };

	return imager_root_write(rootfd, path, data, len, &m, err);
}

static int fail_at(const struct imager_customize *c, struct sy_error *err, const char *where)
{
	return sy_error_prefix(err, "%s: SystemConfigs[0].%s", c->cfg->path, where);
}

static int apply_hostname(const struct imager_customize *c, int rootfd, struct sy_error *err)
{
	const char *h = c->cfg->systems[0].hostname;
	char *text;
	int rc;

	if (!h[0])
		return 0;
	text = sy_xasprintf("%s\n", h);
	rc = put(c, rootfd, "/etc/hostname", text, strlen(text), 0644, err);
	free(text);
	return rc ? fail_at(c, err, "Hostname") : 0;
}

/* Reads the account files of the root into acc. */
static int read_accounts(int rootfd, struct imager_accounts *acc, struct sy_error *err)
{
	char **files[] = { &acc->passwd, &acc->shadow, &acc->group, &acc->gshadow };
	static const char *const paths[] = { "/etc/passwd", "/etc/shadow", "/etc/group",
					     "/etc/gshadow" };

	for (size_t i = 0; i < 4; i++) {
		int rc = imager_root_read(rootfd, paths[i], files[i], NULL, err);
		if (rc < 0)
			return -1;
		if (rc == 1 && i < 3)
			*files[i] = sy_xstrdup("");
	}
	return 0;
}

static int write_accounts(const struct imager_customize *c, int rootfd,
			  const struct imager_accounts *acc, struct sy_error *err)
{
	/* Modes as shadow-utils and Azure Linux's setup package leave them. */
	return put(c, rootfd, "/etc/passwd", acc->passwd, strlen(acc->passwd), 0644, err) ||
			       put(c, rootfd, "/etc/shadow", acc->shadow, strlen(acc->shadow), 0,
				   err) ||
			       put(c, rootfd, "/etc/group", acc->group, strlen(acc->group), 0644,
				   err) ||
			       (acc->gshadow && put(c, rootfd, "/etc/gshadow", acc->gshadow,
						    strlen(acc->gshadow), 0, err))
		       ? -1
		       : 0;
}

/* The authorized_keys text of u: its key files then its keys, one per
 * line. Caller frees. */
static char *authorized_keys(const struct imager_user *u)
{
	struct sy_strv lines = SY_STRV_INIT;
	char *text;

	for (size_t k = 0; k < u->ssh_pubkey_files.n; k++) {
		const char *key = u->ssh_pubkey_files.items[k];
		size_t n = strlen(key);
		sy_strv_pushf(&lines, "%s%s", key, n && key[n - 1] == '\n' ? "" : "\n");
	}
	for (size_t k = 0; k < u->ssh_pubkeys.n; k++)
		sy_strv_pushf(&lines, "%s\n", u->ssh_pubkeys.items[k]);
	text = sy_strv_join(&lines, "");
	sy_strv_release(&lines);
	return text;
}

/* Copies the regular files directly in the root's /etc/skel into home,
 * with their modes, owned by a (as useradd -m does; subdirectories and
 * links are not copied). */
static int copy_skel(const struct imager_customize *c, int rootfd,
		     const struct imager_account_user *a, struct sy_error *err)
{
	int dfd = imager_root_open(rootfd, "/etc/skel", O_RDONLY | O_DIRECTORY);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *e;
	int rc = 0;

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return 0; /* no /etc/skel: nothing to copy */
	}
	while (rc == 0 && (e = readdir(d))) {
		struct stat st;
		char *src, *dst, *data = NULL;
		size_t len = 0;
		if (e->d_name[0] == '.' && (!e->d_name[1] || !strcmp(e->d_name, "..")))
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		src = sy_xasprintf("/etc/skel/%s", e->d_name);
		dst = sy_xasprintf("%s/%s", a->home, e->d_name);
		const struct imager_root_meta m = { st.st_mode & 0777, a->uid, a->gid, c->epoch };
		rc = imager_root_read(rootfd, src, &data, &len, err) < 0 ||
				     imager_root_write(rootfd, dst, data ? data : "", len, &m, err)
			     ? -1
			     : 0;
		free(data);
		free(dst);
		free(src);
	}
	closedir(d);
	return rc;
}

/* The home directory of a new user (with /etc/skel's files), and the SSH
 * keys of every user. */
static int apply_home(const struct imager_customize *c, int rootfd, const struct imager_user *u,
		      const struct imager_account_user *a, struct sy_error *err)
{
	const struct imager_root_meta home = { 0700, a->uid, a->gid, c->epoch };
	const struct imager_root_meta key = { 0600, a->uid, a->gid, c->epoch };
	int rc = 0;

	if (a->is_new)
		rc = imager_root_mkdir(rootfd, a->home, &home, err) ||
				     copy_skel(c, rootfd, a, err)
			     ? -1
			     : 0;
	if (rc == 0 && (u->ssh_pubkey_files.n || u->ssh_pubkeys.n)) {
		char *dir = sy_xasprintf("%s/.ssh", strcmp(a->home, "/") ? a->home : "");
		char *file = sy_xasprintf("%s/authorized_keys", dir);
		char *text = authorized_keys(u);
		rc = imager_root_mkdir(rootfd, dir, &home, err) ||
				     imager_root_write(rootfd, file, text, strlen(text), &key, err)
			     ? -1
			     : 0;
		free(text);
		free(file);
		free(dir);
	}
	return rc;
}

static int apply_accounts(const struct imager_customize *c, int rootfd, struct sy_error *err)
{
	const struct imager_system_config *s = &c->cfg->systems[0];
	struct imager_accounts acc = { 0 };
	struct imager_account_user *users = NULL;
	int rc;

	if (!s->nusers && !s->ngroups)
		return 0;
	rc = read_accounts(rootfd, &acc, err);
	if (rc == 0 && imager_accounts_apply(&acc, s, c->key, c->epoch, &users, err))
		rc = sy_error_prefix(err, "%s: SystemConfigs[0]", c->cfg->path);
	if (rc == 0)
		rc = write_accounts(c, rootfd, &acc, err);
	for (size_t i = 0; rc == 0 && i < s->nusers; i++) {
		if (apply_home(c, rootfd, &s->users[i], &users[i], err)) {
			char where[32];
			snprintf(where, sizeof(where), "Users[%zu]", i);
			rc = fail_at(c, err, where);
		}
	}
	imager_account_users_free(users, s->nusers);
	imager_accounts_release(&acc);
	return rc;
}

static int apply_files(const struct imager_customize *c, int rootfd, struct sy_error *err)
{
	const struct imager_system_config *s = &c->cfg->systems[0];

	for (size_t i = 0; i < s->nadditional_files; i++) {
		const struct imager_additional_file *f = &s->additional_files[i];
		mode_t mode = f->permissions >= 0 ? (mode_t)f->permissions : 0644;
		if (!f->data)
			return sy_error_set(err, "%s: AdditionalFiles[\"%s\"]: not loaded", c->cfg->path,
					    f->source);
		if (put(c, rootfd, f->dest, f->data, f->size, mode, err)) {
			char *where = sy_xasprintf("AdditionalFiles[\"%s\"]", f->source);
			fail_at(c, err, where);
			free(where);
			return -1;
		}
		if (c->log_fd >= 0)
			dprintf(c->log_fd, "image %s: %s -> %s (%04o)\n", c->cfg->name, f->source,
				f->dest, (unsigned)mode);
	}
	return 0;
}

static int apply_boot_files(const struct imager_customize *c, int rootfd, struct sy_error *err)
{
	static const char nodocs[] = "# Written by shipyard: the image config's DisableRpmDocs.\n"
				     "%_excludedocs 1\n";
	int rc = 0;

	if (c->fstab)
		rc = put(c, rootfd, "/etc/fstab", c->fstab, strlen(c->fstab), 0644, err);
	if (rc == 0 && c->cmdline) {
		char *line = sy_xasprintf("%s\n", c->cmdline);
		rc = put(c, rootfd, "/etc/kernel/cmdline", line, strlen(line), 0644, err);
		free(line);
	}
	if (rc == 0 && c->cfg->systems[0].disable_rpm_docs)
		rc = put(c, rootfd, "/etc/rpm/macros.image-nodocs", nodocs, strlen(nodocs), 0644,
			 err);
	return rc;
}

/* Runs script s (item where) in the root, which is "/". */
static int run_script(const struct imager_customize *c, int rootfd,
		      const struct imager_script *s, const char *where, struct sy_error *err)
{
	char epoch[64];
	snprintf(epoch, sizeof(epoch), "SOURCE_DATE_EPOCH=%lld", c->epoch);
	char *command = sy_xasprintf(SCRIPT_PATH "%s%s", s->args[0] ? " " : "", s->args);
	const char *argv[] = { "/bin/sh", "-c", command, NULL };
	const char *env[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			      "HOME=/root", "LC_ALL=C", "TZ=UTC", epoch, NULL };
	struct sy_child child = SY_CHILD_INIT;
	int rc = put(c, rootfd, SCRIPT_PATH, s->data ? s->data : "", s->size, 0755, err);

	if (c->log_fd >= 0)
		dprintf(c->log_fd, "image %s: %s: running %s%s%s\n", c->cfg->name, where, s->path,
			s->args[0] ? " " : "", s->args);
	child.argv = argv;
	child.env = env;
	child.cwd = "/";
	child.log_fd = c->log_fd >= 0 ? c->log_fd : SY_CHILD_DEVNULL;
	child.close_fds = 1;
	child.timeout_s = IMAGER_SCRIPT_TIMEOUT_S;
	child.reap_orphans = 1;
	if (rc == 0 && sy_child_run(&child, err))
		rc = -1;
	else if (rc == 0 && child.timed_out)
		rc = sy_error_set(err, "%s timed out after %u s", s->path, IMAGER_SCRIPT_TIMEOUT_S);
	else if (rc == 0 && child.status)
		rc = sy_error_set(err, "%s exited with status %d", s->path, child.status);
	unlinkat(rootfd, SCRIPT_PATH + 1, 0);
	sy_child_release(&child);
	free(command);
	return rc ? fail_at(c, err, where) : 0;
}

static int run_scripts(const struct imager_customize *c, int rootfd, const char *key,
		       const struct imager_script *s, size_t n, struct sy_error *err)
{
	for (size_t i = 0; i < n; i++) {
		char where[64];
		snprintf(where, sizeof(where), "%s[%zu]", key, i);
		if (run_script(c, rootfd, &s[i], where, err))
			return -1;
	}
	return 0;
}

/* RemoveRpmDb: what the rpmdb held, as the toolkit's container manifest,
 * then the rpmdb removed. */
static int remove_rpmdb(const struct imager_customize *c, int rootfd, struct sy_error *err)
{
	char *list = sy_strv_join(c->nevras, "\n");
	char *text = sy_xasprintf("%s%s", list, c->nevras->n ? "\n" : "");
	int rc = put(c, rootfd, "/var/lib/rpmmanifest/container-manifest-1", text, strlen(text),
		     0644, err);

	free(text);
	free(list);
	if (rc == 0)
		rc = sy_rm_rf("/var/lib/rpm", err);
	return rc ? fail_at(c, err, "RemoveRpmDb") : 0;
}

int imager_customize_root(const struct imager_customize *c, int rootfd, struct sy_error *err)
{
	const struct imager_system_config *s = &c->cfg->systems[0];

	if (apply_hostname(c, rootfd, err) || apply_accounts(c, rootfd, err) ||
	    apply_files(c, rootfd, err) || apply_boot_files(c, rootfd, err))
		return -1;
	if (!c->run_scripts)
		return 0;
	if (run_scripts(c, rootfd, "PostInstallScripts", s->post_install_scripts,
			s->npost_install_scripts, err) ||
	    run_scripts(c, rootfd, "FinalizeImageScripts", s->finalize_image_scripts,
			s->nfinalize_image_scripts, err))
		return -1;
	return s->remove_rpm_db ? remove_rpmdb(c, rootfd, err) : 0;
}
