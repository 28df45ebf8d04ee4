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
#include "web/commit.h"
#include "core/config.h"
#include "web/form_view.h"
#include "core/forms.h"
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

struct fresh_form {
	struct form		*form;
	struct kore_buf		*head;
	struct kore_buf		*middle;
	struct kore_buf		*tail;
	TAILQ_ENTRY(fresh_form)	 list;
};

static TAILQ_HEAD(, fresh_form)	fresh_forms =
    TAILQ_HEAD_INITIALIZER(fresh_forms);

static struct form	*route_form_lookup(struct http_request *, const char *);
static int		 form_fresh_send(struct http_request *, struct form *,
			    const char *, const char *);
static void	form_send(struct http_request *, int, struct form *,
		    const struct form_input *);
static int	form_post(struct http_request *, struct form *);
static int	form_post_committed(struct http_request *);
struct post_state;
static void	form_post_answer(struct http_request *, struct post_state *,
		    const struct submit_outcome *);
static int	form_cross_site(struct http_request *);
static void	form_see_other(struct http_request *, const char *);
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

	if (!page_request_ok(req, HTTP_METHOD_GET | HTTP_METHOD_HEAD |
	    HTTP_METHOD_POST, "GET, HEAD, POST"))
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
	char		 key[TOKEN_ID_LEN + 1], csrf[TOKEN_CSRF_MAX];
	u_int64_t	 issued;

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

	if (in == NULL && form_fresh_send(req, form, key, csrf))
		return;
	page_send(req, status, PAGE_NO_STORE, form->title, "form",
	    form_view_form(form, in, key, csrf));
}

/*
 * A fresh form page differs between requests only in its _key and _csrf
 * values, so each worker renders it once, around two markers, and then
 * serves it from three pieces. The values are base64url and hex: they
 * need no escaping. Returns 0 (and caches nothing) if the markers are not
 * each found exactly once, and the caller renders the page as usual.
 */
static int
form_fresh_send(struct http_request *req, struct form *form, const char *key,
    const char *csrf)
{
	struct fresh_form	*ff;
	struct kore_buf		 page, out;
	u_int8_t		*k, *c;

	TAILQ_FOREACH(ff, &fresh_forms, list) {
		if (ff->form == form)
			break;
	}
	if (ff == NULL) {
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
		ff = kore_calloc(1, sizeof(*ff));
		ff->form = form;
		ff->head = kore_buf_alloc(k - page.data);
		kore_buf_append(ff->head, page.data, k - page.data);
		k += sizeof(FRESH_KEY_MARK) - 1;
		ff->middle = kore_buf_alloc(c - k);
		kore_buf_append(ff->middle, k, c - k);
		c += sizeof(FRESH_CSRF_MARK) - 1;
		ff->tail = kore_buf_alloc(page.offset - (c - page.data));
		kore_buf_append(ff->tail, c, page.offset - (c - page.data));
		kore_buf_cleanup(&page);
		TAILQ_INSERT_TAIL(&fresh_forms, ff, list);
	}

	kore_buf_init(&out, ff->head->offset + ff->middle->offset +
	    ff->tail->offset + TOKEN_ID_LEN + TOKEN_CSRF_MAX);
	kore_buf_append(&out, ff->head->data, ff->head->offset);
	kore_buf_append(&out, key, strlen(key));
	kore_buf_append(&out, ff->middle->data, ff->middle->offset);
	kore_buf_append(&out, csrf, strlen(csrf));
	kore_buf_append(&out, ff->tail->data, ff->tail->offset);
	page_send_html(req, 200, PAGE_NO_STORE, out.data, out.offset);
	kore_buf_cleanup(&out);
	return (1);
}

/* What a POST keeps while its submission waits for the writer. */
struct post_state {
	struct form		*form;
	struct form_input	 in;
	struct body		 body;
	struct commit_item	*item;
};

static void
post_state_free(struct http_request *req)
{
	struct post_state	*ps = http_state_get(req);

	validate_cleanup(&ps->in);
	body_cleanup(&ps->body);
	commit_item_release(ps->item);
	ps->item = NULL;
}

/*
 * POST /f/{slug}: checks in the order a visitor's problem is best
 * explained (where it came from, size, encoding, fields, token), then
 * hands the submission to submit_start(); once the writer has it on disk,
 * form_post_committed() answers.
 */
static int
form_post(struct http_request *req, struct form *form)
{
	struct post_state	*ps;
	struct form_input	*in;
	struct submit_outcome	 out;
	enum body_status	 bst;
	enum validate_status	 vst;
	enum token_check	 tst;
	const char		*ctype;
	char			 href[128];
	u_int64_t		 issued, now;

	if (http_state_exists(req))
		return (form_post_committed(req));

	ps = http_state_create(req, sizeof(*ps), post_state_free);
	ps->form = form;
	TAILQ_INIT(&ps->body.fields);
	in = &ps->in;
	(void)snprintf(href, sizeof(href), "/f/%s", form->slug);

	if (form_cross_site(req)) {
		page_error(req, 403, "Request refused", "This form was sent "
		    "from another site, so it was not accepted. Open the form "
		    "here and send it again.", href, "Open a fresh form");
		return (KORE_RESULT_OK);
	}
	if (req->content_length > config.body_max) {
		page_error(req, 413, "Too much data", "The form data is larger "
		    "than this site accepts. Shorten your answers and try "
		    "again.", href, "Back to the form");
		return (KORE_RESULT_OK);
	}
	if (!http_request_header(req, "content-type", &ctype))
		ctype = NULL;
	/* An empty body parses to no fields (and then lacks its token). */
	bst = body_parse(ctype, req->http_body ? req->http_body->data : NULL,
	    req->http_body ? req->http_body->length : 0, &ps->body);
	if (bst != BODY_OK) {
		page_error(req, bst == BODY_UNSUPPORTED ? 415 : 400,
		    bst == BODY_UNSUPPORTED ? "Unsupported form encoding" :
		    "Unreadable form data", body_status_text(bst), href,
		    "Open a fresh form");
		return (KORE_RESULT_OK);
	}

	vst = validate_form(form, &ps->body, in);
	if (vst == VALIDATE_BAD_REQUEST) {
		page_error(req, 400, "Unexpected form data", in->problem, href,
		    "Open a fresh form");
		return (KORE_RESULT_OK);
	}

	now = util_now_ms();
	tst = token_csrf_check(in->csrf, form->slug, in->key, now,
	    config.form_ttl_ms, &issued);
	if (tst != TOKEN_VALID || !token_id_valid(in->key)) {
		page_error(req, 403, tst == TOKEN_EXPIRED ? "This form has "
		    "expired" : "Request refused", tst == TOKEN_EXPIRED ?
		    "The form was open for too long, so it was not accepted. "
		    "Open a fresh copy and send it again." :
		    "The form's security token is missing or wrong, so it was "
		    "not accepted. Open a fresh copy and send it again.",
		    href, "Open a fresh form");
		return (KORE_RESULT_OK);
	}

	submit_start(req, form, in, vst, in->key,
	    in->honeypot || now - issued < config.min_fill_ms, now,
	    &ps->item, &out);
	if (out.status == SUBMIT_QUEUED)
		return (KORE_RESULT_RETRY);
	form_post_answer(req, ps, &out);
	return (KORE_RESULT_OK);
}

/* The writer is done with this request's submission: answer. */
static int
form_post_committed(struct http_request *req)
{
	struct post_state	*ps = http_state_get(req);
	struct submit_outcome	 out;

	if (!ps->item->done) {
		http_request_sleep(req);
		return (KORE_RESULT_RETRY);
	}
	submit_finish(ps->item, &out);
	form_post_answer(req, ps, &out);
	return (KORE_RESULT_OK);
}

static void
form_post_answer(struct http_request *req, struct post_state *ps,
    const struct submit_outcome *out)
{
	char		href[128];

	(void)snprintf(href, sizeof(href), "/f/%s", ps->form->slug);
	switch (out->status) {
	case SUBMIT_STORED:
	case SUBMIT_REPLAY:
		form_see_other(req, out->id);
		break;
	case SUBMIT_KEY_REUSED:
		form_already_submitted(req, ps->form, out->id);
		break;
	case SUBMIT_IN_FLIGHT:
		page_error(req, 409, "Already being sent", "This form is being "
		    "sent right now. Wait a moment and reload this page, or "
		    "open a fresh form.", href, "Open a fresh form");
		break;
	case SUBMIT_INVALID:
		form_send(req, 422, ps->form, &ps->in);
		break;
	case SUBMIT_UNIQUE_TAKEN:
		submit_mark_taken(ps->form, &ps->in, out->taken_field);
		form_send(req, 409, ps->form, &ps->in);
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

/*
 * Browsers say where a POST came from: Sec-Fetch-Site, or failing that
 * Origin. Anything but this site is refused; clients that send neither
 * (curl, old browsers) are judged by the form token alone.
 */
static int
form_cross_site(struct http_request *req)
{
	const char	*site, *origin, *host, *p;

	if (http_request_header(req, "sec-fetch-site", &site))
		return (strcmp(site, "same-origin") != 0 &&
		    strcmp(site, "none") != 0);
	if (!http_request_header(req, "origin", &origin))
		return (0);
	if (strcmp(origin, config.base_url) == 0)
		return (0);
	if (!http_request_header(req, "host", &host))
		return (1);
	if ((p = strstr(origin, "://")) == NULL)
		return (1);
	return (strcasecmp(p + 3, host) != 0);
}

static void
form_see_other(struct http_request *req, const char *id)
{
	char		location[64];

	(void)snprintf(location, sizeof(location), "/s/%s", id);
	page_security_headers(req);
	http_response_header(req, "location", location);
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

int
page_healthz(struct http_request *req)
{
	int	ok;

	if (!page_request_ok(req, HTTP_METHOD_GET | HTTP_METHOD_HEAD,
	    "GET, HEAD"))
		return (KORE_RESULT_OK);
	ok = store_ping();
	http_response_header(req, "content-type", "text/plain; charset=utf-8");
	http_response_header(req, "cache-control", "no-store");
	page_security_headers(req);
	if (ok)
		page_respond(req, 200, "ok\n", 3);
	else
		page_respond(req, 503, "store unavailable\n", 18);
	return (KORE_RESULT_OK);
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
