/* Reading specs with librpm in sandboxed children. A spec is untrusted code
 * (docs/design.md, "Trust": %() runs shell commands, %{lua:} runs Lua), so
 * as root each reader first builds a sandbox: new mount, network, IPC, UTS
 * and PID namespaces, a root directory on a tmpfs holding a read-only bind of
 * /usr, an /etc of its own without the host's files (sandbox/sandbox.h has
 * what it holds), the host's /bin, /sbin, /lib* links, /dev/null,
 * /dev/zero, /dev/urandom, the macro context read-only at its host path, the
 * rpmdb of the worker manifest where rpm looks for its database, pivot_root
 * into it; the reader and all it starts in a cgroup of their own
 * (sandbox/cgroup.h: READER_MEMORY_BYTES, READER_PIDS), stopped as soon as
 * a fork is refused. The sandbox's pid 1 is a spec server (specserve.c): it
 * applies the macro context once and reads the specs it is sent one at a
 * time, each in a child of its own forked from it, as a user of the
 * reader's own (group nogroup, no_new_privs), with an environment of PATH,
 * HOME and LANG only, on fresh tmpfs mounts at the spec's directory (the
 * path of a private directory of the reader, %_sourcedir) and /tmp, and
 * kills whatever that user left running before the next. A reader has one
 * spec at a time, with a deadline: past it, or when it reaches a limit, the
 * reader is killed and a new one takes the next spec. The process tree:
 * shipyard -> reader (makes the namespaces, waits) -> pid 1 (server) ->
 * parser. The sandbox is sandbox/sandbox.h's; the children are
 * common/child.h's. */
#define _GNU_SOURCE
#include "planner/spec.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "common/child.h"
#include "common/fs.h"
#include "common/util.h"
#include "planner/spec-private.h"
#include "sandbox/cgroup.h"
#include "sandbox/sandbox.h"

#define CHILD_TIMEOUT_S 60
/* Limits of one reader and what it starts (sandbox/cgroup.h): far above
 * what librpm, Lua and a few %() commands need, far below a machine's
 * worth; 2 * jobs readers run at once. */
#define READER_MEMORY_BYTES (1024ULL << 20)
#define READER_PIDS 256
#define READER_CPU_WEIGHT 100
/* How often a running reader's cgroup is asked whether it refused a fork. */
#define LIMIT_CHECK_MS 250
/* Who the spec's code runs as in the sandbox: a uid of its own, group
 * nogroup. Where no cgroup is available, RLIMIT_NPROC bounds the tasks of
 * a uid on the whole machine: with one uid for every reader, a fork bomb
 * in one spec would make %() fail in specs read at the same time, and
 * their wrong results would be cached. So each reader of a process gets
 * its own uid from a range no account uses: READER_UID_BASE + (pid of the
 * shipyard process mod 2^16) * READER_SLOTS + slot. */
#define READER_UID_BASE 0x70000000u
#define READER_SLOTS 64
#define SANDBOX_GID 65534
/* Exit status of a child whose sandbox could not be set up; the reason is
 * what it wrote into the result pipe. */
#define EXIT_SANDBOX 3
/* The result pipe's fd in the reader and its server; the spec socket's. */
#define RESULT_FD 3
#define SPEC_FD 4

/* One reader: a sandbox whose spec server reads the specs sent to it. */
struct reader {
	struct sy_child child; /* the reader process; its capture pipe carries
				* the server's result frames */
	int sock;              /* the parent's end of the spec socket */
	const struct planner_macro_ctx *ctx; /* with which macro context */
	unsigned slot;         /* its uid's slot, below READER_SLOTS */
	uid_t uid;             /* the uid its specs run as (reader_uid) */
	struct sandbox_cgroup cgroup; /* its limits: a cgroup, or rlimits set
				* by the reader itself; none unprivileged */
	char *dir;             /* the specs' directory, a fresh tmpfs per spec;
				* removed by the parent after the reader ended */
	size_t busy;           /* the input it reads, or NO_SPEC */
	double deadline;       /* sy_now_s() time the busy spec must end by */
	size_t used;           /* bytes of child.out already decoded */
};

#define NO_SPEC ((size_t)-1)

/* The uid of reader slot slot of this process (the shipyard process: call
 * it there, not in the reader). */
static uid_t reader_uid(unsigned slot)
{
	return READER_UID_BASE + ((unsigned)getpid() & 0xffffu) * READER_SLOTS + slot;
}
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

/* The server's settings for reader r. */
static struct planner_specserve server_of(const struct reader *r, const struct sandbox_user *user)
{
	return (struct planner_specserve){ .ctx = r->ctx, .user = user, .env = reader_env,
					   .scratch = r->dir, .in_fd = SPEC_FD,
					   .out_fd = RESULT_FD };
}

/* The server as the sandbox's pid 1, as root. */
static int serve_in_sandbox(void *arg)
{
	const struct reader *r = arg;
	const struct sandbox_user user = { "the spec reader", r->uid, SANDBOX_GID, NULL, 0 };
	struct planner_specserve s = server_of(r, &user);

	return planner_specserve_main(&s);
}

/* The reader process (its child_fn), with the result pipe at RESULT_FD, the
 * spec socket at SPEC_FD, stdio on /dev/null and no other fd. As root, the
 * server runs in the sandbox (see planner_specs_read); any failure to set
 * it up ends the reader with EXIT_SANDBOX and the reason in the pipe: no
 * spec is ever parsed outside it. Otherwise (a developer's unprivileged
 * run, where namespaces and mounts are not available) the server runs in
 * the reader itself, without network when the kernel allows an
 * unprivileged CLONE_NEWNET. */
static int reader_main(void *arg)
{
	const struct reader *r = arg;
	const char *const binds[] = { r->ctx->dir, NULL };
	/* The manifest's rpmdb where rpm looks for its database: /var/lib/rpm (the
	 * distribution's rpm) and ~/.rpmdb with HOME=/ (Debian's). */
	const char *const binds_at[] = { r->ctx->rpmdb, "/var/lib/rpm", r->ctx->rpmdb, "/.rpmdb",
					 NULL };
	const struct sandbox_user user = { "the spec reader", r->uid, SANDBOX_GID, NULL, 0 };
	const struct sandbox_config cfg = {
		.namespaces = CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS,
		.root = r->dir,
		.etc_user = &user,
		.what = "the spec root",
		.fresh_root = 1,
		.ro_binds = binds,
		.ro_binds_at = r->ctx->rpmdb ? binds_at : NULL,
		.scratch = r->dir,
		.hostname = "shipyard-spec",
		.fn = serve_in_sandbox,
		.fn_fd = -1,
		.setup_failed = sandbox_failed,
		.arg = (void *)r,
	};
	struct sy_error err = { { 0 } };

	if (geteuid() == 0) {
		if (sandbox_cgroup_enter(&r->cgroup, &err))
			return sandbox_failed(NULL, &err);
		return sandbox_run(&cfg);
	}
	(void)unshare(CLONE_NEWNET);
	struct planner_specserve s = server_of(r, NULL);

	return planner_specserve_main(&s);
}

/* ------------------------------------------------------------------------ */
/* Parent: run the readers, send them specs, decode their results.          */

/* Turns the end of reader r, which died reading its busy spec, into out. */
static void reader_died(const struct reader *r, struct planner_spec *out)
{
	const struct sy_child *c = &r->child;
	struct sy_error err = { { 0 } };
	enum sandbox_limit_hit hit = sandbox_cgroup_hit(&r->cgroup);
	const char *rest = c->out ? c->out + r->used : "";
	size_t rest_len = c->out_len - r->used;

	if (hit) {
		/* The spec's own doing: reading it again would do the same. */
		sandbox_cgroup_hit_error(&r->cgroup, hit, &err);
		out->error = sy_xasprintf("%s: spec reader %s", out->path, err.msg);
	} else if (c->timed_out || sy_now_s() >= r->deadline) {
		out->error = sy_xasprintf("%s: spec reader killed after %d s", out->path,
					  CHILD_TIMEOUT_S);
	} else if (c->status == EXIT_SANDBOX && rest_len) {
		/* The reason, one line, as the reader wrote it. */
		out->error = sy_xasprintf("%s: spec reader %.*s", out->path,
					  (int)strcspn(rest, "\n"), rest);
		out->error_transient = 1;
	} else if (c->signal) {
		/* Killed from outside (the OOM killer, an operator): not the
		 * spec's doing as far as anyone can tell. */
		out->error = sy_xasprintf("%s: spec reader killed by signal %d (%s)", out->path,
					  c->signal, strsignal(c->signal));
		out->error_transient = 1;
	} else {
		out->error = sy_xasprintf("%s: spec reader exited with status %d", out->path,
					  c->status);
		out->error_transient = 1;
	}
}

/* Turns a result frame (status and signal of the spec's child, its JSON)
 * into out. */
static void frame_result(int status, int sig, const char *json, size_t len,
			 struct planner_spec *out)
{
	struct sy_error err = { { 0 } };

	if (sig) {
		/* Killed under the server, by what the spec started: the
		 * spec's failure, cached rather than met again at every plan. */
		out->error = sy_xasprintf("%s: spec reader killed by signal %d (%s)", out->path,
					  sig, strsignal(sig));
	} else if (status != 0 && !len) {
		out->error = sy_xasprintf("%s: spec reader exited with status %d", out->path,
					  status);
	} else if (planner_spec_from_json(json, len, out, &err) != 0) {
		out->error = sy_xasprintf("%s: spec reader result unreadable: %s", out->path,
					  err.msg);
	}
	/* The server could not set the spec up: says nothing of the spec. */
	if (status == EXIT_SANDBOX && out->error)
		out->error_transient = 1;
}

/* Decodes a complete result frame of r's busy spec into out when r's output
 * holds one: returns 1, else 0. */
static int take_frame(struct reader *r, struct planner_spec *out)
{
	const char *p = r->child.out ? r->child.out + r->used : NULL;
	size_t avail = r->child.out_len - r->used, len;
	const char *nl = p ? memchr(p, '\n', avail) : NULL;
	int status, sig;

	if (!nl || sscanf(p, "R %d %d %zu", &status, &sig, &len) != 3 ||
	    (size_t)(nl + 1 - p) + len > avail)
		return 0;
	frame_result(status, sig, nl + 1, len, out);
	r->used += (size_t)(nl + 1 - p) + len;
	return 1;
}

static void dirfiles_release(struct planner_spec_dirfiles *files)
{
	for (size_t i = 0; i < files->n; i++) {
		free(files->items[i].name);
		free(files->items[i].data);
	}
	free(files->items);
	memset(files, 0, sizeof(*files));
}

/* Reads the files of in's directory but the spec itself. Returns 0, or -1
 * with err set; *transient is 0 when the failure is the directory's own
 * (too big), 1 when the repository could not be read. */
static int dirfiles_read(const struct planner_spec_input *in, struct planner_spec_dirfiles *out,
			 int *transient, struct sy_error *err)
{
	size_t dlen = strrchr(in->path, '/') ? (size_t)(strrchr(in->path, '/') - in->path) : 0;
	size_t total = in->len;

	memset(out, 0, sizeof(*out));
	*transient = 1;
	for (size_t i = 0; in->repo && i < in->ndir_files; i++) {
		const struct gitwatch_entry *e = &in->dir_files[i];
		struct planner_spec_dirfile *f;

		if (!strcmp(e->path, in->path) || e->mode == 0120000)
			continue;
		out->items = sy_xrealloc(out->items, (out->n + 1) * sizeof(*out->items));
		f = &out->items[out->n];
		*f = (struct planner_spec_dirfile){ sy_xstrdup(e->path + dlen + 1), NULL, 0 };
		out->n++;
		if (gitwatch_read_blob(in->repo, e->oid, &f->data, &f->len, err))
			goto fail;
		total += f->len;
		if (total > PLANNER_SPEC_DIR_MAX) {
			*transient = 0;
			sy_error_set(err, "spec directory holds more than %u MiB",
				     PLANNER_SPEC_DIR_MAX >> 20);
			goto fail;
		}
	}
	return 0;
fail:
	dirfiles_release(out);
	return sy_error_prefix(err, "%s", in->path);
}

/* Starts reader r with a private directory and, as root, its limits. */
static int reader_start(struct reader *r, unsigned slot, const struct planner_macro_ctx *ctx,
			struct sy_error *err)
{
	static const struct sandbox_limits limits = {
		READER_MEMORY_BYTES, READER_PIDS, READER_CPU_WEIGHT,
	};
	int sv[2];

	*r = (struct reader){ .child = SY_CHILD_INIT, .sock = -1, .ctx = ctx, .slot = slot,
			      .uid = reader_uid(slot), .cgroup = SANDBOX_CGROUP_INIT,
			      .busy = NO_SPEC };
	r->dir = sy_mkdtemp(getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", "shipyard-spec-", err);
	if (!r->dir)
		return -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		sy_error_set(err, "socketpair: %s", strerror(errno));
		goto fail;
	}
	r->sock = sv[0];
	r->child.child_fn = reader_main;
	r->child.child_arg = r;
	r->child.capture = 1;
	r->child.capture_at = RESULT_FD;
	r->child.extra_fd = sv[1];
	r->child.extra_fd_at = SPEC_FD;
	r->child.log_fd = SY_CHILD_DEVNULL;
	/* No host file or directory stays reachable (an open directory would
	 * let openat() leave the sandbox). */
	r->child.close_fds = 1;
	r->child.death_signal = SIGKILL;
	if (geteuid() == 0)
		sandbox_cgroup_create(&r->cgroup, NULL, "spec", &limits);
	if (r->cgroup.dir) {
		r->child.tick_fn = sandbox_cgroup_tick;
		r->child.tick_arg = &r->cgroup;
		r->child.tick_ms = LIMIT_CHECK_MS;
	}
	int rc = sy_child_start(&r->child, err);

	close(sv[1]);
	if (rc == 0)
		return 0;
	sandbox_cgroup_release(&r->cgroup);
fail:
	if (r->sock >= 0)
		close(r->sock);
	sy_rm_rf(r->dir, NULL);
	free(r->dir);
	return -1;
}

/* Ends reader r (killed if still running), frees what it holds and
 * removes its directory. */
static void reader_release(struct reader *r)
{
	if (r->sock >= 0)
		close(r->sock);
	sy_child_release(&r->child);
	sandbox_cgroup_release(&r->cgroup);
	sy_rm_rf(r->dir, NULL);
	free(r->dir);
	memset(r, 0, sizeof(*r));
}

/* The lowest slot no reader of rs holds. */
static unsigned free_slot(const struct reader *rs, size_t nr)
{
	unsigned slot = 0;

	for (size_t i = 0; i < nr; i++)
		if (rs[i].slot == slot) {
			slot++;
			i = (size_t)-1;
		}
	return slot;
}

static int default_jobs(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (int)n : 1;
}

/* The pool: its readers and where the inputs stand. */
struct pool {
	const struct planner_spec_input *inputs;
	size_t n, next;
	const struct planner_macro_ctx *ctx;
	struct planner_spec *out;
	struct reader *rs;
	size_t nr, max;
	struct sy_error start_err; /* why the last reader could not start */
};

/* Gives the next input to reader r. Returns 0 when sent (or when the input
 * failed before reaching it, with its error set), -1 when r is gone. */
static int dispatch(struct pool *p, struct reader *r)
{
	const struct planner_spec_input *in = &p->inputs[p->next];
	struct planner_spec_dirfiles files;
	struct sy_error err = { { 0 } };
	int transient, rc;

	if (dirfiles_read(in, &files, &transient, &err) != 0) {
		p->out[p->next].error = sy_xstrdup(err.msg);
		p->out[p->next].error_transient = transient;
		p->next++;
		return 0;
	}
	r->busy = p->next++;
	r->deadline = sy_now_s() + CHILD_TIMEOUT_S;
	rc = planner_specserve_send(r->sock, in, &files, &err);
	dirfiles_release(&files);
	return rc;
}

/* Removes reader i from the pool; its busy spec, if any, fails with why it
 * died. */
static void drop_reader(struct pool *p, size_t i)
{
	struct reader *r = &p->rs[i];

	if (!r->child.finished) {
		sy_child_kill(&r->child, SIGKILL);
		sy_child_finish(&r->child);
	}
	if (r->busy != NO_SPEC && !take_frame(r, &p->out[r->busy]))
		reader_died(r, &p->out[r->busy]);
	reader_release(r);
	p->rs[i] = p->rs[--p->nr];
	if (p->rs[i].child.tick_fn)
		p->rs[i].child.tick_arg = &p->rs[i].cgroup;
}

/* Starts readers up to the pool's size, or to want when fewer. Returns 0,
 * or -1 when none runs and none could start. */
static int fill(struct pool *p, size_t want)
{
	while (p->nr < p->max && p->nr < want) {
		if (reader_start(&p->rs[p->nr], free_slot(p->rs, p->nr), p->ctx, &p->start_err))
			break;
		p->nr++;
	}
	return p->nr ? 0 : -1;
}

/* Collects what every reader finished; gives idle readers the next inputs;
 * drops readers that died, timed out or reached a limit. */
static void step(struct pool *p)
{
	for (size_t i = 0; i < p->nr;) {
		struct reader *r = &p->rs[i];
		int gone = r->child.finished || r->child.stopped;

		if (r->busy != NO_SPEC && take_frame(r, &p->out[r->busy])) {
			struct planner_spec *done = &p->out[r->busy];
			enum sandbox_limit_hit hit = sandbox_cgroup_hit(&r->cgroup);

			r->busy = NO_SPEC;
			/* A limit reached is the spec's doing, even when its
			 * result came before the tick saw it (the refused
			 * forks only made the spec's commands fail); the next
			 * spec gets a fresh reader. */
			if (hit && !done->error) {
				struct sy_error err = { { 0 } };

				char *path = sy_xstrdup(done->path);

				sandbox_cgroup_hit_error(&r->cgroup, hit, &err);
				planner_spec_release(done);
				done->path = path;
				done->error = sy_xasprintf("%s: spec reader %s", path, err.msg);
			}
			if (hit)
				gone = 1;
		}
		if (!gone && r->busy == NO_SPEC && p->next < p->n && dispatch(p, r) != 0)
			gone = 1;
		if (!gone && r->busy != NO_SPEC && sy_now_s() >= r->deadline)
			gone = 1;
		if (!gone && r->busy == NO_SPEC && p->next >= p->n && r->sock >= 0) {
			/* Nothing left for it: its server ends at the end of
			 * file, the reader with it. */
			close(r->sock);
			r->sock = -1;
		}
		if (gone) {
			drop_reader(p, i);
			continue;
		}
		i++;
	}
}

/* Waits for news of the readers, at most until the earliest deadline. */
static void wait_news(struct pool *p)
{
	struct sy_child **children = sy_xcalloc(p->nr + 1, sizeof(*children));
	double now = sy_now_s(), wake = 0;

	for (size_t k = 0; k < p->nr; k++) {
		children[k] = &p->rs[k].child;
		if (p->rs[k].busy != NO_SPEC && (!wake || p->rs[k].deadline < wake))
			wake = p->rs[k].deadline;
	}
	sy_child_wait_any(children, p->nr, wake ? (int)((wake - now) * 1000) + 1 : -1);
	free(children);
}

/* Tells progress how many inputs are done: at most once a second, or now
 * when all are. */
static void tell(struct pool *p, const struct planner_read_progress *progress, double *last,
		 int all)
{
	size_t done = 0;

	if (!progress || !progress->fn || (!all && sy_now_s() - *last < 1.0))
		return;
	for (size_t i = 0; i < p->n; i++)
		done += p->out[i].name || p->out[i].error;
	*last = sy_now_s();
	progress->fn(progress->arg, done, p->n);
}

/* 1 when a reader of p reads a spec. */
static int any_busy(const struct pool *p)
{
	for (size_t i = 0; i < p->nr; i++)
		if (p->rs[i].busy != NO_SPEC)
			return 1;
	return 0;
}

struct planner_readers {
	struct pool p;
	int used; /* planner_readers_read was called: its readers are ending */
};

struct planner_readers *planner_readers_start(const struct planner_macro_ctx *ctx, int jobs,
					      size_t nspecs, struct sy_error *err)
{
	struct planner_readers *rd = sy_xcalloc(1, sizeof(*rd));

	if (jobs <= 0)
		jobs = default_jobs();
	if (jobs > READER_SLOTS / 2)
		jobs = READER_SLOTS / 2;
	rd->p.ctx = ctx;
	rd->p.max = (size_t)jobs;
	rd->p.rs = sy_xcalloc(rd->p.max, sizeof(*rd->p.rs));
	if (nspecs && fill(&rd->p, nspecs) != 0) {
		sy_error_set(err, "%s", rd->p.start_err.msg);
		planner_readers_free(rd);
		return NULL;
	}
	return rd;
}

int planner_readers_read(struct planner_readers *rd, const struct planner_spec_input *inputs,
			 size_t n, const struct planner_read_progress *progress,
			 struct planner_spec *out, struct sy_error *err)
{
	struct pool *p = &rd->p;
	double last = sy_now_s();

	if (rd->used)
		return sy_error_set(err, "spec readers: read twice");
	rd->used = 1;
	p->inputs = inputs;
	p->n = n;
	p->next = 0;
	p->out = out;
	for (size_t i = 0; i < n; i++)
		out[i].path = sy_xstrdup(inputs[i].path);
	while (p->next < n || any_busy(p)) {
		if (p->next < n && fill(p, n - p->next) != 0) {
			if (p->next == 0)
				return sy_error_set(err, "%s", p->start_err.msg);
			/* Earlier specs were read; this one cannot be: report it. */
			out[p->next].error = sy_xasprintf("%s: %s", inputs[p->next].path,
							  p->start_err.msg);
			out[p->next].error_transient = 1;
			p->next++;
			continue;
		}
		step(p);
		tell(p, progress, &last, 0);
		if (any_busy(p) || (p->next < n && p->nr))
			wait_news(p);
	}
	/* Readers left idle get their end of file: their servers end. */
	step(p);
	tell(p, progress, &last, 1);
	return 0;
}

void planner_readers_free(struct planner_readers *rd)
{
	if (!rd)
		return;
	/* At their end of file the servers end, then their namespaces: waited
	 * for, so that the cgroup is empty when removed. */
	for (size_t i = 0; i < rd->p.nr; i++)
		if (rd->p.rs[i].sock >= 0 && rd->p.rs[i].busy == NO_SPEC) {
			close(rd->p.rs[i].sock);
			rd->p.rs[i].sock = -1;
		}
	while (rd->p.nr) {
		struct reader *r = &rd->p.rs[rd->p.nr - 1];

		if (r->busy == NO_SPEC && !r->child.finished)
			sy_child_finish(&r->child);
		drop_reader(&rd->p, rd->p.nr - 1);
	}
	free(rd->p.rs);
	free(rd);
}

int planner_specs_read(const struct planner_spec_input *inputs, size_t n,
		       const struct planner_macro_ctx *ctx, int jobs,
		       struct planner_spec *out, struct sy_error *err)
{
	return planner_specs_read_with(inputs, n, ctx, jobs, NULL, out, err);
}

int planner_specs_read_with(const struct planner_spec_input *inputs, size_t n,
			    const struct planner_macro_ctx *ctx, int jobs,
			    const struct planner_read_progress *progress,
			    struct planner_spec *out, struct sy_error *err)
{
	struct planner_readers *rd = planner_readers_start(ctx, jobs, 0, err);
	int rc = planner_readers_read(rd, inputs, n, progress, out, err);

	planner_readers_free(rd);
	return rc;
}
