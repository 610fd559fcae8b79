/* Small helpers every stage uses, written once (after samurai's util.h). */
#ifndef SY_UTIL_H
#define SY_UTIL_H

/* Number of elements of an array (not a pointer). */
#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Returns the part of path after its last '/' (path itself when it has
 * none); points into path. */
const char *sy_base_name(const char *path);

/* Seconds on the monotonic clock (CLOCK_MONOTONIC): for durations and
 * deadlines, never for dates. */
double sy_now_s(void);

/* Seconds since the epoch (CLOCK_REALTIME), with fractions: for times that
 * are stored or shown. */
double sy_wall_s(void);

#endif
