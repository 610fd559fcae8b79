/* Shared between the files of state/ only: the JSON records kept as files
 * (published.json in layout.c, release.json in release.c) are read and
 * written the same way. */
#ifndef STATE_RECORD_PRIVATE_H
#define STATE_RECORD_PRIVATE_H

#include <jansson.h>

#include "common/error.h"

/* Writes doc as indented JSON to path atomically (temporary file, fsync,
 * rename), creating dir first. doc is not released. Returns 0 or -1. */
int state_record_write_json(const char *dir, const char *path, json_t *doc,
			    struct sy_error *err);

/* Loads the JSON object at path: returns 1 with *doc (caller releases), 0
 * when there is no file, -1 with err when it is not a JSON object. */
int state_record_read_json(const char *path, json_t **doc, struct sy_error *err);

/* The string member key of doc, newly allocated, or NULL. */
char *state_record_string(json_t *doc, const char *key);

#endif
