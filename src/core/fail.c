/*
 * fail.c: the start-up error line (see fail.h). No Kore types: the
 * server's parent and formworkctl both link it.
 */

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "core/fail.h"

static const char	*fail_name = "formwork";

static void	fail_print(const char *, va_list)
		    __attribute__((format(printf, 1, 0)));

void
fail_name_set(const char *name)
{
	fail_name = name;
}

int
fail(const char *fmt, ...)
{
	va_list		ap;

	va_start(ap, fmt);
	fail_print(fmt, ap);
	va_end(ap);
	return (1);
}

void
fail_exit(const char *fmt, ...)
{
	va_list		ap;

	va_start(ap, fmt);
	fail_print(fmt, ap);
	va_end(ap);
	/*
	 * Not exit(): nothing has been started that needs ending, and the
	 * libraries' destructors can hang a process that never served (the
	 * server's parent under AddressSanitizer waits forever in
	 * p11-kit's, loaded through libcurl, for the locale lock).
	 */
	(void)fflush(NULL);
	_exit(1);
}

static void
fail_print(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", fail_name);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
}
