/* The worker manifest's rpmdb: a generated spec, rpmbuild, rpm --justdb. */
#define _GNU_SOURCE
#include "planner/manifestdb.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/child.h"
#include "common/fs.h"
#include "common/strv.h"

#define RPM_TIMEOUT_S 300

/* The spec: a main package without files (so without an RPM) and one
 * subpackage per entry. */
static char *manifest_spec(const struct planner_manifest *m, const char *arch)
{
	struct sy_strv seen = SY_STRV_INIT;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		abort();
	fputs("Name: shipyard-manifest-rpmdb\nVersion: 1\nRelease: 1\nSummary: manifest\n"
	      "License: none\n%description\nmanifest\n", f);
	for (size_t i = 0; i < m->n; i++) {
		const struct planner_manifest_pkg *p = &m->items[i];

		if ((strcmp(p->arch, arch) && strcmp(p->arch, "noarch")) ||
		    sy_strv_contains(&seen, p->name))
			continue;
		sy_strv_push(&seen, p->name);
		fprintf(f, "%%package -n %s\nVersion: %s\nRelease: %s\nSummary: manifest\n%s"
			"%%description -n %s\nmanifest\n%%files -n %s\n", p->name, p->version,
			p->release, strcmp(p->arch, "noarch") ? "" : "BuildArch: noarch\n",
			p->name, p->name);
	}
	fclose(f);
	sy_strv_release(&seen);
	return text;
}

/* Appends the paths of the RPM files under dir/<arch>/ to argv. */
static void list_rpms(const char *rpms, struct sy_strv *argv)
{
	DIR *d = opendir(rpms);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *sub = sy_xasprintf("%s/%s", rpms, de->d_name);
		DIR *s = opendir(sub);
		struct dirent *f;

		while (s && (f = readdir(s)))
			if (strstr(f->d_name, ".rpm"))
				sy_strv_pushf(argv, "%s/%s", sub, f->d_name);
		if (s)
			closedir(s);
		free(sub);
	}
	if (d)
		closedir(d);
}

static int build_rpms(const struct planner_manifest *m, const char *arch, const char *top,
		      struct sy_error *err)
{
	char *spec = sy_xasprintf("%s/manifest.spec", top), *text = manifest_spec(m, arch);
	char *topdef = sy_xasprintf("_topdir %s", top), *target = sy_xasprintf("%s-linux", arch);
	const char *argv[] = { "rpmbuild", "-bb", "--quiet", "--target", target,
			       "--define", topdef, "--define", "_build_id_links none",
			       "--define", "__os_install_post %{nil}", spec, NULL };
	int rc = sy_write_file(spec, text, strlen(text), 0644, err);

	if (rc == 0)
		rc = sy_child_run_cmd(argv, SY_CHILD_DEVNULL, RPM_TIMEOUT_S, err);
	free(spec);
	free(text);
	free(topdef);
	free(target);
	return rc;
}

/* Creates the database in dir and installs the headers of the files argv
 * lists after its first fixed words. */
static int justdb(const char *dir, struct sy_strv *argv, size_t fixed, struct sy_error *err)
{
	const char *init[] = { "rpm", "--dbpath", dir, "--initdb", NULL };
	int rc = sy_child_run_cmd(init, SY_CHILD_DEVNULL, RPM_TIMEOUT_S, err);

	if (rc == 0 && argv->n > fixed)
		rc = sy_child_run_cmd((const char *const *)argv->items, SY_CHILD_DEVNULL,
				      RPM_TIMEOUT_S, err);
	return rc;
}

/* The fixed words of the install into dir's database. */
static size_t justdb_argv(const char *dir, struct sy_strv *argv)
{
	const char *install[] = { "rpm", "--dbpath", dir, "-i", "--justdb", "--nodeps",
				  "--noscripts", "--notriggers", "--ignorearch", "--ignoreos",
				  "--nosignature", "--nodigest", NULL };
	size_t fixed;

	for (fixed = 0; install[fixed]; fixed++)
		sy_strv_push(argv, install[fixed]);
	return fixed;
}

static int install_db(const char *top, const char *dir, struct sy_error *err)
{
	struct sy_strv argv = SY_STRV_INIT;
	char *rpms = sy_xasprintf("%s/RPMS", top);
	size_t fixed = justdb_argv(dir, &argv);
	int rc;

	list_rpms(rpms, &argv);
	rc = justdb(dir, &argv, fixed, err);
	sy_strv_release(&argv);
	free(rpms);
	return rc;
}

int planner_manifestdb_from_rpms(const char *const *rpms, const char *dir, struct sy_error *err)
{
	struct sy_strv argv = SY_STRV_INIT;
	size_t fixed = justdb_argv(dir, &argv);
	int rc;

	for (size_t i = 0; rpms[i]; i++)
		sy_strv_push(&argv, rpms[i]);
	rc = sy_mkdir_p(dir, 0755, err) ? -1 : justdb(dir, &argv, fixed, err);
	sy_strv_release(&argv);
	return rc ? sy_error_prefix(err, "worker root rpmdb") : 0;
}

int planner_manifestdb_make(const struct planner_manifest *m, const char *target_arch,
			    const char *dir, const char *workdir, struct sy_error *err)
{
	char *top = sy_mkdtemp(workdir, ".manifestdb-", err);
	int rc = -1;

	if (!top)
		return -1;
	if (sy_mkdir_p(dir, 0755, err) == 0 && build_rpms(m, target_arch, top, err) == 0 &&
	    install_db(top, dir, err) == 0)
		rc = 0;
	if (rc != 0)
		sy_error_prefix(err, "manifest rpmdb");
	sy_rm_rf(top, NULL);
	free(top);
	return rc;
}
