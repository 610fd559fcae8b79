/* What a build log says about why rpmbuild failed, as the one line a job's
 * reason carries (builder/schedule.h), so that a failure in a report names
 * what went wrong ("%prep failed: /usr/lib/rpm/azl/gen-ld-script.sh: not
 * found") rather than rpmbuild's "Bad exit status from
 * /var/tmp/rpm-tmp.d6z9rQ (%prep)", which only says where. */
#ifndef BUILDER_BUILDLOG_H
#define BUILDER_BUILDLOG_H

#include <stddef.h>

/* Most continuation lines of one rpmbuild error kept in a cause; the rest
 * are counted ("; and 12 more"). */
#define BUILDER_BUILD_LOG_CAUSE_ITEMS 10

/* Returns the cause of the failure rpmbuild reported in log (len bytes of a
 * build log: rpmbuild's output and the shell traces of its scriptlets, not
 * necessarily NUL-terminated), as one line, newly allocated (the caller
 * frees it), or NULL when log holds no line starting "error: " (rpmbuild's
 * prefix; rpmlog's RPMLOG_ERR). From the last such line:
 *  - "Bad exit status from SCRIPT (%SECTION)": "%SECTION failed: LINE",
 *    LINE being the last line the section printed after its "Executing(
 *    %SECTION)" line that is neither empty nor a shell trace ("+ cmd"),
 *    without the "SCRIPT: N: " or "SCRIPT: line N: " prefix dash and bash
 *    put on their own errors; without one, "%SECTION failed, last command:
 *    CMD" from its last trace, else "%SECTION failed";
 *  - an error ending in ':' whose details follow on indented lines
 *    ("Failed build dependencies:", "Installed (but unpackaged) file(s)
 *    found:"): the error and its first BUILDER_BUILD_LOG_CAUSE_ITEMS
 *    details, "Failed build dependencies: a is needed by p; b is needed by
 *    p";
 *  - any other: its text ("File not found: /build/BUILDROOT/...").
 * Control characters in the result are turned into '?'. */
char *builder_build_log_cause(const char *log, size_t len);

#endif
