/*
 * admin_filter.h: the desk's list filters (form, review state, action
 * state, date range, full-text search, page cursor), read from a query
 * string or a POSTed form, checked, turned into a store_filter and
 * written back into links and forms. The search words (bounded in
 * length) and the page cursor (checked for its form) go to the store as
 * they came: making a query of them is the store's part.
 */

#ifndef FORMWORK_ADMIN_FILTER_H
#define FORMWORK_ADMIN_FILTER_H

#include <sys/types.h>

#include <stddef.h>

#include "store/store_admin.h"

struct body;
struct kore_buf;
struct kore_json_item;

#define ADMIN_SEARCH_MAX	200

/* The strings point into the body the filters were read from. */
struct admin_filter {
	struct store_filter	 sf;	/* sf.words: q, sf.after: after */
	const char		*q;	/* as typed, for the search box */
	const char		*from;	/* YYYY-MM-DD as typed */
	const char		*to;
};

/* Reads the filters from b; -1 with a sentence in err when one is bad. */
int	admin_filter_parse(struct body *b, struct admin_filter *,
	    char *err, size_t errlen);

/* Appends the filters (not the cursor) as a query string: a=1&b=2. */
void	admin_filter_query(const struct admin_filter *, struct kore_buf *);

/* Adds what the filter form shows: each choice with its "selected". */
void	admin_filter_ctx(struct kore_json_item *, const struct admin_filter *);

#endif
