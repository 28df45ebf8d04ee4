/*
 * routes_public.c: the visitor's routes: the list of forms, a form, its
 * POST (Post/Redirect/Get), the result page, the health check and the
 * catch-all 404. Handlers parse, call the store, and render; every path
 * ends in one page_respond() (through page_send() and friends) and
 * KORE_RESULT_OK.
 */

#include <sys/types.h>
#include <sys/socket.h>


#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "core/body.h"
#include "web/api.h"
#include "core/config.h"
#include "web/form_view.h"
#include "core/forms.h"
#include "web/offload.h"
#include "web/origin.h"
#include "web/page.h"
#include "web/routes.h"
#include "store/store.h"
#include "web/submit.h"
#include "core/token.h"
#include "core/util.h"
#include "core/validate.h"


/* Markers a fresh form page is rendered around (see form_fresh_send). */
#define FRESH_KEY_MARK		"\x01formwork-key\x01"
#define FRESH_CSRF_MARK		"\x01formwork-csrf\x01"

#define FORM_ALLOW		"GET, HEAD, POST"

/*
 * A worker's own record of a form's page: its header lines when they
 * differ from the usual ones (page_form_lines), and once a fresh page
 * was asked for, that page in three pieces (form_fresh_send).
 */
struct form_page {
	struct form		*form;
	char			*lines;		/* NULL: the usual lines */
	struct kore_buf		*head;		/* NULL until rendered */
	struct kore_buf		*middle;
	struct kore_buf		*tail;
	TAILQ_ENTRY(form_page)	 list;
};

static TAILQ_HEAD(, form_page)	form_pages =
    TAILQ_HEAD_INITIALIZER(form_pages);

static struct form	*route_form_lookup(struct http_request *, const char *);
static struct form_page	*form_page_get(struct form *);
static int		 form_fresh_send(struct http_request *,
			    struct form_page *, const char *, const char *);
static void	form_send(struct http_request *, int, struct form *,
		    const struct form_input *);
static int	form_post(struct http_request *, struct form *);
static int	form_post_run(struct http_request *);
struct post_state;
static void	form_post_answer(struct http_request *, struct post_state *,
		    const struct submit_outcome *);
static void	form_refuse(struct http_request *, struct post_state *, int,
		    const char *, const char *, const char *);
static int	form_wants_json(struct http_request *);
static void	healthz_run(struct offload *);
static void	healthz_free(struct http_request *);
static void	form_see_other(struct http_request *, const char *,
		    const char *);
static void	form_already_submitted(struct http_request *, struct form *,
		    const char *);

int
page_index(struct http_request *req)
{
	struct kore_json_item	*ctx, *list, *o;
	struct form		*f;

	if (!page_request_ok(req, HTTP_METHOD_GET | HTTP_METHOD_HEAD,
	    "GET, HEAD"))
		return (KORE_RESULT_OK);
	ctx = page_ctx_new();
	list = kore_json_create_array(ctx, "forms");
	TAILQ_FOREACH(f, forms_loaded(), list) {
		o = kore_json_create_object(list, NULL);
		kore_json_create_string(o, "slug", f->slug);
		kore_json_create_string(o, "title", f->title);
		if (f->description != NULL)
			kore_json_create_string(o, "description",
			    f->description);
	}
	kore_json_create_literal(ctx, "has_forms",
	    TAILQ_EMPTY(forms_loaded()) ? KORE_JSON_FALSE : KORE_JSON_TRUE);
	page_send(req, 200, 0, "Forms", "index", ctx);
	return (KORE_RESULT_OK);
}

int
page_form(struct http_request *req)
{
	struct form	*form;

	/* A form with allowed origins answers their preflights. */
	if (req->method == HTTP_METHOD_OPTIONS &&
	    (form = forms_find(forms_loaded(), req->path + 3)) != NULL &&
	    form->norigins > 0) {
		if (page_request_ok(req, HTTP_METHOD_OPTIONS, FORM_ALLOW))
			origin_preflight(req, form, FORM_ALLOW ", OPTIONS");
		return (KORE_RESULT_OK);
	}
	if (!page_request_ok(req, HTTP_METHOD_GET | HTTP_METHOD_HEAD |
	    HTTP_METHOD_POST, FORM_ALLOW))
		return (KORE_RESULT_OK);
	if ((form = route_form_lookup(req, "/f/")) == NULL)
		return (KORE_RESULT_OK);

	if (req->method == HTTP_METHOD_POST)
		return (form_post(req, form));
	form_send(req, 200, form, NULL);
	return (KORE_RESULT_OK);
}

/*
 * Sends the form: fresh (in == NULL) with a new form instance, or again
 * after a failed POST with the same instance, the values and messages.
 */
static void
form_send(struct http_request *req, int status, struct form *form,
    const struct form_input *in)
{
	struct form_page	*fp;
	struct kore_buf		 out;
	char			 key[TOKEN_ID_LEN + 1], csrf[TOKEN_CSRF_MAX];
	u_int64_t		 issued;

	if (in != NULL && in->key != NULL && token_id_valid(in->key))
		(void)snprintf(key, sizeof(key), "%s", in->key);
	else
		token_id_new(key);
	/*
	 * A re-shown form gets a new token for the same instance, but
	 * keeps the original issue time so the minimum fill time holds.
	 */
	issued = util_now_ms();
	if (in != NULL && in->csrf != NULL)
		(void)token_csrf_check(in->csrf, form->slug, key, issued,
		    config.form_ttl_ms, &issued);
	token_csrf_new(form->slug, key, issued, csrf);

	fp = form_page_get(form);
	if (in == NULL && form_fresh_send(req, fp, key, csrf))
		return;
	if (fp->lines == NULL) {
		page_send(req, status, PAGE_NO_STORE, form->title, "form",
		    form_view_form(form, in, key, csrf));
		return;
	}
	kore_buf_init(&out, 8192);
	page_render(form->title, "form", form_view_form(form, in, key, csrf),
	    &out);
	page_send_html_lines(req, status, fp->lines, out.data, out.offset);
	kore_buf_cleanup(&out);
}

/* This worker's record of form's page, made on first use. */
static struct form_page *
form_page_get(struct form *form)
{
	struct form_page	*fp;

	TAILQ_FOREACH(fp, &form_pages, list) {
		if (fp->form == form)
			return (fp);
	}
	fp = kore_calloc(1, sizeof(*fp));
	fp->form = form;
	fp->lines = page_form_lines(form);
	TAILQ_INSERT_TAIL(&form_pages, fp, list);
	return (fp);
}

/*
 * A fresh form page differs between requests only in its _key and _csrf
 * values, so each worker renders it once, around two markers, and then
 * serves it from three pieces. The values are base64url and hex: they
 * need no escaping. Returns 0 (and caches nothing) if the markers are not
 * each found exactly once, and the caller renders the page as usual.
 */
static int
form_fresh_send(struct http_request *req, struct form_page *ff,
    const char *key, const char *csrf)
{
	struct form		*form = ff->form;
	struct kore_buf		 page, out;
	u_int8_t		*k, *c;

	if (ff->head == NULL) {
		kore_buf_init(&page, 8192);
		page_render(form->title, "form", form_view_form(form, NULL,
		    FRESH_KEY_MARK, FRESH_CSRF_MARK), &page);
		k = memmem(page.data, page.offset, FRESH_KEY_MARK,
		    sizeof(FRESH_KEY_MARK) - 1);
		c = memmem(page.data, page.offset, FRESH_CSRF_MARK,
		    sizeof(FRESH_CSRF_MARK) - 1);
		if (k == NULL || c == NULL || c < k ||
		    memmem(k + 1, page.offset - (k + 1 - page.data),
		    FRESH_KEY_MARK, sizeof(FRESH_KEY_MARK) - 1) != NULL ||
		    memmem(c + 1, page.offset - (c + 1 - page.data),
		    FRESH_CSRF_MARK, sizeof(FRESH_CSRF_MARK) - 1) != NULL) {
			kore_buf_cleanup(&page);
			return (0);
		}
		ff->head = kore_buf_alloc(k - page.data);
		kore_buf_append(ff->head, page.data, k - page.data);
		k += sizeof(FRESH_KEY_MARK) - 1;
		ff->middle = kore_buf_alloc(c - k);
		kore_buf_append(ff->middle, k, c - k);
		c += sizeof(FRESH_CSRF_MARK) - 1;
		ff->tail = kore_buf_alloc(page.offset - (c - page.data));
		kore_buf_append(ff->tail, c, page.offset - (c - page.data));
		kore_buf_cleanup(&page);
	}

	kore_buf_init(&out, ff->head->offset + ff->middle->offset +
	    ff->tail->offset + TOKEN_ID_LEN + TOKEN_CSRF_MAX);
	kore_buf_append(&out, ff->head->data, ff->head->offset);
	kore_buf_append(&out, key, strlen(key));
	kore_buf_append(&out, ff->middle->data, ff->middle->offset);
	kore_buf_append(&out, csrf, strlen(csrf));
	kore_buf_append(&out, ff->tail->data, ff->tail->offset);
	if (ff->lines != NULL)
		page_send_html_lines(req, 200, ff->lines, out.data,
		    out.offset);
	else
		page_send_html(req, 200, PAGE_NO_STORE, out.data, out.offset);
	kore_buf_cleanup(&out);
	return (1);
}

/*
 * What a POST keeps while its submission waits for the challenge's
 * verifier and the writer: the submission, how to answer (a page, or
 * in JSON mode as the API does) and where a page answer sends the
 * visitor (_next, the form's redirect, or NULL for /s/{id}).
 */
struct post_state {
	struct submit_post	 sp;
	int			 json;
	const char		*next;
};

static void
post_state_free(struct http_request *req)
{
	struct post_state	*ps = http_state_get(req);

	submit_post_cleanup(&ps->sp);
}

/*
 * POST /f/{slug}: checks in the order a visitor's problem is best
 * explained (where it came from, size, encoding, fields, where to go
 * next, token), then runs the submission (submit.h) and answers once it
 * is on disk. A listed origin (SPEC section 10) needs no token: without
 * one, the submission is recognised by its content.
 */
static int
form_post(struct http_request *req, struct form *form)
{
	struct post_state	*ps;
	struct submit_post	*sp;
	struct form_input	*in;
	enum origin_kind	 from;
	enum body_status	 bst;
	enum token_check	 tst;
	const char		*ctype, *why;
	char			 origin[URL_ORIGIN_MAX];
	u_int64_t		 issued, now;

	if (http_state_exists(req))
		return (form_post_run(req));

	ps = http_state_create(req, sizeof(*ps), post_state_free);
	sp = &ps->sp;
	submit_post_init(sp, form);
	in = &sp->in;
	ps->json = form_wants_json(req);

	/* A form without the list is never asked: answered as before. */
	from = form->norigins > 0 ? origin_classify(req, form, 1, origin) :
	    ORIGIN_NONE;
	if (from == ORIGIN_LISTED) {
		origin_cors(req, origin);
	} else if (origin_cross_site(req)) {
		form_refuse(req, ps, 403, "Request refused", "This form was "
		    "sent from another site, so it was not accepted. Open the "
		    "form here and send it again.", "Open a fresh form");
		return (KORE_RESULT_OK);
	}
	if (req->content_length > config.body_max) {
		form_refuse(req, ps, 413, "Too much data", "The form data is "
		    "larger than this site accepts. Shorten your answers and "
		    "try again.", "Back to the form");
		return (KORE_RESULT_OK);
	}
	if (!http_request_header(req, "content-type", &ctype))
		ctype = NULL;
	if (ps->json && ctype != NULL && api_json_type(ctype)) {
		if (req->http_body == NULL || api_body_from_json(form,
		    req->http_body->data, req->http_body->length, &sp->body,
		    &why) == -1) {
			form_refuse(req, ps, 400, "Unreadable JSON",
			    req->http_body ? why : "The request has no body.",
			    NULL);
			return (KORE_RESULT_OK);
		}
	} else {
		/* An empty body parses to no fields (and lacks its token). */
		bst = body_parse(ctype, req->http_body ?
		    req->http_body->data : NULL, req->http_body ?
		    req->http_body->length : 0, &sp->body);
		if (bst != BODY_OK) {
			form_refuse(req, ps, bst == BODY_UNSUPPORTED ? 415 : 400,
			    bst == BODY_UNSUPPORTED ? "Unsupported form "
			    "encoding" : "Unreadable form data",
			    body_status_text(bst), "Open a fresh form");
			return (KORE_RESULT_OK);
		}
	}

	sp->vst = validate_form(form, &sp->body, in);
	if (sp->vst == VALIDATE_BAD_REQUEST) {
		form_refuse(req, ps, 400, "Unexpected form data", in->problem,
		    "Open a fresh form");
		return (KORE_RESULT_OK);
	}

	/* No open redirect: _next only to a listed origin or this site. */
	if (!ps->json) {
		if (in->next != NULL && !origin_next_allowed(form, in->next)) {
			form_refuse(req, ps, 400, "Unknown page to return to",
			    "This form was asked to send you on to a page that "
			    "it does not know, so it was not accepted. Nothing "
			    "was saved.", "Open a fresh form");
			return (KORE_RESULT_OK);
		}
		ps->next = in->next != NULL ? in->next : form->redirect;
	} else {
		switch (api_key(req, sp->keybuf, &why)) {
		case -1:
			form_refuse(req, ps, 400, "Bad Idempotency-Key", why,
			    NULL);
			return (KORE_RESULT_OK);
		case 1:
			sp->key = sp->keybuf;
			break;
		default:
			break;
		}
	}

	now = util_now_ms();
	tst = token_csrf_check(in->csrf, form->slug, in->key, now,
	    config.form_ttl_ms, &issued);
	if (tst == TOKEN_VALID && token_id_valid(in->key)) {
		if (sp->key == NULL)
			sp->key = in->key;
		sp->spam = now - issued < config.min_fill_ms;
	} else if (from != ORIGIN_LISTED) {
		form_refuse(req, ps, 403, tst == TOKEN_EXPIRED ? "This form "
		    "has expired" : "Request refused", tst == TOKEN_EXPIRED ?
		    "The form was open for too long, so it was not accepted. "
		    "Open a fresh copy and send it again." :
		    "The form's security token is missing or wrong, so it was "
		    "not accepted. Open a fresh copy and send it again.",
		    "Open a fresh form");
		return (KORE_RESULT_OK);
	}
	return (form_post_run(req));
}

/* Runs the submission on; answers once it is through. */
static int
form_post_run(struct http_request *req)
{
	struct post_state	*ps = http_state_get(req);
	struct submit_outcome	 out;

	if (submit_run(req, &ps->sp, &out) == KORE_RESULT_RETRY)
		return (KORE_RESULT_RETRY);
	if (ps->json)
		api_submit_answer(req, ps->sp.form, &ps->sp.in, &out);
	else
		form_post_answer(req, ps, &out);
	return (KORE_RESULT_OK);
}

static void
form_post_answer(struct http_request *req, struct post_state *ps,
    const struct submit_outcome *out)
{
	struct form	*form = ps->sp.form;
	char		 href[128];

	(void)snprintf(href, sizeof(href), "/f/%s", form->slug);
	switch (out->status) {
	case SUBMIT_STORED:
	case SUBMIT_REPLAY:
		form_see_other(req, ps->next, out->id);
		break;
	case SUBMIT_KEY_REUSED:
		form_already_submitted(req, form, out->id);
		break;
	case SUBMIT_IN_FLIGHT:
		page_error(req, 409, "Already being sent", "This form is being "
		    "sent right now. Wait a moment and reload this page, or "
		    "open a fresh form.", href, "Open a fresh form");
		break;
	case SUBMIT_INVALID:
	case SUBMIT_CHALLENGE:
		form_send(req, 422, form, &ps->sp.in);
		break;
	case SUBMIT_UNIQUE_TAKEN:
		submit_mark_taken(form, &ps->sp.in, out->taken_field);
		form_send(req, 409, form, &ps->sp.in);
		break;
	case SUBMIT_RATE_LIMITED:
		http_response_header(req, "retry-after", "60");
		page_error(req, 429, "Too many submissions", "You have sent "
		    "this site many forms in the last minute. Wait a minute, "
		    "then send it again.", href, "Back to the form");
		break;
	case SUBMIT_QUEUED:
	case SUBMIT_STORE_FAILED:
	default:
		form_store_failed(req, out->store_result);
		break;
	}
}

/* A refusal before anything is stored: a page, or in JSON mode a problem. */
static void
form_refuse(struct http_request *req, struct post_state *ps, int status,
    const char *heading, const char *message, const char *link_text)
{
	char		href[128];

	if (ps->json) {
		api_problem(req, status, heading, message, NULL);
		return;
	}
	(void)snprintf(href, sizeof(href), "/f/%s", ps->sp.form->slug);
	page_error(req, status, heading, message, href, link_text);
}

/* JSON mode: the client asks for JSON (fetch() from the owner's page). */
static int
form_wants_json(struct http_request *req)
{
	const char	*accept;

	return (http_request_header(req, "accept", &accept) &&
	    strcasestr(accept, "application/json") != NULL);
}

/* 303 to next (checked by origin_next_allowed) or the result page. */
static void
form_see_other(struct http_request *req, const char *next, const char *id)
{
	char		location[64];

	(void)snprintf(location, sizeof(location), "/s/%s", id);
	page_security_headers(req);
	http_response_header(req, "location", next != NULL ? next : location);
	http_response_header(req, "cache-control", "no-store");
	http_response_header(req, "content-type", "text/plain; charset=utf-8");
	page_respond(req, 303, "See Other\n", 10);
}

static void
form_already_submitted(struct http_request *req, struct form *form,
    const char *id)
{
	struct kore_json_item	*ctx;
	char			 href[64];

	(void)snprintf(href, sizeof(href), "/s/%s", id);
	ctx = page_ctx_new();
	kore_json_create_string(ctx, "result_href", href);
	kore_json_create_string(ctx, "slug", form->slug);
	kore_json_create_string(ctx, "title", form->title);
	page_send(req, 422, PAGE_NO_STORE, "Already sent", "already_sent",
	    ctx);
}

void
form_store_failed(struct http_request *req, int sr)
{
	if (sr == STORE_BUSY) {
		http_response_header(req, "retry-after", "2");
		page_error(req, 503, "Busy, please retry", "The site is very "
		    "busy and could not save your form just now. Nothing was "
		    "saved: go back and send it again in a moment.", "/",
		    "Go to the list of forms");
		return;
	}
	if (sr == STORE_UNWRITABLE) {
		http_response_header(req, "retry-after", "30");
		page_error(req, 503, "Cannot save just now", "The site cannot "
		    "store forms at the moment (its storage is full or "
		    "unavailable), so yours was not received. Go back and "
		    "send it again in a few minutes: sending the same form "
		    "again never stores it twice.", "/",
		    "Go to the list of forms");
		return;
	}
	page_error(req, 500, "Something went wrong", "Your form could not be "
	    "saved because of a problem on this site. Nothing was saved: "
	    "please try again later.", "/", "Go to the list of forms");
}

/* A ping of the store, off the event loop on a remote store. */
struct healthz_ping {
	struct offload	 o;
	int		 ok;
};

/* A request's state across its sleep. */
struct healthz_state {
	struct healthz_ping	*ping;
};

int
page_healthz(struct http_request *req)
{
	struct healthz_state	*st;
	struct healthz_ping	*ping;

	if ((st = http_state_get(req)) != NULL) {
		if (!offload_done(req, &st->ping->o))
			return (KORE_RESULT_RETRY);
	} else {
		if (!page_request_ok(req, HTTP_METHOD_GET | HTTP_METHOD_HEAD,
		    "GET, HEAD"))
			return (KORE_RESULT_OK);
		st = http_state_create(req, sizeof(*st), healthz_free);
		st->ping = offload_new(sizeof(*st->ping), healthz_run, NULL);
		if (!offload_run(req, &st->ping->o))
			return (KORE_RESULT_RETRY);
	}
	ping = st->ping;
	http_response_header(req, "content-type", "text/plain; charset=utf-8");
	http_response_header(req, "cache-control", "no-store");
	page_security_headers(req);
	if (ping->ok)
		page_respond(req, 200, "ok\n", 3);
	else
		page_respond(req, 503, "store unavailable\n", 18);
	return (KORE_RESULT_OK);
}

static void
healthz_run(struct offload *o)
{
	((struct healthz_ping *)o)->ok = store_ping();
}

static void
healthz_free(struct http_request *req)
{
	struct healthz_state	*st = http_state_get(req);

	if (st != NULL)
		offload_release(&st->ping->o);
}

int
page_not_found(struct http_request *req)
{
	if (!page_request_ok(req, HTTP_METHOD_ALL, ""))
		return (KORE_RESULT_OK);
	page_error(req, 404, "Page not found", "There is nothing at this "
	    "address. Check the link, or start from the list of forms.",
	    NULL, NULL);
	return (KORE_RESULT_OK);
}

/* Finds the form named by the path after prefix, or sends 404. */
static struct form *
route_form_lookup(struct http_request *req, const char *prefix)
{
	struct form	*form;

	form = forms_find(forms_loaded(), req->path + strlen(prefix));
	if (form == NULL)
		page_error(req, 404, "No such form", "There is no form at this "
		    "address. Choose one from the list.", "/",
		    "Go to the list of forms");
	return (form);
}
