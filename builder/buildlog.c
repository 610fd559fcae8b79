#include "builder/buildlog.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/strv.h"

/* One line of the log, without its '\n'. */
struct span {
	const char *s;
	size_t n;
};

struct lines {
	struct span *items;
	size_t n;
};

static struct lines split_lines(const char *log, size_t len)
{
	struct lines l = { NULL, 0 };
	size_t alloc = 0;

	for (const char *p = log, *end = log + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (l.n == alloc) {
			alloc = alloc ? alloc * 2 : 256;
			l.items = sy_xrealloc(l.items, alloc * sizeof(*l.items));
		}
		l.items[l.n++] = (struct span){ p, n };
		p += n + 1;
	}
	return l;
}

static int starts_with(struct span line, const char *prefix)
{
	size_t n = strlen(prefix);

	return line.n >= n && !memcmp(line.s, prefix, n);
}

/* A shell trace of `sh -x` (rpmbuild runs scriptlets with set -x): one or
 * more '+' then a space. */
static int is_trace(struct span line)
{
	size_t i = 0;

	while (i < line.n && line.s[i] == '+')
		i++;
	return i > 0 && i < line.n && line.s[i] == ' ';
}

static int is_blank(struct span line)
{
	for (size_t i = 0; i < line.n; i++)
		if (!isspace((unsigned char)line.s[i]))
			return 0;
	return 1;
}

/* line without the "SCRIPT: N: " (dash) or "SCRIPT: line N: " (bash) the
 * shell puts before its own errors ("not found", "command not found"). */
static struct span strip_shell_prefix(struct span line, struct span script)
{
	struct span rest = line;
	size_t i;

	if (!script.n || line.n < script.n + 2 || memcmp(line.s, script.s, script.n) ||
	    memcmp(line.s + script.n, ": ", 2))
		return line;
	rest.s += script.n + 2;
	rest.n -= script.n + 2;
	i = starts_with(rest, "line ") ? 5 : 0;
	if (i >= rest.n || !isdigit((unsigned char)rest.s[i]))
		return rest;
	while (i < rest.n && isdigit((unsigned char)rest.s[i]))
		i++;
	if (i + 2 <= rest.n && !memcmp(rest.s + i, ": ", 2)) {
		rest.s += i + 2;
		rest.n -= i + 2;
	}
	return rest;
}

/* "%SECTION failed: ..." for "Bad exit status from SCRIPT (%SECTION)" at
 * lines[at]; NULL when text is not that error. */
static char *section_cause(const struct lines *l, size_t at, struct span text)
{
	static const char bad[] = "Bad exit status from ";
	struct span script, section, last = { NULL, 0 }, trace = { NULL, 0 };
	const char *open;
	char *executing;

	if (!starts_with(text, bad) || text.n < sizeof(bad) + 3 || text.s[text.n - 1] != ')')
		return NULL;
	script.s = text.s + sizeof(bad) - 1;
	open = NULL;
	for (const char *p = text.s + text.n - 1; p > script.s; p--)
		if (p[0] == '(' && p[-1] == ' ') {
			open = p;
			break;
		}
	if (!open)
		return NULL;
	script.n = (size_t)(open - 1 - script.s);
	section.s = open + 1;
	section.n = (size_t)(text.s + text.n - 1 - section.s);
	executing = sy_xasprintf("Executing(%.*s):", (int)section.n, section.s);
	for (size_t i = at; i-- > 0 && !starts_with(l->items[i], executing);) {
		struct span line = l->items[i];
		if (is_trace(line)) {
			if (!trace.s)
				trace = line;
		} else if (!is_blank(line) && !last.s) {
			last = line;
		}
	}
	free(executing);
	if (last.s) {
		last = strip_shell_prefix(last, script);
		return sy_xasprintf("%.*s failed: %.*s", (int)section.n, section.s, (int)last.n,
				    last.s);
	}
	if (trace.s) {
		size_t skip = strspn(trace.s, "+") + 1;
		return sy_xasprintf("%.*s failed, last command: %.*s", (int)section.n, section.s,
				    (int)(trace.n - skip), trace.s + skip);
	}
	return sy_xasprintf("%.*s failed", (int)section.n, section.s);
}

/* text and the indented lines after lines[at] that detail it. */
static char *with_details(const struct lines *l, size_t at, struct span text)
{
	struct sy_strv items = SY_STRV_INIT;
	size_t more = 0;
	char *joined, *cause;

	for (size_t i = at + 1; i < l->n; i++) {
		struct span line = l->items[i];
		if (!line.n || (line.s[0] != ' ' && line.s[0] != '\t'))
			break;
		if (is_blank(line))
			break;
		size_t skip = strspn(line.s, " \t");
		if (items.n < BUILDER_BUILD_LOG_CAUSE_ITEMS)
			sy_strv_pushf(&items, "%.*s", (int)(line.n - skip), line.s + skip);
		else
			more++;
	}
	if (more)
		sy_strv_pushf(&items, "and %zu more", more);
	joined = sy_strv_join(&items, "; ");
	cause = items.n ? sy_xasprintf("%.*s %s", (int)text.n, text.s, joined)
			: sy_xasprintf("%.*s", (int)text.n, text.s);
	free(joined);
	sy_strv_release(&items);
	return cause;
}

char *builder_build_log_cause(const char *log, size_t len)
{
	struct lines l = split_lines(log, len);
	char *cause = NULL;
	size_t at = l.n;

	for (size_t i = l.n; i-- > 0;)
		if (starts_with(l.items[i], "error: ")) {
			at = i;
			break;
		}
	if (at < l.n) {
		struct span text = { l.items[at].s + 7, l.items[at].n - 7 };
		cause = section_cause(&l, at, text);
		if (!cause && text.n && text.s[text.n - 1] == ':')
			cause = with_details(&l, at, text);
		if (!cause)
			cause = sy_xasprintf("%.*s", (int)text.n, text.s);
		for (char *c = cause; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
	}
	free(l.items);
	return cause;
}
