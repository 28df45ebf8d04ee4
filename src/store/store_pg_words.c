/*
 * store_pg_words.c: a submission's search text, made by the writer from
 * its values' JSON, the same text the database's fw_search_vector()
 * gathers (store_pg_sql.c, migration 1): every value, in jsonb's order
 * of keys (shorter names first, then byte by byte) and each array's
 * elements in theirs, joined by one space. The database then folds it
 * (fw_search_text) and makes the vector. Values of another shape (a
 * number, a nested object, a name twice, an escape Kore's parser
 * refuses) are left to the database: the caller sends no text and the
 * search_filled trigger makes it from the JSON, as it always did.
 */

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>

#include "store/store_pg.h"

/* One member of the values' object, as qsort() moves it. */
struct words_key {
	const struct kore_json_item	*item;
};

static int	store_pg_words_order(const void *, const void *);
static int	store_pg_words_value(const struct kore_json_item *,
		    struct kore_buf *, int *first);

int
store_pg_words(const char *data, struct kore_buf *out)
{
	struct kore_json		 json;
	struct kore_json_item		*item;
	struct words_key		*keys;
	size_t				 i, n;
	int				 rc, first;

	kore_json_init(&json, data, strlen(data));
	if (kore_json_parse(&json) != KORE_RESULT_OK ||
	    json.root->type != KORE_JSON_TYPE_OBJECT) {
		kore_json_cleanup(&json);
		return (-1);
	}
	n = 0;
	TAILQ_FOREACH(item, &json.root->data.items, list)
		n++;
	keys = kore_calloc(n + 1, sizeof(*keys));
	i = 0;
	TAILQ_FOREACH(item, &json.root->data.items, list)
		keys[i++].item = item;
	qsort(keys, n, sizeof(*keys), store_pg_words_order);

	rc = 0;
	first = 1;
	for (i = 0; i < n && rc == 0; i++) {
		/* jsonb keeps one of two equal names: not this code's call. */
		if (i > 0 && store_pg_words_order(&keys[i - 1], &keys[i]) == 0)
			rc = -1;
		else
			rc = store_pg_words_value(keys[i].item, out, &first);
	}
	kore_free(keys);
	kore_json_cleanup(&json);
	return (rc);
}

/* jsonb's order of an object's keys: by length, then byte by byte. */
static int
store_pg_words_order(const void *a, const void *b)
{
	const char	*x = ((const struct words_key *)a)->item->name;
	const char	*y = ((const struct words_key *)b)->item->name;
	size_t		 lx = strlen(x), ly = strlen(y);

	if (lx != ly)
		return (lx < ly ? -1 : 1);
	return (memcmp(x, y, lx));
}

/* A string, or an array of strings; anything else is -1. */
static int
store_pg_words_value(const struct kore_json_item *v, struct kore_buf *out,
    int *first)
{
	const struct kore_json_item	*e;

	if (v->type == KORE_JSON_TYPE_ARRAY) {
		TAILQ_FOREACH(e, &v->data.items, list) {
			if (e->type != KORE_JSON_TYPE_STRING)
				return (-1);
			if (store_pg_words_value(e, out, first) == -1)
				return (-1);
		}
		return (0);
	}
	if (v->type != KORE_JSON_TYPE_STRING)
		return (-1);
	if (!*first)
		kore_buf_append(out, " ", 1);
	*first = 0;
	kore_buf_append(out, v->data.string, strlen(v->data.string));
	return (0);
}
