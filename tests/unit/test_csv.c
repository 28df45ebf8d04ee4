/*
 * test_csv.c: tests for CSV cells (src/core/csv.c): RFC 4180 quoting and the
 * neutralisation of cells a spreadsheet would run as formulas.
 */

#include <sys/types.h>

#include <string.h>

#include <criterion/criterion.h>
#include <kore.h>

#include "core/csv.h"

/* One row of cells, as text. */
static char *
csv_row(const char *const *cells, size_t n)
{
	static char	out[1024];
	struct kore_buf	b;
	size_t		i;

	kore_buf_init(&b, 64);
	for (i = 0; i < n; i++)
		csv_cell(&b, cells[i], i == 0);
	csv_row_end(&b);
	cr_assert_lt(b.offset, sizeof(out));
	memcpy(out, b.data, b.offset);
	out[b.offset] = '\0';
	kore_buf_cleanup(&b);
	return (out);
}

Test(csv, plain_cells_joined_by_commas_and_crlf)
{
	const char	*c[] = { "a", "b c", "" , "d" };

	cr_assert_str_eq(csv_row(c, 4), "a,b c,,d\r\n");
}

Test(csv, empty_first_cell_keeps_the_columns)
{
	const char	*c[] = { "", "", "x" };

	cr_assert_str_eq(csv_row(c, 3), ",,x\r\n");
}

Test(csv, comma_quote_and_newlines_are_quoted)
{
	const char	*c[] = { "a,b", "say \"hi\"", "line1\nline2", "cr\rx",
			    "\rhidden" };

	cr_assert_str_eq(csv_row(c, 5), "\"a,b\",\"say \"\"hi\"\"\","
	    "\"line1\nline2\",\"cr\rx\",\"'\rhidden\"\r\n");
}

Test(csv, formula_starts_are_neutralised)
{
	const char	*c[] = { "=1+1", "+1", "-2", "@SUM(A1)", "\tx",
			    "=HYPERLINK(\"http://evil\",\"x\")" };

	cr_assert_str_eq(csv_row(c, 6), "'=1+1,'+1,'-2,'@SUM(A1),'\tx,"
	    "\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\"\r\n");
}

Test(csv, formula_characters_later_in_a_cell_are_kept)
{
	const char	*c[] = { "a=b", "1+1", "mail@example.com" };

	cr_assert_str_eq(csv_row(c, 3), "a=b,1+1,mail@example.com\r\n");
}

Test(csv, utf8_passes_unchanged)
{
	const char	*c[] = { "Zoë", "日本語" };

	cr_assert_str_eq(csv_row(c, 2), "Zoë,日本語\r\n");
}

Test(csv, our_own_values_are_not_prefixed)
{
	struct kore_buf	b;

	kore_buf_init(&b, 64);
	csv_cell_ours(&b, "-ZBNRW6fX7A0ILYcYs6lrw", 1);
	csv_cell(&b, "-1", 0);
	csv_row_end(&b);
	cr_assert_eq(b.offset, strlen("-ZBNRW6fX7A0ILYcYs6lrw,'-1\r\n"));
	cr_assert(memcmp(b.data, "-ZBNRW6fX7A0ILYcYs6lrw,'-1\r\n",
	    b.offset) == 0);
	kore_buf_cleanup(&b);
}
