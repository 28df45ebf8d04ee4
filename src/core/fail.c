/*
 * fail.c: the start-up error line (see fail.h). No Kore types: the
 * server's parent and formworkctl both link it.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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
	exit(1);
}

static void
fail_print(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", fail_name);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
}
