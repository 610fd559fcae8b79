/* The spec server: one per reader, so that the cost of a sandbox (its
 * namespaces and mounts) and of loading the macro context is paid once per
 * reader, not once per spec. Each spec still starts from the same state: a
 * child forked from the server after the context was applied (librpm's
 * macros are process memory), a fresh tmpfs at its directory, an emptied
 * /tmp, and nothing left running of the spec before it: every process of the
 * spec's user is killed once it ends (kill(-1) as that user, until none is
 * left), so a process a hostile spec leaves behind cannot change how the
 * next spec reads. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/child.h"
#include "common/fs.h"
#include "planner/spec-private.h"

/* The fd a spec child writes its result to. */
#define SPEC_RESULT_FD 3
/* The largest message or result accepted (a spec's directory is at most
 * PLANNER_SPEC_DIR_MAX; its result is a JSON text of its dependencies). */
#define FRAME_MAX ((size_t)PLANNER_SPEC_DIR_MAX + (1u << 20))
#define PATH_MAX_LEN 4096u
#define FILES_MAX 100000u

/* ------------------------------------------------------------------------ */
/* Frames.                                                                   */

static int send_all(int fd, const void *data, size_t len, struct sy_error *err)
{
	const char *p = data;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return sy_error_set(err, "spec server: send: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Sends a header line ("S 12 340 2\n"). */
static int send_header(int fd, struct sy_error *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int send_header(int fd, struct sy_error *err, const char *fmt, ...)
{
	char head[96];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	return send_all(fd, head, (size_t)n, err);
}

int planner_specserve_send(int fd, const struct planner_spec_input *in,
			   const struct planner_spec_dirfiles *files, struct sy_error *err)
{
	size_t plen = strlen(in->path);

	if (send_header(fd, err, "S %zu %zu %zu\n", plen, in->len, files->n) ||
	    send_all(fd, in->path, plen, err) || send_all(fd, in->content, in->len, err))
		return -1;
	for (size_t i = 0; i < files->n; i++) {
		const struct planner_spec_dirfile *f = &files->items[i];
		size_t nlen = strlen(f->name);

		if (send_header(fd, err, "F %zu %zu\n", nlen, f->len) ||
		    send_all(fd, f->name, nlen, err) || send_all(fd, f->data, f->len, err))
			return -1;
	}
	return 0;
}

/* One spec as received: the input and its directory's files. */
struct spec_msg {
	struct planner_spec_input in;
	struct planner_spec_dirfiles files;
	char *path;
	char *content;
};

static void msg_release(struct spec_msg *m)
{
	for (size_t i = 0; i < m->files.n; i++) {
		free(m->files.items[i].name);
		free(m->files.items[i].data);
	}
	free(m->files.items);
	free(m->path);
	free(m->content);
	memset(m, 0, sizeof(*m));
}

/* Reads len bytes into a new NUL-terminated buffer; NULL at a short read. */
static char *read_bytes(FILE *f, size_t len)
{
	char *buf = sy_xmalloc(len + 1);

	if (len && fread(buf, 1, len, f) != len) {
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

/* Reads one message: 1 when read, 0 at end of file, -1 when malformed. */
static int read_msg(FILE *f, struct spec_msg *m)
{
	size_t plen, clen, nfiles, total = 0;
	int c = fgetc(f);

	memset(m, 0, sizeof(*m));
	if (c == EOF)
		return 0;
	if (c != 'S' || fscanf(f, " %zu %zu %zu", &plen, &clen, &nfiles) != 3 ||
	    fgetc(f) != '\n' || plen > PATH_MAX_LEN || clen > FRAME_MAX || nfiles > FILES_MAX)
		return -1;
	if (!(m->path = read_bytes(f, plen)) || !(m->content = read_bytes(f, clen)))
		return -1;
	m->files.items = sy_xcalloc(nfiles + 1, sizeof(*m->files.items));
	for (size_t i = 0; i < nfiles; i++) {
		struct planner_spec_dirfile *file = &m->files.items[i];
		size_t nlen, dlen;

		if (fgetc(f) != 'F' || fscanf(f, " %zu %zu", &nlen, &dlen) != 2 ||
		    fgetc(f) != '\n' || nlen > PATH_MAX_LEN || dlen > FRAME_MAX - total)
			return -1;
		total += dlen;
		m->files.n++;
		if (!(file->name = read_bytes(f, nlen)) || !(file->data = read_bytes(f, dlen)))
			return -1;
		file->len = dlen;
	}
	m->in = (struct planner_spec_input){ m->path, m->content, clen, NULL, NULL, 0 };
	return 1;
}

/* ------------------------------------------------------------------------ */
/* One spec.                                                                 */

struct spec_run {
	const struct planner_specserve *s;
	const struct spec_msg *m;
	const char *ctx_error;
};

/* The spec's child: becomes the spec's user, then parses. */
static int spec_child(void *arg)
{
	const struct spec_run *r = arg;
	struct sy_error err = { { 0 } };

	if (r->s->env) {
		clearenv();
		for (const char *const *e = r->s->env; *e; e++)
			putenv((char *)*e);
	}
	if (r->s->user) {
		if (sandbox_become_user(r->s->user, &err)) {
			dprintf(SPEC_RESULT_FD, "{\"error\":\"spec reader: cannot become the reader's "
						"user\"}");
			return 3;
		}
	}
	if (chdir(r->s->scratch) != 0)
		return 3;
	planner_spec_parse_and_exit(&r->m->in, &r->m->files, r->s->ctx, r->ctx_error,
				    r->s->scratch, SPEC_RESULT_FD);
}

/* Kills every process of uid but the caller, until none is left (its
 * forks race with the kill). */
static int kill_all_of(void *arg)
{
	const uid_t *uid = arg;

	if (setresuid(*uid, *uid, *uid) != 0)
		return 1;
	for (int i = 0; i < 10000; i++) {
		if (kill(-1, SIGKILL) < 0 && errno == ESRCH)
			return 0;
		usleep(1000);
	}
	return 1;
}

/* Reaps the children of the server that ended. Returns 1 when none is
 * left at all: as pid 1 of its namespace, with the spec's child reaped, the
 * server is then the namespace's only process (every other one descends
 * from it, and the orphans of an ended process are its children before
 * that process can be reaped), so nothing of the spec runs. */
static int none_left(void)
{
	for (;;) {
		pid_t pid = waitpid(-1, NULL, WNOHANG);

		if (pid > 0)
			continue;
		if (pid < 0 && errno == EINTR)
			continue;
		return pid < 0 && errno == ECHILD;
	}
}

/* Ends what the spec left running: a child as the spec's user kills all
 * of that user's processes; waiting for it reaps them (the server is pid 1
 * of its namespace, their new parent). Most specs leave nothing: then no
 * child is needed. */
static void sweep(const struct planner_specserve *s)
{
	struct sy_child killer = SY_CHILD_INIT;
	struct sy_error err = { { 0 } };
	uid_t uid;

	if (!s->user || (getpid() == 1 && none_left()))
		return;
	uid = s->user->uid;
	killer.child_fn = kill_all_of;
	killer.child_arg = &uid;
	killer.log_fd = SY_CHILD_DEVNULL;
	killer.close_fds = 1;
	killer.reap_orphans = 1;
	sy_child_run(&killer, &err);
	sy_child_release(&killer);
}

/* A fresh, empty tmpfs at the spec's directory. */
static int mount_fresh(const struct planner_specserve *s, struct sy_error *err)
{
	char opts[96];

	snprintf(opts, sizeof(opts), "mode=0755,size=64m,uid=%u,gid=%u", (unsigned)s->user->uid,
		 (unsigned)s->user->gid);
	if (mount("tmpfs", s->scratch, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0)
		return sy_error_set(err, "mount %s: %s", s->scratch, strerror(errno));
	return 0;
}

/* 1 when dir ("/tmp/x") is path or one of its parents. */
static int holds(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	return path && !strncmp(path, dir, n) && (path[n] == '/' || !path[n]);
}

/* Empties /tmp of what the spec left there, but for the directories that
 * lead to the sandbox's own mounts (root's, which the spec's user cannot
 * write). A fresh tmpfs on /tmp would hide those mounts. */
static void clean_tmp(const struct planner_specserve *s)
{
	DIR *d = opendir("/tmp");
	struct dirent *de;

	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *path = sy_xasprintf("/tmp/%s", de->d_name);

		if (!holds(path, s->scratch) && !holds(path, s->ctx->dir) &&
		    !holds(path, s->ctx->rpmdb))
			sy_rm_rf(path, NULL);
		free(path);
	}
	if (d)
		closedir(d);
}

static void unmount_fresh(const struct planner_specserve *s)
{
	clean_tmp(s);
	umount2(s->scratch, MNT_DETACH);
}

/* An unprivileged run has no mounts: the directory is emptied instead. */
static int empty_scratch(const struct planner_specserve *s, struct sy_error *err)
{
	if (sy_rm_rf(s->scratch, err) || sy_mkdir_p(s->scratch, 0700, err))
		return -1;
	return 0;
}

static int write_frame(int fd, int status, int sig, const char *data, size_t len)
{
	char head[96];
	int n = snprintf(head, sizeof(head), "R %d %d %zu\n", status, sig, len);

	return sy_write_all(fd, head, (size_t)n) || sy_write_all(fd, data, len) ? -1 : 0;
}

/* Reads one spec in a child and reports it. Returns 0, or -1 when the
 * server cannot go on (its result pipe is gone). */
static int serve_one(const struct planner_specserve *s, const struct spec_msg *m,
		     const char *ctx_error)
{
	struct spec_run run = { s, m, ctx_error };
	struct sy_child c = SY_CHILD_INIT;
	struct sy_error err = { { 0 } };
	int rc;

	if (s->user ? mount_fresh(s, &err) : empty_scratch(s, &err)) {
		char *json = sy_xasprintf("{\"error\":\"spec reader sandbox: %s\"}", err.msg);

		rc = write_frame(s->out_fd, 3, 0, json, strlen(json));
		free(json);
		return rc;
	}
	c.child_fn = spec_child;
	c.child_arg = &run;
	c.capture = 1;
	c.capture_at = SPEC_RESULT_FD;
	c.log_fd = SY_CHILD_DEVNULL;
	c.close_fds = 1;
	c.death_signal = SIGKILL;
	if (sy_child_run(&c, &err) != 0) {
		rc = write_frame(s->out_fd, 3, 0, "", 0);
	} else {
		sweep(s);
		rc = write_frame(s->out_fd, c.status, c.signal, c.out ? c.out : "",
				 c.out_len > FRAME_MAX ? 0 : c.out_len);
	}
	sy_child_release(&c);
	if (s->user)
		unmount_fresh(s);
	return rc;
}

int planner_specserve_main(const struct planner_specserve *s)
{
	struct sy_error err = { { 0 } };
	FILE *in = fdopen(s->in_fd, "r");
	int rc = 0;

	if (!in)
		return 2;
	/* The same for every spec: applied once, inherited by each child. */
	int applied = planner_spec_ctx_apply(s->ctx, &err);

	for (;;) {
		struct spec_msg m;
		int got = read_msg(in, &m);

		if (got <= 0) {
			rc = got < 0 ? 2 : 0;
			msg_release(&m);
			break;
		}
		rc = serve_one(s, &m, applied ? err.msg : NULL);
		msg_release(&m);
		if (rc)
			break;
	}
	fclose(in);
	return rc ? 2 : 0;
}
