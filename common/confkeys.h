/* The keys a configuration file may hold, and the check that it holds no
 * other. shipyard's configuration files are in git-config syntax (git-config(1)
 * "CONFIGURATION FILE": "[section]" or "[section \"subsection\"]" headers,
 * "name = value" lines, ';' and '#' comments, '\' continuing a line); each
 * file format declares its keys once, in one table of struct sy_conf_key
 * (planner/distrokeys.c, server/servekeys.c, the worker manifest's in
 * builder/worker.c), one line a key. libgit2 reads the values; this module
 * reads the file's text again only for the names and their line numbers, so
 * that a misspelt key is an error naming file, line and key with the closest
 * known one ("serve.conf:7: repo.mini.brnch: unknown key (did you mean
 * repo.mini.branch?)") instead of a setting silently ignored. */
#ifndef SY_CONFKEYS_H
#define SY_CONFKEYS_H

#include <stddef.h>

#include "common/error.h"
#include "common/strv.h"

/* Flags of a key. */
enum {
	SY_CONF_MULTI = 1,  /* repeatable: every value counts, in order */
	SY_CONF_SECRET = 2, /* a path to a secret: shown, never its content */
};

/* One key of a file format. */
struct sy_conf_key {
	const char *name;  /* "section.key", "section.*.key" (any subsection,
			    * [section "<name>"]) or "section.sub.key" (that
			    * subsection only); section and key lowercase, as
			    * git compares them without case */
	unsigned flags;    /* SY_CONF_* */
	const char *dflt;  /* the value that applies when the key is absent, as
			    * text ("127.0.0.1:8080", "<dir>/.shipyard"), or
			    * NULL: none (the setting is off or required) */
	const char *doc;   /* one line: what it sets */
};

/* Checks the names in a configuration file's text (len bytes) against
 * keys[0..nkeys): every section header must open a section some key
 * belongs to (with or without subsection as the key says) and every key
 * must be one of the table. file names the file in messages. The first
 * problem goes to err ("<file>:<line>: <section.sub.key>: unknown key (did
 * you mean <section.sub.other>?)", "<file>:<line>: [distor]: unknown section
 * (did you mean [distro]?)"; the suggestion is the known name nearest in
 * edit distance, when near enough); when all is not NULL every problem is
 * also appended to it (messages, caller releases). Lines libgit2 would
 * refuse as syntax are left to libgit2. Returns 0, or -1. */
int sy_conf_check(const char *file, const char *text, size_t len,
		  const struct sy_conf_key *keys, size_t nkeys, struct sy_error *err,
		  struct sy_strv *all);

/* sy_conf_check on the text of the file at path, named path in messages;
 * a file that cannot be read is an error too ("<path>: cannot read: ...").
 * Returns 0, or -1 with err. */
int sy_conf_check_file(const char *path, const struct sy_conf_key *keys, size_t nkeys,
		       struct sy_error *err);

/* Returns the key of the table name (as libgit2 spells an entry:
 * "repo.mini.branch", section and key lowercased) is, or NULL. */
const struct sy_conf_key *sy_conf_key_find(const struct sy_conf_key *keys, size_t nkeys,
					   const char *name);

/* Appends to subs (caller releases) each distinct subsection the file's text
 * opens for section (lowercase), in order of appearance: the names of the
 * [repo "<name>"] sections. */
void sy_conf_subsections(const char *text, size_t len, const char *section,
			 struct sy_strv *subs);

/* Appends to names (caller releases) the concrete names key stands for in
 * a file whose text is given: its own name, or for a "section.*.key" one
 * name per subsection the text opens ("repo.mini.branch"), none when it
 * opens none. */
void sy_conf_key_expand(const struct sy_conf_key *key, const char *text, size_t len,
			struct sy_strv *names);

/* The Levenshtein edit distance between a and b (insertions, deletions and
 * substitutions of one byte, each counting 1), any case. */
size_t sy_edit_distance(const char *a, const char *b);

#endif
