/*
 * routes_admin_submission.c: one submission on the desk.
 *
 *   GET  /admin/s/{id}          every field, metadata, actions, their
 *                               delivery log, reviews
 *   POST /admin/s/{id}/review   a review state and note (reviewer)
 *   POST /admin/s/{id}/retry    failed actions queued again (admin)
 *   POST /admin/s/{id}/resend   a delivered action sent again (admin)
 *   POST /admin/s/{id}/delete   gone, with everything of it (admin)
 *   POST /admin/bulk            one review state for the selected rows
 *
 * Each submission has a version (its ETag). A review names the version
 * it was made from, in the form (version) or as If-Match: a browser whose
 * page is stale gets 409 with what changed and who changed it, a program
 * 412; a review naming no version at all gets 428.
 *
 * A retry sends a failed action again as the same delivery (the same
 * webhook-id, the same Message-ID: a receiver that got it after all
 * drops the copy); "send again" is a new delivery of one that worked.
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "desk/admin_session.h"
#include "desk/admin_view.h"
#include "core/body.h"
#include "web/form_view.h"
#include "core/forms.h"
#include "web/page.h"
#include "queue/queue.h"
#include "web/routes.h"
#include "store/store_admin.h"
#include "web/submit.h"
#include "core/util.h"

#define ADMIN_NOTE_MAX		2000
#define ADMIN_MAX_JOBS		FORM_MAX_ACTIONS

static void	submission_show(struct http_request *, const struct admin *,
		    const char *);
static void	submission_review(struct http_request *, const struct admin *,
		    const char *, struct body *);
static void	submission_retry(struct http_request *, const struct admin *,
		    const char *);
static void	submission_delete(struct http_request *, const struct admin *,
		    const char *);
static void	submission_resend(struct http_request *, const struct admin *,
		    const char *, struct body *);
static void	submission_delivery_row(const struct store_delivery *,
		    void *);
static void	submission_conflict(struct http_request *,
		    const struct admin *, const struct store_review_change *);
static int	submission_review_input(struct http_request *, struct body *,
		    const char **, const char **);
static void	submission_review_row(const struct store_review *, void *);
static void	submission_not_found(struct http_request *);
static int	submission_if_match(const char *, int *);

int
page_admin_submission(struct http_request *req)
{
	struct admin	 a;
	struct body	 b;
	const char	*rest;
	char		 id[TOKEN_ID_LEN + 1];

	rest = req->path + strlen("/admin/s/");
	(void)snprintf(id, sizeof(id), "%.*s", TOKEN_ID_LEN, rest);
	rest += strlen(id);

	if (*rest == '\0') {
		if (!page_request_ok(req, HTTP_METHOD_GET | HTTP_METHOD_HEAD,
		    "GET, HEAD"))
			return (KORE_RESULT_OK);
		if (admin_session_require(req, ROLE_VIEWER, &a))
			submission_show(req, &a, id);
		return (KORE_RESULT_OK);
	}

	if (!page_request_ok(req, HTTP_METHOD_POST, "POST"))
		return (KORE_RESULT_OK);
	if (strcmp(rest, "/review") == 0) {
		if (!admin_session_require(req, ROLE_REVIEWER, &a))
			return (KORE_RESULT_OK);
	} else if (!admin_session_require(req, ROLE_ADMIN, &a)) {
		return (KORE_RESULT_OK);
	}
	if (admin_post_read(req, &a, &b)) {
		if (strcmp(rest, "/review") == 0)
			submission_review(req, &a, id, &b);
		else if (strcmp(rest, "/retry") == 0)
			submission_retry(req, &a, id);
		else if (strcmp(rest, "/resend") == 0)
			submission_resend(req, &a, id, &b);
		else
			submission_delete(req, &a, id);
	}
	body_cleanup(&b);
	return (KORE_RESULT_OK);
}

int
page_admin_bulk(struct http_request *req)
{
	struct store_review_change	 c;
	struct store_job_spec		 jobs[ADMIN_MAX_JOBS];
	struct store_record		 rec;
	struct body_field		*f;
	struct form			*form;
	struct admin			 a;
	struct body			 b;
	const char			*state, *note;
	int				 changed;

	if (!page_request_ok(req, HTTP_METHOD_POST, "POST"))
		return (KORE_RESULT_OK);
	if (!admin_session_require(req, ROLE_REVIEWER, &a))
		return (KORE_RESULT_OK);
	if (!admin_post_read(req, &a, &b) ||
	    !submission_review_input(req, &b, &state, &note)) {
		body_cleanup(&b);
		return (KORE_RESULT_OK);
	}

	changed = 0;
	TAILQ_FOREACH(f, &b.fields, list) {
		if (strcmp(f->name, "ids") != 0 || !token_id_valid(f->value) ||
		    store_submission_get(f->value, &rec) != STORE_OK)
			continue;
		memset(&c, 0, sizeof(c));
		c.id = f->value;
		c.version = -1;		/* the selection is the intent */
		c.state = state;
		c.note = note;
		c.user = a.user;
		c.now = util_now_ms();
		if ((form = forms_find(forms_loaded(), rec.form)) != NULL) {
			c.jobs = jobs;
			c.njobs = submit_job_specs(form, jobs, ADMIN_MAX_JOBS);
		}
		store_record_cleanup(&rec);
		if (strcmp(rec.review, state) != 0 &&
		    store_review_set(&c) == STORE_OK)
			changed++;
	}
	if (changed)
		queue_wake();
	body_cleanup(&b);
	admin_see_other(req, "/admin");
	return (KORE_RESULT_OK);
}

static void
submission_show(struct http_request *req, const struct admin *a,
    const char *id)
{
	struct store_job_status	 js[ADMIN_MAX_JOBS];
	struct kore_json_item	*ctx, *arr, *o;
	struct store_record	 rec;
	struct form		*form;
	enum store_result	 sr;
	char			 etag[32], when[64];
	size_t			 n, i;
	int			 failed;

	if (!token_id_valid(id) ||
	    (sr = store_submission_get(id, &rec)) == STORE_NOT_FOUND) {
		submission_not_found(req);
		return;
	}
	if (sr != STORE_OK || store_job_statuses(id, js, ADMIN_MAX_JOBS, &n) !=
	    STORE_OK) {
		if (sr == STORE_OK)
			store_record_cleanup(&rec);
		form_store_failed(req, STORE_ERROR);
		return;
	}
	if ((form = forms_find(forms_loaded(), rec.form)) == NULL) {
		store_record_cleanup(&rec);
		page_error(req, 404, "Form withdrawn", "The form of this "
		    "submission is no longer declared in conf/forms/, so its "
		    "fields cannot be shown. Restore the form to review it.",
		    "/admin", "Back to the submissions");
		return;
	}

	ctx = form_view_result(form, &rec);
	admin_ctx_add(ctx, a);
	kore_json_create_string(ctx, "review", rec.review);
	kore_json_create_integer(ctx, "version", rec.version);
	kore_json_create_string(ctx, "client", rec.client);
	kore_json_create_string(ctx, "actions", rec.actions);
	kore_json_create_literal(ctx, "spam", rec.spam ? KORE_JSON_TRUE :
	    KORE_JSON_FALSE);

	arr = kore_json_create_array(ctx, "review_states");
	for (i = 0; i < STORE_REVIEW_STATES; i++) {
		o = kore_json_create_object(arr, NULL);
		kore_json_create_string(o, "value", store_review_states[i]);
		kore_json_create_literal(o, "selected",
		    strcmp(rec.review, store_review_states[i]) == 0 ?
		    KORE_JSON_TRUE : KORE_JSON_FALSE);
	}

	arr = kore_json_create_array(ctx, "jobs");
	failed = 0;
	for (i = 0; i < n; i++) {
		o = kore_json_create_object(arr, NULL);
		kore_json_create_string(o, "kind", js[i].kind);
		kore_json_create_string(o, "target", js[i].target);
		kore_json_create_string(o, "state",
		    store_job_states[js[i].state]);
		kore_json_create_integer(o, "attempts", js[i].attempts);
		kore_json_create_integer(o, "max_attempts",
		    js[i].max_attempts);
		kore_json_create_string(o, "error", js[i].error);
		kore_json_create_integer(o, "job", js[i].id);
		kore_json_create_string(o, "delivery_id", js[i].delivery_id);
		kore_json_create_literal(o, "can_resend",
		    js[i].state == JOB_DONE && a->role >= ROLE_ADMIN ?
		    KORE_JSON_TRUE : KORE_JSON_FALSE);
		if (js[i].state == JOB_QUEUED) {
			admin_view_when(js[i].run_at, when, sizeof(when));
			kore_json_create_string(o, "next", when);
		}
		if (js[i].state == JOB_FAILED)
			failed = 1;
	}
	kore_json_create_literal(ctx, "has_jobs", n > 0 ? KORE_JSON_TRUE :
	    KORE_JSON_FALSE);
	kore_json_create_literal(ctx, "can_retry", failed &&
	    a->role >= ROLE_ADMIN ? KORE_JSON_TRUE : KORE_JSON_FALSE);

	arr = kore_json_create_array(ctx, "deliveries");
	(void)store_deliveries_each(id, submission_delivery_row, arr);
	kore_json_create_literal(ctx, "has_deliveries",
	    TAILQ_EMPTY(&arr->data.items) ? KORE_JSON_FALSE : KORE_JSON_TRUE);

	arr = kore_json_create_array(ctx, "reviews");
	(void)store_reviews_each(id, submission_review_row, arr);

	(void)snprintf(etag, sizeof(etag), "\"v%d\"", rec.version);
	http_response_header(req, "etag", etag);
	store_record_cleanup(&rec);
	page_send(req, 200, PAGE_NO_STORE, "Submission", "admin_submission",
	    ctx);
}

static void
submission_review_row(const struct store_review *rv, void *arg)
{
	struct kore_json_item	*o;
	char			 when[64];

	o = kore_json_create_object(arg, NULL);
	kore_json_create_string(o, "before", rv->before);
	kore_json_create_string(o, "state", rv->state);
	kore_json_create_string(o, "note", rv->note ? rv->note : "");
	kore_json_create_string(o, "user", rv->user);
	kore_json_create_integer(o, "version", rv->version);
	admin_view_when(rv->at_ms, when, sizeof(when));
	kore_json_create_string(o, "when", when);
}

/* One attempt of the delivery log, as the page lists it. */
static void
submission_delivery_row(const struct store_delivery *d, void *arg)
{
	struct kore_json_item	*o;
	struct tm		 tm;
	time_t			 t;
	char			 when[64];

	o = kore_json_create_object(arg, NULL);
	t = (time_t)(d->started_ms / 1000);
	(void)gmtime_r(&t, &tm);
	(void)strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	kore_json_create_string(o, "when", when);
	kore_json_create_integer(o, "action", d->action + 1);
	kore_json_create_string(o, "kind", d->kind);
	kore_json_create_integer(o, "attempt", d->attempt);
	kore_json_create_integer_u64(o, "duration_ms", d->duration_ms);
	kore_json_create_string(o, "outcome", d->outcome);
	if (d->code != 0)
		kore_json_create_integer(o, "code", d->code);
	kore_json_create_string(o, "error", d->error ? d->error : "");
	kore_json_create_string(o, "response", d->response ?
	    d->response : "");
	kore_json_create_string(o, "delivery_id", d->delivery_id);
}

static void
submission_review(struct http_request *req, const struct admin *a,
    const char *id, struct body *b)
{
	struct store_review_change	 c;
	struct store_job_spec		 jobs[ADMIN_MAX_JOBS];
	struct store_record		 rec;
	struct body_field		*fv;
	struct form			*form;
	enum store_result		 sr;
	const char			*state, *note, *im;
	char				 loc[64];
	int				 version, via_header;
	char				*end;

	if (!token_id_valid(id) || store_submission_get(id, &rec) != STORE_OK) {
		submission_not_found(req);
		return;
	}
	form = forms_find(forms_loaded(), rec.form);
	store_record_cleanup(&rec);

	via_header = 0;
	if ((fv = body_find(b, "version")) != NULL) {
		version = (int)strtol(fv->value, &end, 10);
		if (fv->len == 0 || *end != '\0' || version < 1) {
			page_error(req, 400, "Request not understood", "The "
			    "review names no valid version. Reload the page "
			    "and try again.", "/admin", "Back to the desk");
			return;
		}
	} else if (http_request_header(req, "if-match", &im)) {
		if (!submission_if_match(im, &version)) {
			version = 0;	/* matches no version: 412 */
		}
		via_header = 1;
	} else {
		page_error(req, 428, "Version required", "A review must say "
		    "which version of the submission it was made from: send "
		    "the form's version field or an If-Match header.",
		    "/admin", "Back to the desk");
		return;
	}
	if (!submission_review_input(req, b, &state, &note))
		return;

	memset(&c, 0, sizeof(c));
	c.id = id;
	c.version = version;
	c.state = state;
	c.note = note;
	c.user = a->user;
	c.now = util_now_ms();
	if (form != NULL) {
		c.jobs = jobs;
		c.njobs = submit_job_specs(form, jobs, ADMIN_MAX_JOBS);
	}
	switch ((sr = store_review_set(&c))) {
	case STORE_OK:
		queue_wake();
		(void)snprintf(loc, sizeof(loc), "/admin/s/%s", id);
		admin_see_other(req, loc);
		break;
	case STORE_CONFLICT:
		if (via_header) {
			page_error(req, 412, "Changed meanwhile", "The "
			    "submission no longer has the version in "
			    "If-Match. Read it again before changing it.",
			    "/admin", "Back to the desk");
		} else {
			submission_conflict(req, a, &c);
		}
		break;
	case STORE_NOT_FOUND:
		submission_not_found(req);
		break;
	default:
		form_store_failed(req, sr);
		break;
	}
}

/* Reads and checks state and note; answers 422 and returns 0 if bad. */
static int
submission_review_input(struct http_request *req, struct body *b,
    const char **state, const char **note)
{
	struct body_field	*fs, *fn;
	int			 i;

	fs = body_find(b, "state");
	fn = body_find(b, "note");
	*note = fn != NULL ? fn->value : "";
	if ((i = store_vocab_find(store_review_states, STORE_REVIEW_STATES,
	    fs != NULL ? fs->value : NULL)) == -1) {
		page_error(req, 422, "Choose a review state", "The review "
		    "state must be new, approved, rejected or spam.", "/admin",
		    "Back to the desk");
		return (0);
	}
	*state = store_review_states[i];
	if (fn != NULL && (fn->len > ADMIN_NOTE_MAX ||
	    strlen(fn->value) != fn->len)) {
		page_error(req, 422, "Note too long", "Keep the note under "
		    "2,000 characters.", "/admin", "Back to the desk");
		return (0);
	}
	return (1);
}

/* "v12" or W/"v12" (quoted): *version = 12. */
static int
submission_if_match(const char *im, int *version)
{
	char		*end;
	long		 v;

	if (strncmp(im, "W/", 2) == 0)
		im += 2;
	if (strncmp(im, "\"v", 2) != 0)
		return (0);
	v = strtol(im + 2, &end, 10);
	if (end == im + 2 || strcmp(end, "\"") != 0 || v < 1 || v > 1 << 30)
		return (0);
	*version = (int)v;
	return (1);
}

/* 409: the page as it is now, what changed and who changed it. */
static void
submission_conflict(struct http_request *req, const struct admin *a,
    const struct store_review_change *c)
{
	struct kore_json_item	*ctx;
	char			 when[64];

	ctx = page_ctx_new();
	admin_ctx_add(ctx, a);
	kore_json_create_string(ctx, "id", c->id);
	kore_json_create_string(ctx, "current_state", c->current_state);
	kore_json_create_integer(ctx, "current_version", c->current_version);
	kore_json_create_string(ctx, "wanted_state", c->state);
	kore_json_create_string(ctx, "note", c->note);
	kore_json_create_string(ctx, "changed_by", c->changed_by[0] ?
	    c->changed_by : "someone");
	if (c->changed_ms != 0) {
		admin_view_when(c->changed_ms, when, sizeof(when));
		kore_json_create_string(ctx, "changed_at", when);
	}
	page_send(req, 409, PAGE_NO_STORE, "Changed meanwhile",
	    "admin_conflict", ctx);
}

static void
submission_retry(struct http_request *req, const struct admin *a,
    const char *id)
{
	char		loc[64];
	int		n;

	if (!token_id_valid(id)) {
		submission_not_found(req);
		return;
	}
	if (store_jobs_retry(id, a->user, util_now_ms(), &n) != STORE_OK) {
		form_store_failed(req, STORE_ERROR);
		return;
	}
	if (n > 0)
		queue_wake();
	(void)snprintf(loc, sizeof(loc), "/admin/s/%s", id);
	admin_see_other(req, loc);
}

static void
submission_resend(struct http_request *req, const struct admin *a,
    const char *id, struct body *b)
{
	struct body_field	*fj;
	enum store_result	 sr;
	char			 loc[64], *end;
	long long		 job;

	fj = body_find(b, "job");
	job = fj != NULL ? strtoll(fj->value, &end, 10) : 0;
	if (fj == NULL || fj->len == 0 || *end != '\0' || job < 1) {
		page_error(req, 400, "Request not understood", "The form "
		    "names no action to send again. Reload the page and try "
		    "again.", "/admin", "Back to the desk");
		return;
	}
	if (!token_id_valid(id) || (sr = store_job_resend(id, (int64_t)job,
	    a->user, util_now_ms())) == STORE_NOT_FOUND) {
		page_error(req, 409, "Not sent again", "Only an action that "
		    "was delivered can be sent again; this one is not (or no "
		    "longer) delivered. Reload the page to see where it "
		    "stands.", "/admin", "Back to the desk");
		return;
	}
	if (sr != STORE_OK) {
		form_store_failed(req, sr);
		return;
	}
	queue_wake();
	(void)snprintf(loc, sizeof(loc), "/admin/s/%s", id);
	admin_see_other(req, loc);
}

static void
submission_delete(struct http_request *req, const struct admin *a,
    const char *id)
{
	enum store_result	sr;

	if (!token_id_valid(id) || (sr = store_submission_delete(id, a->user,
	    util_now_ms())) == STORE_NOT_FOUND) {
		submission_not_found(req);
		return;
	}
	if (sr != STORE_OK) {
		form_store_failed(req, sr);
		return;
	}
	admin_see_other(req, "/admin");
}

static void
submission_not_found(struct http_request *req)
{
	page_error(req, 404, "Not found", "There is no submission at this "
	    "address; it may have been deleted.", "/admin",
	    "Back to the submissions");
}
