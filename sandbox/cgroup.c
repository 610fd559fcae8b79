#define _GNU_SOURCE
#include "sandbox/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "common/fs.h"
#include "common/strv.h"

#define DEFAULT_ROOT "/sys/fs/cgroup"
#define SUBTREE "shipyard"
/* How long a cgroup's last processes may take to leave it once killed. */
#define REMOVE_TRIES 50
#define REMOVE_WAIT_US (100 * 1000)

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* ---- small file operations on cgroupfs ---- */

/* Writes text into the cgroup file dir/name. Returns 0 or -1 (errno). */
static int write_at(const char *dir, const char *name, const char *text)
{
	char *path = sy_xasprintf("%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CLOEXEC), rc = -1;
	size_t len = strlen(text);

	free(path);
	if (fd < 0)
		return -1;
	if (write(fd, text, len) == (ssize_t)len)
		rc = 0;
	close(fd);
	return rc;
}

/* Reads dir/name (newly allocated, NUL-terminated), or NULL. */
static char *read_at(const char *dir, const char *name)
{
	char *path = sy_xasprintf("%s/%s", dir, name), *text = NULL;

	if (sy_read_file(path, &text, NULL, NULL))
		text = NULL;
	free(path);
	return text;
}

/* 1 when the space-separated list holds word. */
static int has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; p && (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || !p[n]))
			return 1;
	return 0;
}

/* The number after "key " in a flat-keyed file's text ("oom_kill 3"). */
static unsigned long long key_value(const char *text, const char *key)
{
	size_t n = strlen(key);

	for (const char *line = text; line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (!strncmp(line, key, n) && line[n] == ' ')
			return strtoull(line + n + 1, NULL, 10);
	}
	return 0;
}

unsigned long long sandbox_memory_share(unsigned divisor, unsigned long long cap)
{
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	unsigned long long share;

	if (pages <= 0 || page <= 0 || !divisor)
		return cap;
	share = (unsigned long long)pages * (unsigned long long)page / divisor;
	return cap && cap < share ? cap : share;
}

/* ---- making the cgroup ---- */

/* Enables the controllers (" +memory +pids"...) one by one in dir's
 * cgroup.subtree_control, those not enabled yet. Returns 0 or -1 with the
 * reason in why. */
static int enable_controllers(const char *dir, const char *const *names, size_t n, char *why,
			      size_t why_size)
{
	char *enabled = read_at(dir, "cgroup.subtree_control");
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		char plus[32];

		if (enabled && has_word(enabled, names[i]))
			continue;
		snprintf(plus, sizeof(plus), "+%s", names[i]);
		if (write_at(dir, "cgroup.subtree_control", plus) < 0) {
			snprintf(why, why_size, "%.80s: cannot enable %s: %s", dir, names[i],
				 strerror(errno));
			rc = -1;
		}
	}
	free(enabled);
	return rc;
}

/* Kills what is left in the cgroup dir (cgroup.kill, or each process of
 * cgroup.procs on kernels before 5.14) and removes it, waiting a little
 * for the processes to leave. Returns 0 or -1. */
static int kill_and_remove(const char *dir)
{
	if (write_at(dir, "cgroup.kill", "1") < 0) {
		char *procs = read_at(dir, "cgroup.procs"), *line, *save = NULL;

		for (line = procs ? strtok_r(procs, "\n", &save) : NULL; line;
		     line = strtok_r(NULL, "\n", &save)) {
			long pid = strtol(line, NULL, 10);
			if (pid > 0)
				kill((pid_t)pid, SIGKILL);
		}
		free(procs);
	}
	for (int i = 0; i < REMOVE_TRIES; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -1;
		usleep(REMOVE_WAIT_US);
	}
	return -1;
}

/* Removes the cgroups of subtree whose process is gone (named
 * <kind>-<pid>-<n> by processes killed before they removed them). */
static void remove_leftovers(const char *subtree)
{
	DIR *d = opendir(subtree);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		const char *dash = strchr(de->d_name, '-');
		char *end, *path;
		long pid;

		if (de->d_type != DT_DIR || !dash)
			continue;
		pid = strtol(dash + 1, &end, 10);
		if (pid <= 0 || *end != '-' || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		path = sy_xasprintf("%s/%s", subtree, de->d_name);
		kill_and_remove(path);
		free(path);
	}
	if (d)
		closedir(d);
}

/* Enables in dir's cgroup.subtree_control the controllers names (needed)
 * and, when cpu, the cpu controller, which may fail (real-time processes
 * outside the root keep it off) without harm. Returns 0 or -1 with why. */
static int enable_for_limits(const char *dir, const char *const *names, size_t n, int cpu,
			     char *why, size_t why_size)
{
	static const char *const cpu_name[] = { "cpu" };
	char ignored[160];

	if (enable_controllers(dir, names, n, why, why_size) < 0)
		return -1;
	if (cpu)
		enable_controllers(dir, cpu_name, 1, ignored, sizeof(ignored));
	return 0;
}

/* Writes the limits into the new cgroup dir. Returns 0 or -1 with why. */
static int write_limits(const char *dir, const struct sandbox_limits *l, char *why,
			size_t why_size)
{
	char value[32];

	if (l->memory_bytes) {
		snprintf(value, sizeof(value), "%llu", l->memory_bytes);
		if (write_at(dir, "memory.max", value) < 0 ||
		    write_at(dir, "memory.oom.group", "1") < 0)
			goto fail;
		/* Absent without swap accounting: then there is no swap to
		 * spill into either. */
		write_at(dir, "memory.swap.max", "0");
	}
	if (l->pids) {
		snprintf(value, sizeof(value), "%u", l->pids);
		if (write_at(dir, "pids.max", value) < 0)
			goto fail;
	}
	if (l->cpu_weight) {
		/* Optional: without the cpu controller there is no file. */
		snprintf(value, sizeof(value), "%u", l->cpu_weight);
		write_at(dir, "cpu.weight", value);
	}
	return 0;
fail:
	snprintf(why, why_size, "%.100s: cannot set its limits: %s", dir, strerror(errno));
	return -1;
}

/* Makes cg's own cgroup in subtree: <kind>-<pid>-<n>, the first n free.
 * Returns 0, or -1 with errno and the reason in cg->why_fallback. */
static int make_leaf(struct sandbox_cgroup *cg, const char *subtree, const char *kind)
{
	/* Where the names of this process's cgroups start, so that few are
	 * tried; the name's pid tells other processes whose it is. */
	static unsigned next;

	for (;;) {
		free(cg->dir);
		cg->dir = sy_xasprintf("%s/%s-%ld-%u", subtree, kind, (long)getpid(), ++next);
		if (mkdir(cg->dir, 0755) == 0)
			return 0;
		if (errno != EEXIST)
			break;
	}
	snprintf(cg->why_fallback, sizeof(cg->why_fallback), "%.100s: %s", cg->dir,
		 strerror(errno));
	free(cg->dir);
	cg->dir = NULL;
	return -1;
}

/* Makes the cgroup of cg under root (see sandbox_cgroup_create). Returns
 * 0, or -1 with the reason in cg->why_fallback. */
static int make_cgroup(struct sandbox_cgroup *cg, const char *root, const char *kind)
{
	const struct sandbox_limits *l = &cg->limits;
	const char *names[2];
	size_t n = 0;
	char *available, *subtree = sy_xasprintf("%s/" SUBTREE, root);
	struct statfs fs;
	int cpu, rc = -1;

	if (statfs(root, &fs) < 0 || fs.f_type != CGROUP2_SUPER_MAGIC) {
		snprintf(cg->why_fallback, sizeof(cg->why_fallback),
			 "%.100s is not a cgroup v2 hierarchy", root);
		free(subtree);
		return -1;
	}
	available = read_at(root, "cgroup.controllers");
	if (l->memory_bytes)
		names[n++] = "memory";
	if (l->pids)
		names[n++] = "pids";
	for (size_t i = 0; i < n; i++)
		if (!available || !has_word(available, names[i])) {
			snprintf(cg->why_fallback, sizeof(cg->why_fallback),
				 "%.100s: no %s controller", root, names[i]);
			goto out;
		}
	cpu = l->cpu_weight && available && has_word(available, "cpu");
	for (int tries = 0;; tries++) {
		if (enable_for_limits(root, names, n, cpu, cg->why_fallback,
				      sizeof(cg->why_fallback)) < 0)
			goto out;
		if (mkdir(subtree, 0755) < 0 && errno != EEXIST) {
			snprintf(cg->why_fallback, sizeof(cg->why_fallback), "%.100s: %s", subtree,
				 strerror(errno));
			goto out;
		}
		remove_leftovers(subtree);
		if (enable_for_limits(subtree, names, n, cpu, cg->why_fallback,
				      sizeof(cg->why_fallback)) == 0 &&
		    make_leaf(cg, subtree, kind) == 0)
			break;
		/* The last one out of another run removed the subtree
		 * meanwhile: once more. */
		if (errno != ENOENT || tries == 2)
			goto out;
	}
	if (write_limits(cg->dir, l, cg->why_fallback, sizeof(cg->why_fallback)) < 0) {
		kill_and_remove(cg->dir);
		free(cg->dir);
		cg->dir = NULL;
		goto out;
	}
	rc = 0;
out:
	free(subtree);
	free(available);
	return rc;
}

void sandbox_cgroup_create(struct sandbox_cgroup *cg, const char *root, const char *kind,
			   const struct sandbox_limits *limits)
{
	*cg = (struct sandbox_cgroup)SANDBOX_CGROUP_INIT;
	cg->limits = *limits;
	if (make_cgroup(cg, root ? root : DEFAULT_ROOT, kind) == 0)
		cg->why_fallback[0] = '\0';
}

/* ---- in the sandbox's process ---- */

/* Bytes of address space the calling process has mapped, or 0. */
static unsigned long long mapped_bytes(void)
{
	char *statm = read_at("/proc/self", "statm");
	unsigned long long pages = statm ? strtoull(statm, NULL, 10) : 0;
	long page = sysconf(_SC_PAGESIZE);

	free(statm);
	return page > 0 ? pages * (unsigned long long)page : 0;
}

/* The fallback's limits on the calling process. RLIMIT_AS: memory_bytes
 * for a process that execs next (its new image starts empty), or that much
 * more than it has mapped (a forked copy of a process that maps git packs
 * may have gigabytes mapped and touch little of it); none when
 * skip_as. */
static int set_rlimits(const struct sandbox_cgroup *cg, int execs_next, int skip_as,
		       struct sy_error *err)
{
	const struct sandbox_limits *l = &cg->limits;

	if (cg->dir)
		return 0;
	if (l->pids) {
		struct rlimit r = { l->pids, l->pids };
		if (setrlimit(RLIMIT_NPROC, &r) < 0)
			return sy_error_set(err, "cannot limit processes: %s", strerror(errno));
	}
	if (l->memory_bytes && !skip_as) {
		rlim_t as = l->memory_bytes + (execs_next ? 0 : mapped_bytes());
		struct rlimit r = { as, as };
		if (setrlimit(RLIMIT_AS, &r) < 0)
			return sy_error_set(err, "cannot limit memory: %s", strerror(errno));
	}
	return 0;
}

int sandbox_cgroup_enter(const struct sandbox_cgroup *cg, struct sy_error *err)
{
	if (cg->dir && write_at(cg->dir, "cgroup.procs", "0") < 0)
		return sy_error_set(err, "cannot join the cgroup %s: %s", cg->dir,
				    strerror(errno));
	return set_rlimits(cg, 0, UNDER_ASAN, err);
}

int sandbox_cgroup_rlimits(const struct sandbox_cgroup *cg, struct sy_error *err)
{
	return set_rlimits(cg, 1, 0, err);
}

/* ---- afterwards ---- */

enum sandbox_limit_hit sandbox_cgroup_hit(const struct sandbox_cgroup *cg)
{
	enum sandbox_limit_hit hit = SANDBOX_LIMIT_NONE;
	char *events;

	if (!cg->dir)
		return hit;
	if (cg->limits.memory_bytes && (events = read_at(cg->dir, "memory.events"))) {
		if (key_value(events, "oom_kill") || key_value(events, "oom_group_kill"))
			hit = SANDBOX_LIMIT_MEMORY;
		free(events);
	}
	if (!hit && cg->limits.pids && (events = read_at(cg->dir, "pids.events"))) {
		if (key_value(events, "max"))
			hit = SANDBOX_LIMIT_PIDS;
		free(events);
	}
	return hit;
}

int sandbox_cgroup_tick(void *cg)
{
	return sandbox_cgroup_hit(cg) == SANDBOX_LIMIT_PIDS;
}

int sandbox_cgroup_hit_error(const struct sandbox_cgroup *cg, enum sandbox_limit_hit hit,
			     struct sy_error *err)
{
	const unsigned long long mib = 1024ULL * 1024ULL, bytes = cg->limits.memory_bytes;

	if (hit == SANDBOX_LIMIT_MEMORY && bytes % mib == 0)
		return sy_error_set(err, "killed: memory limit (%llu MiB)", bytes / mib);
	if (hit == SANDBOX_LIMIT_MEMORY)
		return sy_error_set(err, "killed: memory limit (%llu bytes)", bytes);
	if (hit == SANDBOX_LIMIT_PIDS)
		return sy_error_set(err, "killed: process limit (%u)", cg->limits.pids);
	return sy_error_set(err, "no limit reached");
}

void sandbox_cgroup_release(struct sandbox_cgroup *cg)
{
	if (cg->dir) {
		char *subtree = sy_xstrdup(cg->dir);

		kill_and_remove(cg->dir);
		*strrchr(subtree, '/') = '\0';
		/* The last one out removes the subtree; others still use it. */
		rmdir(subtree);
		free(subtree);
	}
	free(cg->dir);
	cg->dir = NULL;
}
