/*
 * test_store_pg_words.c: the search text the PostgreSQL writer makes from
 * a submission's values (src/store/store_pg_words.c): every string in
 * jsonb's order of keys (shorter first, then byte by byte), arrays in
 * their own order, one space between, escapes decoded; every other
 * shape refused (-1), for the database to make from the JSON itself.
 * That the database's vector of this text is the one it makes from the
 * JSON is checked against PostgreSQL by suite_api.py
 * (test_search_vectors_are_the_databases_own).
 */

#include <sys/types.h>

#include <string.h>

#include <criterion/criterion.h>
#include <kore/kore.h>

#include "store/store_pg.h"

#include "table.h"

struct words_case {
	const char	*data;
	const char	*text;		/* NULL: refused */
};

static const struct words_case words_cases[] = {
	{ "{}", "" },
	{ "{\"a\":\"x\"}", "x" },
	/* jsonb's order: by length of the name, then its bytes. */
	{ "{\"message\":\"m\",\"name\":\"n\",\"email\":\"e\",\"topic\":\"t\"}",
	    "n e t m" },
	{ "{\"b\":\"2\",\"a\":\"1\",\"B\":\"0\"}", "0 1 2" },
	{ "{\"colours\":[\"red\",\"blue\"],\"note\":\"n\"}", "n red blue" },
	{ "{\"c\":[],\"a\":\"\",\"b\":\"y\"}", " y" },
	{ "{\"q\":\"say \\\"hi\\\" \\\\ there\\n\\tnow\"}",
	    "say \"hi\" \\ there\n\tnow" },
	{ "{\"u\":\"Gr\xc3\xbc\xc3\x9f" "e\"}", "Gr\xc3\xbc\xc3\x9f" "e" },
	/* Shapes left to the database. */
	{ "{\"n\":12}", NULL },
	{ "{\"t\":true}", NULL },
	{ "{\"o\":{\"a\":\"x\"}}", NULL },
	{ "{\"a\":[\"x\",[\"y\"]]}", NULL },
	{ "{\"a\":\"x\",\"a\":\"y\"}", NULL },
	{ "[\"x\"]", NULL },
	{ "{\"a\":\"caf\\u00e9\"}", NULL },
	{ "{\"a\":", NULL },
	{ "", NULL },
};

TABLE_TEST(store_pg_words, cases, words_cases);

ParameterizedTest(size_t *i, store_pg_words, cases)
{
	const struct words_case	*c = &words_cases[*i];
	struct kore_buf		 out;
	int			 rc;

	kore_buf_init(&out, 64);
	rc = store_pg_words(c->data, &out);
	if (c->text == NULL) {
		cr_assert_eq(rc, -1, "row %zu (%s): refused", *i, c->data);
	} else {
		cr_assert_eq(rc, 0, "row %zu (%s): made", *i, c->data);
		cr_assert_eq(out.offset, strlen(c->text), "row %zu: length",
		    *i);
		cr_assert(memcmp(out.data, c->text, out.offset) == 0,
		    "row %zu (%s): text", *i, c->data);
	}
	kore_buf_cleanup(&out);
}
