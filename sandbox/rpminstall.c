#define _GNU_SOURCE
#include "sandbox/rpminstall.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rpm/header.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmmacro.h>
#include <rpm/rpmps.h>
#include <rpm/rpmte.h>
#include <rpm/rpmts.h>

#include "common/fs.h"
#include "common/strv.h"

/* Where the rpmdb lives inside every root we fill (see the header). */
#define RPMINSTALL_DBPATH "/var/lib/rpm"

/* librpm's macro context, log callback and %_dbpath are process-global: one
 * install at a time per process. */
static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t config_once = PTHREAD_ONCE_INIT;
static int config_rc;

static void read_config(void)
{
	config_rc = rpmReadConfigFiles(NULL, NULL);
}

/* State shared with the librpm callbacks during one install. */
struct install_ctx {
	int log_fd;          /* where librpm's messages go, or -1 */
	char last_error[512]; /* last RPMLOG_ERR message, for error reports */
	FD_t open_fd;        /* package being installed, opened by the callback */
};

static struct install_ctx *log_ctx; /* guarded by install_lock */

static int log_cb(rpmlogRec rec, rpmlogCallbackData data)
{
	struct install_ctx *ctx = log_ctx;
	const char *msg = rpmlogRecMessage(rec);
	rpmlogLvl pri = rpmlogRecPriority(rec);

	(void)data;
	if (!ctx || !msg)
		return 0;
	if (pri <= RPMLOG_ERR) {
		snprintf(ctx->last_error, sizeof(ctx->last_error), "%s", msg);
		size_t n = strlen(ctx->last_error);
		while (n && ctx->last_error[n - 1] == '\n')
			ctx->last_error[--n] = '\0';
	}
	if (ctx->log_fd >= 0)
		dprintf(ctx->log_fd, "rpm: %s%s", rpmlogLevelPrefix(pri), msg);
	return 0;
}

/* Notify callback in the manner of rpm's rpmShowProgress: opens the package
 * file (the element's key is its host path) when librpm asks for it. */
static void *notify_cb(const void *arg, const rpmCallbackType what, const rpm_loff_t amount,
		       const rpm_loff_t total, fnpyKey key, rpmCallbackData data)
{
	struct install_ctx *ctx = data;
	const char *path = key;
	Header h = (Header)arg;

	(void)amount;
	(void)total;
	switch (what) {
	case RPMCALLBACK_INST_OPEN_FILE:
		if (!path)
			return NULL;
		ctx->open_fd = Fopen(path, "r.ufdio");
		if (!ctx->open_fd || Ferror(ctx->open_fd)) {
			if (ctx->log_fd >= 0)
				dprintf(ctx->log_fd, "rpm: cannot open %s: %s\n", path,
					ctx->open_fd ? Fstrerror(ctx->open_fd) : strerror(errno));
			if (ctx->open_fd)
				Fclose(ctx->open_fd);
			ctx->open_fd = NULL;
			return NULL;
		}
		return ctx->open_fd;
	case RPMCALLBACK_INST_CLOSE_FILE:
		if (ctx->open_fd)
			Fclose(ctx->open_fd);
		ctx->open_fd = NULL;
		return NULL;
	case RPMCALLBACK_INST_START:
		if (ctx->log_fd >= 0 && h) {
			char *nevra = headerGetAsString(h, RPMTAG_NEVRA);
			dprintf(ctx->log_fd, "installing %s\n", nevra ? nevra : path);
			free(nevra);
		}
		return NULL;
	case RPMCALLBACK_SCRIPT_ERROR:
		if (ctx->log_fd >= 0 && h) {
			char *nevra = headerGetAsString(h, RPMTAG_NEVRA);
			dprintf(ctx->log_fd, "rpm: scriptlet failed in %s\n", nevra ? nevra : "?");
			free(nevra);
		}
		return NULL;
	default:
		return NULL;
	}
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* Returns the package file a problem is about: its key, or the key of the
 * transaction element with the problem's NEVRA (dependency problems carry
 * no key). NULL when unknown. */
static const char *problem_file(rpmts ts, rpmProblem p)
{
	const char *key = rpmProblemGetKey(p);
	const char *nevr = rpmProblemGetPkgNEVR(p);
	rpmtsi it;
	rpmte te;

	if (key || !nevr)
		return key;
	it = rpmtsiInit(ts);
	while ((te = rpmtsiNext(it, 0)))
		if (!strcmp(rpmteNEVRA(te), nevr) || !strcmp(rpmteNEVR(te), nevr)) {
			key = rpmteKey(te);
			break;
		}
	rpmtsiFree(it);
	return key;
}

/* Formats every problem of ts into err as "<file>: <problem>; ...". */
static int report_problems(rpmts ts, rpmps ps, const char *what, struct sy_error *err)
{
	char msg[sizeof(err->msg)];
	size_t len = 0;
	rpmpsi it = rpmpsInitIterator(ps);
	rpmProblem p;

	msg[0] = '\0';
	while ((p = rpmpsiNext(it)) && len < sizeof(msg) - 1) {
		char *text = rpmProblemString(p);
		const char *key = problem_file(ts, p);
		int n = snprintf(msg + len, sizeof(msg) - len, "%s%s%s%s", len ? "; " : "",
				 key ? base_name(key) : "", key ? ": " : "", text ? text : "?");
		free(text);
		if (n < 0)
			break;
		len += (size_t)n;
		if (len >= sizeof(msg))
			len = sizeof(msg) - 1;
	}
	rpmpsFreeIterator(it);
	if (!msg[0])
		return sy_error_set(err, "%s: transaction failed", what);
	return sy_error_set(err, "%s", msg);
}

/* Creates root/var/lib/rpm and initialises the rpmdb there unless it holds one. */
static int ensure_rpmdb(rpmts ts, const char *root, struct sy_error *err)
{
	char *dir = sy_xasprintf("%s%s", root, RPMINSTALL_DBPATH);
	char *sqlite = sy_xasprintf("%s/rpmdb.sqlite", dir);
	char *bdb = sy_xasprintf("%s/Packages", dir);
	char *ndb = sy_xasprintf("%s/Packages.db", dir);
	int rc = sy_mkdir_p(dir, 0755, err);

	if (rc == 0 && !sy_exists(sqlite) && !sy_exists(bdb) && !sy_exists(ndb) &&
	    rpmtsInitDB(ts, 0644) != 0)
		rc = sy_error_set(err, "%s: cannot create rpmdb", dir);
	free(dir);
	free(sqlite);
	free(bdb);
	free(ndb);
	return rc;
}

/* Reads each package header and adds it as an install element keyed by its path. */
static int add_packages(rpmts ts, const char *const *rpm_paths, struct install_ctx *ctx,
			struct sy_error *err)
{
	for (size_t i = 0; rpm_paths[i]; i++) {
		const char *path = rpm_paths[i];
		Header h = NULL;
		FD_t fd = Fopen(path, "r.ufdio");

		if (!fd || Ferror(fd)) {
			int e = errno;
			if (fd)
				Fclose(fd);
			return sy_error_set(err, "cannot read header of %s: %s", path, strerror(e));
		}
		ctx->last_error[0] = '\0';
		rpmRC rc = rpmReadPackageFile(ts, fd, path, &h);
		Fclose(fd);
		if (rc != RPMRC_OK && rc != RPMRC_NOTTRUSTED && rc != RPMRC_NOKEY) {
			headerFree(h);
			return sy_error_set(err, "cannot read header of %s: %s", path,
					    ctx->last_error[0] ? ctx->last_error
					    : rc == RPMRC_NOTFOUND ? "not an RPM package"
					    : "damaged package");
		}
		/* Upgrade, as dnf installs: a worker root made of the
		 * distribution's packages may hold an older build of a package
		 * a build root needs, which the new one replaces. */
		int add = rpmtsAddInstallElement(ts, h, (fnpyKey)path, 1, NULL);
		headerFree(h);
		if (add != 0)
			return sy_error_set(err, "%s: cannot add to transaction%s%s", path,
					    ctx->last_error[0] ? ": " : "", ctx->last_error);
	}
	return 0;
}

static int run_transaction(rpmts ts, const char *root, int flags, struct install_ctx *ctx,
			   struct sy_error *err)
{
	rpmps ps;
	int rc;

	if (!(flags & SANDBOX_RPMINSTALL_NODEPS)) {
		if (rpmtsCheck(ts) != 0)
			return sy_error_set(err, "%s: dependency check failed", root);
		ps = rpmtsProblems(ts);
		if (rpmpsNumProblems(ps) > 0) {
			rc = report_problems(ts, ps, root, err);
			rpmpsFree(ps);
			return rc;
		}
		rpmpsFree(ps);
	}
	if (rpmtsOrder(ts) != 0 && !(flags & SANDBOX_RPMINSTALL_NODEPS))
		return sy_error_set(err, "%s: cannot order the transaction", root);
	rpmtsClean(ts);

	/* Host plugins (selinux, audit, systemd_inhibit) are about the host, not
	 * about the root being filled. */
	rpmtransFlags tflags = RPMTRANS_FLAG_NOPLUGINS;
	if (flags & SANDBOX_RPMINSTALL_NOSCRIPTS)
		tflags |= RPMTRANS_FLAG_NOSCRIPTS | RPMTRANS_FLAG_NOTRIGGERS;
	if (flags & SANDBOX_RPMINSTALL_NODOCS)
		tflags |= RPMTRANS_FLAG_NODOCS;
	rpmtsSetFlags(ts, tflags);
	ctx->last_error[0] = '\0';
	/* The image arch may differ from the host's; the solver chose the
	 * packages. A package the root holds at the same NEVRA is installed
	 * again: the build's own copy (what its key covers) wins over the
	 * worker root's. */
	rc = rpmtsRun(ts, NULL, RPMPROB_FILTER_IGNOREOS | RPMPROB_FILTER_IGNOREARCH |
				RPMPROB_FILTER_REPLACEPKG);
	if (rc == 0)
		return 0;
	ps = rpmtsProblems(ts);
	if (rc > 0 && rpmpsNumProblems(ps) > 0)
		rc = report_problems(ts, ps, root, err);
	else
		rc = sy_error_set(err, "%s: transaction failed%s%s", root,
				  ctx->last_error[0] ? ": " : "", ctx->last_error);
	rpmpsFree(ps);
	return rc;
}

static int install_locked(const char *root, const char *const *rpm_paths, int flags,
			  struct install_ctx *ctx, struct sy_error *err)
{
	rpmts ts = rpmtsCreate();
	FD_t script_fd = NULL;
	int rc;

	/* Signatures are not required (packages come from our own builds or a
	 * repository chosen by configuration), but the header check and the
	 * header and payload digests are, so that a damaged or truncated file
	 * is refused: rpm's own %_pkgverify_level "digest". */
	rpmtsSetVSFlags(ts, RPMVSF_MASK_NOSIGNATURES);
	rpmtsSetVfyFlags(ts, RPMVSF_MASK_NOSIGNATURES);
	rpmtsSetVfyLevel(ts, RPMSIG_DIGEST_TYPE);
	if (rpmtsSetRootDir(ts, root) != 0) {
		rc = sy_error_set(err, "%s: invalid root directory", root);
		goto out;
	}
	if (ctx->log_fd >= 0) {
		script_fd = fdDup(ctx->log_fd);
		if (script_fd)
			rpmtsSetScriptFd(ts, script_fd);
	}
	rpmtsSetNotifyCallback(ts, notify_cb, ctx);
	rc = ensure_rpmdb(ts, root, err);
	if (rc == 0)
		rc = add_packages(ts, rpm_paths, ctx, err);
	if (rc == 0)
		rc = run_transaction(ts, root, flags, ctx, err);
out:
	rpmtsCloseDB(ts);
	rpmtsFree(ts);
	if (script_fd)
		Fclose(script_fd);
	if (ctx->open_fd)
		Fclose(ctx->open_fd);
	ctx->open_fd = NULL;
	return rc;
}

int sandbox_rpm_init(struct sy_error *err)
{
	pthread_once(&config_once, read_config);
	if (config_rc != 0)
		return sy_error_set(err, "cannot read the rpm configuration");
	return 0;
}

int sandbox_rpm_install(const char *root, const char *const *rpm_paths, int flags, int log_fd,
			struct sy_error *err)
{
	struct install_ctx ctx = { log_fd, "", NULL };
	char abs_root[PATH_MAX];
	int rc;

	if (sy_mkdir_p(root, 0755, err))
		return -1;
	if (!realpath(root, abs_root))
		return sy_error_set(err, "%s: %s", root, strerror(errno));
	if (!rpm_paths || !rpm_paths[0])
		return 0;
	if (sandbox_rpm_init(err))
		return -1;

	pthread_mutex_lock(&install_lock);
	log_ctx = &ctx;
	rpmlogCallback old_cb = rpmlogSetCallback(log_cb, NULL);
	rpmPushMacro(NULL, "_dbpath", NULL, RPMINSTALL_DBPATH, RMIL_CMDLINE);
	rc = install_locked(abs_root, rpm_paths, flags, &ctx, err);
	rpmPopMacro(NULL, "_dbpath");
	rpmlogSetCallback(old_cb, NULL);
	log_ctx = NULL;
	pthread_mutex_unlock(&install_lock);
	return rc;
}
