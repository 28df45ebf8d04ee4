/*
 * table.h: table-driven Criterion tests, one test per row of a static
 * table of cases.
 *
 * Criterion runs each case of a ParameterizedTest in a process of its
 * own and hands it the case as bytes. A row that holds string literals
 * cannot travel that way: its pointers are addresses in the runner's
 * process, and the test process maps the binary elsewhere. What travels
 * is the row's index, which means the same row in both:
 *
 *	TABLE_TEST(suite, name, table);
 *	ParameterizedTest(size_t *i, suite, name)
 *	{
 *		const struct case	*c = &table[*i];
 *		...
 *	}
 *
 * Each row counts as one test in Criterion's summary. Criterion does not
 * say which row failed, so every assertion's message names the row.
 */

#ifndef TESTS_UNIT_TABLE_H
#define TESTS_UNIT_TABLE_H

#include <criterion/parameterized.h>

#define TABLE_LEN(t)	(sizeof(t) / sizeof((t)[0]))

/* The parameters of the test suite::name: the indices of table's rows. */
#define TABLE_TEST(suite, name, table)					\
ParameterizedTestParameters(suite, name)				\
{									\
	static size_t	table_rows[TABLE_LEN(table)];			\
	size_t		table_i;					\
									\
	for (table_i = 0; table_i < TABLE_LEN(table); table_i++)	\
		table_rows[table_i] = table_i;				\
	return (cr_make_param_array(size_t, table_rows,			\
	    TABLE_LEN(table)));						\
}

#endif /* !TESTS_UNIT_TABLE_H */
