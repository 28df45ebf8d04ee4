/*
 * store_sqlite_search.c: the desk's list in SQLite (store_rows_each,
 * store_review_counts, the cursors). What the interface leaves to the
 * store is decided here: the FTS5 query a search's words become, which
 * index a page walks, and what a cursor holds.
 *
 * The list is one query built from fixed clauses (the filter's values
 * all bound), newest first, paged by keyset so the 50th page costs what
 * the first does. Without a search it walks the date index of the
 * filter (or of all rows) by (created_at, id). A search walks the
 * full-text index instead, in arrival order (rowid, newest first),
 * which stops after a page however many rows match; unless the other
 * filters keep few rows: then it walks their index by date and checks
 * the search per row, because the search's matches may be nearly every
 * row (370 ms -> 4 ms at a million rows when this came in, 97fc9f6).
 * A cursor names the walk and the row it stopped at: "r<rowid>" in the
 * search index, "<created_at>.<id>" by date; the next page keeps the
 * walk its first page chose, so no row is missed or shown twice when
 * the counts change in between.
 */

#include <sys/types.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>
#include "store/store_admin.h"
#include "store/store_sqlite.h"

/* The other filters are selective when they keep under 1 row in this. */
#define STORE_SELECTIVE		20

/* How one call to store_rows_each finds its rows. */
struct store_walk {
	const char	*match;		/* the FTS5 query; NULL: no search */
	int		 by_rowid;	/* walk the search index by arrival */
	int		 has_after;
	u_int64_t	 after_ms;	/* keyset by date: (created_at, id) */
	char		 after_id[TOKEN_ID_LEN + 1];
	int64_t		 after_rowid;	/* keyset in the search index */
};

static int	store_cursor_parse(const char *, struct store_walk *);
static void	store_match_build(const char *, struct kore_buf *);
static int	store_filter_selective(struct store_handle *,
		    const struct store_filter *);
static enum store_result store_counts_read(struct store_handle *,
		    const char *, u_int64_t *);

enum store_result
store_sqlite_rows_each(struct store_handle *h, const struct store_filter *f,
    size_t limit, int (*cb)(const struct store_row *, void *), void *arg)
{
	struct store_walk	 w;
	struct store_row	 row;
	struct kore_buf		 sql, match;
	sqlite3_stmt		*st;
	int			 rc;

	h = store_handle_or_reader(h);
	memset(&w, 0, sizeof(w));
	if (f->after != NULL && store_cursor_parse(f->after, &w) == -1)
		return (STORE_ERROR);
	kore_buf_init(&match, 256);
	store_match_build(f->words, &match);
	if (match.offset > 0) {
		w.match = kore_buf_stringify(&match, NULL);
		/* A page link keeps the walk its first page chose. */
		if (w.has_after)
			w.by_rowid = w.after_rowid != 0;
		else
			w.by_rowid = !store_filter_selective(h, f);
	}

	kore_buf_init(&sql, 512);
	/* Numbered parameters, bound below only when their clause is in. */
	if (w.by_rowid)
		kore_buf_appendf(&sql, "SELECT s.id, s.form, s.review, "
		    "s.actions, s.created_at, s.data, s.rowid FROM "
		    "submissions_fts JOIN submissions s ON s.rowid = "
		    "submissions_fts.rowid WHERE submissions_fts MATCH ?6");
	else
		kore_buf_appendf(&sql, "SELECT id, form, review, actions, "
		    "created_at, data, rowid FROM submissions s WHERE 1");
	if (f->form != NULL)
		kore_buf_appendf(&sql, " AND s.form = ?1");
	if (f->review != NULL)
		kore_buf_appendf(&sql, " AND s.review = ?2");
	if (f->actions != NULL)
		kore_buf_appendf(&sql, " AND s.actions = ?3");
	if (f->from_ms != 0)
		kore_buf_appendf(&sql, " AND s.created_at >= ?4");
	if (f->to_ms != 0)
		kore_buf_appendf(&sql, " AND s.created_at < ?5");
	if (w.match != NULL && !w.by_rowid)
		kore_buf_appendf(&sql, " AND EXISTS (SELECT 1 FROM "
		    "submissions_fts WHERE submissions_fts MATCH ?6 AND "
		    "submissions_fts.rowid = s.rowid)");
	if (w.by_rowid) {
		if (w.after_rowid != 0)
			kore_buf_appendf(&sql,
			    " AND submissions_fts.rowid < ?9");
		kore_buf_appendf(&sql, " ORDER BY submissions_fts.rowid DESC");
	} else {
		if (w.has_after)
			kore_buf_appendf(&sql,
			    " AND (s.created_at, s.id) < (?7, ?8)");
		kore_buf_appendf(&sql, " ORDER BY s.created_at DESC, s.id DESC");
	}
	if (limit > 0)
		kore_buf_appendf(&sql, " LIMIT %zu", limit);
	kore_buf_appendf(&sql, "%c", '\0');

	st = store_prepare(h, (const char *)sql.data);
	kore_buf_cleanup(&sql);
	if (st == NULL) {
		kore_buf_cleanup(&match);
		return (STORE_ERROR);
	}
	if (f->form != NULL)
		sqlite3_bind_text(st, 1, f->form, -1, SQLITE_STATIC);
	if (f->review != NULL)
		sqlite3_bind_text(st, 2, f->review, -1, SQLITE_STATIC);
	if (f->actions != NULL)
		sqlite3_bind_text(st, 3, f->actions, -1, SQLITE_STATIC);
	if (f->from_ms != 0)
		sqlite3_bind_int64(st, 4, (sqlite3_int64)f->from_ms);
	if (f->to_ms != 0)
		sqlite3_bind_int64(st, 5, (sqlite3_int64)f->to_ms);
	if (w.match != NULL)
		sqlite3_bind_text(st, 6, w.match, -1, SQLITE_STATIC);
	if (!w.by_rowid && w.has_after) {
		sqlite3_bind_int64(st, 7, (sqlite3_int64)w.after_ms);
		sqlite3_bind_text(st, 8, w.after_id, -1, SQLITE_STATIC);
	}
	if (w.by_rowid && w.after_rowid != 0)
		sqlite3_bind_int64(st, 9, w.after_rowid);

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_copy_text(st, 0, row.id, sizeof(row.id));
		store_copy_text(st, 1, row.form, sizeof(row.form));
		store_copy_text(st, 2, row.review, sizeof(row.review));
		store_copy_text(st, 3, row.actions, sizeof(row.actions));
		row.created_ms = (u_int64_t)sqlite3_column_int64(st, 4);
		row.data = (const char *)sqlite3_column_text(st, 5);
		if (w.by_rowid)
			(void)snprintf(row.cursor, sizeof(row.cursor), "r%lld",
			    (long long)sqlite3_column_int64(st, 6));
		else
			(void)snprintf(row.cursor, sizeof(row.cursor),
			    "%llu.%s", (unsigned long long)row.created_ms,
			    row.id);
		if (cb(&row, arg) == 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(st);
	kore_buf_cleanup(&match);
	return (rc == SQLITE_DONE ? STORE_OK : store_result_of(h, rc));
}

int
store_sqlite_cursor_valid(const char *s)
{
	struct store_walk	w;

	return (store_cursor_parse(s, &w) == 0);
}

enum store_result
store_sqlite_review_counts(const char *form,
    u_int64_t counts[STORE_REVIEW_STATES])
{
	return (store_counts_read(store_reader_handle(), form, counts));
}

/* The counts per review state on h (the list's own connection). */
static enum store_result
store_counts_read(struct store_handle *h, const char *form, u_int64_t *counts)
{
	sqlite3_stmt		*st;
	int			 rc, i;

	memset(counts, 0, STORE_REVIEW_STATES * sizeof(counts[0]));
	if ((st = store_prepare(h, "SELECT review, sum(n) FROM review_counts "
	    "WHERE ?1 IS NULL OR form = ?1 GROUP BY review")) == NULL)
		return (STORE_ERROR);
	if (form != NULL)
		sqlite3_bind_text(st, 1, form, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		i = store_vocab_find(store_review_states, STORE_REVIEW_STATES,
		    (const char *)sqlite3_column_text(st, 0));
		if (i != -1)
			counts[i] = (u_int64_t)sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return (rc == SQLITE_DONE ? STORE_OK : store_result_of(h, rc));
}

/*
 * 1 when the filters besides the search keep few rows (under 1 in
 * STORE_SELECTIVE): then walking their index by date and checking the
 * search per row beats walking the search's matches, which may be
 * nearly every row. Review and form counts are kept by triggers
 * (review_counts); failed or pending actions are rare by nature.
 */
static int
store_filter_selective(struct store_handle *h, const struct store_filter *f)
{
	u_int64_t	 sel[STORE_REVIEW_STATES], all[STORE_REVIEW_STATES];
	u_int64_t	 n, total;
	size_t		 i;

	if (f->actions != NULL && (strcmp(f->actions, "failed") == 0 ||
	    strcmp(f->actions, "pending") == 0))
		return (1);
	if (f->review == NULL && f->form == NULL)
		return (0);
	if (store_counts_read(h, f->form, sel) != STORE_OK ||
	    store_counts_read(h, NULL, all) != STORE_OK)
		return (0);
	n = total = 0;
	for (i = 0; i < STORE_REVIEW_STATES; i++) {
		total += all[i];
		if (f->review == NULL ||
		    strcmp(f->review, store_review_states[i]) == 0)
			n += sel[i];
	}
	return (n * STORE_SELECTIVE < total);
}

/*
 * Reads a cursor (see the top of this file) into w; -1 when s is not
 * one. A search cursor given without a search finds no rows, as does
 * any cursor past the last row.
 */
static int
store_cursor_parse(const char *s, struct store_walk *w)
{
	const char	*dot;
	char		*end;
	long long	 rowid;

	memset(w, 0, sizeof(*w));
	if (s[0] == 'r') {
		if (strspn(s + 1, "0123456789") != strlen(s + 1) ||
		    s[1] == '\0' || s[1] == '0')
			return (-1);
		rowid = strtoll(s + 1, &end, 10);
		if (*end != '\0' || rowid < 1)
			return (-1);
		w->after_rowid = rowid;
		w->has_after = 1;
		return (0);
	}
	if ((dot = strchr(s, '.')) == NULL || dot == s ||
	    strspn(s, "0123456789") != (size_t)(dot - s) ||
	    !token_id_valid(dot + 1))
		return (-1);
	w->after_ms = strtoull(s, &end, 10);
	if (end != dot)
		return (-1);
	(void)snprintf(w->after_id, sizeof(w->after_id), "%s", dot + 1);
	w->has_after = 1;
	return (0);
}

/*
 * Appends the FTS5 query for words: each word (split at white space) a
 * quoted string, in which a '"' is doubled, so no input can inject FTS5
 * syntax (operators, prefixes, column filters); the tokenizer then
 * makes a word with punctuation in it a phrase. Strings side by side
 * must all match. Nothing is appended for no words.
 */
static void
store_match_build(const char *words, struct kore_buf *out)
{
	const char	*p;
	size_t		 n;

	for (p = words; p != NULL && *p != '\0';) {
		while (*p != '\0' && isspace((unsigned char)*p))
			p++;
		n = 0;
		while (p[n] != '\0' && !isspace((unsigned char)p[n]))
			n++;
		if (n == 0)
			break;
		if (out->offset > 0)
			kore_buf_append(out, " ", 1);
		kore_buf_append(out, "\"", 1);
		for (; n > 0; n--, p++) {
			if (*p == '"')
				kore_buf_append(out, "\"", 1);
			kore_buf_append(out, p, 1);
		}
		kore_buf_append(out, "\"", 1);
	}
}
