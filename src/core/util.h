/*
 * util.h: small helpers with no Kore types.
 */

#ifndef FORMWORK_UTIL_H
#define FORMWORK_UTIL_H

#include <sys/types.h>

#include <stddef.h>

/*
 * Wall-clock milliseconds since the epoch. Kore's kore_time_ms() is
 * monotonic (time since boot), which cannot be stored or compared across
 * restarts and machines.
 */
u_int64_t	util_now_ms(void);

/*
 * len zeroed bytes of memory shared with the processes forked after
 * (the parent's, for its workers); NULL with a sentence in err naming
 * what on failure.
 */
void		*util_shared_new(size_t len, const char *what, char *err,
		    size_t errlen);

/* Monotonic microseconds (time since boot): for durations only. */
u_int64_t	util_mono_us(void);

/*
 * Creates path's directories like mkdir -p: all of them when is_dir,
 * else all but the last component (a file's parent directories).
 * Returns -1 with a sentence in err on failure.
 */
int		util_mkdirs(const char *path, int is_dir, char *err,
		    size_t errlen);

#endif
