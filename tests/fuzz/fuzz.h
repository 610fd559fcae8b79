/* Helpers shared by the libFuzzer targets of tests/fuzz: a temporary
 * directory for the readers that take a path, and the input format of the
 * webhook targets. Everything here aborts on a failure of its own (a full
 * disk is not a finding); a target calls abort() when an invariant of the
 * code under test does not hold, so that libFuzzer reports the input. */
#ifndef FUZZ_FUZZ_H
#define FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fs.h"
#include "common/strv.h"
#include "forge/forge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifdef FUZZ_HOLD_LIBGIT2
#include <git2.h>

/* Called once at start. The targets of the git-config readers (which define
 * FUZZ_HOLD_LIBGIT2) hold a reference to libgit2: the code under test
 * initialises and shuts it down around each read, and without a reference
 * held each input would pay the library's whole set-up and tear-down (about
 * 9 ms) instead of the parse; the service, which holds it, does not. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	git_libgit2_init();
	return 0;
}
#endif

/* The target's temporary directory, made on first use under $TMPDIR, else
 * /dev/shm (a tmpfs: fsync, which sy_write_file_atomic calls, costs nothing
 * there), else /tmp, and removed when the process exits. One per process,
 * so that targets run with -jobs or -fork do not share files. */
static char *fuzz_dir;

static inline void fuzz_remove_dir(void)
{
	sy_rm_rf(fuzz_dir, NULL);
	free(fuzz_dir);
	fuzz_dir = NULL;
}

static inline const char *fuzz_tmpdir(void)
{
	struct sy_error err = { { 0 } };
	const char *tmp = getenv("TMPDIR");

	if (fuzz_dir)
		return fuzz_dir;
	if (!tmp || !*tmp)
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	fuzz_dir = sy_mkdtemp(tmp, "shipyard-fuzz-", &err);
	if (!fuzz_dir) {
		fprintf(stderr, "fuzz: %s\n", err.msg);
		abort();
	}
	atexit(fuzz_remove_dir);
	return fuzz_dir;
}

/* Writes size bytes of data to the file name in the temporary directory and
 * returns its path (newly allocated, caller frees). */
static inline char *fuzz_write_file(const char *name, const void *data, size_t size)
{
	struct sy_error err = { { 0 } };
	char *path = sy_xasprintf("%s/%s", fuzz_tmpdir(), name);

	if (sy_write_file(path, data, size, 0644, &err)) {
		fprintf(stderr, "fuzz: %s\n", err.msg);
		abort();
	}
	return path;
}

/* Returns size bytes of data as a new NUL-terminated string (a NUL inside
 * ends it early, as it would for a reader of C strings). Caller frees. */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
	char *s = sy_xmalloc(size + 1);

	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* ---- webhook deliveries ----
 *
 * One input is a delivery in the form of tests/fixtures/webhooks (a headers
 * file, then the body), behind a line that chooses the forge and the secret:
 *
 *   1 my-secret                    forge: first byte % 3 (0 GitHub, 1 Gitea,
 *                                  2 GitLab); secret: after the first space
 *   X-Gitea-Event: push            request headers, "Name: value", until an
 *   Content-Type: application/json empty line
 *
 *   {"ref": "refs/heads/main", ...}  the body: every remaining byte
 */

#define FUZZ_MAX_HEADERS 32

struct fuzz_delivery {
	enum forge_kind kind;
	const char *secret;	/* "" when the line has none */
	const char *names[FUZZ_MAX_HEADERS];
	const char *values[FUZZ_MAX_HEADERS];
	size_t nheaders;
	const char *body;	/* not NUL-terminated; may hold NULs */
	size_t len;
	char *text;		/* the copy everything above points into */
};

/* Ends the line at *p (at '\n', dropping a '\r' before it) and returns it;
 * *p moves to the next line, or to end. */
static inline char *fuzz_next_line(char **p, char *end)
{
	char *line = *p, *nl = memchr(line, '\n', (size_t)(end - line));

	if (!nl)
		nl = end;
	*p = nl < end ? nl + 1 : end;
	*nl = '\0';
	if (nl > line && nl[-1] == '\r')
		nl[-1] = '\0';
	return line;
}

/* Splits data into d (d->text is a copy; release with fuzz_delivery_release). */
static inline void fuzz_delivery_split(const uint8_t *data, size_t size, struct fuzz_delivery *d)
{
	char *p, *end, *line;

	memset(d, 0, sizeof(*d));
	d->text = sy_xmalloc(size + 1);
	memcpy(d->text, data, size);
	d->text[size] = '\0';
	p = d->text;
	end = d->text + size;
	d->kind = size ? (enum forge_kind)(data[0] % 3) : FORGE_GITHUB;
	line = fuzz_next_line(&p, end);
	d->secret = strchr(line, ' ') ? strchr(line, ' ') + 1 : "";
	while (p < end) {
		char *colon;

		line = fuzz_next_line(&p, end);
		if (!*line)
			break;
		colon = strchr(line, ':');
		if (!colon || d->nheaders == FUZZ_MAX_HEADERS)
			continue;
		*colon++ = '\0';
		colon += strspn(colon, " \t");
		d->names[d->nheaders] = line;
		d->values[d->nheaders++] = colon;
	}
	d->body = p;
	d->len = (size_t)(end - p);
}

/* forge_header_fn over a struct fuzz_delivery: the first header of that
 * name, compared without regard to case as HTTP does. */
static inline const char *fuzz_header(void *arg, const char *name)
{
	struct fuzz_delivery *d = arg;

	for (size_t i = 0; i < d->nheaders; i++)
		if (!strcasecmp(d->names[i], name))
			return d->values[i];
	return NULL;
}

static inline void fuzz_delivery_release(struct fuzz_delivery *d)
{
	free(d->text);
	memset(d, 0, sizeof(*d));
}

#endif
