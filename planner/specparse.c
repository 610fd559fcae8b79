/* Parsing one spec with librpm, in a reader child (planner/spec-private.h):
 * the macro context applied, rpmSpecParse, and the parsed spec written as
 * JSON. Rules follow the Azure Linux toolkit's specreader. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
#include "common/util.h"
#include "planner/spec-private.h"

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
		json_object_set_new(d, "n", planner_spec_json_str(name));
		json_object_set_new(d, "f", json_integer(flags));
		json_object_set_new(d, "v", planner_spec_json_str(evr));
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
			json_array_append_new(arr, planner_spec_json_str(s));
		rpmtdFreeData(&td);
	}
	return arr;
}

static json_t *string_tag(Header h, rpmTagVal tag)
{
	char *s = headerGetAsString(h, tag);
	json_t *j = planner_spec_json_str(s);

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

	json_object_set_new(p, "name", planner_spec_json_str(headerGetString(h, RPMTAG_NAME)));
	json_object_set_new(p, "evr", string_tag(h, RPMTAG_EVR));
	json_object_set_new(p, "arch", planner_spec_json_str(arch ? arch : fallback_arch));
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
		json_t *name = planner_spec_json_str(rpmSpecSrcFilename(src, 0));

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

	json_object_set_new(obj, "name", planner_spec_json_str(name));
	json_object_set_new(obj, "epoch",
			    headerIsEntry(h, RPMTAG_EPOCH) ? string_tag(h, RPMTAG_EPOCH) : json_null());
	json_object_set_new(obj, "version", planner_spec_json_str(headerGetString(h, RPMTAG_VERSION)));
	json_object_set_new(obj, "release", planner_spec_json_str(headerGetString(h, RPMTAG_RELEASE)));
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

	json_object_set_new(obj, "error", planner_spec_json_str(msg));
	free(msg);
	return obj;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;

	return *base ? base : "spec.spec";
}

/* Writes the files of the spec's directory into dir. Their names come from
 * git tree entries, which name no "." or ".." (gitwatch checks every tree it
 * reads); dir is a fresh tmpfs holding nothing else yet. */
static int write_dir_files(const struct planner_spec_dirfiles *files, const char *dir,
			   struct sy_error *err)
{
	for (size_t i = 0; files && i < files->n; i++)
		if (sy_write_file_under(dir, files->items[i].name, files->items[i].data,
					files->items[i].len, 0644, err))
			return -1;
	return 0;
}

/* Writes the spec and its directory's files into dir (private, made by the
 * parent) and parses it there. */
static json_t *child_parse(const struct planner_spec_input *in,
			   const struct planner_spec_dirfiles *files,
			   const struct planner_macro_ctx *ctx, const char *dir,
			   struct log_capture *cap)
{
	struct sy_error err = { { 0 } };
	char *file = sy_xasprintf("%s/%s", dir, base_name(in->path));
	rpmSpec spec = NULL;
	json_t *res;

	if (write_dir_files(files, dir, &err) != 0 ||
	    sy_write_file(file, in->content, in->len, 0644, &err) != 0) {
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

/* Writes res into the pipe in one piece (json_dumpfd writes each token
 * separately, waking the parent each time) and exits; never returns. */
__attribute__((noreturn)) static void write_result(json_t *res, int out_fd)
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

void planner_spec_parse_and_exit(const struct planner_spec_input *in,
				 const struct planner_spec_dirfiles *dir,
				 const struct planner_macro_ctx *ctx, const char *ctx_error,
				 const char *scratch, int out_fd)
{
	struct log_capture cap = { NULL };
	json_t *res;

	rpmlogSetCallback(log_callback, &cap);
	if (ctx_error)
		res = error_json(sy_xasprintf("%s: macro context: %s", in->path, ctx_error));
	else
		res = child_parse(in, dir, ctx, scratch, &cap);
	write_result(res, out_fd);
}

/* %_smp_build_ncpus as rpm's platform macros define it, and as the Azure
 * Linux macros do: a shell at every expansion, with a getconf in it for
 * the latter; %_smp_mflags expands it, three times for a spec whose %build
 * uses %make_build, a few milliseconds each. */
#define SMP_NAME "_smp_build_ncpus"
#define SMP_HEAD "%([ -z \"$RPM_BUILD_NCPUS\" ] \\\n\t&& RPM_BUILD_NCPUS="
#define SMP_TAIL                                                                            \
	"; \\\n        ncpus_max=%{?_smp_ncpus_max}; \\\n        if [ -n \"$ncpus_max\" ] && " \
	"[ \"$ncpus_max\" -gt 0 ] && [ \"$RPM_BUILD_NCPUS\" -gt \"$ncpus_max\" ]; then "     \
	"RPM_BUILD_NCPUS=\"$ncpus_max\"; fi; \\\n        echo \"$RPM_BUILD_NCPUS\";)"
static const char smp_rpm[] = SMP_HEAD "\"%{getncpus}\"" SMP_TAIL;
static const char smp_getconf[] = SMP_HEAD "\"`/usr/bin/getconf _NPROCESSORS_ONLN`\"" SMP_TAIL;
/* The same in Lua, with no process: what the shell prints, where it can
 * tell without running it (no RPM_BUILD_NCPUS in the environment, and a
 * %_smp_ncpus_max undefined or of digits only, which its expansion then
 * is); otherwise the shell above, as before. %{getncpus} counts the CPUs
 * of the process's affinity mask, as getconf does in the reader's sandbox,
 * which has no /sys or /proc (smp_getconf_same). */
static const char smp_lua[] =
	"%%{lua:\n"
	"local e = os.getenv(\"RPM_BUILD_NCPUS\")\n"
	"local m, plain = \"\", true\n"
	"if rpm.isdefined(\"_smp_ncpus_max\") then\n"
	"  m = rpm.expand(\"%%{macrobody:_smp_ncpus_max}\")\n"
	"  plain = m:match(\"^[0-9]+$\") ~= nil and #m <= 9\n"
	"end\n"
	"if (e == nil or e == \"\") and plain then\n"
	"  local n = rpm.expand(\"%%{getncpus}\")\n"
	"  if m ~= \"\" and tonumber(m) > 0 and tonumber(n) > tonumber(m) then n = m end\n"
	"  print(n)\n"
	"else\n"
	"  print(rpm.expand([==[%s]==]))\n"
	"end}";

/* Whether getconf _NPROCESSORS_ONLN, run by a spec, prints %{getncpus}:
 * glibc (getconf's, which is this process's) counts the online CPUs from
 * /sys, else /proc/stat, else the affinity mask, which is what rpm counts
 * (checked here: an older glibc has other fallbacks); and getconf is there
 * for the spec's user to run. */
static int smp_getconf_same(void)
{
	struct stat st;
	char *rpm_count;
	int same;

	if (access("/sys/devices/system/cpu/online", F_OK) == 0 ||
	    access("/proc/stat", F_OK) == 0 || stat("/usr/bin/getconf", &st) != 0 ||
	    !S_ISREG(st.st_mode) || !(st.st_mode & S_IXOTH))
		return 0;
	rpm_count = rpmExpand("%{getncpus}", NULL);
	same = atol(rpm_count) > 0 && atol(rpm_count) == sysconf(_SC_NPROCESSORS_ONLN);
	free(rpm_count);
	return same;
}

/* The Lua form of body, a definition of %_smp_build_ncpus, when it is one
 * of the shell forms above; else NULL. */
static char *smp_fast_body(const char *body, int getconf_same)
{
	if (strcmp(body, smp_rpm) && (strcmp(body, smp_getconf) || !getconf_same))
		return NULL;
	return sy_xasprintf(smp_lua, body);
}

/* Gives every definition of %_smp_build_ncpus of the macro files that is a
 * shell form its Lua form, keeping the stack of definitions as it was (a
 * spec's %undefine shows the one below). None is touched when the context
 * defines it on the command line. */
static void smp_build_ncpus_in_lua(const struct planner_macro_ctx *ctx)
{
	char *bodies[16];
	size_t n = 0;
	int same = smp_getconf_same();

	for (size_t i = 0; i < ctx->defines.n; i++)
		if (!strncmp(ctx->defines.items[i], SMP_NAME, strlen(SMP_NAME)))
			return;
	/* A parametric definition (and what lies below it) stays as it is:
	 * pushed back, it would lose its options. */
	while (n < LEN(bodies) && rpmMacroIsDefined(NULL, SMP_NAME) &&
	       !rpmMacroIsParametric(NULL, SMP_NAME)) {
		bodies[n++] = rpmExpand("%{macrobody:" SMP_NAME "}", NULL);
		rpmPopMacro(NULL, SMP_NAME);
	}
	while (n--) {
		char *fast = smp_fast_body(bodies[n], same);

		rpmPushMacro(NULL, SMP_NAME, NULL, fast ? fast : bodies[n], RMIL_MACROFILES);
		free(fast);
		free(bodies[n]);
	}
}

int planner_spec_ctx_apply(const struct planner_macro_ctx *ctx, struct sy_error *err)
{
	struct log_capture cap = { NULL };
	int rc;

	/* What the macro files log is not a spec's error: kept from stderr. */
	rpmlogSetCallback(log_callback, &cap);
	rc = planner_macro_ctx_apply(ctx, err);
	if (rc == 0)
		smp_build_ncpus_in_lua(ctx);
	rpmlogSetCallback(NULL, NULL);
	free(cap.first_error);
	return rc;
}
