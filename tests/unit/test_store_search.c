/*
 * test_store_search.c: the desk's list through the store's interface
 * (store_rows_each, store_cursor_valid in src/store/store_admin.h), on a
 * real SQLite store in a temporary file. The desk hands the store the
 * words as typed and an opaque cursor; these tests pin down what it may
 * count on: every word must match, and each is taken literally, whatever
 * FTS5 would make of it; paging with the cursors the rows carry yields
 * every matching row once, newest first, whichever index the store walks
 * (a selective filter's or the search's), even when the filter's
 * selectivity changes between pages; a garbled cursor is refused.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "store/store_admin.h"

#include "store_tmp.h"

#define MAX_ROWS	512
#define T0		1700000000000ULL

static char	db_path[64];
static int	seq;

/* A submission to store: its form, its message, when, and how. */
struct spec {
	const char	*form;
	const char	*message;
	u_int64_t	 created_ms;
	int		 job;		/* with a queued job: actions pending */
	int		 spam;		/* stored as spam: review spam */
	char		 id[TOKEN_ID_LEN + 1];	/* filled in */
};

/* A search and which of the specs it must find (want[i]: specs[i]). */
struct search_case {
	const char	*words;
	int		 want[8];
};

/* What store_rows_each handed over, in order. */
struct seen {
	char		 ids[MAX_ROWS][TOKEN_ID_LEN + 1];
	u_int64_t	 ms[MAX_ROWS];
	size_t		 n;
	char		 cursor[STORE_CURSOR_MAX];	/* the last row's */
};

static void
search_setup(void)
{
	store_tmp_open(db_path, sizeof(db_path), "search");
}

static void
search_teardown(void)
{
	store_tmp_remove(db_path);
}

TestSuite(store_search, .init = search_setup, .fini = search_teardown);

/* Stores n submissions in one batch, in arrival order; ids ascend. */
static void
put(struct spec *specs, size_t n)
{
	static struct store_job_spec	 job = { "email", "ops@example.org",
					    0, 3 };
	struct store_submission		 subs[MAX_ROWS], *ptrs[MAX_ROWS];
	char				 keys[MAX_ROWS][32];
	char				 data[MAX_ROWS][256];
	size_t				 i;

	cr_assert_leq(n, MAX_ROWS);
	memset(subs, 0, sizeof(subs));
	for (i = 0; i < n; i++, seq++) {
		(void)snprintf(subs[i].id, sizeof(subs[i].id), "id%020d", seq);
		(void)snprintf(keys[i], sizeof(keys[i]), "key%d", seq);
		(void)snprintf(data[i], sizeof(data[i]),
		    "{\"message\":\"%s\"}", specs[i].message);
		subs[i].form = specs[i].form;
		subs[i].key = keys[i];
		(void)snprintf(subs[i].hash, sizeof(subs[i].hash), "h%d", seq);
		subs[i].data = data[i];
		subs[i].client = "127.0.0.1";
		subs[i].spam = specs[i].spam;
		subs[i].created_ms = specs[i].created_ms;
		if (specs[i].job) {
			subs[i].jobs = &job;
			subs[i].njobs = 1;
		}
		ptrs[i] = &subs[i];
	}
	store_submissions_insert(ptrs, n);
	for (i = 0; i < n; i++) {
		cr_assert_eq(subs[i].result, STORE_OK, "submission %zu", i);
		(void)memcpy(specs[i].id, subs[i].id, sizeof(specs[i].id));
	}
}

static int
collect(const struct store_row *row, void *arg)
{
	struct seen	*s = arg;

	cr_assert_lt(s->n, MAX_ROWS);
	(void)snprintf(s->ids[s->n], sizeof(s->ids[s->n]), "%s", row->id);
	s->ms[s->n] = row->created_ms;
	s->n++;
	cr_assert_neq(row->cursor[0], '\0', "row %s has no cursor", row->id);
	cr_assert(store_cursor_valid(row->cursor),
	    "the store refuses its own cursor %s", row->cursor);
	(void)snprintf(s->cursor, sizeof(s->cursor), "%s", row->cursor);
	return (1);
}

/* One page of f's rows, at most per of them, appended to s. */
static size_t
page(const struct store_filter *f, size_t per, struct seen *s)
{
	size_t		before = s->n;

	cr_assert_eq(store_rows_each(NULL, f, per, collect, s), STORE_OK,
	    "words %s, after %s", f->words ? f->words : "(none)",
	    f->after ? f->after : "(none)");
	return (s->n - before);
}

/*
 * Follows the cursors from the first page of f (per rows a page) to the
 * last, which has fewer; at is where to start (NULL: the first page).
 */
static void
page_all(const struct store_filter *f, const char *at, size_t per,
    struct seen *s)
{
	struct store_filter	pf = *f;
	char			after[STORE_CURSOR_MAX];
	int			pages;

	pf.after = at;
	for (pages = 0; pages < MAX_ROWS; pages++) {
		if (page(&pf, per, s) < per)
			return;
		(void)snprintf(after, sizeof(after), "%s", s->cursor);
		pf.after = after;
	}
	cr_assert_fail("the cursors never reached the last page");
}

/* The ids of one search (no other filter, one page of them all). */
static void
search(const char *words, struct seen *s)
{
	struct store_filter	f;

	memset(&f, 0, sizeof(f));
	memset(s, 0, sizeof(*s));
	f.words = words;
	(void)page(&f, 0, s);
}

static int
seen_has(const struct seen *s, const char *id)
{
	size_t		i;

	for (i = 0; i < s->n; i++) {
		if (strcmp(s->ids[i], id) == 0)
			return (1);
	}
	return (0);
}

/* s holds exactly the ids of specs[i] for which want[i], once each. */
static void
assert_exactly(const struct seen *s, const struct spec *specs,
    const int *want, size_t n, const char *what)
{
	size_t		i, k, nwant;

	for (i = nwant = 0; i < n; i++) {
		if (want[i]) {
			nwant++;
			cr_assert(seen_has(s, specs[i].id), "%s: %s (\"%s\") "
			    "is missing", what, specs[i].id, specs[i].message);
		} else {
			cr_assert(!seen_has(s, specs[i].id), "%s: %s (\"%s\") "
			    "matched", what, specs[i].id, specs[i].message);
		}
	}
	for (i = 0; i < s->n; i++) {
		for (k = i + 1; k < s->n; k++)
			cr_assert_str_neq(s->ids[i], s->ids[k],
			    "%s: %s came twice", what, s->ids[i]);
	}
	cr_assert_eq(s->n, nwant, "%s: %zu rows, %zu expected", what, s->n,
	    nwant);
}

/* Stores specs, then runs each search and checks what it found. */
static void
search_cases(struct spec *specs, size_t nspecs,
    const struct search_case *cases, size_t ncases)
{
	struct seen	s;
	size_t		i;

	put(specs, nspecs);
	for (i = 0; i < ncases; i++) {
		search(cases[i].words, &s);
		assert_exactly(&s, specs, cases[i].want, nspecs,
		    cases[i].words ? cases[i].words : "(no words)");
	}
}

/* Each row is older than the one before (created_ms, then id). */
static void
assert_newest_first(const struct seen *s, const char *what)
{
	size_t		i;

	for (i = 1; i < s->n; i++)
		cr_assert(s->ms[i] < s->ms[i - 1] ||
		    (s->ms[i] == s->ms[i - 1] &&
		    strcmp(s->ids[i], s->ids[i - 1]) < 0),
		    "%s: row %zu (%s) is not older than the one before",
		    what, i, s->ids[i]);
}

Test(store_search, every_word_must_match)
{
	struct spec	specs[] = {
		{ "contact", "apple banana", T0 + 1, 0, 0, "" },
		{ "contact", "apple cherry", T0 + 2, 0, 0, "" },
		{ "contact", "banana cherry", T0 + 3, 0, 0, "" },
		{ "contact", "Crème brûlée", T0 + 4, 0, 0, "" },
	};
	static const struct search_case	cases[] = {
		{ "apple", { 1, 1, 0, 0 } },
		{ "apple banana", { 1, 0, 0, 0 } },
		{ "banana apple", { 1, 0, 0, 0 } },
		{ "  banana \t cherry ", { 0, 0, 1, 0 } },
		{ "apple banana cherry", { 0, 0, 0, 0 } },
		{ "APPLE", { 1, 1, 0, 0 } },
		{ "creme brulee", { 0, 0, 0, 1 } },
		{ "durian", { 0, 0, 0, 0 } },
		/* White space alone, or nothing, is no search. */
		{ "   ", { 1, 1, 1, 1 } },
		{ NULL, { 1, 1, 1, 1 } },
	};

	search_cases(specs, 4, cases, sizeof(cases) / sizeof(cases[0]));
}

Test(store_search, syntax_characters_in_words_are_literal)
{
	struct spec	specs[] = {
		{ "contact", "apple or cherry", T0 + 1, 0, 0, "" },
		{ "contact", "apple banana", T0 + 2, 0, 0, "" },
		{ "contact", "foobar near sea", T0 + 3, 0, 0, "" },
		{ "contact", "some body apple pie", T0 + 4, 0, 0, "" },
		{ "contact", "well known", T0 + 5, 0, 0, "" },
	};
	/*
	 * Beside each: what FTS5 would make of the words unquoted ("error":
	 * a syntax error), numbered as the rows are.
	 */
	static const struct search_case	cases[] = {
		/* OR: either word (rows 0, 1, 3); literal: "or" too. */
		{ "apple OR banana", { 0, 0, 0, 0, 0 } },
		{ "cherry OR", { 1, 0, 0, 0, 0 } },		/* error */
		/* NOT: apple without banana (0, 3). */
		{ "apple NOT banana", { 0, 0, 0, 0, 0 } },
		{ "apple AND", { 0, 0, 0, 0, 0 } },		/* error */
		{ "NEAR(sea", { 0, 0, 1, 0, 0 } },		/* error */
		/* NEAR: apple close to pie (3). */
		{ "NEAR(apple pie)", { 0, 0, 0, 0, 0 } },
		/* A prefix query would find "foobar". */
		{ "foo*", { 0, 0, 0, 0, 0 } },
		{ "-banana", { 0, 1, 0, 0, 0 } },		/* error */
		{ "well-known", { 0, 0, 0, 0, 1 } },
		{ "\"apple", { 1, 1, 0, 1, 0 } },		/* error */
		{ "apple\"\"", { 1, 1, 0, 1, 0 } },
		{ "say\"cheese\"", { 0, 0, 0, 0, 0 } },
		/* A column filter would find every apple (0, 1, 3). */
		{ "body:apple", { 0, 0, 0, 1, 0 } },
		{ "{body}:apple", { 0, 0, 0, 1, 0 } },
		/* ^: apple as the first word (0, 1). */
		{ "^apple", { 1, 1, 0, 1, 0 } },
	};
	static const char *const only_syntax[] = {
		"\"", "*", "(", ")", "NEAR(", "OR", "-", ":", "^", "\"\"\"",
		"* OR *", "NEAR(\"",
	};
	struct seen	s;
	size_t		i;

	search_cases(specs, 5, cases, sizeof(cases) / sizeof(cases[0]));
	/* Words of syntax alone are no error either (search() checks). */
	for (i = 0; i < sizeof(only_syntax) / sizeof(only_syntax[0]); i++)
		search(only_syntax[i], &s);
}

/*
 * 100 rows in date order, all with the word "common"; every third has a
 * pending action. A search alone walks the search index, one with
 * actions=pending (a selective filter) walks that filter's index by
 * date, and no search walks the dates: each way, page after page, every
 * row comes once, newest first.
 */
Test(store_search, paging_yields_every_row_once_newest_first)
{
	struct spec		specs[100];
	int			want[100], pending[100];
	struct store_filter	f;
	struct seen		s;
	size_t			i, per;

	for (i = 0; i < 100; i++) {
		memset(&specs[i], 0, sizeof(specs[i]));
		specs[i].form = "contact";
		specs[i].message = i % 2 ? "common odd" : "common even";
		specs[i].created_ms = T0 + i * 1000;
		specs[i].job = pending[i] = i % 3 == 0;
		want[i] = 1;
	}
	put(specs, 100);

	for (per = 1; per <= 101; per += 9) {
		memset(&f, 0, sizeof(f));
		f.words = "common";
		memset(&s, 0, sizeof(s));
		page_all(&f, NULL, per, &s);
		assert_exactly(&s, specs, want, 100, "search");
		assert_newest_first(&s, "search");

		f.actions = "pending";
		memset(&s, 0, sizeof(s));
		page_all(&f, NULL, per, &s);
		assert_exactly(&s, specs, pending, 100, "search, pending");
		assert_newest_first(&s, "search, pending");

		f.words = NULL;
		memset(&s, 0, sizeof(s));
		page_all(&f, NULL, per, &s);
		assert_exactly(&s, specs, pending, 100, "pending");
		assert_newest_first(&s, "pending");

		f.actions = NULL;
		memset(&s, 0, sizeof(s));
		page_all(&f, NULL, per, &s);
		assert_exactly(&s, specs, want, 100, "everything");
		assert_newest_first(&s, "everything");
	}
}

/*
 * Rows stored out of date order (as formworkctl generate or an import
 * may): a search walks its index by arrival, newest arrival first, and
 * a selective filter's walk goes by date; each still yields every row
 * once across its pages.
 */
Test(store_search, rows_out_of_date_order_page_by_arrival_or_by_date)
{
	struct spec		specs[40];
	int			want[40], pending[40];
	struct store_filter	f;
	struct seen		s;
	size_t			i;

	for (i = 0; i < 40; i++) {
		memset(&specs[i], 0, sizeof(specs[i]));
		specs[i].form = "contact";
		specs[i].message = "common";
		/* A permutation of 0..39 (7919 is prime to 40). */
		specs[i].created_ms = T0 + (i * 7919 % 40) * 1000;
		specs[i].job = pending[i] = i % 4 == 0;
		want[i] = 1;
	}
	put(specs, 40);

	memset(&f, 0, sizeof(f));
	f.words = "common";
	memset(&s, 0, sizeof(s));
	page_all(&f, NULL, 6, &s);
	assert_exactly(&s, specs, want, 40, "search");
	for (i = 0; i < 40; i++)
		cr_assert_str_eq(s.ids[i], specs[39 - i].id,
		    "row %zu is not the %zuth newest arrival", i, i + 1);

	f.actions = "pending";
	memset(&s, 0, sizeof(s));
	page_all(&f, NULL, 3, &s);
	assert_exactly(&s, specs, pending, 40, "search, pending");
	assert_newest_first(&s, "search, pending");
}

/*
 * A page link made while the filter kept most rows (the search's walk)
 * still works once it keeps few (other rows arrived in between), and
 * the other way round (rows pruned in between): the rest of the pages
 * follow the first page's walk, with no row missed or shown twice.
 */
Test(store_search, a_cursor_keeps_its_walk_when_the_counts_change)
{
	static struct spec	mine[10], others[300];
	struct store_prune	pruned;
	struct store_handle	*h;
	struct store_filter	f;
	struct seen		s;
	char			after[STORE_CURSOR_MAX];
	int			want[10];
	size_t			i;

	memset(&f, 0, sizeof(f));
	f.form = "mine";
	f.words = "common";

	/* Form "mine" is every row: the first page walks the search. */
	for (i = 0; i < 10; i++) {
		mine[i] = (struct spec){ "mine", "common", T0 + 1000 + i, 0, 0,
		    "" };
		want[i] = 1;
	}
	put(mine, 10);
	memset(&s, 0, sizeof(s));
	cr_assert_eq(page(&f, 3, &s), 3);
	(void)snprintf(after, sizeof(after), "%s", s.cursor);
	/* Now "mine" is 10 rows in 310: selective. */
	for (i = 0; i < 300; i++)
		others[i] = (struct spec){ "other", "common", T0 + 2000 + i,
		    0, 0, "" };
	put(others, 300);
	page_all(&f, after, 3, &s);
	assert_exactly(&s, mine, want, 10, "more rows in between");
	assert_newest_first(&s, "more rows in between");

	/* Selective at first (by date); then the others are pruned. */
	search_teardown();
	search_setup();
	for (i = 0; i < 300; i++)
		others[i].created_ms = T0 + i;
	put(others, 300);
	for (i = 0; i < 10; i++)
		mine[i].created_ms = T0 + 1000 + i;
	put(mine, 10);
	memset(&s, 0, sizeof(s));
	cr_assert_eq(page(&f, 3, &s), 3);
	(void)snprintf(after, sizeof(after), "%s", s.cursor);
	h = store_handle_new();
	cr_assert_eq(store_prune(h, T0 + 1000, 0, &pruned), STORE_OK);
	store_handle_free(h);
	cr_assert_eq(pruned.submissions, 300);
	page_all(&f, after, 3, &s);
	assert_exactly(&s, mine, want, 10, "rows pruned in between");
	assert_newest_first(&s, "rows pruned in between");
}

Test(store_search, a_garbled_cursor_is_refused)
{
	static const char *const bad[] = {
		"", "garbage", "!!not-a-cursor!!", "r", "r0", "r01", "r-1",
		"r12x", "r 12", "12", "12.", ".", ".AAAAAAAAAAAAAAAAAAAAAA",
		"12.short", "12x.AAAAAAAAAAAAAAAAAAAAAA",
		"-12.AAAAAAAAAAAAAAAAAAAAAA", "12.AAAAAAAAAAAAAAAAAAAAA!",
		"12.AAAAAAAAAAAAAAAAAAAAAAA", "12.AAAAAAAAAAAAAAAAAAAAA",
		"12.AAAAAAAAAAAAAAAAAAAAAA.", "R12",
		"r12.AAAAAAAAAAAAAAAAAAAAAA",
	};
	struct spec		specs[3] = {
		{ "contact", "apple", T0 + 1, 0, 0, "" },
		{ "contact", "apple", T0 + 2, 0, 0, "" },
		{ "contact", "apple", T0 + 3, 0, 0, "" },
	};
	static const char *const words[] = { NULL, "apple" };
	struct store_filter	f;
	struct seen		s;
	char			garbled[STORE_CURSOR_MAX];
	size_t			i, k, w;

	put(specs, 3);
	memset(&f, 0, sizeof(f));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert(!store_cursor_valid(bad[i]), "\"%s\" passed", bad[i]);
		memset(&s, 0, sizeof(s));
		f.after = bad[i];
		cr_assert_eq(store_rows_each(NULL, &f, 0, collect, &s),
		    STORE_ERROR, "\"%s\" was read", bad[i]);
		cr_assert_eq(s.n, 0, "\"%s\" gave rows", bad[i]);
	}

	/* A real cursor, by date and in a search, with a character changed. */
	for (w = 0; w < 2; w++) {
		f.words = words[w];
		f.after = NULL;
		memset(&s, 0, sizeof(s));
		cr_assert_eq(page(&f, 1, &s), 1);
		for (k = 0; s.cursor[k] != '\0'; k++) {
			(void)snprintf(garbled, sizeof(garbled), "%s",
			    s.cursor);
			garbled[k] = '!';
			cr_assert(!store_cursor_valid(garbled), "\"%s\" passed",
			    garbled);
		}
	}
}
