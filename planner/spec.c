/* Reading specs with librpm in forked children. A spec is untrusted code
 * (DESIGN.md, "Trust": %() runs shell commands, %{lua:} runs Lua), so as root
 * each child first builds a sandbox: new mount, network, IPC, UTS and PID
 * namespaces, a root directory on a tmpfs holding read-only binds of /usr and
 * /etc (plus the host's /bin, /sbin, /lib* links), /dev/null, /dev/zero,
 * /dev/urandom, a fresh /tmp, the macro context read-only at its host path
 * and a tmpfs as scratch directory at the path of the child's private
 * directory (the spec is written there), pivot_root into it, an
 * environment of PATH, HOME and LANG only, and user nobody (65534) with
 * no_new_privs. Under the sandbox's pid 1 it applies the macro context,
 * parses one spec with rpmSpecParse (the flags rpmspec -q uses:
 * RPMSPEC_ANYARCH | RPMSPEC_FORCE) and writes what shipyard needs of it as one
 * JSON document into a pipe; the parent decodes it into struct planner_spec.
 * When pid 1 exits the kernel kills whatever the spec left running. The
 * process tree: shipyard -> reader (sets up, waits) -> pid 1 (reaps) ->
 * parser; a parser that is not pid 1 can still be killed by its own
 * commands, as a crash would. */
#define _GNU_SOURCE
#include "planner/spec.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <popt.h>
#include <rpm/rpmbuild.h>
#include <rpm/rpmds.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmmacro.h>
#include <rpm/rpmspec.h>
#include <rpm/rpmtag.h>
#include <rpm/rpmtd.h>

#include "common/fs.h"

#define CHILD_TIMEOUT_S 60
/* Who the spec's code runs as in the sandbox: nobody/nogroup. */
#define SANDBOX_UID 65534
#define SANDBOX_GID 65534
/* Exit status of a child whose sandbox could not be set up; the reason is
 * what it wrote into the result pipe. */
#define EXIT_SANDBOX 3
#define DEP_CMP_BITS (PLANNER_DEP_LESS | PLANNER_DEP_GREATER | PLANNER_DEP_EQUAL)

/* ------------------------------------------------------------------------ */
/* Child: parse one spec and write JSON.                                     */

/* First error librpm logged while reading the spec. */
struct log_capture {
	char *first_error;
};

static int log_callback(rpmlogRec rec, rpmlogCallbackData data)
{
	struct log_capture *cap = data;

	if (rpmlogRecPriority(rec) <= RPMLOG_ERR && !cap->first_error)
		cap->first_error = sy_xstrdup(rpmlogRecMessage(rec));
	return 0; /* never print */
}

/* A JSON string for s; bytes jansson refuses (invalid UTF-8) become '?'. */
static json_t *json_str(const char *s)
{
	json_t *j;
	char *copy;

	if (!s)
		return json_null();
	j = json_string(s);
	if (j)
		return j;
	copy = sy_xstrdup(s);
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

static int deps_contain(json_t *arr, const char *name, int flags, const char *evr)
{
	size_t i;
	json_t *d;

	json_array_foreach(arr, i, d) {
		const char *n = json_string_value(json_object_get(d, "n"));
		const char *v = json_string_value(json_object_get(d, "v"));

		if (n && strcmp(n, name) == 0 && json_integer_value(json_object_get(d, "f")) == flags &&
		    ((!v && !evr) || (v && evr && strcmp(v, evr) == 0)))
			return 1;
	}
	return 0;
}

/* The dependencies of tag (RPMTAG_PROVIDENAME, RPMTAG_REQUIRENAME) in h as a
 * JSON array of {"n": name, "f": comparison bits, "v": evr}; rpmlib()
 * entries and exact duplicates (Requires(post) and Requires(postun) of the
 * same thing) are left out. */
static json_t *deps_json(Header h, rpmTagVal tag)
{
	json_t *arr = json_array();
	rpmds ds = rpmdsNew(h, tag, 0);

	while (ds && rpmdsNext(ds) >= 0) {
		const char *name = rpmdsN(ds);
		int flags = (int)(rpmdsFlags(ds) & DEP_CMP_BITS);
		const char *evr = flags ? rpmdsEVR(ds) : NULL;
		json_t *d;

		if (!name || strncmp(name, "rpmlib(", 7) == 0)
			continue;
		if (evr && !*evr)
			evr = NULL, flags = 0;
		if (deps_contain(arr, name, flags, evr))
			continue;
		d = json_object();
		json_object_set_new(d, "n", json_str(name));
		json_object_set_new(d, "f", json_integer(flags));
		json_object_set_new(d, "v", json_str(evr));
		json_array_append_new(arr, d);
	}
	rpmdsFree(ds);
	return arr;
}

static json_t *string_array_tag(Header h, rpmTagVal tag)
{
	json_t *arr = json_array();
	struct rpmtd_s td;
	const char *s;

	if (headerGet(h, tag, &td, HEADERGET_MINMEM)) {
		while ((s = rpmtdNextString(&td)))
			json_array_append_new(arr, json_str(s));
		rpmtdFreeData(&td);
	}
	return arr;
}

static json_t *string_tag(Header h, rpmTagVal tag)
{
	char *s = headerGetAsString(h, tag);
	json_t *j = json_str(s);

	free(s);
	return j;
}

/* Whether one "%files" line names the package pkgname: "%files" alone names
 * the main package, "%files x" names "<main>-x", "%files -n x" names "x";
 * "-f file" is skipped. The line is split with popt, as rpm's own section
 * parser does. */
static int files_line_names(const char *line, const char *pkgname, const char *mainname)
{
	size_t mlen = strlen(mainname);
	const char **argv = NULL;
	const char *name = NULL;
	int argc = 0, full = 0, found;

	if (poptParseArgvString(line, &argc, &argv) != 0)
		return 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0)
			full = 1;
		else if (strcmp(argv[i], "-f") == 0)
			i++;
		else if (argv[i][0] != '-')
			name = argv[i];
	}
	if (!name)
		found = strcmp(pkgname, mainname) == 0;
	else if (full)
		found = strcmp(pkgname, name) == 0;
	else
		found = strncmp(pkgname, mainname, mlen) == 0 && pkgname[mlen] == '-' &&
			strcmp(pkgname + mlen + 1, name) == 0;
	free(argv);
	return found;
}

/* Whether the preprocessed spec text has a "%files" line for pkgname. */
static int spec_text_has_files(const char *text, const char *pkgname, const char *mainname)
{
	const char *line = text;
	int found = 0;

	while (line && *line && !found) {
		const char *end = strchrnul(line, '\n');

		if (strncmp(line, "%files", 6) == 0 &&
		    (line[6] == ' ' || line[6] == '\t' || line + 6 == end)) {
			char *copy = strndup(line, (size_t)(end - line));

			found = files_line_names(copy, pkgname, mainname);
			free(copy);
		}
		line = *end ? end + 1 : NULL;
	}
	return found;
}

/* Whether pkg produces an RPM, as rpmspec --builtrpms decides: it has a
 * %files section. librpm returns the section's text, which is NULL both for
 * a package without %files and for an empty %files; the preprocessed spec
 * text (rpmSpecGetSection with RPMBUILD_NONE) tells those apart. */
static int package_has_files(rpmSpec spec, rpmSpecPkg pkg, const char *pkgname,
			     const char *mainname)
{
	char *list = rpmSpecPkgGetSection(pkg, RPMBUILD_FILE_LIST);
	char *file = rpmSpecPkgGetSection(pkg, RPMBUILD_FILE_FILE);
	int found = list || file;

	free(list);
	free(file);
	if (!found && pkgname && mainname)
		found = spec_text_has_files(rpmSpecGetSection(spec, RPMBUILD_NONE), pkgname,
					    mainname);
	return found;
}

static json_t *package_json(Header h, const char *fallback_arch)
{
	json_t *p = json_object();
	const char *arch = headerGetString(h, RPMTAG_ARCH);

	json_object_set_new(p, "name", json_str(headerGetString(h, RPMTAG_NAME)));
	json_object_set_new(p, "evr", string_tag(h, RPMTAG_EVR));
	json_object_set_new(p, "arch", json_str(arch ? arch : fallback_arch));
	json_object_set_new(p, "provides", deps_json(h, RPMTAG_PROVIDENAME));
	json_object_set_new(p, "requires", deps_json(h, RPMTAG_REQUIRENAME));
	return p;
}

static json_t *packages_json(rpmSpec spec, const char *mainname, const char *fallback_arch)
{
	json_t *arr = json_array();
	rpmSpecPkgIter it = rpmSpecPkgIterInit(spec);
	rpmSpecPkg pkg;

	while ((pkg = rpmSpecPkgIterNext(it))) {
		Header h = rpmSpecPkgHeader(pkg);

		if (package_has_files(spec, pkg, headerGetString(h, RPMTAG_NAME), mainname))
			json_array_append_new(arr, package_json(h, fallback_arch));
	}
	rpmSpecPkgIterFree(it);
	return arr;
}

/* Source and Patch basenames; librpm keeps them newest first, so the lists
 * are reversed to get spec order. */
static void sources_json(rpmSpec spec, json_t *obj)
{
	json_t *sources = json_array(), *patches = json_array();
	rpmSpecSrcIter it = rpmSpecSrcIterInit(spec);
	rpmSpecSrc src;

	while ((src = rpmSpecSrcIterNext(it))) {
		rpmSourceFlags flags = rpmSpecSrcFlags(src);
		json_t *name = json_str(rpmSpecSrcFilename(src, 0));

		if (flags & RPMBUILD_ISSOURCE)
			json_array_insert_new(sources, 0, name);
		else if (flags & RPMBUILD_ISPATCH)
			json_array_insert_new(patches, 0, name);
		else
			json_decref(name);
	}
	rpmSpecSrcIterFree(it);
	json_object_set_new(obj, "sources", sources);
	json_object_set_new(obj, "patches", patches);
}

static json_t *spec_json(rpmSpec spec, const char *fallback_arch)
{
	Header h = rpmSpecSourceHeader(spec);
	json_t *obj = json_object();
	const char *name = headerGetString(h, RPMTAG_NAME);

	json_object_set_new(obj, "name", json_str(name));
	json_object_set_new(obj, "epoch",
			    headerIsEntry(h, RPMTAG_EPOCH) ? string_tag(h, RPMTAG_EPOCH) : json_null());
	json_object_set_new(obj, "version", json_str(headerGetString(h, RPMTAG_VERSION)));
	json_object_set_new(obj, "release", json_str(headerGetString(h, RPMTAG_RELEASE)));
	json_object_set_new(obj, "packages", packages_json(spec, name, fallback_arch));
	json_object_set_new(obj, "buildrequires", deps_json(h, RPMTAG_REQUIRENAME));
	sources_json(spec, obj);
	json_object_set_new(obj, "exclusive_arch", string_array_tag(h, RPMTAG_EXCLUSIVEARCH));
	json_object_set_new(obj, "exclude_arch", string_array_tag(h, RPMTAG_EXCLUDEARCH));
	return obj;
}

/* Replaces every occurrence of from in s by to; returns a new string. */
static char *replace_all(const char *s, const char *from, const char *to)
{
	size_t flen = strlen(from), tlen = strlen(to), n = 0;
	const char *p;
	char *out, *q;

	for (p = strstr(s, from); flen && p; p = strstr(p + flen, from))
		n++;
	out = q = sy_xmalloc(strlen(s) + n * tlen + 1);
	while (flen && (p = strstr(s, from))) {
		memcpy(q, s, (size_t)(p - s));
		q += p - s;
		memcpy(q, to, tlen);
		q += tlen;
		s = p + flen;
	}
	strcpy(q, s);
	return out;
}

/* One line: "<path>: <librpm message>", the temporary file name replaced by
 * the repository path, newlines folded. */
static char *error_line(const char *path, const char *tmpfile, const char *msg)
{
	char *clean = replace_all(msg ? msg : "rpmSpecParse failed", tmpfile, path);
	char *line;
	size_t len = strlen(clean);

	while (len && (clean[len - 1] == '\n' || clean[len - 1] == ' '))
		clean[--len] = '\0';
	for (char *p = clean; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	line = sy_xasprintf("%s: %s", path, clean);
	free(clean);
	return line;
}

static json_t *error_json(char *msg)
{
	json_t *obj = json_object();

	json_object_set_new(obj, "error", json_str(msg));
	free(msg);
	return obj;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;

	return *base ? base : "spec.spec";
}

/* Writes the spec into dir (private, made by the parent) and parses it there. */
static json_t *child_parse(const struct planner_spec_input *in, const struct planner_macro_ctx *ctx,
			   const char *dir, struct log_capture *cap)
{
	struct sy_error err = { { 0 } };
	char *file = sy_xasprintf("%s/%s", dir, base_name(in->path));
	rpmSpec spec = NULL;
	json_t *res;

	if (sy_write_file(file, in->content, in->len, 0644, &err) != 0) {
		res = error_json(sy_xasprintf("%s: %s", in->path, err.msg));
		goto out;
	}
	rpmPushMacro(NULL, "_sourcedir", NULL, dir, RMIL_CMDLINE);
	rpmPushMacro(NULL, "_specdir", NULL, dir, RMIL_CMDLINE);
	spec = rpmSpecParse(file, RPMSPEC_ANYARCH | RPMSPEC_FORCE, NULL);
	if (!spec)
		res = error_json(error_line(in->path, file, cap->first_error));
	else
		res = spec_json(spec, ctx->target_arch);
out:
	rpmSpecFree(spec);
	free(file);
	return res;
}

static void redirect_stdio(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	close(fd);
}

/* Closes every descriptor but stdio and keep, so that no host file or
 * directory stays reachable (an open directory would let openat() leave the
 * sandbox). */
static void close_other_fds(int keep)
{
	if (keep > 3)
		close_range(3, (unsigned)keep - 1, 0);
	close_range((unsigned)keep + 1, ~0U, 0);
}

/* Writes res into the pipe in one piece (json_dumpfd writes each token
 * separately, waking the parent each time) and exits; never returns. */
static void write_result(json_t *res, int out_fd)
{
	char *text = json_dumps(res, JSON_COMPACT);
	size_t len = text ? strlen(text) : 0, done = 0;

	if (!text)
		_exit(2);
	while (done < len) {
		ssize_t n = write(out_fd, text + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(2);
		done += (size_t)n;
	}
	close(out_fd); /* EOF now, not after the exit's teardown */
	_exit(0);
}

/* Applies the macro context, parses the spec in scratch and writes the JSON
 * result to out_fd; never returns. */
static void parse_and_exit(const struct planner_spec_input *in, const struct planner_macro_ctx *ctx,
			   const char *scratch, int out_fd)
{
	struct log_capture cap = { NULL };
	struct sy_error err = { { 0 } };
	json_t *res;

	rpmlogSetCallback(log_callback, &cap);
	if (planner_macro_ctx_apply(ctx, &err) != 0) {
		res = error_json(sy_xasprintf("%s: macro context: %s", in->path, err.msg));
	} else {
		/* What the macro files logged is not the spec's error. */
		free(cap.first_error);
		cap.first_error = NULL;
		res = child_parse(in, ctx, scratch, &cap);
	}
	write_result(res, out_fd);
}

/* Reports a sandbox that could not be set up: err's message goes into the
 * result pipe and the child exits with EXIT_SANDBOX; never returns. */
static void sandbox_fail(int out_fd, const struct sy_error *err)
{
	size_t len = strlen(err->msg);

	if (write(out_fd, err->msg, len) != (ssize_t)len)
		_exit(2);
	_exit(EXIT_SANDBOX);
}

/* root + path ("/usr" under "/x/root" is "/x/root/usr"), newly allocated. */
static char *under(const char *root, const char *path)
{
	return sy_xasprintf("%s%s", root, path);
}

/* Bind-mounts the directory or file path of the host at the same path under
 * root (creating the mount point), then remounts it with flags (MS_RDONLY,
 * MS_NOSUID, MS_NODEV); flags 0 leaves the bind as it is (device nodes). */
static int bind_path(const char *root, const char *path, int is_dir, unsigned long flags,
		     struct sy_error *err)
{
	char *target = under(root, path);
	int rc = -1, fd;

	if (is_dir) {
		if (sy_mkdir_p(target, 0755, err) != 0)
			goto out;
	} else {
		fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0) {
			sy_error_set(err, "sandbox: create %s: %s", path, strerror(errno));
			goto out;
		}
		close(fd);
	}
	if (mount(path, target, NULL, MS_BIND, NULL) != 0) {
		sy_error_set(err, "sandbox: bind %s: %s", path, strerror(errno));
		goto out;
	}
	if (flags && mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | flags, NULL) != 0) {
		sy_error_set(err, "sandbox: remount %s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(target);
	return rc;
}

/* Makes the top-level path (/bin, /lib64...) under root what it is on the
 * host: the same symbolic link ("usr/bin" on merged-/usr systems), or a
 * read-only bind of the directory; nothing when the host has none. */
static int mirror_top_level(const char *root, const char *path, struct sy_error *err)
{
	char link[256], *target;
	struct stat st;
	ssize_t n;
	int rc;

	if (lstat(path, &st) != 0)
		return 0;
	if (S_ISDIR(st.st_mode))
		return bind_path(root, path, 1, MS_RDONLY | MS_NOSUID | MS_NODEV, err);
	if (!S_ISLNK(st.st_mode))
		return 0;
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return sy_error_set(err, "sandbox: readlink %s: %s", path, strerror(errno));
	link[n] = '\0';
	target = under(root, path);
	rc = symlink(link, target);
	free(target);
	if (rc != 0)
		return sy_error_set(err, "sandbox: symlink %s: %s", path, strerror(errno));
	return 0;
}

/* Mounts a tmpfs on root + path (created if needed) with the given
 * options. */
static int mount_tmpfs(const char *root, const char *path, const char *opts, struct sy_error *err)
{
	char *target = under(root, path);
	int rc = 0;

	if (sy_mkdir_p(target, 0755, err) != 0)
		rc = -1;
	else if (mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0)
		rc = sy_error_set(err, "sandbox: tmpfs on %s: %s", *path ? path : "/",
				  strerror(errno));
	free(target);
	return rc;
}

/* Fills the new root (a tmpfs mounted on root): read-only /usr and /etc, the
 * host's /bin, /sbin, /lib* links or directories, /dev/null, /dev/zero and
 * /dev/urandom, a fresh /tmp, the macro context read-only at its host path
 * and at scratch a tmpfs that the sandbox's user owns. Tmpfs everywhere:
 * nothing the spec writes reaches the host's disks. */
static int sandbox_populate(const char *root, const char *ctx_dir, const char *scratch,
			    struct sy_error *err)
{
	static const char *const top[] = { "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32" };
	static const char *const devs[] = { "/dev/null", "/dev/zero", "/dev/urandom" };
	const unsigned long ro = MS_RDONLY | MS_NOSUID | MS_NODEV;
	char *dev = under(root, "/dev"), opts[64];
	int rc = sy_mkdir_p(dev, 0755, err);

	free(dev);
	if (rc != 0 || bind_path(root, "/usr", 1, ro, err) != 0 ||
	    bind_path(root, "/etc", 1, ro, err) != 0)
		return -1;
	for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++)
		if (mirror_top_level(root, top[i], err) != 0)
			return -1;
	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++)
		if (bind_path(root, devs[i], 0, 0, err) != 0)
			return -1;
	/* /tmp first: the context and scratch directories may lie under it. */
	if (mount_tmpfs(root, "/tmp", "mode=1777,size=64m", err) != 0)
		return -1;
	if (ctx_dir && bind_path(root, ctx_dir, 1, ro, err) != 0)
		return -1;
	snprintf(opts, sizeof(opts), "mode=0755,size=64m,uid=%d,gid=%d", SANDBOX_UID, SANDBOX_GID);
	return mount_tmpfs(root, scratch, opts, err);
}

/* Enters new mount, network, IPC, UTS and PID namespaces (the PID namespace
 * applies to the next child) and makes a tmpfs mounted on dir (an empty
 * private directory), filled by sandbox_populate with dir as the scratch
 * directory, the root directory; the old root is detached. */
static int reader_sandbox_enter(const char *dir, const char *ctx_dir, struct sy_error *err)
{
	if (unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID) != 0)
		return sy_error_set(err, "sandbox: unshare: %s", strerror(errno));
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return sy_error_set(err, "sandbox: make mounts private: %s", strerror(errno));
	if (mount_tmpfs(dir, "", "mode=0755,size=1m", err) != 0 ||
	    sandbox_populate(dir, ctx_dir, dir, err) != 0)
		return -1;
	if (chdir(dir) != 0 || syscall(SYS_pivot_root, ".", ".") != 0 ||
	    umount2(".", MNT_DETACH) != 0 || chdir("/") != 0)
		return sy_error_set(err, "sandbox: pivot_root: %s", strerror(errno));
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) != 0)
		return sy_error_set(err, "sandbox: remount / read-only: %s", strerror(errno));
	(void)sethostname("shipyard-spec", strlen("shipyard-spec"));
	return 0;
}

/* A minimal environment, the same for every spec. */
static void reset_environment(void)
{
	clearenv();
	setenv("PATH", "/usr/bin:/bin", 1);
	setenv("HOME", "/", 1);
	setenv("LANG", "C", 1);
}

/* Drops root for SANDBOX_UID/SANDBOX_GID for good, with no supplementary
 * groups and no way back through set-user-ID programs. */
static int drop_privileges(struct sy_error *err)
{
	if (setgroups(0, NULL) != 0 || setresgid(SANDBOX_GID, SANDBOX_GID, SANDBOX_GID) != 0 ||
	    setresuid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID) != 0)
		return sy_error_set(err, "sandbox: drop privileges: %s", strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return sy_error_set(err, "sandbox: no_new_privs: %s", strerror(errno));
	return 0;
}

/* Waits for pid, reaping any other child on the way (an init process gets
 * the orphans of its namespace). Returns pid's wait status. */
static int wait_for(pid_t pid)
{
	int status = 0;
	pid_t got;

	do
		got = waitpid(-1, &status, 0);
	while (got != pid && (got >= 0 || errno == EINTR));
	return status;
}

/* Ends the calling process the way status says the child ended: the same
 * exit code or the same signal. Never returns. */
static void exit_like(int status)
{
	struct rlimit no_core = { 0, 0 };
	int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;

	if (!sig && WIFEXITED(status) && WEXITSTATUS(status) > 128 &&
	    WEXITSTATUS(status) < 128 + NSIG)
		sig = WEXITSTATUS(status) - 128; /* an init process cannot raise it */
	if (!sig)
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 2);
	setrlimit(RLIMIT_CORE, &no_core);
	signal(sig, SIG_DFL);
	kill(getpid(), sig);
	_exit(128 + sig);
}

/* Pid 1 of the sandbox's PID namespace: starts the parser, reaps orphans and
 * exits with the parser (a signal as 128 + number). When it exits the kernel
 * kills whatever the spec left running. Never returns. */
static void sandbox_init(const struct planner_spec_input *in, const struct planner_macro_ctx *ctx,
			 const char *scratch, int out_fd)
{
	struct sy_error err = { { 0 } };
	pid_t pid;
	int status;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	pid = fork();
	if (pid < 0) {
		sy_error_set(&err, "sandbox: fork: %s", strerror(errno));
		sandbox_fail(out_fd, &err);
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (drop_privileges(&err) != 0)
			sandbox_fail(out_fd, &err);
		parse_and_exit(in, ctx, scratch, out_fd);
	}
	close(out_fd);
	status = wait_for(pid);
	if (WIFSIGNALED(status))
		_exit(128 + WTERMSIG(status));
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 2);
}

/* Sets up the sandbox (see planner_specs_read) in the calling child, as
 * root, and runs the parse in it; never returns. Any failure ends the child
 * with EXIT_SANDBOX and the reason in out_fd: the spec is never parsed
 * outside the sandbox. */
static void sandboxed_main(const struct planner_spec_input *in, const struct planner_macro_ctx *ctx,
			   const char *dir, int out_fd)
{
	struct sy_error err = { { 0 } };
	pid_t pid;

	if (reader_sandbox_enter(dir, ctx->dir, &err) != 0)
		sandbox_fail(out_fd, &err);
	reset_environment();
	pid = fork();
	if (pid < 0) {
		sy_error_set(&err, "sandbox: fork: %s", strerror(errno));
		sandbox_fail(out_fd, &err);
	}
	if (pid == 0)
		sandbox_init(in, ctx, dir, out_fd);
	close(out_fd);
	exit_like(wait_for(pid));
}

/* The child's whole life: never returns. As root, the spec is parsed in the
 * sandbox; otherwise (a developer's unprivileged run, where namespaces and
 * mounts are not available) in the child itself, without network when the
 * kernel allows an unprivileged CLONE_NEWNET. */
static void child_main(const struct planner_spec_input *in, const struct planner_macro_ctx *ctx,
		       const char *dir, int out_fd)
{
	setpgid(0, 0);
	if (out_fd < 3)
		out_fd = fcntl(out_fd, F_DUPFD_CLOEXEC, 3); /* stdio is about to be replaced */
	if (out_fd < 0)
		_exit(2);
	redirect_stdio();
	close_other_fds(out_fd);
	signal(SIGPIPE, SIG_DFL);
	if (geteuid() == 0)
		sandboxed_main(in, ctx, dir, out_fd);
	(void)unshare(CLONE_NEWNET);
	parse_and_exit(in, ctx, dir, out_fd);
}

/* ------------------------------------------------------------------------ */
/* The JSON form of a spec: written by the children, by the spec cache.     */

static json_t *deps_to_json(const struct planner_deps *deps)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < deps->n; i++) {
		json_t *d = json_object();

		json_object_set_new(d, "n", json_str(deps->items[i].name));
		json_object_set_new(d, "f", json_integer(deps->items[i].flags));
		json_object_set_new(d, "v", json_str(deps->items[i].evr));
		json_array_append_new(arr, d);
	}
	return arr;
}

static json_t *strv_to_json(const struct sy_strv *v)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < v->n; i++)
		json_array_append_new(arr, json_str(v->items[i]));
	return arr;
}

static json_t *package_to_json(const struct planner_package *pkg)
{
	json_t *p = json_object();

	json_object_set_new(p, "name", json_str(pkg->name));
	json_object_set_new(p, "evr", json_str(pkg->evr));
	json_object_set_new(p, "arch", json_str(pkg->arch));
	json_object_set_new(p, "provides", deps_to_json(&pkg->provides));
	json_object_set_new(p, "requires", deps_to_json(&pkg->requires));
	return p;
}

static void parsed_to_json(const struct planner_spec *spec, json_t *obj)
{
	json_t *pkgs = json_array();

	for (size_t i = 0; i < spec->npackages; i++)
		json_array_append_new(pkgs, package_to_json(&spec->packages[i]));
	json_object_set_new(obj, "name", json_str(spec->name));
	json_object_set_new(obj, "epoch", json_str(spec->epoch));
	json_object_set_new(obj, "version", json_str(spec->version));
	json_object_set_new(obj, "release", json_str(spec->release));
	json_object_set_new(obj, "packages", pkgs);
	json_object_set_new(obj, "buildrequires", deps_to_json(&spec->buildrequires));
	json_object_set_new(obj, "sources", strv_to_json(&spec->sources));
	json_object_set_new(obj, "patches", strv_to_json(&spec->patches));
	json_object_set_new(obj, "exclusive_arch", strv_to_json(&spec->exclusive_arch));
	json_object_set_new(obj, "exclude_arch", strv_to_json(&spec->exclude_arch));
}

char *planner_spec_to_json(const struct planner_spec *spec)
{
	json_t *obj = json_object();
	char *text;

	if (spec->error)
		json_object_set_new(obj, "error", json_str(spec->error));
	else
		parsed_to_json(spec, obj);
	json_object_set_new(obj, "version_refs", strv_to_json(&spec->version_refs));
	text = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (!text) {
		fprintf(stderr, "shipyard: out of memory encoding a spec\n");
		abort();
	}
	return text;
}

static char *json_strdup(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? sy_xstrdup(s) : NULL;
}

static void decode_deps(json_t *arr, struct planner_deps *deps)
{
	size_t i;
	json_t *d;

	deps->n = 0;
	deps->items = sy_xcalloc(json_array_size(arr) + 1, sizeof(*deps->items));
	json_array_foreach(arr, i, d) {
		struct planner_dep *dep = &deps->items[deps->n++];

		dep->name = json_strdup(d, "n");
		dep->flags = (int)json_integer_value(json_object_get(d, "f"));
		dep->evr = json_strdup(d, "v");
	}
}

static void decode_strv(json_t *arr, struct sy_strv *v)
{
	size_t i;
	json_t *s;

	json_array_foreach(arr, i, s)
		if (json_is_string(s))
			sy_strv_push(v, json_string_value(s));
}

static void decode_spec(json_t *obj, struct planner_spec *out)
{
	json_t *pkgs = json_object_get(obj, "packages");
	size_t i;
	json_t *p;

	out->name = json_strdup(obj, "name");
	out->epoch = json_strdup(obj, "epoch");
	out->version = json_strdup(obj, "version");
	out->release = json_strdup(obj, "release");
	out->packages = sy_xcalloc(json_array_size(pkgs) + 1, sizeof(*out->packages));
	json_array_foreach(pkgs, i, p) {
		struct planner_package *pkg = &out->packages[out->npackages++];

		pkg->name = json_strdup(p, "name");
		pkg->evr = json_strdup(p, "evr");
		pkg->arch = json_strdup(p, "arch");
		decode_deps(json_object_get(p, "provides"), &pkg->provides);
		decode_deps(json_object_get(p, "requires"), &pkg->requires);
	}
	decode_deps(json_object_get(obj, "buildrequires"), &out->buildrequires);
	decode_strv(json_object_get(obj, "sources"), &out->sources);
	decode_strv(json_object_get(obj, "patches"), &out->patches);
	decode_strv(json_object_get(obj, "exclusive_arch"), &out->exclusive_arch);
	decode_strv(json_object_get(obj, "exclude_arch"), &out->exclude_arch);
}

int planner_spec_from_json(const char *text, size_t len, struct planner_spec *out,
			   struct sy_error *err)
{
	json_error_t jerr;
	json_t *obj = json_loadb(text, len, 0, &jerr);

	if (!obj)
		return sy_error_set(err, "spec JSON: %s", jerr.text);
	if (!json_is_object(obj)) {
		json_decref(obj);
		return sy_error_set(err, "spec JSON: not an object");
	}
	if (json_object_get(obj, "error")) {
		out->error = json_strdup(obj, "error");
		if (!out->error)
			out->error = sy_xasprintf("%s: spec did not parse",
						  out->path ? out->path : "spec");
	} else {
		decode_spec(obj, out);
	}
	decode_strv(json_object_get(obj, "version_refs"), &out->version_refs);
	json_decref(obj);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Parent: run the children, collect and decode their results.              */

/* One running child. */
struct reader {
	pid_t pid;          /* child process (and process group) id */
	int pidfd;          /* pidfd of the child (readable once it exited), or -1
			     * when the kernel has none */
	int fd;             /* read end of the result pipe, -1 once at EOF */
	size_t index;       /* which input it reads */
	char *dir;          /* private directory the child writes the spec into;
			     * removed by the parent after the child ended */
	char *buf;          /* result bytes received so far */
	size_t len, alloc;  /* bytes in buf, bytes allocated */
	double deadline;    /* CLOCK_MONOTONIC seconds after which it is killed */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Turns a finished child's status and output into out. */
static void finish(struct reader *r, int status, int timed_out, struct planner_spec *out)
{
	struct sy_error err = { { 0 } };

	if (timed_out) {
		out->error = sy_xasprintf("%s: spec reader killed after %d s", out->path,
					  CHILD_TIMEOUT_S);
	} else if (WIFSIGNALED(status)) {
		out->error = sy_xasprintf("%s: spec reader killed by signal %d (%s)", out->path,
					  WTERMSIG(status), strsignal(WTERMSIG(status)));
		/* SIGKILL comes from outside (our own timeout is handled above):
		 * the OOM killer, an operator. Other signals are the spec's doing. */
		out->error_transient = WTERMSIG(status) == SIGKILL;
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_SANDBOX && r->len) {
		/* The reason, one line, as the child wrote it. */
		out->error = sy_xasprintf("%s: spec reader %.*s", out->path,
					  (int)strcspn(r->buf, "\n"), r->buf);
		out->error_transient = 1;
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		out->error = sy_xasprintf("%s: spec reader exited with status %d", out->path,
					  WEXITSTATUS(status));
		out->error_transient = 1;
	} else if (planner_spec_from_json(r->buf ? r->buf : "", r->len, out, &err) != 0) {
		out->error = sy_xasprintf("%s: spec reader result unreadable: %s", out->path,
					  err.msg);
		out->error_transient = 1;
	}
}

static int reader_start(struct reader *r, size_t index, const struct planner_spec_input *in,
			const struct planner_macro_ctx *ctx, struct sy_error *err)
{
	int fds[2];

	memset(r, 0, sizeof(*r));
	r->dir = sy_mkdtemp(getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", "shipyard-spec-", err);
	if (!r->dir)
		return sy_error_prefix(err, "%s", in->path);
	if (pipe2(fds, O_CLOEXEC) != 0) {
		sy_error_set(err, "%s: pipe: %s", in->path, strerror(errno));
		goto fail;
	}
	r->pid = fork();
	if (r->pid < 0) {
		close(fds[0]);
		close(fds[1]);
		sy_error_set(err, "%s: fork: %s", in->path, strerror(errno));
		goto fail;
	}
	if (r->pid == 0) {
		close(fds[0]);
		child_main(in, ctx, r->dir, fds[1]);
	}
	setpgid(r->pid, r->pid);
	close(fds[1]);
	r->pidfd = (int)syscall(SYS_pidfd_open, r->pid, 0);
	r->fd = fds[0];
	r->index = index;
	r->deadline = now_s() + CHILD_TIMEOUT_S;
	return 0;
fail:
	sy_rm_rf(r->dir, NULL);
	free(r->dir);
	return -1;
}

/* Reads what is available; closes fd at EOF. */
static void reader_read(struct reader *r)
{
	ssize_t got;

	if (r->alloc - r->len < 65536) {
		r->alloc = r->alloc * 2 + 65536;
		r->buf = sy_xrealloc(r->buf, r->alloc);
	}
	got = read(r->fd, r->buf + r->len, r->alloc - r->len - 1);
	if (got > 0) {
		r->len += (size_t)got;
		r->buf[r->len] = '\0';
	} else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
		close(r->fd);
		r->fd = -1;
	}
}

/* Checks whether r is done (or overdue, then kills it); returns 1 when r has
 * been reaped and out filled. */
static int reader_check(struct reader *r, double now, struct planner_spec *out)
{
	siginfo_t info = { 0 };
	int status = 0, timed_out = now >= r->deadline;

	if (!timed_out && (r->fd >= 0 ||
			   waitid(P_PID, (id_t)r->pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
			   info.si_pid == 0))
		return 0;
	/* The child is dead or overdue, and not reaped yet, so its process
	 * group id cannot have been reused: end whatever is left in it. */
	kill(-r->pid, SIGKILL);
	kill(r->pid, SIGKILL);
	while (waitpid(r->pid, &status, 0) < 0 && errno == EINTR)
		;
	finish(r, status, timed_out, out);
	if (r->fd >= 0)
		close(r->fd);
	if (r->pidfd >= 0)
		close(r->pidfd);
	free(r->buf);
	sy_rm_rf(r->dir, NULL);
	free(r->dir);
	return 1;
}

/* Waits for output, a child's exit or a deadline; at most 100 ms while a
 * child without a pidfd closed its pipe and has not exited yet. */
static void readers_poll(struct reader *rs, size_t nr)
{
	struct pollfd pfds[nr];
	double first = 1e30, now = now_s();
	int timeout_ms, waiting_exit = 0;

	for (size_t i = 0; i < nr; i++) {
		if (rs[i].deadline < first)
			first = rs[i].deadline;
		/* A negative fd makes poll skip the entry. */
		pfds[i].fd = rs[i].fd >= 0 ? rs[i].fd : rs[i].pidfd;
		pfds[i].events = POLLIN;
		pfds[i].revents = 0;
		if (rs[i].fd < 0 && rs[i].pidfd < 0)
			waiting_exit = 1;
	}
	timeout_ms = first > now ? (int)((first - now) * 1000) + 1 : 0;
	if (waiting_exit && timeout_ms > 100)
		timeout_ms = 100;
	if (poll(pfds, nr, timeout_ms) <= 0)
		return;
	for (size_t i = 0; i < nr; i++)
		if (rs[i].fd >= 0 && pfds[i].revents)
			reader_read(&rs[i]);
}

/* How many of the nr readers have not closed their pipe yet. */
static size_t readers_running(const struct reader *rs, size_t nr)
{
	size_t k = 0;

	for (size_t i = 0; i < nr; i++)
		k += rs[i].fd >= 0;
	return k;
}

static int default_jobs(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (int)n : 1;
}

int planner_specs_read(const struct planner_spec_input *inputs, size_t n,
		       const struct planner_macro_ctx *ctx, int jobs,
		       struct planner_spec *out, struct sy_error *err)
{
	struct sy_error start_err = { { 0 } };
	struct reader *rs;
	size_t next = 0, nr = 0;

	if (jobs <= 0)
		jobs = default_jobs();
	/* A reader that wrote its result and closed its pipe no longer counts
	 * against jobs, so that the teardown of its namespaces overlaps the next
	 * spec's setup; at most 2 * jobs children exist. */
	rs = sy_xcalloc((size_t)jobs * 2, sizeof(*rs));
	for (size_t i = 0; i < n; i++)
		out[i].path = sy_xstrdup(inputs[i].path);
	while (next < n || nr > 0) {
		while (nr < (size_t)jobs * 2 && readers_running(rs, nr) < (size_t)jobs && next < n) {
			if (reader_start(&rs[nr], next, &inputs[next], ctx, &start_err) != 0)
				break;
			nr++;
			next++;
		}
		if (nr == 0 && next == 0) {
			free(rs);
			return sy_error_set(err, "%s", start_err.msg);
		}
		if (nr == 0) {
			/* Earlier specs were read; this one cannot be: report it. */
			out[next].error = sy_xstrdup(start_err.msg);
			out[next].error_transient = 1;
			next++;
			continue;
		}
		readers_poll(rs, nr);
		for (size_t i = 0; i < nr;) {
			if (reader_check(&rs[i], now_s(), &out[rs[i].index]))
				rs[i] = rs[--nr];
			else
				i++;
		}
	}
	free(rs);
	return 0;
}

/* ------------------------------------------------------------------------ */

/* Frees s unless it lives in spec's arena. */
static void free_str(const struct planner_spec *spec, char *s)
{
	uintptr_t a = (uintptr_t)spec->arena, p = (uintptr_t)s;

	if (!spec->arena || p < a || p >= a + spec->arena_size)
		free(s);
}

static void deps_release(const struct planner_spec *spec, struct planner_deps *deps)
{
	for (size_t i = 0; i < deps->n; i++) {
		free_str(spec, deps->items[i].name);
		free_str(spec, deps->items[i].evr);
	}
	free(deps->items);
	deps->items = NULL;
	deps->n = 0;
}

static void strv_release(const struct planner_spec *spec, struct sy_strv *v)
{
	for (size_t i = 0; i < v->n; i++)
		free_str(spec, v->items[i]);
	free(v->items);
	memset(v, 0, sizeof(*v));
}

void planner_spec_release(struct planner_spec *spec)
{
	free_str(spec, spec->path);
	free_str(spec, spec->name);
	free_str(spec, spec->epoch);
	free_str(spec, spec->version);
	free_str(spec, spec->release);
	for (size_t i = 0; i < spec->npackages; i++) {
		struct planner_package *pkg = &spec->packages[i];

		free_str(spec, pkg->name);
		free_str(spec, pkg->evr);
		free_str(spec, pkg->arch);
		deps_release(spec, &pkg->provides);
		deps_release(spec, &pkg->requires);
	}
	free(spec->packages);
	deps_release(spec, &spec->buildrequires);
	strv_release(spec, &spec->sources);
	strv_release(spec, &spec->patches);
	strv_release(spec, &spec->exclusive_arch);
	strv_release(spec, &spec->exclude_arch);
	free_str(spec, spec->error);
	strv_release(spec, &spec->version_refs);
	free_str(spec, spec->excluded);
	free(spec->arena);
	memset(spec, 0, sizeof(*spec));
}

const char *planner_dep_op(int flags)
{
	static const char *const ops[8] = { "", "", "<", "", ">", "", "<>", "" };
	static const char *const with_eq[8] = { "=", "", "<=", "", ">=", "", "<>=", "" };
	int i = flags & (PLANNER_DEP_LESS | PLANNER_DEP_GREATER);

	return flags & PLANNER_DEP_EQUAL ? with_eq[i] : ops[i];
}

char *planner_dep_format(const struct planner_dep *dep)
{
	if (!dep->flags || !dep->evr)
		return sy_xstrdup(dep->name);
	return sy_xasprintf("%s %s %s", dep->name, planner_dep_op(dep->flags), dep->evr);
}

char *planner_spec_srpm_name(const struct planner_spec *spec)
{
	return sy_xasprintf("%s-%s-%s.src.rpm", spec->name, spec->version, spec->release);
}
