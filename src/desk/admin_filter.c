/*
 * admin_filter.c: see admin_filter.h. Each value is checked here, so a
 * bad one is a 400 page that says what to write; the search words are
 * only bounded in length (the store takes each one literally) and a
 * page cursor only checked for its form (store_cursor_valid).
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <kore/kore.h>

#include "desk/admin_filter.h"
#include "core/body.h"
#include "core/forms.h"
#include "web/page.h"

#define ADMIN_DAY_MS	(86400ULL * 1000)

static const char	*admin_field(struct body *, const char *);
static int		 admin_day(const char *, u_int64_t *);

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
		if (store_vocab_find(store_review_states, STORE_REVIEW_STATES,
		    v) == -1) {
			(void)snprintf(err, errlen, "The review state must be "
			    "new, approved, rejected or spam.");
			return (-1);
		}
		f->sf.review = v;
	}
	if ((v = admin_field(b, "actions")) != NULL) {
		if (store_vocab_find(store_action_states, STORE_ACTION_STATES,
		    v) == -1) {
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
		f->sf.words = f->q;
	}
	if ((v = admin_field(b, "after")) != NULL) {
		if (!store_cursor_valid(v)) {
			(void)snprintf(err, errlen, "This page link is "
			    "damaged; start again from the first page.");
			return (-1);
		}
		f->sf.after = v;
	}
	return (0);
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
	for (i = 0; i < STORE_ACTION_STATES; i++) {
		o = kore_json_create_object(arr, NULL);
		kore_json_create_string(o, "value", store_action_states[i]);
		kore_json_create_literal(o, "selected", f->sf.actions != NULL &&
		    strcmp(f->sf.actions, store_action_states[i]) == 0 ?
		    KORE_JSON_TRUE : KORE_JSON_FALSE);
	}
	kore_json_create_string(ctx, "q", f->q ? f->q : "");
	kore_json_create_string(ctx, "from", f->from ? f->from : "");
	kore_json_create_string(ctx, "to", f->to ? f->to : "");
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
