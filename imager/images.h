/* The image builds kept in the state directory, read and switched here only
 * (imager/stage.c writes them through these functions, the dashboard reads
 * them):
 *
 *   <state>/images/<config>/<id>/      one build: its artifacts,
 *                                      manifest.json (imager/compose.h) and
 *                                      closure.sha256 (imager/stage.h)
 *   <state>/images/<config>/<id>.tmp/  a build being composed; renamed to
 *                                      <id>/ once complete
 *   <state>/images/<config>/latest     symbolic link to the newest <id>
 *
 * <config> is an image config's name (its file name without ".json"); <id>
 * is the UTC time the composition started, "YYYYMMDDTHHMMSSZ", so that ids
 * sorted by name are oldest first. Every function returning char * returns
 * a newly allocated string the caller frees. */
#ifndef IMAGER_IMAGES_H
#define IMAGER_IMAGES_H

#include <stddef.h>

#include "common/error.h"
#include "common/strv.h"

/* <state>/images/<config>/<id>: the directory of one build. */
char *imager_build_dir(const char *state, const char *config, const char *id);

/* <state>/images/<config>/<id>.tmp: where the build id is composed before
 * imager_build_dir names it. */
char *imager_build_tmp_dir(const char *state, const char *config, const char *id);

/* <state>/images/<config>/<id>/<name>: a file of one build (name a plain
 * file name; id may be "latest"). */
char *imager_build_file(const char *state, const char *config, const char *id, const char *name);

/* Points <state>/images/<config>/latest at build id with one rename(2), so
 * that readers see the old or the new build. Returns 0, or -1 with err. */
int imager_latest_switch(const char *state, const char *config, const char *id,
			 struct sy_error *err);

/* Returns the id latest points at, or NULL when config has no latest
 * build. */
char *imager_latest_id(const char *state, const char *config);

/* Appends to configs the names of the image configs that have a directory
 * in <state>/images, sorted. None when there is no images directory. */
void imager_list_configs(const char *state, struct sy_strv *configs);

/* Appends to ids the builds of config, newest first: the directories of
 * <state>/images/<config>/, without latest and builds still being
 * composed. None when config has no directory. */
void imager_list_builds(const char *state, const char *config, struct sy_strv *ids);

/* A file of a build. */
struct imager_build_file {
	char *name;      /* file name, e.g. "core.tar.gz" */
	long long bytes; /* size in bytes */
};

/* What one build holds, as imager_build_read finds it. */
struct imager_build {
	char *arch;                      /* manifest.json's arch, or NULL */
	long packages;                   /* packages manifest.json lists, or -1
					  * when it has no "packages" array */
	struct imager_build_file *files; /* its regular files, sorted by name
					  * (symbolic links are left out) */
	size_t nfiles;
};

/* Reads build id of config into *b. Never fails: a missing or unreadable
 * manifest gives arch NULL and packages -1, an unreadable directory no
 * files. Release with imager_build_release. */
void imager_build_read(const char *state, const char *config, const char *id,
		       struct imager_build *b);

/* Frees what imager_build_read filled. */
void imager_build_release(struct imager_build *b);

#endif
