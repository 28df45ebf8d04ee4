/*
 * admin_filter.c: see admin_filter.h. Search text becomes an FTS5 query
 * in which each word is a quoted string (a phrase once the tokenizer
 * has split it), so no input can inject FTS5 syntax.
 */

#include <sys/types.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kore/kore.h>

#include "desk/admin_filter.h"
#include "core/body.h"
#include "core/forms.h"
#include "web/page.h"

#define ADMIN_DAY_MS	(86400ULL * 1000)
#define ADMIN_SELECTIVE	20

static const char *const admin_action_states[] = {
	"none", "pending", "done", "failed",
};

static const char	*admin_field(struct body *, const char *);
static int		 admin_one_of(const char *, const char *const *,
			    size_t);
static int		 admin_day(const char *, u_int64_t *);
static int		 admin_cursor_parse(const char *, struct store_filter *);
static void		 admin_match_build(const char *, char *, size_t);
static int		 admin_filter_selective(const struct store_filter *);

int
admin_filter_parse(struct body *b, struct admin_filter *f, char *err,
    size_t errlen)
{
	const char	*v;

	memset(f, 0, sizeof(*f));
	if ((v = admin_field(b, "form")) != NULL) {
		if (forms_find(forms_loaded(), v) == NULL) {
			(void)snprintf(err, errlen, "There is no form called "
			    "\"%.64s\".", v);
			return (-1);
		}
		f->sf.form = v;
	}
	if ((v = admin_field(b, "review")) != NULL) {
		if (!admin_one_of(v, store_review_states,
		    STORE_REVIEW_STATES)) {
			(void)snprintf(err, errlen, "The review state must be "
			    "new, approved, rejected or spam.");
			return (-1);
		}
		f->sf.review = v;
	}
	if ((v = admin_field(b, "actions")) != NULL) {
		if (!admin_one_of(v, admin_action_states, 4)) {
			(void)snprintf(err, errlen, "The action state must be "
			    "none, pending, done or failed.");
			return (-1);
		}
		f->sf.actions = v;
	}
	if ((f->from = admin_field(b, "from")) != NULL &&
	    admin_day(f->from, &f->sf.from_ms) == -1) {
		(void)snprintf(err, errlen, "Write the first day as "
		    "YYYY-MM-DD, for example 2026-01-31.");
		return (-1);
	}
	if ((f->to = admin_field(b, "to")) != NULL) {
		if (admin_day(f->to, &f->sf.to_ms) == -1) {
			(void)snprintf(err, errlen, "Write the last day as "
			    "YYYY-MM-DD, for example 2026-01-31.");
			return (-1);
		}
		f->sf.to_ms += ADMIN_DAY_MS;	/* the whole last day */
	}
	if ((f->q = admin_field(b, "q")) != NULL) {
		if (strlen(f->q) > ADMIN_SEARCH_MAX) {
			(void)snprintf(err, errlen, "Search for at most %d "
			    "characters.", ADMIN_SEARCH_MAX);
			return (-1);
		}
		admin_match_build(f->q, f->match, sizeof(f->match));
		if (f->match[0] != '\0')
			f->sf.match = f->match;
	}
	if ((v = admin_field(b, "after")) != NULL &&
	    admin_cursor_parse(v, &f->sf) == -1) {
		(void)snprintf(err, errlen, "This page link is damaged; start "
		    "again from the first page.");
		return (-1);
	}
	if (f->sf.match != NULL) {
		/* A page link keeps the walk its first page chose. */
		if (f->sf.has_after)
			f->sf.search_by_date = f->sf.after_rowid == 0;
		else
			f->sf.search_by_date = admin_filter_selective(&f->sf);
	}
	return (0);
}

/*
 * 1 when the filters besides the search keep few rows (under 1 in
 * ADMIN_SELECTIVE): then walking their index by date and checking the
 * search per row beats walking the search's matches, which may be
 * nearly every row. Review and form counts are kept by the store;
 * failed or pending actions are rare by nature.
 */
static int
admin_filter_selective(const struct store_filter *sf)
{
	u_int64_t	 sel[STORE_REVIEW_STATES], all[STORE_REVIEW_STATES];
	u_int64_t	 n, total;
	size_t		 i;

	if (sf->actions != NULL && (strcmp(sf->actions, "failed") == 0 ||
	    strcmp(sf->actions, "pending") == 0))
		return (1);
	if (sf->review == NULL && sf->form == NULL)
		return (0);
	if (store_review_counts(sf->form, sel) != STORE_OK ||
	    store_review_counts(NULL, all) != STORE_OK)
		return (0);
	n = total = 0;
	for (i = 0; i < STORE_REVIEW_STATES; i++) {
		total += all[i];
		if (sf->review == NULL ||
		    strcmp(sf->review, store_review_states[i]) == 0)
			n += sel[i];
	}
	return (n * ADMIN_SELECTIVE < total);
}

void
admin_filter_query(const struct admin_filter *f, struct kore_buf *out)
{
	const char	*names[] = { "form", "review", "actions", "from", "to",
			    "q" };
	const char	*values[] = { f->sf.form, f->sf.review, f->sf.actions,
			    f->from, f->to, f->q };
	size_t		 i;
	int		 first = 1;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (values[i] == NULL)
			continue;
		kore_buf_appendf(out, "%s%s=", first ? "" : "&", names[i]);
		page_url_encode(out, values[i]);
		first = 0;
	}
}

void
admin_filter_ctx(struct kore_json_item *ctx, const struct admin_filter *f)
{
	struct kore_json_item	*arr, *o;
	struct form		*form;
	size_t			 i;

	arr = kore_json_create_array(ctx, "forms");
	TAILQ_FOREACH(form, forms_loaded(), list) {
		o = kore_json_create_object(arr, NULL);
		kore_json_create_string(o, "slug", form->slug);
		kore_json_create_string(o, "title", form->title);
		kore_json_create_literal(o, "selected", f->sf.form != NULL &&
		    strcmp(f->sf.form, form->slug) == 0 ? KORE_JSON_TRUE :
		    KORE_JSON_FALSE);
	}
	arr = kore_json_create_array(ctx, "review_states");
	for (i = 0; i < STORE_REVIEW_STATES; i++) {
		o = kore_json_create_object(arr, NULL);
		kore_json_create_string(o, "value", store_review_states[i]);
		kore_json_create_literal(o, "selected", f->sf.review != NULL &&
		    strcmp(f->sf.review, store_review_states[i]) == 0 ?
		    KORE_JSON_TRUE : KORE_JSON_FALSE);
	}
	arr = kore_json_create_array(ctx, "action_states");
	for (i = 0; i < 4; i++) {
		o = kore_json_create_object(arr, NULL);
		kore_json_create_string(o, "value", admin_action_states[i]);
		kore_json_create_literal(o, "selected", f->sf.actions != NULL &&
		    strcmp(f->sf.actions, admin_action_states[i]) == 0 ?
		    KORE_JSON_TRUE : KORE_JSON_FALSE);
	}
	kore_json_create_string(ctx, "q", f->q ? f->q : "");
	kore_json_create_string(ctx, "from", f->from ? f->from : "");
	kore_json_create_string(ctx, "to", f->to ? f->to : "");
}

void
admin_cursor(const struct admin_filter *f, const struct store_row *row,
    char *out, size_t len)
{
	if (f->sf.match != NULL && !f->sf.search_by_date)
		(void)snprintf(out, len, "r%lld", (long long)row->rowid);
	else
		(void)snprintf(out, len, "%llu.%s",
		    (unsigned long long)row->created_ms, row->id);
}

/* A field's value; NULL when absent or empty (no filter). */
static const char *
admin_field(struct body *b, const char *name)
{
	struct body_field	*f;

	if ((f = body_find(b, name)) == NULL || f->len == 0 ||
	    strlen(f->value) != f->len)
		return (NULL);
	return (f->value);
}

static int
admin_one_of(const char *v, const char *const *set, size_t n)
{
	size_t		i;

	for (i = 0; i < n; i++) {
		if (strcmp(v, set[i]) == 0)
			return (1);
	}
	return (0);
}

/* YYYY-MM-DD, a real day, as milliseconds at its start (UTC). */
static int
admin_day(const char *s, u_int64_t *ms)
{
	struct tm	tm;
	const char	*end;
	time_t		t;
	int		y, m, d;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return (-1);
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%d", &tm)) == NULL || *end != '\0')
		return (-1);
	y = tm.tm_year;
	m = tm.tm_mon;
	d = tm.tm_mday;
	if (y < 70 || (t = timegm(&tm)) == (time_t)-1)
		return (-1);
	/* timegm normalises 2026-02-31 to March: refuse such days. */
	if (tm.tm_year != y || tm.tm_mon != m || tm.tm_mday != d)
		return (-1);
	*ms = (u_int64_t)t * 1000;
	return (0);
}

static int
admin_cursor_parse(const char *s, struct store_filter *sf)
{
	const char	*dot;
	char		*end;
	long long	 rowid;

	if (s[0] == 'r') {
		if (strspn(s + 1, "0123456789") != strlen(s + 1) ||
		    s[1] == '\0' || s[1] == '0')
			return (-1);
		rowid = strtoll(s + 1, &end, 10);
		if (*end != '\0' || rowid < 1)
			return (-1);
		sf->after_rowid = rowid;
		sf->has_after = 1;
		return (0);
	}
	if ((dot = strchr(s, '.')) == NULL || dot == s ||
	    strspn(s, "0123456789") != (size_t)(dot - s) ||
	    !token_id_valid(dot + 1))
		return (-1);
	sf->after_ms = strtoull(s, &end, 10);
	if (end != dot)
		return (-1);
	(void)snprintf(sf->after_id, sizeof(sf->after_id), "%s", dot + 1);
	sf->has_after = 1;
	return (0);
}

/* Each word of q as a quoted FTS5 string; all of them must match. */
static void
admin_match_build(const char *q, char *out, size_t len)
{
	size_t		o, n;
	const char	*p;

	o = 0;
	out[0] = '\0';
	for (p = q; *p != '\0';) {
		while (*p != '\0' && isspace((unsigned char)*p))
			p++;
		n = 0;
		while (p[n] != '\0' && !isspace((unsigned char)p[n]))
			n++;
		if (n == 0)
			break;
		if (o + 2 * n + 4 >= len)
			break;
		if (o > 0)
			out[o++] = ' ';
		out[o++] = '"';
		for (; n > 0; n--, p++) {
			if (*p == '"')
				out[o++] = '"';
			out[o++] = *p;
		}
		out[o++] = '"';
		out[o] = '\0';
	}
}
