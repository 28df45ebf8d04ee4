/*
 * csv.c: see csv.h.
 */

#include <sys/types.h>

#include <string.h>

#include <kore/kore.h>

#include "core/csv.h"

static void	csv_write(struct kore_buf *, const char *, int, int);

void
csv_cell(struct kore_buf *out, const char *s, int first)
{
	csv_write(out, s, first, 1);
}

void
csv_cell_ours(struct kore_buf *out, const char *s, int first)
{
	csv_write(out, s, first, 0);
}

static void
csv_write(struct kore_buf *out, const char *s, int first, int neutralise)
{
	const char	*p;
	int		 quote;

	if (!first)
		kore_buf_append(out, ",", 1);
	quote = strpbrk(s, ",\"\r\n") != NULL;
	if (quote)
		kore_buf_append(out, "\"", 1);
	if (neutralise && s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL)
		kore_buf_append(out, "'", 1);
	for (p = s; *p != '\0'; p++) {
		if (*p == '"')
			kore_buf_append(out, "\"", 1);
		kore_buf_append(out, p, 1);
	}
	if (quote)
		kore_buf_append(out, "\"", 1);
}

void
csv_row_end(struct kore_buf *out)
{
	kore_buf_append(out, "\r\n", 2);
}
