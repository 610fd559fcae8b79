/* Reading specs with librpm in forked children. A spec is untrusted code
 * (docs/design.md, "Trust": %() runs shell commands, %{lua:} runs Lua), so
 * as root each child first builds a sandbox: new mount, network, IPC, UTS
 * and PID namespaces, a root directory on a tmpfs holding read-only binds of
 * /usr and /etc (plus the host's /bin, /sbin, /lib* links), /dev/null,
 * /dev/zero, /dev/urandom, a fresh /tmp, the macro context read-only at its
 * host path and a tmpfs as scratch directory at the path of the child's
 * private directory (the spec is written there), pivot_root into it, an
 * environment of PATH, HOME and LANG only, and user nobody (65534) with
 * no_new_privs. Under the sandbox's pid 1 it applies the macro context,
 * parses one spec with rpmSpecParse (the flags rpmspec -q uses:
 * RPMSPEC_ANYARCH | RPMSPEC_FORCE) and writes what shipyard needs of it as
 * one JSON document into a pipe; the parent decodes it into struct
 * planner_spec. When pid 1 exits the kernel kills whatever the spec left
 * running. The process tree: shipyard -> reader (makes the namespaces,
 * waits) -> pid 1 (sets up the root, reaps) -> parser; a parser that is not
 * pid 1 can still be killed by its own commands, as a crash would. The
 * sandbox is sandbox/sandbox.h's; the children are common/child.h's. */
#define _GNU_SOURCE
#include "planner/spec.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

#include "common/child.h"
#include "common/fs.h"
#include "sandbox/sandbox.h"

#define CHILD_TIMEOUT_S 60
/* Who the spec's code runs as in the sandbox: nobody/nogroup. */
#define SANDBOX_UID 65534
#define SANDBOX_GID 65534
/* Exit status of a child whose sandbox could not be set up; the reason is
 * what it wrote into the result pipe. */
#define EXIT_SANDBOX 3
/* The result pipe's fd in the reader and the processes under it. */
#define RESULT_FD 3
#define DEP_CMP_BITS (PLANNER_DEP_LESS | PLANNER_DEP_GREATER | PLANNER_DEP_EQUAL)

/* One reader: a child reading one spec. */
struct reader {
	struct sy_child child; /* the reader process; its capture pipe is the
				* result pipe */
	const struct planner_spec_input *in; /* what it reads */
	const struct planner_macro_ctx *ctx; /* with which macro context */
	size_t index;          /* which input it reads */
	char *dir;             /* private directory the spec is written into;
				* removed by the parent after the child ended */
};

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

/* Who the spec's code runs as in the sandbox. */
static const struct sandbox_user nobody = { "nobody", SANDBOX_UID, SANDBOX_GID, NULL, 0 };
/* A minimal environment, the same for every spec. */
static const char *const reader_env[] = { "PATH=/usr/bin:/bin", "HOME=/", "LANG=C", NULL };

/* Reports a sandbox that could not be set up (sandbox_config.setup_failed):
 * the reason goes into the result pipe, the status is EXIT_SANDBOX. */
static int sandbox_failed(void *arg, const struct sy_error *err)
{
	(void)arg;
	dprintf(RESULT_FD, "sandbox: %s", err->msg);
	return EXIT_SANDBOX;
}

/* The parse in the sandbox; never returns. */
static int parse_in_sandbox(void *arg)
{
	const struct reader *r = arg;

	parse_and_exit(r->in, r->ctx, r->dir, RESULT_FD);
	return 2;
}

/* The reader process (its child_fn), with the result pipe at RESULT_FD,
 * stdio on /dev/null and no other fd. As root, the spec is parsed in the
 * sandbox (see planner_specs_read) in a child of its pid 1; any failure
 * to set it up ends the reader with EXIT_SANDBOX and the reason in the
 * pipe: the spec is never parsed outside it. Otherwise (a developer's
 * unprivileged run, where namespaces and mounts are not available) the
 * spec is parsed in the reader itself, without network when the kernel
 * allows an unprivileged CLONE_NEWNET. */
static int reader_main(void *arg)
{
	const struct reader *r = arg;
	const char *const binds[] = { r->ctx->dir, NULL };
	const struct sandbox_config cfg = {
		.namespaces = CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS,
		.root = r->dir,
		.what = "the spec root",
		.fresh_root = 1,
		.ro_binds = binds,
		.scratch = r->dir,
		.hostname = "shipyard-spec",
		.user = &nobody,
		.env = reader_env,
		.fn = parse_in_sandbox,
		.fn_in_child = 1,
		.fn_fd = RESULT_FD,
		.setup_failed = sandbox_failed,
		.arg = (void *)r,
	};

	if (geteuid() == 0)
		return sandbox_run(&cfg);
	(void)unshare(CLONE_NEWNET);
	parse_and_exit(r->in, r->ctx, r->dir, RESULT_FD);
	return 2;
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

/* Turns a finished reader's end and output into out. */
static void reader_finish(const struct reader *r, struct planner_spec *out)
{
	const struct sy_child *c = &r->child;
	struct sy_error err = { { 0 } };
	/* A sandboxed reader exits with 128 + n when its parser was killed by
	 * signal n: its pid 1 reports it so, as it cannot die of it. */
	int sig = c->signal ? c->signal
			    : c->status > 128 && c->status < 128 + NSIG ? c->status - 128 : 0;

	if (c->timed_out) {
		out->error = sy_xasprintf("%s: spec reader killed after %d s", out->path,
					  CHILD_TIMEOUT_S);
	} else if (sig) {
		out->error = sy_xasprintf("%s: spec reader killed by signal %d (%s)", out->path,
					  sig, strsignal(sig));
		/* SIGKILL comes from outside (our own timeout is handled above):
		 * the OOM killer, an operator. Other signals are the spec's doing. */
		out->error_transient = sig == SIGKILL;
	} else if (c->status == EXIT_SANDBOX && c->out_len) {
		/* The reason, one line, as the child wrote it. */
		out->error = sy_xasprintf("%s: spec reader %.*s", out->path,
					  (int)strcspn(c->out, "\n"), c->out);
		out->error_transient = 1;
	} else if (c->status != 0) {
		out->error = sy_xasprintf("%s: spec reader exited with status %d", out->path,
					  c->status);
		out->error_transient = 1;
	} else if (planner_spec_from_json(c->out, c->out_len, out, &err) != 0) {
		out->error = sy_xasprintf("%s: spec reader result unreadable: %s", out->path,
					  err.msg);
		out->error_transient = 1;
	}
}

/* Starts the reader of input index in r, with a private directory. */
static int reader_start(struct reader *r, size_t index, const struct planner_spec_input *in,
			const struct planner_macro_ctx *ctx, struct sy_error *err)
{
	*r = (struct reader){ .child = SY_CHILD_INIT, .in = in, .ctx = ctx, .index = index };
	r->dir = sy_mkdtemp(getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", "shipyard-spec-", err);
	if (!r->dir)
		return sy_error_prefix(err, "%s", in->path);
	r->child.child_fn = reader_main;
	r->child.child_arg = r;
	r->child.capture = 1;
	r->child.capture_at = RESULT_FD;
	r->child.log_fd = SY_CHILD_DEVNULL;
	/* No host file or directory stays reachable (an open directory would
	 * let openat() leave the sandbox). */
	r->child.close_fds = 1;
	r->child.death_signal = SIGKILL;
	r->child.timeout_s = CHILD_TIMEOUT_S;
	if (sy_child_start(&r->child, err) == 0)
		return 0;
	sy_error_prefix(err, "%s", in->path);
	sy_rm_rf(r->dir, NULL);
	free(r->dir);
	return -1;
}

/* Frees what a finished reader holds and removes its directory. */
static void reader_release(struct reader *r)
{
	sy_child_release(&r->child);
	sy_rm_rf(r->dir, NULL);
	free(r->dir);
}

/* How many of the nr readers have not closed their pipe yet. */
static size_t readers_running(const struct reader *rs, size_t nr)
{
	size_t k = 0;

	for (size_t i = 0; i < nr; i++)
		k += rs[i].child.out_fd >= 0;
	return k;
}

/* Waits for news of the nr readers; handles one that finished. Returns 1
 * when one did (it is taken out of rs, *nr is one less), else 0. */
static int readers_wait(struct reader *rs, size_t *nr, struct planner_spec *out)
{
	struct sy_child **children = sy_xcalloc(*nr, sizeof(*children));
	int i;

	for (size_t k = 0; k < *nr; k++)
		children[k] = &rs[k].child;
	i = sy_child_wait_any(children, *nr, -1);
	free(children);
	if (i < 0)
		return 0;
	reader_finish(&rs[i], &out[rs[i].index]);
	reader_release(&rs[i]);
	rs[i] = rs[--*nr];
	return 1;
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
		readers_wait(rs, &nr, out);
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
