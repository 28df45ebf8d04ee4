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

#include "desk/desk_job.h"
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

/* A submission route's job: the submission named in the path. */
struct submission_job {
	struct desk_job	 d;		/* first */
	char		 id[TOKEN_ID_LEN + 1];
	int		 if_match;	/* -1: none; 0: matches no version */
};

static void	submission_read(struct http_request *, struct desk_job *);
static void	submission_show(struct desk_job *);
static void	submission_review(struct desk_job *);
static void	submission_retry(struct desk_job *);
static void	submission_delete(struct desk_job *);
static void	submission_resend(struct desk_job *);
static void	submission_bulk(struct desk_job *);
static void	submission_delivery_row(const struct store_delivery *,
		    void *);
static void	submission_conflict(struct desk_job *,
		    const struct store_review_change *);
static int	submission_review_input(struct desk_job *, const char **,
		    const char **);
static void	submission_review_row(const struct store_review *, void *);
static void	submission_not_found(struct desk_job *);
static int	submission_if_match(const char *, int *);

#define SUBMISSION_POST(need, run) { HTTP_METHOD_POST, "POST", need, \
	sizeof(struct submission_job), submission_read, run, NULL, NULL }

static const struct desk_route submission_routes[] = {
	{ HTTP_METHOD_GET | HTTP_METHOD_HEAD, "GET, HEAD", ROLE_VIEWER,
	    sizeof(struct submission_job), submission_read, submission_show,
	    NULL, NULL },
	SUBMISSION_POST(ROLE_REVIEWER, submission_review),
	SUBMISSION_POST(ROLE_ADMIN, submission_retry),
	SUBMISSION_POST(ROLE_ADMIN, submission_resend),
	SUBMISSION_POST(ROLE_ADMIN, submission_delete),
};

static const struct desk_route bulk_route = {
	HTTP_METHOD_POST, "POST", ROLE_REVIEWER, sizeof(struct desk_job),
	NULL, submission_bulk, NULL, NULL
};

int
page_admin_submission(struct http_request *req)
{
	const char	*rest;
	size_t		 i;

	rest = req->path + strlen("/admin/s/");
	rest += strnlen(rest, TOKEN_ID_LEN);
	if (*rest == '\0')
		i = 0;
	else if (strcmp(rest, "/review") == 0)
		i = 1;
	else if (strcmp(rest, "/retry") == 0)
		i = 2;
	else if (strcmp(rest, "/resend") == 0)
		i = 3;
	else
		i = 4;
	return (desk_serve(req, &submission_routes[i]));
}

int
page_admin_bulk(struct http_request *req)
{
	return (desk_serve(req, &bulk_route));
}

/* Event loop: the id in the path and a review's If-Match. */
static void
submission_read(struct http_request *req, struct desk_job *j)
{
	struct submission_job	*sj = (struct submission_job *)j;
	const char		*im;

	(void)snprintf(sj->id, sizeof(sj->id), "%.*s", TOKEN_ID_LEN,
	    req->path + strlen("/admin/s/"));
	sj->if_match = -1;
	if (http_request_header(req, "if-match", &im) &&
	    !submission_if_match(im, &sj->if_match))
		sj->if_match = 0;	/* matches no version: 412 */
}

static void
submission_bulk(struct desk_job *j)
{
	struct store_review_change	 c;
	struct store_job_spec		 jobs[ADMIN_MAX_JOBS];
	struct store_record		 rec;
	struct body_field		*f;
	struct form			*form;
	const char			*state, *note;
	int				 changed;

	if (!submission_review_input(j, &state, &note))
		return;

	changed = 0;
	TAILQ_FOREACH(f, &j->body.fields, list) {
		if (strcmp(f->name, "ids") != 0 || !token_id_valid(f->value) ||
		    store_submission_get(f->value, &rec) != STORE_OK)
			continue;
		memset(&c, 0, sizeof(c));
		c.id = f->value;
		c.version = -1;		/* the selection is the intent */
		c.state = state;
		c.note = note;
		c.user = j->a.user;
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
	desk_reply_see_other(&j->reply, "/admin");
}

static void
submission_show(struct desk_job *j)
{
	struct submission_job	*sj = (struct submission_job *)j;
	struct store_job_status	 js[ADMIN_MAX_JOBS];
	struct kore_json_item	*ctx, *arr, *o;
	struct store_record	 rec;
	struct form		*form;
	enum store_result	 sr;
	const struct admin	*a = &j->a;
	const char		*id = sj->id;
	char			 etag[32], when[64];
	size_t			 n, i;
	int			 failed;

	if (!token_id_valid(id) ||
	    (sr = store_submission_get(id, &rec)) == STORE_NOT_FOUND) {
		submission_not_found(j);
		return;
	}
	if (sr != STORE_OK || store_job_statuses(id, js, ADMIN_MAX_JOBS, &n) !=
	    STORE_OK) {
		if (sr == STORE_OK)
			store_record_cleanup(&rec);
		desk_reply_store_failed(&j->reply, STORE_ERROR);
		return;
	}
	if ((form = forms_find(forms_loaded(), rec.form)) == NULL) {
		store_record_cleanup(&rec);
		desk_reply_error(&j->reply, 404, "Form withdrawn", "The form "
		    "of this submission is no longer declared in conf/forms/, "
		    "so its fields cannot be shown. Restore the form to review "
		    "it.", "/admin", "Back to the submissions");
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
	desk_reply_header(&j->reply, "etag", etag);
	store_record_cleanup(&rec);
	desk_reply_page(&j->reply, 200, "Submission", "admin_submission", ctx);
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
submission_review(struct desk_job *j)
{
	struct submission_job		*sj = (struct submission_job *)j;
	struct store_review_change	 c;
	struct store_job_spec		 jobs[ADMIN_MAX_JOBS];
	struct store_record		 rec;
	struct body_field		*fv;
	struct form			*form;
	enum store_result		 sr;
	const char			*state, *note, *id = sj->id;
	char				 loc[64];
	int				 version, via_header;
	char				*end;

	if (!token_id_valid(id) || store_submission_get(id, &rec) != STORE_OK) {
		submission_not_found(j);
		return;
	}
	form = forms_find(forms_loaded(), rec.form);
	store_record_cleanup(&rec);

	via_header = 0;
	if ((fv = body_find(&j->body, "version")) != NULL) {
		version = (int)strtol(fv->value, &end, 10);
		if (fv->len == 0 || *end != '\0' || version < 1) {
			desk_reply_error(&j->reply, 400, "Request not "
			    "understood", "The review names no valid version. "
			    "Reload the page and try again.", "/admin",
			    "Back to the desk");
			return;
		}
	} else if (sj->if_match != -1) {
		version = sj->if_match;
		via_header = 1;
	} else {
		desk_reply_error(&j->reply, 428, "Version required", "A "
		    "review must say which version of the submission it was "
		    "made from: send the form's version field or an If-Match "
		    "header.", "/admin", "Back to the desk");
		return;
	}
	if (!submission_review_input(j, &state, &note))
		return;

	memset(&c, 0, sizeof(c));
	c.id = id;
	c.version = version;
	c.state = state;
	c.note = note;
	c.user = j->a.user;
	c.now = util_now_ms();
	if (form != NULL) {
		c.jobs = jobs;
		c.njobs = submit_job_specs(form, jobs, ADMIN_MAX_JOBS);
	}
	switch ((sr = store_review_set(&c))) {
	case STORE_OK:
		queue_wake();
		(void)snprintf(loc, sizeof(loc), "/admin/s/%s", id);
		desk_reply_see_other(&j->reply, loc);
		break;
	case STORE_CONFLICT:
		if (via_header) {
			desk_reply_error(&j->reply, 412, "Changed meanwhile",
			    "The submission no longer has the version in "
			    "If-Match. Read it again before changing it.",
			    "/admin", "Back to the desk");
		} else {
			submission_conflict(j, &c);
		}
		break;
	case STORE_NOT_FOUND:
		submission_not_found(j);
		break;
	default:
		desk_reply_store_failed(&j->reply, sr);
		break;
	}
}

/* Reads and checks state and note; answers 422 and returns 0 if bad. */
static int
submission_review_input(struct desk_job *j, const char **state,
    const char **note)
{
	struct body_field	*fs, *fn;
	int			 i;

	fs = body_find(&j->body, "state");
	fn = body_find(&j->body, "note");
	*note = fn != NULL ? fn->value : "";
	if ((i = store_vocab_find(store_review_states, STORE_REVIEW_STATES,
	    fs != NULL ? fs->value : NULL)) == -1) {
		desk_reply_error(&j->reply, 422, "Choose a review state",
		    "The review state must be new, approved, rejected or "
		    "spam.", "/admin", "Back to the desk");
		return (0);
	}
	*state = store_review_states[i];
	if (fn != NULL && (fn->len > ADMIN_NOTE_MAX ||
	    strlen(fn->value) != fn->len)) {
		desk_reply_error(&j->reply, 422, "Note too long", "Keep the "
		    "note under 2,000 characters.", "/admin",
		    "Back to the desk");
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
submission_conflict(struct desk_job *j, const struct store_review_change *c)
{
	struct kore_json_item	*ctx;
	char			 when[64];

	ctx = page_ctx_new();
	admin_ctx_add(ctx, &j->a);
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
	desk_reply_page(&j->reply, 409, "Changed meanwhile", "admin_conflict",
	    ctx);
}

static void
submission_retry(struct desk_job *j)
{
	const char	*id = ((struct submission_job *)j)->id;
	char		 loc[64];
	int		 n;

	if (!token_id_valid(id)) {
		submission_not_found(j);
		return;
	}
	if (store_jobs_retry(id, j->a.user, util_now_ms(), &n) != STORE_OK) {
		desk_reply_store_failed(&j->reply, STORE_ERROR);
		return;
	}
	if (n > 0)
		queue_wake();
	(void)snprintf(loc, sizeof(loc), "/admin/s/%s", id);
	desk_reply_see_other(&j->reply, loc);
}

static void
submission_resend(struct desk_job *j)
{
	struct body_field	*fj;
	enum store_result	 sr;
	const char		*id = ((struct submission_job *)j)->id;
	char			 loc[64], *end;
	long long		 job;

	fj = body_find(&j->body, "job");
	job = fj != NULL ? strtoll(fj->value, &end, 10) : 0;
	if (fj == NULL || fj->len == 0 || *end != '\0' || job < 1) {
		desk_reply_error(&j->reply, 400, "Request not understood",
		    "The form names no action to send again. Reload the page "
		    "and try again.", "/admin", "Back to the desk");
		return;
	}
	if (!token_id_valid(id) || (sr = store_job_resend(id, (int64_t)job,
	    j->a.user, util_now_ms())) == STORE_NOT_FOUND) {
		desk_reply_error(&j->reply, 409, "Not sent again", "Only an "
		    "action that was delivered can be sent again; this one is "
		    "not (or no longer) delivered. Reload the page to see "
		    "where it stands.", "/admin", "Back to the desk");
		return;
	}
	if (sr != STORE_OK) {
		desk_reply_store_failed(&j->reply, sr);
		return;
	}
	queue_wake();
	(void)snprintf(loc, sizeof(loc), "/admin/s/%s", id);
	desk_reply_see_other(&j->reply, loc);
}

static void
submission_delete(struct desk_job *j)
{
	enum store_result	 sr;
	const char		*id = ((struct submission_job *)j)->id;

	if (!token_id_valid(id) || (sr = store_submission_delete(id,
	    j->a.user, util_now_ms())) == STORE_NOT_FOUND) {
		submission_not_found(j);
		return;
	}
	if (sr != STORE_OK) {
		desk_reply_store_failed(&j->reply, sr);
		return;
	}
	desk_reply_see_other(&j->reply, "/admin");
}

static void
submission_not_found(struct desk_job *j)
{
	desk_reply_error(&j->reply, 404, "Not found", "There is no "
	    "submission at this address; it may have been deleted.",
	    "/admin", "Back to the submissions");
}
