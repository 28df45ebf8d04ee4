/*
 * util.c: small helpers with no Kore types, unit-testable as they are.
 */

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/util.h"

u_int64_t
util_now_ms(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return ((u_int64_t)ts.tv_sec * 1000 + (u_int64_t)ts.tv_nsec / 1000000);
}

void *
util_shared_new(size_t len, const char *what, char *err, size_t errlen)
{
	void	*p;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	    -1, 0);
	if (p == MAP_FAILED) {
		(void)snprintf(err, errlen, "%s: mmap: %s", what,
		    strerror(errno));
		return (NULL);
	}
	return (p);
}

u_int64_t
util_mono_us(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((u_int64_t)ts.tv_sec * 1000000 + (u_int64_t)ts.tv_nsec / 1000);
}

int
util_mkdirs(const char *path, int is_dir, char *err, size_t errlen)
{
	char		buf[PATH_MAX], *p, c;

	if (strlen(path) >= sizeof(buf)) {
		(void)snprintf(err, errlen, "%s: path too long", path);
		return (-1);
	}
	(void)snprintf(buf, sizeof(buf), "%s", path);
	if (!is_dir) {
		if ((p = strrchr(buf, '/')) == NULL)
			return (0);
		*p = '\0';
	}
	for (p = buf + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(buf, 0750) == -1 && errno != EEXIST) {
			(void)snprintf(err, errlen, "%s: cannot create: %s", buf,
			    strerror(errno));
			return (-1);
		}
		*p = c;
		if (c == '\0')
			break;
	}
	return (0);
}
