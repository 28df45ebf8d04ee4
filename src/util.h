/*
 * util.h: small helpers with no Kore types.
 */

#ifndef FORMWORK_UTIL_H
#define FORMWORK_UTIL_H

#include <sys/types.h>

/*
 * Wall-clock milliseconds since the epoch. Kore's kore_time_ms() is
 * monotonic (time since boot), which cannot be stored or compared across
 * restarts and machines.
 */
u_int64_t	util_now_ms(void);

#endif
