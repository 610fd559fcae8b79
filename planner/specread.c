/* Reading specs with librpm in forked children. A spec is untrusted code
 * (docs/design.md, "Trust": %() runs shell commands, %{lua:} runs Lua), so
 * as root each child first builds a sandbox: new mount, network, IPC, UTS
 * and PID namespaces, a root directory on a tmpfs holding a read-only bind of
 * /usr, an /etc of its own without the host's files (sandbox/sandbox.h has
 * what it holds), the host's /bin, /sbin, /lib* links, /dev/null,
 * /dev/zero, /dev/urandom, a fresh /tmp, the macro context read-only at its
 * host path and a tmpfs as scratch directory at the path of the child's
 * private directory (the spec is written there), pivot_root into it, an
 * environment of PATH, HOME and LANG only, and a user of its own (group
 * nogroup) with no_new_privs; the reader and all it starts in a cgroup of their own
 * (sandbox/cgroup.h: READER_MEMORY_BYTES, READER_PIDS), stopped as soon as
 * a fork is refused. Under the sandbox's pid 1 it applies the macro context,
 * parses one spec with rpmSpecParse (the flags rpmspec -q uses:
 * RPMSPEC_ANYARCH | RPMSPEC_FORCE) and writes what shipyard needs of it as
 * one JSON document into a pipe; the parent decodes it into struct
 * planner_spec. When pid 1 exits the kernel kills whatever the spec left
 * running. The process tree: shipyard -> reader (makes the namespaces,
 * waits) -> pid 1 (sets up the root, reaps) -> parser; a parser that is not
 * pid 1 can still be killed by its own commands, as a crash would. The
 * sandbox is sandbox/sandbox.h's; the children are common/child.h's. */
#define _GNU_SOURCE
#include "planner/spec.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/child.h"
#include "common/fs.h"
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
/* The result pipe's fd in the reader and the processes under it. */
#define RESULT_FD 3

/* One reader: a child reading one spec. */
struct reader {
	struct sy_child child; /* the reader process; its capture pipe is the
				* result pipe */
	const struct planner_spec_input *in; /* what it reads */
	const struct planner_macro_ctx *ctx; /* with which macro context */
	size_t index;          /* which input it reads */
	unsigned slot;         /* its uid's slot, below READER_SLOTS */
	struct sandbox_cgroup cgroup; /* its limits: a cgroup, or rlimits set
				* by the reader itself; none unprivileged */
	char *dir;             /* private directory the spec is written into;
				* removed by the parent after the child ended */
	struct planner_spec_dirfiles files; /* the other files of the spec's
				* directory, until the child is started */
};

/* The uid of reader slot slot of this process. */
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

/* The parse in the sandbox; never returns. */
static int parse_in_sandbox(void *arg)
{
	const struct reader *r = arg;

	planner_spec_parse_and_exit(r->in, &r->files, r->ctx, r->dir, RESULT_FD);
	return 2;
}

/* The reader process (its child_fn), with the result pipe at RESULT_FD,
 * stdio on /dev/null and no other fd. As root, the spec is parsed in the
 * sandbox (see planner_specs_read) in a child of its pid 1; any failure
 * to set it up ends the reader with EXIT_SANDBOX and the reason in the
 * pipe: the spec is never parsed outside it. Otherwise (a developer's
 * unprivileged run, where namespaces and mounts are not available) the
 * spec is parsed in the reader itself, without network when the kernel
 * allows an unprivileged CLONE_NEWNET. */
static int reader_main(void *arg)
{
	const struct reader *r = arg;
	const char *const binds[] = { r->ctx->dir, NULL };
	/* The stub rpmdb where rpm looks for its database: /var/lib/rpm (the
	 * distribution's rpm) and ~/.rpmdb with HOME=/ (Debian's). */
	const char *const binds_at[] = { r->ctx->rpmdb, "/var/lib/rpm", r->ctx->rpmdb, "/.rpmdb",
					 NULL };
	const struct sandbox_user user = { "the spec reader", reader_uid(r->slot), SANDBOX_GID,
					   NULL, 0 };
	const struct sandbox_config cfg = {
		.namespaces = CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS,
		.root = r->dir,
		.what = "the spec root",
		.fresh_root = 1,
		.ro_binds = binds,
		.ro_binds_at = r->ctx->rpmdb ? binds_at : NULL,
		.scratch = r->dir,
		.hostname = "shipyard-spec",
		.user = &user,
		.env = reader_env,
		.fn = parse_in_sandbox,
		.fn_in_child = 1,
		.fn_fd = RESULT_FD,
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
	planner_spec_parse_and_exit(r->in, &r->files, r->ctx, r->dir, RESULT_FD);
	return 2;
}

/* ------------------------------------------------------------------------ */
/* Parent: run the children, collect and decode their results.              */

/* Turns a finished reader's end and output into out. */
static void reader_finish(const struct reader *r, struct planner_spec *out)
{
	const struct sy_child *c = &r->child;
	struct sy_error err = { { 0 } };
	/* A sandboxed reader exits with 128 + n when its parser was killed by
	 * signal n: its pid 1 reports it so, as it cannot die of it. */
	int sig = c->signal ? c->signal
			    : c->status > 128 && c->status < 128 + NSIG ? c->status - 128 : 0;
	enum sandbox_limit_hit hit = sandbox_cgroup_hit(&r->cgroup);

	if (hit) {
		/* The spec's own doing: reading it again would do the same. */
		sandbox_cgroup_hit_error(&r->cgroup, hit, &err);
		out->error = sy_xasprintf("%s: spec reader %s", out->path, err.msg);
	} else if (c->timed_out) {
		out->error = sy_xasprintf("%s: spec reader killed after %d s", out->path,
					  CHILD_TIMEOUT_S);
	} else if (sig) {
		out->error = sy_xasprintf("%s: spec reader killed by signal %d (%s)", out->path,
					  sig, strsignal(sig));
		/* Only a SIGKILL of the reader itself (the sandbox's pid 1, which
		 * nothing inside its pid namespace can kill) comes from outside:
		 * the OOM killer, an operator. A parser killed under pid 1, even
		 * by SIGKILL, was killed by what the spec started: that failure
		 * is the spec's, cached rather than met again at every plan. */
		out->error_transient = c->signal == SIGKILL;
	} else if (c->status == EXIT_SANDBOX && c->out_len) {
		/* The reason, one line, as the child wrote it. */
		out->error = sy_xasprintf("%s: spec reader %.*s", out->path,
					  (int)strcspn(c->out, "\n"), c->out);
		out->error_transient = 1;
	} else if (c->status != 0) {
		out->error = sy_xasprintf("%s: spec reader exited with status %d", out->path,
					  c->status);
		out->error_transient = 1;
	} else if (planner_spec_from_json(c->out, c->out_len, out, &err) != 0) {
		out->error = sy_xasprintf("%s: spec reader result unreadable: %s", out->path,
					  err.msg);
		out->error_transient = 1;
	}
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

/* Starts the reader of input index in r, with a private directory and, as
 * root, its limits. */
static int reader_start(struct reader *r, size_t index, unsigned slot,
			const struct planner_spec_input *in, struct planner_spec_dirfiles *files,
			const struct planner_macro_ctx *ctx, struct sy_error *err)
{
	static const struct sandbox_limits limits = {
		READER_MEMORY_BYTES, READER_PIDS, READER_CPU_WEIGHT,
	};

	*r = (struct reader){ .child = SY_CHILD_INIT, .in = in, .ctx = ctx, .index = index,
			      .slot = slot, .cgroup = SANDBOX_CGROUP_INIT, .files = *files };
	memset(files, 0, sizeof(*files));
	r->dir = sy_mkdtemp(getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", "shipyard-spec-", err);
	if (!r->dir)
		return sy_error_prefix(err, "%s", in->path);
	r->child.child_fn = reader_main;
	r->child.child_arg = r;
	r->child.capture = 1;
	r->child.capture_at = RESULT_FD;
	r->child.log_fd = SY_CHILD_DEVNULL;
	/* No host file or directory stays reachable (an open directory would
	 * let openat() leave the sandbox). */
	r->child.close_fds = 1;
	r->child.death_signal = SIGKILL;
	r->child.timeout_s = CHILD_TIMEOUT_S;
	if (geteuid() == 0)
		sandbox_cgroup_create(&r->cgroup, NULL, "spec", &limits);
	if (r->cgroup.dir) {
		r->child.tick_fn = sandbox_cgroup_tick;
		r->child.tick_arg = &r->cgroup;
		r->child.tick_ms = LIMIT_CHECK_MS;
	}
	if (sy_child_start(&r->child, err) == 0) {
		dirfiles_release(&r->files); /* the child has its copy */
		return 0;
	}
	sy_error_prefix(err, "%s", in->path);
	sandbox_cgroup_release(&r->cgroup);
	sy_rm_rf(r->dir, NULL);
	free(r->dir);
	dirfiles_release(&r->files);
	return -1;
}

/* Frees what a finished reader holds and removes its directory. */
static void reader_release(struct reader *r)
{
	sy_child_release(&r->child);
	sandbox_cgroup_release(&r->cgroup);
	sy_rm_rf(r->dir, NULL);
	free(r->dir);
}

/* How many of the nr readers have not closed their pipe yet. */
static size_t readers_running(const struct reader *rs, size_t nr)
{
	size_t k = 0;

	for (size_t i = 0; i < nr; i++)
		k += rs[i].child.out_fd >= 0;
	return k;
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

/* Waits for news of the nr readers; handles one that finished. Returns 1
 * when one did (it is taken out of rs, *nr is one less), else 0. */
static int readers_wait(struct reader *rs, size_t *nr, struct planner_spec *out)
{
	struct sy_child **children = sy_xcalloc(*nr, sizeof(*children));
	int i;

	for (size_t k = 0; k < *nr; k++)
		children[k] = &rs[k].child;
	i = sy_child_wait_any(children, *nr, -1);
	free(children);
	if (i < 0)
		return 0;
	reader_finish(&rs[i], &out[rs[i].index]);
	reader_release(&rs[i]);
	rs[i] = rs[--*nr];
	/* Its tick looks at the cgroup where it is now. */
	if (rs[i].child.tick_fn)
		rs[i].child.tick_arg = &rs[i].cgroup;
	return 1;
}

static int default_jobs(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (int)n : 1;
}

int planner_specs_read(const struct planner_spec_input *inputs, size_t n,
		       const struct planner_macro_ctx *ctx, int jobs,
		       struct planner_spec *out, struct sy_error *err)
{
	struct sy_error start_err = { { 0 } };
	struct reader *rs;
	size_t next = 0, nr = 0;

	if (jobs <= 0)
		jobs = default_jobs();
	if (jobs > READER_SLOTS / 2)
		jobs = READER_SLOTS / 2;
	/* A reader that wrote its result and closed its pipe no longer counts
	 * against jobs, so that the teardown of its namespaces overlaps the next
	 * spec's setup; at most 2 * jobs children exist. */
	rs = sy_xcalloc((size_t)jobs * 2, sizeof(*rs));
	for (size_t i = 0; i < n; i++)
		out[i].path = sy_xstrdup(inputs[i].path);
	while (next < n || nr > 0) {
		while (nr < (size_t)jobs * 2 && readers_running(rs, nr) < (size_t)jobs && next < n) {
			struct planner_spec_dirfiles files;
			int transient;

			if (dirfiles_read(&inputs[next], &files, &transient, &start_err) != 0) {
				out[next].error = sy_xstrdup(start_err.msg);
				out[next].error_transient = transient;
				next++;
				continue;
			}
			if (reader_start(&rs[nr], next, free_slot(rs, nr), &inputs[next], &files,
					 ctx, &start_err) != 0)
				break;
			nr++;
			next++;
		}
		if (nr == 0 && next == 0) {
			free(rs);
			return sy_error_set(err, "%s", start_err.msg);
		}
		if (nr == 0) {
			/* Earlier specs were read; this one cannot be: report it. */
			out[next].error = sy_xstrdup(start_err.msg);
			out[next].error_transient = 1;
			next++;
			continue;
		}
		readers_wait(rs, &nr, out);
	}
	free(rs);
	return 0;
}
