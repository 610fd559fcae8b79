#include "common/util.h"

#include <string.h>
#include <time.h>

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
