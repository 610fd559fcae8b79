#define _GNU_SOURCE
#include "imager/artifacts.h"

#include <dirent.h>
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
#include "common/hash.h"
#include "common/util.h"
#include "imager/disk.h"

const char *imager_artifact_suffix(const struct imager_artifact *a)
{
	if (!strcmp(a->type, "initrd"))
		return a->compression[0] ? NULL : "img";
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
	size_t n = cfg->nartifacts;

	for (size_t i = 0; cfg->ndisks && i < cfg->disks[0].npartitions; i++)
		n += cfg->disks[0].partitions[i].nartifacts;
	if (n == 0)
		return sy_error_set(err, "%s: Disks[0] has no Artifacts to compose", cfg->path);
	/* imager_config_check_support refuses these before any work; a caller
	 * that did not ask must not reach the writers with them. */
	return imager_disk_check_support(cfg, err);
}

static int archive_fail(struct archive *a, const char *what, struct sy_error *err)
{
	const char *msg = archive_error_string(a);

	return sy_error_set(err, "%s: %s", what, msg ? msg : "archive error");
}

/* Copies the content of the regular file path into w. */
static int copy_data(const char *path, struct archive *w, const char *out, struct sy_error *err)
{
	char buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return sy_error_set(err, "%s: %s", path, strerror(errno));
	while (rc == 0 && (n = read(fd, buf, sizeof(buf))) > 0)
		if (archive_write_data(w, buf, (size_t)n) != n)
			rc = archive_fail(w, out, err);
	if (rc == 0 && n < 0)
		rc = sy_error_set(err, "%s: %s", path, strerror(errno));
	close(fd);
	return rc;
}

/* An inode renumbered for a cpio archive. */
struct ino_map {
	dev_t dev;
	ino_t ino;
	unsigned long number;
};

/* What one archive walk shares. */
struct walk {
	struct archive *disk, *w;
	struct archive_entry_linkresolver *links;
	const char *rootfs, *out;
	int cpio;              /* 1: newc, whose headers carry inode and device numbers */
	unsigned long next_ino; /* the next inode number a cpio entry gets */
	struct ino_map *hard;   /* numbers given to files with several links */
	size_t nhard;
};

/* newc headers carry the inode and device numbers the kernel's initramfs
 * unpacker pairs hard links by: the filesystem's would differ between two
 * builds, so entries are numbered in walk order (a file with several links
 * keeps the number of its first), on device 0. */
static void cpio_renumber(struct walk *k, struct archive_entry *entry, const struct stat *st)
{
	unsigned long number = 0;

	for (size_t i = 0; st->st_nlink > 1 && !S_ISDIR(st->st_mode) && i < k->nhard; i++)
		if (k->hard[i].dev == st->st_dev && k->hard[i].ino == st->st_ino)
			number = k->hard[i].number;
	if (!number) {
		number = ++k->next_ino;
		if (st->st_nlink > 1 && !S_ISDIR(st->st_mode)) {
			k->hard = sy_xrealloc(k->hard, (k->nhard + 1) * sizeof(*k->hard));
			k->hard[k->nhard++] = (struct ino_map){ st->st_dev, st->st_ino, number };
		}
	}
	archive_entry_set_ino64(entry, (int64_t)number);
	archive_entry_set_dev(entry, 0);
}

/* Writes the header of entry e and, for a regular file that is not a
 * link to an earlier entry, its data from its source path. */
static int write_entry(struct walk *k, struct archive_entry *e, struct sy_error *err)
{
	if (archive_write_header(k->w, e) < ARCHIVE_WARN)
		return archive_fail(k->w, k->out, err);
	if (archive_entry_filetype(e) == AE_IFREG && !archive_entry_hardlink(e) &&
	    archive_entry_size(e) > 0)
		return copy_data(archive_entry_sourcepath(e), k->w, k->out, err);
	return 0;
}

/* Writes the entry at rootfs + rel ("" for the top) as "." + rel ("./"
 * for the top), with owners, modes, links, hard links and extended
 * attributes, then a directory's entries in sorted order: the same tree
 * gives the same archive, whatever order the filesystem lists it in. Only
 * the modification time is kept, in whole seconds (imager/compose.h clamps
 * it), never the access or change time of this build. */
static int write_sorted(struct walk *k, const char *rel, struct sy_error *err)
{
	char *path = sy_xasprintf("%s%s", k->rootfs, rel);
	char *name = rel[0] ? sy_xasprintf(".%s", rel) : sy_xstrdup(k->cpio ? "." : "./");
	struct archive_entry *entry = archive_entry_new(), *spare = NULL;
	struct dirent **names = NULL;
	struct stat st;
	int rc = 0, n = 0;

	if (lstat(path, &st) < 0) {
		rc = sy_error_set(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	archive_entry_copy_sourcepath(entry, path);
	archive_entry_copy_pathname(entry, path);
	if (archive_read_disk_entry_from_file(k->disk, entry, -1, &st) < ARCHIVE_WARN) {
		rc = archive_fail(k->disk, path, err);
		goto out;
	}
	archive_entry_copy_pathname(entry, name);
	archive_entry_set_mtime(entry, st.st_mtime, 0);
	archive_entry_unset_atime(entry);
	archive_entry_unset_ctime(entry);
	archive_entry_unset_birthtime(entry);
	if (k->cpio)
		cpio_renumber(k, entry, &st);
	archive_entry_linkify(k->links, &entry, &spare);
	if (entry)
		rc = write_entry(k, entry, err);
	if (rc == 0 && spare)
		rc = write_entry(k, spare, err);
	if (rc || !S_ISDIR(st.st_mode))
		goto out;
	n = scandir(path, &names, NULL, alphasort);
	if (n < 0)
		rc = sy_error_set(err, "%s: %s", path, strerror(errno));
	for (int i = 0; i < n; i++) {
		const char *child = names[i]->d_name;
		if (rc == 0 && strcmp(child, ".") && strcmp(child, "..")) {
			char *sub = sy_xasprintf("%s/%s", rel, child);
			rc = write_sorted(k, sub, err);
			free(sub);
		}
		free(names[i]);
	}
	free(names);
out:
	archive_entry_free(entry);
	archive_entry_free(spare);
	free(name);
	free(path);
	return rc;
}

/* Walks rootfs and writes its entries in sorted order. */
static int write_tree(struct archive *disk, struct archive *w, const char *rootfs,
		      const char *out, struct sy_error *err)
{
	struct walk k = { disk, w, archive_entry_linkresolver_new(), rootfs, out,
			  archive_format(w) == ARCHIVE_FORMAT_CPIO_SVR4_NOCRC, 0, NULL, 0 };
	struct archive_entry *entry = NULL, *spare = NULL;
	int rc;

	archive_entry_linkresolver_set_strategy(k.links, archive_format(w));
	rc = write_sorted(&k, "", err);
	/* newc writes a hard-linked file's data with its last link: the
	 * resolver holds the ones whose other links were not seen. */
	for (archive_entry_linkify(k.links, &entry, &spare); rc == 0 && entry;
	     archive_entry_linkify(k.links, &entry, &spare)) {
		rc = write_entry(&k, entry, err);
		archive_entry_free(entry);
		entry = NULL;
	}
	archive_entry_linkresolver_free(k.links);
	free(k.hard);
	return rc;
}

/* Writes rootfs as a pax tar archive at out, compressed per suffix, or
 * for suffix "img" (an initrd) as a gzip-compressed cpio newc archive. */
static int write_rootfs_archive(const char *rootfs, const char *out, const char *suffix,
				struct sy_error *err)
{
	struct archive *disk = archive_read_disk_new();
	struct archive *w = archive_write_new();
	char *tmp = sy_xasprintf("%s.tmp", out);
	int rc = 0;

	archive_read_disk_set_symlink_physical(disk);
	if (!strcmp(suffix, "img"))
		archive_write_set_format_cpio_newc(w);
	else
		archive_write_set_format_pax_restricted(w);
	if (!strcmp(suffix, "tar.gz") || !strcmp(suffix, "img")) {
		archive_write_add_filter_gzip(w);
		/* No time in the gzip header: the same tree, the same bytes. */
		archive_write_set_filter_option(w, "gzip", "timestamp", NULL);
	}
	else if (!strcmp(suffix, "tar.xz"))
		archive_write_add_filter_xz(w);
	if (archive_write_open_filename(w, tmp) != ARCHIVE_OK)
		rc = archive_fail(w, tmp, err);
	else
		rc = write_tree(disk, w, rootfs, out, err);
	if (archive_write_close(w) != ARCHIVE_OK && rc == 0)
		rc = archive_fail(w, tmp, err);
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

/* {"file", "size", "sha256"} of the file at path, or NULL with err. */
static json_t *file_entry(const char *path, struct sy_error *err)
{
	char hex[SY_SHA256_HEX_LEN + 1];
	struct stat st;

	if (stat(path, &st) < 0) {
		sy_error_set(err, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (sy_sha256_file(path, hex, err))
		return NULL;
	return json_pack("{s:s, s:I, s:s}", "file", sy_base_name(path), "size",
			 (json_int_t)st.st_size, "sha256", hex);
}

/* "<RPM file name>\t<build key>" of every RPM under artifacts_dir's key
 * directories (64 hex digits), into index. */
static void index_build_keys(const char *artifacts_dir, struct sy_strv *index)
{
	struct sy_strv keys = SY_STRV_INIT;

	if (!artifacts_dir)
		return;
	sy_list_dir(artifacts_dir, &keys);
	for (size_t i = 0; i < keys.n; i++) {
		const char *k = keys.items[i];
		if (strlen(k) != SY_SHA256_HEX_LEN || strspn(k, "0123456789abcdef") != strlen(k))
			continue;
		struct sy_strv files = SY_STRV_INIT;
		char *dir = sy_xasprintf("%s/%s", artifacts_dir, k);
		sy_list_dir(dir, &files);
		for (size_t f = 0; f < files.n; f++)
			sy_strv_pushf(index, "%s\t%s", files.items[f], k);
		sy_strv_release(&files);
		free(dir);
	}
	sy_strv_release(&keys);
}

/* The build key index gives the RPM file name file, or NULL. */
static const char *build_key_of(const struct sy_strv *index, const char *file)
{
	size_t n = strlen(file);

	for (size_t i = 0; i < index->n; i++)
		if (!strncmp(index->items[i], file, n) && index->items[i][n] == '\t')
			return index->items[i] + n + 1;
	return NULL;
}

/* Writes out_dir/manifest.json: the config, arch, the NEVRAs installed
 * ("packages"), each package's RPM file with its size and SHA-256
 * ("package_files", parallel to nevras), and each artifact's size and
 * SHA-256 ("artifacts"). */
static int write_manifest(const struct imager_config *cfg, const char *arch, const char *out_dir,
			  const struct sy_strv *nevras, const struct sy_strv *rpms,
			  const char *artifacts_dir, const struct sy_strv *artifacts,
			  struct sy_error *err)
{
	json_t *pkgs = json_array(), *files = json_array(), *arts = json_array();
	struct sy_strv keys = SY_STRV_INIT;
	char *path = sy_xasprintf("%s/manifest.json", out_dir);
	char *text = NULL;
	int rc = 0;

	for (size_t i = 0; i < nevras->n; i++)
		json_array_append_new(pkgs, json_string(nevras->items[i]));
	index_build_keys(artifacts_dir, &keys);
	for (size_t i = 0; rc == 0 && rpms && i < rpms->n && i < nevras->n; i++) {
		json_t *e = file_entry(rpms->items[i], err);
		const char *key = build_key_of(&keys, sy_base_name(rpms->items[i]));
		if (!e)
			rc = -1;
		else
			json_object_set_new(e, "nevra", json_string(nevras->items[i]));
		if (e && key)
			json_object_set_new(e, "build_key", json_string(key));
		json_array_append_new(files, e);
	}
	for (size_t i = 0; rc == 0 && i < artifacts->n; i++) {
		json_t *e = file_entry(artifacts->items[i], err);
		if (!e)
			rc = -1;
		json_array_append_new(arts, e);
	}
	json_t *root = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "name", cfg->name, "config",
				 cfg->path, "arch", arch, "packages", pkgs, "package_files", files,
				 "artifacts", arts);
	if (rc == 0) {
		text = root ? json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
		if (!text)
			rc = sy_error_set(err, "%s: cannot encode", path);
		else
			rc = sy_write_file_atomic(path, text, strlen(text), 0644, err);
	}
	free(text);
	json_decref(root);
	free(path);
	sy_strv_release(&keys);
	return rc;
}

static int write_archives(const struct imager_config *cfg, const char *rootfs,
			  const char *out_dir, struct sy_strv *artifacts, struct sy_error *err)
{
	for (size_t i = 0; i < cfg->nartifacts; i++) {
		const char *suffix = imager_artifact_suffix(&cfg->artifacts[i]);
		if (!suffix)
			continue; /* a disk image or root image: imager/disk.h */
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
			   const struct sy_strv *nevras, const struct sy_strv *rpms,
			   const char *artifacts_dir, const char *out_dir,
			   struct sy_strv *artifacts, struct sy_error *err)
{
	if (write_archives(cfg, rootfs, out_dir, artifacts, err) ||
	    write_manifest(cfg, arch, out_dir, nevras, rpms, artifacts_dir, artifacts, err))
		return -1;
	return sy_fsync_dir(out_dir, err);
}
