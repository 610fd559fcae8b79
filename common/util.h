/* Small helpers every stage uses, written once (after samurai's util.h). */
#ifndef SY_UTIL_H
#define SY_UTIL_H

#include <stddef.h>

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

/* For a short process that builds tens of megabytes of small objects (a
 * plan of thousands of specs): glibc's heap is grown in steps of reserve
 * bytes (virtual; untouched pages cost nothing), allocations below 32 MiB
 * stay in it, it is not trimmed, and it is marked for transparent huge
 * pages (madvise(2) MADV_HUGEPAGE), as glibc's glibc.malloc.hugetlb=1
 * tunable does: one page fault per 2 MiB instead of per 4 KiB, page faults
 * being most of such a process's kernel time. Where the kernel has no
 * transparent huge pages the advice fails and nothing else changes. Call
 * early, from the main thread. */
void sy_heap_prefer_huge_pages(size_t reserve);

#endif
