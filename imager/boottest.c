#include "imager/boottest.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/child.h"
#include "common/fs.h"
#include "common/strv.h"
#include "common/util.h"

/* Seconds QEMU is given to power off after the marker. */
#define AFTER_MARKER_S 10.0

/* Copies the first existing of paths into out. */
static int first_existing(const char *const *paths, char *out, size_t size)
{
	for (; *paths; paths++)
		if (access(*paths, R_OK) == 0) {
			snprintf(out, size, "%s", *paths);
			return 0;
		}
	return -1;
}

int imager_boot_tools_find(struct imager_boot_tools *tools, struct sy_error *err)
{
	static const char *const qemu[] = { "/usr/bin/qemu-system-x86_64",
					    "/usr/local/bin/qemu-system-x86_64", NULL };
	static const char *const code[] = { "/usr/share/OVMF/OVMF_CODE_4M.fd",
					    "/usr/share/OVMF/OVMF_CODE.fd", NULL };
	static const char *const vars[] = { "/usr/share/OVMF/OVMF_VARS_4M.fd",
					    "/usr/share/OVMF/OVMF_VARS.fd", NULL };

	if (first_existing(qemu, tools->qemu, sizeof(tools->qemu)))
		return sy_error_set(err, "boot test: qemu-system-x86_64 is not installed (Debian "
				    "package qemu-system-x86)");
	/* The code and variables of one build go together: 4 MiB or 2 MiB. */
	if (first_existing(code, tools->code, sizeof(tools->code)) ||
	    first_existing(strstr(tools->code, "_4M") ? vars : vars + 1, tools->vars,
			   sizeof(tools->vars)))
		return sy_error_set(err, "boot test: no OVMF firmware in /usr/share/OVMF (Debian "
				    "package ovmf)");
	return 0;
}

/* What the console has shown so far. */
struct console {
	const char *path;
	const char *marker;
	off_t offset;        /* bytes read */
	char line[512];      /* the line being read */
	size_t len;
	char last[160];      /* the last line with something printable */
	double start;        /* sy_now_s() when QEMU started */
	double found_at;     /* sy_now_s() when the marker was read, 0: not yet */
};

/* Takes a complete line: the marker, or the last line. */
static void console_line(struct console *c)
{
	char *s = c->line;
	size_t n = 0;

	c->line[c->len] = '\0';
	while (*s == '\r')
		s++;
	if (!c->found_at && !strncmp(s, c->marker, strlen(c->marker)))
		c->found_at = sy_now_s();
	for (char *p = s; *p && n + 1 < sizeof(c->last); p++)
		if ((unsigned char)*p >= 0x20 && *p != 0x7f)
			c->last[n++] = *p;
	if (n) {
		while (n && c->last[n - 1] == ' ')
			n--;
		c->last[n] = '\0';
	}
	c->len = 0;
}

/* Reads what the console file gained. */
static void console_read(struct console *c)
{
	char buf[4096];
	ssize_t n;
	int fd = open(c->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	while ((n = pread(fd, buf, sizeof(buf), c->offset)) > 0) {
		c->offset += n;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n')
				console_line(c);
			else if (c->len + 1 < sizeof(c->line))
				c->line[c->len++] = buf[i];
		}
	}
	close(fd);
}

/* Tick: reads the console; stops QEMU some time after the marker. */
static int console_tick(void *arg)
{
	struct console *c = arg;

	console_read(c);
	return c->found_at && sy_now_s() - c->found_at > AFTER_MARKER_S;
}

/* A path as a QEMU option value: commas doubled. */
static char *qemu_escape(const char *path)
{
	char *out = sy_xcalloc(2 * strlen(path) + 1, 1), *o = out;

	for (; *path; path++) {
		*o++ = *path;
		if (*path == ',')
			*o++ = ',';
	}
	return out;
}

/* Appends the console file to log_fd. */
static void console_to_log(const char *path, const char *image, int log_fd)
{
	char *text = NULL;
	size_t len = 0;

	if (log_fd < 0)
		return;
	dprintf(log_fd, "--- serial console of %s\n", image);
	if (sy_read_file(path, &text, &len, NULL) == 0)
		sy_write_all(log_fd, text, len);
	dprintf(log_fd, "%s--- end of the console\n", len && text[len - 1] != '\n' ? "\n" : "");
	free(text);
}

/* Runs QEMU in dir (the console, the variables copy) and watches c. */
static int run_qemu(const struct imager_boottest *t, const struct imager_boot_tools *tools,
		    const char *dir, struct console *c, struct sy_error *err)
{
	char *vars = sy_xasprintf("%s/vars.fd", dir), *e_vars = qemu_escape(vars);
	char *e_code = qemu_escape(tools->code), *e_image = qemu_escape(t->image);
	char *e_console = qemu_escape(c->path);
	char *serial = sy_xasprintf("file:%s", e_console);
	char *code = sy_xasprintf("if=pflash,format=raw,readonly=on,file=%s", e_code);
	char *varsd = sy_xasprintf("if=pflash,format=raw,file=%s", e_vars);
	char *disk = sy_xasprintf("if=none,id=disk,format=%s,file=%s", t->format, e_image);
	char *tmpdir = sy_xasprintf("TMPDIR=%s", dir);
	unsigned timeout = t->timeout_s ? t->timeout_s : IMAGER_BOOT_TIMEOUT_DEFAULT;
	char *limit = sy_xasprintf("%u", timeout + 10);
	/* QEMU's -runas clears its death signal: timeout(1) is the parent that
	 * passes on ours (SIGTERM) and stops QEMU even when this process is
	 * killed before its own deadline could. */
	const char *argv[] = {
		"/usr/bin/timeout", "--kill-after=5", limit, tools->qemu, "-accel", "tcg", "-m", "512", "-nographic", "-nodefaults",
		"-no-reboot", "-serial", serial, "-monitor", "none", "-snapshot", "-nic", "none",
		"-sandbox", "on,obsolete=deny,spawn=deny,resourcecontrol=deny",
		"-runas", "nobody", "-drive", code, "-drive", varsd, "-drive", disk,
		"-device", "nvme,drive=disk,serial=shipyard", NULL,
	};
	const char *env[] = { "PATH=/usr/bin:/bin", "LC_ALL=C", tmpdir, NULL };
	struct sy_child child = SY_CHILD_INIT;
	int rc = sy_copy_file(tools->vars, vars, err);

	if (rc == 0 && t->log_fd >= 0) {
		dprintf(t->log_fd, "boot test:");
		for (const char *const *a = argv; *a; a++)
			dprintf(t->log_fd, " %s", *a);
		dprintf(t->log_fd, "\n");
	}
	child.argv = argv;
	child.env = env;
	child.log_fd = t->log_fd >= 0 ? t->log_fd : SY_CHILD_DEVNULL;
	child.close_fds = 1;
	child.timeout_s = timeout;
	child.death_signal = SIGTERM;
	child.tick_fn = console_tick;
	child.tick_arg = c;
	child.tick_ms = 200;
	c->start = sy_now_s();
	if (rc == 0)
		rc = sy_child_run(&child, err);
	console_read(c);
	if (rc == 0 && !c->found_at) {
		const char *last = c->last[0] ? c->last : "(none)";
		if (child.timed_out)
			rc = sy_error_set(err, "no marker within %u s; last console line: %s",
					  child.timeout_s, last);
		else
			rc = sy_error_set(err, "QEMU exited with status %d before the marker; last "
					  "console line: %s", child.status, last);
	}
	sy_child_release(&child);
	free(limit);
	free(tmpdir);
	free(disk);
	free(varsd);
	free(code);
	free(serial);
	free(e_console);
	free(e_image);
	free(e_code);
	free(e_vars);
	free(vars);
	return rc;
}

int imager_boottest_run(const struct imager_boottest *t, double *seconds, struct sy_error *err)
{
	struct imager_boot_tools tools;
	struct console c = { .marker = t->marker ? t->marker : IMAGER_BOOT_MARKER };
	char *dir, *console;
	int rc;

	if (imager_boot_tools_find(&tools, err))
		return -1;
	dir = sy_mkdtemp(t->scratch_dir, "boot-", err);
	if (!dir)
		return -1;
	console = sy_xasprintf("%s/console.log", dir);
	c.path = console;
	/* QEMU drops root before it writes the console and the overlay. */
	if (chown(dir, 65534, 65534) < 0)
		rc = sy_error_set(err, "%s: %s", dir, strerror(errno));
	else
		rc = run_qemu(t, &tools, dir, &c, err);
	if (rc == 0)
		*seconds = c.found_at - c.start;
	console_to_log(console, t->image, t->log_fd);
	sy_rm_rf(dir, NULL);
	free(console);
	free(dir);
	return rc;
}
