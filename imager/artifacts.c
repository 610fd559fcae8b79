#define _GNU_SOURCE
#include "imager/artifacts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>

#include "common/fs.h"

const char *imager_artifact_suffix(const struct imager_artifact *a)
{
	if (a->type[0])
		return NULL;
	if (!strcmp(a->compression, "tar.gz") || !strcmp(a->compression, "tar.xz"))
		return a->compression;
	if (!a->compression[0])
		return "tar";
	return NULL;
}

int imager_artifacts_check(const struct imager_config *cfg, struct sy_error *err)
{
	if (cfg->nartifacts == 0)
		return sy_error_set(err, "%s: Disks[0] has no Artifacts to compose", cfg->path);
	/* imager_config_check_support refuses these before any work; a caller
	 * that did not ask must not reach the writer with them. */
	for (size_t i = 0; i < cfg->nartifacts; i++)
		if (!imager_artifact_suffix(&cfg->artifacts[i]))
			return sy_error_set(err, "%s: Disks[0].Artifacts[%zu]: Type \"%s\" with "
					    "Compression \"%s\": not supported", cfg->path, i,
					    cfg->artifacts[i].type, cfg->artifacts[i].compression);
	return 0;
}

static int archive_fail(struct archive *a, const char *what, struct sy_error *err)
{
	const char *msg = archive_error_string(a);

	return sy_error_set(err, "%s: %s", what, msg ? msg : "archive error");
}

/* Copies the data of the current entry of disk into w. */
static int copy_data(struct archive *disk, struct archive *w, const char *out,
		     struct sy_error *err)
{
	char buf[65536];
	la_ssize_t n;

	while ((n = archive_read_data(disk, buf, sizeof(buf))) > 0)
		if (archive_write_data(w, buf, (size_t)n) != n)
			return archive_fail(w, out, err);
	return n < 0 ? archive_fail(disk, out, err) : 0;
}

/* Renames the entry's path from "<rootfs>/x" to "./x" ("./" for the top). */
static void relative_name(struct archive_entry *entry, const char *rootfs)
{
	const char *path = archive_entry_pathname(entry);
	size_t len = strlen(rootfs);
	const char *rest = path && !strncmp(path, rootfs, len) ? path + len : "";
	char *name = rest[0] ? sy_xasprintf(".%s", rest) : sy_xstrdup("./");

	archive_entry_set_pathname(entry, name);
	free(name);
}

/* Walks rootfs and writes its entries (owners, modes, links, hard links kept). */
static int write_tree(struct archive *disk, struct archive *w, const char *rootfs,
		      const char *out, struct sy_error *err)
{
	struct archive_entry_linkresolver *links = archive_entry_linkresolver_new();
	int rc = 0;

	archive_entry_linkresolver_set_strategy(links, archive_format(w));
	for (;;) {
		struct archive_entry *entry = archive_entry_new(), *spare = NULL;
		int r = archive_read_next_header2(disk, entry);
		if (r == ARCHIVE_EOF) {
			archive_entry_free(entry);
			break;
		}
		if (r < ARCHIVE_WARN) {
			archive_entry_free(entry);
			rc = archive_fail(disk, rootfs, err);
			break;
		}
		archive_read_disk_descend(disk);
		relative_name(entry, rootfs);
		archive_entry_linkify(links, &entry, &spare);
		if (archive_write_header(w, entry) < ARCHIVE_WARN)
			rc = archive_fail(w, out, err);
		else if (archive_entry_filetype(entry) == AE_IFREG && !archive_entry_hardlink(entry) &&
			 archive_entry_size(entry) > 0)
			rc = copy_data(disk, w, out, err);
		archive_entry_free(entry);
		archive_entry_free(spare);
		if (rc)
			break;
	}
	archive_entry_linkresolver_free(links);
	return rc;
}

/* Writes rootfs as a pax tar archive at out, compressed per suffix. */
static int write_rootfs_archive(const char *rootfs, const char *out, const char *suffix,
				struct sy_error *err)
{
	struct archive *disk = archive_read_disk_new();
	struct archive *w = archive_write_new();
	char *tmp = sy_xasprintf("%s.tmp", out);
	int rc = 0;

	archive_read_disk_set_symlink_physical(disk);
	archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS);
	archive_write_set_format_pax_restricted(w);
	if (!strcmp(suffix, "tar.gz"))
		archive_write_add_filter_gzip(w);
	else if (!strcmp(suffix, "tar.xz"))
		archive_write_add_filter_xz(w);
	if (archive_write_open_filename(w, tmp) != ARCHIVE_OK)
		rc = archive_fail(w, tmp, err);
	else if (archive_read_disk_open(disk, rootfs) != ARCHIVE_OK)
		rc = archive_fail(disk, rootfs, err);
	else
		rc = write_tree(disk, w, rootfs, out, err);
	if (archive_write_close(w) != ARCHIVE_OK && rc == 0)
		rc = archive_fail(w, tmp, err);
	archive_read_close(disk);
	archive_read_free(disk);
	archive_write_free(w);
	if (rc == 0) {
		int fd = open(tmp, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fsync(fd) < 0)
			rc = sy_error_set(err, "%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	if (rc == 0 && rename(tmp, out) < 0)
		rc = sy_error_set(err, "%s: %s", out, strerror(errno));
	if (rc)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* Writes out_dir/manifest.json: the config, arch and the NEVRAs installed. */
static int write_manifest(const struct imager_config *cfg, const char *arch, const char *out_dir,
			  const struct sy_strv *nevras, struct sy_error *err)
{
	json_t *pkgs = json_array();
	char *path = sy_xasprintf("%s/manifest.json", out_dir);
	char *text;
	int rc;

	for (size_t i = 0; i < nevras->n; i++)
		json_array_append_new(pkgs, json_string(nevras->items[i]));
	json_t *root = json_pack("{s:s, s:s, s:s, s:o}", "name", cfg->name, "config", cfg->path,
				 "arch", arch, "packages", pkgs);
	text = root ? json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	if (!text)
		rc = sy_error_set(err, "%s: cannot encode", path);
	else
		rc = sy_write_file_atomic(path, text, strlen(text), 0644, err);
	free(text);
	json_decref(root);
	free(path);
	return rc;
}

static int write_archives(const struct imager_config *cfg, const char *rootfs,
			  const char *out_dir, struct sy_strv *artifacts, struct sy_error *err)
{
	for (size_t i = 0; i < cfg->nartifacts; i++) {
		const char *suffix = imager_artifact_suffix(&cfg->artifacts[i]);
		char *out = sy_xasprintf("%s/%s.%s", out_dir, cfg->artifacts[i].name, suffix);
		int rc = write_rootfs_archive(rootfs, out, suffix, err);
		if (rc) {
			free(out);
			return rc;
		}
		sy_strv_push_owned(artifacts, out);
	}
	return 0;
}

int imager_artifacts_write(const struct imager_config *cfg, const char *rootfs, const char *arch,
			   const struct sy_strv *nevras, const char *out_dir,
			   struct sy_strv *artifacts, struct sy_error *err)
{
	if (write_archives(cfg, rootfs, out_dir, artifacts, err) ||
	    write_manifest(cfg, arch, out_dir, nevras, err))
		return -1;
	return sy_fsync_dir(out_dir, err);
}
