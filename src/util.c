/*
 * util.c: small helpers with no Kore types, unit-testable as they are.
 */

#include <sys/types.h>

#include <time.h>

#include "util.h"

u_int64_t
util_now_ms(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return ((u_int64_t)ts.tv_sec * 1000 + (u_int64_t)ts.tv_nsec / 1000000);
}
