/*
 * desk_reply.c: see desk_reply.h.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <sodium.h>

#include "desk/admin_session.h"
#include "desk/desk_reply.h"
#include "web/page.h"
#include "web/routes.h"
#include "store/store.h"

static void	desk_reply_clear(struct desk_reply *);

void
desk_reply_page(struct desk_reply *r, int status, const char *title,
    const char *tmpl, struct kore_json_item *ctx)
{
	desk_reply_clear(r);
	r->kind = DESK_REPLY_PAGE;
	r->status = status;
	(void)snprintf(r->title, sizeof(r->title), "%s", title);
	r->tmpl = tmpl;
	r->ctx = ctx;
}

void
desk_reply_error(struct desk_reply *r, int status, const char *heading,
    const char *message, const char *href, const char *link_text)
{
	desk_reply_page(r, status, heading, "error",
	    page_error_ctx(status, heading, message, href, link_text));
}

void
desk_reply_see_other(struct desk_reply *r, const char *location)
{
	desk_reply_clear(r);
	r->kind = DESK_REPLY_SEE_OTHER;
	r->location = kore_strdup(location);
}

void
desk_reply_sign_in(struct desk_reply *r)
{
	desk_reply_clear(r);
	r->kind = DESK_REPLY_SIGN_IN;
}

void
desk_reply_store_failed(struct desk_reply *r, int store_result)
{
	desk_reply_clear(r);
	r->kind = DESK_REPLY_STORE_FAILED;
	r->status = store_result;
}

void
desk_reply_data(struct desk_reply *r, int status, const void *data,
    size_t len)
{
	desk_reply_clear(r);
	r->kind = DESK_REPLY_DATA;
	r->status = status;
	r->data = kore_buf_alloc(len > 0 ? len : 1);
	kore_buf_append(r->data, data, len);
}

void
desk_reply_own(struct desk_reply *r)
{
	desk_reply_clear(r);
	r->kind = DESK_REPLY_OWN;
}

void
desk_reply_header(struct desk_reply *r, const char *name, const char *value)
{
	if (r->nheaders == DESK_REPLY_HEADERS)
		fatal("%s: more than %d headers", __func__, DESK_REPLY_HEADERS);
	r->hname[r->nheaders] = name;
	r->hvalue[r->nheaders] = kore_strdup(value);
	r->nheaders++;
}

void
desk_reply_send(struct http_request *req, struct desk_reply *r)
{
	size_t		i;

	for (i = 0; i < r->nheaders; i++)
		http_response_header(req, r->hname[i], r->hvalue[i]);
	switch (r->kind) {
	case DESK_REPLY_PAGE:
		page_send(req, r->status, PAGE_NO_STORE, r->title, r->tmpl,
		    r->ctx);
		r->ctx = NULL;		/* page_send() freed it */
		break;
	case DESK_REPLY_SEE_OTHER:
		admin_see_other(req, r->location);
		break;
	case DESK_REPLY_SIGN_IN:
		admin_sign_in_redirect(req);
		break;
	case DESK_REPLY_DATA:
		page_security_headers(req);
		page_respond(req, r->status, r->data->data, r->data->offset);
		break;
	default:
		/* DESK_REPLY_STORE_FAILED, or nothing said: a failure. */
		form_store_failed(req, r->kind == DESK_REPLY_STORE_FAILED ?
		    r->status : STORE_ERROR);
		break;
	}
}

void
desk_reply_cleanup(struct desk_reply *r)
{
	size_t		i;

	desk_reply_clear(r);
	/* A Set-Cookie value holds a session token: wiped, not just freed. */
	for (i = 0; i < r->nheaders; i++) {
		sodium_memzero(r->hvalue[i], strlen(r->hvalue[i]));
		kore_free(r->hvalue[i]);
	}
	r->nheaders = 0;
}

/* Frees the answer made so far; the headers stay. */
static void
desk_reply_clear(struct desk_reply *r)
{
	if (r->ctx != NULL)
		kore_json_item_free(r->ctx);
	r->ctx = NULL;
	kore_free(r->location);
	r->location = NULL;
	if (r->data != NULL)
		kore_buf_free(r->data);
	r->data = NULL;
	r->kind = DESK_REPLY_NONE;
}
