#include "common/confkeys.h"
#include "common/fs.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A name split at its first and last dots: "repo.mini.branch" is section
 * "repo", subsection "mini", key "branch"; "serve.listen" has no
 * subsection (sub NULL). Pointers into the name, with lengths. */
struct parts {
	const char *section, *sub, *key;
	size_t section_len, sub_len, key_len;
};

static int split(const char *name, struct parts *p)
{
	const char *first = strchr(name, '.'), *last = strrchr(name, '.');

	if (!first)
		return -1;
	p->section = name;
	p->section_len = (size_t)(first - name);
	p->key = last + 1;
	p->key_len = strlen(last + 1);
	p->sub = first == last ? NULL : first + 1;
	p->sub_len = first == last ? 0 : (size_t)(last - first - 1);
	return 0;
}

static int same_nocase(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && !strncasecmp(a, b, alen);
}

/* Whether pattern's subsection (NULL, "*" or fixed) takes sub (NULL when
 * the name has none). Subsections compare with case, as git's do. */
static int sub_matches(const struct parts *pattern, const char *sub, size_t sub_len)
{
	if (!pattern->sub)
		return !sub;
	if (pattern->sub_len == 1 && pattern->sub[0] == '*')
		return sub && sub_len > 0;
	return sub && sub_len == pattern->sub_len && !memcmp(sub, pattern->sub, sub_len);
}

static int matches(const char *pattern_name, const struct parts *n)
{
	struct parts p;

	return split(pattern_name, &p) == 0 && same_nocase(p.section, p.section_len, n->section,
							   n->section_len) &&
	       sub_matches(&p, n->sub, n->sub_len) && same_nocase(p.key, p.key_len, n->key, n->key_len);
}

const struct sy_conf_key *sy_conf_key_find(const struct sy_conf_key *keys, size_t nkeys,
					   const char *name)
{
	struct parts n;

	if (split(name, &n))
		return NULL;
	for (size_t i = 0; i < nkeys; i++)
		if (matches(keys[i].name, &n))
			return &keys[i];
	return NULL;
}

/* Longer names are not compared: nobody misspells 200 characters, and the
 * table is O(n*m). */
#define DISTANCE_MAX_LEN 128

size_t sy_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[DISTANCE_MAX_LEN + 1];

	if (la > DISTANCE_MAX_LEN || lb > DISTANCE_MAX_LEN)
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
			size_t best = diag + cost;
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* What the scanner found: a section header (key NULL) or a key, each with
 * the section it is in (NULL before any header) and its line. */
struct item {
	size_t line;
	const char *section, *sub, *key; /* sub NULL: none */
};

typedef void (*item_fn)(void *arg, const struct item *item);

struct scanner {
	const char *text;
	size_t len, i, line;
	char *section, *sub;
	item_fn fn;
	void *arg;
};

static int at(const struct scanner *s, char c)
{
	return s->i < s->len && s->text[s->i] == c;
}

static void skip_blanks(struct scanner *s)
{
	while (s->i < s->len && (s->text[s->i] == ' ' || s->text[s->i] == '\t' ||
				 s->text[s->i] == '\r'))
		s->i++;
}

static void skip_line(struct scanner *s)
{
	while (s->i < s->len && s->text[s->i] != '\n')
		s->i++;
}

/* Skips a value up to its end of line: quotes, backslash escapes, comments,
 * and a backslash before the newline continuing it on the next line. */
static void skip_value(struct scanner *s)
{
	int quoted = 0;

	while (s->i < s->len && s->text[s->i] != '\n') {
		char c = s->text[s->i];
		if (c == '\\' && s->i + 1 < s->len) {
			size_t next = s->i + 1;
			if (s->text[next] == '\r' && next + 1 < s->len && s->text[next + 1] == '\n')
				next++;
			if (s->text[next] == '\n')
				s->line++;
			s->i = next + 1;
			continue;
		}
		if (c == '"')
			quoted = !quoted;
		else if ((c == ';' || c == '#') && !quoted) {
			skip_line(s);
			return;
		}
		s->i++;
	}
}

/* Reads "[section]", "[section \"sub\"]" or the old "[section.sub]" at
 * s->i; returns 0 with s->section and s->sub set, or -1 (a malformed header
 * libgit2 refuses). */
static int read_header(struct scanner *s)
{
	size_t start = ++s->i;
	char *sub = NULL;

	while (s->i < s->len && (isalnum((unsigned char)s->text[s->i]) || s->text[s->i] == '-' ||
				 s->text[s->i] == '.'))
		s->i++;
	char *name = sy_xstrndup(s->text + start, s->i - start);
	skip_blanks(s);
	if (at(s, '"')) {
		size_t n = 0;
		sub = sy_xcalloc(s->len - s->i + 1, 1);
		for (s->i++; s->i < s->len && s->text[s->i] != '"' && s->text[s->i] != '\n'; s->i++) {
			if (s->text[s->i] == '\\' && s->i + 1 < s->len && s->text[s->i + 1] != '\n')
				s->i++;
			sub[n++] = s->text[s->i];
		}
		if (at(s, '"'))
			s->i++;
	} else if (strchr(name, '.')) {
		char *dot = strchr(name, '.');
		sub = sy_xstrdup(dot + 1);
		*dot = '\0';
	}
	if (!at(s, ']') || !name[0]) {
		free(name);
		free(sub);
		return -1;
	}
	s->i++;
	free(s->section);
	free(s->sub);
	s->section = name;
	s->sub = sub;
	return 0;
}

static void emit(struct scanner *s, size_t line, const char *key)
{
	struct item item = { line, s->section, s->sub, key };

	s->fn(s->arg, &item);
}

/* Reads a "name [= value]" line at s->i. */
static void read_key(struct scanner *s)
{
	size_t start = s->i, line = s->line;

	while (s->i < s->len && (isalnum((unsigned char)s->text[s->i]) || s->text[s->i] == '-'))
		s->i++;
	char *key = sy_xstrndup(s->text + start, s->i - start);
	emit(s, line, key);
	free(key);
	skip_value(s);
}

static void scan(const char *text, size_t len, item_fn fn, void *arg)
{
	struct scanner s = { text, len, 0, 1, NULL, NULL, fn, arg };

	/* libgit2 skips a UTF-8 byte order mark at the start. */
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		s.i = 3;
	while (s.i < s.len) {
		skip_blanks(&s);
		if (at(&s, '[')) {
			if (read_header(&s)) {
				skip_line(&s);
				continue;
			}
			emit(&s, s.line, NULL);
			skip_blanks(&s); /* git allows "[core] bare = true" */
		}
		if (s.i < s.len && isalpha((unsigned char)s.text[s.i]))
			read_key(&s);
		else if (!at(&s, '\n'))
			skip_line(&s);
		if (at(&s, '\n')) {
			s.i++;
			s.line++;
		}
	}
	free(s.section);
	free(s.sub);
}

/* A pattern's name as shown to the user for a section sub (NULL: none):
 * "*" becomes sub when the user gave one, else "<name>". Newly allocated;
 * key NULL: the section header "[repo \"mini\"]". */
static char *display(const char *pattern_name, const char *sub, int key)
{
	struct parts p;

	split(pattern_name, &p);
	if (p.sub && p.sub_len == 1 && p.sub[0] == '*') {
		const char *s = sub ? sub : "<name>";
		return key ? sy_xasprintf("%.*s.%s.%.*s", (int)p.section_len, p.section, s,
					  (int)p.key_len, p.key)
			   : sy_xasprintf("[%.*s \"%s\"]", (int)p.section_len, p.section, s);
	}
	if (p.sub)
		return key ? sy_xstrdup(pattern_name)
			   : sy_xasprintf("[%.*s \"%.*s\"]", (int)p.section_len, p.section,
					  (int)p.sub_len, p.sub);
	return key ? sy_xstrdup(pattern_name)
		   : sy_xasprintf("[%.*s]", (int)p.section_len, p.section);
}

struct check {
	const char *file;
	const struct sy_conf_key *keys;
	size_t nkeys;
	struct sy_error *err;
	struct sy_strv *all;
	int failed;
	int section_known; /* the current section is known */
};

static void report(struct check *c, size_t line, const char *what, const char *why,
		   const char *suggestion)
{
	struct sy_error e = { { 0 } };

	if (suggestion)
		sy_error_set(&e, "%s:%zu: %s: %s (did you mean %s?)", c->file, line, what, why,
			     suggestion);
	else
		sy_error_set(&e, "%s:%zu: %s: %s", c->file, line, what, why);
	if (!c->failed && c->err)
		*c->err = e;
	if (c->all)
		sy_strv_push(c->all, e.msg);
	c->failed = 1;
}

/* The display name of the known key or section nearest to typed (edit
 * distance at most a third of its length, and at least 2 for short ones),
 * or NULL. Newly allocated. */
static char *nearest(const struct check *c, const char *typed, const char *sub, int key)
{
	size_t best = (size_t)-1, limit = strlen(typed) / 3;
	char *found = NULL;

	if (limit < 2)
		limit = 2;
	for (size_t i = 0; i < c->nkeys; i++) {
		char *name = display(c->keys[i].name, sub, key);
		size_t d = sy_edit_distance(typed, name);
		if (d <= limit && d < best) {
			best = d;
			free(found);
			found = name;
		} else {
			free(name);
		}
	}
	return found;
}

/* A known key named key in another section, shown ("repo.<name>.branch" for
 * a branch set in [serve]), or NULL. */
static char *elsewhere(const struct check *c, const char *key)
{
	for (size_t i = 0; i < c->nkeys; i++) {
		struct parts p;
		if (split(c->keys[i].name, &p) == 0 && same_nocase(p.key, p.key_len, key, strlen(key)))
			return display(c->keys[i].name, NULL, 1);
	}
	return NULL;
}

static void check_header(struct check *c, const struct item *it)
{
	struct parts n = { it->section, it->sub, "", strlen(it->section),
			   it->sub ? strlen(it->sub) : 0, 0 };
	char *shown, *hint;

	for (size_t i = 0; i < c->nkeys; i++) {
		struct parts p;
		if (split(c->keys[i].name, &p) == 0 &&
		    same_nocase(p.section, p.section_len, n.section, n.section_len) &&
		    sub_matches(&p, n.sub, n.sub_len)) {
			c->section_known = 1;
			return;
		}
	}
	c->section_known = 0;
	shown = it->sub ? sy_xasprintf("[%s \"%s\"]", it->section, it->sub)
			: sy_xasprintf("[%s]", it->section);
	hint = nearest(c, shown, it->sub, 0);
	/* A known section with a name it does not take, or without the one
	 * it needs: "[repo]" is [repo "<name>"]. */
	for (size_t i = 0; !hint && i < c->nkeys; i++) {
		struct parts p;
		if (split(c->keys[i].name, &p) == 0 &&
		    same_nocase(p.section, p.section_len, n.section, n.section_len))
			hint = display(c->keys[i].name, it->sub, 0);
	}
	report(c, it->line, shown, "unknown section", hint);
	free(hint);
	free(shown);
}

static char *lowercase(const char *text)
{
	char *copy = sy_xstrdup(text);

	for (char *p = copy; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return copy;
}

static void check_item(void *arg, const struct item *it)
{
	struct check *c = arg;
	char *name, *hint;

	if (!it->key) {
		check_header(c, it);
		return;
	}
	if (!it->section) {
		report(c, it->line, it->key, "key outside any section", NULL);
		return;
	}
	if (!c->section_known)
		return; /* the section was reported */
	/* As libgit2 names it: section and key lowercased, not the subsection. */
	char *section = lowercase(it->section), *key = lowercase(it->key);
	name = it->sub ? sy_xasprintf("%s.%s.%s", section, it->sub, key)
		       : sy_xasprintf("%s.%s", section, key);
	free(section);
	free(key);
	if (!sy_conf_key_find(c->keys, c->nkeys, name)) {
		hint = nearest(c, name, it->sub, 1);
		if (!hint)
			hint = elsewhere(c, it->key);
		report(c, it->line, name, "unknown key", hint);
		free(hint);
	}
	free(name);
}

int sy_conf_check(const char *file, const char *text, size_t len,
		  const struct sy_conf_key *keys, size_t nkeys, struct sy_error *err,
		  struct sy_strv *all)
{
	struct check c = { file, keys, nkeys, err, all, 0, 1 };

	scan(text, len, check_item, &c);
	return c.failed ? -1 : 0;
}

struct subs {
	const char *section;
	struct sy_strv *out;
};

static void add_sub(void *arg, const struct item *it)
{
	struct subs *s = arg;

	if (!it->key && it->sub && !strcasecmp(it->section, s->section) &&
	    !sy_strv_contains(s->out, it->sub))
		sy_strv_push(s->out, it->sub);
}

void sy_conf_subsections(const char *text, size_t len, const char *section,
			 struct sy_strv *subs)
{
	struct subs s = { section, subs };

	scan(text, len, add_sub, &s);
}

void sy_conf_key_expand(const struct sy_conf_key *key, const char *text, size_t len,
			struct sy_strv *names)
{
	struct sy_strv subs = SY_STRV_INIT;
	struct parts p;

	if (split(key->name, &p))
		return;
	if (!p.sub || p.sub_len != 1 || p.sub[0] != '*') {
		sy_strv_push(names, key->name);
		return;
	}
	char *section = sy_xstrndup(p.section, p.section_len);
	sy_conf_subsections(text, len, section, &subs);
	for (size_t i = 0; i < subs.n; i++)
		sy_strv_pushf(names, "%s.%s.%.*s", section, subs.items[i], (int)p.key_len, p.key);
	sy_strv_release(&subs);
	free(section);
}

int sy_conf_check_file(const char *path, const struct sy_conf_key *keys, size_t nkeys,
		       struct sy_error *err)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (sy_read_file(path, &text, &len, err))
		return -1;
	rc = sy_conf_check(path, text, len, keys, nkeys, err, NULL);
	free(text);
	return rc;
}
