/* Package manifests: RPM file names split into name, version, release and
 * arch, from the right, as rpm names its files. */
#define _GNU_SOURCE
#include "planner/pkgmanifest.h"

#include <stdlib.h>
#include <string.h>

#include "common/strv.h"

#define NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._+-"
#define VERSION_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._+~^"
#define ARCH_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"

/* 1 when s is not empty and made of chars only. */
static int made_of(const char *s, const char *chars)
{
	return *s && s[strspn(s, chars)] == '\0';
}

/* Splits line (modified) into pkg; 0, or -1 when it is not an RPM file name. */
static int split(char *line, struct planner_manifest_pkg *pkg)
{
	size_t len = strlen(line);
	char *dot, *dash;

	if (len < 5 || strcmp(line + len - 4, ".rpm") != 0)
		return -1;
	line[len - 4] = '\0';
	if (!(dot = strrchr(line, '.')))
		return -1;
	*dot = '\0';
	if (!(dash = strrchr(line, '-')))
		return -1;
	*dash = '\0';
	pkg->release = dash + 1;
	if (!(dash = strrchr(line, '-')))
		return -1;
	*dash = '\0';
	pkg->version = dash + 1;
	pkg->name = line;
	pkg->arch = dot + 1;
	if (!made_of(pkg->name, NAME_CHARS) || !made_of(pkg->version, VERSION_CHARS) ||
	    !made_of(pkg->release, VERSION_CHARS) || !made_of(pkg->arch, ARCH_CHARS) ||
	    pkg->name[0] == '-' || pkg->name[0] == '.')
		return -1;
	return 0;
}

static int add_line(struct planner_manifest *out, const char *file, size_t lineno,
		    const char *start, size_t len, struct sy_error *err)
{
	char *line = sy_xstrndup(start, len), *copy;
	struct planner_manifest_pkg pkg;
	int rc = 0;

	copy = sy_xstrdup(line);
	if (split(copy, &pkg) != 0) {
		rc = sy_error_set(err, "%s:%zu: \"%.80s\": not an RPM file name "
				  "(name-version-release.arch.rpm)", file, lineno, line);
	} else {
		out->items = sy_xrealloc(out->items, (out->n + 1) * sizeof(*out->items));
		out->items[out->n++] = (struct planner_manifest_pkg){
			sy_xstrdup(pkg.name), sy_xstrdup(pkg.version), sy_xstrdup(pkg.release),
			sy_xstrdup(pkg.arch) };
	}
	free(copy);
	free(line);
	return rc;
}

int planner_manifest_parse(const char *file, const char *text, size_t len,
			   struct planner_manifest *out, struct sy_error *err)
{
	size_t lineno = 0, pos = 0;

	memset(out, 0, sizeof(*out));
	while (pos < len) {
		const char *start = text + pos, *nl = memchr(start, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - start) : len - pos;

		pos += n + (nl != NULL);
		lineno++;
		while (n && (start[n - 1] == '\r' || start[n - 1] == ' ' || start[n - 1] == '\t'))
			n--;
		while (n && (*start == ' ' || *start == '\t')) {
			start++;
			n--;
		}
		if (n == 0 || *start == '#')
			continue;
		if (memchr(start, '\0', n)) {
			sy_error_set(err, "%s:%zu: NUL byte in a file name", file, lineno);
			planner_manifest_release(out);
			return -1;
		}
		if (add_line(out, file, lineno, start, n, err) != 0) {
			planner_manifest_release(out);
			return -1;
		}
	}
	return 0;
}

int planner_manifest_has(const struct planner_manifest *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->items[i].name, name) == 0)
			return 1;
	return 0;
}

void planner_manifest_release(struct planner_manifest *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->items[i].name);
		free(m->items[i].version);
		free(m->items[i].release);
		free(m->items[i].arch);
	}
	free(m->items);
	memset(m, 0, sizeof(*m));
}
