#define _GNU_SOURCE
#include "imager/filesystem.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/child.h"
#include "common/fs.h"
#include "common/strv.h"
#include "common/util.h"

/* A tool that runs longer than this on one filesystem is stuck. */
#define TOOL_TIMEOUT_S 1800
/* mkfs.vfat refuses FAT32 below 65525 clusters; with 512-byte clusters
 * that is about 33 MiB. A smaller "fat32" partition gets the FAT size
 * mkfs.vfat picks, as the toolkit's small ESPs do. */
#define FAT32_MIN_BYTES (36ull << 20)

int imager_fs_from_name(const char *fs_type, enum imager_fs *fs, const char **why)
{
	static const struct {
		const char *name;
		enum imager_fs fs;
	} names[] = {
		{ "", IMAGER_FS_NONE },       { "ext2", IMAGER_FS_EXT2 },  { "ext3", IMAGER_FS_EXT3 },
		{ "ext4", IMAGER_FS_EXT4 },   { "vfat", IMAGER_FS_VFAT },  { "fat12", IMAGER_FS_VFAT },
		{ "fat16", IMAGER_FS_VFAT },  { "fat32", IMAGER_FS_VFAT }, { "linux-swap", IMAGER_FS_SWAP },
		{ "xfs", IMAGER_FS_XFS },
	};

	for (size_t i = 0; i < LEN(names); i++)
		if (!strcmp(names[i].name, fs_type)) {
			*fs = names[i].fs;
			return 0;
		}
	*why = "no tool builds it";
	return -1;
}

/* The child's stdin, when a file is given: only async-signal-safe calls. */
static int stdin_from(void *arg)
{
	int fd = open(arg, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || dup2(fd, 0) < 0)
		return 1;
	close(fd);
	return 0;
}

int imager_tool_run(const char *const *argv, long long epoch, const char *stdin_path, int log_fd,
		    struct sy_error *err)
{
	char sde[64], fake[64];
	snprintf(sde, sizeof(sde), "SOURCE_DATE_EPOCH=%lld", epoch);
	snprintf(fake, sizeof(fake), "E2FSPROGS_FAKE_TIME=%lld", epoch);
	const char *env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "TZ=UTC", sde, fake,
			      /* mtools: no drive checks, no user configuration */
			      "MTOOLS_SKIP_CHECK=1", "MTOOLSRC=/dev/null", NULL };
	struct sy_child c = SY_CHILD_INIT;

	if (log_fd >= 0) {
		dprintf(log_fd, "$");
		for (size_t i = 0; argv[i]; i++)
			dprintf(log_fd, " %s", argv[i]);
		dprintf(log_fd, "%s%s\n", stdin_path ? " < " : "", stdin_path ? stdin_path : "");
	}
	c.argv = argv;
	c.env = env;
	c.log_fd = log_fd >= 0 ? log_fd : SY_CHILD_DEVNULL;
	c.close_fds = 1;
	c.timeout_s = TOOL_TIMEOUT_S;
	if (stdin_path) {
		c.child_fn = stdin_from;
		c.child_arg = (void *)stdin_path;
	}
	if (sy_child_run(&c, err))
		return -1;
	sy_child_release(&c);
	if (c.timed_out)
		return sy_error_set(err, "%s: timed out after %d s", argv[0], TOOL_TIMEOUT_S);
	if (c.signal)
		return sy_error_set(err, "%s: killed by signal %d", argv[0], c.signal);
	if (c.status)
		return sy_error_set(err, "%s exited with status %d", argv[0], c.status);
	return 0;
}

/* Creates path as a sparse file of bytes bytes. */
static int sparse_file(const char *path, uint64_t bytes, struct sy_error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc = 0;

	if (fd < 0 || ftruncate(fd, (off_t)bytes) < 0)
		rc = sy_error_set(err, "%s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

/* The entries of dir (relative to top) in sorted order, recursively: the
 * directories in pre-order into dirs, the other entries into files. With
 * vfat set, an entry that is neither a directory nor a regular file is an
 * error. */
static int walk_sorted(const char *top, const char *rel, int vfat, struct sy_strv *dirs,
		       struct sy_strv *files, struct sy_error *err)
{
	char *path = sy_xasprintf("%s%s", top, rel);
	struct dirent **names = NULL;
	int n = scandir(path, &names, NULL, alphasort), rc = 0;

	if (n < 0)
		rc = sy_error_set(err, "%s: %s", path, strerror(errno));
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		char *sub = sy_xasprintf("%s/%s", rel, name);
		char *full = sy_xasprintf("%s%s", top, sub);
		struct stat st;
		if (rc || !strcmp(name, ".") || !strcmp(name, "..")) {
		} else if (lstat(full, &st) < 0) {
			rc = sy_error_set(err, "%s: %s", full, strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			sy_strv_push(dirs, sub);
			rc = walk_sorted(top, sub, vfat, dirs, files, err);
		} else if (S_ISREG(st.st_mode) || !vfat) {
			sy_strv_push(files, sub);
		} else {
			rc = sy_error_set(err, "%s: a %s cannot go on vfat", sub,
					  S_ISLNK(st.st_mode) ? "symbolic link" : "special file");
		}
		free(full);
		free(sub);
		free(names[i]);
	}
	free(names);
	free(path);
	return rc;
}

/* mke2fs -d copies each entry's change time, which no call can set: the
 * time the build wrote the tree. debugfs sets every inode's to the epoch,
 * the entries named in sorted order. */
static int stamp_ext_ctimes(const struct imager_fs_build *b, struct sy_error *err)
{
	struct sy_strv dirs = SY_STRV_INIT, files = SY_STRV_INIT, lines = SY_STRV_INIT;
	char *script_path = sy_xasprintf("%s.debugfs", b->image), *script = NULL;
	const char *argv[] = { "debugfs", "-w", "-f", script_path, b->image, NULL };
	int rc = walk_sorted(b->source, "", 0, &dirs, &files, err);

	sy_strv_pushf(&lines, "sif / ctime @%lld\n", b->epoch);
	for (size_t k = 0; rc == 0 && k < 2; k++) {
		const struct sy_strv *v = k ? &files : &dirs;
		for (size_t i = 0; rc == 0 && i < v->n; i++) {
			if (strpbrk(v->items[i], "\"\n"))
				rc = sy_error_set(err, "%s: a name with '\"' or a newline cannot be "
						  "stamped by debugfs", v->items[i]);
			sy_strv_pushf(&lines, "sif \"%s\" ctime @%lld\n", v->items[i], b->epoch);
		}
	}
	script = sy_strv_join(&lines, "");
	if (rc == 0)
		rc = sy_write_file(script_path, script, strlen(script), 0644, err);
	if (rc == 0)
		rc = imager_tool_run(argv, b->epoch, NULL, -1, err);
	unlink(script_path);
	free(script);
	free(script_path);
	sy_strv_release(&lines);
	sy_strv_release(&dirs);
	sy_strv_release(&files);
	return rc;
}

static int build_ext(const struct imager_fs_build *b, struct sy_error *err)
{
	const char *type = b->fs == IMAGER_FS_EXT2 ? "ext2" : b->fs == IMAGER_FS_EXT3 ? "ext3" : "ext4";
	char *ext = sy_xasprintf("hash_seed=%s,root_owner=0:0", b->hash_seed);
	const char *argv[16] = { "mke2fs", "-q", "-F", "-t", type, "-b", "4096", "-U", b->uuid,
				 "-E", ext };
	size_t n = 11;
	int rc;

	if (b->source) {
		argv[n++] = "-d";
		argv[n++] = b->source;
	}
	argv[n++] = b->image;
	rc = imager_tool_run(argv, b->epoch, NULL, b->log_fd, err);
	if (rc == 0 && b->source)
		rc = stamp_ext_ctimes(b, err);
	free(ext);
	return rc;
}

/* XFS bigtime timestamps (the kernel's fs/xfs/libxfs/xfs_format.h) count
 * nanoseconds from 2^31 seconds before 1970; xfs_db writes a bigtime
 * ".sec" field as that raw count. */
#define XFS_BIGTIME_EPOCH_OFFSET 2147483648LL

static unsigned long long xfs_bigtime(long long sec)
{
	return (unsigned long long)(sec + XFS_BIGTIME_EPOCH_OFFSET) * 1000000000ull;
}

/* A word a protofile and an xfs_db command line carry as it is: not
 * empty, not "$" (a protofile's end of directory), no white space or
 * control character. */
static int xfs_word_ok(const char *s)
{
	if (!s[0] || !strcmp(s, "$"))
		return 0;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if (isspace(*c) || *c < 0x20 || *c == 0x7f)
			return 0;
	return 1;
}

/* What the protofile walk writes. */
struct xfs_proto {
	const struct imager_fs_build *b;
	struct sy_strv proto; /* protofile lines */
	struct sy_strv db;    /* xfs_db commands */
};

/* The xfs_db commands that give the entry at rel ("/" for the top) its
 * mode and times. */
static void xfs_stamp(struct xfs_proto *x, const char *rel, const struct stat *st)
{
	sy_strv_pushf(&x->db, "path %s\n", rel);
	sy_strv_pushf(&x->db, "write core.mode 0%o\n", (unsigned)st->st_mode);
	sy_strv_pushf(&x->db, "write core.atime.sec %llu\n", xfs_bigtime(st->st_mtime));
	sy_strv_pushf(&x->db, "write core.mtime.sec %llu\n", xfs_bigtime(st->st_mtime));
	sy_strv_pushf(&x->db, "write core.ctime.sec %llu\n", xfs_bigtime(x->b->epoch));
	sy_strv_pushf(&x->db, "write v3.crtime.sec %llu\n", xfs_bigtime(x->b->epoch));
}

/* mkfs.xfs stamps the realtime bitmap and summary inodes with the build
 * time too: their modification, change and creation times become the
 * epoch (the bitmap's access time is the realtime allocator's sequence
 * number, which mkfs leaves 0, and stays). */
static void xfs_stamp_metadata(struct xfs_proto *x)
{
	static const char *const inodes[] = { "rbmino", "rsumino" };

	for (size_t i = 0; i < LEN(inodes); i++) {
		sy_strv_pushf(&x->db, "sb 0\naddr %s\n", inodes[i]);
		sy_strv_pushf(&x->db, "write core.mtime.sec %llu\n", xfs_bigtime(x->b->epoch));
		sy_strv_pushf(&x->db, "write core.ctime.sec %llu\n", xfs_bigtime(x->b->epoch));
		sy_strv_pushf(&x->db, "write v3.crtime.sec %llu\n", xfs_bigtime(x->b->epoch));
	}
}

/* "<type><u><g><octal>": a protofile's mode word. */
static void xfs_mode_word(mode_t m, char out[8])
{
	char t = S_ISDIR(m) ? 'd' : S_ISLNK(m) ? 'l' : S_ISBLK(m) ? 'b' : S_ISCHR(m) ? 'c'
		 : S_ISFIFO(m) ? 'p' : '-';

	snprintf(out, 8, "%c%c%c%03o", t, m & S_ISUID ? 'u' : '-', m & S_ISGID ? 'g' : '-',
		 (unsigned)(m & 0777));
}

/* The protofile line of the entry rel (full path full, stat st), and its
 * directory's entries after it when it is one. */
static int xfs_proto_dir(struct xfs_proto *x, const char *rel, struct sy_error *err);

static int xfs_proto_entry(struct xfs_proto *x, const char *rel, const char *name,
			   const struct stat *st, struct sy_error *err)
{
	char *full = sy_xasprintf("%s%s", x->b->source, rel), mode[8], target[4096];
	int rc = 0;

	xfs_mode_word(st->st_mode, mode);
	if (!xfs_word_ok(name))
		rc = sy_error_set(err, "%s: a name with white space cannot go in an xfs protofile",
				  rel);
	else if (S_ISSOCK(st->st_mode))
		rc = sy_error_set(err, "%s: a socket cannot go in an xfs protofile", rel);
	else if (S_ISREG(st->st_mode) && !xfs_word_ok(full))
		rc = sy_error_set(err, "%s: its source path has white space", full);
	if (rc)
		goto out;
	sy_strv_pushf(&x->proto, "%s %s %u %u", name, mode, (unsigned)st->st_uid,
		      (unsigned)st->st_gid);
	if (S_ISREG(st->st_mode)) {
		sy_strv_pushf(&x->proto, " %s\n", full);
	} else if (S_ISLNK(st->st_mode)) {
		ssize_t n = readlink(full, target, sizeof(target) - 1);
		if (n < 0) {
			rc = sy_error_set(err, "%s: %s", full, strerror(errno));
			goto out;
		}
		target[n] = '\0';
		if (!xfs_word_ok(target)) {
			rc = sy_error_set(err, "%s: a link target with white space cannot go in "
					  "an xfs protofile", rel);
			goto out;
		}
		sy_strv_pushf(&x->proto, " %s\n", target);
	} else if (S_ISBLK(st->st_mode) || S_ISCHR(st->st_mode)) {
		sy_strv_pushf(&x->proto, " %u %u\n", major(st->st_rdev), minor(st->st_rdev));
	} else {
		sy_strv_push(&x->proto, "\n");
	}
	xfs_stamp(x, rel, st);
	if (S_ISDIR(st->st_mode)) {
		rc = xfs_proto_dir(x, rel, err);
		sy_strv_push(&x->proto, "$\n");
	}
out:
	free(full);
	return rc;
}

static int xfs_proto_dir(struct xfs_proto *x, const char *rel, struct sy_error *err)
{
	char *path = sy_xasprintf("%s%s", x->b->source, rel);
	struct dirent **names = NULL;
	int n = scandir(path, &names, NULL, alphasort), rc = 0;

	if (n < 0)
		rc = sy_error_set(err, "%s: %s", path, strerror(errno));
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		char *sub = sy_xasprintf("%s/%s", rel, name);
		char *full = sy_xasprintf("%s%s", x->b->source, sub);
		struct stat st;
		if (rc || !strcmp(name, ".") || !strcmp(name, "..")) {
		} else if (lstat(full, &st) < 0) {
			rc = sy_error_set(err, "%s: %s", full, strerror(errno));
		} else {
			rc = xfs_proto_entry(x, sub, name, &st, err);
		}
		free(full);
		free(sub);
		free(names[i]);
	}
	free(names);
	free(path);
	return rc;
}

/* Runs the xfs_db commands at db_path on b->image, its output (one
 * "field = value" line per write) checked: xfs_db exits 0 whatever its
 * commands did. */
static int xfs_db_stamp(const struct imager_fs_build *b, const char *db_path,
			struct sy_error *err)
{
	char *out_path = sy_xasprintf("%s.xfs_db.out", b->image), *out = NULL;
	const char *argv[] = { "xfs_db", "-x", b->image, NULL };
	int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), rc = 0;

	if (fd < 0)
		rc = sy_error_set(err, "%s: %s", out_path, strerror(errno));
	if (rc == 0)
		rc = imager_tool_run(argv, b->epoch, db_path, fd, err);
	if (fd >= 0)
		close(fd);
	if (rc == 0)
		rc = sy_read_file(out_path, &out, NULL, err);
	for (char *line = out, *next; rc == 0 && line && *line; line = next) {
		next = strchr(line, '\n');
		next = next ? next + 1 : line + strlen(line);
		/* The first line is the command line imager_tool_run logs. */
		if (line != out && !strstr(line, " = ") && line[0] != '\n')
			rc = sy_error_set(err, "xfs_db: %.*s", (int)strcspn(line, "\n"), line);
	}
	free(out);
	unlink(out_path);
	free(out_path);
	return rc;
}

static int build_xfs(const struct imager_fs_build *b, struct sy_error *err)
{
	struct xfs_proto x = { b, SY_STRV_INIT, SY_STRV_INIT };
	char *proto_path = sy_xasprintf("%s.proto", b->image);
	char *db_path = sy_xasprintf("%s.xfs_db", b->image), *text = NULL;
	char *meta = sy_xasprintf("uuid=%s,crc=1,bigtime=1", b->uuid);
	const char *argv[] = { "mkfs.xfs", "-q", "-f", "-m", meta, "-p", proto_path, b->image, NULL };
	struct stat st;
	int rc = 0;

	if (b->bytes < IMAGER_XFS_MIN_BYTES)
		rc = sy_error_set(err, "xfs needs at least %llu MiB, the partition has %llu MiB",
				  IMAGER_XFS_MIN_BYTES >> 20, (unsigned long long)(b->bytes >> 20));
	/* The first two lines (boot image, block and inode counts) are
	 * read and not used. */
	sy_strv_push(&x.proto, "/dev/null\n0 0\n");
	if (rc == 0 && b->source && lstat(b->source, &st) < 0)
		rc = sy_error_set(err, "%s: %s", b->source, strerror(errno));
	if (rc == 0 && b->source) {
		char mode[8];
		xfs_mode_word(st.st_mode, mode);
		sy_strv_pushf(&x.proto, "%s %u %u\n", mode, (unsigned)st.st_uid, (unsigned)st.st_gid);
		xfs_stamp(&x, "/", &st);
		xfs_stamp_metadata(&x);
		rc = xfs_proto_dir(&x, "", err);
		sy_strv_push(&x.proto, "$\n");
	} else if (rc == 0) {
		const struct stat empty = { .st_mode = S_IFDIR | 0755, .st_mtime = b->epoch };
		sy_strv_push(&x.proto, "d--755 0 0\n$\n");
		xfs_stamp(&x, "/", &empty);
		xfs_stamp_metadata(&x);
	}
	text = sy_strv_join(&x.proto, "");
	if (rc == 0)
		rc = sy_write_file(proto_path, text, strlen(text), 0644, err);
	if (rc == 0)
		rc = imager_tool_run(argv, b->epoch, NULL, b->log_fd, err);
	free(text);
	text = sy_strv_join(&x.db, "");
	if (rc == 0 && x.db.n)
		rc = sy_write_file(db_path, text, strlen(text), 0644, err);
	if (rc == 0 && x.db.n)
		rc = xfs_db_stamp(b, db_path, err);
	unlink(proto_path);
	unlink(db_path);
	free(text);
	free(meta);
	free(db_path);
	free(proto_path);
	sy_strv_release(&x.proto);
	sy_strv_release(&x.db);
	return rc;
}

/* The directory part of a relative path "/a/b" ("" for "/b"). */
static char *dir_part(const char *rel)
{
	return sy_xstrndup(rel, (size_t)(strrchr(rel, '/') - rel));
}

/* mmd of every directory (one call, parents first), then one mcopy per
 * directory with its files in sorted order: FAT keeps entries in the order
 * they are added, so the order must not depend on the source's readdir. */
static int fill_vfat(const struct imager_fs_build *b, struct sy_error *err)
{
	struct sy_strv dirs = SY_STRV_INIT, files = SY_STRV_INIT, argv = SY_STRV_INIT;
	const char *image_arg = b->image;
	int rc = walk_sorted(b->source, "", 1, &dirs, &files, err);

	if (rc == 0 && dirs.n) {
		const char *head[] = { "mmd", "-i", image_arg };
		for (size_t i = 0; i < LEN(head); i++)
			sy_strv_push(&argv, head[i]);
		for (size_t i = 0; i < dirs.n; i++)
			sy_strv_pushf(&argv, "::%s", dirs.items[i]);
		rc = imager_tool_run((const char *const *)argv.items, b->epoch, NULL, b->log_fd, err);
	}
	for (size_t i = 0; rc == 0 && i < files.n;) {
		char *dir = dir_part(files.items[i]);
		sy_strv_release(&argv);
		const char *head[] = { "mcopy", "-p", "-m", "-i", image_arg };
		for (size_t k = 0; k < LEN(head); k++)
			sy_strv_push(&argv, head[k]);
		for (; i < files.n; i++) {
			char *d = dir_part(files.items[i]);
			int same = !strcmp(d, dir);
			free(d);
			if (!same)
				break;
			sy_strv_pushf(&argv, "%s%s", b->source, files.items[i]);
		}
		sy_strv_pushf(&argv, "::%s/", dir);
		rc = imager_tool_run((const char *const *)argv.items, b->epoch, NULL, b->log_fd, err);
		free(dir);
	}
	sy_strv_release(&argv);
	sy_strv_release(&dirs);
	sy_strv_release(&files);
	return rc;
}

static int build_vfat(const struct imager_fs_build *b, struct sy_error *err)
{
	char volid[9];
	const char *argv[16] = { "mkfs.vfat", "-i", volid, "--invariant" };
	size_t n = 4;

	/* The volume id: the UUID's first 8 hex digits. */
	for (size_t i = 0; i < 8; i++)
		volid[i] = b->uuid[i];
	volid[8] = '\0';
	if (!strcmp(b->fs_type, "fat32") && b->bytes >= FAT32_MIN_BYTES) {
		argv[n++] = "-F";
		argv[n++] = "32";
		argv[n++] = "-s";
		argv[n++] = "1";
	} else if (!strcmp(b->fs_type, "fat16") || !strcmp(b->fs_type, "fat12")) {
		argv[n++] = "-F";
		argv[n++] = b->fs_type + 3;
	}
	argv[n++] = b->image;
	if (imager_tool_run(argv, b->epoch, NULL, b->log_fd, err))
		return -1;
	return b->source ? fill_vfat(b, err) : 0;
}

int imager_fs_build(const struct imager_fs_build *b, struct sy_error *err)
{
	int rc = sparse_file(b->image, b->bytes, err);

	if (rc)
		return rc;
	switch (b->fs) {
	case IMAGER_FS_NONE:
		break;
	case IMAGER_FS_EXT2:
	case IMAGER_FS_EXT3:
	case IMAGER_FS_EXT4:
		rc = build_ext(b, err);
		break;
	case IMAGER_FS_VFAT:
		rc = build_vfat(b, err);
		break;
	case IMAGER_FS_XFS:
		rc = build_xfs(b, err);
		break;
	case IMAGER_FS_SWAP: {
		const char *argv[] = { "mkswap", "-U", b->uuid, b->image, NULL };
		rc = imager_tool_run(argv, b->epoch, NULL, b->log_fd, err);
		break;
	}
	}
	if (rc)
		sy_error_prefix(err, "%s", sy_base_name(b->image));
	return rc;
}

int imager_squashfs_build(const char *source, const char *image, long long epoch, int log_fd,
			  struct sy_error *err)
{
	const char *argv[] = { "mksquashfs", source, image, "-noappend", "-quiet", "-no-progress",
			       "-comp", "gzip", NULL };

	unlink(image);
	if (imager_tool_run(argv, epoch, NULL, log_fd, err))
		return sy_error_prefix(err, "%s", sy_base_name(image));
	return 0;
}

int imager_iso_build(const char *source, const char *efi_image, const char *volume,
		     const char *iso, long long epoch, int log_fd, struct sy_error *err)
{
	char *root = sy_xasprintf("/=%s", source);
	char *efi = efi_image ? sy_xasprintf("/efiboot.img=%s", efi_image) : NULL;
	const char *argv[24] = { "xorriso", "-as", "mkisofs", "-quiet", "-R", "-V", volume,
				 "-o", iso, "-graft-points", root };
	size_t n = 11;
	int rc;

	if (efi) {
		const struct timespec t[2] = { { (time_t)epoch, 0 }, { (time_t)epoch, 0 } };
		if (utimensat(AT_FDCWD, efi_image, t, 0) < 0) {
			rc = sy_error_set(err, "%s: %s", efi_image, strerror(errno));
			goto out;
		}
		/* UEFI El Torito: the ESP image is the boot image of an
		 * alternative boot entry, as grub-mkrescue lays it out. */
		argv[n++] = efi;
		argv[n++] = "-eltorito-alt-boot";
		argv[n++] = "-e";
		argv[n++] = "/efiboot.img";
		argv[n++] = "-no-emul-boot";
	}
	/* Native commands after the emulation: every file's access and change
	 * time recorded as its modification time (reading the tree for other
	 * artifacts moved its access times). */
	argv[n++] = "--";
	argv[n++] = "-volume_date";
	argv[n++] = "all_file_dates";
	argv[n++] = "set_to_mtime";
	unlink(iso);
	rc = imager_tool_run(argv, epoch, NULL, log_fd, err);
	if (rc)
		sy_error_prefix(err, "%s", sy_base_name(iso));
out:
	free(efi);
	free(root);
	return rc;
}

/* nftw has no argument for its callback: one clamp runs at a time per
 * process (the image stage composes one config after the other). */
static long long clamp_epoch;
static struct sy_error *clamp_err;

static int clamp_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)type;
	(void)ftw;
	time_t t = st->st_mtime > clamp_epoch ? (time_t)clamp_epoch : st->st_mtime;
	struct timespec times[2] = { { t, 0 }, { t, 0 } };

	if (st->st_atim.tv_sec == t && st->st_atim.tv_nsec == 0 && st->st_mtim.tv_sec == t &&
	    st->st_mtim.tv_nsec == 0)
		return 0;
	if (utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW) < 0) {
		sy_error_set(clamp_err, "%s: %s", path, strerror(errno));
		return 1;
	}
	return 0;
}

int imager_tree_clamp_times(const char *root, long long epoch, struct sy_error *err)
{
	struct sy_error local = { { 0 } };
	int rc;

	clamp_epoch = epoch;
	clamp_err = &local;
	/* FTW_PHYS: the tree was written by package scriptlets; its links
	 * are never followed. FTW_DEPTH: a directory's times are set after
	 * its entries were visited (and their access did not touch it). */
	rc = nftw(root, clamp_one, 64, FTW_PHYS | FTW_MOUNT | FTW_DEPTH);
	clamp_err = NULL;
	if (rc == 0)
		return 0;
	if (rc < 0 && !local.msg[0])
		sy_error_set(&local, "%s: %s", root, strerror(errno));
	return sy_error_set(err, "%s", local.msg);
}
