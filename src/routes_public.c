/*
 * routes_public.c: the visitor's routes: the list of forms, a form, its
 * POST (Post/Redirect/Get), the result page, the health check and the
 * catch-all 404. Handlers parse, call the store, and render; every path
 * ends in one http_response() and KORE_RESULT_OK.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "app.h"
#include "body.h"
#include "commit.h"
#include "config.h"
#include "form_view.h"
#include "forms.h"
#include "json_out.h"
#include "page.h"
#include "routes.h"
#include "store.h"
#include "token.h"
#include "util.h"
#include "validate.h"

#define RATE_WINDOW_MS	60000

static struct form	*route_form_lookup(struct http_request *, const char *);
static void	form_send(struct http_request *, int, struct form *,
		    const struct form_input *);
static int	form_post(struct http_request *, struct form *);
static int	form_post_committed(struct http_request *);
static void	form_unique_taken(struct http_request *, struct form *,
		    struct form_input *, const char *);
static int	form_cross_site(struct http_request *);
static void	form_client(struct http_request *, char *, size_t);
static void	form_see_other(struct http_request *, const char *);
static void	form_already_submitted(struct http_request *, struct form *,
		    const char *);
static char	*form_data_json(const struct form_input *);

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
	TAILQ_FOREACH(f, &app_forms, list) {
		o = kore_json_create_object(list, NULL);
		kore_json_create_string(o, "slug", f->slug);
		kore_json_create_string(o, "title", f->title);
		if (f->description != NULL)
			kore_json_create_string(o, "description",
			    f->description);
	}
	kore_json_create_literal(ctx, "has_forms",
	    TAILQ_EMPTY(&app_forms) ? KORE_JSON_FALSE : KORE_JSON_TRUE);
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

	page_send(req, status, PAGE_NO_STORE, form->title, "form",
	    form_view_form(form, in, key, csrf));
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
 * explained (where it came from, size, encoding, fields, token, replay,
 * values, unique values, rate), then queues the submission for the
 * writer and sleeps; form_post_committed() answers once it is on disk.
 */
static int
form_post(struct http_request *req, struct form *form)
{
	struct post_state	*ps;
	struct form_input	*in;
	struct commit_item	*item;
	struct store_claim	*claim;
	enum body_status	 bst;
	enum validate_status	 vst;
	enum token_check	 tst;
	enum store_result	 sr;
	const char		*ctype;
	char			 href[128], id[TOKEN_ID_LEN + 1];
	char			 hash[VALIDATE_HASH_LEN + 1];
	char			 prior_hash[VALIDATE_HASH_LEN + 1];
	u_int64_t		 issued, now, count;
	size_t			 i, k;

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

	/* This form instance again: a replay, or still being stored. */
	validate_hash(in, hash);
	if (commit_in_flight(form->slug, in->key)) {
		page_error(req, 409, "Already being sent", "This form is being "
		    "sent right now. Wait a moment and reload this page, or "
		    "open a fresh form.", href, "Open a fresh form");
		return (KORE_RESULT_OK);
	}
	sr = store_key_find(form->slug, in->key, id, prior_hash);
	if (sr == STORE_OK) {
		if (vst == VALIDATE_OK && strcmp(prior_hash, hash) == 0)
			form_see_other(req, id);
		else
			form_already_submitted(req, form, id);
		return (KORE_RESULT_OK);
	} else if (sr != STORE_NOT_FOUND) {
		form_store_failed(req, sr);
		return (KORE_RESULT_OK);
	}

	if (vst == VALIDATE_INVALID) {
		form_send(req, 422, form, in);
		return (KORE_RESULT_OK);
	}

	item = commit_item_new();
	ps->item = item;
	item->sub.spam = in->honeypot || now - issued < config.min_fill_ms;

	/* Unique values, compared without case (e-mail addresses). */
	for (i = 0, k = 0; i < form->nfields && !item->sub.spam; i++) {
		if (!form->fields[i].unique || in->fields[i].nvals == 0 ||
		    in->fields[i].vals[0][0] == '\0' || k == COMMIT_MAX_CLAIMS)
			continue;
		claim = &item->claims[k];
		claim->field = form->fields[i].name;
		(void)snprintf(item->values[k], COMMIT_CLAIM_MAX, "%s",
		    in->fields[i].vals[0]);
		for (char *p = item->values[k]; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		sr = store_unique_check(form->slug, claim->field, claim->value);
		if (sr == STORE_UNIQUE_TAKEN) {
			form_unique_taken(req, form, in, claim->field);
			return (KORE_RESULT_OK);
		} else if (sr != STORE_OK) {
			form_store_failed(req, sr);
			return (KORE_RESULT_OK);
		}
		k++;
	}
	item->sub.nclaims = k;

	/* Spam runs no actions; an admin who releases it runs them. */
	for (i = 0; i < form->nactions && !item->sub.spam &&
	    i < COMMIT_MAX_JOBS; i++) {
		item->jobs[i].kind = form->actions[i].type;
		item->jobs[i].target = form->actions[i].url ?
		    form->actions[i].url : form->actions[i].to;
		item->jobs[i].action = (int)i;
		item->jobs[i].max_attempts = form->actions[i].max_attempts;
		item->sub.njobs = i + 1;
	}

	form_client(req, item->client, sizeof(item->client));
	if (config.rate_limit > 0) {
		if ((sr = store_client_count(item->client,
		    now - RATE_WINDOW_MS, &count)) != STORE_OK) {
			form_store_failed(req, sr);
			return (KORE_RESULT_OK);
		}
		if (count >= config.rate_limit) {
			http_response_header(req, "retry-after", "60");
			page_error(req, 429, "Too many submissions", "You have "
			    "sent this site many forms in the last minute. "
			    "Wait a minute, then send it again.", href,
			    "Back to the form");
			return (KORE_RESULT_OK);
		}
	}

	token_id_new(item->sub.id);
	(void)snprintf(item->form, sizeof(item->form), "%s", form->slug);
	(void)snprintf(item->key, sizeof(item->key), "%s", in->key);
	(void)snprintf(item->sub.hash, sizeof(item->sub.hash), "%s", hash);
	item->data = form_data_json(in);
	item->sub.created_ms = now;
	commit_enqueue(item, req);

	return (KORE_RESULT_RETRY);
}

/* The writer is done with this request's submission: answer. */
static int
form_post_committed(struct http_request *req)
{
	struct post_state	*ps = http_state_get(req);
	struct store_submission	*sub = &ps->item->sub;

	if (!ps->item->done) {
		http_request_sleep(req);
		return (KORE_RESULT_RETRY);
	}

	switch (sub->result) {
	case STORE_OK:
		form_see_other(req, sub->id);
		break;
	case STORE_KEY_USED:
		/* Another worker stored this instance first. */
		if (strcmp(sub->prior_hash, sub->hash) == 0)
			form_see_other(req, sub->prior_id);
		else
			form_already_submitted(req, ps->form, sub->prior_id);
		break;
	case STORE_UNIQUE_TAKEN:
		form_unique_taken(req, ps->form, &ps->in, sub->taken_field);
		break;
	default:
		form_store_failed(req, sub->result);
		break;
	}
	return (KORE_RESULT_OK);
}

/* 409: the form again, with the unique field's value marked as taken. */
static void
form_unique_taken(struct http_request *req, struct form *form,
    struct form_input *in, const char *field)
{
	size_t		i;

	for (i = 0; i < form->nfields; i++) {
		if (strcmp(form->fields[i].name, field) != 0)
			continue;
		(void)snprintf(in->fields[i].error, sizeof(in->fields[i].error),
		    "%s is already registered. Use another, or contact the "
		    "site owner.", form->fields[i].label);
		in->nerrors = 1;
	}
	form_send(req, 409, form, in);
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

/* The client's address, or the first X-Forwarded-For hop when trusted. */
static void
form_client(struct http_request *req, char *out, size_t len)
{
	const char	*xff;
	size_t		 n;

	if (config.trust_proxy &&
	    http_request_header(req, "x-forwarded-for", &xff)) {
		n = strcspn(xff, ", ");
		(void)snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1),
		    xff);
		return;
	}
	if (req->owner->family == AF_INET6)
		(void)inet_ntop(AF_INET6, &req->owner->addr.ipv6.sin6_addr,
		    out, len);
	else if (req->owner->family == AF_INET)
		(void)inet_ntop(AF_INET, &req->owner->addr.ipv4.sin_addr, out,
		    len);
	else
		(void)snprintf(out, len, "local");
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
	http_response(req, 303, "See Other\n", 10);
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
	page_error(req, 500, "Something went wrong", "Your form could not be "
	    "saved because of a problem on this site. Nothing was saved: "
	    "please try again later.", "/", "Go to the list of forms");
}

/* The values as one JSON object: a string, or an array for multiples. */
static char *
form_data_json(const struct form_input *in)
{
	struct kore_buf		 b;
	const struct field_input *fi;
	size_t			 i, k, len;
	char			*s;

	kore_buf_init(&b, 256);
	kore_buf_append(&b, "{", 1);
	for (i = 0; i < in->form->nfields; i++) {
		fi = &in->fields[i];
		if (i > 0)
			kore_buf_append(&b, ",", 1);
		json_out_string(&b, fi->field->name);
		kore_buf_append(&b, ":", 1);
		if (fi->field->multiple) {
			kore_buf_append(&b, "[", 1);
			for (k = 0; k < fi->nvals; k++) {
				if (k > 0)
					kore_buf_append(&b, ",", 1);
				json_out_string(&b, fi->vals[k]);
			}
			kore_buf_append(&b, "]", 1);
		} else {
			json_out_string(&b, fi->nvals ? fi->vals[0] : "");
		}
	}
	kore_buf_append(&b, "}", 1);
	s = kore_buf_stringify(&b, &len);
	s = kore_strdup(s);
	kore_buf_cleanup(&b);
	return (s);
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
		http_response(req, 200, "ok\n", 3);
	else
		http_response(req, 503, "store unavailable\n", 18);
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

	form = forms_find(&app_forms, req->path + strlen(prefix));
	if (form == NULL)
		page_error(req, 404, "No such form", "There is no form at this "
		    "address. Choose one from the list.", "/",
		    "Go to the list of forms");
	return (form);
}
