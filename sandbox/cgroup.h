/* Memory, process and CPU limits of one sandbox (a build, a spec parse, an
 * image install), enforced by the kernel, so that a fork bomb or a memory
 * hog in untrusted code is stopped at its limit, not at its timeout, and
 * the machine stays usable.
 *
 * Where /sys/fs/cgroup is a writable cgroup v2 hierarchy offering the
 * memory and pids controllers, each sandbox gets a cgroup of its own,
 * <root>/shipyard/<kind>-<pid>-<n>, with memory.max (memory.swap.max 0,
 * memory.oom.group 1: the whole sandbox is killed at the limit), pids.max
 * and cpu.weight (when the cpu controller is there). The caller makes it
 * before starting the sandbox's process, which moves itself into it before
 * anything else; cgroups left by a killed run (their pid is gone) are
 * removed when the next one is made, and the shipyard subtree goes when
 * its last cgroup does.
 *
 * Elsewhere (cgroup v1, a container without a writable hierarchy) the same
 * limits fall back to resource limits of each process: RLIMIT_AS (address
 * space, not memory: a program that maps much and uses little needs more)
 * and RLIMIT_NPROC, which counts every process of the user the work runs as
 * on the machine (root is not counted) and so is shared by the sandboxes
 * running as the same user (a fork bomb in one spec makes the forks of
 * another parsed meanwhile fail). The kernel then refuses the allocation or the
 * fork; the work fails its own way and no cgroup records it, so the caller
 * cannot name the limit. */
#ifndef SANDBOX_CGROUP_H
#define SANDBOX_CGROUP_H

#include "common/error.h"

/* The limits of one sandbox; a zero field sets no limit. */
struct sandbox_limits {
	unsigned long long memory_bytes; /* memory.max; RLIMIT_AS in the fallback */
	unsigned pids;                   /* pids.max (tasks: threads count);
					  * RLIMIT_NPROC in the fallback */
	unsigned cpu_weight;             /* cpu.weight, 1 to 10000 (the kernel's
					  * default is 100); no fallback */
};

/* A sandbox's cgroup, or the fallback. Initialise with SANDBOX_CGROUP_INIT;
 * release with sandbox_cgroup_release. */
struct sandbox_cgroup {
	char *dir;                    /* the cgroup's directory, or NULL: the
				       * fallback (or no limits) */
	struct sandbox_limits limits; /* what it enforces */
	char why_fallback[160];       /* why there is no cgroup ("/sys/fs/cgroup
				       * is not a cgroup v2 hierarchy"), or "" */
};

#define SANDBOX_CGROUP_INIT { NULL, { 0, 0, 0 }, "" }

/* Which limit a sandbox reached, as its cgroup recorded it. */
enum sandbox_limit_hit {
	SANDBOX_LIMIT_NONE,   /* none, or no cgroup to tell */
	SANDBOX_LIMIT_MEMORY, /* memory.max: the OOM killer ended it */
	SANDBOX_LIMIT_PIDS,   /* pids.max: a fork or clone was refused */
};

/* The machine's memory divided by divisor, at most cap (0: no cap); cap
 * when the memory cannot be known. For sizing limits. */
unsigned long long sandbox_memory_share(unsigned divisor, unsigned long long cap);

/* Makes cg for a sandbox of the given kind ("build", "spec": the name of
 * its cgroup) with limits: a cgroup under root/shipyard (root: a cgroup v2
 * directory, NULL for /sys/fs/cgroup), or the fallback when root is not a
 * cgroup v2 hierarchy, is not writable, or lacks a controller a limit
 * needs (memory, pids; cpu is optional). Never fails: whatever stops the
 * cgroup leaves the fallback, with the reason in cg->why_fallback. Call it
 * in the process that will wait for the sandbox (as root). */
void sandbox_cgroup_create(struct sandbox_cgroup *cg, const char *root, const char *kind,
			   const struct sandbox_limits *limits);

/* In the sandbox's process, before anything else (as root): moves the
 * process into the cgroup, so that every process it starts is in it; in
 * the fallback, sets RLIMIT_NPROC and RLIMIT_AS on it, the latter at
 * memory_bytes more than the process has mapped already (a fork of a
 * process that maps git packs), and not in an AddressSanitizer build,
 * whose shadow memory is terabytes of address space
 * (sandbox_cgroup_rlimits sets it before an exec). Returns 0 or -1 with
 * err ("cannot join the cgroup /sys/fs/cgroup/shipyard/build-12-1: No
 * such file or directory"). */
int sandbox_cgroup_enter(const struct sandbox_cgroup *cg, struct sy_error *err);

/* In the fallback, sets RLIMIT_NPROC and RLIMIT_AS (memory_bytes) on the
 * calling process, one that execs a program next; nothing with a cgroup.
 * Returns 0 or -1 with err. */
int sandbox_cgroup_rlimits(const struct sandbox_cgroup *cg, struct sy_error *err);

/* Which limit the sandbox reached so far (memory first). Cheap: reads two
 * small files; a caller may poll it to stop a sandbox at pids.max, where
 * the kernel refuses forks but kills nothing. */
enum sandbox_limit_hit sandbox_cgroup_hit(const struct sandbox_cgroup *cg);

/* A tick for common/child.h (sy_child.tick_fn) with the struct
 * sandbox_cgroup as its arg: 1 when the cgroup refused a fork, so that the
 * child is stopped now, not at its deadline (a fork bomb goes on forking
 * at pids.max; the memory limit kills by itself). */
int sandbox_cgroup_tick(void *cg);

/* Sets err to what hit means for cg's sandbox: "killed: memory limit
 * (512 MiB)", "killed: process limit (256)". Returns -1. */
int sandbox_cgroup_hit_error(const struct sandbox_cgroup *cg, enum sandbox_limit_hit hit,
			     struct sy_error *err);

/* Kills whatever is left in the cgroup, removes it (and the shipyard
 * subtree when it was the last) and frees cg's fields. Call it once the
 * sandbox's process was reaped. */
void sandbox_cgroup_release(struct sandbox_cgroup *cg);

#endif
