#include "common/util.h"

#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

const char *sy_base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double sy_now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

double sy_wall_s(void)
{
	return clock_s(CLOCK_REALTIME);
}

void sy_heap_prefer_huge_pages(size_t reserve)
{
	const uintptr_t huge = 2u << 20;
	uintptr_t from, to;
	void *grow;

	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, (int)(reserve * 2));
	mallopt(M_TOP_PAD, (int)reserve);
	/* An allocation larger than what the heap has free grows it by itself
	 * and the pad; freed, it stays (no trim), and what follows it up to
	 * the break is where the process's allocations will go. */
	grow = malloc(reserve / 4);
	from = ((uintptr_t)grow + huge - 1) & ~(huge - 1);
	free(grow);
	to = (uintptr_t)sbrk(0) & ~(huge - 1);
	if (grow && to > from)
		madvise((void *)from, to - from, MADV_HUGEPAGE);
}
